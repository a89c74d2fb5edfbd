"""Azure OpenAI model lifecycle, regional availability and provisioned sizes, read from ``openai_models.yaml``.

One typed view over the catalogue, so validation, the ``models`` command and the policy pack's
copy all answer "may this (model, version, deployment type) be deployed in this region today,
and until when?" (and "in how many PTUs?") the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import load

CATALOGUE_FILE = "infra/catalogues/openai_models.yaml"
DEPRECATED = "Deprecated"
"""The schedule's stage for versions closed to new customers (existing subscriptions may still deploy)."""
STALE_AFTER_DAYS = 90
"""The catalogue is re-checked against Microsoft's pages at least this often (older: a warning)."""


@dataclass(frozen=True)
class ModelVersion:
    """One deployable (or formerly deployable) Azure OpenAI model version."""

    model: str
    version: str
    family: str
    status: str
    deprecation: date | None = None
    """Closed to new customers from this date (exact)."""
    deprecation_not_before: date | None = None
    """Microsoft only promises the version stays open until at least this date."""
    retirement: Mapping[str, date] = field(default_factory=dict)
    """Deployment type (or ``default``) -> the date deployments stop working (exact)."""
    retirement_not_before: date | None = None
    replacement: str | None = None
    """Microsoft's suggested replacement model, when the source names one (also the target of
    automatic upgrades at retirement, where the deployment type supports them)."""
    offers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Region -> deployment types Azure lists this version in (covered regions and types only)."""

    def retires(self, sku: str | None = None) -> date | None:
        """The exact retirement date for deployment type ``sku`` (None: no date announced)."""
        if not self.retirement:
            return None
        if sku is not None and sku in self.retirement:
            return self.retirement[sku]
        if sku is None:
            return min(self.retirement.values())
        return self.retirement.get("default")

    def retires_earliest(self, sku: str | None = None) -> tuple[date | None, bool]:
        """The earliest date the version may stop working for ``sku``, and whether it is exact.

        An exact retirement date wins; otherwise the "no earlier than" bound (not exact).
        """
        exact = self.retires(sku)
        if exact is not None:
            return exact, True
        return self.retirement_not_before, False

    def is_retired(self, today: date, sku: str | None = None) -> bool:
        """Whether every deployment of ``sku`` has stopped working by ``today``."""
        when = self.retires(sku)
        return when is not None and today >= when

    def is_deprecated(self, today: date) -> bool:
        """Whether the version is closed to new customers on ``today``: its stage is Deprecated in
        the schedule, or a known deprecation date has passed. (Legacy and GA accept new deployments.)"""
        return self.status == DEPRECATED or (self.deprecation is not None and today >= self.deprecation)

    def deprecation_text(self) -> str:
        """``since <date>`` when the date is known, else where the stage comes from."""
        if self.deprecation is not None:
            return f"since {self.deprecation}"
        return f"(stage Deprecated in Microsoft's retirement schedule of {as_of()})"

    def regions_offering(self, sku: str) -> list[str]:
        """The covered regions that offer this version as ``sku``."""
        return sorted(r for r, types in self.offers.items() if sku in types)

    def types_in(self, region: str) -> tuple[str, ...]:
        """The covered deployment types this version is offered as in ``region``."""
        return self.offers.get(region, ())


@dataclass(frozen=True)
class PtuSize:
    """The capacities Azure accepts for one model as one provisioned deployment type, in PTUs.

    Microsoft's sizing tables give a minimum deployment and a scale increment, the step "in which you can
    increase or decrease" a deployment ("an increment of 5 means deployments can be sized at 15, 20, 25, and
    so on"): a valid size is the minimum plus a whole number of increments.
    """

    minimum: int
    increment: int

    def allows(self, capacity: int) -> bool:
        """Whether a deployment of ``capacity`` PTUs is a size Azure accepts."""
        return capacity >= self.minimum and (capacity - self.minimum) % self.increment == 0

    def sizes(self, count: int = 3) -> list[int]:
        """The ``count`` smallest valid sizes."""
        return [self.minimum + k * self.increment for k in range(count)]

    def nearest(self, capacity: int) -> list[int]:
        """The valid sizes closest to ``capacity``: the next one below (if any) and the next one above."""
        if capacity <= self.minimum:
            return [self.minimum]
        below = self.minimum + (capacity - self.minimum) // self.increment * self.increment
        return [below] if below == capacity else [below, below + self.increment]


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _retirement(value: Any) -> dict[str, date]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): _date(v) for k, v in value.items()}  # type: ignore[misc]
    return {"default": _date(value)}  # type: ignore[dict-item]


def _raw() -> dict[str, Any]:
    return load("openai_models")


def versions() -> dict[tuple[str, str], ModelVersion]:
    """``(model, version) -> ModelVersion`` for every catalogued version, in catalogue order."""
    out: dict[tuple[str, str], ModelVersion] = {}
    for model, entry in _raw()["models"].items():
        for version, v in entry["versions"].items():
            out[(model, str(version))] = ModelVersion(
                model=model,
                version=str(version),
                family=entry["family"],
                status=v["status"],
                deprecation=_date(v.get("deprecation")),
                deprecation_not_before=_date(v.get("deprecation_not_before")),
                retirement=_retirement(v.get("retirement")),
                retirement_not_before=_date(v.get("retirement_not_before")),
                replacement=v.get("replacement"),
                offers={r: tuple(t) for r, t in (v.get("offers") or {}).items()},
            )
    return out


def lookup(model: str, version: str) -> ModelVersion | None:
    """The catalogued ``model`` ``version``, or None."""
    return versions().get((model, str(version)))


def models() -> dict[str, list[str]]:
    """Model name -> its catalogued versions."""
    out: dict[str, list[str]] = {}
    for (model, version) in versions():
        out.setdefault(model, []).append(version)
    return out


def as_of() -> date:
    """The date the catalogue's facts hold for (its newest source revision)."""
    return _date(_raw()["as_of"])  # type: ignore[return-value]


def checked() -> date:
    """The date the sources were last re-read (they may have had no newer revision then)."""
    return _date(_raw().get("checked") or _raw()["as_of"])  # type: ignore[return-value]


def age_days(today: date) -> int:
    """How many days old the catalogue is on ``today``."""
    return (today - as_of()).days


def sources() -> dict[str, dict[str, Any]]:
    """Source id -> {repo, path, commit, ms_date, note}."""
    return dict(_raw()["sources"])


def regions_covered() -> list[str]:
    return list(_raw()["regions_covered"])


def types_covered() -> list[str]:
    """Deployment types whose regional matrices the catalogue records."""
    return list(_raw()["types_covered"])


def gaps() -> list[str]:
    """What the sources do not give (and the catalogue therefore leaves out)."""
    return list(_raw().get("gaps") or [])


def ptu_source() -> dict[str, Any]:
    """The source of the provisioned sizes (Microsoft's PTU sizing tables): {repo, path, commit, ms_date, note}."""
    return dict(_raw()["sources"][_raw()["ptu_source"]])


def provisioned_types() -> list[str]:
    """The provisioned deployment types the sizing tables cover (billed in PTUs)."""
    return [sku for skus in _raw()["ptu_columns"].values() for sku in skus]


def ptu_size(model: str, sku: str) -> PtuSize | None:
    """The sizes Azure accepts for ``model`` as ``sku``; None when ``sku`` is not provisioned or the sizing
    tables do not list the model (the catalogue then records no size: see ``gaps``)."""
    sizes = _raw()["models"].get(model, {}).get("ptu") or {}
    for column, skus in _raw()["ptu_columns"].items():
        if sku in skus and column in sizes:
            return PtuSize(minimum=int(sizes[column]["minimum"]), increment=int(sizes[column]["increment"]))
    return None


def open_for_new(today: date, region: str | None = None, sku: str | None = None) -> Iterator[ModelVersion]:
    """Versions a new deployment may use on ``today`` (optionally: in ``region`` as ``sku``)."""
    for mv in versions().values():
        if mv.is_deprecated(today) or mv.is_retired(today, sku):
            continue
        if region is not None and not mv.types_in(region):
            continue
        if sku is not None and region is not None and sku not in mv.types_in(region):
            continue
        if sku is not None and region is None and not mv.regions_offering(sku):
            continue
        yield mv

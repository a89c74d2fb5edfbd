"""``ai-serving models``: what a team can deploy where, until when; retirement horizons for plans.

Everything here reads the sourced catalogue through ``infra.catalogues.lifecycle``; this module
only filters, formats and derives (the pack's copy, quota-key checks, waiver limits).
"""

from __future__ import annotations

import argparse
import fnmatch
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from infra.catalogues import lifecycle
from infra.catalogues.lifecycle import ModelVersion
from infra.config.errors import shown
from infra.config.regions import closest_region

RETIREMENT_RULES = ("DEP-05", "DEP-06")
"""The pack's retirement-horizon rules (prod: mandatory, dev/test: advisory)."""
DEPLOYMENT_TYPE = "azure-native:cognitiveservices:Deployment"


def status_on(mv: ModelVersion, today: date, sku: str | None = None) -> str:
    """``retired``, ``deprecated`` (closed to new customers) or ``open`` on ``today``."""
    if mv.is_retired(today, sku):
        return "retired"
    if mv.is_deprecated(today):
        return "deprecated"
    return "open"


def _when(exact: date | None, not_before: date | None) -> str:
    if exact is not None:
        return exact.isoformat()
    if not_before is not None:
        return f">= {not_before.isoformat()}"
    return "-"


def _retirement_cell(mv: ModelVersion) -> str:
    if len(mv.retirement) > 1:
        return ", ".join(f"{k}: {v.isoformat()}" for k, v in mv.retirement.items())
    return _when(mv.retires(), mv.retirement_not_before)


def rows(today: date, *, region: str | None = None, sku: str | None = None,
         include_retired: bool = False) -> list[dict[str, str]]:
    """One row per catalogued version matching the filters, soonest retirement first within a model."""
    out = []
    for mv in lifecycle.versions().values():
        state = status_on(mv, today, sku)
        if state == "retired" and not include_retired:
            continue
        if region is not None and not mv.types_in(region) and state != "retired":
            continue
        if sku is not None and region is not None and sku not in mv.types_in(region) and state != "retired":
            continue
        if sku is not None and region is None and not mv.regions_offering(sku) and state != "retired":
            continue
        if region is not None:
            where = ", ".join(mv.types_in(region)) or "-"
        else:
            where = "; ".join(f"{r}: {'/'.join(t)}" for r, t in mv.offers.items() if sku is None or sku in t) or "-"
        out.append({
            "model": mv.model, "version": mv.version, "family": mv.family,
            "status": f"{state} ({mv.status})" if state == "open" and mv.status != "GA" else state,
            "deprecation": _when(mv.deprecation, mv.deprecation_not_before),
            "retirement": _retirement_cell(mv), "replacement": mv.replacement or "-",
            "offered": where,
        })
    return out


def staleness_warning(today: date) -> str | None:
    """A warning when the catalogue is older than ``lifecycle.STALE_AFTER_DAYS`` on ``today``."""
    age = lifecycle.age_days(today)
    if age > lifecycle.STALE_AFTER_DAYS:
        return (f"warning: the model catalogue is {age} days old (as of {lifecycle.as_of().isoformat()}, last "
                f"checked {lifecycle.checked().isoformat()}); re-read its sources ({lifecycle.CATALOGUE_FILE}: "
                "`sources`) - Microsoft retires and adds model versions every few months")
    return None


def catalogue_age_line(today: date) -> str:
    """``model catalogue as of <date> (<n> days old)``."""
    return (f"model catalogue as of {lifecycle.as_of().isoformat()} ({lifecycle.age_days(today)} days old; "
            f"{lifecycle.CATALOGUE_FILE})")


def horizon(model: str, version: str, sku: str, today: date) -> str:
    """One line on when a deployment stops working, e.g. ``retires 2027-05-15 (in 164 days)``."""
    mv = lifecycle.lookup(model, version)
    if mv is None:
        return "not in the model catalogue"
    when, exact = mv.retires_earliest(sku)
    if when is None:
        return "no retirement announced"
    days = (when - today).days
    if exact and days <= 0:
        return f"RETIRED on {when.isoformat()}"
    prefix = "retires" if exact else "retires no earlier than"
    text = f"{prefix} {when.isoformat()} (in {days} days)"
    if mv.is_deprecated(today):
        text += f"; closed to new customers {mv.deprecation_text()}"
    return text


def _field(resource: Any, key: str) -> Any:
    """``type``/``name``/``inputs`` of a planned resource: a registration or a plan.json entry."""
    return resource.get(key) if isinstance(resource, Mapping) else getattr(resource, key)


def planned_deployments(resources: Iterable[Any]) -> Iterator[tuple[str, str, str, str]]:
    """``(resource name, model, version, deployment type)`` of each planned model deployment."""
    for r in resources:
        if _field(r, "type") != DEPLOYMENT_TYPE:
            continue
        inputs = _field(r, "inputs") or {}
        model = (inputs.get("properties") or {}).get("model") or {}
        sku = (inputs.get("sku") or {}).get("name")
        yield str(_field(r, "name")), str(model.get("name")), str(model.get("version")), str(sku)


def deployment_horizons(resources: Iterable[Any], today: date) -> list[str]:
    """``<deployment>: <model> <version> <type>: <horizon>`` for each planned model deployment."""
    return [f"{name}: {model} {version} {sku}: {horizon(model, version, sku, today)}"
            for name, model, version, sku in planned_deployments(resources)]


REPORT_HORIZON_DAYS = 180
"""The PR report lists every deployment in the org whose model may retire within this many days."""


def retiring(plans: Mapping[str, Mapping[str, Any]], today: date,
             within: int = REPORT_HORIZON_DAYS) -> list[dict[str, Any]]:
    """Deployments of every planned stack whose model (may) retire within ``within`` days, soonest first.

    ``plans`` maps stack -> plan.json document. A row: stack, team, deployment, model, version, type,
    date, whether the date is exact, days left.
    """
    rows = []
    for stack, plan in plans.items():
        for r in plan.get("resources", []):
            for name, model, version, sku in planned_deployments([r]):
                mv = lifecycle.lookup(model, version)
                when, exact = mv.retires_earliest(sku) if mv else (None, False)
                if when is None or (when - today).days > within:
                    continue
                team = ((r.get("inputs") or {}).get("tags") or {}).get("team") or stack.rsplit("-", 1)[0]
                rows.append({"stack": stack, "team": team, "deployment": name, "model": model, "version": version,
                             "sku": sku, "date": when.isoformat(), "exact": exact, "days": (when - today).days})
    return sorted(rows, key=lambda row: (row["date"], row["team"], row["stack"], row["deployment"]))


def pack_lifecycle() -> dict[str, dict[str, dict[str, Any]]]:
    """The policy pack's copy of the lifecycle (``catalogue.json`` ``openaiLifecycle``).

    The pack never imports ``infra``; it gets each version's retirement dates (exact per
    deployment type, or the lower bound) and replacement from this copy.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for mv in lifecycle.versions().values():
        entry: dict[str, Any] = {}
        if mv.retirement:
            entry["retirement"] = {k: v.isoformat() for k, v in mv.retirement.items()}
        if mv.retirement_not_before:
            entry["retirementNotBefore"] = mv.retirement_not_before.isoformat()
        if mv.replacement:
            entry["replacement"] = mv.replacement
        out.setdefault(mv.model, {})[mv.version] = entry
    return out


def pack_ptu_sizes() -> dict[str, dict[str, dict[str, int]]]:
    """The policy pack's copy of the PTU sizes (``catalogue.json`` ``ptuSizes``): model -> provisioned
    deployment type -> ``{minimum, increment}``, for the models Microsoft's sizing tables list."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for model in sorted({mv.model for mv in lifecycle.versions().values()}):
        for sku in lifecycle.provisioned_types():
            size = lifecycle.ptu_size(model, sku)
            if size is not None:
                out.setdefault(model, {})[sku] = {"minimum": size.minimum, "increment": size.increment}
    return out


def pack_deployment_types() -> list[str]:
    """Deployment types the catalogue records availability for (the pack's DEP-03 default)."""
    return list(lifecycle.types_covered())


def quota_key_problems(openai_quota: Mapping[str, Any]) -> list[str]:
    """Keys of ``quotas.yaml`` ``openai`` that name no catalogued (region, model, type) offer."""
    problems = []
    versions = list(lifecycle.versions().values())
    known_models = {mv.model for mv in versions}
    for region, per_model in (openai_quota or {}).items():
        if region not in lifecycle.regions_covered():
            problems.append(f"openai.{region}: region not in the catalogue (covered: "
                            f"{', '.join(lifecycle.regions_covered())})")
            continue
        for model, per_type in (per_model or {}).items():
            if model not in known_models:
                problems.append(f"openai.{region}.{model}: unknown model (catalogued: "
                                f"{', '.join(sorted(known_models))})")
                continue
            for sku in per_type or {}:
                offered = any(mv.model == model and sku in mv.types_in(region) for mv in versions)
                if not offered:
                    problems.append(f"openai.{region}.{model}.{sku}: {region} does not offer {model} as {sku}")
    return problems


def waiver_problems(suppressions: Iterable[Any], resources: Sequence[Any]) -> list[str]:
    """Waivers of the retirement rules that would outlive the model they excuse.

    A waiver of DEP-05/DEP-06 may postpone a migration, never past the day the deployment stops
    working: its ``expires`` must not be after the (earliest) retirement date of any deployment it
    matches. ``resources`` are the planned resources (registrations or plan.json entries).
    """
    problems = []
    deployments = list(planned_deployments(resources))
    for s in suppressions:
        if s.rule not in RETIREMENT_RULES:
            continue
        for name, model, version, sku in deployments:
            if not fnmatch.fnmatchcase(name, s.resource):
                continue
            mv = lifecycle.lookup(model, version)
            when = mv.retires_earliest(sku)[0] if mv else None
            if when is not None and s.expires > when:
                problems.append(f"the waiver of {s.rule} for {s.resource!r} expires {s.expires.isoformat()}, after "
                                f"{model} {version} retires ({when.isoformat()}) on {name}; a retirement waiver "
                                f"may not outlive the model: set expires on or before {when.isoformat()}")
    return problems


def run(args: argparse.Namespace, console: Any, err: Any, *, today: date | None = None) -> int:
    """The ``models`` command; 2 for an unknown region or type."""
    from .outcome import UsageError

    today = today or date.today()
    if args.region is not None and args.region not in lifecycle.regions_covered():
        # Matched exactly, as a stack's location is (`SwedenCentral` is refused there too), with a hint.
        hint = closest_region(args.region, lifecycle.regions_covered())
        raise UsageError(f"--region {shown(args.region)} is not in the model catalogue"
                         f"{f' (did you mean {hint!r}?)' if hint else ''}; covered regions: "
                         f"{', '.join(lifecycle.regions_covered())}")
    if args.sku is not None and args.sku not in lifecycle.types_covered():
        raise UsageError(f"--type {shown(args.sku)} is not a catalogued deployment type; expected one of: "
                         f"{', '.join(lifecycle.types_covered())}")
    found = rows(today, region=args.region, sku=args.sku, include_retired=args.all)
    title = "Azure OpenAI models" + (f" in {args.region}" if args.region else "") + (
        f" as {args.sku}" if args.sku else "")
    console.print(title, markup=False)
    cols = ("model", "version", "family", "status", "deprecation", "retirement", "replacement")
    if args.region:
        cols += ("offered",)
    widths = {c: max([len(c), *(len(r[c]) for r in found)]) for c in cols}
    console.print("  ".join(c.ljust(widths[c]) for c in cols).rstrip(), markup=False)
    for row in found:
        console.print("  ".join(row[c].ljust(widths[c]) for c in cols).rstrip(), markup=False)
        if not args.region and row["offered"] != "-":
            console.print(f"    offered: {row['offered']}", markup=False)
    console.print(f"{catalogue_age_line(today)}; status on {today.isoformat()}; deprecated = closed to new "
                  "customers, '>=' = no earlier than", markup=False)
    if not found:
        console.print("nothing matches: no catalogued version is open there (try without --type, or --all)",
                      markup=False)
    warning = staleness_warning(today)
    if warning:
        err.print(warning, markup=False)
    return 0

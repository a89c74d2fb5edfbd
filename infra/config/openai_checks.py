"""Cross-key checks of the ``openai`` section: refuse what Azure would refuse at deploy time.

Azure rejects a deployment of a retired model version, of a version closed to new customers,
of a (model, version, deployment type) the region does not offer, and a provisioned deployment
of a size the model cannot be deployed in, only when ``pulumi up`` reaches it, often after other
resources were created. These checks answer the same questions from the sourced catalogue
(``infra/catalogues/openai_models.yaml``) before anything runs, and each message says what to use
instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from .. import catalogues
from ..catalogues import lifecycle
from .errors import shown
from .model import DeploymentConfig, StackConfig

Path = tuple[str | int, ...]
Issue = tuple[Path, str]

BASE: Path = ("ai-serving:openai", "deployments")
RELATED_FAMILIES = {"chat": ("chat", "reasoning"), "reasoning": ("reasoning", "chat")}
"""What may replace a model of a family: the o-series' successors are the GPT-5 series' reasoning models."""


def check(cfg: StackConfig, today: date | None = None) -> list[Issue]:
    """Every problem of ``cfg.openai`` on ``today`` (default: the real date); empty when sound."""
    if cfg.openai is None:
        return []
    today = today or date.today()
    issues: list[Issue] = []
    profiles = catalogues.content_filter_profiles()
    seen: dict[str, int] = {}
    for i, dep in enumerate(cfg.openai.deployments):
        base = BASE + (i,)
        if dep.name in seen:
            issues.append((base + ("name",), f"duplicate deployment name {shown(dep.name)} "
                                             f"(also deployments[{seen[dep.name]}])"))
        seen.setdefault(dep.name, i)
        if dep.content_filter not in profiles:
            issues.append((base + ("contentFilter",), f"unknown content-filter profile {shown(dep.content_filter)}; "
                                                      f"expected one of: {', '.join(sorted(profiles))}"))
        issues += _model(dep, cfg.location, today, base)
        issues += _ptu_capacity(dep, base)
    issues += _spillover(cfg.openai.deployments)
    return issues


SPILLOVER_TARGET = {"GlobalProvisionedManaged": "GlobalStandard", "DataZoneProvisionedManaged": "DataZoneStandard"}
"""Provisioned type -> the standard type its spillover deployment must have: Azure requires the same
data processing level, and only global and data-zone provisioned deployments spill over
(spillover-traffic-management, see `sources.spillover` in the model catalogue)."""


def _spillover(deployments: list[DeploymentConfig]) -> Iterator[Issue]:
    index = {d.name: i for i, d in enumerate(deployments)}
    for i, dep in enumerate(deployments):
        if dep.spillover_deployment is None:
            continue
        path = BASE + (i, "spilloverDeployment")
        want = SPILLOVER_TARGET.get(dep.sku)
        if want is None:
            yield (path, f"only {' and '.join(SPILLOVER_TARGET)} deployments can spill over; {dep.name} is {dep.sku}")
            continue
        j = index.get(dep.spillover_deployment)
        if j is None:
            yield (path, f"no deployment named {shown(dep.spillover_deployment)} in this account; expected one of: "
                         f"{', '.join(d.name for d in deployments if d.name != dep.name)}")
            continue
        target = deployments[j]
        if target.sku != want:
            yield (path, f"{target.name} is {target.sku}; a {dep.sku} deployment spills over to a {want} "
                         "deployment (same data processing level)")
        if (target.model, target.version) != (dep.model, dep.version):
            yield (path, f"{target.name} deploys {target.model} {target.version}; the spillover deployment must "
                         f"serve the same model and version ({dep.model} {dep.version})")
        if j > i:
            # Deployments are created one after another in list order (the 409 rule): the target
            # must exist when Azure accepts the provisioned deployment that names it.
            yield (path, f"{target.name} is listed after {dep.name}; list the spillover deployment first "
                         "(deployments are created in order)")


def _model(dep: DeploymentConfig, region: str, today: date, base: Path) -> Iterator[Issue]:
    known = lifecycle.models()
    if dep.model not in known:
        yield (base + ("model",), f"unknown model {shown(dep.model)}; expected one of: {', '.join(sorted(known))} "
                                  f"(add new models with their sources to {lifecycle.CATALOGUE_FILE})")
        return
    mv = lifecycle.lookup(dep.model, dep.version)
    if mv is None:
        yield (base + ("version",), f"unknown version {shown(dep.version)} of {dep.model}; "
                                    f"expected one of: {', '.join(known[dep.model])}")
        return
    if mv.is_retired(today, dep.sku):
        yield (base + ("version",), f"{dep.model} {dep.version} retired on {mv.retires(dep.sku)} "
                                    f"(as {dep.sku}): Azure rejects new deployments and existing ones return "
                                    f"errors; {_instead(mv, region, dep.sku, today)}")
        return
    if dep.existing_since is not None and dep.existing_since > today:
        yield (base + ("existingSince",), f"existingSince {dep.existing_since} is in the future; it is the day the "
                                          "deployment was first created")
        return
    if mv.is_deprecated(today):
        # Deprecation closes a version to new customers only: a deployment that already existed
        # keeps running (and may be updated) until retirement. `existingSince` says so, explicitly.
        existing = dep.existing_since is not None and (mv.deprecation is None or dep.existing_since < mv.deprecation)
        if not existing:
            since = (f"; existingSince {dep.existing_since} is not before that date" if dep.existing_since else
                     "; if this subscription already deployed the version, set existingSince to the day it first "
                     "did")
            yield (base + ("version",), f"{dep.model} {dep.version} is closed to new customers "
                                        f"{mv.deprecation_text()}; existing deployments run until "
                                        f"{_retirement_text(mv, dep.sku)}{since}; "
                                        f"{_instead(mv, region, dep.sku, today)}")
            return
        if not mv.offers:
            # The matrices list only what new customers can deploy; nothing to check a region against.
            return
    if dep.sku not in lifecycle.types_covered():
        yield (base + ("sku",), f"the catalogue records no sourced regional availability for deployment type "
                                f"{shown(dep.sku)} (it covers {', '.join(lifecycle.types_covered())}); use one of "
                                f"those or add the {dep.sku} matrix to {lifecycle.CATALOGUE_FILE}")
        return
    offered_here = mv.types_in(region)
    if dep.sku not in offered_here:
        elsewhere = mv.regions_offering(dep.sku)
        here = (f"{region} offers it as: {', '.join(offered_here)}" if offered_here
                else f"{region} offers it as none of {', '.join(lifecycle.types_covered())}")
        there = (f"{dep.sku} is offered in: {', '.join(elsewhere)}" if elsewhere
                 else f"no catalogued region offers it as {dep.sku}")
        yield (base + ("sku",), f"{dep.model} {dep.version} is not offered as {dep.sku} in {region}; "
                                f"{here}; {there}")


def _ptu_capacity(dep: DeploymentConfig, base: Path) -> Iterator[Issue]:
    """A provisioned deployment's PTUs: at least the model's minimum, grown in its increments (Microsoft's
    sizing tables, ``sources.ptu_sizing``). Standard types count tokens, not PTUs: nothing to check. A model
    the tables do not list has no recorded size, so its capacity is not judged."""
    size = lifecycle.ptu_size(dep.model, dep.sku)
    if size is None or size.allows(dep.capacity):
        return
    source = lifecycle.ptu_source()
    use = " or ".join(map(str, size.nearest(dep.capacity)))
    yield (base + ("capacity",), f"{dep.model} {dep.sku} needs at least {size.minimum} PTUs, in steps of "
                                 f"{size.increment}: {', '.join(map(str, size.sizes()))}…; found {dep.capacity}; "
                                 f"use {use} (Microsoft's PTU sizing table of {source['ms_date']})")


def _retirement_text(mv: lifecycle.ModelVersion, sku: str) -> str:
    when, exact = mv.retires_earliest(sku)
    if when is None:
        return "no announced date"
    return str(when) if exact else f"no earlier than {when}"


SUGGESTIONS = 3
"""How many open alternatives a message names (the longest-lived first)."""


def _instead(mv: lifecycle.ModelVersion, region: str, sku: str, today: date) -> str:
    """What to deploy instead: Microsoft's suggested replacement and the longest-lived open models of a
    related family in the region, as the same deployment type when the region offers one that way."""
    parts = []
    if mv.replacement:
        parts.append(f"Microsoft's suggested replacement is {mv.replacement}")
    related = RELATED_FAMILIES.get(mv.family, (mv.family,))
    open_here = [m for m in lifecycle.open_for_new(today, region) if m.family in related]
    same_type = [m for m in open_here if sku in m.types_in(region)]
    chosen, how = (same_type, f" as {sku}") if same_type else (open_here, "")
    chosen = sorted(chosen, key=lambda m: m.retires_earliest(sku)[0] or date.max, reverse=True)[:SUGGESTIONS]
    if chosen:
        parts.append(f"open to new deployments in {region}{how}, longest-lived first: "
                     + ", ".join(f"{m.model} {m.version} (retires {_retirement_text(m, sku)})" for m in chosen))
    else:
        parts.append(f"no catalogued {mv.family} model is open to new deployments in {region}")
    return "; ".join(parts)

"""Checks no single stack can see: shared quotas, overlapping address spaces, colliding names, and role
assignments, peerings and DNS records that reach into another stack's resource group."""

from __future__ import annotations

import ipaddress
import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from infra import catalogues
from infra.config.errors import ConfigError, ConfigIssue, shown
from infra.config.model import StackConfig
from infra.naming import Naming

from ..arm import ARM_TYPES
from ..engine import stack_yaml

QUOTAS_FILE = "quotas.yaml"

CHECKS: dict[str, str] = {
    "openai-quota-key": "quota keys",
    "openai-quota": "OpenAI quota",
    "gpu-quota": "GPU quota",
    "address-overlap": "address overlap",
    "name-collision": "name collisions",
    "foreign-grant": "role assignments into another stack",
    "foreign-network": "peerings and DNS zones of another stack",
}
"""Every check ``check_all`` runs (a finding's ``check``) -> what it judges, in a few words: ``plan --all``
writes it into ``summary.json`` (``crossTeamChecks``), and the report's "no findings" line names them all."""


@dataclass(frozen=True)
class CrossTeamFinding:
    """One cross-team problem, naming every stack involved."""

    check: str
    level: str
    stacks: list[str]
    message: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


QUOTA_SHAPES = {
    "openai": (("region", "model", "deployment type"), "thousands of tokens per minute, or PTUs"),
    "gpuVcpus": (("region", "VM quota family"), "vCPUs"),
}
"""What ``quotas.yaml`` holds: per section, the names down to a quota, and what a quota counts."""


def load_quotas(stack_dir: Path) -> dict[str, Any]:
    """``<stack_dir>/quotas.yaml`` (empty when absent: then quota checks only advise).

    Every quota is checked here, with its line and key path: a whole number of at least 0. Text (``"450"``)
    or a list stopped the checks with a TypeError naming nothing; ``.nan`` compared as never exceeded, so it
    turned the mandatory check off; -5, ``true`` and 1.5 were taken as quotas.
    """
    path = stack_dir / QUOTAS_FILE
    if not os.path.lexists(path):
        return {}
    # As strictly as a stack file (a regular file of bounded size, no aliases, no duplicate keys): a pull
    # request can change it too. A bad one is a ConfigError, which plan --all reports as a mandatory
    # cross-team finding ("could not run"), never as "no quotas".
    doc, lines = stack_yaml.load_with_lines(path, what=QUOTAS_FILE)
    doc = doc or {}
    if not isinstance(doc, dict):
        raise ConfigError(path, [ConfigIssue("(file)", f"expected a mapping; found {type(doc).__name__}")])
    issues: list[ConfigIssue] = []
    for section, value in doc.items():
        if section not in QUOTA_SHAPES:
            issues.append(ConfigIssue(str(section)[:80], f"unknown section {shown(section)}; expected one of: "
                                      f"{', '.join(QUOTA_SHAPES)}", lines.get((str(section),))))
            continue
        names, unit = QUOTA_SHAPES[section]
        issues += _quota_issues(value, (section,), names, unit, lines)
    if issues:
        raise ConfigError(path, issues)
    return doc


def _quota_issues(value: Any, at: tuple[str, ...], names: tuple[str, ...], unit: str,
                  lines: stack_yaml.KeyLines) -> list[ConfigIssue]:
    """What is wrong under ``at``: a mapping of ``names[0]`` -> ... down to quotas (None: an empty mapping)."""
    where = ".".join(at)
    line = lines.get(at)
    if not names:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return []
        return [ConfigIssue(where, f"expected a quota: a whole number of at least 0 ({unit}); found "
                                   f"{type(value).__name__} {shown(value)}", line)]
    if value is None:
        return []
    if not isinstance(value, dict):
        return [ConfigIssue(where, f"expected a mapping of {names[0]} -> {' -> '.join(names[1:] + ('quota',))}; "
                                   f"found {type(value).__name__} {shown(value)}", line)]
    issues = []
    for key, inner in value.items():
        if not isinstance(key, str) or not key:
            issues.append(ConfigIssue(where, f"expected a {names[0]} (a name); found {type(key).__name__} "
                                             f"{shown(key)}", line))
            continue
        issues += _quota_issues(inner, (*at, key), names[1:], unit, lines)
    return issues


def check_all(configs: Mapping[str, StackConfig], quotas: Mapping[str, Any],
              global_names: Mapping[str, Sequence[tuple[str, str]]],
              role_scopes: Mapping[str, Sequence[str]] | None = None,
              network_refs: Mapping[str, Sequence[str]] | None = None) -> list[CrossTeamFinding]:
    """Every cross-team finding for the planned stacks (``stack -> config`` of the valid ones).

    ``role_scopes``: ``stack -> role_scopes_of(its plan's resources)``; ``network_refs``: ``stack ->
    network_refs_of(its plan's resources)``."""
    return [
        *openai_quota_keys(quotas.get("openai") or {}),
        *openai_quota(configs, quotas.get("openai") or {}),
        *gpu_quota(configs, quotas.get("gpuVcpus") or {}),
        *overlapping_address_spaces(configs),
        *name_collisions(configs, global_names),
        *foreign_grants(configs, role_scopes or {}),
        *foreign_networks(configs, network_refs or {}),
    ]


def openai_quota_keys(quota: Mapping[str, Any]) -> list[CrossTeamFinding]:
    """Quota entries naming a (region, model, type) the model catalogue does not offer (typos, retired models)."""
    from ..models import quota_key_problems

    return [CrossTeamFinding("openai-quota-key", "mandatory", [], f"stacks/{QUOTAS_FILE}: {problem}")
            for problem in quota_key_problems(quota)]


def openai_quota(configs: Mapping[str, StackConfig], quota: Mapping[str, Any]) -> list[CrossTeamFinding]:
    """Summed deployment capacity per (region, model, deployment type) within the recorded quota."""
    used: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for stack, cfg in configs.items():
        for dep in cfg.openai.deployments if cfg.openai else []:
            used[(cfg.location, dep.model, dep.sku)].append((stack, dep.capacity))
    return _within_quota(
        "openai-quota", used, quota,
        missing=lambda key, total, detail: f"no quota recorded for {key[1]} {key[2]} in {key[0]} ({total} "
                                           f"requested: {detail}); add it to stacks/{QUOTAS_FILE}",
        over=lambda key, total, detail, limit: f"{key[1]} {key[2]} in {key[0]}: stacks ask for {total} in all "
                                               f"({detail}) but the subscription quota is {limit}; lower "
                                               "capacities or raise the quota",
    )


def gpu_quota(configs: Mapping[str, StackConfig], quota: Mapping[str, Any]) -> list[CrossTeamFinding]:
    """GPU vCPUs at maxInstances per (region, VM quota family) within the recorded quota."""
    skus = catalogues.gpu_skus()
    used: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for stack, cfg in configs.items():
        pool = cfg.gpu_pool
        if pool is None or pool.vm_sku not in skus:
            continue
        sku = skus[pool.vm_sku]
        used[(cfg.location, sku["family"])].append((stack, sku["vcpus"] * pool.max_instances))
    return _within_quota(
        "gpu-quota", used, quota,
        missing=lambda key, total, detail: f"no vCPU quota recorded for {key[1]} in {key[0]} ({total} vCPUs at "
                                           f"maxInstances: {detail}); add it to stacks/{QUOTAS_FILE}",
        over=lambda key, total, detail, limit: f"{key[1]} in {key[0]}: {total} vCPUs at maxInstances ({detail}) "
                                               f"exceed the quota of {limit}; lower maxInstances or raise the quota",
    )


def _within_quota(check: str, used: Mapping[tuple[str, ...], list[tuple[str, int]]], quota: Mapping[str, Any],
                  *, missing: Callable[..., str], over: Callable[..., str]) -> list[CrossTeamFinding]:
    """Compare each key's summed usage with ``quota[key[0]][key[1]]...``: over is mandatory, unrecorded advisory."""
    out = []
    for key, users in sorted(used.items()):
        total = sum(amount for _, amount in users)
        limit: Any = quota
        for part in key:
            limit = limit.get(part) if isinstance(limit, Mapping) else None
        stacks = sorted({s for s, _ in users})
        detail = ", ".join(f"{s}: {amount}" for s, amount in users)
        if limit is None:
            out.append(CrossTeamFinding(check, "advisory", stacks, missing(key, total, detail)))
        elif total > limit:
            out.append(CrossTeamFinding(check, "mandatory", stacks, over(key, total, detail, limit)))
    return out


def overlapping_address_spaces(configs: Mapping[str, StackConfig]) -> list[CrossTeamFinding]:
    """Stacks peered with the same hub need disjoint address spaces (peering fails otherwise)."""
    by_hub: dict[str, list[tuple[str, ipaddress.IPv4Network]]] = defaultdict(list)
    for stack, cfg in configs.items():
        if cfg.network.hub_vnet_id:
            by_hub[cfg.network.hub_vnet_id.lower()].append((stack, cfg.network.address_space))
    out = []
    for hub, members in sorted(by_hub.items()):
        members.sort()
        for i, (a, net_a) in enumerate(members):
            for b, net_b in members[i + 1:]:
                if net_a.overlaps(net_b):
                    out.append(CrossTeamFinding("address-overlap", "mandatory", [a, b],
                                                f"{a} ({net_a}) and {b} ({net_b}) overlap and both peer with hub "
                                                f"{hub.rsplit('/', 1)[-1]}; give one of them a free range "
                                                "(`ai-serving new-team` picks one)"))
    return out


def name_collisions(configs: Mapping[str, StackConfig],
                    global_names: Mapping[str, Sequence[tuple[str, str]]]) -> list[CrossTeamFinding]:
    """Stack names, team names and globally unique Azure names must not collide."""
    out = []
    seen: dict[str, list[str]] = defaultdict(list)
    for stack in configs:
        seen[stack.lower()].append(stack)
    for stacks in seen.values():
        if len(stacks) > 1:
            out.append(CrossTeamFinding("name-collision", "mandatory", sorted(stacks),
                                        f"stack names {stacks} differ only in case"))
    teams: dict[str, set[str]] = defaultdict(set)
    for cfg in configs.values():
        teams[cfg.team.replace("-", "")].add(cfg.team)
    for names in (teams[k] for k in sorted(teams)):
        if len(names) > 1:
            stacks = sorted(s for s, c in configs.items() if c.team in names)
            out.append(CrossTeamFinding("name-collision", "mandatory", stacks,
                                        f"team names {sorted(names)} collide once hyphens are dropped (as storage "
                                        "and other alphanumeric-only names do); rename one team"))
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for stack, names in global_names.items():
        for kind, name in names:
            owners[(kind, name.lower())].append(stack)
    for (kind, name), stacks in sorted(owners.items()):
        if len(stacks) > 1:
            out.append(CrossTeamFinding("name-collision", "mandatory", sorted(stacks),
                                        f"globally unique {kind} name {name!r} is used by {len(stacks)} stacks"))
    return out


def global_names_of(resources: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(kind, globally unique name)`` for the resources of one plan (e.g. ``("Vault", "kv-...")``)."""
    out: list[tuple[str, str]] = []
    for r in resources:
        entry = ARM_TYPES.get(r["type"])
        path = entry.global_name if entry else None
        if path is None:
            continue
        value: Any = r["inputs"]
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            kind = r["type"].rsplit(":", 1)[-1] + ("" if len(path) == 1 else f".{path[-1]}")
            out.append((kind, value))
    return out


ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def role_scopes_of(resources: Sequence[Mapping[str, Any]]) -> list[str]:
    """The scope of every role assignment one plan declares (where it is a known string)."""
    scopes = (r["inputs"].get("scope") for r in resources if r["type"] == ROLE_ASSIGNMENT)
    return [s for s in scopes if isinstance(s, str)]


def foreign_grants(configs: Mapping[str, StackConfig],
                   role_scopes: Mapping[str, Sequence[str]]) -> list[CrossTeamFinding]:
    """A role assignment scoped inside another planned stack's resource group is mandatory.

    The config check keeps ``registryId`` and ``modelSource.accountId`` in the stack's own resource
    group or the platform's shared list (infra/catalogues/shared_supply.yaml); this judges what the
    program actually granted, so a program change cannot hand one team's identity another team's images,
    weights or anything else. The shared resources are exempt. Another environment of the same team is
    another stack too: a dev identity has no business reading prod's weights."""
    shared = set().union(*catalogues.shared_supply().values())
    return [CrossTeamFinding("foreign-grant", "mandatory", sorted([stack, owner]),
                             f"{stack} grants a role on {scope} inside {owner}'s resource group; a stack grants roles "
                             "only in its own resource group or on a resource the platform shares "
                             "(infra/catalogues/shared_supply.yaml)")
            for stack, scope, owner in _inside_other_stacks(configs, role_scopes, shared)]


PEERING = "azure-native:network:VirtualNetworkPeering"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"


def network_refs_of(resources: Sequence[Mapping[str, Any]]) -> list[str]:
    """The networks one plan reaches outside itself: the remote VNet of every peering and the zone of every
    private DNS zone group (where each is a known string: the stack's own zones are ids not known yet)."""
    refs: list[Any] = []
    for r in resources:
        if r["type"] == PEERING:
            remote = r["inputs"].get("remoteVirtualNetwork")
            refs.append(remote.get("id") if isinstance(remote, dict) else None)
        elif r["type"] == ZONE_GROUP and isinstance(zones := r["inputs"].get("privateDnsZoneConfigs"), list):
            refs += [zone.get("privateDnsZoneId") for zone in zones if isinstance(zone, dict)]
    return [ref for ref in refs if isinstance(ref, str)]


def foreign_networks(configs: Mapping[str, StackConfig],
                     network_refs: Mapping[str, Sequence[str]]) -> list[CrossTeamFinding]:
    """A peering into, or DNS records written in, another planned stack's resource group is mandatory.

    The config check keeps ``network.hubVnetId`` and ``network.privateDnsZoneIds`` on the platform's list
    (infra/catalogues/shared_network.yaml); this judges what the
    program declared (``network_refs_of``), so a program change cannot join another team's network or
    rewrite the names its endpoints resolve. The listed hubs and zones are exempt."""
    shared = set().union(*catalogues.shared_network().values())
    return [CrossTeamFinding("foreign-network", "mandatory", sorted([stack, owner]),
                             f"{stack} peers with or registers DNS records in {ref}, inside {owner}'s resource "
                             "group; a stack reaches only its own network or a hub or zone the platform shares "
                             "(infra/catalogues/shared_network.yaml)")
            for stack, ref, owner in _inside_other_stacks(configs, network_refs, shared)]


def _inside_other_stacks(configs: Mapping[str, StackConfig], refs: Mapping[str, Sequence[str]],
                         shared: set[str]) -> list[tuple[str, str, str]]:
    """``(stack, ARM id, owner)`` for each id of ``refs[stack]`` inside another planned stack's resource group
    (``Naming``'s ``rg-<team>-<env>-<region>``, compared case-insensitively), except the ``shared`` ids (lower
    case) and what lies under one of them (a grant on a shared registry's child)."""
    groups = {Naming.for_stack(cfg).name("resource_group").lower(): stack for stack, cfg in configs.items()}
    out = []
    for stack in sorted(refs):
        for ref in refs[stack]:
            text = ref.rstrip("/").lower()
            if any(text == s or text.startswith(s + "/") for s in shared):
                continue
            # An ARM id has one resourceGroups segment: everything under it is inside that group.
            out += [(stack, ref, owner) for group, owner in groups.items()
                    if owner != stack and f"/resourcegroups/{group}/" in text + "/"]
    return out

"""Checks no single stack can see: shared quotas, overlapping address spaces, colliding names."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from infra import catalogues
from infra.config.model import StackConfig

QUOTAS_FILE = "quotas.yaml"


@dataclass(frozen=True)
class CrossTeamFinding:
    """One cross-team problem, naming every stack involved."""

    check: str
    level: str
    stacks: list[str]
    message: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_quotas(stack_dir: Path) -> dict[str, Any]:
    """``<stack_dir>/quotas.yaml`` (empty when absent: then quota checks only advise)."""
    path = stack_dir / QUOTAS_FILE
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def check_all(configs: Mapping[str, StackConfig], quotas: Mapping[str, Any],
              global_names: Mapping[str, Sequence[tuple[str, str]]]) -> list[CrossTeamFinding]:
    """Every cross-team finding for the planned stacks (``stack -> config`` of the valid ones)."""
    return [
        *openai_quota(configs, quotas.get("openai") or {}),
        *gpu_quota(configs, quotas.get("gpuVcpus") or {}),
        *overlapping_address_spaces(configs),
        *name_collisions(configs, global_names),
    ]


def openai_quota(configs: Mapping[str, StackConfig], quota: Mapping[str, Any]) -> list[CrossTeamFinding]:
    """Summed deployment capacity per (region, model, deployment type) within the recorded quota."""
    used: dict[tuple[str, str, str], list[tuple[str, int]]] = defaultdict(list)
    for stack, cfg in configs.items():
        for dep in cfg.openai.deployments if cfg.openai else []:
            used[(cfg.location, dep.model, dep.sku)].append((stack, dep.capacity))
    out = []
    for (region, model, sku), users in sorted(used.items()):
        total = sum(c for _, c in users)
        limit = (quota.get(region) or {}).get(model, {}).get(sku)
        stacks = sorted({s for s, _ in users})
        detail = ", ".join(f"{s}: {c}" for s, c in users)
        if limit is None:
            out.append(CrossTeamFinding("openai-quota", "advisory", stacks,
                                        f"no quota recorded for {model} {sku} in {region} ({total} requested: "
                                        f"{detail}); add it to stacks/{QUOTAS_FILE}"))
        elif total > limit:
            out.append(CrossTeamFinding("openai-quota", "mandatory", stacks,
                                        f"{model} {sku} in {region}: stacks ask for {total} in all ({detail}) but "
                                        f"the subscription quota is {limit}; lower capacities or raise the quota"))
    return out


def gpu_quota(configs: Mapping[str, StackConfig], quota: Mapping[str, Any]) -> list[CrossTeamFinding]:
    """GPU vCPUs at maxInstances per (region, VM quota family) within the recorded quota."""
    skus = catalogues.gpu_skus()
    used: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for stack, cfg in configs.items():
        pool = cfg.gpu_pool
        if pool is None or pool.vm_sku not in skus:
            continue
        sku = skus[pool.vm_sku]
        used[(cfg.location, sku["family"])].append((stack, sku["vcpus"] * pool.max_instances))
    out = []
    for (region, family), users in sorted(used.items()):
        total = sum(v for _, v in users)
        limit = (quota.get(region) or {}).get(family)
        stacks = sorted({s for s, _ in users})
        detail = ", ".join(f"{s}: {v}" for s, v in users)
        if limit is None:
            out.append(CrossTeamFinding("gpu-quota", "advisory", stacks,
                                        f"no vCPU quota recorded for {family} in {region} ({total} vCPUs at "
                                        f"maxInstances: {detail}); add it to stacks/{QUOTAS_FILE}"))
        elif total > limit:
            out.append(CrossTeamFinding("gpu-quota", "mandatory", stacks,
                                        f"{family} in {region}: {total} vCPUs at maxInstances ({detail}) exceed "
                                        f"the quota of {limit}; lower maxInstances or raise the quota"))
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
    for squashed, names in sorted(teams.items()):
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


GLOBAL_NAME_INPUTS: dict[str, tuple[str, ...]] = {
    "azure-native:keyvault:Vault": ("vaultName",),
    "azure-native:cognitiveservices:Account": ("properties", "customSubDomainName"),
    "azure-native:storage:StorageAccount": ("accountName",),
    "azure-native:containerregistry:Registry": ("registryName",),
}


def global_names_of(resources: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``(kind, globally unique name)`` for the resources of one plan (e.g. ``("Vault", "kv-...")``)."""
    out: list[tuple[str, str]] = []
    for r in resources:
        path = GLOBAL_NAME_INPUTS.get(r["type"])
        if path is None:
            continue
        value: Any = r["inputs"]
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            kind = r["type"].rsplit(":", 1)[-1] + ("" if len(path) == 1 else f".{path[-1]}")
            out.append((kind, value))
    return out

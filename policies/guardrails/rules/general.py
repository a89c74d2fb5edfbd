"""Rules for every resource: GEN-01 (tags), GEN-02 (regions), and MON-03 (workspace retention)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .. import config as cfg
from ..define import psrule, rule
from ..environment import is_prod
from ..model import Context, Findings, NotApplicable
from ..values import canonical_type, get, known, shown

WORKSPACE = "azure-native:operationalinsights:Workspace"
AZURE_PROVIDER = "pulumi:providers:azure-native"

# Tracked (top-level) ARM resources: Azure accepts tags on all of them. A resource of another type
# is also judged when it declares a `location` (the mark of a tracked resource).
TRACKED_TYPES = (
    "azure-native:resources:ResourceGroup",
    "azure-native:cognitiveservices:Account",
    "azure-native:compute:VirtualMachineScaleSet",
    "azure-native:network:NetworkSecurityGroup",
    "azure-native:network:VirtualNetwork",
    "azure-native:network:PrivateEndpoint",
    "azure-native:network:NatGateway",
    "azure-native:network:PublicIPAddress",
    "azure-native:network:LoadBalancer",
    "azure-native:privatedns:PrivateZone",
    "azure-native:privatedns:VirtualNetworkLink",
    "azure-native:keyvault:Vault",
    "azure-native:operationalinsights:Workspace",
    "azure-native:storage:StorageAccount",
    "azure-native:containerregistry:Registry",
    "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:monitor:AutoscaleSetting",
    "azure-native:monitor:ActionGroup",
)

# Types whose location is `global` by nature.
GLOBAL_TYPES = (
    "azure-native:privatedns:PrivateZone",
    "azure-native:privatedns:VirtualNetworkLink",
    "azure-native:network:DnsZone",
    "azure-native:network:FrontDoor",
    "azure-native:network:TrafficManagerProfile",
    "azure-native:monitor:ActionGroup",
    "azure-native:monitor:ActivityLogAlert",
    "azure-native:monitor:MetricAlert",
)


@rule(
    "GEN-01",
    "gen-01-required-tags",
    title="Required tags present",
    description=(
        "Every tracked resource must carry the required tags (default: team, environment, cost-center, "
        "managed-by), with values matching the configured patterns."
    ),
    severity="low",
    category="hygiene",
    remediation="Add the missing tags (the project's components take them from infra/naming.py `tags()`).",
    link=psrule("Azure.Resource.RequiredTags"),
    anchors=("PSRule Azure.Resource.RequiredTags",),
    types=("azure-native:*",),
    config={"requiredTags": cfg.required_tags(), "tagPatterns": cfg.tag_patterns()},
)
def gen01(props: Any, ctx: Context) -> Findings | NotApplicable | list[str]:
    token = canonical_type(ctx.resource_type)
    if token not in TRACKED_TYPES and get(props, "location") is None:
        return NotApplicable("not a tracked resource (takes no tags)")
    out = Findings()
    tags = get(props, "tags") or {}
    if not isinstance(tags, Mapping):
        return ["tags is not a map"]
    missing = []
    for name in ctx.config["requiredTags"]:
        with out.check():
            value = known(tags.get(name), f"tags.{name}")
            if not isinstance(value, str) or not value.strip():
                missing.append(name)
                continue
            pattern = ctx.config["tagPatterns"].get(name)
            if pattern and not re.fullmatch(pattern, value):
                out.add(f"tag {name!r} does not match {pattern!r}")
    if missing:
        out.add(f"missing tags: {', '.join(missing)}")
    return out


@rule(
    "GEN-02",
    "gen-02-allowed-regions",
    title="Resources in allowed regions",
    description=(
        "Resources (and the azure-native provider's default location) must be in an allowed region; `global` "
        "only for global services such as private DNS zones."
    ),
    severity="medium",
    category="security",
    remediation="Use a region from `allowedRegions` (data residency), or extend the list.",
    link=psrule("Azure.Resource.AllowedRegions"),
    anchors=("PSRule Azure.Resource.AllowedRegions",),
    types=("azure-native:*", AZURE_PROVIDER),
    config={
        "allowedRegions": cfg.allowed_regions(),
        "globalTypes": cfg.string_list("Types whose location may be `global`.", list(GLOBAL_TYPES)),
    },
)
def gen02(props: Any, ctx: Context) -> list[str] | NotApplicable:
    location = get(props, "location")
    if location is None:
        return NotApplicable("no location: inherited from the resource group or provider, judged there")
    if not isinstance(location, str):
        return ["location is not a string"]
    region = location.replace(" ", "").lower()
    if region == "global":
        if canonical_type(ctx.resource_type) in ctx.config["globalTypes"]:
            return []
        return ["location 'global' is only allowed for global services"]
    if region not in {r.replace(" ", "").lower() for r in ctx.config["allowedRegions"]}:
        return [f"location {shown(location)} is not an allowed region"]
    return []


@rule(
    "MON-03",
    "mon-03-workspace-retention",
    title="Log retention long enough",
    description=(
        "Log Analytics workspaces must keep data at least `minRetentionDays` (`minRetentionDaysProd` in "
        "production)."
    ),
    severity="low",
    category="hygiene",
    remediation="Set `retentionInDays` (unset means 30) to at least the configured minimum.",
    link="https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure",
    anchors=(),
    types=(WORKSPACE,),
    config={
        "minRetentionDays": cfg.min_retention_days(30, "Minimum retention in days."),
        "minRetentionDaysProd": cfg.min_retention_days(90, "Minimum retention in days for production."),
        "prodEnvironments": cfg.prod_environments(),
    },
)
def mon03(props: Any, ctx: Context) -> list[str]:
    days = get(props, "retentionInDays")
    days = 30 if days is None else days
    minimum = ctx.config["minRetentionDaysProd" if is_prod(props, ctx) else "minRetentionDays"]
    if not isinstance(days, (int, float)) or days < minimum:
        return [f"retentionInDays is {shown(days)}, below the minimum of {shown(minimum)}"]
    return []


RULES = (gen01, gen02, mon03)

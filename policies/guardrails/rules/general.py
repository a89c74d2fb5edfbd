"""Rules for every resource: GEN-01 (tags), GEN-02 (regions), GEN-03 (locks on stateful resources in prod),
GEN-04 (only the resource types the platform declares)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from .. import config as cfg
from ..define import azure_policy, psrule, rule
from ..environment import is_prod
from ..graph import azure_name, references, resource_group, scope_covers
from ..model import Context, Findings, NotApplicable, StackResource, of_types
from ..values import canonical_type, get, is_unknown, known, one_of, reveal, shown
from .common import Match

WORKSPACE = "azure-native:operationalinsights:Workspace"
ACCOUNT = "azure-native:cognitiveservices:Account"
VAULT = "azure-native:keyvault:Vault"
STORAGE = "azure-native:storage:StorageAccount"
REGISTRY = "azure-native:containerregistry:Registry"
LOCK_BY_SCOPE = "azure-native:authorization:ManagementLockByScope"
LOCK_AT_RESOURCE = "azure-native:authorization:ManagementLockAtResourceLevel"
LOCK_AT_GROUP = "azure-native:authorization:ManagementLockAtResourceGroupLevel"
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


def _locked(resources: Sequence[StackResource], target: StackResource) -> Match:
    match = Match()
    for lock in of_types(resources, LOCK_BY_SCOPE, LOCK_AT_RESOURCE, LOCK_AT_GROUP):
        level = reveal(lock.props.get("level"))
        if is_unknown(level):
            match.see(None, f"{lock.urn}:level")
            continue
        if not one_of(level, ("CanNotDelete", "ReadOnly")):
            continue
        if lock.canonical_type == LOCK_BY_SCOPE:
            scope = reveal(lock.props.get("scope"))
            answer = references(lock, "scope", scope, target)
            if not answer and isinstance(scope, str) and not is_unknown(scope):
                answer = scope_covers(scope, target)
        elif lock.canonical_type == LOCK_AT_GROUP:
            group, own = reveal(lock.props.get("resourceGroupName")), resource_group(target)
            answer = (
                None if is_unknown(group) else bool(own and isinstance(group, str) and group.lower() == own.lower())
            )
        else:
            deps = lock.property_dependencies.get("resourceName")
            name = reveal(lock.props.get("resourceName"))
            if deps:
                answer = target.urn in deps
            elif is_unknown(name):
                answer = None
            else:
                answer = isinstance(name, str) and (azure_name(target) or "").lower() == name.lower()
        match.see(answer, f"{lock.urn}:scope")
    return match


@rule(
    "GEN-03",
    "gen-03-prod-deletion-protection",
    title="Production state protected from deletion",
    description=(
        "In production, stateful resources (vaults, AI accounts, workspaces, storage, registries) must be "
        "`protect`ed in Pulumi or carry a CanNotDelete lock."
    ),
    severity="high",
    category="security",
    remediation=(
        "Create the resource with `opts=ResourceOptions(protect=True)` and/or a "
        "`authorization:ManagementLockByScope` (level CanNotDelete) on it."
    ),
    link="https://azure.github.io/Azure-Verified-Modules/specs/shared/interfaces/#resource-locks",
    anchors=("AVM lock interface",),
    types=(VAULT, ACCOUNT, WORKSPACE, STORAGE, REGISTRY),
    scope="stack",
    config={
        "statefulTypes": cfg.string_list(
            "Types that hold state and must survive a mistaken delete.",
            [VAULT, ACCOUNT, WORKSPACE, STORAGE, REGISTRY],
        ),
        "prodEnvironments": cfg.prod_environments(),
    },
)
def gen03(resources: Sequence[StackResource], ctx: Context) -> Findings:
    out = Findings()
    for target in of_types(resources, *ctx.config["statefulTypes"]):
        if not is_prod(target.props, ctx) or target.protect:
            continue
        _locked(resources, target).settle(
            out, "production resource is neither protected nor locked against deletion", target.urn
        )
    return out


# Besides the azure-native types of the tooling's table: the stack itself, the azure-native provider, and the
# project's own components (a component declares nothing in Azure; a custom resource of package
# `ai-serving` cannot exist, there is no such provider).
_ALWAYS_ALLOWED = ("pulumi:pulumi:Stack", AZURE_PROVIDER, "ai-serving:*")


@rule(
    "GEN-04",
    "gen-04-allowed-resource-types",
    title="Only the resource types the platform declares",
    description=(
        "A stack may declare only the resource types in `allowedTypes` (default: every azure-native type of the "
        "platform's type table, `ai_serving/arm.py`, its components, the stack and the azure-native provider). "
        "The other rules judge those types; any other type (a VM extension, a public Bastion or gateway, an ARM "
        "template deployment, another provider's resources) would reach Azure unjudged."
    ),
    severity="high",
    category="security",
    remediation=(
        "Declare the resource through the platform's components; a new type gets its row in `ai_serving/arm.py` "
        "and its rules (README \"How to extend\"), reviewed by the platform team."
    ),
    link=azure_policy("a08ec900-254a-4555-9bf5-e42af04b5c5c"),
    anchors=("Azure Policy a08ec900-254a-4555-9bf5-e42af04b5c5c (Allowed resource types)",),
    types=("*",),
    config={
        "allowedTypes": cfg.string_list(
            "Resource type tokens (fnmatch patterns) a stack may declare.",
            [*cfg.declarable_types(), *_ALWAYS_ALLOWED],
        )
    },
)
def gen04(props: Any, ctx: Context) -> list[str]:
    token = canonical_type(ctx.resource_type)
    if any(fnmatchcase(token, pattern) for pattern in ctx.config["allowedTypes"]):
        return []
    return [f"type {token[:120]} is not one the platform declares (allowedTypes)"]


RULES = (gen01, gen02, gen03, gen04)

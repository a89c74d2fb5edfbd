"""Container registries: ACR-01..03."""

from __future__ import annotations

from typing import Any

from ..define import psrule, rule
from ..model import Context
from ..values import get, is_true
from .common import OPEN_ADDRESSES_SETTING, firewall_findings

REGISTRY = "azure-native:containerregistry:Registry"


@rule(
    "ACR-01",
    "acr-01-admin-user-disabled",
    title="Registry admin user off",
    description="Container registries must not enable the admin user (a shared, static credential).",
    severity="high",
    category="security",
    remediation="Remove `adminUserEnabled: true`; pull with a managed identity that has AcrPull.",
    link=psrule("Azure.ACR.AdminUser"),
    anchors=("PSRule Azure.ACR.AdminUser", "CKV_AZURE_137"),
    types=(REGISTRY,),
)
def acr01(props: Any, ctx: Context) -> list[str]:
    if is_true(get(props, "adminUserEnabled")):
        return ["adminUserEnabled is true"]
    return []


@rule(
    "ACR-02",
    "acr-02-network-restricted",
    title="Registry not open to public networks",
    description=(
        "Container registries must disable public network access or deny it by default in their firewall, with IP "
        "rules that admit at most a /24 in all."
    ),
    severity="high",
    category="security",
    remediation=(
        "Set `publicNetworkAccess: Disabled` (or `networkRuleSet.defaultAction: Deny`; both need the Premium "
        "SKU) and use a private endpoint."
    ),
    link=psrule("Azure.ACR.Firewall"),
    anchors=("PSRule Azure.ACR.Firewall", "CKV_AZURE_139"),
    types=(REGISTRY,),
    config={"maxOpenAddresses": OPEN_ADDRESSES_SETTING},
)
def acr02(props: Any, ctx: Context) -> list[str]:
    return firewall_findings(props, ctx)


@rule(
    "ACR-03",
    "acr-03-anonymous-pull-disabled",
    title="Registry refuses anonymous pulls",
    description="Container registries must not allow anonymous (unauthenticated) pulls.",
    severity="high",
    category="security",
    remediation="Remove `anonymousPullEnabled: true`.",
    link=psrule("Azure.ACR.AnonymousAccess"),
    anchors=("PSRule Azure.ACR.AnonymousAccess", "CKV_AZURE_138"),
    types=(REGISTRY,),
)
def acr03(props: Any, ctx: Context) -> list[str]:
    if is_true(get(props, "anonymousPullEnabled")):
        return ["anonymousPullEnabled is true"]
    return []


RULES = (acr01, acr02, acr03)

"""Key Vault vaults, secrets and keys: KV-01..08."""

from __future__ import annotations

from typing import Any

from .. import config as cfg
from ..define import checkov, psrule, rule
from ..model import Context, Findings
from ..values import elements, eq, get, is_false, is_true, known, one_of, present, shown
from .common import OPEN_ADDRESSES_SETTING, firewall_problem

VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
KEY = "azure-native:keyvault:Key"


@rule(
    "KV-01",
    "kv-01-purge-protection",
    title="Vault purge protection on",
    description=(
        "Key vaults must enable purge protection, so deleted keys and secrets cannot be destroyed before the "
        "retention period ends."
    ),
    severity="high",
    category="security",
    remediation=(
        "Set `properties.enablePurgeProtection: true` (it can never be turned off again, and Azure rejects "
        "an explicit false: leave it unset or true)."
    ),
    link=psrule("Azure.KeyVault.PurgeProtect"),
    anchors=("PSRule Azure.KeyVault.PurgeProtect", "CKV_AZURE_110"),
    types=(VAULT,),
)
def kv01(props: Any, ctx: Context) -> list[str]:
    if not is_true(get(props, "properties.enablePurgeProtection")):
        return ["properties.enablePurgeProtection is not true (unset means off)"]
    return []


@rule(
    "KV-02",
    "kv-02-soft-delete",
    title="Vault soft delete on",
    description="Key vaults must keep soft delete on.",
    severity="high",
    category="security",
    remediation=(
        "Remove `properties.enableSoftDelete: false` (the default is true) and keep "
        "`softDeleteRetentionInDays` at 7-90."
    ),
    link=psrule("Azure.KeyVault.SoftDelete"),
    anchors=("PSRule Azure.KeyVault.SoftDelete", "CKV_AZURE_42"),
    types=(VAULT,),
)
def kv02(props: Any, ctx: Context) -> list[str]:
    if is_false(get(props, "properties.enableSoftDelete")):
        return ["properties.enableSoftDelete is false"]
    return []


@rule(
    "KV-03",
    "kv-03-rbac-authorization",
    title="Vault uses Azure RBAC",
    description="Key vaults must use Azure RBAC for data-plane access, not access policies.",
    severity="medium",
    category="security",
    remediation=(
        "Set `properties.enableRbacAuthorization: true` (unset means access policies on the API versions "
        "azure-native uses) and grant Key Vault roles instead of access policies."
    ),
    link=psrule("Azure.KeyVault.RBAC"),
    anchors=("PSRule Azure.KeyVault.RBAC",),
    types=(VAULT,),
)
def kv03(props: Any, ctx: Context) -> list[str]:
    value = get(props, "properties.enableRbacAuthorization")
    if not is_true(value):
        state = "unset (access policies)" if value is None else "false"
        return [f"properties.enableRbacAuthorization is {state}; set it to true"]
    return []


@rule(
    "KV-04",
    "kv-04-network-restricted",
    title="Vault not open to public networks",
    description=(
        "Key vaults must disable public network access or deny it by default in their firewall, with IP rules "
        "that admit at most a /24 in all."
    ),
    severity="high",
    category="security",
    remediation=(
        "Set `properties.publicNetworkAccess: Disabled` (or `properties.networkAcls.defaultAction: Deny`) "
        "and use a private endpoint."
    ),
    link=psrule("Azure.KeyVault.Firewall"),
    anchors=("PSRule Azure.KeyVault.Firewall", "CKV_AZURE_189", "CKV_AZURE_109"),
    types=(VAULT,),
    config={"maxOpenAddresses": OPEN_ADDRESSES_SETTING},
)
def kv04(props: Any, ctx: Context) -> list[str]:
    problem = firewall_problem(props, "properties.publicNetworkAccess", "properties.networkAcls.defaultAction",
                               ("properties.networkAcls.ipRules", "value"), ctx.config["maxOpenAddresses"])
    return [problem] if problem else []


@rule(
    "KV-05",
    "kv-05-secret-expiry",
    title="Secret has an expiry date",
    description="Key Vault secrets should carry an expiry date so that stale credentials surface.",
    severity="low",
    category="hygiene",
    remediation="Set `properties.attributes.expires` (seconds since 1970) and rotate before it passes.",
    link=checkov("arm/checks/resource/SecretExpirationDate.py"),
    anchors=("CKV_AZURE_41",),
    types=(SECRET,),
)
def kv05(props: Any, ctx: Context) -> list[str]:
    if not present(get(props, "properties.attributes.expires")):
        return ["properties.attributes.expires is unset"]
    return []


@rule(
    "KV-06",
    "kv-06-secret-content-type",
    title="Secret declares its content type",
    description="Key Vault secrets should declare a content type, so consumers know how to read them.",
    severity="low",
    category="hygiene",
    remediation="Set `properties.contentType` (e.g. `text/plain`, `application/x-pem-file`).",
    link=checkov("arm/checks/resource/SecretContentType.py"),
    anchors=("CKV_AZURE_114",),
    types=(SECRET,),
)
def kv06(props: Any, ctx: Context) -> list[str]:
    if not present(get(props, "properties.contentType")):
        return ["properties.contentType is unset"]
    return []


@rule(
    "KV-07",
    "kv-07-hsm-key-type",
    title="Keys are HSM-backed",
    description="Key Vault keys must be HSM-backed (RSA-HSM or EC-HSM; needs a premium vault).",
    severity="medium",
    category="security",
    remediation="Set `properties.kty: RSA-HSM` (or EC-HSM) on a premium vault.",
    link=checkov("arm/checks/resource/KeyBackedByHSM.py"),
    anchors=("CKV_AZURE_112",),
    types=(KEY,),
    config={"allowedKeyTypes": cfg.string_list("Key types that may be created.", ["RSA-HSM", "EC-HSM"])},
)
def kv07(props: Any, ctx: Context) -> list[str]:
    kty = get(props, "properties.kty")
    if not one_of(kty, ctx.config["allowedKeyTypes"]):
        return [
            f"properties.kty {shown(kty) if kty is not None else '(unset)'} is not one of "
            f"{', '.join(ctx.config['allowedKeyTypes'])}"
        ]
    return []


@rule(
    "KV-08",
    "kv-08-key-rotation-policy",
    title="Keys rotate automatically and expire",
    description="Key Vault keys must have a rotation policy with a rotate action and an expiry time.",
    severity="medium",
    category="security",
    remediation=(
        "Set `properties.rotationPolicy` with `attributes.expiryTime` (e.g. P1Y) and a lifetime action "
        "`{action: {type: rotate}, trigger: {timeBeforeExpiry: P30D}}`."
    ),
    link=psrule("Azure.KeyVault.AutoRotationPolicy"),
    anchors=("PSRule Azure.KeyVault.AutoRotationPolicy", "CKV_AZURE_40"),
    types=(KEY,),
)
def kv08(props: Any, ctx: Context) -> Findings:
    out = Findings()
    with out.check():
        if not present(get(props, "properties.rotationPolicy.attributes.expiryTime")):
            out.add("properties.rotationPolicy.attributes.expiryTime is unset")
    with out.check():
        actions = elements(props, "properties.rotationPolicy.lifetimeActions")
        rotates = False
        for i, action in enumerate(actions):
            action = known(action, f"properties.rotationPolicy.lifetimeActions[{i}]")
            if eq(get(action, "action.type"), "rotate") and (
                present(get(action, "trigger.timeAfterCreate"))
                or present(get(action, "trigger.timeBeforeExpiry"))
            ):
                rotates = True
        if not rotates:
            out.add("properties.rotationPolicy has no lifetime action that rotates the key on a trigger")
    return out


RULES = (kv01, kv02, kv03, kv04, kv05, kv06, kv07, kv08)

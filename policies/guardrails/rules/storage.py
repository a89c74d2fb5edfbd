"""Storage accounts: ST-01..04."""

from __future__ import annotations

from typing import Any

from ..define import checkov, psrule, rule
from ..model import Context, Findings
from ..values import get, is_false, is_true, one_of, shown
from .common import OPEN_ADDRESSES_SETTING, firewall_findings

STORAGE = "azure-native:storage:StorageAccount"


@rule(
    "ST-01",
    "st-01-no-blob-public-access",
    title="Storage blobs never public",
    description="Storage accounts must not allow anonymous public read access to blobs.",
    severity="high",
    category="security",
    remediation="Set `allowBlobPublicAccess: false` (unset means allowed on older API versions).",
    link=psrule("Azure.Storage.BlobPublicAccess"),
    anchors=("PSRule Azure.Storage.BlobPublicAccess",),
    types=(STORAGE,),
)
def st01(props: Any, ctx: Context) -> list[str]:
    if not is_false(get(props, "allowBlobPublicAccess")):
        return ["allowBlobPublicAccess is unset or true; set it to false"]
    return []


@rule(
    "ST-02",
    "st-02-min-tls-1-2",
    title="Storage requires TLS 1.2+",
    description="Storage accounts must refuse TLS versions below 1.2.",
    severity="medium",
    category="security",
    remediation="Set `minimumTlsVersion: TLS1_2` (unset means TLS1_0 on older API versions).",
    link=psrule("Azure.Storage.MinTLS"),
    anchors=("PSRule Azure.Storage.MinTLS", "CKV_AZURE_44"),
    types=(STORAGE,),
)
def st02(props: Any, ctx: Context) -> list[str]:
    version = get(props, "minimumTlsVersion")
    if not one_of(version, ("TLS1_2", "TLS1_3")):
        return [
            f"minimumTlsVersion is {shown(version) if version is not None else 'unset'}; set it to TLS1_2"
        ]
    return []


@rule(
    "ST-03",
    "st-03-network-restricted",
    title="Storage not open to public networks",
    description=(
        "Storage accounts must disable public network access or deny it by default in their firewall, with IP "
        "rules that admit at most a /24 in all."
    ),
    severity="high",
    category="security",
    remediation=(
        "Set `publicNetworkAccess: Disabled` (or `networkRuleSet.defaultAction: Deny`) and use a private "
        "endpoint."
    ),
    link=psrule("Azure.Storage.Firewall"),
    anchors=("PSRule Azure.Storage.Firewall", "CKV_AZURE_59"),
    types=(STORAGE,),
    config={"maxOpenAddresses": OPEN_ADDRESSES_SETTING},
)
def st03(props: Any, ctx: Context) -> list[str]:
    return firewall_findings(props, ctx)


@rule(
    "ST-04",
    "st-04-no-shared-key-access",
    title="Storage refuses shared keys and local users",
    description=(
        "Storage accounts must refuse shared-key (account key and SAS) authorization and local users (SFTP, "
        "which sign in with passwords or SSH keys): Entra ID only."
    ),
    severity="medium",
    category="security",
    remediation=(
        "Set `allowSharedKeyAccess: false` (unset means allowed), `isLocalUserEnabled: false` and leave "
        "`isSftpEnabled` off, and grant data roles instead."
    ),
    link=checkov("terraform/checks/graph_checks/azure/AzureStorageAccConfigSharedKeyAuth.yaml"),
    anchors=("CKV2_AZURE_40",),
    types=(STORAGE,),
)
def st04(props: Any, ctx: Context) -> Findings:
    out = Findings()
    with out.check():
        if not is_false(get(props, "allowSharedKeyAccess")):
            out.add("allowSharedKeyAccess is unset or true; set it to false")
    # Found by review: SFTP local users passed a check of shared keys alone.
    with out.check():
        if not is_false(get(props, "isLocalUserEnabled")):
            out.add("isLocalUserEnabled is unset or true: local users sign in without Entra ID; set it to false")
    with out.check():
        if is_true(get(props, "isSftpEnabled")):
            out.add("isSftpEnabled is true: SFTP takes local users' passwords and SSH keys; turn it off")
    return out


RULES = (st01, st02, st03, st04)

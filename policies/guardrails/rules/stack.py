"""Rules that need the whole stack: NET-05..07, MON-01..02, GEN-03.

Each takes the list of :class:`~guardrails.model.StackResource` and reports violations against
the URN of the resource at fault. How a private endpoint, diagnostic setting or lock is matched
to its target is described in :mod:`guardrails.graph`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .. import config as cfg
from ..define import azure_policy, checkov, psrule, rule
from ..environment import is_prod
from ..graph import azure_name, references, resource_group, scope_covers
from ..model import Context, Findings, StackResource, of_types
from ..values import Undetermined, elements, eq, get, is_true, is_unknown, one_of, present, reveal

ACCOUNT = "azure-native:cognitiveservices:Account"
VAULT = "azure-native:keyvault:Vault"
STORAGE = "azure-native:storage:StorageAccount"
REGISTRY = "azure-native:containerregistry:Registry"
WORKSPACE = "azure-native:operationalinsights:Workspace"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
LOCK_BY_SCOPE = "azure-native:authorization:ManagementLockByScope"
LOCK_AT_RESOURCE = "azure-native:authorization:ManagementLockAtResourceLevel"
LOCK_AT_GROUP = "azure-native:authorization:ManagementLockAtResourceGroupLevel"
CONNECTION_PROPS = ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections")


class Match:
    """Tri-state accumulator: found / could not tell / not found."""

    def __init__(self) -> None:
        self.found = False
        self.unknown: str | None = None

    def see(self, answer: bool | None, path: str) -> None:
        if answer:
            self.found = True
        elif answer is None and self.unknown is None:
            self.unknown = path

    def settle(self, out: Findings, message: str, urn: str) -> None:
        """Report ``message`` when nothing matched; record an unknown when that is why."""
        if self.found:
            return
        if self.unknown:
            out.undetermined.append(self.unknown)
        else:
            out.add(message, urn)


def connections(pe: StackResource) -> Iterator[tuple[str, Any, Any]]:
    """(property, privateLinkServiceId, groupIds) of each connection of a private endpoint."""
    for prop in CONNECTION_PROPS:
        try:
            items = elements(pe.props, prop)
        except Undetermined:
            yield prop, "04da6b54-80e4-46f7-96ec-b56ff0331ba9", None
            continue
        for item in items:
            if is_unknown(item):
                yield prop, item, None
                continue
            yield prop, reveal(item.get("privateLinkServiceId")), reveal(item.get("groupIds"))


def _endpoint_matches(resources: Sequence[StackResource], target: StackResource, group_id: str | None) -> Match:
    match = Match()
    for pe in of_types(resources, PRIVATE_ENDPOINT):
        for prop, service_id, group_ids in connections(pe):
            answer = references(pe, prop, service_id, target)
            if answer and group_id is not None:
                answer = None if is_unknown(group_ids) else any(eq(reveal(g), group_id) for g in (group_ids or []))
            match.see(answer, f"{pe.urn}:{prop}")
    return match


@rule(
    "NET-05",
    "net-05-private-endpoint-dns-zone-group",
    title="Private endpoints registered in private DNS",
    description=(
        "Every private endpoint must have a DNS zone group linking it to a private DNS zone, or clients "
        "resolve the public address."
    ),
    severity="medium",
    category="security",
    remediation=(
        "Add a `network:PrivateDnsZoneGroup` for the endpoint with a `privateDnsZoneConfigs` entry per zone "
        "(e.g. privatelink.openai.azure.com)."
    ),
    link=azure_policy("c4bc6f10-cb41-49eb-b000-d5ab82e2a091"),
    anchors=(
        "Azure Policy c4bc6f10-cb41-49eb-b000-d5ab82e2a091",
        "Azure Policy ac673a9a-f77d-4846-b2d8-a57f8e1c01d4",
    ),
    types=(PRIVATE_ENDPOINT,),
    scope="stack",
)
def net05(resources: Sequence[StackResource], ctx: Context) -> Findings:
    out = Findings()
    groups = of_types(resources, ZONE_GROUP)
    for pe in of_types(resources, PRIVATE_ENDPOINT):
        match = Match()
        for zg in groups:
            belongs = True if zg.parent == pe.urn else _endpoint_of_group(zg, pe)
            if belongs:
                try:
                    configs = elements(zg.props, "privateDnsZoneConfigs")
                    belongs = any(is_unknown(c) or present(get(c, "privateDnsZoneId")) for c in configs)
                except Undetermined:
                    belongs = None
            match.see(belongs, f"{zg.urn}:privateDnsZoneConfigs")
        match.settle(out, "private endpoint has no DNS zone group with a private DNS zone", pe.urn)
    return out


def _endpoint_of_group(zg: StackResource, pe: StackResource) -> bool | None:
    deps = zg.property_dependencies.get("privateEndpointName")
    if deps:
        return pe.urn in deps
    name = reveal(zg.props.get("privateEndpointName"))
    if is_unknown(name):
        return None
    pe_name = reveal(pe.props.get("privateEndpointName")) or pe.name
    if not isinstance(name, str) or not isinstance(pe_name, str) or is_unknown(pe_name):
        return None if is_unknown(pe_name) else False
    groups = {g.lower() for g in (resource_group(zg), resource_group(pe)) if g is not None}
    return name.lower() == pe_name.lower() and len(groups) <= 1


@rule(
    "NET-06",
    "net-06-ai-account-private-endpoint",
    title="AI accounts have a private endpoint",
    description=(
        "Every Azure AI / OpenAI account must be reachable through a private endpoint for its `account` sub-resource."
    ),
    severity="high",
    category="security",
    remediation=(
        "Add a `network:PrivateEndpoint` whose `privateLinkServiceConnections` name the account id with "
        "`groupIds: [account]`."
    ),
    link=psrule("Azure.AI.PrivateEndpoints"),
    anchors=("PSRule Azure.AI.PrivateEndpoints", "Azure Policy d6759c02-b87f-42b7-892e-71b3f471d782"),
    types=(ACCOUNT,),
    scope="stack",
)
def net06(resources: Sequence[StackResource], ctx: Context) -> Findings:
    out = Findings()
    for account in of_types(resources, ACCOUNT):
        _endpoint_matches(resources, account, "account").settle(
            out, "account has no private endpoint with groupIds [account]", account.urn
        )
    return out


@rule(
    "NET-07",
    "net-07-data-service-private-endpoint",
    title="Vaults, storage and registries have a private endpoint",
    description=(
        "Every key vault, storage account and container registry must be reachable through a private endpoint."
    ),
    severity="high",
    category="security",
    remediation=(
        "Add a `network:PrivateEndpoint` targeting the resource (groupIds vault / blob / registry) with its "
        "DNS zone group."
    ),
    link=checkov("terraform/checks/graph_checks/azure/AzureKeyVaultConfigPrivateEndpoint.yaml"),
    anchors=("CKV2_AZURE_32", "CKV2_AZURE_33"),
    types=(VAULT, STORAGE, REGISTRY),
    scope="stack",
)
def net07(resources: Sequence[StackResource], ctx: Context) -> Findings:
    out = Findings()
    for target in of_types(resources, VAULT, STORAGE, REGISTRY):
        _endpoint_matches(resources, target, None).settle(out, "resource has no private endpoint", target.urn)
    return out


def _settings_for(
    resources: Sequence[StackResource], target: StackResource
) -> Iterator[tuple[StackResource, bool | None]]:
    for setting in of_types(resources, DIAGNOSTIC_SETTING):
        yield setting, references(setting, "resourceUri", setting.props.get("resourceUri"), target)


def _enabled_logs(setting: StackResource) -> list[Any]:
    logs = elements(setting.props, "logs")
    return [
        log for log in logs if is_unknown(log) or is_true(reveal(log.get("enabled"))) or is_unknown(log.get("enabled"))
    ]


@rule(
    "MON-01",
    "mon-01-ai-account-diagnostics",
    title="AI accounts send logs to a workspace",
    description=(
        "Every Azure AI / OpenAI account must have a diagnostic setting that sends enabled logs to a Log "
        "Analytics workspace."
    ),
    severity="medium",
    category="security",
    remediation=(
        "Add a `monitor:DiagnosticSetting` with `resourceUri` = the account id, `workspaceId`, and `logs: "
        "[{categoryGroup: allLogs, enabled: true}]`."
    ),
    link=azure_policy("1b4d1c4e-934c-4703-944c-27c82c06bebb"),
    anchors=("Azure Policy 1b4d1c4e-934c-4703-944c-27c82c06bebb",),
    types=(ACCOUNT,),
    scope="stack",
)
def mon01(resources: Sequence[StackResource], ctx: Context) -> Findings:
    out = Findings()
    for account in of_types(resources, ACCOUNT):
        match = Match()
        for setting, targets in _settings_for(resources, account):
            ok = targets
            if ok:
                try:
                    ok = present(get(setting.props, "workspaceId")) and bool(_enabled_logs(setting))
                except Undetermined:
                    ok = None
            match.see(ok, f"{setting.urn}:resourceUri")
        match.settle(out, "account has no diagnostic setting sending enabled logs to a workspace", account.urn)
    return out


_DESTINATIONS = ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId")


def _audits(setting: StackResource) -> bool:
    if not any(present(get(setting.props, d)) for d in _DESTINATIONS):
        return False
    for log in _enabled_logs(setting):
        if is_unknown(log):
            return True
        if eq(reveal(log.get("category")), "AuditEvent") or one_of(
            reveal(log.get("categoryGroup")), ("audit", "allLogs")
        ):
            return True
    return False


@rule(
    "MON-02",
    "mon-02-key-vault-audit-logs",
    title="Key vaults keep audit logs",
    description=(
        "Every key vault must have a diagnostic setting that sends its AuditEvent logs (or the audit / "
        "allLogs category group) somewhere."
    ),
    severity="medium",
    category="security",
    remediation=(
        "Add a `monitor:DiagnosticSetting` on the vault with `logs: [{categoryGroup: audit, enabled: true}]` "
        "and a workspace."
    ),
    link=psrule("Azure.KeyVault.Logs"),
    anchors=("PSRule Azure.KeyVault.Logs",),
    types=(VAULT,),
    scope="stack",
)
def mon02(resources: Sequence[StackResource], ctx: Context) -> Findings:
    out = Findings()
    for vault in of_types(resources, VAULT):
        match = Match()
        for setting, targets in _settings_for(resources, vault):
            ok = targets
            if ok:
                try:
                    ok = _audits(setting)
                except Undetermined:
                    ok = None
            match.see(ok, f"{setting.urn}:resourceUri")
        match.settle(out, "vault has no diagnostic setting keeping AuditEvent logs", vault.urn)
    return out


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


RULES = (net05, net06, net07, mon01, mon02, gen03)

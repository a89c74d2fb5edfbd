"""Monitoring: MON-01 (diagnostic settings on services), MON-02 (Key Vault audit logs), MON-03 (retention),
MON-04 (workspace keys off).

MON-01 and MON-02 are stack rules: a diagnostic setting is matched to its target by ``resourceUri``
(see :mod:`guardrails.graph`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .. import config as cfg
from ..define import azure_policy, psrule, rule
from ..environment import is_prod
from ..graph import references
from ..model import Context, Findings, StackResource, of_types
from ..values import Undetermined, elements, eq, get, is_true, is_unknown, one_of, present, reveal, shown
from .common import Match

ACCOUNT = "azure-native:cognitiveservices:Account"
VAULT = "azure-native:keyvault:Vault"
WORKSPACE = "azure-native:operationalinsights:Workspace"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"


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


@rule(
    "MON-04",
    "mon-04-workspace-local-auth-disabled",
    title="Log Analytics workspace keys off",
    description=(
        "Log Analytics workspaces must disable local (shared-key) authentication: ingestion and queries with "
        "Entra ID only, so a leaked workspace key cannot write false logs or read them."
    ),
    severity="high",
    category="security",
    remediation=(
        "Set `features.disableLocalAuth: true` (unset means the workspace keys work); diagnostic settings and "
        "the Azure Monitor agent authenticate with Entra ID."
    ),
    link="https://learn.microsoft.com/azure/azure-monitor/logs/azure-ad-authentication-logs",
    anchors=("Azure Monitor Logs: Microsoft Entra authentication (disableLocalAuth)",),
    types=(WORKSPACE,),
)
def mon04(props: Any, ctx: Context) -> list[str]:
    if is_true(get(props, "features.disableLocalAuth")):
        return []
    return ["features.disableLocalAuth is unset or false: the workspace's shared keys still work"]


RULES = (mon01, mon02, mon03, mon04)

"""Azure AI (Cognitive Services / OpenAI) accounts, content filters and model deployments: CS-01..08, DEP-01..06."""

from __future__ import annotations

from datetime import date
from fnmatch import fnmatchcase
from typing import Any

from .. import config as cfg
from ..define import azure_policy, checkov, psrule, rule
from ..environment import is_prod, tagged_environment
from ..model import Context, Findings, NotApplicable
from ..public_suffix import shared_suffix
from ..values import elements, eq, get, is_true, known, one_of, present, shown
from .common import has_managed_identity

ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
RAI_POLICY = "azure-native:cognitiveservices:RaiPolicy"


@rule(
    "CS-01",
    "cs-01-ai-account-public-network-disabled",
    title="AI account public network access disabled",
    description=(
        "Azure AI / OpenAI accounts must disable public network access (reachable only through private "
        "endpoints)."
    ),
    severity="critical",
    category="security",
    waivable=False,
    remediation=(
        "Set `properties.publicNetworkAccess: Disabled` (unset means Enabled) and reach the account through "
        "a private endpoint."
    ),
    link=psrule("Azure.AI.PrivateEndpoints"),
    anchors=(
        "PSRule Azure.AI.PrivateEndpoints",
        "CKV_AZURE_134",
        "Azure Policy 47ba1dd7-28d9-4b07-a8d5-9813bed64e0c",
    ),
    types=(ACCOUNT,),
)
def cs01(props: Any, ctx: Context) -> list[str]:
    value = get(props, "properties.publicNetworkAccess")
    if value is None:
        return ["properties.publicNetworkAccess is unset, which Azure treats as Enabled; set it to Disabled"]
    if not eq(value, "Disabled"):
        return [f"properties.publicNetworkAccess is {shown(value)}; set it to Disabled"]
    return []


_OPEN_CIDRS = ("0.0.0.0/0", "0.0.0.0", "*", "::/0")


@rule(
    "CS-02",
    "cs-02-ai-account-network-acls-deny",
    title="AI account firewall denies by default",
    description=(
        "Azure AI / OpenAI accounts must deny network access by default (networkAcls.defaultAction Deny), so "
        "the firewall stays closed even if public access is switched back on."
    ),
    severity="high",
    category="security",
    waivable=False,
    remediation=(
        "Set `properties.networkAcls.defaultAction: Deny` (unset means Allow) and list no IP rule that opens "
        "the account to the whole Internet."
    ),
    link=psrule("Azure.AI.PublicAccess"),
    anchors=("PSRule Azure.AI.PublicAccess", "Azure Policy 037eea7a-bd0a-46c5-9a66-03aea78705d3"),
    types=(ACCOUNT,),
)
def cs02(props: Any, ctx: Context) -> Findings:
    out = Findings()
    with out.check():
        action = get(props, "properties.networkAcls.defaultAction")
        if action is None:
            out.add(
                "properties.networkAcls.defaultAction is unset, which Azure treats as Allow; set it to Deny"
            )
        elif not eq(action, "Deny"):
            out.add(f"properties.networkAcls.defaultAction is {shown(action)}; set it to Deny")
    with out.check():
        for i, ip_rule in enumerate(elements(props, "properties.networkAcls.ipRules")):
            value = get(ip_rule, "value")
            if isinstance(value, str) and value.strip() in _OPEN_CIDRS:
                out.add(f"properties.networkAcls.ipRules[{i}] allows the whole Internet")
    return out


@rule(
    "CS-03",
    "cs-03-ai-account-local-auth-disabled",
    title="AI account key authentication disabled",
    description="Azure AI / OpenAI accounts must disable local (API key) authentication: Entra ID only.",
    severity="high",
    category="security",
    waivable=False,
    remediation=(
        "Set `properties.disableLocalAuth: true` (unset means keys work) and grant callers the 'Cognitive "
        "Services OpenAI User' role instead of sharing keys."
    ),
    link=psrule("Azure.AI.DisableLocalAuth"),
    anchors=(
        "PSRule Azure.AI.DisableLocalAuth",
        "CKV_AZURE_236",
        "Azure Policy 71ef260a-8f18-47b7-abcb-62d0673d94dc",
    ),
    types=(ACCOUNT,),
)
def cs03(props: Any, ctx: Context) -> list[str]:
    value = get(props, "properties.disableLocalAuth")
    if value is None:
        return ["properties.disableLocalAuth is unset, so API keys work; set it to true"]
    if not is_true(value):
        return ["properties.disableLocalAuth is false, so API keys work; set it to true"]
    return []


@rule(
    "CS-04",
    "cs-04-ai-account-managed-identity",
    title="AI account has a managed identity",
    description=(
        "Azure AI / OpenAI accounts must have a managed identity (for customer-managed keys and keyless "
        "access to other services)."
    ),
    severity="medium",
    category="security",
    remediation="Set `identity.type` to `SystemAssigned` (or `UserAssigned` with the identities).",
    link=azure_policy("fe3fd216-4f83-4fc1-8984-2bbec80a3418"),
    anchors=("CKV_AZURE_238", "Azure Policy fe3fd216-4f83-4fc1-8984-2bbec80a3418"),
    types=(ACCOUNT,),
)
def cs04(props: Any, ctx: Context) -> list[str]:
    if not has_managed_identity(props):
        return ["identity.type is unset or None; attach a SystemAssigned or UserAssigned identity"]
    return []


@rule(
    "CS-05",
    "cs-05-ai-account-customer-managed-key",
    title="AI account encrypted with a customer-managed key (prod)",
    description=(
        "Production Azure AI / OpenAI accounts must encrypt data with a customer-managed key from Key Vault."
    ),
    severity="medium",
    category="security",
    remediation=(
        "Set `properties.encryption.keySource: Microsoft.KeyVault` with `keyVaultProperties` (keyVaultUri, "
        "keyName, identityClientId for a user-assigned identity)."
    ),
    link=azure_policy("67121cc7-ff39-4ab8-b7e3-95b84dab487d"),
    anchors=("Azure Policy 67121cc7-ff39-4ab8-b7e3-95b84dab487d", "CKV2_AZURE_22"),
    types=(ACCOUNT,),
    config={
        "prodOnly": {
            "type": "boolean",
            "default": True,
            "description": "Require the key only for production resources (see prodEnvironments).",
        },
        "prodEnvironments": cfg.prod_environments(),
    },
)
def cs05(props: Any, ctx: Context) -> list[str] | NotApplicable:
    if ctx.config.get("prodOnly", True) and not is_prod(props, ctx):
        return NotApplicable("not a production resource")
    source = get(props, "properties.encryption.keySource")
    if not eq(source, "Microsoft.KeyVault"):
        return [
            "properties.encryption.keySource is not Microsoft.KeyVault (unset means Microsoft-managed keys)"
        ]
    missing = [
        p
        for p in ("keyVaultUri", "keyName")
        if not present(get(props, f"properties.encryption.keyVaultProperties.{p}"))
    ]
    if missing:
        return [f"properties.encryption.keyVaultProperties is missing {', '.join(missing)}"]
    return []


@rule(
    "CS-06",
    "cs-06-ai-account-outbound-restricted",
    title="AI account outbound access restricted",
    description=(
        "Azure AI / OpenAI accounts must restrict outbound network access to an explicit FQDN list "
        "(data-exfiltration protection)."
    ),
    severity="medium",
    category="security",
    remediation=(
        "Set `properties.restrictOutboundNetworkAccess: true` and list the FQDNs the account may reach in "
        "`properties.allowedFqdnList` (e.g. the team vault): exact hosts, or a wildcard below a domain of one "
        "owner (`*.example.com`), never over a public suffix of the Public Suffix List, whose PRIVATE section "
        "holds providers' multi-tenant domains (`*.blob.core.windows.net`, `*.azurewebsites.net`), nor over an "
        "Azure service domain of Microsoft's private endpoint DNS zone table (`*.vault.azure.net`, `*.azurecr.io`, "
        "`*.azure.net`)."
    ),
    link=checkov("terraform/checks/resource/azure/OpenAICognitiveServicesRestrictOutboundNetwork.py"),
    anchors=("CKV_AZURE_247",),
    types=(ACCOUNT,),
)
def cs06(props: Any, ctx: Context) -> Findings:
    out = Findings()
    with out.check():
        if not is_true(get(props, "properties.restrictOutboundNetworkAccess")):
            out.add("properties.restrictOutboundNetworkAccess is not true (unset means unrestricted)")
    with out.check():
        fqdns = [
            known(f, "properties.allowedFqdnList[]") for f in elements(props, "properties.allowedFqdnList")
        ]
        if not [f for f in fqdns if isinstance(f, str) and f.strip()]:
            out.add("properties.allowedFqdnList is empty; list the FQDNs the account may reach")
        for i, f in enumerate(fqdns):
            if not isinstance(f, str) or "*" not in f:
                continue
            # What the wildcard leaves fixed: `*` and `*.*` fix nothing, `x*.azurewebsites.net` no more than
            # `*.azurewebsites.net` (any tenant may name a host x...).
            fixed = f.strip().lower().rsplit("*", 1)[-1].lstrip(".")
            shared = shared_suffix(fixed) if fixed else None
            if not fixed:
                out.add(f"properties.allowedFqdnList[{i}] is a wildcard that allows every destination")
            elif shared is not None:  # its name comes from the lists, not the resource: quoted as it is
                out.add(f"properties.allowedFqdnList[{i}] is a wildcard over every tenant's hosts under "
                        f"'{shared.name}', {shared.listed_in}; list the exact hosts under it (a storage "
                        "account's, a vault's) or a wildcard below a domain of one owner (*.example.com)")
    return out


@rule(
    "CS-07",
    "cs-07-ai-account-allowed-kind",
    title="AI account kind allowed",
    description="Only the allowed Azure AI account kinds may be created (default: OpenAI, AIServices).",
    severity="low",
    category="hygiene",
    remediation="Use `kind: OpenAI` or `kind: AIServices`, or extend `allowedKinds` in the policy config.",
    link="https://learn.microsoft.com/azure/templates/microsoft.cognitiveservices/accounts",
    anchors=(),
    types=(ACCOUNT,),
    config={"allowedKinds": cfg.string_list("Account kinds that may be created.", ["OpenAI", "AIServices"])},
)
def cs07(props: Any, ctx: Context) -> list[str]:
    kind = get(props, "kind")
    if not one_of(kind, ctx.config["allowedKinds"]):
        return [
            f"kind {shown(kind) if kind is not None else '(unset)'} is not one of "
            f"{', '.join(ctx.config['allowedKinds'])}"
        ]
    return []


_RELEASE_BEFORE_FILTERING = ("Asynchronous_filter", "Deferred")
"""RaiPolicyMode values that stream content before filtering it (SDK RaiPolicyMode: Deferred is the pre-2025-06-01
name of Asynchronous_filter)."""


@rule(
    "CS-08",
    "cs-08-content-filter-canonical-and-complete",
    title="Content filter uses the API's filter names and blocks every harm category",
    description=(
        "Content filters (RAI policies) must name filters exactly as the Cognitive Services API does (Hate, "
        "Selfharm, Indirect Attack, Protected Material Text, ...), block the four harm categories on both "
        "prompt and completion at a severity threshold of Medium or lower, and filter before content is "
        "released (not `Asynchronous_filter` / `Deferred`)."
    ),
    severity="medium",
    category="security",
    remediation=(
        "Spell `properties.contentFilters[].name` as the API lists them (see `contentFilterNames`; the service "
        "returns these names, so any other spelling is a diff on every preview), keep Hate, Sexual, "
        "Violence and Selfharm enabled and blocking for Prompt and Completion at `severityThreshold` Low or "
        "Medium, and set `mode: Default`."
    ),
    link="https://learn.microsoft.com/azure/ai-foundry/openai/concepts/content-filter",
    anchors=("azure-rest-api-specs cognitiveservices 2025-06-01 PutRaiPolicy.json, ListRaiContentFilters.json",),
    types=(RAI_POLICY,),
    config={"contentFilterNames": cfg.content_filter_names()},
)
def cs08(props: Any, ctx: Context) -> Findings:
    names = ctx.config["contentFilterNames"]
    harm = list(names.get("harmCategories", []))
    allowed = {
        "Prompt": set(harm) | set(names.get("prompt", [])),
        "Completion": set(harm) | set(names.get("completion", [])),
    }
    out = Findings()
    with out.check():
        # Found by review: an asynchronous filter releases streamed content before it is judged, so a blocking
        # filter blocks nothing it has already sent (RaiPolicyMode: "Asynchronous_filter", formerly "Deferred").
        mode = get(props, "properties.mode")
        if mode is not None and one_of(mode, _RELEASE_BEFORE_FILTERING):
            out.add(f"properties.mode is {shown(mode)}: content is released before it is filtered; set Default")
    seen: dict[tuple[str, str], Any] = {}
    filters = elements(props, "properties.contentFilters")
    for i, f in enumerate(filters):
        with out.check():
            path = f"properties.contentFilters[{i}]"
            name, source = known(get(f, "name"), f"{path}.name"), known(get(f, "source"), f"{path}.source")
            if not isinstance(name, str):
                out.add(f"{path} has no name")
                continue
            valid = allowed.get(str(source), set(harm))
            if name not in valid:
                squash = name.replace("_", "").replace(" ", "").lower()
                near = next((v for v in sorted(valid) if v.replace(" ", "").lower() == squash), None)
                hint = f" (the API spells it {near!r})" if near else f" (expected one of: {', '.join(sorted(valid))})"
                out.add(f"{path}.name {name!r} is not a filter name the API uses for "
                        f"{shown(source) if source is not None else 'this source'}{hint}")
            seen[(name, str(source))] = (i, f)
    if out.undetermined:
        # A filter's name or source is unknown: which categories are covered cannot be decided.
        return out
    for category in harm:
        for source in ("Prompt", "Completion"):
            with out.check():
                found = seen.get((category, source))
                if found is None:
                    out.add(f"no {category} filter on the {source}; block it at a severity threshold")
                    continue
                i, f = found
                enabled = known(get(f, "enabled"), f"properties.contentFilters[{i}].enabled")
                blocking = known(get(f, "blocking"), f"properties.contentFilters[{i}].blocking")
                if not (is_true(enabled) and is_true(blocking)):
                    out.add(f"the {category} filter on the {source} is not enabled and blocking")
                threshold = known(get(f, "severityThreshold"), f"properties.contentFilters[{i}].severityThreshold")
                if threshold is not None and one_of(threshold, ("High",)):
                    out.add(f"the {category} filter on the {source} blocks only High severity; block Medium too")
    return out


@rule(
    "DEP-01",
    "dep-01-deployment-allowed-model",
    title="Deployment uses an allowed model version",
    description="Model deployments must use an approved model format, name and pinned version.",
    severity="high",
    category="security",
    remediation=(
        "Deploy a model and version listed in `allowedModels` (default: "
        "infra/catalogues/openai_models.yaml), with `properties.model.format: OpenAI` and an explicit "
        "`version`."
    ),
    link=azure_policy("aafe3651-cb78-4f68-9f81-e7e41509110f"),
    anchors=("Azure Policy aafe3651-cb78-4f68-9f81-e7e41509110f",),
    types=(DEPLOYMENT,),
    config={
        "allowedModels": cfg.allowed_models(),
        "allowedModelFormats": cfg.string_list(
            "Model formats (publishers) that may be deployed.", ["OpenAI"]
        ),
    },
)
def dep01(props: Any, ctx: Context) -> Findings:
    out = Findings()
    with out.check():
        fmt = get(props, "properties.model.format")
        if not one_of(fmt, ctx.config["allowedModelFormats"]):
            out.add(
                f"properties.model.format {shown(fmt) if fmt is not None else '(unset)'} is not one of "
                f"{', '.join(ctx.config['allowedModelFormats'])}"
            )
    with out.check():
        name = get(props, "properties.model.name")
        version = get(props, "properties.model.version")
        allowed = {k.lower(): [str(v) for v in vs] for k, vs in ctx.config["allowedModels"].items()}
        if not isinstance(name, str) or name.lower() not in allowed:
            out.add(f"model {shown(name) if name is not None else '(unset)'} is not in the allowed models")
        elif version is None:
            out.add(f"model {shown(name)} has no pinned version; set properties.model.version")
        elif str(version) not in allowed[name.lower()]:
            out.add(
                f"model {shown(name)} version {shown(str(version))} is not allowed "
                f"(allowed: {', '.join(allowed[name.lower()])})"
            )
    return out


@rule(
    "DEP-02",
    "dep-02-deployment-content-filter",
    title="Deployment has an approved content filter",
    description="Model deployments must name an approved content filter (RAI policy).",
    severity="high",
    category="security",
    remediation=(
        "Set `properties.raiPolicyName` to a content filter whose name matches `allowedRaiPolicies` (the "
        "project's filters are `rai-<team>-<env>-<region>-<profile>`)."
    ),
    link=azure_policy("930f48f9-f07e-427c-9494-52603581c6a9"),
    anchors=("Azure Policy 930f48f9-f07e-427c-9494-52603581c6a9", "Azure Policy f3a9c2e0"),
    types=(DEPLOYMENT,),
    config={
        "allowedRaiPolicies": cfg.string_list(
            "Content-filter names (shell patterns) a deployment may use.",
            ["Microsoft.DefaultV2", "Microsoft.Default", "rai-*"],
        )
    },
)
def dep02(props: Any, ctx: Context) -> list[str]:
    name = get(props, "properties.raiPolicyName")
    if not present(name):
        return ["properties.raiPolicyName is unset; name an approved content filter"]
    if not any(fnmatchcase(name.lower(), p.lower()) for p in ctx.config["allowedRaiPolicies"]):
        return [
            f"properties.raiPolicyName {shown(name)} is not an approved content filter "
            f"({', '.join(ctx.config['allowedRaiPolicies'])})"
        ]
    return []


@rule(
    "DEP-03",
    "dep-03-deployment-type-and-capacity",
    title="Deployment type allowed and capacity capped",
    description="Model deployments must use an allowed deployment type and stay within the capacity cap.",
    severity="medium",
    category="cost",
    remediation=(
        "Use a deployment type from `allowedDeploymentTypes` in `sku.name`, keep `sku.capacity` at or "
        "below `maxCapacityPerDeployment` and, for a provisioned type, at a size Azure accepts for the model "
        "(`ptuSizes`: the minimum plus whole increments)."
    ),
    link="https://learn.microsoft.com/azure/ai-foundry/openai/how-to/deployment-types",
    anchors=(),
    types=(DEPLOYMENT,),
    config={
        "allowedDeploymentTypes": cfg.allowed_deployment_types(),
        "maxCapacityPerDeployment": cfg.max_capacity(),
        "ptuSizes": cfg.ptu_sizes(),
    },
)
def dep03(props: Any, ctx: Context) -> Findings:
    out = Findings()
    with out.check():
        sku = get(props, "sku.name")
        if not one_of(sku, ctx.config["allowedDeploymentTypes"]):
            out.add(
                f"sku.name {shown(sku) if sku is not None else '(unset)'} is not an allowed deployment type"
            )
    with out.check():
        capacity = get(props, "sku.capacity")
        limit = ctx.config["maxCapacityPerDeployment"]
        if isinstance(capacity, (int, float)) and capacity > limit:
            out.add(f"sku.capacity {shown(capacity)} exceeds the cap of {shown(limit)}")
    with out.check():
        # Azure rejects a provisioned deployment below the model's minimum or off its increment.
        model, sku, capacity = (get(props, k) for k in ("properties.model.name", "sku.name", "sku.capacity"))
        size = ctx.config["ptuSizes"].get(model, {}).get(sku) if isinstance(model, str) and isinstance(sku, str) \
            else None
        if size and isinstance(capacity, (int, float)) and not isinstance(capacity, bool) and (
                capacity < size["minimum"] or (capacity - size["minimum"]) % size["increment"]):
            first = [size["minimum"] + k * size["increment"] for k in range(3)]
            # model and sku are keys of the catalogued sizes: quoted as they are.
            out.add(f"sku.capacity {shown(capacity)} is not a size Azure accepts for {model} as {sku}: "
                    f"at least {size['minimum']} PTUs, in steps of {size['increment']} "
                    f"({', '.join(map(str, first))}…)")
    return out


UPGRADE_DEFAULT = "OnceNewDefaultVersionAvailable"
"""What Azure does when ``versionUpgradeOption`` is unset."""


def _environment(props: Any, ctx: Context) -> str | None:
    """``prod`` for any production resource, else its environment tag or the stack's environment."""
    if is_prod(props, ctx):
        return "prod"
    env = tagged_environment(props) or ctx.stack_environment
    return env.lower() if isinstance(env, str) else None


@rule(
    "DEP-04",
    "dep-04-deployment-version-upgrade-per-environment",
    title="Deployment version upgrades follow the environment (prod pins its version)",
    description=(
        "A model deployment's versionUpgradeOption must be one the environment allows: production never "
        "upgrades automatically; dev may follow new default versions."
    ),
    severity="low",
    category="hygiene",
    remediation=(
        "Set `properties.versionUpgradeOption` to an option `allowedUpgradeOptions` lists for the environment "
        "(unset means OnceNewDefaultVersionAvailable); in production use NoAutoUpgrade and upgrade deliberately."
    ),
    link="https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-versions",
    anchors=("Azure OpenAI reference architectures",),
    types=(DEPLOYMENT,),
    config={
        "allowedUpgradeOptions": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Environment -> the versionUpgradeOption values its deployments may use (`prod` "
            "covers every name in prodEnvironments).",
            "default": {
                "prod": ["NoAutoUpgrade"],
                "test": ["OnceCurrentVersionExpired", "NoAutoUpgrade"],
                "dev": ["OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade"],
            },
        },
        "prodEnvironments": cfg.prod_environments(),
    },
)
def dep04(props: Any, ctx: Context) -> list[str] | NotApplicable:
    env = _environment(props, ctx)
    allowed = {k.lower(): v for k, v in ctx.config["allowedUpgradeOptions"].items()}
    if env is None or env not in allowed:
        return NotApplicable(f"no upgrade policy for environment {env or '(unknown)'}")
    option = get(props, "properties.versionUpgradeOption")
    effective = UPGRADE_DEFAULT if option is None else option
    if not one_of(effective, allowed[env]):
        shown_option = shown(option) if option is not None else f"unset ({UPGRADE_DEFAULT})"
        return [f"properties.versionUpgradeOption is {shown_option}; {env} allows {', '.join(allowed[env])}"]
    return []


def _retirement(props: Any, ctx: Context) -> list[str] | NotApplicable:
    """Shared by DEP-05 (prod, mandatory) and DEP-06 (dev/test, advisory)."""
    name = get(props, "properties.model.name")
    version = get(props, "properties.model.version")
    sku = get(props, "sku.name")
    entry = (ctx.config["openaiLifecycle"].get(str(name)) or {}).get(str(version))
    if entry is None:
        return NotApplicable(f"{name} {version} is not in the model lifecycle catalogue (DEP-01 judges it)")
    dates = entry.get("retirement") or {}
    exact = dates.get(str(sku)) or dates.get("default")
    when_text = exact or entry.get("retirementNotBefore")
    if not when_text:
        return []
    when = date.fromisoformat(when_text)
    today = date.fromisoformat(ctx.config["evaluationDate"]) if ctx.config.get("evaluationDate") else date.today()
    window = int(ctx.config["retirementWindowDays"])
    days = (when - today).days
    if days > window:
        return []
    instead = f"; Microsoft suggests {entry['replacement']}" if entry.get("replacement") else ""
    if exact is None:
        return [f"{name} {version} may retire from {when_text} (no earlier than; in {days} days, within the "
                f"{window}-day window): plan the move to a newer version{instead}"]
    if days <= 0:
        return [f"{name} {version} retired on {when_text} ({sku}): the deployment returns errors; move to a "
                f"current version now{instead}"]
    return [f"{name} {version} retires on {when_text} ({sku}), in {days} days (window {window} days): move to a "
            f"newer version before then{instead}"]


_RETIREMENT_CONFIG = {
    "retirementWindowDays": {
        "type": "integer",
        "minimum": 0,
        "description": "Flag a deployment whose model version retires within this many days.",
        "default": 90,
    },
    "evaluationDate": {
        "type": "string",
        "description": "The date (YYYY-MM-DD) to judge retirement against. Default: empty, the day the pack runs.",
        "default": "",
    },
    "openaiLifecycle": cfg.openai_lifecycle(),
    "prodEnvironments": cfg.prod_environments(),
}


@rule(
    "DEP-05",
    "dep-05-deployment-retirement-horizon-prod",
    title="Production deployment's model is not about to retire",
    description=(
        "A production model deployment must not use a model version that retires within the window "
        "(default 90 days), or has retired: Azure then rejects it and existing deployments return errors."
    ),
    severity="high",
    category="hygiene",
    level="mandatory",
    remediation=(
        "Move the deployment to a version that stays available past the window (`ai-serving models --region R`). "
        "A waiver may postpone it, but never past the retirement date."
    ),
    link="https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements",
    anchors=("Azure/azure-dev#7534", "Azure-Samples/AI-Gateway#253"),
    types=(DEPLOYMENT,),
    config=_RETIREMENT_CONFIG,
)
def dep05(props: Any, ctx: Context) -> list[str] | NotApplicable:
    if not is_prod(props, ctx):
        return NotApplicable("not a production resource (DEP-06 advises)")
    return _retirement(props, ctx)


@rule(
    "DEP-06",
    "dep-06-deployment-retirement-horizon",
    title="Dev/test deployment's model is not about to retire (advisory)",
    description=(
        "A non-production model deployment whose model version retires within the window (default 90 days) "
        "is flagged, so the migration is tried in dev before prod has to make it."
    ),
    severity="medium",
    category="hygiene",
    remediation="Move the deployment to a version that stays available past the window (`ai-serving models`).",
    link="https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements",
    anchors=("Azure/azure-dev#7534", "Azure-Samples/AI-Gateway#253"),
    types=(DEPLOYMENT,),
    config=_RETIREMENT_CONFIG,
)
def dep06(props: Any, ctx: Context) -> list[str] | NotApplicable:
    if is_prod(props, ctx):
        return NotApplicable("a production resource (DEP-05 judges it)")
    return _retirement(props, ctx)


RULES = (cs01, cs02, cs03, cs04, cs05, cs06, cs07, cs08, dep01, dep02, dep03, dep04, dep05, dep06)

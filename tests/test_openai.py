"""Azure OpenAI service (issue 4): a private, Entra-ID-only account, content filters, serialized deployments.

Every case plans a whole stack through the real program under mocks; the facts asserted are the
ones the issue names: account properties, DNS zones per kind, the deployment chain, the private
endpoint ordering, role assignments, the endpoint secret and the absence of key material.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from ai_serving.engine.mocks import AzureMocks
from ai_serving.engine.runner import ProgramRun, Registration
from ai_serving.reports.planfile import plan_document
from infra.catalogues import content_filter_profiles
from infra.components.roles import BUILTIN_ROLES
from infra.config import PROFILES, ConfigError, raw_from_config_map, validate
from infra.naming import Naming

from .stackdata import base_config

ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
RAI_POLICY = "azure-native:cognitiveservices:RaiPolicy"
SERVICE = "ai-serving:openai:OpenAIService"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockByScope"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
KEY = "azure-native:keyvault:Key"
SECRET = "azure-native:keyvault:Secret"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"

OPENAI_USER = BUILTIN_ROLES["Cognitive Services OpenAI User"]
GROUP = "3f2b9c1e-8d4a-4b6f-9e2a-1c5d7e9f0a11"
SERVICE_PRINCIPAL = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"


@pytest.fixture
def plan(plan_stack, monkeypatch):
    """``plan_stack`` that asserts the plan succeeded and records the invokes the program made."""
    invokes: list[str] = []
    real_call = AzureMocks.call

    def call(self, args):
        invokes.append(args.token)
        return real_call(self, args)

    monkeypatch.setattr(AzureMocks, "call", call)

    def run(config: dict) -> ProgramRun:
        result = plan_stack(config)
        assert result.exit_code == 0, result.errors
        result.invokes = invokes  # type: ignore[attr-defined]
        return result

    return run


def maximal_config(kind: str = "AIServices") -> dict:
    """Dev stack that turns everything on: five deployments, CMK, consumers, extra FQDNs."""
    cfg = base_config("dev")
    cfg["ai-serving:openai"] = {
        "kind": kind,
        "deployments": [
            {"name": "chat", "model": "gpt-5.5", "version": "2026-04-24", "sku": "GlobalStandard",
             "capacity": 30, "contentFilter": "strict"},
            {"name": "embeddings-large", "model": "text-embedding-3-large", "version": "1", "sku": "Standard",
             "capacity": 50, "contentFilter": "default"},
            {"name": "ada", "model": "text-embedding-ada-002", "version": "2", "sku": "Standard",
             "capacity": 10, "contentFilter": "strict"},
            {"name": "embeddings", "model": "text-embedding-3-small", "version": "1", "sku": "GlobalStandard",
             "capacity": 120},
            {"name": "ada-global", "model": "text-embedding-ada-002", "version": "2", "sku": "GlobalStandard",
             "capacity": 15, "contentFilter": "strict"},
        ],
        "consumers": [
            {"principalId": GROUP, "principalType": "Group", "description": "app developers"},
            {"principalId": SERVICE_PRINCIPAL, "principalType": "ServicePrincipal"},
        ],
        "allowedFqdns": ["api.example.com", "search.example.net"],
        "customerManagedKey": True,
    }
    return cfg


ZONE_NAMES = {
    "openai": "privatelink.openai.azure.com",
    "cognitiveservices": "privatelink.cognitiveservices.azure.com",
    "aiservices": "privatelink.services.ai.azure.com",
}


def rai_name(cfg: dict, profile: str) -> str:
    return naming(cfg).name("content_filter", profile)


def service(run: ProgramRun) -> Registration:
    return run.one(SERVICE)


def in_service(run: ProgramRun, token: str) -> list[Registration]:
    """Registrations of ``token`` declared by the OpenAI component (directly or under a child)."""
    urn = service(run).urn
    return [r for r in run.descendants_of(urn) if r.type == token]


def deployments_by_name(run: ProgramRun) -> dict[str, Registration]:
    return {d.inputs["deploymentName"]: d for d in run.by_type(DEPLOYMENT)}


def vault_host(run: ProgramRun) -> str:
    return run.outputs["keyVaultUri"].removeprefix("https://").rstrip("/")


def naming(cfg: dict) -> Naming:
    return Naming(cfg["ai-serving:team"], cfg["ai-serving:environment"], cfg["azure-native:location"])


# --- defaults (dev, one deployment) ---------------------------------------------------------


def test_defaults_account_is_private_entra_only_and_outbound_restricted(plan):
    cfg = base_config("dev")
    run = plan(cfg)
    account = run.one(ACCOUNT)
    props = account.inputs["properties"]

    assert account.parent == service(run).urn
    assert account.inputs["kind"] == "OpenAI"
    assert account.inputs["sku"] == {"name": "S0"}
    assert props["customSubDomainName"] == naming(cfg).custom_subdomain()
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "None"}
    assert props["disableLocalAuth"] is True
    assert props["restrictOutboundNetworkAccess"] is True
    assert props["allowedFqdnList"] == [vault_host(run)]
    assert account.inputs["identity"] == {"type": "SystemAssigned"}
    # dev profile: no customer-managed key, no lock, no protect
    assert "encryption" not in props
    assert in_service(run, KEY) == [] and in_service(run, IDENTITY) == []
    assert account.protect is False
    assert in_service(run, LOCK) == []


def test_defaults_deployment_follows_config_and_dev_profile(plan):
    run = plan(base_config("dev"))
    (deployment,) = run.by_type(DEPLOYMENT)
    (policy,) = run.by_type(RAI_POLICY)

    assert deployment.inputs["sku"] == {"name": "GlobalStandard", "capacity": 30}
    assert deployment.inputs["properties"]["model"] == {"format": "OpenAI", "name": "gpt-5.5", "version": "2026-04-24"}
    assert deployment.inputs["properties"]["raiPolicyName"] == policy.inputs["raiPolicyName"]
    assert deployment.inputs["properties"]["versionUpgradeOption"] == PROFILES["dev"].version_upgrade_option
    assert deployment.inputs["accountName"] == run.one(ACCOUNT).inputs["accountName"]
    assert policy.urn in deployment.dependencies


def test_defaults_private_endpoint_dns_diagnostics_and_exports(plan):
    run = plan(base_config("dev"))
    account = run.one(ACCOUNT)
    account_id = run.outputs["openaiAccountId"]
    (endpoint,) = in_service(run, PRIVATE_ENDPOINT)
    (connection,) = endpoint.inputs["privateLinkServiceConnections"]
    (zone_group,) = in_service(run, ZONE_GROUP)
    (diag,) = in_service(run, DIAGNOSTICS)

    assert connection["privateLinkServiceId"] == account_id
    assert connection["groupIds"] == ["account"]
    assert [z["name"] for z in zone_group.inputs["privateDnsZoneConfigs"]] == ["openai", "cognitiveservices"]

    assert diag.inputs["resourceUri"] == account_id
    assert diag.inputs["workspaceId"] == run.outputs["workspaceId"]
    assert {log["category"] for log in diag.inputs["logs"]} == {"Audit", "RequestResponse", "AzureOpenAIRequestUsage"}
    assert all(log["enabled"] for log in diag.inputs["logs"])
    assert diag.inputs["metrics"] == [{"category": "AllMetrics", "enabled": True}]

    assert run.outputs["openaiAccountName"] == account.inputs["accountName"]
    assert run.outputs["openaiEndpoint"] == f"https://{account.inputs['properties']['customSubDomainName']}.openai.azure.com/"
    assert run.outputs["openaiDeployments"] == ["chat"]


def test_defaults_endpoint_url_is_a_vault_secret_with_content_type_and_expiry(plan):
    run = plan(base_config("dev"))
    (secret,) = in_service(run, SECRET)
    props = secret.inputs["properties"]
    expires = datetime.combine(PROFILES["dev"].openai_endpoint_secret_expires, datetime.min.time(), tzinfo=UTC)

    assert secret.inputs["secretName"] == "openai-endpoint"
    assert secret.inputs["vaultName"] == run.outputs["keyVaultName"]
    assert props["value"] == run.outputs["openaiEndpoint"]
    assert props["contentType"] == "text/uri-list"
    assert props["attributes"]["expires"] == expires.timestamp()


def test_defaults_no_key_material_anywhere(plan):
    run = plan(base_config("dev"))
    document = json.dumps(plan_document(run))

    # No key is ever read: the only invoke the program makes is the client config.
    assert set(run.invokes) == {"azure-native:authorization:getClientConfig"}
    assert run.one(ACCOUNT).inputs["properties"]["disableLocalAuth"] is True
    # Azure OpenAI API keys are 32 hex digits; nothing of that shape (or named like one) is in the plan.
    assert re.search(r"(?<![0-9a-f-])[0-9a-f]{32}(?![0-9a-f-])", document) is None
    for name in ("apiKey", "api-key", "key1", "key2", "accessKey"):
        assert name not in document


# --- prod profile -----------------------------------------------------------------------------


def test_prod_account_is_locked_protected_pinned_and_encrypted(plan):
    run = plan(base_config("prod"))
    account = run.one(ACCOUNT)
    (lock,) = in_service(run, LOCK)

    assert account.protect is True
    assert lock.inputs["scope"] == run.outputs["openaiAccountId"]
    assert lock.inputs["level"] == "CanNotDelete"
    assert {d.inputs["properties"]["versionUpgradeOption"] for d in run.by_type(DEPLOYMENT)} == {"NoAutoUpgrade"}
    # CMK is on by default in prod (profile), and the key and its identity are protected too
    assert account.inputs["properties"]["encryption"]["keySource"] == "Microsoft.KeyVault"
    assert all(r.protect for r in in_service(run, KEY) + in_service(run, IDENTITY))


def test_prod_stack_can_opt_out_of_cmk(plan):
    cfg = base_config("prod")
    cfg["ai-serving:openai"]["customerManagedKey"] = False
    run = plan(cfg)

    assert "encryption" not in run.one(ACCOUNT).inputs["properties"]
    assert in_service(run, KEY) == []


# --- maximal ------------------------------------------------------------------------------------


def test_maximal_deployments_are_chained_in_config_order_and_wait_for_their_filter(plan):
    cfg = maximal_config()
    run = plan(cfg)
    by_name = deployments_by_name(run)
    order = [d["name"] for d in cfg["ai-serving:openai"]["deployments"]]
    policies = {p.inputs["raiPolicyName"]: p for p in run.by_type(RAI_POLICY)}
    deployment_urns = {d.urn for d in by_name.values()}

    assert set(by_name) == set(order)
    assert not deployment_urns & set(by_name[order[0]].dependencies)
    for previous, current in zip(order, order[1:], strict=False):
        deps = set(by_name[current].dependencies)
        assert by_name[previous].urn in deps, f"{current} must wait for {previous}"
        # exactly one deployment edge: the chain, never a fan-out that would run two at once
        assert deps & deployment_urns == {by_name[previous].urn}
    for deployment in by_name.values():
        policy = policies[deployment.inputs["properties"]["raiPolicyName"]]
        assert policy.urn in deployment.dependencies
    # Filters are chained too (in order of first use), and the first deployment waits for the
    # last of them: no filter write overlaps a deployment write on the account.
    strict, default = policies[rai_name(cfg, "strict")], policies[rai_name(cfg, "default")]
    assert strict.urn in default.dependencies
    assert default.urn in by_name[order[0]].dependencies


def test_maximal_private_endpoint_waits_for_the_last_deployment(plan):
    cfg = maximal_config()
    run = plan(cfg)
    last = cfg["ai-serving:openai"]["deployments"][-1]["name"]
    (endpoint,) = in_service(run, PRIVATE_ENDPOINT)

    assert deployments_by_name(run)[last].urn in endpoint.dependencies


@pytest.mark.parametrize(
    ("kind", "zones"),
    [("OpenAI", ["openai", "cognitiveservices"]), ("AIServices", ["cognitiveservices", "openai", "aiservices"])],
)
def test_zone_group_covers_the_zones_of_the_kind(plan, kind, zones):
    run = plan(maximal_config(kind))
    (zone_group,) = in_service(run, ZONE_GROUP)
    configs = zone_group.inputs["privateDnsZoneConfigs"]

    assert run.one(ACCOUNT).inputs["kind"] == kind
    assert [z["name"] for z in configs] == zones
    for zone in configs:
        assert zone["privateDnsZoneId"].endswith(f"/privateDnsZones/{ZONE_NAMES[zone['name']]}")


def test_maximal_content_filters_one_policy_per_used_profile(plan):
    run = plan(maximal_config())
    policies = {p.inputs["raiPolicyName"].rsplit("-", 1)[-1]: p for p in run.by_type(RAI_POLICY)}
    catalogue = content_filter_profiles()

    assert set(policies) == {"strict", "default"}
    for profile_name, policy in policies.items():
        profile = catalogue[profile_name]
        filters = policy.inputs["properties"]["contentFilters"]
        harm = {(f["name"], f["source"]): f["severityThreshold"] for f in filters if "severityThreshold" in f}
        assert harm == {(c, s): profile["threshold"] for c in ("Hate", "Sexual", "Violence", "Selfharm")
                        for s in ("Prompt", "Completion")}
        assert all(f["enabled"] and f["blocking"] for f in filters)
        extra = {(f["name"], f["source"]) for f in filters if "severityThreshold" not in f}
        assert extra == {(n, "Prompt") for n in profile["prompt_shields"]} | {
            (n, "Completion") for n in profile["completion_filters"]}
    strict_extra = {f["name"] for f in policies["strict"].inputs["properties"]["contentFilters"]}
    assert {"Jailbreak", "Indirect Attack", "Protected Material Text", "Protected Material Code"} <= strict_extra


def test_maximal_consumers_and_gpu_pool_get_openai_user_on_the_account(plan):
    run = plan(maximal_config())
    account_id = run.outputs["openaiAccountId"]
    grants = [r for r in in_service(run, ROLE_ASSIGNMENT) if r.inputs["scope"] == account_id]
    by_principal = {g.inputs["principalId"]: g for g in grants}

    assert len(grants) == 3
    assert by_principal[GROUP].inputs["principalType"] == "Group"
    assert by_principal[SERVICE_PRINCIPAL].inputs["principalType"] == "ServicePrincipal"
    pool_grant = by_principal[run.outputs["gpuPrincipalId"]]
    assert pool_grant.inputs["principalType"] == "ServicePrincipal"
    assert pool_grant.name.endswith("-gpu-pool")
    for grant in grants:
        assert grant.inputs["roleDefinitionId"].endswith(f"/Microsoft.Authorization/roleDefinitions/{OPENAI_USER}")
        assert grant.inputs["roleDefinitionId"].startswith("/subscriptions/")


def test_no_gpu_pool_no_pool_grant(plan):
    run = plan(base_config("dev", gpu=False))
    grants = [r for r in in_service(run, ROLE_ASSIGNMENT) if r.inputs["scope"] == run.outputs["openaiAccountId"]]
    assert grants == []


def test_maximal_customer_managed_key_is_readable_before_the_account_exists(plan):
    run = plan(maximal_config())
    account = run.one(ACCOUNT)
    (identity,) = in_service(run, IDENTITY)
    (key,) = in_service(run, KEY)
    (grant,) = [r for r in in_service(run, ROLE_ASSIGNMENT) if r.inputs["scope"] != run.outputs["openaiAccountId"]]
    encryption = account.inputs["properties"]["encryption"]

    assert key.inputs["vaultName"] == run.outputs["keyVaultName"]
    assert key.inputs["properties"]["kty"] == "RSA-HSM"
    assert key.inputs["properties"]["keySize"] == 2048
    rotation = key.inputs["properties"]["rotationPolicy"]
    assert rotation["attributes"]["expiryTime"] == PROFILES["dev"].cmk_version_lifetime
    assert {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": PROFILES["dev"].cmk_rotate_after}} in rotation[
        "lifetimeActions"]

    # the user-assigned identity may use the key, and the account waits for that grant
    assert grant.inputs["scope"].endswith(f"/keys/{key.inputs['keyName']}")
    assert grant.inputs["roleDefinitionId"].endswith(BUILTIN_ROLES["Key Vault Crypto Service Encryption User"])
    assert grant.inputs["principalType"] == "ServicePrincipal"
    assert grant.urn in account.dependencies and key.urn in account.dependencies

    assert account.inputs["identity"]["type"] == "SystemAssigned, UserAssigned"
    (uai_id,) = account.inputs["identity"]["userAssignedIdentities"]
    assert uai_id.endswith(f"/userAssignedIdentities/{identity.inputs['resourceName']}")
    assert encryption["keySource"] == "Microsoft.KeyVault"
    assert encryption["keyVaultProperties"]["keyName"] == key.inputs["keyName"]
    assert encryption["keyVaultProperties"]["keyVaultUri"] == run.outputs["keyVaultUri"]
    assert encryption["keyVaultProperties"]["identityClientId"]


def test_maximal_outbound_allowlist_is_the_vault_plus_configured_fqdns(plan):
    run = plan(maximal_config())
    assert run.one(ACCOUNT).inputs["properties"]["allowedFqdnList"] == [
        vault_host(run), "api.example.com", "search.example.net"]
    assert run.outputs["openaiDeployments"] == ["chat", "embeddings-large", "ada", "embeddings", "ada-global"]


def test_no_openai_section_declares_nothing(plan):
    run = plan(base_config("dev", openai=False))
    assert run.by_type(SERVICE) == [] and run.by_type(ACCOUNT) == []
    assert not any(k.startswith("openai") for k in run.outputs)


# --- config errors --------------------------------------------------------------------------


def _validate(cfg: dict):
    wire = {k: v if isinstance(v, str) else json.dumps(v) for k, v in cfg.items()}
    return validate(raw_from_config_map(wire))


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        ({"model": "gpt-5-turbo"}, "ai-serving:openai.deployments[1].model", "unknown model 'gpt-5-turbo'"),
        ({"version": "2023-01-01"}, "ai-serving:openai.deployments[1].version", "unknown version '2023-01-01'"),
        ({"model": "text-embedding-3-small", "version": "1", "sku": "Standard"},
         "ai-serving:openai.deployments[1].sku", "not offered as Standard in swedencentral"),
        ({"model": "o4-mini", "version": "2025-04-16"}, "ai-serving:openai.deployments[1].version",
         "retired on 2026-10-16"),
        ({"sku": "S0"}, "ai-serving:openai.deployments[1].sku", ""),
        ({"contentFilter": "lenient"}, "ai-serving:openai.deployments[1].contentFilter", "unknown content-filter"),
    ],
)
def test_invalid_model_sku_combinations_are_config_errors(change, path, fragment):
    cfg = maximal_config()
    cfg["ai-serving:openai"]["deployments"][1].update(change)
    with pytest.raises(ConfigError) as err:
        _validate(cfg)
    message = str(err.value)
    assert f"{path}: " in message
    assert fragment in message


def test_maximal_config_is_valid():
    assert _validate(maximal_config()).openai.deployments[-1].name == "ada-global"


# --- custom blocklists ---------------------------------------------------------------------

BLOCKLIST = "azure-native:cognitiveservices:RaiBlocklist"
BLOCKLIST_ITEM = "azure-native:cognitiveservices:RaiBlocklistItem"


def test_blocklists_of_used_profiles_are_created_and_serialized_before_the_filters(plan):
    from infra.catalogues import blocklists

    run = plan(maximal_config())  # uses the strict profile, which names classification-markers
    (blocklist,) = run.by_type(BLOCKLIST)
    items = run.by_type(BLOCKLIST_ITEM)
    spec = blocklists()["classification-markers"]
    assert blocklist.inputs["raiBlocklistName"] == "classification-markers"
    assert [i.inputs["properties"] for i in items] == [
        {"pattern": it["pattern"], "isRegex": bool(it.get("is_regex", False))} for it in spec["items"]]
    # One operation on the account at a time (the 409 rule): list -> item -> item -> ... -> filters.
    chain = [blocklist, *items]
    for previous, current in zip(chain, chain[1:], strict=False):
        assert previous.urn in current.dependencies, f"{current.name} must wait for {previous.name}"
    policies = {p.inputs["raiPolicyName"].rsplit("-", 1)[-1]: p for p in run.by_type(RAI_POLICY)}
    first_policy = min(policies.values(), key=lambda p: run.resources.index(p))
    assert chain[-1].urn in first_policy.dependencies
    strict = policies["strict"].inputs["properties"]["customBlocklists"]
    assert {(b["blocklistName"], b["source"], b["blocking"]) for b in strict} == {
        ("classification-markers", "Prompt", True), ("classification-markers", "Completion", True)}
    assert "customBlocklists" not in policies["default"].inputs["properties"]


def test_no_blocklist_when_no_used_profile_names_one(plan):
    cfg = base_config("dev")
    cfg["ai-serving:openai"]["deployments"][0]["contentFilter"] = "default"
    run = plan(cfg)
    assert run.by_type(BLOCKLIST) == [] and run.by_type(BLOCKLIST_ITEM) == []


def test_every_profile_names_only_catalogued_blocklists_and_canonical_filters():
    from infra.catalogues import blocklists, content_filter_names, harm_categories

    # The 2025-06-01 REST examples (PutRaiPolicy.json, ListRaiContentFilters.json) spell them so.
    assert harm_categories() == ["Hate", "Sexual", "Violence", "Selfharm"]
    names = content_filter_names()
    assert set(names["prompt"]) == {"Jailbreak", "Indirect Attack", "Profanity"}
    assert set(names["completion"]) == {"Protected Material Text", "Protected Material Code", "Profanity"}
    for profile in content_filter_profiles().values():
        assert set(profile["prompt_shields"]) <= set(names["prompt"])
        assert set(profile["completion_filters"]) <= set(names["completion"])
        assert set(profile.get("blocklists", [])) <= set(blocklists())


# --- spillover ---------------------------------------------------------------------------------


def spillover_config() -> dict:
    cfg = base_config("dev")
    cfg["azure-native:location"] = "eastus2"  # offers gpt-5.4 as GlobalStandard and GlobalProvisionedManaged
    cfg["ai-serving:openai"]["deployments"] = [
        {"name": "chat-paygo", "model": "gpt-5.4", "version": "2026-03-05", "sku": "GlobalStandard", "capacity": 50},
        {"name": "chat-ptu", "model": "gpt-5.4", "version": "2026-03-05", "sku": "GlobalProvisionedManaged",
         "capacity": 15, "spilloverDeployment": "chat-paygo"},
    ]
    return cfg


def test_a_provisioned_deployment_spills_over_to_its_standard_twin(plan):
    by_name = deployments_by_name(plan(spillover_config()))
    assert by_name["chat-ptu"].inputs["properties"]["spilloverDeploymentName"] == "chat-paygo"
    assert "spilloverDeploymentName" not in by_name["chat-paygo"].inputs["properties"]
    assert by_name["chat-paygo"].urn in by_name["chat-ptu"].dependencies


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({1: {"spilloverDeployment": "nope"}}, "no deployment named 'nope'"),
        ({0: {"sku": "DataZoneStandard"}}, "spills over to a GlobalStandard deployment"),
        ({0: {"model": "text-embedding-3-small", "version": "1"}}, "must serve the same model and version"),
        ({1: {"sku": "GlobalStandard"}}, "only GlobalProvisionedManaged and DataZoneProvisionedManaged"),
    ],
)
def test_spillover_is_validated(change, fragment):
    cfg = spillover_config()
    for i, values in change.items():
        cfg["ai-serving:openai"]["deployments"][i].update(values)
    with pytest.raises(ConfigError) as err:
        _validate(cfg)
    assert fragment in str(err.value)
    assert "spilloverDeployment" in str(err.value)


def test_the_spillover_target_must_be_listed_first():
    cfg = spillover_config()
    cfg["ai-serving:openai"]["deployments"].reverse()
    with pytest.raises(ConfigError) as err:
        _validate(cfg)
    assert "list the spillover deployment first" in str(err.value)

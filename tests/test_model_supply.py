"""Private model supply: prod pools pull their image from a private registry by digest and their weights
from private Blob storage, with the pool identity holding only AcrPull / Storage Blob Data Reader there.

Planned through the real program under mocks; the pack's verdicts through the real CLI (its gRPC pack).
"""

from __future__ import annotations

import base64
import json

import pytest
import yaml
from guardrails import StackResource, lookup

from infra import catalogues
from infra.components.network import EGRESS_ALLOWED
from infra.components.roles import BUILTIN_ROLES
from infra.config import checks, raw_from_config_map, validate
from infra.naming import Naming

from .cli_helpers import ROOT, cli, write_stack
from .stackdata import TEST_IMAGE_BY_DIGEST, base_config, stack_name

VMSS = "azure-native:compute:VirtualMachineScaleSet"
REGISTRY = "azure-native:containerregistry:Registry"
ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
ROLE = "azure-native:authorization:RoleAssignment"
ENDPOINT = "azure-native:network:PrivateEndpoint"
NSG = "azure-native:network:NetworkSecurityGroup"
SECRET = "azure-native:keyvault:Secret"
SHARED_REGISTRY = ("/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-platform/providers/"
                   "Microsoft.ContainerRegistry/registries/crplatformshared")
SHARED_ACCOUNT = ("/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-platform/providers/"
                  "Microsoft.Storage/storageAccounts/stplatformweights")


def boot_text(run) -> str:
    return base64.b64decode(run.one(VMSS).inputs["virtualMachineProfile"]["osProfile"]["customData"]).decode()


def grants(run) -> dict[str, str]:
    """role GUID -> scope of every assignment to the GPU pool identity."""
    ids = {v: k for k, v in BUILTIN_ROLES.items()}
    return {ids[r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]]: r.inputs["scope"]
            for r in run.by_type(ROLE) if r.name.startswith("id-")}


def stack_of(run) -> list[StackResource]:
    """The run's resources as the pack's stack rules see them."""
    return [StackResource(type=r.type, urn=r.urn, name=r.name, props=r.inputs, parent=r.parent,
                          dependencies=tuple(r.dependencies),
                          property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()})
            for r in run.resources if r.custom]


@pytest.fixture
def shared(monkeypatch):
    """The platform shares SHARED_REGISTRY and SHARED_ACCOUNT (infra/catalogues/shared_supply.yaml)."""
    real = catalogues.load

    def load(name: str):
        if name == "shared_supply":
            return {"registries": [SHARED_REGISTRY], "storageAccounts": [SHARED_ACCOUNT]}
        return real(name)

    monkeypatch.setattr(catalogues, "load", load)


@pytest.fixture
def prod(plan_stack):
    run = plan_stack(base_config("prod", openai=False))
    assert run.exit_code == 0, run.errors
    return run


def test_prod_registry_is_premium_private_keyless_and_diagnosed(prod):
    registry = prod.one(REGISTRY)
    assert registry.inputs["sku"] == {"name": "Premium"}
    assert registry.inputs["publicNetworkAccess"] == "Disabled"
    assert registry.inputs["adminUserEnabled"] is False and registry.inputs["anonymousPullEnabled"] is False
    assert registry.inputs["networkRuleSet"] == {"defaultAction": "Deny"}
    assert registry.inputs["zoneRedundancy"] == "Enabled"
    [endpoint] = [e for e in prod.by_type(ENDPOINT) if e.name.startswith("pep-cr")]
    assert endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["registry"]
    name = registry.inputs["registryName"]
    assert any(d.inputs["resourceUri"].endswith(f"/registries/{name}")
               for d in prod.by_type("azure-native:monitor:DiagnosticSetting"))


def test_prod_weights_account_is_private_entra_only_with_soft_delete_and_one_container(prod):
    account = prod.one(ACCOUNT)
    inputs = account.inputs
    assert inputs["kind"] == "StorageV2" and inputs["publicNetworkAccess"] == "Disabled"
    assert inputs["allowSharedKeyAccess"] is False and inputs["allowBlobPublicAccess"] is False
    assert inputs["minimumTlsVersion"] == "TLS1_2"
    service = prod.one(BLOB_SERVICE).inputs
    assert service["deleteRetentionPolicy"] == {"enabled": True, "days": 7}
    assert service["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 7}
    [container] = prod.by_type(CONTAINER)
    assert container.inputs["containerName"] == "qwen-qwen2-5-7b-instruct"
    assert container.inputs["publicAccess"] == "None"
    [endpoint] = [e for e in prod.by_type(ENDPOINT) if e.name.startswith("pep-st")]
    assert endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["blob"]
    uris = [d.inputs["resourceUri"] for d in prod.by_type("azure-native:monitor:DiagnosticSetting")]
    assert any(u.endswith(f"/storageAccounts/{inputs['accountName']}/blobServices/default") for u in uris)


def test_pool_identity_gets_acr_pull_on_the_registry_and_blob_reader_on_its_container_only(prod):
    scopes = grants(prod)
    registry, account = prod.one(REGISTRY).inputs["registryName"], prod.one(ACCOUNT).inputs["accountName"]
    assert scopes["AcrPull"].endswith(f"/registries/{registry}")
    assert scopes["Storage Blob Data Reader"].endswith(
        f"/storageAccounts/{account}/blobServices/default/containers/qwen-qwen2-5-7b-instruct")
    assert set(scopes) == {"Key Vault Secrets User", "AcrPull", "Storage Blob Data Reader"}


def test_prod_boot_pulls_by_digest_from_the_registry_and_downloads_weights_from_blob(prod):
    text = boot_text(prod)
    registry, account = prod.one(REGISTRY).inputs["registryName"], prod.one(ACCOUNT).inputs["accountName"]
    digest = TEST_IMAGE_BY_DIGEST.split("@")[1]
    assert f"{registry}.azurecr.io/vllm/vllm-openai:v0.34.0@{digest}" in text
    assert f"https://{account}.blob.core.windows.net/qwen-qwen2-5-7b-instruct" in text
    assert "--model /models/Qwen/Qwen2.5-7B-Instruct" in text and "HF_HUB_OFFLINE=1" in text
    assert "https://storage.azure.com/" in text
    # Nothing public for the model supply, and no key or SAS anywhere.
    assert "huggingface.co" not in text
    assert "docker.io/" not in text and "registry-1.docker.io" not in text  # (docker.io the apt package is fine)
    assert "sig=" not in text and "AccountKey" not in text
    vmss = prod.one(VMSS)
    for rule in ("VMSS-10", "VMSS-11"):
        verdict = lookup(rule).check(vmss.inputs, environment="prod", resource_type=VMSS, name=vmss.name)
        assert verdict.violations == () and verdict.not_applicable is None, rule
    assert lookup("VMSS-09").check(stack_of(prod), environment="prod").compliant  # a stack rule


def test_dev_keeps_the_hub_and_creates_no_registry_or_weights_account(plan_stack):
    run = plan_stack(base_config("dev", openai=False))
    assert run.exit_code == 0, run.errors
    assert run.by_type(REGISTRY) == [] and run.by_type(ACCOUNT) == []
    assert "vllm/vllm-openai:v0.34.0" in boot_text(run) and "--model Qwen/Qwen2.5-7B-Instruct" in boot_text(run)


def test_shared_registry_and_account_are_used_and_nothing_is_created(plan_stack, shared):
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:gpuPool"].update(registryId=SHARED_REGISTRY,
                                     modelSource={"kind": "blob", "accountId": SHARED_ACCOUNT, "container": "qwen",
                                                  "path": "qwen2.5-7b"})
    run = plan_stack(cfg)
    assert run.exit_code == 0, run.errors
    assert run.by_type(REGISTRY) == [] and run.by_type(ACCOUNT) == []
    scopes = grants(run)
    assert scopes["AcrPull"] == SHARED_REGISTRY
    assert scopes["Storage Blob Data Reader"] == f"{SHARED_ACCOUNT}/blobServices/default/containers/qwen"
    text = boot_text(run)
    assert "crplatformshared.azurecr.io/vllm/vllm-openai:v0.34.0@sha256:" in text
    assert "https://stplatformweights.blob.core.windows.net/qwen?restype=container&comp=list&prefix=qwen2.5-7b/" in text
    # The registry the pool is granted AcrPull on is the stack's registry for the pack.
    assert lookup("VMSS-09").check(stack_of(run), environment="prod").compliant


def test_a_blob_pool_stores_no_hub_token(plan_stack):
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:modelHubToken"] = "hf_PLANTEDtokenForTheSupplyTests0123456789"
    run = plan_stack(cfg)
    assert run.exit_code == 0, run.errors
    assert run.by_type(SECRET) == []
    assert "hf_PLANTED" not in boot_text(run)


def test_prod_gpu_subnet_egress_is_only_what_driver_and_os_updates_need(prod, plan_stack):
    [nsg] = [n for n in prod.by_type(NSG) if n.name.endswith("-gpu")]
    outbound = [r for r in nsg.inputs["securityRules"] if r["direction"] == "Outbound"]
    allows = [(r["destinationAddressPrefix"], r["destinationPortRange"]) for r in outbound if r["access"] == "Allow"]
    assert allows == [(dest, ports) for _, dest, ports, _ in EGRESS_ALLOWED]
    last = max(outbound, key=lambda r: r["priority"])
    assert (last["access"], last["destinationAddressPrefix"], last["destinationPortRange"]) == ("Deny", "*", "*")
    assert all(r["protocol"] == "Tcp" for r in outbound if r["access"] == "Allow")
    dev = plan_stack(base_config("dev", openai=False))
    [dev_nsg] = [n for n in dev.by_type(NSG) if n.name.endswith("-gpu")]
    assert not [r for r in dev_nsg.inputs["securityRules"] if r["direction"] == "Outbound"]


# --- config: one clear message, exit 2 -----------------------------------------------------------

def test_prod_without_a_digest_is_a_config_error_naming_the_key(tmp_path, capsys):
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:gpuPool"]["servingImage"] = "vllm/vllm-openai:v0.34.0"
    write_stack(tmp_path, stack_name(cfg), cfg)
    assert cli("validate", stack_name(cfg), "--stack-dir", tmp_path) == 2
    err = capsys.readouterr().err
    assert "gpuPool.servingImage" in err and "@sha256" in err and "VMSS-10" in err and "Traceback" not in err


def test_hub_source_with_blob_keys_is_a_config_error(tmp_path, capsys):
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"]["modelSource"] = {"kind": "hub", "container": "qwen"}
    write_stack(tmp_path, stack_name(cfg), cfg)
    assert cli("validate", stack_name(cfg), "--stack-dir", tmp_path) == 2
    err = capsys.readouterr().err
    assert "gpuPool.modelSource.container" in err and "kind: blob" in err


# --- the pack, end to end --------------------------------------------------------------------------

def _plan_json(tmp_path, cfg, capsys) -> tuple[int, dict]:
    write_stack(tmp_path / "stacks", stack_name(cfg), cfg)
    capsys.readouterr()
    code = cli("plan", stack_name(cfg), "--stack-dir", tmp_path / "stacks", "--output", "json")
    return code, json.loads(capsys.readouterr().out)


def _failed_rules(doc: dict) -> set[str]:
    return {f["rule"] for f in doc.get("mandatory", [])}


def test_team_a_prod_plans_private_supply_and_passes_the_pack(tmp_path, capsys):
    cfg = yaml.safe_load((ROOT / "stacks" / "Pulumi.team-a-prod.yaml").read_text())["config"]
    code, doc = _plan_json(tmp_path, cfg, capsys)
    assert code == 0, doc
    assert not _failed_rules(doc)


def test_the_pack_fails_a_prod_pool_that_loads_its_weights_from_the_hub(tmp_path, capsys):
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:gpuPool"].update({"modelSource": {"kind": "hub"}})
    code, doc = _plan_json(tmp_path, cfg, capsys)
    assert code == 1, doc
    assert "VMSS-11" in _failed_rules(doc)


# --- the stack's own supply only: another registry, another team's registry or weights ---------------

ATTACKER_IMAGE = "attackerpublic.azurecr.io/vllm/vllm-openai:v0.34.0@sha256:" + "a" * 64
OTHER_TEAM = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-team-a-prod-sdc/providers/"
OTHER_REGISTRY = OTHER_TEAM + "Microsoft.ContainerRegistry/registries/crteamap3620dc21"
OTHER_ACCOUNT = OTHER_TEAM + "Microsoft.Storage/storageAccounts/stteamapweights975ebae8"
OWN_GROUP = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-team-t-prod-sdc/providers/"
WAIVE_VMSS09 = {"rule": "VMSS-09", "resource": "vmss-team-t-prod-sdc-gpu",
                "reason": "a public image until the registry import is approved", "expires": "2027-01-31"}


def _validate(tmp_path, capsys, cfg) -> tuple[int, str]:
    write_stack(tmp_path, stack_name(cfg), cfg)
    capsys.readouterr()
    code = cli("validate", stack_name(cfg), "--stack-dir", tmp_path)
    return code, capsys.readouterr().err


def _hub_image(image: str = ATTACKER_IMAGE, **more) -> dict:
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:gpuPool"].update(imageSource="hub", servingImage=image, **more)
    return cfg


def test_a_prod_image_from_any_other_registry_is_a_config_error_naming_host_and_expected(tmp_path, capsys):
    # A copy of team-a-prod under another team, its image on a public *.azurecr.io registry.
    cfg = yaml.safe_load((ROOT / "stacks" / "Pulumi.team-a-prod.yaml").read_text())["config"]
    cfg.update({"ai-serving:team": "team-t", "ai-serving:suppressions": []})
    cfg["ai-serving:gpuPool"].update(imageSource="hub", servingImage=ATTACKER_IMAGE)
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2, err
    assert "gpuPool.servingImage" in err and "found 'attackerpublic.azurecr.io'" in err
    assert "expected none: the stack declares no registry" in err and "VMSS-09" in err and "Traceback" not in err
    # Docker Hub is another registry too.
    code, err = _validate(tmp_path, capsys, _hub_image("vllm/vllm-openai:v0.34.0@sha256:" + "a" * 64))
    assert code == 2 and "found 'docker.io'" in err, err


def test_hub_with_the_named_registry_or_a_waiver_is_accepted(tmp_path, capsys):
    own = OWN_GROUP + "Microsoft.ContainerRegistry/registries/crteamtshared"
    code, err = _validate(tmp_path, capsys, _hub_image("crteamtshared.azurecr.io/vllm/vllm-openai:v0.34.0@sha256:"
                                                       + "a" * 64, registryId=own))
    assert code == 0, err  # the image names the registry the pool is granted AcrPull on
    cfg = _hub_image()
    cfg["ai-serving:suppressions"] = [WAIVE_VMSS09]
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 0, err


def test_a_waived_hub_pool_keeps_prod_egress_and_the_pack_still_names_the_host(plan_stack):
    cfg = _hub_image()
    cfg["ai-serving:suppressions"] = [WAIVE_VMSS09]
    run = plan_stack(cfg)
    assert run.exit_code == 0, run.errors
    # The outbound restriction follows the environment, not the image source.
    [nsg] = [n for n in run.by_type(NSG) if n.name.endswith("-gpu")]
    outbound = [r["name"] for r in nsg.inputs["securityRules"] if r["direction"] == "Outbound"]
    assert outbound == [name for name, *_ in EGRESS_ALLOWED] + ["DenyAllOutbound"]
    # The pack fails it (the waiver is what lets it through, visibly), naming the host and what it expected.
    [finding] = lookup("VMSS-09").check(stack_of(run), environment="prod").messages
    assert "'attackerpublic.azurecr.io', which is not the stack's registry (expected none" in finding


@pytest.mark.parametrize(("change", "key"), [
    ({"registryId": OTHER_REGISTRY}, "gpuPool.registryId"),
    ({"modelSource": {"kind": "blob", "accountId": OTHER_ACCOUNT, "container": "qwen-qwen2-5-7b-instruct"}},
     "gpuPool.modelSource.accountId"),
    ({"registryId": SHARED_REGISTRY}, "gpuPool.registryId"),  # not shared unless the platform lists it
])
def test_another_groups_registry_or_account_is_a_config_error_naming_what_is_allowed(tmp_path, capsys, change, key):
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:gpuPool"].update(change)
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2, err
    assert key in err and "own resource group rg-team-t-prod-sdc" in err
    assert "infra/catalogues/shared_supply.yaml: none yet" in err and "Traceback" not in err


def test_the_own_resource_group_and_the_shared_list_are_accepted(tmp_path, capsys, shared):
    for change in ({"registryId": OWN_GROUP + "Microsoft.ContainerRegistry/registries/crteamtother"},
                   {"modelSource": {"kind": "blob", "accountId": OWN_GROUP + "Microsoft.Storage/storageAccounts/stteamt",
                                    "container": "qwen"}},
                   {"registryId": SHARED_REGISTRY.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")
                    .replace("/RESOURCEGROUPS/", "/resourceGroups/").replace("/PROVIDERS/", "/providers/")}):
        cfg = base_config("prod", openai=False)
        cfg["ai-serving:gpuPool"].update(change)
        code, err = _validate(tmp_path, capsys, cfg)
        assert code == 0, (change, err)


def test_a_broken_shared_list_is_one_message_naming_the_file(tmp_path, capsys, monkeypatch):
    real = catalogues.load
    monkeypatch.setattr(catalogues, "load", lambda name: {"registries": "crplatformshared"}
                        if name == "shared_supply" else real(name))
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:gpuPool"]["registryId"] = SHARED_REGISTRY
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2 and "shared_supply.yaml" in err and "registries" in err and "Traceback" not in err, err


# --- the config check and VMSS-09 agree: with `hub` and no registryId the stack has no registry -----------

def test_hub_without_registry_id_refuses_even_the_name_its_own_registry_would_have(tmp_path, capsys):
    # The name the program gives a stack's registry: declared only for imageSource: registry, so with hub
    # the plan has no such registry and VMSS-09 fails the image ("expected none"); validate must say so first.
    cfg = yaml.safe_load((ROOT / "stacks" / "Pulumi.team-a-prod.yaml").read_text())["config"]
    would_be = Naming("team-a", "prod", "swedencentral").container_registry()
    cfg["ai-serving:gpuPool"].update(imageSource="hub",
                                     servingImage=f"{would_be}.azurecr.io/vllm/vllm-openai:v0.34.0@sha256:" + "a" * 64)
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2, err
    assert "gpuPool.servingImage" in err and f"found '{would_be}.azurecr.io'" in err
    assert "expected none: the stack declares no registry and names none in gpuPool.registryId" in err
    # The pack judges the same pool the same way: waived (so the plan runs), its VMSS-09 finding says it too.
    cfg["ai-serving:suppressions"].append({**WAIVE_VMSS09, "resource": "vmss-team-a-prod-sdc-gpu"})
    code, doc = _plan_json(tmp_path, cfg, capsys)
    [waived] = [w for w in doc["waived"] if w["rule"] == "VMSS-09"]
    assert code == 0 and "(expected none: the stack declares no registry" in waived["message"], doc


# --- a waiver defers the config check only for the scale set it names -------------------------------------

def test_the_config_check_names_the_scale_set_the_program_declares(plan_stack):
    cfg = base_config("prod", openai=False)
    run = plan_stack(cfg)
    engine = {k: v if isinstance(v, str) else json.dumps(v) for k, v in cfg.items()}
    assert run.one(VMSS).name == checks._scale_set(validate(raw_from_config_map(engine)))


@pytest.mark.parametrize("rule", ["VMSS-09", "VMSS-10"])
def test_a_waiver_for_another_stacks_scale_set_is_a_config_error_and_defers_nothing(tmp_path, capsys, rule):
    cfg = _hub_image("vllm/vllm-openai:v0.34.0")  # neither from the stack's registry nor by digest
    cfg["ai-serving:suppressions"] = [{**WAIVE_VMSS09, "rule": rule, "resource": "vmss-team-a-prod-sdc-gpu"}]
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2, err
    assert (f"suppressions[0].resource: waives {rule} for 'vmss-team-a-prod-sdc-gpu', which this stack does not "
            "have; its scale set is 'vmss-team-t-prod-sdc-gpu'") in err
    # Both image checks stand: the waiver deferred neither.
    assert "expected none: the stack declares no registry" in err and "pulls its image by digest" in err, err


def test_a_pattern_matching_the_scale_set_defers_and_a_stack_without_a_pool_has_none(tmp_path, capsys):
    cfg = _hub_image()
    cfg["ai-serving:suppressions"] = [{**WAIVE_VMSS09, "resource": "vmss-team-t-prod-*"}]
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 0, err  # fnmatch, as the verdict matches it
    cfg["ai-serving:suppressions"] = [{**WAIVE_VMSS09, "resource": "VMSS-team-t-prod-*"}]
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2 and "its scale set is 'vmss-team-t-prod-sdc-gpu'" in err, err  # case-sensitive, as there
    cfg = base_config("prod", gpu=False)
    cfg["ai-serving:suppressions"] = [{**WAIVE_VMSS09, "rule": "VMSS-10"}]
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2 and "suppressions[0].resource: waives VMSS-10" in err and "declares no gpuPool" in err, err


# --- one test of "an id of this kind" for the shared list and the stack's ids ------------------------------

@pytest.mark.parametrize("arm_id", [SHARED_REGISTRY + "/replications/weu", SHARED_REGISTRY.replace(
    "Microsoft.ContainerRegistry/registries", "Microsoft.Storage/storageAccounts"), "x" + SHARED_REGISTRY])
def test_an_id_the_stack_may_not_name_is_not_listable_as_shared_either(tmp_path, capsys, monkeypatch, arm_id):
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:gpuPool"]["registryId"] = OWN_GROUP + "Microsoft.ContainerRegistry/registries/crteamt"
    real = catalogues.load
    monkeypatch.setattr(catalogues, "load", lambda name: {"registries": [arm_id]}
                        if name == "shared_supply" else real(name))
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2 and "shared_supply.yaml" in err and "registries" in err, err
    assert "expected a list of Microsoft.ContainerRegistry/registries resource ids" in err and "Traceback" not in err
    assert not checks.is_resource_of(arm_id, catalogues.SHARED_SUPPLY_KINDS["registries"])


# --- the names in an id: ones Azure allows (Microsoft's "Naming rules and restrictions for Azure resources") ---

SUB_GROUP = "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-x/providers/"
ALL_KINDS = sorted({*catalogues.SHARED_SUPPLY_KINDS.values(), *catalogues.SHARED_NETWORK_KINDS.values()})
VALID_NAMES = {"Microsoft.Network/virtualNetworks": "Vnet-hub_1.b_", "Microsoft.Network/privateDnsZones":
               "privatelink.openai.azure.com", "Microsoft.ContainerRegistry/registries": "CrPlatform01",
               "Microsoft.Storage/storageAccounts": "stplatform01"}


@pytest.mark.parametrize("arm_type", ALL_KINDS)
@pytest.mark.parametrize("name", ["..", ".", "vnet?api-version=1", "vnet%2F..", "vnet#x", "vnet;x", "vnet-\u00e9", "x" * 65])
def test_a_name_azure_refuses_is_no_resource_id(arm_type, name):
    """ARM would read ``..``, ``?``, ``%`` or ``#`` as another path, a query or an anchor, not as the resource."""
    problem = checks.resource_id_problem(f"{SUB_GROUP}{arm_type}/{name}", arm_type)
    assert problem is not None and "whose name Azure allows" in problem and repr(name)[:40] in problem, problem
    assert not checks.is_resource_of(f"{SUB_GROUP}{arm_type}/{name}", arm_type)


@pytest.mark.parametrize("arm_type", ALL_KINDS)
def test_names_azure_allows_pass_in_any_letter_case_and_each_kind_has_its_rule(arm_type):
    assert checks.resource_id_problem(SUB_GROUP + f"{arm_type}/{VALID_NAMES[arm_type]}", arm_type) is None
    assert checks.is_resource_of(SUB_GROUP + f"{arm_type}/{VALID_NAMES[arm_type].upper()}", arm_type)


@pytest.mark.parametrize(("arm_id", "why"), [
    (SUB_GROUP.replace("rg-x", "..") + "Microsoft.Storage/storageAccounts/stplatform01", "whose resource group"),
    (SUB_GROUP.replace("rg-x", "rg-x.") + "Microsoft.Storage/storageAccounts/stplatform01", "whose resource group"),
    (SUB_GROUP.replace("rg-x", "rg%2Fx") + "Microsoft.Storage/storageAccounts/stplatform01", "whose resource group"),
    (SUB_GROUP.replace("99999999-9999-9999-9999-999999999999", "-" * 36) + "Microsoft.Storage/storageAccounts/st1",
     "expected the id of"),
    (SUB_GROUP + "Microsoft.Storage/storageAccounts/ab", "whose name"),  # 3-24
    (SUB_GROUP + "Microsoft.Storage/storageAccounts/st-platform", "whose name"),
    (SUB_GROUP + "Microsoft.ContainerRegistry/registries/cr_platform", "whose name"),
    (SUB_GROUP + "Microsoft.Network/privateDnsZones/localhost", "whose name"),  # two labels at least
    (SUB_GROUP + "Microsoft.Network/privateDnsZones/a..b", "whose name"),
    (SUB_GROUP + "Microsoft.Network/virtualNetworks/v", "whose name"),  # 2-64
    (SUB_GROUP + "Microsoft.Network/virtualNetworks/vnet-", "whose name"),
])
def test_the_group_and_the_subscription_are_checked_too(arm_id, why):
    arm_type = "/".join(arm_id.split("/")[6:8])
    problem = checks.resource_id_problem(arm_id, arm_type)
    assert problem is not None and why in problem, problem


def test_an_odd_name_in_the_own_group_or_the_shared_list_is_one_message(tmp_path, capsys, monkeypatch):
    """A registry "in" the stack's own group passed with ``..`` as its name; so did one listed as shared."""
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:gpuPool"]["registryId"] = OWN_GROUP + "Microsoft.ContainerRegistry/registries/.."
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2 and "Traceback" not in err, err
    assert ("gpuPool.registryId: expected the id of a Microsoft.ContainerRegistry/registries resource whose name "
            "Azure allows (5-50 letters and digits), found name '..'") in " ".join(err.split()), err
    hub = SUB_GROUP + "Microsoft.Network/virtualNetworks/vnet%2F.."
    real = catalogues.load
    monkeypatch.setattr(catalogues, "load", lambda name: {"hubVirtualNetworks": [hub]}
                        if name == "shared_network" else real(name))
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:network"]["hubVnetId"] = SUB_GROUP + "Microsoft.Network/virtualNetworks/vnet-hub"
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2 and "Traceback" not in err, err
    assert "shared_network.yaml" in err and "hubVirtualNetworks" in err and "found name 'vnet%2F..'" in err, err


def test_an_unknown_region_is_the_one_message_for_a_waived_pool(tmp_path, capsys):
    # No region, no scale-set name to match the waiver with: the region is what is wrong, nothing else.
    cfg = yaml.safe_load((ROOT / "stacks" / "Pulumi.team-a-prod.yaml").read_text())["config"]
    cfg["azure-native:location"] = "marsnorth"
    del cfg["ai-serving:openai"]  # its deployments are judged per region too
    code, err = _validate(tmp_path, capsys, cfg)
    assert code == 2 and "(1 problem)" in err and "expected an Azure region name" in err, err
    assert "Traceback" not in err

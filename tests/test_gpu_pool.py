"""GpuInferencePool: a private, self-healing, autoscaled GPU scale set behind an internal load balancer.

Cases: defaults (dev, base config), prod (zones, no spot), maximal (spot, SSH key, registry,
model-hub token, custom port), plus config validation of SKU and model fit.
"""

from __future__ import annotations

import base64
import ipaddress
import math

import pytest

from ai_serving.engine.mocks import SUBSCRIPTION_ID
from ai_serving.wire import SECRET_SIG, SECRET_VALUE_SIG
from infra import catalogues, sizing
from infra.components.autoscale import cpu_thresholds, serving_cpu_ceiling_percent
from infra.components.gpu_pool import unusable_ssh_public_key
from infra.config import ConfigError, validate
from infra.config.profiles import PROFILES
from infra.sizing import max_context_tokens

from .stackdata import SSH_KEY, base_config
from .test_cloud_init import PLANTED_TOKEN

COMPONENT = "ai-serving:gpu_pool:GpuInferencePool"
VMSS = "azure-native:compute:VirtualMachineScaleSet"
LB = "azure-native:network:LoadBalancer"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
SECRET = "azure-native:keyvault:Secret"
AUTOSCALE = "azure-native:monitor:AutoscaleSetting"
NSG = "azure-native:network:NetworkSecurityGroup"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
ROLE_IDS = {"Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
            "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
            "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"}
REGISTRY_ID = ("/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-acr/providers/"
               "Microsoft.ContainerRegistry/registries/acrshared")
TOKEN = "hf_PLANTEDtokenForTheGpuPoolTests0123456789"


def raw(cfg: dict) -> dict:
    """A config mapping as the model sees it (namespace stripped, location renamed)."""
    return {("location" if k == "azure-native:location" else k.split(":", 1)[1]): v for k, v in cfg.items()}


def maximal_config() -> dict:
    cfg = base_config("dev")
    cfg["ai-serving:gpuPool"].update(
        vmSku="Standard_NC48ads_A100_v4", minInstances=2, maxInstances=5, spot=True, port=8080,
        sshPublicKey=SSH_KEY, registryId=REGISTRY_ID,
        servingImage="acrshared.azurecr.io/vllm/vllm-openai:v0.6.3",
    )
    cfg["ai-serving:modelHubToken"] = TOKEN
    return cfg


CASES = {"defaults": lambda: base_config("dev"), "prod": lambda: base_config("prod"), "maximal": maximal_config}


@pytest.fixture(autouse=True)
def _shared_registry(monkeypatch):
    """The platform shares the maximal config's registry (infra/catalogues/shared_supply.yaml), as it must
    for a registry outside the stack's resource group."""
    real = catalogues.load
    monkeypatch.setattr(catalogues, "load", lambda name: {"registries": [REGISTRY_ID], "storageAccounts": []}
                        if name == "shared_supply" else real(name))


@pytest.fixture(params=list(CASES))
def case(request, plan_stack):
    """(case name, config mapping, planned run) for each of the three cases."""
    cfg = CASES[request.param]()
    run = plan_stack(cfg)
    assert run.exit_code == 0, run.errors
    return request.param, cfg, run


def pool_resources(run):
    return list(run.descendants_of(run.one(COMPONENT).urn))


def vm_profile(run) -> dict:
    return run.one(VMSS).inputs["virtualMachineProfile"]


def extensions(run) -> dict[str, dict]:
    return {e["type"]: e for e in vm_profile(run)["extensionProfile"]["extensions"]}


def walk_strings(value, in_secret=False):
    """Every (string, inside-a-secret) in a wire-form value."""
    if isinstance(value, dict):
        secret = in_secret or SECRET_SIG in value
        for v in value.values():
            yield from walk_strings(v, secret)
    elif isinstance(value, list):
        for v in value:
            yield from walk_strings(v, in_secret)
    elif isinstance(value, str):
        yield value, in_secret


# --- every case: the invariants -----------------------------------------------------------------


def test_scale_set_is_flexible_and_sized_from_config(case):
    _, cfg, run = case
    pool = cfg["ai-serving:gpuPool"]
    vmss = run.one(VMSS)
    assert vmss.inputs["orchestrationMode"] == "Flexible"
    assert vmss.inputs["platformFaultDomainCount"] == 1
    assert vmss.inputs["sku"] == {"name": pool["vmSku"], "tier": "Standard", "capacity": pool["minInstances"]}
    # The autoscale setting owns the instance count after creation: a deployment never resets it.
    assert vmss.options["ignoreChanges"] == ["sku.capacity"]
    assert vmss.parent == run.one(COMPONENT).urn


def test_no_public_ip_anywhere_in_the_pool(case):
    _, _, run = case
    assert not [r for r in pool_resources(run) if r.type == PUBLIC_IP]
    for nic in vm_profile(run)["networkProfile"]["networkInterfaceConfigurations"]:
        for ip in nic["ipConfigurations"]:
            assert "publicIPAddressConfiguration" not in ip
    [frontend] = run.one(LB).inputs["frontendIPConfigurations"]
    assert "publicIPAddress" not in frontend and "publicIPPrefix" not in frontend


def test_password_login_is_impossible(case):
    _, _, run = case
    os_profile = vm_profile(run)["osProfile"]
    assert os_profile["linuxConfiguration"]["disablePasswordAuthentication"] is True
    assert "adminPassword" not in os_profile
    assert os_profile["adminUsername"] == "azureuser"


def test_driver_extension_is_never_combined_with_trusted_launch_or_secure_boot(case):
    """azure-facts gotcha 7: NvidiaGpuDriverLinux fails or hangs under Secure Boot / Trusted Launch."""
    _, _, run = case
    profile = vm_profile(run)
    security = profile["securityProfile"]
    assert security["encryptionAtHost"] is True
    # Pinned, not left unset: Azure may default an unset securityType to Trusted Launch + Secure Boot.
    assert security["securityType"] == "Standard"
    assert security.get("uefiSettings", {}).get("secureBootEnabled") is not True



def test_os_image_is_the_one_both_support_tables_list_with_the_driver_extension(case):
    """Ubuntu 22.04 Gen2: in automatic OS upgrades' supported images and the extension's GRID row."""
    _, _, run = case
    assert vm_profile(run)["storageProfile"]["imageReference"] == {
        "publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2",
        "version": "latest"}
    driver = extensions(run)["NvidiaGpuDriverLinux"]
    assert driver["publisher"] == "Microsoft.HpcCompute" and driver["typeHandlerVersion"] == "1.6"


def test_os_disk_is_premium_and_sized_for_images_and_weights(case):
    name, _, run = case
    disk = vm_profile(run)["storageProfile"]["osDisk"]
    assert disk["managedDisk"]["storageAccountType"] == "Premium_LRS"
    assert disk["diskSizeGB"] == PROFILES["prod" if name == "prod" else "dev"].gpu_os_disk_size_gb == 256
    assert disk["deleteOption"] == "Delete"
    image = vm_profile(run)["storageProfile"]["imageReference"]
    assert image["version"] == "latest"  # automatic OS upgrades follow it


def test_identity_is_user_assigned_and_reads_the_team_vault(case):
    _, _, run = case
    [identity] = [r for r in pool_resources(run) if r.type == IDENTITY]
    assert identity.inputs["resourceName"] == identity.name == f"id-team-t-{run.stack.split('-')[-1]}-sdc-gpu"
    vmss = run.one(VMSS)
    assert vmss.inputs["identity"]["type"] == "UserAssigned"
    [uid] = vmss.inputs["identity"]["userAssignedIdentities"]
    assert uid.endswith(f"/userAssignedIdentities/{identity.name}")
    grants = [r for r in pool_resources(run) if r.type == ROLE and r.inputs["roleDefinitionId"].endswith(
        ROLE_IDS["Key Vault Secrets User"])]
    [grant] = grants
    assert grant.inputs["scope"].endswith(f"/vaults/{run.outputs['keyVaultName']}")
    assert grant.inputs["principalId"] == run.outputs["gpuPrincipalId"]
    assert grant.inputs["principalType"] == "ServicePrincipal"
    assert grant.inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/"
        f"{ROLE_IDS['Key Vault Secrets User']}")
    # The instances boot only once the identity may read the vault.
    assert grant.urn in vmss.dependencies


def test_health_repairs_and_rolling_upgrades_come_from_the_profile(case):
    name, cfg, run = case
    profile = PROFILES["prod" if name == "prod" else "dev"]
    port = cfg["ai-serving:gpuPool"].get("port", 8000)
    vmss = run.one(VMSS).inputs
    health = extensions(run)["ApplicationHealthLinux"]
    assert health["publisher"] == "Microsoft.ManagedServices"
    assert health["settings"]["protocol"] == "http"
    assert health["settings"]["port"] == port and health["settings"]["requestPath"] == "/health"
    assert vmss["automaticRepairsPolicy"] == {"enabled": True, "gracePeriod": profile.gpu_repair_grace_period,
                                              "repairAction": "Replace"}
    assert profile.gpu_repair_grace_period == "PT45M"  # long enough for an image pull and a model load
    # Binary Health (1.0) has no gracePeriod setting; the repairs policy's grace period waits instead.
    assert set(health["settings"]) == {"protocol", "port", "requestPath", "intervalInSeconds", "numberOfProbes"}
    assert vmss["upgradePolicy"]["mode"] == "Rolling"
    rolling = vmss["upgradePolicy"]["rollingUpgradePolicy"]
    assert rolling["maxBatchInstancePercent"] == profile.rolling_max_batch_percent
    # One bad VM of a 1-2 instance pool must not stop every rolling (and automatic OS) upgrade.
    instances = cfg["ai-serving:gpuPool"]["minInstances"]
    assert rolling["maxUnhealthyInstancePercent"] == max(profile.rolling_max_unhealthy_percent,
                                                         math.ceil(100 / instances))
    assert rolling["maxUnhealthyUpgradedInstancePercent"] == max(
        profile.rolling_max_unhealthy_upgraded_percent, math.ceil(100 / instances))
    assert rolling["maxUnhealthyInstancePercent"] >= 100 / instances
    # Azure does not support MaxSurge with automatic OS upgrades on a Flexible scale set.
    assert vmss["orchestrationMode"] == "Flexible"
    assert vmss["upgradePolicy"]["automaticOSUpgradePolicy"]["enableAutomaticOSUpgrade"] is True
    assert rolling["maxSurge"] is False



@pytest.mark.parametrize(("vm_sku", "model", "disk_gb"), [
    ("Standard_NC24ads_A100_v4", "Qwen/Qwen2.5-7B-Instruct", 256),           # 15 GB of weights: the profile's
    ("Standard_NC96ads_A100_v4", "meta-llama/Llama-3.1-70B-Instruct", 256),  # 141 GB + 100 still fits 256
    ("Standard_ND96isr_H100_v5", "meta-llama/Llama-3.1-405B-Instruct-FP8", 506),  # 406 GB + 100
])
def test_os_disk_holds_the_weights_of_the_model_it_serves(plan_stack, vm_sku, model, disk_gb):
    # The weights land on the OS disk: a 405B model on a 256 GB disk would fail its download forever.
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"].update(vmSku=vm_sku, model=model)
    cfg["ai-serving:modelHubToken"] = PLANTED_TOKEN  # the Llama models are gated
    run = plan_stack(cfg)
    assert run.exit_code == 0, run.errors
    disk = vm_profile(run)["storageProfile"]["osDisk"]["diskSizeGB"]
    known = catalogues.open_models()[model]
    assert disk == disk_gb >= known["parameters_b"] * known["bytes_per_parameter"] + sizing.DISK_RESERVE_GB


def test_the_load_balancers_health_events_go_to_the_workspace(case):
    # A pool that stops answering shows up first as load balancer health events (probe failures).
    _, _, run = case
    lb = run.one(LB)
    [diag] = [d for d in run.by_type("azure-native:monitor:DiagnosticSetting")
              if d.inputs["resourceUri"].endswith(f"/loadBalancers/{lb.name}")]
    assert diag.inputs["logs"] == [{"category": "LoadBalancerHealthEvent", "enabled": True}]
    assert "metrics" not in diag.inputs
    assert diag.inputs["workspaceId"] == run.outputs["workspaceId"]

def test_internal_load_balancer_fronts_the_pool(case):
    _, cfg, run = case
    port = cfg["ai-serving:gpuPool"].get("port", 8000)
    lb = run.one(LB)
    assert lb.name == lb.inputs["loadBalancerName"] == f"lbi-team-t-{run.stack.split('-')[-1]}-sdc-gpu"
    assert lb.inputs["sku"] == {"name": "Standard", "tier": "Regional"}
    [frontend] = lb.inputs["frontendIPConfigurations"]
    gpu_subnet = ipaddress.IPv4Network("10.50.0.0/23")  # first half of the base config's 10.50.0.0/22
    assert frontend["subnet"] == {"id": run.outputs["subnetIds"]["gpu"]}
    assert frontend["privateIPAllocationMethod"] == "Static"
    assert frontend["privateIPAddress"] == str(gpu_subnet.broadcast_address - 1) == "10.50.1.254"
    [probe] = lb.inputs["probes"]
    assert (probe["protocol"], probe["port"], probe["requestPath"]) == ("Http", port, "/health")
    [rule] = lb.inputs["loadBalancingRules"]
    assert (rule["protocol"], rule["frontendPort"], rule["backendPort"]) == ("Tcp", port, port)
    lb_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{run.outputs['resourceGroupName']}" \
            f"/providers/Microsoft.Network/loadBalancers/{lb.name}"
    assert rule["frontendIPConfiguration"]["id"] == f"{lb_id}/frontendIPConfigurations/{frontend['name']}"
    assert rule["probe"]["id"] == f"{lb_id}/probes/{probe['name']}"
    [backend] = lb.inputs["backendAddressPools"]
    assert rule["backendAddressPool"]["id"] == f"{lb_id}/backendAddressPools/{backend['name']}"
    # Every instance NIC joins the backend pool, in the gpu subnet.
    [nic] = vm_profile(run)["networkProfile"]["networkInterfaceConfigurations"]
    [ip] = nic["ipConfigurations"]
    assert ip["loadBalancerBackendAddressPools"] == [{"id": rule["backendAddressPool"]["id"]}]
    assert ip["subnet"] == {"id": run.outputs["subnetIds"]["gpu"]}
    assert lb.urn in run.one(VMSS).dependencies


def test_gpu_subnet_nsg_admits_only_the_serving_port_and_ssh_only_with_a_key(case):
    _, cfg, run = case
    pool = cfg["ai-serving:gpuPool"]
    [nsg] = [n for n in run.by_type(NSG) if n.name.endswith("-gpu")]
    allowed = {(r["sourceAddressPrefix"], r["destinationPortRange"])
               for r in nsg.inputs["securityRules"] if r["access"] == "Allow" and r["direction"] == "Inbound"}
    port = str(pool.get("port", 8000))
    # Serving only from the stack's own address space (the VirtualNetwork tag would include peers).
    expected = {(cfg["ai-serving:network"]["addressSpace"], port), ("AzureLoadBalancer", port)}
    if "sshPublicKey" in pool:
        expected.add(("VirtualNetwork", "22"))
    assert allowed == expected


def test_autoscale_bounds_equal_config_and_scale_in_is_slower(case):
    name, cfg, run = case
    pool = cfg["ai-serving:gpuPool"]
    profile = PROFILES["prod" if name == "prod" else "dev"]
    setting = run.one(AUTOSCALE)
    assert setting.inputs["enabled"] is True
    vmss_id = setting.inputs["targetResourceUri"]
    assert vmss_id.endswith(f"/virtualMachineScaleSets/{run.outputs['gpuScaleSetName']}")
    [autoscale_profile] = setting.inputs["profiles"]
    assert autoscale_profile["capacity"] == {"minimum": str(pool["minInstances"]), "maximum": str(pool["maxInstances"]),
                                             "default": str(pool["minInstances"])}
    out, scale_in = autoscale_profile["rules"]
    sku = catalogues.gpu_skus()[pool["vmSku"]]
    expected_out, expected_in = cpu_thresholds(sku, profile.autoscale_scale_out_load_percent,
                                               profile.autoscale_scale_in_load_percent)
    assert out["metricTrigger"]["metricName"] == scale_in["metricTrigger"]["metricName"] == "Percentage CPU"
    assert out["metricTrigger"]["metricResourceUri"] == vmss_id
    assert (out["metricTrigger"]["operator"], out["metricTrigger"]["threshold"]) == ("GreaterThan", expected_out)
    assert (scale_in["metricTrigger"]["operator"], scale_in["metricTrigger"]["threshold"]) == ("LessThan", expected_in)
    assert out["scaleAction"] == {"direction": "Increase", "type": "ChangeCount", "value": "1",
                                  "cooldown": profile.autoscale_scale_out_cooldown}
    assert scale_in["scaleAction"] == {"direction": "Decrease", "type": "ChangeCount", "value": "1",
                                       "cooldown": profile.autoscale_scale_in_cooldown}
    # Scale-in waits longer for evidence and cools down longer than scale-out.
    assert scale_in["metricTrigger"]["timeWindow"] == "PT30M" and out["metricTrigger"]["timeWindow"] == "PT10M"
    assert scale_in["scaleAction"]["cooldown"] == "PT30M" and out["scaleAction"]["cooldown"] == "PT10M"


def test_exports_describe_the_endpoint(case):
    _, cfg, run = case
    port = cfg["ai-serving:gpuPool"].get("port", 8000)
    assert run.outputs["gpuFrontendIp"] == run.one(LB).inputs["frontendIPConfigurations"][0]["privateIPAddress"]
    assert run.outputs["gpuServingUrl"] == f"http://{run.outputs['gpuFrontendIp']}:{port}/v1"
    assert run.outputs["gpuScaleSetName"] == run.one(VMSS).inputs["vmScaleSetName"]
    # The principal id is computed by Azure; the OpenAI component grants that same principal.
    identity = next(r for r in pool_resources(run) if r.type == IDENTITY)
    [openai_user] = [r for r in run.by_type(ROLE) if r.inputs["principalId"] == run.outputs["gpuPrincipalId"]
                     and r.inputs["roleDefinitionId"].endswith(ROLE_IDS["Cognitive Services OpenAI User"])]
    assert identity.urn in openai_user.dependencies


# --- defaults, prod, maximal --------------------------------------------------------------------


def test_defaults_regular_priority_no_zones_no_registry_no_token(plan_stack):
    run = plan_stack(base_config("dev"))
    vmss = run.one(VMSS).inputs
    assert "zones" not in vmss and "zoneBalance" not in vmss
    assert vm_profile(run)["priority"] == "Regular"
    assert "evictionPolicy" not in vm_profile(run) and "billingProfile" not in vm_profile(run)
    assert not [r for r in pool_resources(run) if r.type == SECRET]
    assert [r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] for r in pool_resources(run) if r.type == ROLE] == [
        ROLE_IDS["Key Vault Secrets User"]]
    assert "zones" not in run.one(LB).inputs["frontendIPConfigurations"][0]


def test_defaults_without_ssh_key_have_no_usable_key_and_no_ssh(plan_stack):
    run = plan_stack(base_config("dev"))
    [key] = vm_profile(run)["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"]
    # Azure insists on a credential: a key whose private half nobody has (see unusable_ssh_public_key).
    assert key["keyData"] == unusable_ssh_public_key("team-t/dev/swedencentral")
    assert key["keyData"].endswith(" no-private-key-exists")
    document = base64.b64decode(vm_profile(run)["osProfile"]["customData"]).decode()
    assert "- mask\n  - --now\n  - ssh.service" in document


def test_unusable_key_is_a_valid_deterministic_ed25519_key():
    key = unusable_ssh_public_key("team-t/dev/swedencentral")
    assert key == unusable_ssh_public_key("team-t/dev/swedencentral")
    assert key != unusable_ssh_public_key("team-t/prod/swedencentral")
    kind, blob, _ = key.split(" ")
    raw_key = base64.b64decode(blob)
    assert kind == "ssh-ed25519" and raw_key[:4] == b"\x00\x00\x00\x0b" and raw_key[4:15] == b"ssh-ed25519"
    assert len(raw_key) == 4 + 11 + 4 + 32


def test_prod_spreads_over_zones_without_spot(plan_stack):
    run = plan_stack(base_config("prod"))
    vmss = run.one(VMSS).inputs
    assert vmss["zones"] == ["1", "2", "3"] and vmss["zoneBalance"] is True
    assert vm_profile(run)["priority"] == "Regular"
    assert run.one(LB).inputs["frontendIPConfigurations"][0]["zones"] == ["1", "2", "3"]


def test_prod_stays_zonal_only_where_the_sku_offers_zones(plan_stack, monkeypatch):
    skus = {name: dict(entry) for name, entry in catalogues.gpu_skus().items()}
    skus["Standard_NC24ads_A100_v4"]["zones"] = False
    monkeypatch.setattr(catalogues, "gpu_skus", lambda: skus)
    run = plan_stack(base_config("prod"))
    assert "zones" not in run.one(VMSS).inputs and "zoneBalance" not in run.one(VMSS).inputs


def test_maximal_spot_key_registry_and_token(plan_stack):
    run = plan_stack(maximal_config())
    assert run.exit_code == 0, run.errors
    profile = vm_profile(run)
    assert profile["priority"] == "Spot"
    assert profile["evictionPolicy"] == "Delete"
    assert profile["billingProfile"] == {"maxPrice": PROFILES["dev"].spot_max_price} == {"maxPrice": -1}
    [key] = profile["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"]
    assert key == {"keyData": SSH_KEY, "path": "/home/azureuser/.ssh/authorized_keys"}
    [acr_pull] = [r for r in pool_resources(run) if r.type == ROLE and r.inputs["roleDefinitionId"].endswith(
        ROLE_IDS["AcrPull"])]
    assert acr_pull.inputs["scope"] == REGISTRY_ID
    assert acr_pull.inputs["principalId"] == run.outputs["gpuPrincipalId"]
    document = base64.b64decode(profile["osProfile"]["customData"]).decode()
    assert "--password-stdin acrshared.azurecr.io" in document
    assert " --tensor-parallel-size 2 \\\n" in document  # NC48ads A100 v4: two GPUs


def test_maximal_token_is_a_vault_secret_and_nowhere_else(plan_stack):
    run = plan_stack(maximal_config())
    [secret] = [r for r in pool_resources(run) if r.type == SECRET]
    assert secret.inputs["secretName"] == "model-hub-token"
    assert secret.inputs["vaultName"] == run.outputs["keyVaultName"]
    props = secret.inputs["properties"]
    assert props["value"] == {SECRET_SIG: SECRET_VALUE_SIG, "value": TOKEN}
    assert props["contentType"]
    assert props["attributes"]["enabled"] is True
    assert props["attributes"]["expires"] == 1830211200  # 2027-12-31T00:00:00Z, the profile's fixed date
    for resource in run.resources:
        for text, in_secret in walk_strings(resource.inputs):
            assert TOKEN not in text or in_secret, resource.urn
    assert TOKEN not in str(run.outputs)
    assert secret.urn in run.one(VMSS).dependencies


def test_without_gpu_pool_nothing_is_declared(plan_stack):
    run = plan_stack(base_config("dev", gpu=False))
    assert run.exit_code == 0, run.errors
    assert not run.by_type(COMPONENT) and not run.by_type(VMSS) and not run.by_type(LB)
    assert not [k for k in run.outputs if k.startswith("gpu")]


# --- configuration checks -----------------------------------------------------------------------


def _errors(cfg: dict) -> str:
    with pytest.raises(ConfigError) as err:
        validate(raw(cfg), stack_name=f"team-t-{cfg['ai-serving:environment']}")
    return str(err.value)


def test_unknown_sku_is_refused_with_the_catalogue():
    cfg = base_config("dev")
    cfg["ai-serving:gpuPool"]["vmSku"] = "Standard_NC6s_v3"
    text = _errors(cfg)
    assert "ai-serving:gpuPool.vmSku: unknown GPU VM size 'Standard_NC6s_v3'" in text
    assert "Standard_NC24ads_A100_v4" in text and "gpu_skus.yaml" in text


def test_model_too_large_for_the_gpus_says_needed_and_available_gb():
    cfg = base_config("dev")
    cfg["ai-serving:gpuPool"]["model"] = "meta-llama/Llama-3.1-70B-Instruct"
    text = _errors(cfg)
    assert "ai-serving:gpuPool.model: meta-llama/Llama-3.1-70B-Instruct needs about 169 GB of GPU memory" in text
    assert "Standard_NC24ads_A100_v4 has 1 x A100-80GB = 80 GB (72 GB usable)" in text


def test_model_whose_heads_do_not_split_over_the_gpus_is_refused():
    cfg = base_config("dev")
    cfg["ai-serving:gpuPool"].update(vmSku="Standard_ND96asr_v4", model="Qwen/Qwen2.5-7B-Instruct")
    text = _errors(cfg)
    assert "ai-serving:gpuPool.model: Qwen/Qwen2.5-7B-Instruct has 28 attention heads" in text
    assert "8 GPUs of Standard_ND96asr_v4" in text


def test_model_that_leaves_no_room_for_a_context_is_refused(monkeypatch):
    models = dict(catalogues.open_models())
    # A hypothetical 9B model whose weights fit a 24 GB A10 but leave under 4096 tokens of KV cache.
    models["example/huge-kv-9b"] = {"parameters_b": 8.5, "bytes_per_parameter": 2, "default_context": 32768,
                                    "attention_heads": 32, "layers": 64, "kv_heads": 32, "head_dim": 128}
    monkeypatch.setattr(catalogues, "open_models", lambda: models)
    cfg = base_config("dev")
    cfg["ai-serving:gpuPool"].update(vmSku="Standard_NV36ads_A10_v5", model="example/huge-kv-9b")
    text = _errors(cfg)
    assert "example/huge-kv-9b fits in Standard_NV36ads_A10_v5 (20 GB needed" in text
    assert "at least 4096 are needed" in text


def test_model_id_must_be_safe_for_a_unit_file():
    cfg = base_config("dev")
    cfg["ai-serving:gpuPool"]["model"] = "meta-llama/Llama 3; reboot"
    assert "ai-serving:gpuPool.model: expected a Hugging Face model id" in _errors(cfg)


def test_spot_is_refused_where_the_profile_forbids_it():
    cfg = base_config("prod")
    cfg["ai-serving:gpuPool"]["spot"] = True
    assert "ai-serving:gpuPool.spot: spot instances are not allowed in prod" in _errors(cfg)


def test_invalid_pool_config_exits_2_and_declares_nothing(plan_stack):
    cfg = base_config("dev")
    cfg["ai-serving:gpuPool"]["model"] = "meta-llama/Llama-3.1-405B-Instruct-FP8"
    run = plan_stack(cfg)
    assert run.exit_code == 2
    assert any("needs about 487 GB" in e for e in run.errors)
    assert not run.by_type(VMSS)


# --- pure helpers -------------------------------------------------------------------------------


def test_context_cap_follows_the_kv_cache_arithmetic():
    llama_8b = catalogues.open_models()["meta-llama/Llama-3.1-8B-Instruct"]
    a10 = catalogues.gpu_skus()["Standard_NV36ads_A10_v5"]
    # 24 GB x 0.9 - 8.03B x 2 bytes x 1.2 = 2.33 GB spare; 128 KiB per token -> 17 774 -> 17 408.
    assert max_context_tokens(llama_8b, a10) == 17408
    assert max_context_tokens(llama_8b, catalogues.gpu_skus()["Standard_NC24ads_A100_v4"]) == 131072
    assert max_context_tokens(llama_8b, catalogues.gpu_skus()["Standard_NC4as_T4_v3"]) == 0


@pytest.mark.parametrize(("vm_sku", "ceiling"), [
    ("Standard_NC4as_T4_v3", 75.0),       # 3 busy of 4 vCPUs
    ("Standard_NC24ads_A100_v4", 12.5),   # 3 of 24
    ("Standard_ND96isr_H100_v5", 10.4),   # 10 of 96
])
def test_cpu_thresholds_are_scaled_to_what_serving_can_use(vm_sku, ceiling):
    sku = catalogues.gpu_skus()[vm_sku]
    assert round(serving_cpu_ceiling_percent(sku), 1) == ceiling
    out, scale_in = cpu_thresholds(sku, 70, 25)
    assert out == round(ceiling * 0.7, 1) and scale_in == round(ceiling * 0.25, 1)
    with pytest.raises(ValueError):
        cpu_thresholds(sku, 25, 70)


def test_health_extension_speaks_binary_health_which_vllm_answers(case):
    """vLLM's /health is 200 with an empty body: only Binary Health States (1.0) reads it as Healthy."""
    _, _, run = case
    health = extensions(run)["ApplicationHealthLinux"]
    assert health["typeHandlerVersion"] == "1.0"


def test_a10_gets_the_grid_driver_the_extension_docs_pin_and_others_the_default():
    from infra import catalogues
    from infra.components.gpu_pool import driver_settings

    for name, sku in catalogues.gpu_skus().items():
        expected = {"driverVersion": "535.161"} if sku["gpu"] == "A10" else {}
        assert driver_settings(sku) == expected, name


def test_a10_pool_passes_the_pinned_driver_version(plan_stack):
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"].update(vmSku="Standard_NV36ads_A10_v5")
    run = plan_stack(cfg)
    assert extensions(run)["NvidiaGpuDriverLinux"]["settings"] == {"driverVersion": "535.161"}


def test_os_image_upgrades_automatically_behind_health_and_the_pack_agrees(case):
    from guardrails import lookup

    _, _, run = case
    vmss = run.one(VMSS)
    policy = vmss.inputs["upgradePolicy"]
    assert policy["mode"] == "Rolling"
    # Rollback would undo every upgrade: it restores the old disk of an instance not healthy within
    # 5 minutes, and a GPU instance takes far longer; batches wait the repair grace period instead.
    assert policy["automaticOSUpgradePolicy"] == {"enableAutomaticOSUpgrade": True,
                                                  "disableAutomaticRollback": True,
                                                  "useRollingUpgradePolicy": True}
    assert policy["rollingUpgradePolicy"]["pauseTimeBetweenBatches"] == "PT45M"
    assert vm_profile(run)["storageProfile"]["imageReference"]["version"] == "latest"
    verdict = lookup("VMSS-08").check(vmss.inputs, environment="prod", resource_type=VMSS, name=vmss.name)
    assert verdict.violations == () and verdict.undetermined == ()

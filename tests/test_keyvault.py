"""TeamKeyVault: RBAC, purge protection, private only, private endpoint, audit logs, prod protection."""

from __future__ import annotations

import pytest

from ai_serving.engine.mocks import TENANT_ID
from infra.config.profiles import PROFILES

from .plancache import planned_gpu_only
from .stackdata import share_networks

VAULT = "azure-native:keyvault:Vault"
COMPONENT = "ai-serving:keyvault:TeamKeyVault"
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ZONE = "azure-native:privatedns:PrivateZone"
DIAG = "azure-native:monitor:DiagnosticSetting"
LOCK = "azure-native:authorization:ManagementLockByScope"
CENTRAL_KV_ZONE = ("/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-dns/providers/"
                   "Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net")


plan = planned_gpu_only


def vault_of(run):
    """The foundation's vault (a service component may declare none of its own)."""
    component = run.one(COMPONENT)
    [vault] = [r for r in run.children_of(component.urn) if r.type == VAULT]
    return vault


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_vault_is_rbac_only_purge_protected_and_private(plan_stack, environment):
    props = vault_of(plan(plan_stack, environment)).inputs["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enablePurgeProtection"] is True
    assert props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == PROFILES[environment].key_vault_soft_delete_days == 90
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert props["tenantId"] == TENANT_ID
    # Customer-managed keys must be HSM-backed, which needs the premium tier.
    assert props["sku"] == {"family": "A", "name": "premium"}


def test_vault_name_and_uri_are_exported(plan_stack):
    run = plan(plan_stack)
    vault = vault_of(run)
    assert run.outputs["keyVaultName"] == vault.inputs["vaultName"]
    assert run.outputs["keyVaultUri"] == f"https://{vault.inputs['vaultName']}.vault.azure.net/"
    assert len(vault.inputs["vaultName"]) <= 24


def test_vault_is_reached_through_a_private_endpoint_registered_in_its_dns_zone(plan_stack):
    run = plan(plan_stack)
    vault = vault_of(run)
    name = vault.inputs["vaultName"]
    endpoint = run.one(ENDPOINT, f"pep-{name}")
    assert endpoint.inputs["subnet"]["id"] == run.outputs["subnetIds"]["private-endpoints"]
    [connection] = endpoint.inputs["privateLinkServiceConnections"]
    assert connection["groupIds"] == ["vault"]
    assert connection["privateLinkServiceId"].endswith(f"/vaults/{name}")
    assert vault.urn in endpoint.dependencies
    group = run.one(ZONE_GROUP, f"pep-{name}-dns")
    kv_zone = "privatelink.vaultcore.azure.net"
    [zone] = [z for z in run.by_type(ZONE) if z.inputs["privateZoneName"] == kv_zone]
    [config] = group.inputs["privateDnsZoneConfigs"]
    assert config["privateDnsZoneId"].endswith(f"/privateDnsZones/{kv_zone}")
    assert zone.urn in group.dependencies


def test_vault_endpoint_uses_the_central_zone_when_one_is_given(plan_stack, monkeypatch):
    share_networks(monkeypatch, zones=[CENTRAL_KV_ZONE])
    run = plan(plan_stack, "prod", privateDnsZoneIds={"keyvault": CENTRAL_KV_ZONE})
    group = run.one(ZONE_GROUP, f"pep-{vault_of(run).inputs['vaultName']}-dns")
    assert [c["privateDnsZoneId"] for c in group.inputs["privateDnsZoneConfigs"]] == [CENTRAL_KV_ZONE]
    assert all(z.inputs["privateZoneName"] != "privatelink.vaultcore.azure.net" for z in run.by_type(ZONE))


def test_vault_audit_logs_go_to_the_workspace(plan_stack):
    run = plan(plan_stack)
    name = vault_of(run).inputs["vaultName"]
    diag = run.one(DIAG, f"diag-{name}")
    assert diag.inputs["resourceUri"].endswith(f"/vaults/{name}")
    assert diag.inputs["workspaceId"] == run.outputs["workspaceId"]
    logged = {log.get("categoryGroup") or log.get("category") for log in diag.inputs["logs"]}
    assert logged & {"audit", "AuditEvent"}
    assert all(log["enabled"] is True for log in diag.inputs["logs"])


def test_dev_vault_is_neither_locked_nor_protected(plan_stack):
    run = plan(plan_stack, "dev")
    vault = vault_of(run)
    assert vault.protect is False
    vault_id_suffix = f"/vaults/{vault.inputs['vaultName']}"
    assert [lock for lock in run.by_type(LOCK) if lock.inputs["scope"].endswith(vault_id_suffix)] == []


def test_prod_vault_is_protected_and_locked_against_deletion(plan_stack):
    run = plan(plan_stack, "prod")
    vault = vault_of(run)
    assert vault.protect is True
    name = vault.inputs["vaultName"]
    lock = run.one(LOCK, f"lock-{name}")
    assert lock.inputs["level"] == "CanNotDelete"
    assert lock.inputs["scope"].endswith(f"/vaults/{name}")
    assert lock.parent == run.one(COMPONENT).urn

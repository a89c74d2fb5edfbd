"""The witness's stand-in azure-native provider, without the engine: its answers and its gRPC surface."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from ai_serving.engine import mocks
from witness.provider import logic
from witness.provider.server import serve, to_dict, to_struct

ROOT = Path(__file__).resolve().parent.parent
VAULT = "azure-native:keyvault:Vault"
VAULT_INPUTS = {"vaultName": "kv-team-a-dev", "resourceGroupName": "rg-team-a-dev", "location": "westeurope",
                "properties": {"enablePurgeProtection": True, "tenantId": mocks.TENANT_ID}}


def test_plugin_version_is_the_pinned_azure_native_sdk() -> None:
    pinned = re.search(r"^pulumi_azure_native==(\S+)$", (ROOT / "requirements.lock").read_text(), re.M)
    assert pinned and logic.plugin_version() == pinned.group(1)


def test_create_returns_an_arm_id_and_what_azure_computes() -> None:
    rid, out = logic.create(VAULT, "vault", VAULT_INPUTS, preview=False)
    assert rid == ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-team-a-dev"
                   "/providers/Microsoft.KeyVault/vaults/kv-team-a-dev")
    assert out["id"] == rid and out["name"] == "kv-team-a-dev"
    assert out["properties"]["vaultUri"] == "https://kv-team-a-dev.vault.azure.net/"
    assert out["properties"]["enablePurgeProtection"] is True  # inputs are echoed


def test_preview_create_leaves_computed_values_unknown_and_inputs_known() -> None:
    rid, out = logic.create(VAULT, "vault", VAULT_INPUTS, preview=True)
    assert rid == ""
    assert out["id"] == logic.UNKNOWN
    assert out["properties"]["vaultUri"] == logic.UNKNOWN
    assert out["properties"]["enablePurgeProtection"] is True
    assert out["vaultName"] == "kv-team-a-dev"


def test_identity_outputs_are_deterministic_per_resource() -> None:
    token = "azure-native:managedidentity:UserAssignedIdentity"
    inputs = {"resourceName": "id-gpu", "resourceGroupName": "rg", "location": "westeurope"}
    first = logic.create(token, "id", inputs, preview=False)[1]
    assert first == logic.create(token, "id", inputs, preview=False)[1]  # a second `up` computes the same
    assert re.fullmatch(r"[0-9a-f-]{36}", first["principalId"])


def test_create_refuses_an_unknown_input() -> None:
    with pytest.raises(ValueError, match="still unknown"):
        logic.create(VAULT, "vault", {**VAULT_INPUTS, "location": logic.UNKNOWN}, preview=False)


def test_diff_of_equal_inputs_is_empty() -> None:
    assert logic.diff(VAULT, VAULT_INPUTS, dict(VAULT_INPUTS)) == {"changed": [], "replaces": []}


def test_diff_reports_an_in_place_change() -> None:
    news = {**VAULT_INPUTS, "properties": {**VAULT_INPUTS["properties"], "enablePurgeProtection": False}}
    assert logic.diff(VAULT, VAULT_INPUTS, news) == {"changed": ["properties"], "replaces": []}


@pytest.mark.parametrize("key", ["vaultName", "resourceGroupName", "location"])
def test_a_change_to_the_arm_path_replaces(key: str) -> None:
    news = {**VAULT_INPUTS, key: "other"}
    assert logic.diff(VAULT, VAULT_INPUTS, news) == {"changed": [key], "replaces": [key]}


def test_diff_counts_added_removed_and_unknown_values_and_honours_ignore_changes() -> None:
    news = {**VAULT_INPUTS, "tags": {"team": logic.UNKNOWN}}
    del news["properties"]
    assert logic.diff(VAULT, VAULT_INPUTS, news)["changed"] == ["properties", "tags"]
    assert logic.diff(VAULT, VAULT_INPUTS, news, ["tags.team", "properties"])["changed"] == []


def test_check_refuses_a_type_with_no_arm_form() -> None:
    _, failures = logic.check("azure-native:web:WebApp", {"name": "x"})
    assert failures and "no ARM type" in failures[0][1]
    assert logic.check(VAULT, VAULT_INPUTS) == (VAULT_INPUTS, [])


def test_invokes() -> None:
    assert logic.invoke("azure-native:authorization:getClientConfig", {})["tenantId"] == mocks.TENANT_ID
    with pytest.raises(LookupError):
        logic.invoke("azure-native:network:getVirtualNetwork", {})


@pytest.fixture
def stub():
    server, port = serve()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        channel.close()
        server.stop(None)


def test_grpc_surface(stub) -> None:
    assert stub.GetPluginInfo(empty_pb2.Empty()).version == logic.plugin_version()
    configured = stub.Configure(provider_pb2.ConfigureRequest())
    assert configured.supportsPreview and not configured.acceptSecrets

    urn = "urn:pulumi:team-a-dev::ai-serving::ai-serving:keyvault:KeyVault$azure-native:keyvault:Vault::vault"
    created = stub.Create(provider_pb2.CreateRequest(urn=urn, properties=to_struct(VAULT_INPUTS)))
    assert created.id.endswith("/vaults/kv-team-a-dev")
    assert to_dict(created.properties)["properties"]["vaultUri"].startswith("https://kv-team-a-dev.")

    same = stub.Diff(provider_pb2.DiffRequest(urn=urn, id=created.id, olds=created.properties,
                                              old_inputs=to_struct(VAULT_INPUTS), news=to_struct(VAULT_INPUTS)))
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE
    moved = stub.Diff(provider_pb2.DiffRequest(urn=urn, id=created.id, olds=created.properties,
                                               old_inputs=to_struct(VAULT_INPUTS),
                                               news=to_struct({**VAULT_INPUTS, "location": "swedencentral"})))
    assert moved.changes == provider_pb2.DiffResponse.DIFF_SOME and list(moved.replaces) == ["location"]

    checked = stub.Check(provider_pb2.CheckRequest(urn=urn, news=to_struct(VAULT_INPUTS)))
    assert to_dict(checked.inputs) == VAULT_INPUTS and not checked.failures

    config = stub.Invoke(provider_pb2.InvokeRequest(tok="azure-native:authorization:getClientConfig"))
    assert to_dict(getattr(config, "return"))["subscriptionId"] == mocks.SUBSCRIPTION_ID
    with pytest.raises(grpc.RpcError) as err:
        stub.Invoke(provider_pb2.InvokeRequest(tok="azure-native:foo:getBar"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_grpc_update_read_delete(stub) -> None:
    urn = "urn:pulumi:s::ai-serving::azure-native:keyvault:Vault::vault"
    created = stub.Create(provider_pb2.CreateRequest(urn=urn, properties=to_struct(VAULT_INPUTS)))
    news = {**VAULT_INPUTS, "tags": {"team": "a"}}
    updated = stub.Update(provider_pb2.UpdateRequest(urn=urn, id=created.id, olds=created.properties,
                                                     news=to_struct(news)))
    out = to_dict(updated.properties)
    assert out["tags"] == {"team": "a"} and out["id"] == created.id  # same resource, new inputs
    previewed = stub.Update(provider_pb2.UpdateRequest(urn=urn, id=created.id, news=to_struct(news), preview=True))
    assert to_dict(previewed.properties)["properties"]["vaultUri"] == logic.UNKNOWN
    read = stub.Read(provider_pb2.ReadRequest(urn=urn, id=created.id, properties=updated.properties,
                                              inputs=to_struct(news)))
    assert read.id == created.id and to_dict(read.properties) == out and to_dict(read.inputs) == news
    assert stub.Delete(provider_pb2.DeleteRequest(urn=urn, id=created.id)) == empty_pb2.Empty()
    preview = stub.Create(provider_pb2.CreateRequest(urn=urn, properties=to_struct(VAULT_INPUTS), preview=True))
    assert preview.id == "" and to_dict(preview.properties)["id"] == logic.UNKNOWN

"""Mock Azure: deterministic ids and the computed outputs the program reads back."""

from __future__ import annotations

import uuid
from typing import Any

import pulumi

from ..arm import ARM_TYPES, physical_name
from ..wire import SECRET_SIG

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
TENANT_ID = "11111111-1111-1111-1111-111111111111"
CLIENT_ID = "22222222-2222-2222-2222-222222222222"
OBJECT_ID = "33333333-3333-3333-3333-333333333333"
_NS = uuid.UUID("5b0c39b5-4a54-4b8a-a7a8-5e9d2b1f8e11")


def arm_id(token: str, name: str, inputs: dict[str, Any]) -> str:
    """A realistic, deterministic ARM id for a mocked resource."""
    short = token.removeprefix("azure-native:")
    phys = physical_name(token, name, inputs)
    sub = f"/subscriptions/{SUBSCRIPTION_ID}"
    entry = ARM_TYPES.get(token)
    if short == "resources:ResourceGroup":
        return f"{sub}/resourceGroups/{phys}"
    scope = inputs.get("scope") or inputs.get("resourceUri")
    rg = inputs.get("resourceGroupName") if isinstance(inputs.get("resourceGroupName"), str) else "rg-mock"
    namespace, segment = ((entry.namespace, entry.segment) if entry
                          else ("Mock." + short.split(":")[0], short.split(":")[-1]))
    if isinstance(scope, str) and short.startswith(("authorization:", "monitor:DiagnosticSetting")):
        return f"{scope}/providers/{namespace}/{segment}/{phys}"
    return f"{sub}/resourceGroups/{rg}/providers/{namespace}/{segment}/{phys}"


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "|".join(parts)))


def computed_outputs(token: str, name: str, inputs: dict[str, Any], rid: str) -> dict[str, Any]:
    """Outputs Azure computes that the program reads back (ids, URIs, principal ids)."""
    short = token.removeprefix("azure-native:")
    phys = physical_name(token, name, inputs)
    out: dict[str, Any] = {"id": rid, "name": phys}
    props = dict(inputs.get("properties") or {})
    if short == "keyvault:Vault":
        props["vaultUri"] = f"https://{phys}.vault.azure.net/"
        out["properties"] = props
    elif short == "keyvault:Key":
        props["keyUri"] = f"https://vault.vault.azure.net/keys/{phys}"
        props["keyUriWithVersion"] = f"https://vault.vault.azure.net/keys/{phys}/0123456789abcdef"
        out["properties"] = props
        # azure-native v3 flattens a key's outputs: keyUri / keyUriWithVersion are top-level.
        out.update(keyUri=props["keyUri"], keyUriWithVersion=props["keyUriWithVersion"])
    elif short == "keyvault:Secret":
        if SECRET_SIG in props:  # a secret value makes the whole object secret
            props = dict(props.get("value") or {})
        props.pop("value", None)  # Azure never returns a secret's value from the management plane
        props["secretUri"] = f"https://vault.vault.azure.net/secrets/{phys}"
        out["properties"] = props
    elif short == "cognitiveservices:Account":
        sub = props.get("customSubDomainName", phys)
        host = "openai.azure.com" if inputs.get("kind") == "OpenAI" else "cognitiveservices.azure.com"
        props["endpoint"] = f"https://{sub}.{host}/"
        out["properties"] = props
    elif short == "managedidentity:UserAssignedIdentity":
        out.update(principalId=_guid(rid, "principal"), clientId=_guid(rid, "client"), tenantId=TENANT_ID)
    elif short == "operationalinsights:Workspace":
        out["customerId"] = _guid(rid, "customer")
    if isinstance(inputs.get("identity"), dict):
        identity = dict(inputs["identity"])
        identity.setdefault("principalId", _guid(rid, "system-principal"))
        identity.setdefault("tenantId", TENANT_ID)
        # Inputs list user-assigned identity ids; Azure returns a map id -> {principalId, clientId}.
        if isinstance(identity.get("userAssignedIdentities"), list):
            identity["userAssignedIdentities"] = {
                uid: {"principalId": _guid(uid, "principal"), "clientId": _guid(uid, "client")}
                for uid in identity["userAssignedIdentities"] if isinstance(uid, str)
            }
        out["identity"] = identity
    return out


class AzureMocks(pulumi.runtime.Mocks):
    """Echo inputs back as outputs, plus deterministic ids and computed values."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}_id", dict(args.inputs)
        rid = arm_id(args.typ, args.name, args.inputs)
        return rid, {**args.inputs, **computed_outputs(args.typ, args.name, args.inputs, rid)}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {"clientId": CLIENT_ID, "objectId": OBJECT_ID, "subscriptionId": SUBSCRIPTION_ID,
                    "tenantId": TENANT_ID}, []
        return {}, []

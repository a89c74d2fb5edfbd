"""Mock Azure: deterministic ids and the computed outputs the program reads back."""

from __future__ import annotations

import uuid
from typing import Any

import pulumi

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
TENANT_ID = "11111111-1111-1111-1111-111111111111"
CLIENT_ID = "22222222-2222-2222-2222-222222222222"
OBJECT_ID = "33333333-3333-3333-3333-333333333333"
_NS = uuid.UUID("5b0c39b5-4a54-4b8a-a7a8-5e9d2b1f8e11")

# azure-native module:Type -> (ARM provider namespace, ARM resource type segment, physical-name input)
ARM_TYPES: dict[str, tuple[str, str, str]] = {
    "resources:ResourceGroup": ("", "resourceGroups", "resourceGroupName"),
    "network:VirtualNetwork": ("Microsoft.Network", "virtualNetworks", "virtualNetworkName"),
    "network:Subnet": ("Microsoft.Network", "subnets", "subnetName"),
    "network:NetworkSecurityGroup": ("Microsoft.Network", "networkSecurityGroups", "networkSecurityGroupName"),
    "network:NatGateway": ("Microsoft.Network", "natGateways", "natGatewayName"),
    "network:PublicIPAddress": ("Microsoft.Network", "publicIPAddresses", "publicIpAddressName"),
    "network:PrivateEndpoint": ("Microsoft.Network", "privateEndpoints", "privateEndpointName"),
    "network:PrivateDnsZoneGroup": ("Microsoft.Network", "privateDnsZoneGroups", "privateDnsZoneGroupName"),
    "network:LoadBalancer": ("Microsoft.Network", "loadBalancers", "loadBalancerName"),
    "network:VirtualNetworkPeering": ("Microsoft.Network", "virtualNetworkPeerings", "virtualNetworkPeeringName"),
    "privatedns:PrivateZone": ("Microsoft.Network", "privateDnsZones", "privateZoneName"),
    "privatedns:VirtualNetworkLink": ("Microsoft.Network", "virtualNetworkLinks", "virtualNetworkLinkName"),
    "keyvault:Vault": ("Microsoft.KeyVault", "vaults", "vaultName"),
    "keyvault:Secret": ("Microsoft.KeyVault", "secrets", "secretName"),
    "keyvault:Key": ("Microsoft.KeyVault", "keys", "keyName"),
    "cognitiveservices:Account": ("Microsoft.CognitiveServices", "accounts", "accountName"),
    "cognitiveservices:Deployment": ("Microsoft.CognitiveServices", "deployments", "deploymentName"),
    "cognitiveservices:RaiPolicy": ("Microsoft.CognitiveServices", "raiPolicies", "raiPolicyName"),
    "compute:VirtualMachineScaleSet": ("Microsoft.Compute", "virtualMachineScaleSets", "vmScaleSetName"),
    "managedidentity:UserAssignedIdentity": ("Microsoft.ManagedIdentity", "userAssignedIdentities", "resourceName"),
    "operationalinsights:Workspace": ("Microsoft.OperationalInsights", "workspaces", "workspaceName"),
    "monitor:DiagnosticSetting": ("Microsoft.Insights", "diagnosticSettings", "name"),
    "monitor:AutoscaleSetting": ("Microsoft.Insights", "autoscalesettings", "autoscaleSettingName"),
    "authorization:RoleAssignment": ("Microsoft.Authorization", "roleAssignments", "roleAssignmentName"),
    "authorization:ManagementLockByScope": ("Microsoft.Authorization", "locks", "lockName"),
    "consumption:Budget": ("Microsoft.Consumption", "budgets", "budgetName"),
    "storage:StorageAccount": ("Microsoft.Storage", "storageAccounts", "accountName"),
    "containerregistry:Registry": ("Microsoft.ContainerRegistry", "registries", "registryName"),
}


def physical_name(token: str, name: str, inputs: dict[str, Any]) -> str:
    """The Azure name a resource would get: its explicit name input, else its Pulumi name."""
    entry = ARM_TYPES.get(token.removeprefix("azure-native:"))
    value = inputs.get(entry[2]) if entry else None
    return value if isinstance(value, str) else name


def arm_id(token: str, name: str, inputs: dict[str, Any]) -> str:
    """A realistic, deterministic ARM id for a mocked resource."""
    short = token.removeprefix("azure-native:")
    phys = physical_name(token, name, inputs)
    sub = f"/subscriptions/{SUBSCRIPTION_ID}"
    if short == "resources:ResourceGroup":
        return f"{sub}/resourceGroups/{phys}"
    scope = inputs.get("scope") or inputs.get("resourceUri")
    rg = inputs.get("resourceGroupName") if isinstance(inputs.get("resourceGroupName"), str) else "rg-mock"
    namespace, segment, _ = ARM_TYPES.get(short, ("Mock." + short.split(":")[0], short.split(":")[-1], ""))
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
        if "4dabf18193072939515e22adb298388d" in props:  # a secret value makes the whole object secret
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

"""The one table of Azure resource types the tooling knows, and the facts derived from it.

Each azure-native type token maps to its ARM provider namespace, its ARM type segment, the input
that holds its Azure (physical) name and, when the architecture diagram draws it as a node of its
own, how. Everything that needs one of these facts reads it here:

- the mock runtime (``engine/mocks.py``) forms realistic ARM ids from it;
- the diagram (``reports/diagram.py``) matches ARM ids to plan resources and labels nodes;
- the cross-team checks (``org/crossteam.py``) compare globally unique names across stacks;
- the policy pack gets a generated copy, ``policies/guardrails/arm_types.json`` (``make generate``),
  because the pack must not import the tooling: the ``policy=True`` rows, and every token, which is the
  list of types GEN-04 allows a stack to declare.

A type missing here still plans: its mock id falls back to ``Mock.<module>/<Type>`` and its name
to the Pulumi name, but stack rules and the diagram cannot resolve references to it.

Leaf module: imports nothing from ai_serving (plan, engine and reports all use it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PACKAGE = "azure-native"


@dataclass(frozen=True)
class Node:
    """How the diagram draws a resource type: node id prefix, first label line, shape.

    Prefixes avoid a leading "o" or "x" (Mermaid reads ``--- o...`` / ``--- x...`` as circle / cross
    edge heads) and the keyword "end".
    """

    prefix: str
    label: str
    shape: str = "box"
    """``box`` or ``db`` (a cylinder, for stores)."""
    standalone: bool = False
    """Drawn on its own (outside the network) when nothing else placed it, e.g. a vault or a registry."""


@dataclass(frozen=True)
class ArmType:
    """One azure-native resource type as ARM knows it."""

    namespace: str
    """ARM provider namespace (``Microsoft.Network``); empty for resource groups."""
    segment: str
    """ARM type segment in an id (``virtualNetworks``)."""
    name_input: str
    """The input that holds the resource's Azure name (``virtualNetworkName``)."""
    node: Node | None = None
    policy: bool = False
    """Exported to the policy pack (its stack rules resolve references to this type)."""
    global_name: tuple[str, ...] | None = None
    """The input path of a name Azure makes globally unique (DNS): two stacks must not share it."""


ARM_TYPES: dict[str, ArmType] = {
    "azure-native:resources:ResourceGroup": ArmType("", "resourceGroups", "resourceGroupName", policy=True),
    "azure-native:network:VirtualNetwork": ArmType("Microsoft.Network", "virtualNetworks", "virtualNetworkName",
                                                   policy=True),
    "azure-native:network:Subnet": ArmType("Microsoft.Network", "subnets", "subnetName"),
    "azure-native:network:NetworkSecurityGroup": ArmType("Microsoft.Network", "networkSecurityGroups",
                                                         "networkSecurityGroupName", policy=True),
    "azure-native:network:NatGateway": ArmType("Microsoft.Network", "natGateways", "natGatewayName",
                                               Node("nat", "NAT gateway", standalone=True)),
    "azure-native:network:PublicIPAddress": ArmType("Microsoft.Network", "publicIPAddresses", "publicIpAddressName"),
    "azure-native:network:PrivateEndpoint": ArmType("Microsoft.Network", "privateEndpoints", "privateEndpointName",
                                                    Node("pe", "Private endpoint"), policy=True),
    "azure-native:network:PrivateDnsZoneGroup": ArmType("Microsoft.Network", "privateDnsZoneGroups",
                                                        "privateDnsZoneGroupName"),
    "azure-native:network:LoadBalancer": ArmType("Microsoft.Network", "loadBalancers", "loadBalancerName",
                                                 Node("lb", "Internal load balancer")),
    "azure-native:network:VirtualNetworkPeering": ArmType("Microsoft.Network", "virtualNetworkPeerings",
                                                          "virtualNetworkPeeringName"),
    "azure-native:privatedns:PrivateZone": ArmType("Microsoft.Network", "privateDnsZones", "privateZoneName",
                                                   Node("zone", "Private DNS zone")),
    "azure-native:privatedns:VirtualNetworkLink": ArmType("Microsoft.Network", "virtualNetworkLinks",
                                                          "virtualNetworkLinkName"),
    "azure-native:keyvault:Vault": ArmType("Microsoft.KeyVault", "vaults", "vaultName",
                                           Node("kv", "Key Vault", "db", standalone=True), policy=True,
                                           global_name=("vaultName",)),
    "azure-native:keyvault:Secret": ArmType("Microsoft.KeyVault", "secrets", "secretName"),
    "azure-native:keyvault:Key": ArmType("Microsoft.KeyVault", "keys", "keyName"),
    "azure-native:cognitiveservices:Account": ArmType("Microsoft.CognitiveServices", "accounts", "accountName",
                                                      Node("acct", "Azure OpenAI account"), policy=True,
                                                      global_name=("properties", "customSubDomainName")),
    "azure-native:cognitiveservices:Deployment": ArmType("Microsoft.CognitiveServices", "deployments",
                                                         "deploymentName", Node("dep", "Deployment")),
    "azure-native:cognitiveservices:RaiPolicy": ArmType("Microsoft.CognitiveServices", "raiPolicies",
                                                        "raiPolicyName"),
    "azure-native:cognitiveservices:RaiBlocklist": ArmType("Microsoft.CognitiveServices", "raiBlocklists",
                                                           "raiBlocklistName"),
    "azure-native:cognitiveservices:RaiBlocklistItem": ArmType("Microsoft.CognitiveServices", "raiBlocklistItems",
                                                               "raiBlocklistItemName"),
    "azure-native:compute:VirtualMachineScaleSet": ArmType("Microsoft.Compute", "virtualMachineScaleSets",
                                                           "vmScaleSetName", Node("vmss", "GPU scale set"),
                                                           policy=True),
    "azure-native:managedidentity:UserAssignedIdentity": ArmType("Microsoft.ManagedIdentity",
                                                                 "userAssignedIdentities", "resourceName"),
    "azure-native:operationalinsights:Workspace": ArmType("Microsoft.OperationalInsights", "workspaces",
                                                          "workspaceName",
                                                          Node("law", "Log Analytics workspace", "db",
                                                               standalone=True), policy=True),
    "azure-native:monitor:DiagnosticSetting": ArmType("Microsoft.Insights", "diagnosticSettings", "name"),
    "azure-native:monitor:AutoscaleSetting": ArmType("Microsoft.Insights", "autoscalesettings",
                                                     "autoscaleSettingName"),
    "azure-native:authorization:RoleAssignment": ArmType("Microsoft.Authorization", "roleAssignments",
                                                         "roleAssignmentName"),
    "azure-native:authorization:ManagementLockByScope": ArmType("Microsoft.Authorization", "locks", "lockName"),
    "azure-native:consumption:Budget": ArmType("Microsoft.Consumption", "budgets", "budgetName"),
    "azure-native:storage:StorageAccount": ArmType("Microsoft.Storage", "storageAccounts", "accountName",
                                                   Node("st", "Storage account", standalone=True), policy=True,
                                                   global_name=("accountName",)),
    "azure-native:storage:BlobServiceProperties": ArmType("Microsoft.Storage", "blobServices", "blobServicesName"),
    "azure-native:storage:BlobContainer": ArmType("Microsoft.Storage", "containers", "containerName"),
    "azure-native:containerregistry:Registry": ArmType("Microsoft.ContainerRegistry", "registries", "registryName",
                                                       Node("acr", "Container registry", standalone=True),
                                                       policy=True, global_name=("registryName",)),
}


def arm_type(token: str) -> ArmType | None:
    """The table entry for an azure-native type token, if the tooling knows the type."""
    return ARM_TYPES.get(token)


def physical_name(token: str, name: str, inputs: dict[str, Any] | None) -> str:
    """The Azure name a resource gets: its explicit name input, else its Pulumi name."""
    entry = ARM_TYPES.get(token)
    value = (inputs or {}).get(entry.name_input) if entry else None
    return value if isinstance(value, str) else name


def declarable() -> list[str]:
    """Every azure-native type the program may declare: the policy pack allows no other (GEN-04)."""
    return sorted(ARM_TYPES)


def policy_table() -> dict[str, list[str]]:
    """The part of the table the policy pack needs, as JSON-ready data (token -> [namespace, segment, name input])."""
    return {token: [t.namespace, t.segment, t.name_input] for token, t in ARM_TYPES.items() if t.policy}

"""Insecure program mutations the pack must fail (issue 15, item 9): the red team's bypasses.

Each row takes a compliant baseline of what the program declares (``tests/fixtures/policy``), or a
resource of a type the program does not declare but a program could, makes it insecure in one way,
and asserts the pack's rule reports it. Rows marked as the red team's exact bypass passed before.
"""

from __future__ import annotations

from typing import Any

import pytest
from guardrails import lookup

from tests.fixtures.policy import fixture, mutate

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers"


def _nsg_rule(**fields: Any) -> dict[str, Any]:
    return {"name": "mgmt", "access": "Allow", "direction": "Inbound", "protocol": "Tcp", "priority": 200.0,
            "destinationPortRange": "22", "destinationAddressPrefix": "*", "sourcePortRange": "*", **fields}


def _nsg_with(*rules: dict[str, Any]) -> dict[str, Any]:
    props = fixture("nsg")["props"]
    props["securityRules"] = props["securityRules"] + list(rules)
    return props


# (row id, rule id, resource type, properties)
MUTATIONS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("ssh-from-two-halves-of-the-internet", "NET-01", "azure-native:network:NetworkSecurityGroup",
     _nsg_with(_nsg_rule(name="a", sourceAddressPrefix="0.0.0.0/1"),
               _nsg_rule(name="b", sourceAddressPrefix="128.0.0.0/1", priority=201.0))),
    ("ssh-from-halves-in-one-rule", "NET-01", "azure-native:network:NetworkSecurityGroup",
     _nsg_with(_nsg_rule(sourceAddressPrefixes=["0.0.0.0/1", "128.0.0.0/1"]))),
    ("rdp-from-a-public-range", "NET-01", "azure-native:network:NetworkSecurityGroup",
     _nsg_with(_nsg_rule(destinationPortRange="3389", sourceAddressPrefix="203.0.113.0/24"))),
    ("ssh-from-one-public-ip", "NET-01", "azure-native:network:SecurityRule",
     {**_nsg_rule(sourceAddressPrefix="198.51.100.7"), "securityRuleName": "ssh"}),
    ("ssh-from-all-of-azure", "NET-01", "azure-native:network:NetworkSecurityGroup",
     _nsg_with(_nsg_rule(sourceAddressPrefix="AzureCloud"))),
    ("ssh-range-from-public-ipv6", "NET-01", "azure-native:network:NetworkSecurityGroup",
     _nsg_with(_nsg_rule(destinationPortRange="20-25", sourceAddressPrefix="2001:db8::/32"))),
    ("vault-deny-with-ip-rule-any", "KV-04", "azure-native:keyvault:Vault",
     mutate(fixture("vault")["props"], {"properties.publicNetworkAccess": "Enabled",
                                        "properties.networkAcls.ipRules": [{"value": "0.0.0.0/0"}]})),
    ("storage-deny-with-ip-rule-any", "ST-03", "azure-native:storage:StorageAccount",
     mutate(fixture("storage-account")["props"], {"publicNetworkAccess": "Enabled",
                                                  "networkRuleSet.ipRules": [{"iPAddressOrRange": "0.0.0.0/0"}]})),
    ("registry-deny-with-ip-rule-half", "ACR-02", "azure-native:containerregistry:Registry",
     mutate(fixture("registry")["props"], {"publicNetworkAccess": "Enabled",
                                           "networkRuleSet.ipRules": [{"iPAddressOrRange": "0.0.0.0/1"}]})),
    # Found by review: each rule narrower than the Internet, together most of it.
    ("vault-deny-with-two-slash-9s", "KV-04", "azure-native:keyvault:Vault",
     mutate(fixture("vault")["props"], {"properties.publicNetworkAccess": "Enabled", "properties.networkAcls.ipRules":
                                        [{"value": "20.0.0.0/9"}, {"value": "52.0.0.0/9"}]})),
    ("storage-deny-with-a-slash-16", "ST-03", "azure-native:storage:StorageAccount",
     mutate(fixture("storage-account")["props"], {"publicNetworkAccess": "Enabled",
                                                  "networkRuleSet.ipRules": [{"iPAddressOrRange": "20.1.0.0/16"}]})),
    ("registry-deny-with-300-single-addresses", "ACR-02", "azure-native:containerregistry:Registry",
     mutate(fixture("registry")["props"], {"publicNetworkAccess": "Enabled", "networkRuleSet.ipRules": [
         {"iPAddressOrRange": f"20.1.{i // 250}.{i % 250}"} for i in range(300)]})),
    ("custom-role-with-every-action", "RBAC-02", "azure-native:authorization:RoleDefinition",
     {"roleName": "team-admin", "scope": f"{SUB}/x", "permissions": [{"actions": ["*"], "notActions": []}],
      "assignableScopes": [f"{SUB}/x"]}),
    ("custom-role-with-every-data-action", "RBAC-02", "azure-native:authorization:RoleDefinition",
     {"roleName": "team-reader", "permissions": [{"actions": ["Microsoft.Resources/*/read"],
                                                  "dataActions": ["*"]}]}),
    ("standalone-vm-with-password", "VMSS-02", "azure-native:compute:VirtualMachine",
     {"vmName": "vm1", "osProfile": {"adminUsername": "azureuser", "adminPassword": "Passw0rd!Passw0rd!",
                                     "linuxConfiguration": {"disablePasswordAuthentication": False}}}),
    ("standalone-vm-password-by-default", "VMSS-02", "azure-native:compute:VirtualMachine",
     {"vmName": "vm1", "osProfile": {"adminUsername": "azureuser", "linuxConfiguration": {}}}),
    ("standalone-vm-inline-public-ip", "VMSS-03", "azure-native:compute:VirtualMachine",
     {"vmName": "vm1", "networkProfile": {"networkInterfaceConfigurations": [
         {"name": "nic", "ipConfigurations": [{"name": "ipc", "publicIPAddressConfiguration": {"name": "pip"}}]}]}}),
    ("standalone-nic-with-public-ip", "VMSS-03", "azure-native:network:NetworkInterface",
     {"networkInterfaceName": "nic1", "ipConfigurations": [
         {"name": "ipc", "publicIPAddress": {"id": f"{SUB}/Microsoft.Network/publicIPAddresses/pip"}}]}),
]


@pytest.mark.parametrize(("row", "rule_id", "resource_type", "props"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_the_pack_fails_the_insecure_mutation(row, rule_id, resource_type, props):
    rule = lookup(rule_id)
    assert rule.applies_to(resource_type), f"{rule_id} does not judge {resource_type}"
    verdict = rule.check(props, environment="prod", resource_type=resource_type, name=row)
    assert verdict.violations, f"{rule_id} passed {row}: {verdict}"


@pytest.mark.parametrize(("rule_id", "resource_type", "props"), [
    ("NET-01", "azure-native:network:NetworkSecurityGroup",
     _nsg_with(_nsg_rule(sourceAddressPrefixes=["10.0.0.0/8", "192.168.10.0/24", "VirtualNetwork"]))),
    ("KV-04", "azure-native:keyvault:Vault",
     mutate(fixture("vault")["props"], {"properties.publicNetworkAccess": "Enabled",
                                        "properties.networkAcls.ipRules": [{"value": "203.0.113.10/32"}]})),
    ("KV-04", "azure-native:keyvault:Vault",
     mutate(fixture("vault")["props"], {"properties.publicNetworkAccess": "Enabled", "properties.networkAcls.ipRules": [
         {"value": "203.0.113.0/25"}, {"value": "203.0.113.128/25"}, {"value": "203.0.113.7"}]})),  # one /24
    ("RBAC-02", "azure-native:authorization:RoleDefinition",
     {"roleName": "locks", "permissions": [{"actions": ["Microsoft.Authorization/locks/read",
                                                        "Microsoft.Authorization/locks/write"]}]}),
    ("VMSS-02", "azure-native:compute:VirtualMachine",
     {"vmName": "vm1", "osProfile": {"linuxConfiguration": {"disablePasswordAuthentication": True}}}),
], ids=["private-sources", "one-office-ip", "one-office-slash-24", "narrow-custom-role", "vm-ssh-keys-only"])
def test_the_narrow_equivalents_pass(rule_id, resource_type, props):
    assert not lookup(rule_id).check(props, environment="prod", resource_type=resource_type, name="x").violations


def _deployment(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"deploymentName": "arm", "resourceGroupName": "rg", "properties": {"mode": "Incremental", "template": {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "resources": list(resources)}}}


PUBLIC_OPENAI = {"type": "Microsoft.CognitiveServices/accounts", "apiVersion": "2024-10-01", "name": "oai-arm",
                 "location": "swedencentral", "kind": "OpenAI", "sku": {"name": "S0"},
                 "properties": {"publicNetworkAccess": "Enabled", "disableLocalAuth": False,
                                "customSubDomainName": "oai-arm"}}

TEMPLATE_MUTATIONS = [
    ("public-openai-in-a-template", "CS-01", _deployment(PUBLIC_OPENAI)),
    ("key-enabled-openai-in-a-template", "CS-02", _deployment(PUBLIC_OPENAI)),
    ("nested-template-openai", "CS-01", _deployment({"type": "Microsoft.Resources/deployments", "name": "inner",
                                                     "properties": {"template": {"resources": [PUBLIC_OPENAI]}}})),
    ("expression-for-public-access", "CS-01", _deployment({**PUBLIC_OPENAI, "properties": {
        "publicNetworkAccess": "[parameters('access')]"}})),
    ("ssh-from-internet-in-a-template", "NET-01", _deployment({
        "type": "Microsoft.Network/networkSecurityGroups", "name": "nsg-arm", "properties": {"securityRules": [
            {"name": "ssh", "properties": {"access": "Allow", "direction": "Inbound", "protocol": "Tcp",
                                           "destinationPortRange": "22", "sourceAddressPrefix": "0.0.0.0/1"}}]}})),
    ("custom-role-in-a-template", "RBAC-02", _deployment({
        "type": "Microsoft.Authorization/roleDefinitions", "name": "r",
        "properties": {"roleName": "god", "permissions": [{"actions": ["*"]}]}})),
    ("public-vault-in-a-template", "KV-04", _deployment({
        "type": "Microsoft.KeyVault/vaults", "name": "kv-arm", "properties": {
            "publicNetworkAccess": "Enabled", "networkAcls": {"defaultAction": "Deny",
                                                              "ipRules": [{"value": "0.0.0.0/0"}]}}})),
]


@pytest.mark.parametrize(("row", "rule_id", "props"), TEMPLATE_MUTATIONS, ids=[m[0] for m in TEMPLATE_MUTATIONS])
def test_resources_inside_an_arm_template_are_judged(row, rule_id, props):
    token = "azure-native:resources:Deployment"
    rule = lookup(rule_id)
    assert rule.applies_to(token)
    verdict = rule.check(props, environment="prod", resource_type=token, name="arm")
    assert verdict.violations, f"{rule_id} passed {row}: {verdict}"
    assert all(v.message.startswith(("template resource ", "the pack cannot see")) for v in verdict.violations)


def test_a_template_without_such_resources_is_not_applicable():
    verdict = lookup("CS-01").check(_deployment(), resource_type="azure-native:resources:Deployment")
    assert verdict.not_applicable and not verdict.violations


@pytest.mark.parametrize(("row", "props"), [
    ("linked-template", {"properties": {"mode": "Incremental", "templateLink": {"uri": "https://example.com/t.json"}}}),
    ("unknown-resource-type", _deployment({"type": "Microsoft.Web/sites", "name": "app",
                                           "properties": {"publicNetworkAccess": "Enabled"}})),
    # Found by review: rules that deny a known-bad value read an expression as some other string and passed.
    ("owner-by-expression", _deployment({
        "type": "Microsoft.Authorization/roleAssignments", "name": "[guid(resourceGroup().id)]", "properties": {
            "roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', "
                                "'8e3af657-a8ff-443c-a75c-2fe8c4bcb635')]", "principalId": "p"}})),
    ("ssh-source-by-parameter", _deployment({
        "type": "Microsoft.Network/networkSecurityGroups", "name": "nsg-arm", "properties": {"securityRules": [
            {"name": "ssh", "properties": {"access": "Allow", "direction": "Inbound", "protocol": "Tcp",
                                           "destinationPortRange": "22", "sourceAddressPrefix": "[parameters('s')]"}}]}})),
    ("admin-user-by-parameter", _deployment({
        "type": "Microsoft.ContainerRegistry/registries", "name": "cr", "sku": {"name": "Premium"},
        "properties": {"adminUserEnabled": "[parameters('a')]"}})),
], ids=["linked-template", "unknown-resource-type", "owner-by-expression", "ssh-source-by-parameter",
        "admin-user-by-parameter"])
def test_what_the_pack_cannot_see_into_fails_closed(row, props):
    from guardrails import all_rules

    token = "azure-native:resources:Deployment"
    strict = [r for r in all_rules() if not r.waivable and r.scope == "resource"]
    assert strict
    for rule in strict:
        verdict = rule.check(props, environment="prod", resource_type=token, name="arm")
        assert verdict.violations and "cannot see" in verdict.violations[0].message, (rule.id, verdict)
    waivable = next(r for r in all_rules() if r.waivable and r.scope == "resource")
    assert not waivable.check(props, environment="prod", resource_type=token, name="arm").violations


def test_an_expression_only_in_a_name_or_an_escaped_bracket_leaves_a_resource_judged():
    from guardrails import templates

    named = {"type": "Microsoft.KeyVault/vaults", "name": "[concat('kv-', uniqueString(resourceGroup().id))]",
             "dependsOn": ["[resourceId('x', 'y')]"], "properties": {"description": "[[not an expression]"},
             # Nearly every template sets these by expression; GEN-02 and GEN-01 judge them (found by review).
             "location": "[resourceGroup().location]", "tags": "[parameters('tags')]"}
    assert list(templates.opaque_parts(_deployment(named))) == []
    assert templates.first_expression({"properties": {"a": [{"b": " [variables('v')] "}]}}) == "properties.a[0].b"
    assert not templates.is_expression("[not closed") and not templates.is_expression(42)


# Found by review: each of these types carried an exposure no rule judged (a secret in an extension's
# settings, a password reset, a public VM, Network Manager rules that override NSGs), so GEN-04 refuses any
# type the platform does not declare.
UNDECLARED_TYPES = [
    "azure-native:compute:VirtualMachineScaleSetExtension",
    "azure-native:compute:VirtualMachineExtension",
    "azure-native:compute:VirtualMachineRunCommandByVirtualMachine",
    "azure-native:compute:VirtualMachine",
    "azure-native:network:AdminRule",
    "azure-native:network:BastionHost",
    "azure-native:network:ApplicationGateway",
    "azure-native:resources:Deployment",
    "azure-native:authorization:PimRoleEligibilitySchedule",
    "command:local:Command",
    "pulumi:providers:command",
    "azure-native:compute/v20240301:VirtualMachineScaleSetExtension",
]


@pytest.mark.parametrize("token", UNDECLARED_TYPES)
def test_a_type_the_platform_does_not_declare_fails(token):
    verdict = lookup("GEN-04").check({"location": "swedencentral"}, environment="dev", resource_type=token, name="x")
    assert [v.message for v in verdict.violations] == [
        f"type {canonical_and(token)} is not one the platform declares (allowedTypes)"]


def canonical_and(token: str) -> str:
    from guardrails.values import canonical_type

    return canonical_type(token)


@pytest.mark.parametrize("token", [
    "azure-native:network:LoadBalancer", "azure-native:network/v20240301:LoadBalancer",
    "azure-native:insights:DiagnosticSetting", "pulumi:pulumi:Stack", "pulumi:providers:azure-native",
    "ai-serving:gpu_pool:GpuInferencePool",
])
def test_the_platforms_own_types_pass(token):
    assert not lookup("GEN-04").check({}, environment="prod", resource_type=token, name="x").violations


def test_gen04_allows_exactly_the_type_table_and_an_extension_is_a_config_change():
    from ai_serving import arm

    allowed = lookup("GEN-04").defaults()["allowedTypes"]
    assert [t for t in allowed if t.startswith("azure-native:")] == arm.declarable()
    token = "azure-native:compute:VirtualMachine"
    assert not lookup("GEN-04").check({}, resource_type=token, allowedTypes=[*allowed, token]).violations


@pytest.mark.parametrize("action", [
    "Microsoft.Authorization/*/write", "Microsoft.*", "microsoft.authorization/roleAssignments/write",
    "Microsoft.Authorization/roleDefinitions/*", "*/action", "Microsoft.Authorization/elevateAccess/Action",
])
def test_a_custom_role_that_can_hand_out_access_fails(action):
    props = {"roleName": "escalate", "permissions": [{"actions": ["Microsoft.Storage/storageAccounts/read", action]}]}
    verdict = lookup("RBAC-02").check(props, resource_type="azure-native:authorization:RoleDefinition", name="r")
    assert [v.message.split(" contains ")[0] for v in verdict.violations] == ["permissions[0].actions"]
    assert f"contains '{action}'" in verdict.violations[0].message  # an action is no secret: named as it is


def test_a_custom_role_action_unknown_at_preview_is_undetermined_not_passed():
    from tests.fixtures.policy import UNKNOWN

    props = {"roleName": "r", "permissions": [{"actions": ["Microsoft.Storage/storageAccounts/read", UNKNOWN]}]}
    verdict = lookup("RBAC-02").check(props, resource_type="azure-native:authorization:RoleDefinition", name="r")
    assert verdict.violations == () and verdict.undetermined == ("permissions[0].actions[1]",)


def test_a_role_assignment_on_a_resource_not_yet_created_is_judged_by_its_role_alone():
    from tests.fixtures.policy import UNKNOWN

    props = mutate(fixture("role-assignment")["props"], {"scope": UNKNOWN})
    verdict = lookup("RBAC-02").check(props, resource_type="azure-native:authorization:RoleAssignment", name="r")
    assert verdict.violations == () and verdict.undetermined == ()


def test_the_roles_a_stack_may_grant_are_the_ones_the_components_grant():
    from guardrails import config

    from infra.components.roles import BUILTIN_ROLES

    assert lookup("RBAC-02").defaults()["allowedRoles"] == list(BUILTIN_ROLES.values())
    assert not set(config.DENIED_ROLES) & set(BUILTIN_ROLES.values())


def test_the_firewall_limit_counts_all_rules_names_the_count_and_is_a_setting():
    """Found by review: two office /24s failed with a message saying the default action was not Deny, and an IPv6
    /64 counted as 2^64 addresses."""
    two = mutate(fixture("vault")["props"], {"properties.publicNetworkAccess": "Enabled",
                                             "properties.networkAcls.ipRules": [{"value": "203.0.113.0/24"},
                                                                                {"value": "198.51.100.0/24"}]})
    token = "azure-native:keyvault:Vault"
    [message] = [v.message for v in lookup("KV-04").check(two, resource_type=token, name="kv").violations]
    assert "is Deny, but properties.networkAcls.ipRules admit 512 addresses" in message and "over the 256" in message
    assert not lookup("KV-04").check(two, resource_type=token, name="kv", maxOpenAddresses=512).violations
    v6 = mutate(fixture("vault")["props"], {"properties.publicNetworkAccess": "Enabled",
                                            "properties.networkAcls.ipRules": [{"value": "2001:db8:1:2::/64"}]})
    assert not lookup("KV-04").check(v6, resource_type=token, name="kv").violations

"""ServingNetwork and PrivateDnsZones: subnets, NSGs, egress, DNS zones and peering, under mocks."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from infra.components.dns import ON_DEMAND_ZONES, PRIVATE_DNS_ZONES
from infra.config.addressing import gpu_addresses_needed, usable_addresses
from infra.config.profiles import PROFILES

from .plancache import planned, planned_gpu_only
from .stackdata import SSH_KEY, base_config, share_networks

SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"
NAT = "azure-native:network:NatGateway"
PIP = "azure-native:network:PublicIPAddress"
VNET = "azure-native:network:VirtualNetwork"
PEERING = "azure-native:network:VirtualNetworkPeering"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
DIAG = "azure-native:monitor:DiagnosticSetting"

HUB = ("/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-hub/providers/"
       "Microsoft.Network/virtualNetworks/vnet-hub")
CENTRAL = {
    key: f"/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-dns/providers/"
         f"Microsoft.Network/privateDnsZones/{zone}"
    for key, zone in PRIVATE_DNS_ZONES.items()
}
STANDING_ZONES = {k: v for k, v in PRIVATE_DNS_ZONES.items() if k not in ON_DEMAND_ZONES}
"""The zones every stack has; privatelink.azurecr.io only comes with a registry of the stack's own."""
OPEN_TO_ALL = {"*", "internet", "0.0.0.0/0", "any"}


plan = planned_gpu_only


def subnets_by_role(run):
    """Subnet role -> registration (names are ``snet-<team>-<env>-<region>-<role>``)."""
    return {s.inputs["subnetName"].split("-sdc-", 1)[1]: s for s in run.by_type(SUBNET)}


def nsg_by_id(run, nsg_id):
    [nsg] = [n for n in run.by_type(NSG) if nsg_id.endswith("/" + n.inputs["networkSecurityGroupName"])]
    return nsg


def ports(port_range: str) -> range:
    if port_range == "*":
        return range(0, 65536)
    low, _, high = port_range.partition("-")
    return range(int(low), int(high or low) + 1)


def test_subnets_are_carved_inside_the_address_space_without_overlap(plan_stack):
    run = plan(plan_stack)
    space = ipaddress.ip_network(run.one(VNET).inputs["addressSpace"]["addressPrefixes"][0])
    assert str(space) == "10.50.0.0/22"
    subnets = subnets_by_role(run)
    assert set(subnets) == {"gpu", "private-endpoints", "gateway"}
    cidrs = {role: ipaddress.ip_network(s.inputs["addressPrefix"]) for role, s in subnets.items()}
    assert all(c.subnet_of(space) for c in cidrs.values())
    assert not any(a.overlaps(b) for a, b in itertools.combinations(cidrs.values(), 2))


@pytest.mark.parametrize(("environment", "space", "max_instances"), [
    ("dev", "10.50.0.0/24", 50),   # the smallest allowed space, full
    ("prod", "10.50.0.0/22", 100),  # the largest pool the config allows
])
def test_gpu_subnet_holds_max_instances_with_rolling_upgrade_surge(plan_stack, environment, space,
                                                                   max_instances):
    cfg = base_config(environment, openai=False)
    cfg["ai-serving:network"]["addressSpace"] = space
    cfg["ai-serving:gpuPool"]["maxInstances"] = max_instances
    run = planned(plan_stack, cfg)
    assert run.exit_code == 0, run.errors
    gpu = ipaddress.ip_network(subnets_by_role(run)["gpu"].inputs["addressPrefix"])
    needed = gpu_addresses_needed(max_instances, PROFILES[environment].rolling_max_batch_percent)
    assert usable_addresses(gpu) >= needed


def test_every_subnet_has_its_own_nsg_and_no_default_outbound_access(plan_stack):
    run = plan(plan_stack)
    subnets = run.by_type(SUBNET)
    assert len(subnets) == 3
    assert all(s.inputs["defaultOutboundAccess"] is False for s in subnets)
    nsg_ids = [s.inputs["networkSecurityGroup"]["id"] for s in subnets]
    assert len(set(nsg_ids)) == 3 == len(run.by_type(NSG))
    # NSG rules also apply to private-endpoint traffic (Azure's default would skip them).
    assert subnets_by_role(run)["private-endpoints"].inputs["privateEndpointNetworkPolicies"] == "Enabled"


def test_subnets_are_written_one_after_another(plan_stack):
    run = plan(plan_stack)
    first, second, third = run.by_type(SUBNET)
    assert first.urn in second.dependencies
    assert second.urn in third.dependencies


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_no_rule_admits_anything_from_the_internet(plan_stack, environment):
    cfg = base_config(environment, openai=False)
    cfg["ai-serving:gpuPool"]["sshPublicKey"] = SSH_KEY
    run = planned(plan_stack, cfg)
    assert run.exit_code == 0, run.errors
    for nsg in run.by_type(NSG):
        rules = nsg.inputs["securityRules"]
        priorities = [r["priority"] for r in rules]
        assert len(set(priorities)) == len(priorities), nsg.name
        assert all(100 <= p <= 4096 for p in priorities)
        allows = [r for r in rules if r["access"] == "Allow" and r["direction"] == "Inbound"]
        assert all(r["sourceAddressPrefix"].lower() not in OPEN_TO_ALL for r in allows), nsg.name
        management = [r for r in allows if {22, 3389} & set(ports(r["destinationPortRange"]))]
        assert all(r["sourceAddressPrefix"] == "VirtualNetwork" for r in management), nsg.name
        deny_internet = [r for r in rules if r["access"] == "Deny" and r["sourceAddressPrefix"] == "Internet"]
        assert deny_internet and deny_internet[0]["destinationPortRange"] == "*"
        # The catch-all deny comes last: nothing but the allows above gets in, not even from the VNet.
        last = max(rules, key=lambda r: r["priority"])
        assert (last["access"], last["sourceAddressPrefix"], last["destinationPortRange"]) == \
            ("Deny", "*", "*")
        assert all(r["priority"] < last["priority"] for r in allows)


def test_gpu_subnet_admits_the_serving_port_only_from_its_own_vnet_and_the_load_balancer_probe(plan_stack):
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"]["port"] = 8080
    run = planned(plan_stack, cfg)
    assert run.exit_code == 0, run.errors
    gpu = subnets_by_role(run)["gpu"]
    rules = nsg_by_id(run, gpu.inputs["networkSecurityGroup"]["id"]).inputs["securityRules"]
    allows = {
        (r["sourceAddressPrefix"], r["destinationPortRange"], r["protocol"], r["destinationAddressPrefix"])
        for r in rules if r["access"] == "Allow"
    }
    cidr = gpu.inputs["addressPrefix"]
    # The stack's own address space, not the VirtualNetwork tag (which includes peered networks).
    vnet = cfg["ai-serving:network"]["addressSpace"]
    assert allows == {(vnet, "8080", "Tcp", cidr), ("AzureLoadBalancer", "8080", "Tcp", cidr)}


def test_ssh_is_admitted_from_the_vnet_only_when_the_pool_has_an_admin_key(plan_stack):
    def ssh_rules(run):
        return [r for n in run.by_type(NSG) for r in n.inputs["securityRules"]
                if r["access"] == "Allow" and 22 in ports(r["destinationPortRange"])]

    assert ssh_rules(plan(plan_stack)) == []
    cfg = base_config("prod", openai=False)
    cfg["ai-serving:gpuPool"]["sshPublicKey"] = SSH_KEY
    run = planned(plan_stack, cfg)
    [rule] = ssh_rules(run)
    assert rule["sourceAddressPrefix"] == "VirtualNetwork"
    assert rule["destinationAddressPrefix"] == subnets_by_role(run)["gpu"].inputs["addressPrefix"]


def test_private_endpoint_subnet_admits_https_from_the_vnet_only(plan_stack):
    run = plan(plan_stack)
    pe = subnets_by_role(run)["private-endpoints"]
    rules = nsg_by_id(run, pe.inputs["networkSecurityGroup"]["id"]).inputs["securityRules"]
    allows = [(r["sourceAddressPrefix"], r["destinationPortRange"]) for r in rules if r["access"] == "Allow"]
    assert allows == [("VirtualNetwork", "443")]


@pytest.mark.parametrize(("environment", "zones"), [("dev", None), ("prod", ["1", "2", "3"])])
def test_nat_gateway_with_a_static_public_ip_gives_only_the_gpu_subnet_egress(plan_stack, environment, zones):
    run = plan(plan_stack, environment)
    nat = run.one(NAT)
    pip = run.one(PIP)
    assert nat.inputs["sku"] == {"name": "Standard"}
    [nat_ip] = nat.inputs["publicIpAddresses"]
    assert nat_ip["id"].endswith("/publicIPAddresses/" + pip.inputs["publicIpAddressName"])
    assert pip.inputs["sku"]["name"] == "Standard"
    assert pip.inputs["publicIPAllocationMethod"] == "Static"
    assert pip.inputs.get("zones") == zones
    subnets = subnets_by_role(run)
    assert subnets["gpu"].inputs["natGateway"]["id"].endswith("/" + nat.inputs["natGatewayName"])
    assert "natGateway" not in subnets["private-endpoints"].inputs
    assert "natGateway" not in subnets["gateway"].inputs


def test_no_nat_gateway_when_the_stack_has_no_gpu_pool(plan_stack):
    run = planned(plan_stack, base_config("dev", openai=True, gpu=False))
    assert run.exit_code == 0, run.errors
    assert run.by_type(NAT) == [] and run.by_type(PIP) == []
    assert len(run.by_type(SUBNET)) == 3


def test_no_peering_by_default_and_a_stack_to_hub_peering_when_configured(plan_stack, monkeypatch):
    assert plan(plan_stack).by_type(PEERING) == []
    share_networks(monkeypatch, hubs=[HUB])
    run = plan(plan_stack, "prod", hubVnetId=HUB)
    peering = run.one(PEERING)
    assert peering.inputs["remoteVirtualNetwork"] == {"id": HUB}
    assert peering.inputs["virtualNetworkName"] == run.one(VNET).inputs["virtualNetworkName"]
    assert peering.inputs["allowVirtualNetworkAccess"] is True
    assert peering.inputs["useRemoteGateways"] is False
    assert run.by_type(SUBNET)[-1].urn in peering.dependencies


def test_private_dns_zones_are_created_global_and_linked_to_the_vnet_by_default(plan_stack):
    run = plan(plan_stack)
    zones = run.by_type(ZONE)
    assert sorted(z.inputs["privateZoneName"] for z in zones) == sorted(STANDING_ZONES.values())
    assert {z.inputs["location"] for z in zones} == {"global"}
    vnet_urn = run.one(VNET).urn
    links = run.by_type(LINK)
    assert sorted(link.inputs["privateZoneName"] for link in links) == sorted(STANDING_ZONES.values())
    for link in links:
        assert link.inputs["registrationEnabled"] is False
        assert link.inputs["location"] == "global"
        assert link.inputs["virtualNetwork"]["id"].endswith("/virtualNetworks/vnet-team-t-dev-sdc")
        assert vnet_urn in link.dependencies


def test_central_private_dns_zones_are_used_and_none_are_created(plan_stack, monkeypatch):
    share_networks(monkeypatch, zones=CENTRAL.values())
    run = plan(plan_stack, "prod", privateDnsZoneIds=CENTRAL)
    assert run.by_type(ZONE) == [] and run.by_type(LINK) == []
    # Prod: the vault, the stack's registry and its weights account, each registered in the central zone.
    groups = {g.inputs["privateEndpointName"]: [c["privateDnsZoneId"] for c in g.inputs["privateDnsZoneConfigs"]]
              for g in run.by_type(ZONE_GROUP)}
    assert sorted(z for zs in groups.values() for z in zs) == sorted(
        [CENTRAL["keyvault"], CENTRAL["acr"], CENTRAL["blob"]])


def test_the_registry_zone_exists_only_with_a_registry_of_the_stacks_own(plan_stack):
    prod = {z.inputs["privateZoneName"] for z in plan(plan_stack, "prod").by_type(ZONE)}
    assert "privatelink.azurecr.io" in prod
    assert "privatelink.azurecr.io" not in {z.inputs["privateZoneName"] for z in plan(plan_stack).by_type(ZONE)}


def test_only_the_zones_without_a_central_id_are_created(plan_stack, monkeypatch):
    share_networks(monkeypatch, zones=[CENTRAL["keyvault"]])
    run = plan(plan_stack, privateDnsZoneIds={"keyvault": CENTRAL["keyvault"]})
    created = {z.inputs["privateZoneName"] for z in run.by_type(ZONE)}
    assert created == set(STANDING_ZONES.values()) - {PRIVATE_DNS_ZONES["keyvault"]}
    assert len(run.by_type(LINK)) == 4


def test_nsg_event_logs_go_to_the_workspace(plan_stack):
    run = plan(plan_stack)
    workspace_id = run.outputs["workspaceId"]
    for nsg in run.by_type(NSG):
        name = nsg.inputs["networkSecurityGroupName"]
        diag = run.one(DIAG, f"diag-{name}")
        assert diag.inputs["resourceUri"].endswith("/" + name)
        assert diag.inputs["workspaceId"] == workspace_id
        assert [log["categoryGroup"] for log in diag.inputs["logs"]] == ["allLogs"]


def test_network_exports(plan_stack):
    run = plan(plan_stack)
    assert run.outputs["vnetId"].endswith("/virtualNetworks/vnet-team-t-dev-sdc")
    assert set(run.outputs["subnetIds"]) == {"gpu", "private-endpoints", "gateway"}
    assert run.outputs["subnetIds"]["gpu"].endswith("/snet-team-t-dev-sdc-gpu")


# --- a hub and central zones: the stack's own or the platform's (infra/catalogues/shared_network.yaml) --------

TEAM_A_PROD_GROUP = "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-team-a-prod-sdc/providers/"
OTHER_HUB = TEAM_A_PROD_GROUP + "Microsoft.Network/virtualNetworks/vnet-team-a-prod-sdc"
OTHER_ZONE = TEAM_A_PROD_GROUP + "Microsoft.Network/privateDnsZones/privatelink.openai.azure.com"


def _validate_network(tmp_path, capsys, **network) -> tuple[int, str, str]:
    """``validate`` of team-c-dev with ``network`` keys set: exit code, stderr, and the file's text."""
    from .cli_helpers import cli, write_stack

    cfg = base_config("dev", team="team-c")
    cfg["ai-serving:network"].update(network)
    path = write_stack(tmp_path, "team-c-dev", cfg)
    capsys.readouterr()
    code = cli("validate", "team-c-dev", "--stack-dir", tmp_path)
    return code, " ".join(capsys.readouterr().err.split()), path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("network", "key", "written"), [
    ({"hubVnetId": OTHER_HUB}, "ai-serving:network.hubVnetId", "hubVnetId:"),
    ({"privateDnsZoneIds": {"openai": OTHER_ZONE}}, "ai-serving:network.privateDnsZoneIds.openai", "openai: /sub"),
], ids=["hub", "zone"])
def test_a_hub_or_zone_in_another_teams_resource_group_is_a_config_error(tmp_path, capsys, network, key, written):
    """team-c-dev peered into team-a-prod's VNet and wrote its endpoint's records into team-a-prod's zone,
    validated, and planned with no mandatory finding."""
    code, err, text = _validate_network(tmp_path, capsys, **network)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if written in ln)
    assert code == 2 and "Traceback" not in err, err
    assert (f"Pulumi.team-c-dev.yaml:{line}: {key}: expected a Microsoft.Network/{_network_type(network)} resource "
            "the platform shares (infra/catalogues/shared_network.yaml: none yet)") in err, err


def _network_type(network: dict) -> str:
    return "virtualNetworks" if "hubVnetId" in network else "privateDnsZones"


# The stack's own resource group's name, in a subscription the id alone chooses (any team can create a group
# of that name in a subscription of its own): the name compared alone let team-c-dev peer into it.
OWN_NAME_ELSEWHERE = ("/subscriptions/12345678-9999-9999-9999-999999999999/resourceGroups/rg-team-c-dev-sdc/"
                      "providers/Microsoft.Network/")


@pytest.mark.parametrize("network", [
    {"hubVnetId": OWN_NAME_ELSEWHERE + "virtualNetworks/attacker-hub"},
    {"privateDnsZoneIds": {"keyvault": OWN_NAME_ELSEWHERE.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")
                           .replace("/RESOURCEGROUPS/", "/resourceGroups/").replace("/PROVIDERS/", "/providers/")
                           + "privateDnsZones/privatelink.vaultcore.azure.net"}},
], ids=["hub", "zone"])
def test_a_hub_or_zone_in_a_group_named_as_the_stacks_own_is_a_config_error(tmp_path, capsys, network):
    """The program creates the stack's group and its zones itself: a hub or a central zone is only ever one the
    platform lists, so an id that merely names the stack's group (in any subscription) is refused."""
    code, err, _ = _validate_network(tmp_path, capsys, **network)
    assert code == 2 and "Traceback" not in err, err
    assert f"expected a Microsoft.Network/{_network_type(network)} resource the platform shares" in err, err
    assert "only ever one the platform lists" in err, err


def test_the_platforms_hub_and_zones_are_accepted_in_any_letter_case(tmp_path, capsys, monkeypatch):
    share_networks(monkeypatch, hubs=[HUB.lower()], zones=[CENTRAL["openai"].lower()])
    code, err, _ = _validate_network(tmp_path, capsys, hubVnetId=HUB.replace("vnet-hub", "VNET-HUB"),
                                     privateDnsZoneIds={"openai": CENTRAL["openai"].upper().replace(
                                         "/SUBSCRIPTIONS/", "/subscriptions/").replace(
                                         "/RESOURCEGROUPS/", "/resourceGroups/").replace("/PROVIDERS/", "/providers/")})
    assert code == 0, err
    # Sharing a hub shares no zone, and the other way round.
    code, err, _ = _validate_network(tmp_path, capsys, hubVnetId=CENTRAL["openai"].replace(
        "Microsoft.Network/privateDnsZones/privatelink.openai.azure.com", "Microsoft.Network/virtualNetworks/vnet-x"))
    assert code == 2 and "shared_network.yaml: /subscriptions/" in err, err


def test_a_hub_or_zone_id_of_another_kind_is_a_config_error(tmp_path, capsys, monkeypatch):
    share_networks(monkeypatch, hubs=[HUB], zones=[CENTRAL["openai"]])
    code, err, _ = _validate_network(tmp_path, capsys, hubVnetId=CENTRAL["openai"],
                                     privateDnsZoneIds={"openai": HUB})
    assert code == 2, err
    assert "ai-serving:network.hubVnetId: expected the id of a Microsoft.Network/virtualNetworks resource" in err
    assert ("ai-serving:network.privateDnsZoneIds.openai: expected the id of a Microsoft.Network/privateDnsZones "
            "resource") in err


def test_a_broken_shared_network_list_is_one_message_naming_the_file(tmp_path, capsys, monkeypatch):
    share_networks(monkeypatch, hubs=[CENTRAL["openai"]])  # a zone listed as a hub
    code, err, _ = _validate_network(tmp_path, capsys, hubVnetId=HUB)
    assert code == 2 and "Traceback" not in err, err
    assert "shared_network.yaml" in err and "hubVirtualNetworks: expected a list of Microsoft.Network/virtualNetworks" \
        in err, err


def test_the_shipped_shared_network_list_reads_and_every_example_stack_validates_with_it():
    """Empty today; no example stack names a hub or a central zone (else the list would have to hold it)."""
    from infra import catalogues

    from .cli_helpers import cli

    assert set(catalogues.shared_network()) == set(catalogues.SHARED_NETWORK_KINDS)
    assert cli("validate") == 0

"""The stack's private network: VNet, one NSG per subnet, NAT-gateway egress, optional hub peering."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence

import pulumi
import pulumi_azure_native.network as network

from ..config.addressing import SUBNET_ROLES, SubnetLayout, layout
from .diagnostics import diagnostics
from .interfaces import DiagnosticSettings, Placement

PRIORITY_FIRST_ALLOW = 100
"""Allow rules start here, 10 apart, in the order ``security_rules`` lists them."""
PRIORITY_DENY_INTERNET = 4000
PRIORITY_DENY_ALL = 4096
"""The last custom priority: everything not allowed above is denied, including the default
AllowVnetInBound (65000) and AllowAzureLoadBalancerInBound (65001) rules."""
HTTPS_PORT = 443


def _rule(name: str, priority: int, access: str, protocol: str, source: str, destination: str, port: str,
          description: str) -> network.SecurityRuleArgs:
    return network.SecurityRuleArgs(
        name=name,
        priority=priority,
        direction=network.SecurityRuleDirection.INBOUND,
        access=access,
        protocol=protocol,
        source_address_prefix=source,
        source_port_range="*",
        destination_address_prefix=destination,
        destination_port_range=port,
        description=description,
    )


def security_rules(role: str, subnet_cidr: str, *, vnet_cidr: str, serving_port: int | None = None,
                   ssh_from_vnet: bool = False) -> list[network.SecurityRuleArgs]:
    """The inbound rules of ``role``'s NSG: only what the subnet needs, then deny Internet, then deny all.

    - ``gpu``: the serving port from this VNet's own address space (``vnet_cidr``; not the
      ``VirtualNetwork`` tag, which also covers every peered network) and from the load-balancer
      health probe (``AzureLoadBalancer``), when a pool serves on ``serving_port``; SSH (22) from
      the VNet only when ``ssh_from_vnet`` (the pool has an admin key, for break-glass via a bastion).
    - ``private-endpoints``: HTTPS from the VNet (every endpoint here is a 443 service).
    - ``gateway``: nothing yet; the future gateway component adds what it needs (an Application
      Gateway v2 needs GatewayManager on 65200-65535 and AzureLoadBalancer).
    Nothing ever allows a source of ``Internet`` or ``*``, so 22/3389 are never open to the Internet.
    """
    allow: list[tuple[str, str, str, str]] = []  # (name, source, port, description)
    if role == "gpu" and serving_port is not None:
        allow.append(("AllowServingFromVirtualNetwork", vnet_cidr, str(serving_port),
                      "Model serving API from inside this VNet only"))
        allow.append(("AllowServingFromAzureLoadBalancer", "AzureLoadBalancer", str(serving_port),
                      "Internal load balancer health probe"))
    if role == "gpu" and ssh_from_vnet:
        allow.append(("AllowSshFromVirtualNetwork", "VirtualNetwork", "22",
                      "Break-glass SSH from inside the VNet (e.g. a hub bastion); never from the Internet"))
    if role == "private-endpoints":
        allow.append(("AllowHttpsFromVirtualNetwork", "VirtualNetwork", str(HTTPS_PORT),
                      "Private endpoints (OpenAI, Key Vault, Blob) from inside the VNet"))
    rules = [
        _rule(name, PRIORITY_FIRST_ALLOW + 10 * i, network.SecurityRuleAccess.ALLOW,
              network.SecurityRuleProtocol.TCP, source, subnet_cidr, port, description)
        for i, (name, source, port, description) in enumerate(allow)
    ]
    rules.append(_rule("DenyInternetInbound", PRIORITY_DENY_INTERNET, network.SecurityRuleAccess.DENY,
                       network.SecurityRuleProtocol.ASTERISK, "Internet", "*", "*",
                       "Nothing is reachable from the Internet"))
    rules.append(_rule("DenyAllInbound", PRIORITY_DENY_ALL, network.SecurityRuleAccess.DENY,
                       network.SecurityRuleProtocol.ASTERISK, "*", "*", "*",
                       "Only the rules above are allowed (overrides the permissive Azure defaults)"))
    return rules


EGRESS_ALLOWED: tuple[tuple[str, str, str, str], ...] = (
    # (name, destination, ports, why)
    ("AllowHttpsToPrivateEndpoints", "VirtualNetwork", "443",
     "Registry, weights storage and Key Vault through their private endpoints"),
    ("AllowAzureMonitorOutbound", "AzureMonitor", "443", "Boot diagnostics and platform metrics"),
    ("AllowHttpsForDriverAndOsUpdates", "Internet", "443",
     "NVIDIA driver extension downloads (NVIDIA/Microsoft CDNs), NVIDIA container toolkit repository "
     "and signing key: no service tag covers them"),
    ("AllowHttpForOsUpdates", "Internet", "80",
     "Ubuntu archive (azure.archive.ubuntu.com, security.ubuntu.com) serves apt over HTTP, signed"),
)
"""The prod GPU subnet's outbound allow-list (see README "Egress"). Azure's platform addresses
(IMDS 169.254.169.254, DNS and the WireServer 168.63.129.16 the VM agent and extensions use) are
not subject to NSG rules."""
PRIORITY_FIRST_ALLOW_OUTBOUND = 1000
PRIORITY_DENY_ALL_OUTBOUND = 4095
"""Outbound priorities apart from the inbound ones (Azure needs them unique per direction only; distinct
numbers keep every rule's priority unique in the NSG)."""


def gpu_egress_rules(subnet_cidr: str) -> list[network.SecurityRuleArgs]:
    """Outbound rules of a GPU subnet whose image and weights come over private endpoints.

    HTTP(S) only, to the VNet's private endpoints, Azure Monitor and the web hosts that the driver
    extension and OS / toolkit updates need; everything else outbound is denied (the default
    AllowInternetOutBound and AllowVnetOutBound rules included). An NSG cannot filter by host name:
    the hub firewall's FQDN rules are the place to narrow port 80/443 further.
    """
    rules = [
        network.SecurityRuleArgs(
            name=name, priority=PRIORITY_FIRST_ALLOW_OUTBOUND + 10 * i,
            direction=network.SecurityRuleDirection.OUTBOUND,
            access=network.SecurityRuleAccess.ALLOW, protocol=network.SecurityRuleProtocol.TCP,
            source_address_prefix=subnet_cidr, source_port_range="*", destination_address_prefix=destination,
            destination_port_range=ports, description=why,
        )
        for i, (name, destination, ports, why) in enumerate(EGRESS_ALLOWED)
    ]
    rules.append(network.SecurityRuleArgs(
        name="DenyAllOutbound", priority=PRIORITY_DENY_ALL_OUTBOUND, direction=network.SecurityRuleDirection.OUTBOUND,
        access=network.SecurityRuleAccess.DENY, protocol=network.SecurityRuleProtocol.ASTERISK,
        source_address_prefix="*", source_port_range="*", destination_address_prefix="*",
        destination_port_range="*", description="Only the outbound rules above (overrides AllowInternetOutBound)",
    ))
    return rules


class ServingNetwork(pulumi.ComponentResource):
    """The team's private VNet, carved into fixed subnets (see ``infra/config/addressing.py``).

    Every subnet has its own NSG (``security_rules``) and ``defaultOutboundAccess: false``: no
    implicit Internet egress. When ``nat_gateway`` is on, a NAT gateway with one static Standard
    public IP gives the GPU subnet outbound access (image and model pulls, driver install). The
    Standard NAT gateway is a zonal resource; with ``zone_redundant`` its public
    IP is zone-redundant (zones 1-3) and the gateway is left without a zone for Azure to place.

    Hub peering (``hub_vnet_id``): this stack declares only the stack -> hub peering, since the hub
    is usually in another subscription and owned by the platform team. For traffic to flow the hub
    side must create the reverse peering (hub -> this VNet, ``allowVirtualNetworkAccess: true``,
    ``allowForwardedTraffic: true`` if the hub firewall forwards traffic; ``allowGatewayTransit``
    only if the hub offers its gateway), the deploying identity needs
    ``Microsoft.Network/virtualNetworks/peer/action`` on the hub VNet (e.g. Network Contributor),
    and the address spaces must not overlap. When central private DNS zones are used, the hub team
    links them to its resolver / this VNet (see ``dns.py``).
    """

    vnet_id: pulumi.Output[str]
    vnet_name: pulumi.Output[str]
    subnet_ids: dict[str, pulumi.Output[str]]
    """Subnet role (``SUBNET_ROLES``) -> subnet id."""
    subnets: SubnetLayout

    def __init__(
        self,
        name: str,
        placement: Placement,
        *,
        address_space: ipaddress.IPv4Network,
        serving_port: int | None = None,
        ssh_from_vnet: bool = False,
        nat_gateway: bool = True,
        restricted_egress: bool = False,
        zone_redundant: bool = False,
        hub_vnet_id: str | None = None,
        diagnostic_settings: DiagnosticSettings | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the network.

        ``name`` is the VNet name. ``serving_port``: the GPU pool's port (default: none, so the GPU
        subnet admits nothing). ``ssh_from_vnet``: allow SSH from the VNet to the GPU subnet
        (default off). ``nat_gateway``: egress for the GPU subnet (default on).
        ``restricted_egress``: the GPU subnet's NSG allows only ``EGRESS_ALLOWED`` outbound
        (default off; the prod profile turns it on, whatever the supply). ``zone_redundant``:
        the NAT gateway's public IP in zones 1-3 (default off; prod profiles turn it on). ``hub_vnet_id``:
        peer with a hub (default: no peering). ``diagnostic_settings``: NSG event logs to a
        workspace (default: none).
        """
        super().__init__("ai-serving:network:ServingNetwork", name, None, opts)
        naming = placement.naming
        self.subnets = layout(address_space)
        tags = dict(placement.tags)
        child = pulumi.ResourceOptions(parent=self)

        vnet = network.VirtualNetwork(
            name,
            virtual_network_name=name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[str(address_space)]),
            # No inline `subnets`: they are separate resources below, which azure-native v3 keeps
            # when it updates the VNet.
            tags=tags,
            opts=child,
        )

        nat = self._nat_gateway(placement, tags, zone_redundant=zone_redundant) if nat_gateway else None

        nsg_diagnostics = (
            dataclasses.replace(diagnostic_settings, log_category_groups=("allLogs",), log_categories=(),
                                metrics=False)  # NSGs have event logs but no metrics
            if diagnostic_settings is not None else None
        )
        self.subnet_ids = {}
        previous: list[pulumi.Resource] = []
        for role, cidr in self.subnets.by_role().items():
            nsg_name = naming.name("network_security_group", role)
            nsg = network.NetworkSecurityGroup(
                nsg_name,
                network_security_group_name=nsg_name,
                resource_group_name=placement.resource_group_name,
                location=placement.location,
                security_rules=security_rules(role, str(cidr), vnet_cidr=str(address_space),
                                              serving_port=serving_port, ssh_from_vnet=ssh_from_vnet)
                + (gpu_egress_rules(str(cidr)) if role == "gpu" and restricted_egress else []),
                tags=tags,
                opts=child,
            )
            if nsg_diagnostics is not None:
                diagnostics(nsg_name, nsg.id, nsg_diagnostics, parent=self)
            subnet_name = naming.name("subnet", role)
            subnet = network.Subnet(
                subnet_name,
                subnet_name=subnet_name,
                resource_group_name=placement.resource_group_name,
                virtual_network_name=vnet.name,
                address_prefix=str(cidr),
                default_outbound_access=False,
                network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
                nat_gateway=network.SubResourceArgs(id=nat.id) if nat is not None and role == "gpu" else None,
                # Apply the NSG to private-endpoint traffic too (Azure's default skips it).
                private_endpoint_network_policies=(
                    network.VirtualNetworkPrivateEndpointNetworkPolicies.ENABLED
                    if role == "private-endpoints" else None
                ),
                # Azure rejects concurrent writes to subnets of one VNet (AnotherOperationInProgress):
                # create them one after the other.
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            previous = [subnet]
            self.subnet_ids[role] = subnet.id

        if hub_vnet_id:
            peer_name = naming.name("peering", "hub")
            network.VirtualNetworkPeering(
                peer_name,
                virtual_network_peering_name=peer_name,
                resource_group_name=placement.resource_group_name,
                virtual_network_name=vnet.name,
                remote_virtual_network=network.SubResourceArgs(id=hub_vnet_id),
                allow_virtual_network_access=True,
                allow_forwarded_traffic=True,
                allow_gateway_transit=False,
                # The hub may have no gateway; using one is the platform team's decision.
                use_remote_gateways=False,
                # After the subnets: a peering is another write on the same VNet.
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )

        self.vnet_id = vnet.id
        self.vnet_name = vnet.name
        self.register_outputs({"vnetId": self.vnet_id, "subnetIds": self.subnet_ids})

    def _nat_gateway(self, placement: Placement, tags: dict[str, str], *, zone_redundant: bool) -> network.NatGateway:
        naming = placement.naming
        zones: Sequence[str] | None = ["1", "2", "3"] if zone_redundant else None
        pip_name = naming.name("public_ip", "egress")
        pip = network.PublicIPAddress(
            pip_name,
            public_ip_address_name=pip_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            sku=network.PublicIPAddressSkuArgs(name=network.PublicIPAddressSkuName.STANDARD,
                                               tier=network.PublicIPAddressSkuTier.REGIONAL),
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            public_ip_address_version=network.IPVersion.I_PV4,
            zones=zones,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        nat_name = naming.name("nat_gateway", "gpu")
        return network.NatGateway(
            nat_name,
            nat_gateway_name=nat_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            sku=network.NatGatewaySkuArgs(name=network.NatGatewaySkuName.STANDARD),
            public_ip_addresses=[network.SubResourceArgs(id=pip.id)],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )


__all__ = ["SUBNET_ROLES", "ServingNetwork", "security_rules"]

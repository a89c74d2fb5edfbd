"""Network security groups, security rules and subnets: NET-01..04; private endpoints: NET-05..07; load
balancer frontends: NET-08.

Rules and subnets are judged wherever they are declared: a standalone ``network:SecurityRule``
or a rule embedded in ``NetworkSecurityGroup.securityRules``; a standalone ``network:Subnet`` or
a subnet embedded in ``VirtualNetwork.subnets``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .. import config as cfg
from ..define import azure_policy, checkov, psrule, rule
from ..graph import references, resource_group
from ..model import Context, Findings, NotApplicable, StackResource, of_types
from ..values import (
    Undetermined,
    canonical_type,
    elements,
    eq,
    flat,
    get,
    is_false,
    is_unknown,
    known,
    one_of,
    present,
    reveal,
    shown,
)
from .common import Match

NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
SUBNET = "azure-native:network:Subnet"
VNET = "azure-native:network:VirtualNetwork"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ACCOUNT = "azure-native:cognitiveservices:Account"
VAULT = "azure-native:keyvault:Vault"
STORAGE = "azure-native:storage:StorageAccount"
REGISTRY = "azure-native:containerregistry:Registry"
LOAD_BALANCER = "azure-native:network:LoadBalancer"
CONNECTION_PROPS = ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections")

# Sources that mean "anyone on the Internet" (Checkov's list plus IPv6 and any /0 prefix).
_ANY_SOURCE = {"*", "0.0.0.0", "0.0.0.0/0", "::/0", "internet", "any", "<nw>/0", "/0"}
# Protocols that can carry SSH or RDP.
_PORT_PROTOCOLS = ("tcp", "udp", "*", "any")


def is_internet(prefix: Any) -> bool:
    """Whether a source address prefix admits the whole Internet."""
    if not isinstance(prefix, str):
        return False
    value = prefix.strip().lower()
    return value in _ANY_SOURCE or value.endswith("/0")


# Address space that is not reachable from the Internet: RFC 1918, shared (CGNAT), loopback,
# link-local, and their IPv6 counterparts (unique local, link-local, loopback).
_NON_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "fc00::/7", "fe80::/10", "::1/128"))
# Service tags for addresses inside the network: the virtual network itself and Azure's load-balancer health
# probes. Every other service tag stands for public address space (the Internet, all of Azure, or a service's
# shared public ranges such as AppService, Storage.WestEurope or AzureFrontDoor.Backend, from which any customer
# of that service can send; found by review).
_PRIVATE_TAGS = ("virtualnetwork", "azureloadbalancer")


def is_public(prefix: Any) -> bool:
    """Whether a source prefix admits any public address: the Internet, a public IP or range, or any
    service tag but VirtualNetwork and AzureLoadBalancer. Judged per prefix, so sources that together cover the Internet
    (``0.0.0.0/1`` + ``128.0.0.0/1``) are caught piece by piece."""
    if not isinstance(prefix, str):
        return False
    value = prefix.strip().lower()
    if is_internet(value):
        return True
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        # A service tag (or anything else that is no address: an ARM expression fails closed too).
        return value.split(".", 1)[0] not in _PRIVATE_TAGS
    return not any(network.version == block.version and network.subnet_of(block)  # type: ignore[arg-type]
                   for block in _NON_PUBLIC)


def prefix_shown(prefix: Any) -> str:
    """A source prefix as a message shows it: an address or range parses as one (never a secret), anything
    else goes through ``shown``."""
    if isinstance(prefix, str):
        try:
            ipaddress.ip_network(prefix.strip(), strict=False)
        except ValueError:
            pass
        else:
            return f"'{prefix.strip()}'"
    return shown(prefix)


def covers(port_spec: Any, port: int) -> bool:
    """Whether a destination port spec (``*``, ``22``, ``20-25``) includes ``port``."""
    if isinstance(port_spec, (int, float)):
        return int(port_spec) == port
    if not isinstance(port_spec, str):
        return False
    spec = port_spec.strip()
    if spec in ("*", "any", "Any"):
        return True
    if "-" in spec:
        low, _, high = spec.partition("-")
        try:
            return int(low) <= port <= int(high)
        except ValueError:
            return False
    try:
        return int(spec) == port
    except ValueError:
        return False


def security_rules(props: Any, resource_type: str) -> Iterator[tuple[str, Any]]:
    """(label, rule) for a standalone rule or every rule embedded in a network security group."""
    token = canonical_type(resource_type)
    if token == SECURITY_RULE:
        yield shown(get(props, "securityRuleName") or get(props, "name") or "rule"), flat(props)
    elif token == NSG:
        for i, item in enumerate(elements(props, "securityRules")):
            item = flat(known(item, f"securityRules[{i}]"))
            yield shown(get(item, "name") or f"securityRules[{i}]"), item


def _allows_inbound(item: Any) -> bool:
    return eq(get(item, "access"), "Allow") and eq(get(item, "direction"), "Inbound")


def _sources(item: Any) -> list[Any]:
    single = get(item, "sourceAddressPrefix")
    return ([single] if single is not None else []) + [
        known(p, "sourceAddressPrefixes[]") for p in elements(item, "sourceAddressPrefixes")
    ]


def _ports(item: Any) -> list[Any]:
    single = get(item, "destinationPortRange")
    return ([single] if single is not None else []) + [
        known(p, "destinationPortRanges[]") for p in elements(item, "destinationPortRanges")
    ]


@rule(
    "NET-01",
    "net-01-no-internet-management-ports",
    title="No SSH/RDP from the Internet",
    description=(
        "No network security rule may allow inbound SSH (22) or RDP (3389) from the Internet or any public "
        "address range (sources are judged one by one, so ranges that together cover the Internet fail too)."
    ),
    severity="critical",
    category="security",
    waivable=False,
    remediation=(
        "Restrict the rule's source to the virtual network or a Bastion subnet (or delete it); use Azure "
        "Bastion or just-in-time access for management."
    ),
    link=azure_policy("22730e10-96f6-4aac-ad84-9383d35b5917"),
    anchors=("CKV_AZURE_9", "CKV_AZURE_10", "Azure Policy 22730e10-96f6-4aac-ad84-9383d35b5917"),
    types=(NSG, SECURITY_RULE),
    config={
        "managementPorts": {
            "type": "array",
            "items": {"type": "integer"},
            "default": [22, 3389],
            "description": "Ports that must never be open to the Internet.",
        }
    },
)
def net01(props: Any, ctx: Context) -> Findings:
    out = Findings()
    ports = [int(p) for p in ctx.config["managementPorts"]]
    for label, item in security_rules(props, ctx.resource_type):
        with out.check():
            if not _allows_inbound(item):
                continue
            protocol = get(item, "protocol")
            if protocol is not None and not one_of(protocol, _PORT_PROTOCOLS):
                continue
            open_ports = [p for p in ports if any(covers(spec, p) for spec in _ports(item))]
            public = [s for s in _sources(item) if is_public(s)]
            if open_ports and public:
                out.add(
                    f"rule {label} allows port {', '.join(map(str, open_ports))} inbound from public address "
                    f"space ({', '.join(prefix_shown(s) for s in public[:4])})"
                )
    return out


@rule(
    "NET-02",
    "net-02-no-internet-inbound",
    title="No inbound traffic from public address space",
    description=(
        "No network security rule may allow inbound traffic from the Internet or any public address range "
        "(`*`, `Internet`, `AzureCloud`, `0.0.0.0/0`, a public IP or prefix). Sources are judged one by one, "
        "so ranges that together cover the Internet (`0.0.0.0/1` + `128.0.0.0/1`) fail too."
    ),
    severity="high",
    category="security",
    remediation=(
        "Name private sources only (the virtual network's prefixes, service tags such as VirtualNetwork or "
        "AzureLoadBalancer, or application security groups); the serving endpoint has no authentication of "
        "its own and must stay inside the private network."
    ),
    link=psrule("Azure.NSG.AnyInboundSource"),
    anchors=("PSRule Azure.NSG.AnyInboundSource",),
    types=(NSG, SECURITY_RULE),
)
def net02(props: Any, ctx: Context) -> Findings:
    out = Findings()
    for label, item in security_rules(props, ctx.resource_type):
        with out.check():
            if not _allows_inbound(item):
                continue
            # Per source, with NET-01's test: a check for `*` and `/0` alone passed two rules that split
            # the Internet in halves, and `AzureCloud` (anyone on Azure), found by review.
            public = [s for s in _sources(item) if is_public(s)]
            if public:
                out.add(
                    f"rule {label} allows inbound traffic from public address space "
                    f"({', '.join(prefix_shown(s) for s in public[:4])})"
                )
    return out


@rule(
    "NET-08",
    "net-08-load-balancer-private",
    title="Load balancers are internal",
    description=(
        "A load balancer's frontends must be private (an address in a subnet), never a public IP address or "
        "prefix: the model servers behind it answer without authentication of their own."
    ),
    severity="critical",
    category="security",
    remediation=(
        "Give every `frontendIPConfigurations` entry a `subnet` and a private address, and no `publicIPAddress` "
        "or `publicIPPrefix`; reach the pool from the private network (peering, private endpoints)."
    ),
    link="https://learn.microsoft.com/azure/load-balancer/components",
    anchors=("Azure Load Balancer components: frontend IP configuration (public or internal)",),
    types=(LOAD_BALANCER,),
)
def net08(props: Any, ctx: Context) -> Findings:
    out = Findings()
    for i, item in enumerate(elements(props, "frontendIPConfigurations")):
        with out.check():
            item = flat(known(item, f"frontendIPConfigurations[{i}]"))
            label = shown(get(item, "name") or f"frontendIPConfigurations[{i}]")
            # Read the references, not their ids: a new public IP's id is unknown until it exists.
            public = [key for key in ("publicIPAddress", "publicIPPrefix") if present(get(item, key))]
            if public:
                out.add(f"frontend {label} has a {' and a '.join(public)}: the load balancer is public")
    return out


def subnets(props: Any, ctx: Context) -> Iterator[tuple[str, Any]]:
    """(name, subnet) for a standalone subnet or every subnet embedded in a virtual network."""
    token = canonical_type(ctx.resource_type)
    if token == SUBNET:
        name = get(props, "subnetName") or get(props, "name") or ctx.name
        yield name, flat(props)
    elif token == VNET:
        for i, item in enumerate(elements(props, "subnets")):
            item = flat(known(item, f"subnets[{i}]"))
            yield get(item, "name") or f"subnets[{i}]", item


_EXEMPT = [
    "GatewaySubnet",
    "AzureFirewallSubnet",
    "AzureFirewallManagementSubnet",
    "RouteServerSubnet",
    "AzureBastionSubnet",
]


@rule(
    "NET-03",
    "net-03-subnet-has-nsg",
    title="Every subnet has a network security group",
    description=(
        "Subnets must be associated with a network security group (except Azure's gateway, firewall, route "
        "server and Bastion subnets, which do not take one or manage their own)."
    ),
    severity="medium",
    category="security",
    remediation="Set `networkSecurityGroup.id` on the subnet (also inside `VirtualNetwork.subnets`).",
    link=psrule("Azure.VNET.UseNSGs"),
    anchors=("PSRule Azure.VNET.UseNSGs", "CKV2_AZURE_31"),
    types=(SUBNET, VNET),
    config={"exemptSubnets": cfg.string_list("Subnet names that need no NSG.", _EXEMPT)},
)
def net03(props: Any, ctx: Context) -> Findings | NotApplicable:
    out = Findings()
    found = False
    for name, item in subnets(props, ctx):
        found = True
        with out.check():
            if one_of(name, ctx.config["exemptSubnets"]):
                continue
            # Read the reference, not its id: a new NSG's id is unknown until it exists, and reading it
            # made this rule unable to run in any first `pulumi preview` (found by the witness). An
            # unknown id is still an NSG; `present` counts it as set.
            nsg = get(item, "networkSecurityGroup")
            if not (isinstance(nsg, Mapping) and present(nsg.get("id"))):
                out.add(f"subnet {shown(name)} has no networkSecurityGroup")
    if not found and not out.undetermined:
        return NotApplicable("no subnets declared inline")
    return out


@rule(
    "NET-04",
    "net-04-subnet-private",
    title="Subnets have no default outbound access",
    description=(
        "Subnets must disable default outbound Internet access (use a NAT gateway or firewall explicitly)."
    ),
    severity="medium",
    category="security",
    remediation=(
        "Set `defaultOutboundAccess: false` on every subnet (unset means true) and give workloads that need "
        "the Internet an explicit path (NAT gateway)."
    ),
    link=psrule("Azure.VNET.PrivateSubnet"),
    anchors=("PSRule Azure.VNET.PrivateSubnet", "Azure Policy 7bca8353-aa3b-429b-904a-9229c4385837"),
    types=(SUBNET, VNET),
)
def net04(props: Any, ctx: Context) -> Findings | NotApplicable:
    out = Findings()
    found = False
    for name, item in subnets(props, ctx):
        found = True
        with out.check():
            if not is_false(get(item, "defaultOutboundAccess")):
                out.add(f"subnet {shown(name)} has defaultOutboundAccess unset or true; set it to false")
    if not found and not out.undetermined:
        return NotApplicable("no subnets declared inline")
    return out


# Stack rules: private endpoints and their DNS registration (the whole stack is needed to match
# an endpoint to its target; see guardrails.graph).


def connections(pe: StackResource) -> Iterator[tuple[str, Any, Any]]:
    """(property, privateLinkServiceId, groupIds) of each connection of a private endpoint."""
    for prop in CONNECTION_PROPS:
        try:
            items = elements(pe.props, prop)
        except Undetermined:
            yield prop, "04da6b54-80e4-46f7-96ec-b56ff0331ba9", None
            continue
        for item in items:
            if is_unknown(item):
                yield prop, item, None
                continue
            yield prop, reveal(item.get("privateLinkServiceId")), reveal(item.get("groupIds"))


def _endpoint_matches(resources: Sequence[StackResource], target: StackResource, group_id: str | None) -> Match:
    match = Match()
    for pe in of_types(resources, PRIVATE_ENDPOINT):
        for prop, service_id, group_ids in connections(pe):
            answer = references(pe, prop, service_id, target)
            if answer and group_id is not None:
                answer = None if is_unknown(group_ids) else any(eq(reveal(g), group_id) for g in (group_ids or []))
            match.see(answer, f"{pe.urn}:{prop}")
    return match


@rule(
    "NET-05",
    "net-05-private-endpoint-dns-zone-group",
    title="Private endpoints registered in private DNS",
    description=(
        "Every private endpoint must have a DNS zone group linking it to a private DNS zone, or clients "
        "resolve the public address."
    ),
    severity="medium",
    category="security",
    remediation=(
        "Add a `network:PrivateDnsZoneGroup` for the endpoint with a `privateDnsZoneConfigs` entry per zone "
        "(e.g. privatelink.openai.azure.com)."
    ),
    link=azure_policy("c4bc6f10-cb41-49eb-b000-d5ab82e2a091"),
    anchors=(
        "Azure Policy c4bc6f10-cb41-49eb-b000-d5ab82e2a091",
        "Azure Policy ac673a9a-f77d-4846-b2d8-a57f8e1c01d4",
    ),
    types=(PRIVATE_ENDPOINT,),
    scope="stack",
)
def net05(resources: Sequence[StackResource], ctx: Context) -> Findings:
    out = Findings()
    groups = of_types(resources, ZONE_GROUP)
    for pe in of_types(resources, PRIVATE_ENDPOINT):
        match = Match()
        for zg in groups:
            belongs = True if zg.parent == pe.urn else _endpoint_of_group(zg, pe)
            if belongs:
                try:
                    configs = elements(zg.props, "privateDnsZoneConfigs")
                    belongs = any(is_unknown(c) or present(get(c, "privateDnsZoneId")) for c in configs)
                except Undetermined:
                    belongs = None
            match.see(belongs, f"{zg.urn}:privateDnsZoneConfigs")
        match.settle(out, "private endpoint has no DNS zone group with a private DNS zone", pe.urn)
    return out


def _endpoint_of_group(zg: StackResource, pe: StackResource) -> bool | None:
    deps = zg.property_dependencies.get("privateEndpointName")
    if deps:
        return pe.urn in deps
    name = reveal(zg.props.get("privateEndpointName"))
    if is_unknown(name):
        return None
    pe_name = reveal(pe.props.get("privateEndpointName")) or pe.name
    if not isinstance(name, str) or not isinstance(pe_name, str) or is_unknown(pe_name):
        return None if is_unknown(pe_name) else False
    groups = {g.lower() for g in (resource_group(zg), resource_group(pe)) if g is not None}
    return name.lower() == pe_name.lower() and len(groups) <= 1


@rule(
    "NET-06",
    "net-06-ai-account-private-endpoint",
    title="AI accounts have a private endpoint",
    description=(
        "Every Azure AI / OpenAI account must be reachable through a private endpoint for its `account` sub-resource."
    ),
    severity="high",
    category="security",
    remediation=(
        "Add a `network:PrivateEndpoint` whose `privateLinkServiceConnections` name the account id with "
        "`groupIds: [account]`."
    ),
    link=psrule("Azure.AI.PrivateEndpoints"),
    anchors=("PSRule Azure.AI.PrivateEndpoints", "Azure Policy d6759c02-b87f-42b7-892e-71b3f471d782"),
    types=(ACCOUNT,),
    scope="stack",
)
def net06(resources: Sequence[StackResource], ctx: Context) -> Findings:
    out = Findings()
    for account in of_types(resources, ACCOUNT):
        _endpoint_matches(resources, account, "account").settle(
            out, "account has no private endpoint with groupIds [account]", account.urn
        )
    return out


@rule(
    "NET-07",
    "net-07-data-service-private-endpoint",
    title="Vaults, storage and registries have a private endpoint",
    description=(
        "Every key vault, storage account and container registry must be reachable through a private endpoint."
    ),
    severity="high",
    category="security",
    remediation=(
        "Add a `network:PrivateEndpoint` targeting the resource (groupIds vault / blob / registry) with its "
        "DNS zone group."
    ),
    link=checkov("terraform/checks/graph_checks/azure/AzureKeyVaultConfigPrivateEndpoint.yaml"),
    anchors=("CKV2_AZURE_32", "CKV2_AZURE_33"),
    types=(VAULT, STORAGE, REGISTRY),
    scope="stack",
)
def net07(resources: Sequence[StackResource], ctx: Context) -> Findings:
    out = Findings()
    for target in of_types(resources, VAULT, STORAGE, REGISTRY):
        _endpoint_matches(resources, target, None).settle(out, "resource has no private endpoint", target.urn)
    return out


RULES = (net01, net02, net03, net04, net05, net06, net07, net08)
__all__ = ["RULES", "connections", "covers", "is_internet", "security_rules", "subnets"]

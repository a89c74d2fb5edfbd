"""A Mermaid architecture diagram of one stack, drawn from its plan.json.

What is drawn and how each thing is recognised (by type token, then by its inputs):

- the virtual network as a subgraph, each subnet a subgraph inside it (``virtualNetworkName``);
- every resource whose inputs reference a subnet id (``...subnet.id``: private endpoints, the GPU
  scale set's NICs, the internal load balancer's frontend) inside that subnet;
- the OpenAI account with its deployments in the order Azure deploys them (each deployment
  depends on the one before: ``dependencies``), a NAT gateway, peered hub networks;
- Key Vault, the Log Analytics workspace, private DNS zones;
- edges private endpoint -> target (``privateLinkServiceConnections[].privateLinkServiceId``),
  private endpoint -> DNS zone (zone groups), resource -> workspace (diagnostic settings,
  ``resourceUri`` -> ``workspaceId``).

ARM ids are matched to resources by their last ``<type>/<name>`` segments against each
resource's ARM type segment and physical name (the same table the mock runtime uses to form
ids), so both mock and real ids resolve. Anything referenced but not in the plan is drawn as an
external node. Node ids are generated (``kv3``, ``pe7``), never taken from resource names, and
labels are reduced to a safe character set, so a name cannot break the Mermaid syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import arm

NET = "azure-native:network:"
VNET = NET + "VirtualNetwork"
SUBNET = NET + "Subnet"
PRIVATE_ENDPOINT = NET + "PrivateEndpoint"
ZONE_GROUP = NET + "PrivateDnsZoneGroup"
NSG = NET + "NetworkSecurityGroup"
LOAD_BALANCER = NET + "LoadBalancer"
PEERING = NET + "VirtualNetworkPeering"
SCALE_SET = "azure-native:compute:VirtualMachineScaleSet"
ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
VAULT = "azure-native:keyvault:Vault"
WORKSPACE = "azure-native:operationalinsights:Workspace"
ZONE = "azure-native:privatedns:PrivateZone"
VNET_LINK = "azure-native:privatedns:VirtualNetworkLink"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
AUTOSCALE = "azure-native:monitor:AutoscaleSetting"

# What a label may hold. Mermaid 11.x reads every flowchart label as Markdown (11.3, which GitHub
# renders with, to 11.6 draw "Unsupported markdown: list" for a label like ``1. chat``, without an
# error); so no quotes, brackets, pipes or tags (Mermaid syntax, HTML), no ``* _ ` ~ # + = > <``
# (emphasis, code, strike-through, headings, rules, block quotes), and no line may start like a list
# item (``1.``, ``2)``, ``-``): see _unlisted. An underscore is kept only inside a word, where
# Markdown never reads it as emphasis (``snet_gpu``).
_SAFE = re.compile(r"[^A-Za-z0-9 .:/@,_-]+|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
TITLE_CHARS = 24
"""The longest group title that stays on one line (Mermaid wraps titles at about 200 px)."""
_LIST_START = re.compile(r"^(?:-+\s*|(\d+)[.)](?=\s|$))")


def _unlisted(line: str) -> str:
    """``line`` without a leading list marker: ``- x`` -> ``x``, ``1. x`` -> ``1 x``."""
    while (m := _LIST_START.match(line)) is not None and m.group(0):
        line = (m.group(1) or "") + line[m.end():]
        line = line.lstrip() if not m.group(1) else line
        if m.group(1):
            break
    return line


def label_text(value: Any) -> str:
    """``value`` as one line of a quoted Mermaid label: plain words that no Mermaid version reads as
    syntax, HTML or Markdown."""
    text = _SAFE.sub(" ", str(value)).strip()
    return _unlisted(re.sub(r"\s{2,}", " ", text))[:80].strip()


def _label(*lines: Any) -> str:
    return "<br/>".join(label_text(x) for x in lines if x not in (None, ""))


def arm_key(rid: str) -> tuple[str, str] | None:
    """``(type segment, name)`` of an ARM id, lower-cased: its last two path segments."""
    parts = [p for p in rid.split("/") if p]
    if len(parts) < 2 or not rid.startswith("/"):
        return None
    return parts[-2].lower(), parts[-1].lower()


def physical_name(res: dict[str, Any]) -> str:
    """The Azure name of a plan resource: its explicit name input, else its Pulumi name."""
    return arm.physical_name(res["type"], res["name"], res.get("inputs"))


def _resource_key(res: dict[str, Any]) -> tuple[str, str] | None:
    entry = arm.arm_type(res["type"])
    return (entry.segment.lower(), physical_name(res).lower()) if entry else None


def _node(token: str) -> arm.Node:
    """How ``token`` is drawn: from the type table, else a generic box titled by the token."""
    entry = arm.arm_type(token)
    return entry.node if entry and entry.node else arm.Node("res", token.removeprefix("azure-native:"))


def _subnet_refs(value: Any) -> Iterator[str]:
    """Every ``subnet: {id: ...}`` id anywhere in ``value`` (NICs, frontends, endpoints)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "subnet" and isinstance(item, dict) and isinstance(item.get("id"), str):
                yield item["id"]
            else:
                yield from _subnet_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _subnet_refs(item)


def _load_balancer_refs(value: Any) -> set[str]:
    """Names of load balancers whose backend pools ``value`` joins (``.../loadBalancers/<name>/...``)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "loadBalancerBackendAddressPools" and isinstance(item, list):
                for pool in item:
                    rid = (_id_of(pool) or "").split("/")
                    if "loadBalancers" in rid and rid.index("loadBalancers") + 1 < len(rid):
                        found.add(rid[rid.index("loadBalancers") + 1].lower())
            else:
                found |= _load_balancer_refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= _load_balancer_refs(item)
    return found


def resource_group(rid: str) -> str | None:
    """The resource group an ARM id names (lower-cased), None when it names none."""
    parts = rid.lower().split("/")
    return parts[parts.index("resourcegroups") + 1] if "resourcegroups" in parts[:-1] else None


def _id_of(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) and isinstance(value.get("id"), str) else None


@dataclass
class _Graph:
    lines: list[str] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    """Resource URN (or external ARM key) -> node id."""
    counter: int = 0
    external: list[str] = field(default_factory=list)

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def edge(self, a: str | None, b: str | None, text: str = "", dotted: bool = False) -> None:
        if a is None or b is None or a == b:
            return
        arrow = "-.->" if dotted else "-->"
        line = f"{a} {arrow}|{label_text(text)}| {b}" if text else f"{a} {arrow} {b}"
        if line not in self.edges:
            self.edges.append(line)

    def stack(self, ids: Iterator[str] | list[str]) -> None:
        """Place ``ids`` one under the other with invisible links (``~~~``, Mermaid 9.3 and later)."""
        order = list(ids)
        for a, b in zip(order, order[1:], strict=False):
            self.edges.append(f"{a} ~~~ {b}")


class _Builder:
    """Turns one plan document into Mermaid flowchart lines."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.resources = [r for r in plan.get("resources", []) if r.get("custom")]
        self.by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in self.resources:
            key = _resource_key(r)
            if key is not None:
                self.by_key.setdefault(key, []).append(r)
        self.g = _Graph()
        self.egress: list[tuple[str, str]] = []

    # --- look-ups ---------------------------------------------------------------------------

    def of_type(self, token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == token]

    def resolve(self, rid: str | None) -> dict[str, Any] | None:
        """The plan resource an ARM id names: same type segment and name, and same resource group
        when both are known (a central DNS zone is not the stack's zone of the same name)."""
        key = arm_key(rid) if isinstance(rid, str) else None
        if key is None or rid is None:
            return None
        group = resource_group(rid)
        for res in self.by_key.get(key, []):
            own = (res.get("inputs") or {}).get("resourceGroupName")
            if group is None or not isinstance(own, str) or own.lower() == group:
                return res
        return None

    def node_for_id(self, rid: str | None, kind_hint: str = "external") -> str | None:
        """The node drawn for an ARM id: the plan resource's node, or a new external node."""
        if not isinstance(rid, str):
            return None
        res = self.resolve(rid)
        if res is not None:
            if res["urn"] in self.g.ids:
                return self.g.ids[res["urn"]]
            if res["type"] == SUBNET or res["type"] == VNET:
                return None
            return self.add_node(res, indent=1)
        key = arm_key(rid)
        if key is None:
            return None
        ext = "ext:" + "/".join(key)
        if ext not in self.g.ids:
            nid = self.g.new_id("ext")
            self.g.ids[ext] = nid
            self.g.lines.append(f'  {nid}["{_label(kind_hint, rid.rstrip("/").rsplit("/", 1)[-1])}"]')
            self.g.external.append(nid)
        return self.g.ids[ext]

    # --- nodes ------------------------------------------------------------------------------

    def describe(self, res: dict[str, Any]) -> str:
        inputs = res.get("inputs") or {}
        token = res["type"]
        title = _node(token).label
        name = physical_name(res)
        if token == SCALE_SET:
            sku = inputs.get("sku") or {}
            zones = inputs.get("zones")
            priority = ((inputs.get("virtualMachineProfile") or {}).get("priority") or "").lower()
            return _label(title, name, sku.get("name"), self.instances(res),
                          "Spot" if priority == "spot" else None,
                          f"zones {','.join(map(str, zones))}" if zones else None)
        if token == LOAD_BALANCER:
            frontend: dict[str, Any] = next(iter(inputs.get("frontendIPConfigurations") or []), {})
            rule: dict[str, Any] = next(iter(inputs.get("loadBalancingRules") or []), {})
            address = frontend.get("privateIPAddress")
            port = rule.get("frontendPort")
            return _label(title, name, f"{address}:{_num(port)}" if address and port else address)
        if token == ACCOUNT:
            props = inputs.get("properties") or {}
            access = props.get("publicNetworkAccess")
            return _label(title, name, f"kind {inputs.get('kind')}" if inputs.get("kind") else None,
                          f"public access {access}" if access else None)
        if token == VAULT:
            return _label(title, name)
        if token == WORKSPACE:
            days = inputs.get("retentionInDays")
            return _label(title, name, f"retention {_num(days)} days" if days is not None else None)
        return _label(title, name)

    def instances(self, scale_set: dict[str, Any]) -> str | None:
        """``instances 2-6`` from the autoscale setting that targets the scale set, else its capacity."""
        key = _resource_key(scale_set)
        for setting in self.of_type(AUTOSCALE):
            inputs = setting.get("inputs") or {}
            if arm_key(str(inputs.get("targetResourceUri"))) == key:
                profiles: list[dict[str, Any]] = inputs.get("profiles") or [{}]
                capacity = profiles[0].get("capacity") or {}
                if capacity.get("minimum") is not None:
                    return f"autoscale {capacity.get('minimum')}-{capacity.get('maximum')} instances"
        capacity = (scale_set.get("inputs") or {}).get("sku", {}).get("capacity")
        return f"{_num(capacity)} instances" if capacity is not None else None

    def add_node(self, res: dict[str, Any], indent: int, shape: str = "box") -> str:
        prefix = _node(res["type"]).prefix
        nid = self.g.new_id(prefix)
        self.g.ids[res["urn"]] = nid
        text = self.describe(res)
        pad = "  " * indent
        opening, closing = {"box": ("[", "]"), "db": ("[(", ")]"), "hex": ("{{", "}}")}[shape]
        self.g.lines.append(f'{pad}{nid}{opening}"{text}"{closing}')
        return nid

    # --- sections ---------------------------------------------------------------------------

    def network(self) -> None:
        subnets = self.of_type(SUBNET)
        placed: dict[str, list[dict[str, Any]]] = {s["urn"]: [] for s in subnets}
        for r in self.resources:
            if r["type"] in (SUBNET, VNET):
                continue
            for rid in _subnet_refs(r.get("inputs")):
                subnet = self.resolve(rid)
                if subnet is not None and subnet["urn"] in placed and r not in placed[subnet["urn"]]:
                    placed[subnet["urn"]].append(r)
                    break
        vnets = self.of_type(VNET)
        for vnet in vnets:
            space = ((vnet.get("inputs") or {}).get("addressSpace") or {}).get("addressPrefixes") or []
            vid = self.g.new_id("vnet")
            self.g.ids[vnet["urn"]] = vid
            # Group titles stay one short line: Mermaid wraps them at about 200 px and draws every
            # line after the first under the group's children. The full names are in the caption.
            text = _label("VNet " + " ".join(space))
            self.g.lines.append(f'  subgraph {vid}["{text}"]')
            self.g.lines.append("    direction TB")
            own = [s for s in subnets if _belongs(s, vnet, len(vnets))]
            for subnet in own:
                self.subnet(subnet, placed[subnet["urn"]], indent=2, stem=physical_name(vnet))
            self.g.lines.append("  end")
            # Subnets one under the other (an invisible link per pair): side by side they make the
            # diagram several times wider than a PR comment, and the labels unreadably small.
            self.g.stack(self.g.ids[s["urn"]] for s in own)
        for subnet in subnets:  # subnets of a network outside the plan (none in this project today)
            if subnet["urn"] not in self.g.ids:
                self.subnet(subnet, placed[subnet["urn"]], indent=1)

    def subnet(self, subnet: dict[str, Any], members: list[dict[str, Any]], indent: int,
               stem: str = "") -> None:
        inputs = subnet.get("inputs") or {}
        sid = self.g.new_id("snet")
        self.g.ids[subnet["urn"]] = sid
        pad = "  " * indent
        name = physical_name(subnet)
        # snet-<stack>-gpu in vnet-<stack> is titled "gpu" (the caption has the full names).
        prefix = "snet-" + stem.removeprefix("vnet-") + "-"
        short_name = name.removeprefix(prefix) if stem and name.startswith(prefix) else name
        text = label_text(f"{short_name} {inputs.get('addressPrefix') or ''}")
        if len(text) > TITLE_CHARS:  # would wrap: the range is in the caption
            text = label_text(short_name)
        self.g.lines.append(f'{pad}subgraph {sid}["{text}"]')
        if not members:
            self.g.lines.append(f'{pad}  {self.g.new_id("free")}["{_label("empty")}"]')
        endpoints = [m for m in members if m.get("type") == PRIVATE_ENDPOINT]
        if len(endpoints) > 2:
            # One node listing them, as for the DNS zones: a prod stack's four endpoints side by side made
            # the network view 2,000 px wide, shrunk to 6.5 px text at comment width.
            nid = self.g.new_id("pe")
            text = _label(f"{len(endpoints)} private endpoints", *(physical_name(pe) for pe in endpoints))
            self.g.lines.append(f'{pad}  {nid}["{text}"]')
            self.g.ids.update((pe["urn"], nid) for pe in endpoints)
            members = [m for m in members if m.get("type") != PRIVATE_ENDPOINT]
        for member in members:
            self.add_node(member, indent + 1)
        self.g.lines.append(f"{pad}end")
        nat = _id_of(inputs.get("natGateway"))
        if nat:
            self.egress.append((sid, nat))  # drawn after the network, so the NAT node sits outside it

    def openai(self) -> None:
        for account in self.of_type(ACCOUNT):
            name = physical_name(account)
            deployments = [d for d in self.of_type(DEPLOYMENT) if _deployment_of(d, account, name)]
            gid = self.g.new_id("aoai")
            self.g.lines.append(f'  subgraph {gid}["{_label("Azure OpenAI")}"]')
            self.g.lines.append("    direction TB")
            aid = self.add_node(account, indent=2)
            previous = aid
            for dep in _chain_order(deployments):
                did = self.g.new_id("dep")
                self.g.ids[dep["urn"]] = did
                inputs = dep.get("inputs") or {}
                model = (inputs.get("properties") or {}).get("model") or {}
                sku = inputs.get("sku") or {}
                text = _label(f"Deployment {inputs.get('deploymentName') or dep['name']}",
                              f"{model.get('name', '?')} {model.get('version', '')}",
                              f"{sku.get('name', '?')} x {_num(sku.get('capacity'))}")
                self.g.lines.append(f'    {did}["{text}"]')
                self.g.edge(previous, did, "then" if previous != aid else "")
                previous = did
            self.g.lines.append("  end")

    def services(self) -> None:
        """Every standalone type of the type table not placed yet: stores (cylinders) first, then boxes."""
        standalone = [(token, t.node) for token, t in arm.ARM_TYPES.items()
                      if t.node and t.node.standalone and not token.startswith(NET)]  # NET: network view
        for token, node in sorted(standalone, key=lambda item: item[1].shape != "db"):
            for res in self.of_type(token):
                if res["urn"] not in self.g.ids:
                    self.add_node(res, indent=1, shape=node.shape)

    def dns(self) -> None:
        """The stack's private DNS zones as one node listing them (a node per zone lays out a
        1,500 px row, or a column that pushes the network aside), linked from the networks."""
        zones = self.of_type(ZONE)
        if not zones:
            return
        did = self.g.new_id("dns")
        for zone in zones:
            self.g.ids[zone["urn"]] = did
        self.g.lines.append(f'  {did}["{_label("Private DNS zones", *(physical_name(z) for z in zones))}"]')
        linked = {_id_of((link.get("inputs") or {}).get("virtualNetwork"))
                  for link in self.of_type(VNET_LINK)}
        for vid in (self.node_for_vnet(rid) for rid in linked if rid):
            self.g.edge(vid, did, "linked", dotted=True)

    def node_for_vnet(self, rid: str) -> str | None:
        res = self.resolve(rid)
        return self.g.ids.get(res["urn"]) if res is not None else self.node_for_id(rid, "Virtual network")

    def peerings(self) -> None:
        for peering in self.of_type(PEERING):
            inputs = peering.get("inputs") or {}
            local = next((v for v in self.of_type(VNET)
                          if physical_name(v) == inputs.get("virtualNetworkName")), None)
            remote = self.node_for_id(_id_of(inputs.get("remoteVirtualNetwork")), "Hub network")
            self.g.edge(self.g.ids.get(local["urn"]) if local else None, remote, "peering")

    def target_links(self) -> None:
        """Private endpoint -> the resource it reaches (``privateLinkServiceConnections``)."""
        for pe in self.of_type(PRIVATE_ENDPOINT):
            inputs = pe.get("inputs") or {}
            connections = (inputs.get("privateLinkServiceConnections") or []) + \
                          (inputs.get("manualPrivateLinkServiceConnections") or [])
            for conn in connections:
                groups = ",".join(conn.get("groupIds") or [])
                target = self.node_for_id(conn.get("privateLinkServiceId"), "Private link target")
                self.g.edge(self.g.ids.get(pe["urn"]), target, f"private link {groups}".strip())

    def zone_links(self) -> None:
        """Private endpoint -> the DNS zones its zone group registers it in."""
        endpoints = {physical_name(pe): pe for pe in self.of_type(PRIVATE_ENDPOINT)}
        for group in self.of_type(ZONE_GROUP):
            inputs = group.get("inputs") or {}
            owner = endpoints.get(str(inputs.get("privateEndpointName")))
            if owner is None:
                continue
            for conf in inputs.get("privateDnsZoneConfigs") or []:
                zone = self.node_for_id(conf.get("privateDnsZoneId"), "Central DNS zone")
                self.g.edge(self.g.ids.get(owner["urn"]), zone, "dns", dotted=True)

    def balancer_links(self) -> None:
        """Load balancer -> the members of its backend pool (the GPU scale set)."""
        for balancer in self.of_type(LOAD_BALANCER):
            lb_name = physical_name(balancer).lower()
            rules: list[dict[str, Any]] = (balancer.get("inputs") or {}).get("loadBalancingRules") or []
            port = rules[0].get("backendPort") if rules else None
            for member in self.resources:
                if member is not balancer and lb_name in _load_balancer_refs(member.get("inputs")):
                    self.g.edge(self.g.ids.get(balancer["urn"]), self.g.ids.get(member["urn"]),
                                f"port {_num(port)}" if port is not None else "backend pool")

    def diagnostic_links(self, only: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> None:
        """Resource -> workspace for each diagnostic setting (``resourceUri`` -> ``workspaceId``) of
        a resource of a type in ``only`` (any when empty) and not in ``exclude``."""
        for diag in self.of_type(DIAGNOSTICS):
            inputs = diag.get("inputs") or {}
            target = self.resolve(inputs.get("resourceUri"))
            if target is None or (only and target["type"] not in only) or target["type"] in exclude:
                continue
            source = self.shown_as(target)
            sink = self.node_for_id(inputs.get("workspaceId"), "Log Analytics workspace")
            self.g.edge(source, sink, "diagnostics", dotted=True)

    def shown_as(self, res: dict[str, Any]) -> str | None:
        """The node that stands for ``res``: its own, or the subnet an NSG protects."""
        if res["urn"] in self.g.ids:
            return self.g.ids[res["urn"]]
        if res["type"] == NSG:
            rid_key = _resource_key(res)
            for subnet in self.of_type(SUBNET):
                nsg = _id_of((subnet.get("inputs") or {}).get("networkSecurityGroup"))
                if nsg and arm_key(nsg) == rid_key:
                    return self.g.ids.get(subnet["urn"])
        return None

    def endpoints(self) -> None:
        """The private endpoints, outside the network (the services view): how each service is reached."""
        for pe in self.of_type(PRIVATE_ENDPOINT):
            subnet = next((self.resolve(rid) for rid in _subnet_refs(pe.get("inputs"))), None)
            nid = self.g.new_id("pe")
            self.g.ids[pe["urn"]] = nid
            text = _label("Private endpoint", physical_name(pe),
                          f"in {physical_name(subnet)}" if subnet is not None else None)
            self.g.lines.append(f'  {nid}["{text}"]')

    def build(self, view: str) -> list[str]:
        if view == "network":
            self.network()
            self.dns()
            for sid, nat in self.egress:
                self.g.edge(sid, self.node_for_id(nat, "NAT gateway"), "egress")
            self.peerings()
            self.zone_links()
            self.balancer_links()
            self.diagnostic_links(only=(SUBNET, NSG))
        elif view == "services":
            self.endpoints()
            self.openai()
            self.services()
            self.target_links()
            self.diagnostic_links(exclude=(SUBNET, NSG))
        else:
            raise ValueError(f"unknown view {view!r}: expected one of {', '.join(VIEWS)}")
        out = ["flowchart TB", *self.g.lines, *("  " + e for e in self.g.edges)]
        if self.g.external:
            out.append("  classDef external stroke-dasharray: 4 4")
            out.append(f"  class {','.join(self.g.external)} external")
        return out


def _belongs(subnet: dict[str, Any], vnet: dict[str, Any], vnet_count: int) -> bool:
    name = (subnet.get("inputs") or {}).get("virtualNetworkName")
    if isinstance(name, str):
        return name == physical_name(vnet)
    return vnet_count == 1 or subnet.get("parent") == vnet.get("parent")


def _deployment_of(dep: dict[str, Any], account: dict[str, Any], account_name: str) -> bool:
    name = (dep.get("inputs") or {}).get("accountName")
    return name == account_name if isinstance(name, str) else dep.get("parent") == account.get("parent")


def _chain_order(deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deployments in dependency order (each waits for the one it depends on), else plan order."""
    urns = {d["urn"] for d in deployments}
    done: list[dict[str, Any]] = []
    pending = list(deployments)
    while pending:
        placed = {x["urn"] for x in done}
        ready = next((d for d in pending if not (set(d.get("dependencies") or []) & urns) - placed),
                     pending[0])
        done.append(ready)
        pending.remove(ready)
    return done


def _num(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


VIEWS = {"network": "Network: address space, subnets and what sits in them, egress, DNS",
         "services": "Services: how each is reached (private endpoints), model deployments, stores, logs"}
"""The diagrams of one stack. One diagram of everything is laid out 3,000-4,000 px wide, which a
PR comment (846 px) shrinks to 3-4 px text; each view alone fits with its labels legible."""


def architecture(plan: dict[str, Any], view: str) -> str:
    """The Mermaid flowchart (without code fences) of ``view`` (a key of VIEWS) of the stack in ``plan``."""
    return "\n".join(_Builder(plan).build(view)) + "\n"


def caption(plan: dict[str, Any], view: str) -> str:
    """The Markdown line above a view: what it shows, and the full names its short titles stand for."""
    if view != "network":
        return VIEWS[view]
    names = [label_text(physical_name(v)) for v in plan.get("resources") or [] if v.get("type") == VNET]
    subnets = [label_text(f"{physical_name(s)} {(s.get('inputs') or {}).get('addressPrefix') or ''}")
               for s in plan.get("resources") or [] if s.get("type") == SUBNET]
    text = VIEWS[view]
    if names:
        text += f" (network {', '.join(names)}; subnets {', '.join(subnets) or 'none'})"
    return text.replace("_", "\\_")  # label_text leaves no other Markdown or HTML


def mermaid_block(plan: dict[str, Any]) -> str:
    """Every view of ``plan``, each with its caption, in fenced ```` ```mermaid ```` blocks as GitHub renders them."""
    return "".join(f"\n<sub>{caption(plan, view)}</sub>\n\n```mermaid\n{architecture(plan, view)}```\n"
                   for view in VIEWS)

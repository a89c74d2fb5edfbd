"""Checks several rules share, and the tri-state ``Match`` the stack rules accumulate into."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..model import Context, Findings
from ..values import Undetermined, elements, eq, flat, get


def any_of(props: Any, *checks: tuple[str, str]) -> bool:
    """Whether any ``(path, expected)`` holds (case-insensitive); unknowns matter only if none holds."""
    unknown: Undetermined | None = None
    for path, expected in checks:
        try:
            if eq(get(props, path), expected):
                return True
        except Undetermined as exc:
            unknown = unknown or exc
    if unknown:
        raise unknown
    return False


MAX_OPEN_ADDRESSES = 256
"""How many addresses a firewall's IP rules may admit in all by default (a /24: an office or a NAT egress range;
IPv6 counted in /64s, one network each). Judged over all of a resource's rules together, overlaps counted once:
many /9 rules, each "narrower than the Internet", once opened half of it (found by review). A platform with more
egress ranges raises ``maxOpenAddresses`` in the policy config."""
OPEN_ADDRESSES_SETTING = {
    "type": "integer", "minimum": 0, "default": MAX_OPEN_ADDRESSES,
    "description": "How many addresses the firewall's IP rules may admit in all (IPv6 counted in /64s).",
}


def _ip_network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return ipaddress.ip_network(text if "/" in text or text != "0.0.0.0" else "0.0.0.0/0", strict=False)
    except ValueError:
        return None


def admitted_addresses(values: list[Any]) -> int:
    """How many addresses a firewall's IP rule values (``203.0.113.0/24``, ``0.0.0.0``...) admit together: IPv4
    addresses, plus IPv6 /64 networks (a /64 is one network, whatever its 2^64 addresses)."""
    networks = [n for n in map(_ip_network, values) if n is not None]
    v4 = ipaddress.collapse_addresses([n for n in networks if n.version == 4])  # type: ignore[misc]
    v6 = ipaddress.collapse_addresses([n for n in networks if n.version == 6])  # type: ignore[misc]
    return sum(n.num_addresses for n in v4) + sum(max(1, n.num_addresses >> 64) for n in v6)


def firewall_problem(props: Any, pna_path: str, acl_path: str, ip_rules: tuple[str, str], limit: int) -> str | None:
    """Why a resource is open to public networks, or None: it is closed when public network access is Disabled,
    or when the firewall's default action is Deny and its IP rules (``ip_rules``: the list's path and the value
    key) admit at most ``limit`` addresses. A default action Deny beside an ipRule ``0.0.0.0/0`` is as open as
    Allow."""
    pna_unknown: Undetermined | None = None
    try:
        if any_of(props, (pna_path, "Disabled")):
            return None
    except Undetermined as exc:  # either property may settle it: look at the firewall first
        pna_unknown = exc
    list_path, key = ip_rules
    if any_of(props, (acl_path, "Deny")):
        admitted = admitted_addresses([get(flat(rule), key) for rule in elements(props, list_path)])
        if admitted <= limit:
            return None
        problem = (f"{pna_path} is not Disabled and {acl_path} is Deny, but {list_path} admit {admitted:,} "
                   f"addresses (IPv6 counted in /64s), over the {limit:,} allowed (maxOpenAddresses)")
    else:
        problem = f"neither {pna_path} is Disabled nor {acl_path} is Deny (unset means open)"
    if pna_unknown is not None:
        raise pna_unknown
    return problem


def firewall_findings(props: Any, ctx: Context) -> list[str]:
    """ST-03 / ACR-02: a storage account or registry closed by ``publicNetworkAccess`` or its firewall."""
    problem = firewall_problem(props, "publicNetworkAccess", "networkRuleSet.defaultAction",
                               ("networkRuleSet.ipRules", "iPAddressOrRange"), ctx.config["maxOpenAddresses"])
    return [problem] if problem else []


def has_managed_identity(props: Any, path: str = "identity.type") -> bool:
    """Whether ``identity.type`` names a system- or user-assigned identity."""
    value = get(props, path)
    normalised = value.lower().replace(" ", "") if isinstance(value, str) else ""
    return "systemassigned" in normalised or "userassigned" in normalised


class Match:
    """Tri-state accumulator: found / could not tell / not found."""

    def __init__(self) -> None:
        self.found = False
        self.unknown: str | None = None

    def see(self, answer: bool | None, path: str) -> None:
        if answer:
            self.found = True
        elif answer is None and self.unknown is None:
            self.unknown = path

    def settle(self, out: Findings, message: str, urn: str) -> None:
        """Report ``message`` when nothing matched; record an unknown when that is why."""
        if self.found:
            return
        if self.unknown:
            out.undetermined.append(self.unknown)
        else:
            out.add(message, urn)

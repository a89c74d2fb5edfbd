"""Checks several rules share, and the tri-state ``Match`` the stack rules accumulate into."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..model import Findings
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
"""The most public addresses a firewall's IP rules may admit in all, a /24: an office or a NAT egress range.
Judged over all of a resource's rules together, overlaps counted once: many /9 rules, each "narrower than the
Internet", once opened half of it (found by review)."""


def _ip_network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return ipaddress.ip_network(text if "/" in text or text != "0.0.0.0" else "0.0.0.0/0", strict=False)
    except ValueError:
        return None


def admitted_addresses(values: list[Any]) -> int:
    """How many addresses a firewall's IP rule values (``203.0.113.0/24``, ``0.0.0.0``...) admit together."""
    networks = [n for n in map(_ip_network, values) if n is not None]
    return sum(n.num_addresses for version in (4, 6)
               for n in ipaddress.collapse_addresses([n for n in networks if n.version == version]))  # type: ignore[misc]


def opens_internet(values: list[Any]) -> bool:
    """Whether a firewall's IP rules together admit more than ``MAX_OPEN_ADDRESSES`` public addresses."""
    return admitted_addresses(values) > MAX_OPEN_ADDRESSES


def network_closed(props: Any, pna_path: str, acl_path: str, ip_rules: tuple[str, str] | None = None) -> bool:
    """Public network access Disabled, or the firewall's default action Deny with IP rules that admit at
    most ``MAX_OPEN_ADDRESSES`` in all (``ip_rules``: the rules' list path and their value key). A default
    action Deny beside an ipRule ``0.0.0.0/0`` is as open as Allow."""
    if ip_rules is None:
        return any_of(props, (pna_path, "Disabled"), (acl_path, "Deny"))
    pna_unknown: Undetermined | None = None
    try:
        if any_of(props, (pna_path, "Disabled")):
            return True
    except Undetermined as exc:  # either property may settle it: look at the firewall first
        pna_unknown = exc
    list_path, key = ip_rules
    if any_of(props, (acl_path, "Deny")) and not opens_internet(
            [get(flat(rule), key) for rule in elements(props, list_path)]):
        return True
    if pna_unknown is not None:
        raise pna_unknown
    return False


def firewall_findings(props: Any) -> list[str]:
    """ST-03 / ACR-02: a storage account or registry closed by ``publicNetworkAccess`` or its firewall."""
    if not network_closed(props, "publicNetworkAccess", "networkRuleSet.defaultAction",
                          ("networkRuleSet.ipRules", "iPAddressOrRange")):
        return [
            "neither publicNetworkAccess is Disabled nor networkRuleSet.defaultAction is Deny (unset means "
            "open) without an ipRule that reopens it to the Internet"
        ]
    return []


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

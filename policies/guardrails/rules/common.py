"""Checks several rules share, and the tri-state ``Match`` the stack rules accumulate into."""

from __future__ import annotations

from typing import Any

from ..model import Findings
from ..values import Undetermined, eq, get


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


def network_closed(props: Any, pna_path: str, acl_path: str) -> bool:
    """Public network access Disabled, or the firewall's default action Deny: either closes the door."""
    return any_of(props, (pna_path, "Disabled"), (acl_path, "Deny"))


def firewall_findings(props: Any) -> list[str]:
    """ST-03 / ACR-02: a storage account or registry closed by ``publicNetworkAccess`` or its firewall."""
    if not network_closed(props, "publicNetworkAccess", "networkRuleSet.defaultAction"):
        return [
            "neither publicNetworkAccess is Disabled nor networkRuleSet.defaultAction is Deny (unset means "
            "open)"
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

"""Checks several rules share."""

from __future__ import annotations

from typing import Any

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


def has_managed_identity(props: Any, path: str = "identity.type") -> bool:
    """Whether ``identity.type`` names a system- or user-assigned identity."""
    value = get(props, path)
    normalised = value.lower().replace(" ", "") if isinstance(value, str) else ""
    return "systemassigned" in normalised or "userassigned" in normalised

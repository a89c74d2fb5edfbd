"""Foundation layer: network, monitoring, Key Vault and budget (issue: networking components)."""

from __future__ import annotations

import pulumi

from ..components.interfaces import Foundation, Placement
from ..config import StackConfig


def build_foundation(cfg: StackConfig, placement: Placement, *, parent: pulumi.Resource) -> tuple[Foundation | None, dict]:
    """Declare the stack's shared foundation and return its contract plus stack exports."""
    # Scaffolding until the networking components land: nothing is declared yet.
    return None, {}

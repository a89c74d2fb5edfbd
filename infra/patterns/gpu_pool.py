"""GPU inference pool layer (issue: GPU inference pool)."""

from __future__ import annotations

import pulumi

from ..components.interfaces import Foundation
from ..config import StackConfig


def build_gpu_pool(cfg: StackConfig, foundation: Foundation | None, *, parent: pulumi.Resource) -> tuple[object | None, dict]:
    """Declare the GPU pool when the stack has a ``gpuPool`` section."""
    # Scaffolding until the GPU pool component lands: nothing is declared yet.
    return None, {}

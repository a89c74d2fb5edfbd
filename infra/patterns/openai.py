"""Azure OpenAI layer (issue: Azure OpenAI service component)."""

from __future__ import annotations

import pulumi

from ..components.interfaces import Foundation
from ..config import StackConfig


def build_openai(
    cfg: StackConfig, foundation: Foundation | None, *, gpu_pool: object | None, parent: pulumi.Resource
) -> tuple[object | None, dict]:
    """Declare the OpenAI account, filters and deployments when the stack has an ``openai`` section."""
    # Scaffolding until the OpenAI component lands: nothing is declared yet.
    return None, {}

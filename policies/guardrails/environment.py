"""How a rule knows that a resource is production.

A resource is **prod** when either signal says so (the stricter answer wins, so a hand-written
resource tagged ``environment: dev`` in a prod stack is still prod):

1. its own ``environment`` tag, when set and known, or
2. the stack's environment, which the pack process reads from what the Pulumi engine passes it:
   the stack config key ``<project>:environment`` (``ai-serving:environment`` in this project;
   ``PULUMI_CONFIG``), else the last ``-`` part of the stack name (``team-a-prod`` -> ``prod``;
   ``PULUMI_STACK``).

Either value counts as prod when it is in the rule's ``prodEnvironments`` config (default
``prod``, ``production``; case-insensitive).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from .model import Context
from .values import is_unknown, reveal


def stack_environment(env: Mapping[str, str] | None = None) -> str | None:
    """The stack's environment from the engine's environment variables (None if undecidable)."""
    env = os.environ if env is None else env
    try:
        config = json.loads(env.get("PULUMI_CONFIG") or "{}")
    except json.JSONDecodeError:
        config = {}
    project = env.get("PULUMI_PROJECT") or "ai-serving"
    for key in (f"{project}:environment", "ai-serving:environment"):
        value = config.get(key) if isinstance(config, dict) else None
        if isinstance(value, str) and value:
            return value
    stack = (env.get("PULUMI_STACK") or "").rsplit("/", 1)[-1]
    if stack:
        return stack.rsplit("-", 1)[-1]
    return None


def tagged_environment(props: Mapping[str, Any]) -> str | None:
    """The resource's ``environment`` tag, when set and known."""
    tags = reveal(props.get("tags")) if isinstance(props, Mapping) else None
    if not isinstance(tags, Mapping):
        return None
    value = reveal(tags.get("environment"))
    return value if isinstance(value, str) and not is_unknown(value) else None


def is_prod(props: Mapping[str, Any], ctx: Context) -> bool:
    """Whether the resource with ``props`` is production (see the module docstring)."""
    prod = {e.lower() for e in ctx.config.get("prodEnvironments", ["prod", "production"])}
    candidates = [tagged_environment(props), ctx.stack_environment]
    return any(isinstance(c, str) and c.lower() in prod for c in candidates)


__all__ = ["is_prod", "stack_environment", "tagged_environment"]

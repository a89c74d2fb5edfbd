"""Pulumi's wire form of property values: the secret wrapper, and masking it for files and terminals.

Kept free of heavy imports so that every command (plan, diff, report) can use it: the signatures are
the Pulumi SDK's own (``pulumi.runtime.rpc._special_sig_key`` / ``_special_secret_sig`` / ``UNKNOWN``), copied here
so that reading a plan never loads the SDK, and pinned to the SDK by tests/test_tooling_layout.py.
The policy pack keeps its own copy (``policies/guardrails/values.py``; it imports no tooling), pinned
the same way.
"""

from __future__ import annotations

from typing import Any

SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key that marks a secret-wrapped value: ``{SECRET_SIG: SECRET_VALUE_SIG, "value": ...}``."""
SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The string that stands for a value not known yet (``pulumi.runtime.rpc.UNKNOWN``)."""
MASK = "[secret]"


def is_secret(value: Any) -> bool:
    """Whether a wire value is a secret-wrapped value."""
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE_SIG


def mask_secrets(value: Any) -> Any:
    """Replace every secret-wrapped wire value with ``"[secret]"`` (for files and terminal output)."""
    if is_secret(value):
        return MASK
    if isinstance(value, dict):
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value

"""The program's one boundary with the Pulumi SDK's internals.

The program needs the stack's whole config map (every ``ai-serving:*`` key, to validate it as one
document with line numbers and "did you mean"), which ``pulumi.Config`` only offers key by key.
The SDK keeps the map in ``pulumi.runtime.config.CONFIG`` (a context variable the language host
fills) and in the ``PULUMI_CONFIG`` environment variable (``get_config_env``), and which keys were
encrypted (``secure:``) behind ``is_config_secret``; they are read here only, so an SDK upgrade that
moves them breaks one module.
"""

from __future__ import annotations

from collections.abc import Iterable


def stack_config_map() -> dict[str, str]:
    """The running stack's config as the engine handed it over: namespaced keys -> strings."""
    from pulumi.runtime import config as runtime_config

    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def stack_secret_keys(keys: Iterable[str]) -> list[str]:
    """Which of ``keys`` the engine handed over as secrets (``secure:`` in the stack file).

    The engine decrypts a secret and hands the program its text like any other value; only this list
    (``PULUMI_CONFIG_SECRET_KEYS``, which the language host sets and the SDK reads at start-up) says
    that it was encrypted.
    """
    from pulumi.runtime import config as runtime_config

    return sorted(k for k in keys if runtime_config.is_config_secret(k))

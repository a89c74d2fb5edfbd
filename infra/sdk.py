"""The program's one boundary with the Pulumi SDK's internals.

The program needs the stack's whole config map (every ``ai-serving:*`` key, to validate it as one
document with line numbers and "did you mean"), which ``pulumi.Config`` only offers key by key.
The SDK keeps the map in ``pulumi.runtime.config.CONFIG`` (a context variable the language host
fills) and in the ``PULUMI_CONFIG`` environment variable (``get_config_env``); both are read here
only, so an SDK upgrade that moves them breaks one function.
"""

from __future__ import annotations


def stack_config_map() -> dict[str, str]:
    """The running stack's config as the engine handed it over: namespaced keys -> strings."""
    from pulumi.runtime import config as runtime_config

    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}

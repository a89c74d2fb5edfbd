"""The tooling's one boundary with the Pulumi SDK's internals (private names, runtime globals).

The offline runner drives the Python SDK the way the language host does, which needs a few things
the SDK does not export publicly. They are used here only, so an SDK upgrade that moves one breaks
one module (the pinned version is in requirements.lock):

- ``pulumi.runtime.settings.ROOT``: the root stack resource of the current run, a context variable
  that must be reset between two programs run in one process;
- ``pulumi.runtime.settings.configure`` and ``pulumi.runtime.config.set_all_config``: the settings
  and config the engine would pass to a fresh language host;
- ``pulumi.runtime.sync_await._sync_await``: run the program's coroutine to completion, as the
  language host's entry point does;
- ``ResourceOptions._copy``: a shallow copy of resource options inside a transformation (the SDK's
  own ``merge`` would re-merge the list options we are editing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await


def reset_root_resource() -> None:
    """Forget the previous program's root stack resource (one process may run many programs)."""
    pulumi_settings.ROOT.set(None)


def configure_runtime(*, monitor: Any, engine: Any, project: str, stack: str, config: Mapping[str, str],
                      secret_keys: Sequence[str], dry_run: bool, root_directory: str) -> None:
    """Point the SDK at ``monitor`` and ``engine`` with ``config``, as a fresh language host would."""
    reset_root_resource()
    set_all_config(dict(config), list(secret_keys))
    pulumi_settings.configure(pulumi_mocks.MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=engine,
        project=project,
        stack=stack,
        dry_run=dry_run,
        organization="organization",
        root_directory=root_directory,
        callbacks=None,
    ))


def run_stack_program(program: Callable[[], None]) -> None:
    """Run ``program`` inside a root stack resource until every registration is done."""
    _sync_await(run_in_stack(program))


def copy_options(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    """A shallow copy of ``opts`` that a transformation may edit."""
    return opts._copy()

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
  own ``merge`` would re-merge the list options we are editing);
- ``pulumi.runtime.settings.SETTINGS.rpc_manager`` / ``.outputs`` and the asyncio event loop: state one
  program run leaves behind that must not reach the next (see ``configure_runtime``, ``run_stack_program``);
- ``pulumi.runtime.resource._get_stack_trace``: the call stack every resource constructor captures for
  the engine's diagnostics, which nothing offline reads (see ``without_stack_traces``).

It also runs the mock monitor's RPCs on the loop's own thread (``MockRpcExecutor``), which needs
asyncio's ``_get_running_loop`` / ``_set_running_loop`` (exported in ``asyncio.__all__``, "intended to be
used by event loops") and ``pulumi.runtime._context.wrap_with_context`` (to tell the SDK's RPCs from
anything else sent to the executor).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime._context import wrap_with_context
from pulumi.runtime.config import set_all_config
from pulumi.runtime.rpc_manager import RPCManager
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
    # configure() copies a Settings' plain attributes only; the RPC manager (which keeps the first
    # unhandled exception) and the set of pending output tasks live in context variables that stay
    # those of the first run. Give every run fresh ones, or one stack's failure fails the next
    # (issue 15: a stack whose budget could not be registered failed the next stack in the worker).
    pulumi_settings.SETTINGS.rpc_manager = RPCManager()
    pulumi_settings.SETTINGS.outputs = set()


CONFIG_ENV = "PULUMI_CONFIG"
"""The environment variable the language host hands the program its config map in (JSON), and
``pulumi.runtime.config.get_config_env`` (so ``infra/sdk.py``) reads it from."""
SECRET_KEYS_ENV = "PULUMI_CONFIG_SECRET_KEYS"
"""Beside it: which of those keys were encrypted (a JSON list)."""


def language_host_environment(config: Mapping[str, str], secret_keys: Sequence[str]) -> dict[str, str]:
    """The config variables the engine's language host sets for the program: the stack's config, whatever
    the environment held before.

    ``pulumi-language-python`` (pulumi/pulumi, sdk/python/cmd/pulumi-language-python/main.go, ``Run``)
    appends ``PULUMI_CONFIG=<the RunRequest's config as JSON>`` and ``PULUMI_CONFIG_SECRET_KEYS`` to its own
    environment when it starts the program, and Go's ``exec.Cmd`` keeps the last value of a duplicated
    name: a ``PULUMI_CONFIG`` inherited from a shell or a CI job never reaches a real ``pulumi preview``'s
    program. The offline run sets the same two, so it plans exactly the stack file too; without them the
    program merged an inherited one into its config (``infra/sdk.stack_config_map``): resources the file
    does not declare, or a ``JSONDecodeError`` for one that is not JSON.
    """
    return {CONFIG_ENV: json.dumps(dict(config)), SECRET_KEYS_ENV: json.dumps(sorted(secret_keys))}


def run_stack_program(program: Callable[[], None]) -> None:
    """Run ``program`` inside a root stack resource until every registration is done.

    Each run gets its own event loop, closed afterwards with everything still scheduled on it: when a
    program fails, the SDK re-raises the first failed RPC and leaves the others pending; on a shared
    loop they ran during the NEXT program and failed it. The mock monitor's RPCs run at once on the
    loop's thread (``MockRpcExecutor``), so no RPC of this run can outlive it.
    """
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet)
    loop.set_default_executor(MockRpcExecutor())
    asyncio.set_event_loop(loop)
    try:
        with without_stack_traces():
            _sync_await(run_in_stack(program))
    finally:
        _close_loop(loop)


class MockRpcExecutor(concurrent.futures.ThreadPoolExecutor):
    """The event loop's default executor for an offline run: the SDK's RPCs run at once, on the caller's thread.

    The SDK hands every monitor RPC to the loop's default executor (``run_in_executor``) because a real
    monitor is a blocking gRPC stub. The mock monitor is plain Python that answers in microseconds, and
    a thread hop per RPC (several per resource: its URN, its registration, its outputs) cost a context
    switch, GIL hand-overs and a wake-up of the loop each.

    Only the SDK's own RPCs run inline: each is a callable made by ``pulumi.runtime._context.wrap_with_context``
    (every ``run_in_executor`` in ``pulumi.runtime`` passes one), recognised by its code object. Anything
    else a program sends to the default executor (``asyncio.to_thread``, ``run_in_executor(None, ...)``)
    runs on a pool thread as usual: run inline, a call that waited for the program's loop would wait for
    ever. Such threads start only when something asks for one; nothing in ``infra/`` does.

    The mock monitor's methods run an event loop of their own (``_ensure_event_loop`` + ``_sync_await``,
    to serialise a resource's state). On a pool thread that is the thread's loop; here the program's
    loop is running on this thread, so each RPC sees what a pool thread sees: no running loop, and a
    side loop of its own as the current one (created once, closed with the executor). The state the
    mocks return is plain data (deserialised from the request), so nothing the side loop runs waits
    for the program's loop.
    """

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="program-executor")
        self._side_loop = asyncio.new_event_loop()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        if getattr(fn, "__code__", None) is not _SDK_RPC_CODE:
            return super().submit(fn, *args, **kwargs)
        if self._side_loop.is_closed():
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: concurrent.futures.Future = concurrent.futures.Future()
        running = asyncio._get_running_loop()  # the SDK always submits from a coroutine: not None
        asyncio._set_running_loop(None)
        asyncio.set_event_loop(self._side_loop)
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # the RPC's failure is the awaiting task's, as from a pool thread
            future.set_exception(exc)
        finally:
            if running is not None:
                asyncio.set_event_loop(running)
            asyncio._set_running_loop(running)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if not self._side_loop.is_closed() and not self._side_loop.is_running():
            self._side_loop.close()


_SDK_RPC_CODE = wrap_with_context(lambda: None).__code__
"""The code of every callable the SDK sends to the executor (``wrap_with_context``'s inner ``wrapper``)."""


@contextlib.contextmanager
def without_stack_traces() -> Iterator[None]:
    """Resource constructors register without a captured call stack while this is active.

    The SDK extracts and converts the whole Python stack for every resource (``traceback.extract_stack``,
    a file URI per frame) so that the real engine can point its diagnostics at the program's line. The
    mock monitor never reads it, and it was a sixth of a warm offline run. Under the real engine the
    program runs in the language host, not here, and keeps its stack traces.
    """
    original = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = _no_stack_trace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = original


def _no_stack_trace() -> Any:
    return _EMPTY_STACK_TRACE


_EMPTY_STACK_TRACE = pulumi_resource.source_pb2.StackTrace()


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel whatever the run left scheduled, let it unwind, shut its executor down, close the loop."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        # return_exceptions: a task that fails while unwinding belongs to the run that is ending.
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    # close() shuts the loop's default executor down too, without waiting (``MockRpcExecutor``: the SDK's
    # RPCs ran inline, so there is a thread only if the program asked for one; it closes its side loop).
    # shutdown_default_executor() would start one more thread just to wait.
    loop.close()
    asyncio.set_event_loop(None)


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Failures of a run's leftover tasks are that run's (already reported): log them at debug level."""
    logging.getLogger(__name__).debug("left over after the program: %s", context.get("message"))


def copy_options(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    """A shallow copy of ``opts`` that a transformation may edit."""
    return opts._copy()

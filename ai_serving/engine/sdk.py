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
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import settings as pulumi_settings
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


def run_stack_program(program: Callable[[], None]) -> None:
    """Run ``program`` inside a root stack resource until every registration is done.

    Each run gets its own event loop, closed afterwards with everything still scheduled on it: when a
    program fails, the SDK re-raises the first failed RPC and leaves the others pending (some on the
    loop's thread pool); on a shared loop they ran during the NEXT program and failed it.
    """
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet)
    # The mock monitor answers each RPC on one of the loop's executor threads and gives that thread an
    # event loop of its own (pulumi.runtime.mocks: `_ensure_event_loop`), which nothing closed: every
    # run leaked a few loops (an epoll fd and a socket pair each) until the garbage collector found
    # them, unclosed. The threads get their loops from us instead, and we close them after the run.
    thread_loops: list[asyncio.AbstractEventLoop] = []
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(
        thread_name_prefix="pulumi-rpc", initializer=_give_thread_a_loop, initargs=(thread_loops,)))
    asyncio.set_event_loop(loop)
    try:
        with without_stack_traces():
            _sync_await(run_in_stack(program))
    finally:
        _close_loop(loop)
        for thread_loop in thread_loops:  # their threads have ended (shutdown_default_executor joined them)
            if not thread_loop.is_running():
                thread_loop.close()


def _give_thread_a_loop(loops: list[asyncio.AbstractEventLoop]) -> None:
    thread_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(thread_loop)
    loops.append(thread_loop)


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
    """Cancel whatever the run left scheduled, let it unwind, wait for its threads, close the loop."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        # return_exceptions: a task that fails while unwinding belongs to the run that is ending.
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    # The SDK makes its RPCs on the loop's default executor: wait for those threads too, so none of
    # them is still registering this run's resources when the next run starts.
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    asyncio.set_event_loop(None)


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Failures of a run's leftover tasks are that run's (already reported): log them at debug level."""
    logging.getLogger(__name__).debug("left over after the program: %s", context.get("message"))


def copy_options(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    """A shallow copy of ``opts`` that a transformation may edit."""
    return opts._copy()

"""Pulumi SDK internals are used in one boundary module per side: infra/sdk.py and ai_serving/engine/sdk.py."""

from __future__ import annotations

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOUNDARIES = {ROOT / "infra" / "sdk.py", ROOT / "ai_serving" / "engine" / "sdk.py"}
PRIVATE_MODULES = {"pulumi.runtime.settings", "pulumi.runtime.config", "pulumi.runtime.sync_await",
                   "pulumi.runtime.stack", "pulumi.runtime.rpc", "pulumi.runtime.resource", "pulumi.runtime._context"}
PRIVATE_NAMES = {"_sync_await", "_copy", "ROOT", "CONFIG", "set_all_config", "run_in_stack", "_get_stack_trace",
                 "_get_running_loop", "_set_running_loop"}


def _uses(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module in PRIVATE_MODULES:
                found.add(node.module)
            if node.module == "pulumi.runtime":
                found.update(f"pulumi.runtime.{a.name}" for a in node.names
                             if f"pulumi.runtime.{a.name}" in PRIVATE_MODULES)
            found.update(a.name for a in node.names if a.name in PRIVATE_NAMES)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in PRIVATE_MODULES)
        elif isinstance(node, ast.Attribute) and node.attr in PRIVATE_NAMES:
            found.add(node.attr)
    return found


def test_sdk_internals_only_in_the_boundary_modules():
    offenders = {}
    for folder in ("infra", "ai_serving"):
        for path in (ROOT / folder).rglob("*.py"):
            if path not in BOUNDARIES and (uses := _uses(path)):
                offenders[str(path.relative_to(ROOT))] = sorted(uses)
    assert offenders == {}


def test_the_boundaries_are_where_the_internals_are():
    """The scan itself finds internals (it would pass vacuously if it could not see them)."""
    for path in BOUNDARIES:
        assert _uses(path), path


def test_offline_runs_capture_no_stack_traces_and_leave_the_sdk_as_it_was(monkeypatch):
    """Each resource constructor asks the SDK for the Python call stack (for the real engine's
    diagnostics); offline nothing reads it, so the runner turns it off for the run, and only then."""
    import inspect

    import pulumi.runtime.resource as sdk_resource

    from ai_serving.engine.project import load_project
    from ai_serving.engine.runner import run_program
    from ai_serving.stacks import load_stack

    # The SDK still captures it where the runner expects (else turning it off would do nothing).
    assert "_get_stack_trace()" in inspect.getsource(sdk_resource.register_resource)
    calls = []
    real = sdk_resource._get_stack_trace
    spy = lambda: (calls.append(1), real())[1]  # noqa: E731
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", spy)
    project = load_project(ROOT)
    run = run_program(project, "team-b-dev", load_stack(project, "team-b-dev").config_map)
    assert run.exit_code == 0 and len(run.resources) > 20
    assert calls == []
    assert sdk_resource._get_stack_trace is spy  # restored after the run


def test_an_offline_run_leaves_no_event_loop_open():
    """The mock monitor's RPC threads each get an event loop; a run closes them all (a worker planning
    hundreds of stacks otherwise held their file descriptors until a garbage collection found them,
    unclosed: asyncio then warns, and its clean-up fails on the already-closed socket pair)."""
    import gc
    import warnings

    from ai_serving.engine.project import load_project
    from ai_serving.engine.runner import run_program
    from ai_serving.stacks import load_stack

    project = load_project(ROOT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for stack in ("team-b-dev", "team-a-dev"):
            assert run_program(project, stack, load_stack(project, stack).config_map).exit_code == 0
        gc.collect()
    assert [str(w.message) for w in caught if "unclosed event loop" in str(w.message)] == []


def test_the_mock_monitor_answers_on_the_programs_thread_and_no_rpc_thread_is_started(monkeypatch):
    """The SDK sends each RPC to the loop's executor; offline the mock monitor answers at once on the
    loop's thread (a thread hop per RPC cost about a twentieth of `plan --all`), and a run starts no thread."""
    import threading

    from ai_serving.engine.project import load_project
    from ai_serving.engine.runner import _RecordingMonitor, run_program
    from ai_serving.stacks import load_stack

    threads, real = [], _RecordingMonitor.RegisterResource
    monkeypatch.setattr(_RecordingMonitor, "RegisterResource",
                        lambda self, request: (threads.append(threading.current_thread()), real(self, request))[1])
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self.name), real_start(self))[1])
    project = load_project(ROOT)
    run = run_program(project, "team-a-prod", load_stack(project, "team-a-prod").config_map)
    assert run.exit_code == 0 and len(threads) > 30
    assert set(threads) == {threading.main_thread()} and started == []


def test_the_mock_rpc_executor_hides_the_running_loop_for_the_call_and_restores_it():
    import asyncio

    from pulumi.runtime._context import wrap_with_context

    from ai_serving.engine.sdk import MockRpcExecutor

    executor = MockRpcExecutor()
    seen = []

    def rpc(fail: bool) -> str:
        seen.append((asyncio._get_running_loop(), asyncio.get_event_loop()))
        if fail:
            raise ValueError("the monitor said no")
        return "answer"

    async def program() -> tuple:
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, wrap_with_context(rpc), False)  # as the SDK sends them
        try:
            await loop.run_in_executor(None, wrap_with_context(rpc), True)
        except ValueError as exc:
            failure = str(exc)
        return loop, answer, failure, asyncio._get_running_loop()

    loop = asyncio.new_event_loop()
    loop.set_default_executor(executor)
    try:
        program_loop, answer, failure, after = loop.run_until_complete(program())
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
    assert (answer, failure) == ("answer", "the monitor said no")
    assert after is program_loop  # restored after each call
    # inside the call: no running loop, and the executor's own side loop (what a pool thread would see)
    assert [running for running, _ in seen] == [None, None]
    side_loops = {current for _, current in seen}
    assert len(side_loops) == 1 and program_loop not in side_loops
    assert next(iter(side_loops)).is_closed()  # closed with the executor


def test_what_a_program_sends_to_the_executor_itself_runs_on_a_thread_and_may_wait_for_the_loop():
    """Only the SDK's RPCs run inline. A program's own ``asyncio.to_thread`` call that waits for the program's
    loop would wait for ever if it ran on the loop's thread (here it would time out)."""
    import asyncio
    import threading

    from ai_serving.engine.sdk import MockRpcExecutor

    seen = {}

    async def on_the_loop() -> str:
        return "from the loop"

    def blocking(loop: asyncio.AbstractEventLoop) -> str:
        seen["thread"] = threading.current_thread()
        return asyncio.run_coroutine_threadsafe(on_the_loop(), loop).result(timeout=10)

    async def program() -> str:
        return await asyncio.to_thread(blocking, asyncio.get_running_loop())

    loop = asyncio.new_event_loop()
    loop.set_default_executor(MockRpcExecutor())
    try:
        answer = loop.run_until_complete(program())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    assert answer == "from the loop"
    assert seen["thread"] is not threading.main_thread()


def test_the_secret_keys_the_language_host_hands_over_are_the_ones_the_program_reads(monkeypatch):
    """The language host passes the stack's secret keys in PULUMI_CONFIG_SECRET_KEYS; the SDK's launcher
    (pulumi-language-python-exec) hands them to ``set_all_config``; ``infra.sdk.stack_secret_keys`` must see
    them there, or the program would refuse every decrypted `secure:` token as plain text. This repeats the
    launcher's two lines against the installed SDK; the witness runs the launcher itself, both ways."""
    import contextvars

    import pulumi.runtime

    from infra.sdk import stack_config_map, stack_secret_keys

    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"ai-serving:modelHubToken": "x", "ai-serving:team": "t"}))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["ai-serving:modelHubToken"]))

    def as_the_launcher_starts() -> list[str]:  # its lines, in a context of its own (the SDK's state is global)
        pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())
        return stack_secret_keys(stack_config_map())

    assert contextvars.copy_context().run(as_the_launcher_starts) == ["ai-serving:modelHubToken"]
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", "[]")
    assert contextvars.copy_context().run(as_the_launcher_starts) == []

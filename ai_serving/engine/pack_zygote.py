"""A warm parent that forks one policy-pack process per stack (used by ``plan --all`` workers).

The engine starts a fresh pack process for every ``pulumi preview``, with the stack's name and
config in its environment. Starting Python and importing pulumi, pulumi_policy, gRPC and the
pack's own packages costs more than analysing a stack, so a worker starts this zygote once: it
imports all of that, then for each request forks a child that sets exactly the environment the
engine would set and runs ``python -m pulumi.policy <engine> <pack-dir>`` in-process. The child
is the same program with the same inputs as a freshly launched pack; only the imports are reused.

Both the zygote and each forked pack process die with their parent (``lifetime.die_with_parent``):
killing a worker leaves no pack process listening behind it.

Protocol (one JSON object per line): stdin ``{"engine": "host:port", "env": {...}}``, stdout
``{"pid": N, "port": "P"}`` or ``{"error": "..."}``.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import os
import runpy
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ai_serving.engine.lifetime import die_with_parent

STOP_GRACE_S = 2.0
"""How long the zygote, when it ends, lets its remaining packs exit after SIGTERM before SIGKILL."""


def _warm(pack_dir: Path) -> None:
    """Import what every pack process imports: the SDK, gRPC's server (imported on first use), the
    pack's own top-level packages and whatever its ``__main__.py`` imports (without running it)."""
    import grpc._server  # noqa: F401 - grpc itself, and the server module grpc.server() imports on first use
    import pulumi.runtime  # noqa: F401
    import pulumi_policy  # noqa: F401

    sys.path.insert(0, str(pack_dir))
    for child in sorted(pack_dir.iterdir()):
        if (child / "__init__.py").is_file():
            __import__(child.name)
    for name in _imports_of(pack_dir / "__main__.py"):
        with contextlib.suppress(ImportError):  # the pack process reports it, as a fresh one would
            importlib.import_module(name)
    sys.path.remove(str(pack_dir))


def _imports_of(path: Path) -> list[str]:
    """The modules a Python file imports (absolute imports only), read without running it."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def _child(pack_dir: Path, engine: str, env: dict[str, str], write_fd: int, zygote: int) -> None:
    """Become the pack process: its stdout (the port line) goes to ``write_fd``."""
    die_with_parent(zygote)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.dup2(write_fd, 1)
    os.close(write_fd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["pulumi.policy", engine, str(pack_dir)]
    runpy.run_module("pulumi.policy", run_name="__main__", alter_sys=True)


def serve(pack_dir: Path, parent: int | None = None) -> None:
    """Answer fork requests on stdin until it closes (or ``parent``, the worker, ends)."""
    die_with_parent(parent)
    # Ctrl-C in a terminal reaches the whole process group: the command that owns this zygote handles
    # it and closes our stdin, which ends us; here it would only print a KeyboardInterrupt traceback
    # beside the command's own message (`plan --watch`). The forked packs inherit this; their owner
    # stops them with SIGTERM (`PolicyPackProcess.close`).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _warm(pack_dir)
    me = os.getpid()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    out = sys.stdout
    children: list[int] = []
    try:
        _answer(pack_dir, me, out, children)
    finally:
        _stop_children(children)


def _answer(pack_dir: Path, me: int, out: Any, children: list[int]) -> None:
    """Fork a pack process for each request line on stdin (its pid goes to ``children``)."""
    for line in sys.stdin:
        request = json.loads(line)
        read_fd, write_fd = os.pipe()
        out.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                _child(pack_dir, request["engine"], request["env"], write_fd, me)
            finally:
                os._exit(1)
        children.append(pid)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as port_pipe:
            port = port_pipe.readline().decode().strip()
        reply = {"pid": pid, "port": port} if port.isdigit() else {"error": f"pack did not start: {port!r}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


def _stop_children(children: list[int], grace_s: float = STOP_GRACE_S) -> None:
    """Stop the packs still running and reap them, so that none outlives the zygote.

    Their owners normally stopped them already (``PolicyPackProcess.close`` sends SIGTERM and does not
    wait); without this, the last packs were still exiting when the command returned, and were reaped
    by whatever adopted them. From the switch to SIG_DFL on, a child that exits stays a zombie until we
    reap it, so a pid we signal is always still ours (never a reused one).
    """
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    live = [pid for pid in children if _running(pid)]
    for pid in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while live and time.monotonic() < deadline:
        live = [pid for pid in live if _running(pid)]
        if live:
            time.sleep(0.01)
    for pid in live:  # ignored SIGTERM for the whole grace period
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _running(pid: int) -> bool:
    """Whether our child ``pid`` still runs (reaping it when it has ended)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # reaped already (automatically, while SIGCHLD was ignored)
        return False
    return done == 0


if __name__ == "__main__":
    serve(Path(sys.argv[1]).resolve(), int(sys.argv[2]) if len(sys.argv) > 2 else None)

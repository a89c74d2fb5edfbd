"""``plan --all``: plan every stack concurrently, then run the cross-team checks and write the summary.

Each worker process pays the expensive start-up once (importing the program and the Azure SDK
modules it uses, starting one policy-pack process) and then plans many stacks with them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import json
import multiprocessing
import multiprocessing.process
import os
import pickle
import shutil
import stat
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infra.config.errors import shown

from .. import atomic
from ..engine.analyzer import PackConfigError, PackZygote
from ..engine.lifetime import die_with_parent
from ..engine.project import STACK_NAME, Project
from ..outcome import ExitCode, Status, UsageError, bounded, exit_text
from ..output_folders import SUMMARY_FILE, foreign_entry
from ..plan import plan_stack
from ..stacks import every_stack
from . import annotations
from .crossteam import (
    CHECKS,
    CrossTeamFinding,
    check_all,
    global_names_of,
    load_quotas,
    network_refs_of,
    role_scopes_of,
)


@dataclass
class _Worker:
    project: Project
    pack_dir: Path | None
    policy_config: dict | None
    out: Path | None
    today: date
    zygote: PackZygote | None
    warm: bool = False
    """Whether the first stack has run: what it loaded (SDK types, program modules) is kept for good."""


_worker: _Worker | None = None


def _init_worker(project: Project, pack_dir: Path | None, policy_config: dict | None, out: Path | None,
                 today: date) -> None:
    """Per-worker start-up, paid once: the program and the Azure SDK modules stay imported between stacks,
    and a warm zygote forks each stack's policy-pack process. The zygote ends when the worker does (its
    stdin closes, or the kernel kills it when the worker dies)."""
    global _worker
    gc.enable()  # a worker lives for many stacks: it collects (the `ai-serving` command turns it off)
    zygote = PackZygote(pack_dir) if pack_dir is not None else None
    _worker = _Worker(project, pack_dir, policy_config, out, today, zygote)


def _close_worker() -> None:
    global _worker
    if _worker is not None and _worker.zygote is not None:
        _worker.zygote.close()
    _worker = None


def failed_outcome(stack: str, message: str, status: Status = Status.ERROR) -> dict[str, Any]:
    """The outcome of a stack that could not be planned, with the reason."""
    code = ExitCode.USAGE if status == Status.INVALID_CONFIG else ExitCode.FAILED
    return {"stack": stack, "resources": 0, "mandatory": 0, "advisory": 0, "waivers": 0, "status": status.value,
            "exit_code": code, "errors": [bounded(message)], "issues": [], "verdict": None, "unused_waivers": [],
            "global_names": [], "role_scopes": [], "network_refs": [], "pack": None, "config": None}


def _plan_in_worker(stack: str) -> dict[str, Any]:
    """Plan one stack in this worker; whatever goes wrong is this stack's outcome, never an exception."""
    try:
        outcome = _plan_unguarded(stack)
        pickle.dumps(outcome)  # it crosses to the parent: find out here, where the stack is known
        return outcome
    except PackConfigError as exc:  # not this stack's: every stack would fail the same way
        return {**failed_outcome(stack, str(exc)), "fatal": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the failure belongs to this stack, and says what it was
        return failed_outcome(stack, f"{type(exc).__name__}: {exc}")


def _plan_unguarded(stack: str) -> dict[str, Any]:
    assert _worker is not None, "worker not initialised"
    w = _worker
    if w.zygote is not None and not w.zygote.alive:
        # A killed zygote failed the stack it was serving; the next stack gets a new one.
        w.zygote.close()
        w.zygote = PackZygote(w.pack_dir) if w.pack_dir is not None else None
    result = plan_stack(w.project, stack, pack_dir=w.pack_dir, policy_config=w.policy_config,
                        out_dir=(w.out / stack) if w.out else None, today=w.today, zygote=w.zygote)
    if not w.warm:
        # The first stack loaded the SDK's types and the program's modules: about 280,000 tracked objects
        # that live as long as the worker (measured after one plan of team-a-prod). Frozen, later collections
        # no longer walk them each time (they were most of a warm stack's collection time); the first
        # stack's garbage goes first.
        gc.collect()
        gc.freeze()
        w.warm = True
    outcome: dict[str, Any] = {**result.summary(), "exit_code": result.exit_code,
                               "errors": [bounded(e) for e in result.errors], "issues": result.issues}
    outcome["verdict"] = result.verdict.to_json() if result.verdict else None
    outcome["pack"] = result.pack
    outcome["unused_waivers"] = result.verdict.unused_waivers if result.verdict else []
    planned = [{"type": r.type, "name": r.name, "inputs": r.inputs} for r in result.run.resources] if result.run else []
    outcome["global_names"] = global_names_of(planned)
    outcome["role_scopes"] = role_scopes_of(planned)
    outcome["network_refs"] = network_refs_of(planned)
    # The config this worker validated (for the cross-team checks): each stack is read and validated once.
    outcome["config"] = result.config
    outcome["cost"] = result.cost
    return outcome


def _worker_main(conn: Connection, args: tuple[Any, ...], parent: int, cpu: int | None) -> None:
    """A worker process: plan the stacks the parent sends, one at a time, until it sends None.

    ``cpu``: the core this worker (and, by inheritance, its pack zygote and every pack process it forks)
    runs on, or None to leave placement to the scheduler (see ``worker_cpus``)."""
    die_with_parent(parent)
    if cpu is not None:
        with contextlib.suppress(OSError):  # a cpuset changed since the parent read it: run unpinned
            os.sched_setaffinity(0, {cpu})
    try:
        _init_worker(*args)
        startup_error = None
    except Exception as exc:  # noqa: BLE001 - reported for every stack this worker is given
        startup_error = f"worker start-up failed: {type(exc).__name__}: {exc}"
    try:
        while (stack := conn.recv()) is not None:
            conn.send(failed_outcome(stack, startup_error) if startup_error else _plan_in_worker(stack))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        _close_worker()


def default_workers() -> int:
    """One worker per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def worker_cpus(workers: int) -> list[int | None]:
    """The core each of ``workers`` workers is pinned to, or None for each when they are not pinned.

    A worker and its pack process take turns: the worker waits for the pack's answer to every Analyze
    call, the pack waits for the next call. On one core of their own the two hand over on a warm cache and
    without waking the other core; left to the scheduler, two workers and two pack processes on two cores
    migrate and wake each other across cores. Measured (benchmarks/RESULTS.md, change 18): 100 generated
    stacks on 2 cores, pinned / unpinned 0.79-1.00 over 22 alternating comparisons, about 0.85, the same
    outputs.
    Pinned only when every worker can have a core of its own (more workers than cores would share them
    unevenly); with one worker nothing is pinned (it plans in the ``plan`` process itself).
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return [None] * workers
    if workers < 2 or workers > len(cpus):
        return [None] * workers
    return list(cpus[:workers])


@dataclass
class _Slot:
    """A worker process, the core it is pinned to (None: not pinned) and the stack it is planning
    (None when idle)."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    cpu: int | None
    stack: str | None = None


def run_stacks(project: Project, stacks: list[str], *, pack_dir: Path | None, policy_config: dict | None,
               out: Path | None, workers: int, today: date) -> Iterator[dict[str, Any]]:
    """Plan ``stacks`` on ``workers`` processes (in this process when 1), yielding outcomes as they finish.

    Yields exactly one outcome per stack. Each worker plans one stack at a time and the parent knows
    which: a stack's failure is its own outcome, and a worker that dies takes only the stack it was
    planning with it (reported with how the worker ended); a new worker takes over the rest.
    """
    args = (project, pack_dir, policy_config, out, today)
    if workers <= 1 or len(stacks) <= 1:
        try:
            _init_worker(*args)
        except Exception as exc:  # noqa: BLE001
            for stack in stacks:
                yield failed_outcome(stack, f"start-up failed: {type(exc).__name__}: {exc}")
            return
        try:
            for stack in stacks:
                yield _plan_in_worker(stack)
        finally:
            _close_worker()
        return
    # spawn, not fork: the parent has gRPC loaded, and gRPC state does not survive a fork.
    ctx = multiprocessing.get_context("spawn")
    pending = deque(stacks)
    slots: list[_Slot] = []

    def start(cpu: int | None) -> _Slot:
        parent_end, child_end = ctx.Pipe()
        process = ctx.Process(target=_worker_main, args=(child_end, args, os.getpid(), cpu),
                              name="ai-serving-worker")
        process.start()
        child_end.close()
        return _Slot(process, parent_end, cpu)

    def feed(slot: _Slot) -> None:
        slot.stack = pending.popleft() if pending else None
        with contextlib.suppress(OSError):
            slot.conn.send(slot.stack)

    try:
        for cpu in worker_cpus(min(workers, len(stacks))):
            slot = start(cpu)
            slots.append(slot)
            feed(slot)
        while busy := [s for s in slots if s.stack is not None]:
            ready = set(wait([s.conn for s in busy] + [s.process.sentinel for s in busy]))
            for slot in busy:
                if slot.conn not in ready and slot.process.sentinel not in ready:
                    continue
                stack = slot.stack
                assert stack is not None
                try:
                    outcome = slot.conn.recv() if slot.conn.poll() else None
                except (EOFError, OSError):
                    outcome = None
                if outcome is not None:
                    yield outcome
                    feed(slot)
                    continue
                # The worker died while planning `stack`: that stack's outcome, and a fresh worker.
                slot.process.join(timeout=5)
                yield failed_outcome(stack, f"the worker planning this stack died "
                                            f"({exit_text(slot.process.exitcode)})")
                slot.conn.close()
                slots.remove(slot)
                if pending:
                    fresh = start(slot.cpu)  # the dead worker's core
                    slots.append(fresh)
                    feed(fresh)
    finally:
        for slot in slots:
            with contextlib.suppress(OSError):
                slot.conn.send(None)
        for slot in slots:
            slot.process.join(timeout=10)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        _stop_resource_tracker()


def _stop_resource_tracker() -> None:
    """Stop and reap the helper process that starting ``spawn`` workers launched.

    multiprocessing starts a resource tracker beside the first spawned worker and leaves it running
    until this process exits; it then ends on its own, after us, and is reaped by whatever adopts it.
    A CI step that waits for (or kills) every process the command started would find it still there.
    Nothing here uses it (no shared memory or named semaphores); a later ``spawn`` starts a new one.
    The stop is a private stdlib method (3.8+); without it the tracker ends as before.
    """
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):  # best effort: the run's result is already known
            stop()



def plan_all(project: Project, *, pack_dir: Path | None, policy_config: dict | None, out: Path | None,
             workers: int | None, console: Console, err: Console, today: date | None = None,
             base: Path | None = None, gate: list[str] | None = None) -> int:
    """Plan every stack, check across teams, print the summary, write summary.json; return the worst exit code.

    With ``gate``, the exit code is the worst of those stacks' and of the cross-team findings that name one of
    them (or no stack): a pull request that changes only some stack files is not failed by another team's
    stack (a waiver that expired overnight), which the summary and the report still show. Every stack is
    planned and checked either way; a gate that names no stack file is a ``UsageError``.

    With ``out``, the run writes into a new folder beside it and renames it into place at the end, under
    a lock: ``out`` always holds one complete run (plan files, summary.json and report.md of the same
    run), and a second run into the same folder at the same time is refused.
    """
    today = today or date.today()
    stacks = every_stack(project)
    # A file name is anyone's to choose: one with a newline, an escape sequence or markup in it would reach
    # the terminal, the CI log (a forged `::error` line) and the report as it is. Refused before anything runs.
    misnamed = [s for s in stacks if STACK_NAME.fullmatch(s) is None]
    if misnamed:
        listed = bounded(", ".join(shown(f"Pulumi.{s}.yaml") for s in misnamed), 1000)
        raise UsageError(f"{project.stack_config_dir}: not a stack file name: {listed}; a stack file is "
                         "Pulumi.<team>-<environment>.yaml (a lowercase letter, then lowercase letters, digits "
                         "and '-'): rename it")
    unknown = sorted(set(gate or ()) - set(stacks))
    if unknown:
        raise UsageError(f"--gate {bounded(', '.join(shown(s) for s in unknown), 1000)}: no such stack file in "
                         f"{project.stack_config_dir}")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be 1 or more; found {workers}")
    workers = min(workers or default_workers(), len(stacks))
    out = out.resolve() if out else None
    base = base.resolve() if base else None
    base_plans = check_base(base) if base is not None else None
    # A bad quotas.yaml is bad input like a bad stack file: one message (file, line, key) and exit 2,
    # before a single stack is planned, not a finding after all of them.
    quotas = load_quotas(project.stack_config_dir)
    with OutputFolder(out) if out else contextlib.nullcontext(None) as staging:
        return _plan_all(project, stacks, pack_dir=pack_dir, policy_config=policy_config, out=out, staging=staging,
                         workers=workers, console=console, err=err, today=today, base=base,
                         base_plans=base_plans, quotas=quotas, gate=set(gate) if gate else None)


def _plan_all(project: Project, stacks: list[str], *, pack_dir: Path | None, policy_config: dict | None,
              out: Path | None, staging: OutputFolder | None, workers: int, console: Console, err: Console,
              today: date, base: Path | None, base_plans: dict[str, dict[str, Any]] | None,
              quotas: dict[str, Any], gate: set[str] | None = None) -> int:
    started = time.perf_counter()
    outcomes: dict[str, dict[str, Any]] = {}
    work = staging.path if staging else None
    with _progress(console, len(stacks)) as advance:
        for outcome in run_stacks(project, stacks, pack_dir=pack_dir, policy_config=policy_config, out=work,
                                  workers=workers, today=today):
            outcomes[outcome["stack"]] = outcome
            advance(outcome)
    fatal = next((o["fatal"] for o in outcomes.values() if o.get("fatal")), None)
    if fatal is not None:
        # A pack or policy config every stack would fail on is bad input: one message, exit 2, and the staging
        # folder is dropped (found by review: exit 1, a line per stack, and a summary and report written).
        raise UsageError(fatal)
    # Every stack file found has a row, planned or not.
    ordered = [outcomes.get(s) or failed_outcome(s, "no outcome was received for this stack") for s in stacks]
    configs = {o["stack"]: o["config"] for o in ordered if o["config"] is not None}
    try:
        findings = check_all(configs, quotas, {o["stack"]: [tuple(n) for n in o["global_names"]] for o in ordered},
                             {o["stack"]: o["role_scopes"] for o in ordered},
                             {o["stack"]: o["network_refs"] for o in ordered})
    except Exception as exc:  # noqa: BLE001 - a failing cross-team check must not hide the stacks' results
        findings = [CrossTeamFinding("cross-team", "mandatory", [],
                                     bounded(f"the cross-team checks could not run: {type(exc).__name__}: {exc}"))]
    for o in ordered:
        for message in o["errors"]:
            err.print(f"[{o['stack']}] {message}", markup=False)
    if annotations.enabled():  # on the stack files' lines in the PR's "Files changed"
        annotations.emit(ordered, project.stack_file)
    console.print(_summary_table(ordered))
    from ..reports.costs import org_table

    console.print(org_table([{"stack": o["stack"], "team": getattr(o["config"], "team", None),
                              "costCenter": getattr(o["config"], "cost_center", None), "cost": o.get("cost")}
                             for o in ordered]))
    for f in findings:
        style = "red" if f.level == "mandatory" else "yellow"
        console.print(f"[{style}]cross-team {f.check} ({f.level})[/] {', '.join(f.stacks)}: {escape(f.message)}",
                      markup=True, highlight=False)
    worst = _exit_code(ordered, findings, gate)
    elapsed = time.perf_counter() - started
    console.print(f"planned {len(stacks)} stacks with {workers} worker(s) in {elapsed:.1f}s; exit code {worst}",
                  markup=False)
    if gate is not None:
        ungated = [o["stack"] for o in ordered if o["stack"] not in gate and int(o["exit_code"]) != ExitCode.OK]
        console.print(f"the exit code is from {', '.join(sorted(gate))} (--gate)"
                      + (f"; not gating: {', '.join(ungated)}, which failed (see above)" if ungated else ""),
                      markup=False)
    if staging is not None and out is not None:
        # Read back, and checked against this shape, by reports.documents.read_summary (SummaryFile).
        summary = {
            "generated": today.isoformat(),
            # Described by the packs the workers ran; none when no stack got as far as the pack.
            "pack": next((o["pack"] for o in ordered if o.get("pack")), None),
            "stacks": [{k: o[k] for k in ("stack", "resources", "mandatory", "advisory", "waivers", "status", "errors")}
                       for o in ordered],
            "crossTeam": [f.to_json() for f in findings],
            "crossTeamChecks": dict(CHECKS),  # what ran: the report names them when nothing was found
        }
        try:
            atomic.write_text(staging.path / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
            _write_report(staging.path, base, base_plans)
            staging.commit()
        except OSError as exc:
            raise UsageError(f"{out}: cannot write the plan output ({exc.strerror or exc}); "
                             "nothing was replaced there") from None
        console.print(f"wrote {out / SUMMARY_FILE}", markup=False)
        console.print(f"wrote {out / 'report.md'}", markup=False)
    return worst


def _exit_code(ordered: list[dict[str, Any]], findings: list[CrossTeamFinding], gate: set[str] | None) -> int:
    """The run's exit code: the worst stack's, and FAILED for a mandatory cross-team finding; with ``gate``,
    only the gated stacks and the findings that name one of them or no stack (the checks could not run)."""
    def gated(stacks: list[str]) -> bool:
        return gate is None or not stacks or bool(gate.intersection(stacks))

    worst = int(max([int(o["exit_code"]) for o in ordered if gated([o["stack"]])] + [ExitCode.OK]))
    if any(f.level == "mandatory" and gated(f.stacks) for f in findings):
        worst = max(worst, ExitCode.FAILED)
    return worst


LOCK_ATTEMPTS = 5
"""How often a run opens the lock file again after the run before it removed the one it had opened."""


class OutputFolder:
    """``--out`` for one run: a lock beside it, a staging folder to write into, and a rename at the end.

    The lock (``.<name>.lock`` next to the folder, ``flock``, removed by the run that holds it) refuses a
    second run into the same folder while one is running; the staging folder (``.<name>.run-*`` next to
    it) holds this run's files until ``commit`` swaps it in for the old folder. A run that fails or is
    killed leaves the old folder as it was (and a killed one its lock file, which the next run takes).
    Only an empty folder, or one holding nothing but what a plan --all writes
    (``output_folders.foreign_entry``), is ever replaced.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder")
        # The whole folder is replaced at the end: only one that holds nothing but what a plan --all wrote.
        if out.is_dir() and any(out.iterdir()) and (foreign := foreign_entry(out)) is not None:
            held = (f"no {SUMMARY_FILE}" if foreign == SUMMARY_FILE
                    else f"it holds {shown(foreign)}, which no plan wrote")
            raise UsageError(f"--out {out}: not empty and not a plan --all output ({held}); its files would be "
                             "deleted: name a new or empty folder")
        # Said before any stack is planned: the run's folder is renamed into place at the end, and a mount
        # point cannot be renamed (EBUSY), so every run would plan, then fail, then leave its folder behind.
        if out.is_dir() and os.path.ismount(out):
            raise UsageError(f"--out {out}: is a mount point, which a run cannot replace (it writes a new folder "
                             "beside it and renames it into place); name a folder inside it")
        self._lock_path = out.parent / f".{out.name}.lock"
        self._lock = self._take_lock()
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f".{out.name}.run-", dir=out.parent))
        except OSError as exc:
            self._release()
            raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
        self._committed = False

    def commit(self) -> None:
        """Put this run's folder in place of ``out`` (the old one is removed)."""
        os.chmod(self.path, 0o755)  # mkdtemp makes it 0700; the published folder reads like any other
        old = None
        if self.out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-", dir=self.out.parent))
            try:
                os.replace(self.out, old / "out")
            except OSError:  # e.g. EBUSY: a mount point ismount does not see (a bind mount on the same device)
                old.rmdir()  # still empty: nothing was moved; the caller says nothing was replaced
                raise
        os.replace(self.path, self.out)
        self._committed = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _take_lock(self) -> IO[str]:
        """The lock file, opened and locked; ``UsageError`` while another run holds it.

        The run that holds the lock removes the file before it lets go, so a run may lock a file that was
        removed just after it opened it (and a third one may lock the new file): a lock is ours only if the
        name still leads to the file we locked. Otherwise open the name again.
        """
        busy = f"--out {self.out}: another plan --all is writing there; wait for it to finish"
        for _ in range(LOCK_ATTEMPTS):
            try:
                self.out.parent.mkdir(parents=True, exist_ok=True)
                # Not through a symlink (O_NOFOLLOW): planted there, it would have the run create or lock a
                # file anywhere the user may write. Not inherited by the workers and packs (O_CLOEXEC).
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC,
                             0o644)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise UsageError(f"--out {self.out}: its lock file {self._lock_path} is a symbolic link; a run "
                                     "only ever creates a regular file there: remove the link") from None
                raise UsageError(f"--out {self.out}: cannot write there ({exc.strerror or exc})") from None
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device planted under that name
                os.close(fd)
                raise UsageError(f"--out {self.out}: its lock file {self._lock_path} is not a regular file: "
                                 "remove it")
            lock = os.fdopen(fd, "a+")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                raise UsageError(busy) from None
            if self._still_named(lock):
                return lock
            lock.close()
        raise UsageError(busy)

    def _still_named(self, lock: IO[str]) -> bool:
        """Whether the lock file's name still leads to the file ``lock`` has open."""
        try:
            named, held = os.stat(self._lock_path), os.fstat(lock.fileno())
        except OSError:  # gone, or unreadable: not a lock anyone can share with us
            return False
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def _release(self) -> None:
        # Removed while still held (a run that opened it meanwhile sees it gone: `_take_lock`), then let go.
        # Only the holder removes the name, so nobody can have put another file there in between.
        try:
            if self._still_named(self._lock):
                with contextlib.suppress(OSError):
                    self._lock_path.unlink()
            fcntl.flock(self._lock, fcntl.LOCK_UN)
        finally:
            self._lock.close()

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._committed:
            shutil.rmtree(self.path, ignore_errors=True)
        self._release()


def check_base(base: Path) -> dict[str, dict[str, Any]]:
    """``base``'s plans; a ``--base`` that is not a folder of well-formed plan files is refused
    (``UsageError``) before any stack is planned, since the report that reads it is written after all
    of them (and is handed these, read once)."""
    from ..reports.diff import load_plans

    return load_plans(base)


def _write_report(out: Path, base: Path | None, base_plans: dict[str, dict[str, Any]] | None) -> None:
    from ..reports.markdown import write_report

    write_report(out, base, base_plans=base_plans)


def _summary_table(outcomes: list[dict[str, Any]]) -> Table:
    table = Table(title="ai-serving plan --all")
    for col, justify in (("stack", "left"), ("resources", "right"), ("mandatory", "right"),
                         ("advisory", "right"), ("waivers", "right"), ("status", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for o in outcomes:
        style = "green" if o["status"] == Status.OK else "red"
        table.add_row(escape(o["stack"]), str(o["resources"]), str(o["mandatory"]), str(o["advisory"]),
                      str(o["waivers"]), f"[{style}]{o['status']}[/]")
    return table


class _progress:
    """A progress bar on a terminal; one plain line per stack in CI logs."""

    def __init__(self, console: Console, total: int) -> None:
        self.console, self.total, self.done = console, total, 0
        self.bar: Progress | None = None

    def __enter__(self):
        if self.console.is_terminal:
            self.bar = Progress(TextColumn("planning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                TextColumn("{task.description}"), console=self.console, transient=True)
            self.bar.__enter__()
            self.task = self.bar.add_task("", total=self.total)
        return self.advance

    def advance(self, outcome: dict[str, Any]) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=outcome["stack"])
        else:
            self.console.print(f"[{self.done}/{self.total}] {outcome['stack']}: {outcome['status']}", markup=False)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

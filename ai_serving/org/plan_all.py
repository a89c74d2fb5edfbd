"""``plan --all``: plan every stack concurrently, then run the cross-team checks and write the summary.

Each worker process pays the expensive start-up once (importing the program and the Azure SDK
modules it uses, starting one policy-pack process) and then plans many stacks with them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..engine.analyzer import PackZygote
from ..engine.project import Project
from ..outcome import ExitCode, Status
from ..plan import plan_stack
from . import annotations
from .crossteam import check_all, global_names_of, load_quotas

SUMMARY_FILE = "summary.json"


@dataclass
class _Worker:
    project: Project
    pack_dir: Path | None
    policy_config: dict | None
    out: Path | None
    today: date
    zygote: PackZygote | None


_worker: _Worker | None = None


def _init_worker(project: Project, pack_dir: Path | None, policy_config: dict | None, out: Path | None,
                 today: date) -> None:
    """Per-worker start-up, paid once: the program and the Azure SDK modules stay imported between stacks,
    and a warm zygote forks each stack's policy-pack process. The zygote ends when the worker does (its
    stdin closes)."""
    global _worker
    zygote = PackZygote(pack_dir) if pack_dir is not None else None
    _worker = _Worker(project, pack_dir, policy_config, out, today, zygote)


def _close_worker() -> None:
    global _worker
    if _worker is not None and _worker.zygote is not None:
        _worker.zygote.close()
    _worker = None


def _plan_in_worker(stack: str) -> dict[str, Any]:
    assert _worker is not None, "worker not initialised"
    w = _worker
    result = plan_stack(w.project, stack, pack_dir=w.pack_dir, policy_config=w.policy_config,
                        out_dir=(w.out / stack) if w.out else None, today=w.today, zygote=w.zygote)
    outcome: dict[str, Any] = {**result.summary(), "exit_code": result.exit_code, "errors": result.errors,
                               "issues": result.issues}
    outcome["verdict"] = result.verdict.to_json() if result.verdict else None
    outcome["pack"] = result.pack
    outcome["unused_waivers"] = result.verdict.unused_waivers if result.verdict else []
    outcome["global_names"] = global_names_of([{"type": r.type, "name": r.name, "inputs": r.inputs}
                                               for r in result.run.resources]) if result.run else []
    # The config this worker validated (for the cross-team checks): each stack is read and validated once.
    outcome["config"] = result.config
    return outcome


def default_workers() -> int:
    """One worker per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_stacks(project: Project, stacks: list[str], *, pack_dir: Path | None, policy_config: dict | None,
               out: Path | None, workers: int, today: date) -> Iterator[dict[str, Any]]:
    """Plan ``stacks`` on ``workers`` processes (in this process when 1), yielding outcomes as they finish."""
    args = (project, pack_dir, policy_config, out, today)
    if workers <= 1 or len(stacks) <= 1:
        _init_worker(*args)
        try:
            for stack in stacks:
                yield _plan_in_worker(stack)
        finally:
            _close_worker()
        return
    # spawn, not fork: the parent has gRPC loaded, and gRPC state does not survive a fork.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=args) as pool:
        futures = {pool.submit(_plan_in_worker, s): s for s in stacks}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 - one stack's crash is that stack's error
                yield {"stack": futures[fut], "resources": 0, "mandatory": 0, "advisory": 0, "waivers": 0,
                       "status": Status.ERROR.value, "exit_code": ExitCode.FAILED, "errors": [f"worker failed: {exc}"],
                       "verdict": None, "unused_waivers": [], "global_names": [], "pack": None, "config": None}


def plan_all(project: Project, *, pack_dir: Path | None, policy_config: dict | None, out: Path | None,
             workers: int | None, console: Console, err: Console, today: date | None = None,
             base: Path | None = None) -> int:
    """Plan every stack, check across teams, print the summary, write summary.json; return the worst exit code."""
    today = today or date.today()
    stacks = project.stacks()
    if not stacks:
        err.print(f"no stack files (Pulumi.*.yaml) in {project.stack_config_dir}", markup=False)
        return ExitCode.USAGE
    workers = min(workers or default_workers(), len(stacks))
    out = out.resolve() if out else None
    started = time.perf_counter()
    outcomes: dict[str, dict[str, Any]] = {}
    with _progress(console, len(stacks)) as advance:
        for outcome in run_stacks(project, stacks, pack_dir=pack_dir, policy_config=policy_config, out=out,
                                  workers=workers, today=today):
            outcomes[outcome["stack"]] = outcome
            advance(outcome)
    ordered = [outcomes[s] for s in stacks]
    configs = {o["stack"]: o["config"] for o in ordered if o["config"] is not None}
    findings = check_all(configs, load_quotas(project.stack_config_dir),
                         {o["stack"]: [tuple(n) for n in o["global_names"]] for o in ordered})
    for o in ordered:
        for message in o["errors"]:
            err.print(f"[{o['stack']}] {message}", markup=False)
    if annotations.enabled():  # on the stack files' lines in the PR's "Files changed"
        annotations.emit(ordered, project.stack_file)
    console.print(_summary_table(ordered))
    for f in findings:
        style = "red" if f.level == "mandatory" else "yellow"
        console.print(f"[{style}]cross-team {f.check} ({f.level})[/] {', '.join(f.stacks)}: {f.message}")
    worst = int(max([int(o["exit_code"]) for o in ordered] + [ExitCode.OK]))
    if any(f.level == "mandatory" for f in findings):
        worst = max(worst, ExitCode.FAILED)
    elapsed = time.perf_counter() - started
    console.print(f"planned {len(stacks)} stacks with {workers} worker(s) in {elapsed:.1f}s; exit code {worst}",
                  markup=False)
    if out is not None:
        summary = {
            "generated": today.isoformat(),
            # Described by the packs the workers ran; none when no stack got as far as the pack.
            "pack": next((o["pack"] for o in ordered if o.get("pack")), None),
            "stacks": [{k: o[k] for k in ("stack", "resources", "mandatory", "advisory", "waivers", "status", "errors")}
                       for o in ordered],
            "crossTeam": [f.to_json() for f in findings],
        }
        out.mkdir(parents=True, exist_ok=True)
        (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {out / SUMMARY_FILE}", markup=False)
        _write_report(out, console, base)
    return worst


def _write_report(out: Path, console: Console, base: Path | None) -> None:
    from ..reports.markdown import write_report

    console.print(f"wrote {write_report(out, base.resolve() if base else None)}", markup=False)


def _summary_table(outcomes: list[dict[str, Any]]) -> Table:
    table = Table(title="ai-serving plan --all")
    for col, justify in (("stack", "left"), ("resources", "right"), ("mandatory", "right"),
                         ("advisory", "right"), ("waivers", "right"), ("status", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for o in outcomes:
        style = "green" if o["status"] == Status.OK else "red"
        table.add_row(o["stack"], str(o["resources"]), str(o["mandatory"]), str(o["advisory"]),
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

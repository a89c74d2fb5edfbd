"""Plan one stack end to end: load the stack -> program under mocks -> policy pack -> files."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from infra.config import StackConfig
from infra.config.errors import ConfigError

from . import atomic
from .cost import estimate as estimate_cost
from .deploy_policy import deploy_policy_config
from .engine.analyzer import PackZygote, PolicyPackProcess
from .engine.project import Project
from .engine.runner import ProgramRun, run_program
from .models import waiver_problems
from .outcome import ExitCode, Status, UsageError
from .output_folders import DEPLOY_POLICY_CONFIG_FILE, remove_stale_outputs
from .reports.planfile import plan_document, write_plan
from .stacks import load_stack
from .verdict import WAIVER_OUTLIVES_MODEL, Verdict, WaiverRules, decide


@dataclass
class StackOutcome:
    """The outcome of planning one stack."""

    stack: str
    exit_code: ExitCode
    run: ProgramRun | None = None
    verdict: Verdict | None = None
    errors: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    pack: dict[str, Any] | None = None
    """The pack that judged the stack (``PolicyPackProcess.describe()``), when one ran."""
    config: StackConfig | None = None
    """The validated config, when the stack file was valid (for the cross-team checks)."""
    issues: list[dict[str, Any]] = field(default_factory=list)
    """A bad stack file's problems, each ``{file, line, path, message}`` (for CI annotations)."""
    cost: dict[str, Any] | None = None
    """The monthly cost estimate (``ai_serving.cost.estimate``), when the program ran to the end."""

    @property
    def status(self) -> Status:
        """What the summary table, summary.json and the report show for the stack."""
        if self.exit_code == ExitCode.OK:
            return Status.OK
        if self.exit_code == ExitCode.USAGE:
            return Status.INVALID_CONFIG
        if self.exit_code == ExitCode.FAILED and self.verdict and self.verdict.mandatory:
            return Status.POLICY_FAILED
        return Status.ERROR

    @property
    def document(self) -> dict[str, Any] | None:
        """The plan.json document, when the program ran to the end."""
        if self.run is None or self.run.exit_code != 0:
            return None
        return plan_document(self.run, self.verdict.to_json() if self.verdict else None, self.cost)

    def summary(self) -> dict[str, Any]:
        """One row of the summary table."""
        v = self.verdict
        return {
            "stack": self.stack,
            "resources": len(self.run.resources) if self.run else 0,
            "mandatory": len(v.mandatory) if v else 0,
            "advisory": len(v.advisory) if v else 0,
            "waivers": len(v.suppressed) if v else 0,
            "status": self.status.value,
        }


def plan_stack(project: Project, stack: str, *, pack_dir: Path | None, policy_config: dict | None,
               out_dir: Path | None, today: date, stack_file: Path | None = None,
               zygote: PackZygote | None = None, phases: dict[str, float] | None = None,
               on_phase: Callable[[str], None] | None = None) -> StackOutcome:
    """Plan ``stack``: never raises for bad config or program errors (they become the outcome).

    With ``out_dir``, its files are this plan's only: what an earlier plan there wrote and this one did
    not (all of them, when this one failed) is deleted. With ``phases``, the seconds each step took are
    added to it under the step's name (``make bench``); ``on_phase`` is called with each step's name as it
    starts (the terminal's progress lines).
    """
    outcome = _plan(project, stack, pack_dir=pack_dir, policy_config=policy_config, out_dir=out_dir, today=today,
                    stack_file=stack_file, zygote=zygote, timer=_Phases(phases, on_phase))
    if out_dir is not None:
        remove_stale_outputs(out_dir, outcome.files)
    return outcome


def _plan(project: Project, stack: str, *, pack_dir: Path | None, policy_config: dict | None,
          out_dir: Path | None, today: date, stack_file: Path | None, zygote: PackZygote | None,
          timer: _Phases) -> StackOutcome:
    """``plan_stack``'s work, timed by ``timer``; ``outcome.files`` lists what it wrote."""
    try:
        with timer("stack file read + validation (load_stack)"):
            loaded = load_stack(project, stack, stack_file)
    except ConfigError as exc:
        issues = [{"file": str(exc.source) if exc.source is not None else None, "line": i.line, "path": i.path,
                   "message": i.message} for i in exc.issues]
        return StackOutcome(stack, ExitCode.USAGE, errors=[str(exc)], issues=issues)
    pack: PolicyPackProcess | None = None
    if pack_dir is not None:
        # One pack process per stack, as `pulumi preview` runs it: the pack reads the stack's name and
        # config (e.g. whether it is prod) from its environment at start-up. It is launched before the
        # program runs, so that its start-up (interpreter, pulumi_policy, the rules) overlaps the
        # program on the machine's other core; `connect` then waits for it.
        with timer("policy pack: process start"):
            pack = PolicyPackProcess(pack_dir, project=project.name, stack=stack,
                                     config=loaded.config_map.values, zygote=zygote, connect=False)
    try:
        with timer("program under mocks (run_program)"):
            run = run_program(project, stack, loaded.config_map)
        if run.exit_code != 0:
            return StackOutcome(stack, _exit_code(run.exit_code), run=run, config=loaded.config,
                                errors=run.errors or [f"program exited {run.exit_code}"])
        outcome = StackOutcome(stack, ExitCode.OK, run=run, config=loaded.config)
        with timer("cost estimate (estimate)"):
            outcome.cost = estimate_cost(outcome_resources(run), loaded.config)
        if pack is not None:
            assert pack_dir is not None
            config = loaded.config_map
            with timer("policy pack: handshake (waits for its start-up)"):
                pack.connect()
            with timer("policy pack: configure"):
                pack.configure(policy_config)
                pack.configure_stack(run, config.values, config.secret_keys)
            with timer("policy pack: analyze"):
                analysis = pack.analyze(run)
            with timer("verdict (decide)"):
                outcome.verdict = decide(pack.name, pack.policies, analysis, list(loaded.config.suppressions),
                                         today=today, stack=stack,
                                         rules=WaiverRules.from_pack(pack_dir))
                outcome.pack = pack.describe()
    finally:
        if pack is not None:
            with timer("policy pack: close"):
                pack.close()
    if outcome.verdict is not None:
        # A retirement waiver may postpone a migration, never past the day the model stops working.
        outcome.verdict.violations += [
            {"policy": WAIVER_OUTLIVES_MODEL, "rule": WAIVER_OUTLIVES_MODEL, "level": "mandatory", "urn": "",
             "message": problem}
            for problem in waiver_problems(loaded.config.suppressions, run.resources)
        ]
        if outcome.verdict.mandatory:
            outcome.exit_code = ExitCode.FAILED
    if out_dir is not None:
        with timer("report writing (write_outputs)"):
            try:
                outcome.files = write_outputs(out_dir, run, outcome.verdict, outcome.cost, policy_config)
            except OSError as exc:
                # A full disk or a read-only folder: the earlier plan's files must not pass for this one's, and
                # the message names the folder (found by review: "No space left on device" and the old plan.json).
                remove_stale_outputs(out_dir, [])  # a UsageError itself when one cannot go
                raise UsageError(f"{out_dir}: cannot write the plan output ({exc.strerror or exc}); no plan files "
                                 "are left there") from None
    return outcome


class _Phases:
    """Adds each step's duration to a dict, when one is given."""

    def __init__(self, into: dict[str, float] | None, on_start: Callable[[str], None] | None = None) -> None:
        self.into = into
        self.on_start = on_start

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.on_start is not None:
            self.on_start(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.into is not None:
                self.into[name] = self.into.get(name, 0.0) + time.perf_counter() - started


def _exit_code(code: int) -> ExitCode:
    """A program's exit code as one of ours (anything unexpected is a program error)."""
    try:
        return ExitCode(code)
    except ValueError:
        return ExitCode.FAILED


def outcome_resources(run: ProgramRun) -> list[dict[str, Any]]:
    """The run's resources as plan.json lists them (what the cost estimate reads)."""
    return plan_document(run)["resources"]


def write_outputs(out_dir: Path, run: ProgramRun, verdict: Verdict | None,
                  cost: dict[str, Any] | None = None, policy_config: dict | None = None) -> list[Path]:
    """plan.json, and with a verdict the compliance report as CSV and JSON and the policy config to deploy
    with (``policy_config``, the one the pack ran with, with the stack's waivers honoured)."""
    files = [write_plan(out_dir, plan_document(run, verdict.to_json() if verdict else None, cost))]
    if verdict is not None:
        rows = verdict.compliance
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=["Rule ID", "Resource ID", "Compliance", "Exception Reason",
                                                    "Rule Level", "Rule Info"])
        writer.writeheader()
        writer.writerows(rows)
        csv_path = atomic.write_text(out_dir / "compliance.csv", buffer.getvalue())
        json_path = atomic.write_text(out_dir / "compliance.json", json.dumps(rows, indent=2) + "\n")
        deploy_path = atomic.write_text(out_dir / DEPLOY_POLICY_CONFIG_FILE, json.dumps(
            deploy_policy_config(policy_config, verdict.to_json()), indent=2) + "\n")
        files += [csv_path, json_path, deploy_path]
    return files

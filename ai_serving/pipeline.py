"""Plan one stack end to end: config -> program under mocks -> policy pack -> files."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from infra.config.errors import ConfigError

from .analyzer import PackZygote, PolicyPackProcess
from .planfile import plan_document, write_plan
from .project import Project, read_stack_config
from .runner import ProgramRun, run_program
from .verdict import Verdict, decide, read_suppressions

EXIT_OK, EXIT_POLICY, EXIT_USAGE = 0, 1, 2


@dataclass
class StackResult:
    """The outcome of planning one stack."""

    stack: str
    exit_code: int
    run: ProgramRun | None = None
    verdict: Verdict | None = None
    errors: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    pack: dict[str, Any] | None = None
    """The pack that judged the stack (``PolicyPackProcess.describe()``), when one ran."""

    @property
    def status(self) -> str:
        """``ok``, ``policy-failed``, ``invalid-config`` or ``error``."""
        return {EXIT_OK: "ok", EXIT_POLICY: "policy-failed" if self.verdict and self.verdict.mandatory else "error",
                EXIT_USAGE: "invalid-config"}.get(self.exit_code, "error")

    def summary(self) -> dict[str, Any]:
        """One row of the summary table."""
        v = self.verdict
        return {
            "stack": self.stack,
            "resources": len(self.run.resources) if self.run else 0,
            "mandatory": len(v.mandatory) if v else 0,
            "advisory": len(v.advisory) if v else 0,
            "waivers": len(v.suppressed) if v else 0,
            "status": self.status,
        }


def plan_stack(project: Project, stack: str, *, pack_dir: Path | None, policy_config: dict | None,
               out_dir: Path | None, today: date, stack_file: Path | None = None,
               zygote: PackZygote | None = None) -> StackResult:
    """Plan ``stack``: never raises for bad config or program errors (they become the result)."""
    try:
        config = read_stack_config(project, stack, stack_file)
        suppressions = read_suppressions(config.values, project.name, config.source)
    except ConfigError as exc:
        return StackResult(stack, EXIT_USAGE, errors=[str(exc)])
    run = run_program(project, stack, config)
    if run.exit_code != 0:
        return StackResult(stack, run.exit_code, run=run, errors=run.errors or [f"program exited {run.exit_code}"])
    result = StackResult(stack, EXIT_OK, run=run)
    if pack_dir is not None:
        # One pack process per stack, as `pulumi preview` runs it: the pack reads the stack's name and
        # config (e.g. whether it is prod) from its environment at start-up.
        with PolicyPackProcess(pack_dir, project=project.name, stack=stack, config=config.values,
                               zygote=zygote) as pack:
            pack.configure(policy_config)
            pack.configure_stack(run, config.values, config.secret_keys)
            analysis = pack.analyze(run)
            result.verdict = decide(pack.name, pack.policies, analysis, suppressions, today=today)
            result.pack = pack.describe()
        if result.verdict.mandatory:
            result.exit_code = EXIT_POLICY
    if out_dir is not None:
        result.files = write_outputs(out_dir, run, result.verdict)
    return result


def write_outputs(out_dir: Path, run: ProgramRun, verdict: Verdict | None) -> list[Path]:
    """plan.json, and with a verdict the compliance report as CSV and JSON."""
    files = [write_plan(out_dir, plan_document(run, verdict.to_json() if verdict else None))]
    if verdict is not None:
        rows = verdict.compliance
        csv_path = out_dir / "compliance.csv"
        with open(csv_path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["Rule ID", "Resource ID", "Compliance", "Exception Reason",
                                                    "Rule Level", "Rule Info"])
            writer.writeheader()
            writer.writerows(rows)
        json_path = out_dir / "compliance.json"
        json_path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        files += [csv_path, json_path]
    return files

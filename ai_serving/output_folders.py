"""Which folders the commands may write their files into (``plan --out``, ``report --out``).

Only this module knows the names: what a plan writes, what marks a ``plan --all`` output, the report's.
It imports nothing heavy, so ``report`` and the CLI's argument checks stay light.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from .outcome import UsageError

PLAN_FILE = "plan.json"
"""The plan document of one stack (``ai_serving.reports.planfile.write_plan``)."""
DEPLOY_POLICY_CONFIG_FILE = "deploy-policy-config.json"
"""The ``--policy-pack-config`` to deploy the stack with: the plan's policy config with the policies whose
mandatory findings the stack waives advisory (``ai_serving.deploy_policy``); CI passes it to ``pulumi up``."""
PLAN_FILES = (PLAN_FILE, "compliance.csv", "compliance.json", DEPLOY_POLICY_CONFIG_FILE)
"""What ``plan STACK --out DIR`` writes into ``DIR`` (``ai_serving.plan.write_outputs``)."""
SUMMARY_FILE = "summary.json"
"""What marks a ``plan --all --out DIR`` folder (written last, by ``ai_serving.org.plan_all``)."""
REPORT_FILE = "report.md"
"""The pull-request report ``report --out DIR`` (and ``plan --all --out DIR``) writes."""
REPORT_FULL_FILE = "report-full.md"
"""The whole report, beside a report.md that had to be shortened."""


def _is_plan_file_name(name: str) -> bool:
    """A name a plan writes: one of :data:`PLAN_FILES`, or the temporary file of an interrupted atomic write."""
    return name in PLAN_FILES or (name.endswith(".tmp") and any(name.startswith(f".{f}.") for f in PLAN_FILES))


def _regular(path: Path) -> bool:
    """A regular file itself, not a symlink to one (what a plan writes)."""
    return path.is_file() and not path.is_symlink()


def is_plan_output(folder: Path) -> bool:
    """Whether ``folder`` holds only regular files a plan writes (:func:`_is_plan_file_name`): an earlier
    ``plan STACK --out`` there, which a new one may replace."""
    return all(_is_plan_file_name(e.name) and _regular(e) for e in folder.iterdir())


def remove_stale_outputs(folder: Path, written: list[Path]) -> None:
    """Delete the plan files in ``folder`` that this plan did not write (``written``).

    They belong to an earlier plan there: after a failed plan, or one without the policy pack, an old
    plan.json, compliance report or deploy-policy-config.json would pass for this one's (``report``,
    ``diff`` and the deploy read them). ``check_out_folder`` let only plan files be there.
    """
    if not folder.is_dir():
        return
    keep = {p.name for p in written}
    left = []
    for entry in folder.iterdir():
        if _is_plan_file_name(entry.name) and entry.name not in keep and (_regular(entry) or entry.is_symlink()):
            try:
                entry.unlink(missing_ok=True)
            except OSError:  # a read-only folder: name what stays instead of failing on it
                left.append(entry.name)
    if left:
        raise UsageError(f"{folder}: cannot remove the earlier plan's {', '.join(sorted(left))}; delete them before "
                         "reading this folder as a plan")


def foreign_entry(folder: Path) -> str | None:
    """The name of something in ``folder`` that no ``plan --all`` wrote, or None when it holds only what one
    writes: summary.json, the report files and a plan output folder per stack (:func:`is_plan_output`).

    ``plan --all --out`` replaces the whole folder, so a folder that merely contains a summary.json must not
    qualify: the user's other files there would be deleted with it. Without a summary.json, a folder of
    single plans' outputs qualifies too (``make plan`` writes ``out/<stack>``, and ``make plan-all`` then
    plans every stack into ``out``): each entry a plan output folder, at least one of them with a plan.json,
    so a folder of the user's empty folders is not taken for one. ``SUMMARY_FILE`` is returned when there is
    nothing of a plan's at all.
    """
    summary = _regular(folder / SUMMARY_FILE)
    planned = False
    for entry in sorted(folder.iterdir()):
        if summary and entry.name in (SUMMARY_FILE, REPORT_FILE, REPORT_FULL_FILE) and _regular(entry):
            continue
        if entry.is_dir() and not entry.is_symlink() and is_plan_output(entry):
            planned = planned or _regular(entry / PLAN_FILE)
            continue
        return entry.name
    return None if summary or planned else SUMMARY_FILE


def check_out_folder(out: Path) -> Path:
    """``out`` when ``plan STACK --out`` may write there: a new or empty folder, or an earlier plan's output.

    Anything else is a ``UsageError``: the plan files would land among files that are not this tool's
    (``--out stacks`` beside the stack files, ``--out /``), and replace any of them with the same name.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not is_plan_output(out):
        raise UsageError(f"--out {out}: not empty and not a plan output (it holds files other than "
                         f"{', '.join(PLAN_FILES)}); name a new or empty folder, e.g. out/<stack>")
    return out


def outside_stack_dir(out: Path, stack_dir: Path) -> Path:
    """``out`` unless it is the stack directory or a folder there named like a stack file; else a ``UsageError``.

    ``--out stacks/Pulumi.team-z-dev.yaml`` made a folder the stack listing (``Pulumi.*.yaml``) reads as a stack
    file, and every later ``validate`` and ``plan --all`` failed on it for every team (found by review). Another
    folder under the stack directory is not read as a stack and is left alone."""
    from .engine.project import STACK_FILE_GLOB

    try:
        relative = out.resolve().relative_to(stack_dir.resolve())
    except (ValueError, OSError, RuntimeError):
        return out  # outside it (or unresolvable: the folder checks that follow name it)
    first = relative.parts[0] if relative.parts else ""
    if not first or fnmatch.fnmatchcase(first, STACK_FILE_GLOB):
        raise UsageError(f"--out {out}: would be {'the stack directory' if not first else 'read as a stack file'} "
                         f"({stack_dir}); name a folder outside it, e.g. out/<stack>")
    return out


def check_report_folder(out: Path) -> Path:
    """``out`` when ``report --out`` may write its report.md there: a plan output folder.

    That is one with summary.json (``plan --all --out``), or one holding only plan output folders of single
    stacks and an earlier report.md (a plan --all that did not finish, or ``plan STACK --out DIR/STACK``
    runs: the report then says the plan is incomplete). An empty folder gets that report too. Anything else
    (a stack directory, an unrelated folder) is a ``UsageError``; a missing folder is left to the report.
    """
    # By name, not by kind: a summary.json or a plan.json here that is a FIFO or a link to a device is
    # the report's to name (it reads them bounded, regular files only), not a sign of a foreign folder.
    if not out.is_dir() or os.path.lexists(out / SUMMARY_FILE):
        return out
    for entry in out.iterdir():
        if entry.name == REPORT_FILE and _regular(entry):
            continue
        if entry.is_dir() and not entry.is_symlink() and all(_is_plan_file_name(e.name) for e in entry.iterdir()):
            continue
        raise UsageError(f"--out {out}: not a plan output folder (no {SUMMARY_FILE}, and it holds "
                         f"{entry.name!r}, which no plan wrote); name the folder `ai-serving plan --all --out` "
                         "wrote")
    return out

"""plan --all judges each stack alone: a stack's failure, a worker's death or a pack process's death
affects that stack only, with its real reason; the output folder always holds one whole run."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from ai_serving.engine.project import load_project
from ai_serving.org import plan_all as plan_all_module
from ai_serving.org.plan_all import OutputFolder, plan_all
from ai_serving.outcome import UsageError, exit_text

from .cli_helpers import write_stack
from .processes import alive
from .stackdata import base_config

# A tiny program: a few resources, and per stack config the failure under test.
PROGRAM = textwrap.dedent('''
    import os, signal
    import pulumi

    mode = pulumi.get_stack().split("-")[0].rstrip("0123456789")  # the team's name says what it does
    if os.environ.get("WHERE_DIR"):  # which process ran this stack's program, on which cores
        with open(os.path.join(os.environ["WHERE_DIR"], pulumi.get_stack() + ".program"), "w") as fh:
            fh.write(f"{os.getpid()} {sorted(os.sched_getaffinity(0))}")
    if mode == "die":
        os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies while planning this stack
    # float("inf") cannot be serialised: the budget's registration fails inside the SDK's RPC machinery
    # once the resources it waits for exist, with outputs still waiting on it.
    # (test_a_failed_registration_... below is the red team's case with the real program.)
    things = [pulumi.CustomResource("test:index:Thing", f"thing{i}", {"value": i, "mode": mode,
                                                                     "stack": pulumi.get_stack()})
              for i in range(8)]
    budget = pulumi.CustomResource("test:index:Budget", "budget", {
        "amount": float("inf") if mode == "raise" else 1.0, "mode": mode,
        "scope": pulumi.Output.all(*[t.id for t in things]).apply(lambda ids: ",".join(ids))})
    for i in range(8):
        pulumi.CustomResource("test:index:Alert", f"alert{i}", {"budget": budget.id, "mode": mode})
    pulumi.export("mode", mode)
    pulumi.export("budget", budget.id)
''')

PACK = textwrap.dedent('''
    import os, signal, time
    from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

    def check(args, report):
        mode = args.props.get("mode")
        if mode == "insecure":
            report("insecure thing")
        elif mode == "where" and "stack" in args.props:
            with open(os.path.join(os.environ["WHERE_DIR"], args.props["stack"] + ".pack"), "w") as fh:
                fh.write(f"{os.getpid()} {sorted(os.sched_getaffinity(0))}")
        elif mode == "killpack":
            os.kill(os.getpid(), signal.SIGKILL)  # the pack process dies during Analyze
        elif mode == "killworker":
            with open(os.environ["PACK_PID_FILE"], "w") as fh:
                fh.write(str(os.getpid()))
            zygote = os.getppid()
            with open(f"/proc/{zygote}/stat") as fh:
                worker = int(fh.read().rsplit(")", 1)[1].split()[1])
            os.kill(worker, signal.SIGKILL)  # the worker dies while this pack process is serving it
            time.sleep(60)

    PolicyPack("test-pack", [ResourceValidationPolicy(name="things-secure", description="things are secure",
               enforcement_level=EnforcementLevel.MANDATORY, validate=check)])
''')


def _project(tmp_path: Path, teams: list[str]) -> Path:
    root = tmp_path / "project"
    (root / "program").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: ai-serving\nruntime: python\nmain: program/\n"
                                      "stackConfigDir: stacks\n", encoding="utf-8")
    (root / "program" / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    stacks = root / "stacks"
    stacks.mkdir()
    for i, team in enumerate(teams):
        path = stacks / f"Pulumi.{team}-dev.yaml"
        if team.startswith("binary"):
            path.write_bytes(b"config:\n  ai-serving:team: \xff\xfe caf\xe9\n")
            continue
        cfg = base_config("dev", team=team, gpu=False)
        cfg["ai-serving:network"] = {"addressSpace": f"10.{60 + i}.0.0/22"}
        write_stack(stacks, f"{team}-dev", cfg)
    pack = root / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n", encoding="utf-8")
    (pack / "__main__.py").write_text(PACK, encoding="utf-8")
    return root


def _run(root: Path, out: Path, workers: int, *, pack: bool = True) -> tuple[int, dict]:
    project = load_project(root)
    with open(out.parent / f"{out.name}.log", "w") as log:
        console = Console(file=log, soft_wrap=True)
        code = plan_all(project, pack_dir=root / "pack" if pack else None, policy_config=None, out=out,
                        workers=workers, console=console, err=console, today=date(2026, 12, 2))
    return code, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _rows(summary: dict) -> dict[str, dict]:
    return {row["stack"]: row for row in summary["stacks"]}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_program_fails_only_its_own_stack(tmp_path, workers):
    root = _project(tmp_path, ["raise1", "ok1", "raise2", "ok2"])
    code, summary = _run(root, tmp_path / "out", workers, pack=False)
    rows = _rows(summary)
    assert code == 1
    assert {s: r["status"] for s, r in rows.items()} == {"raise1-dev": "error", "ok1-dev": "ok", "raise2-dev": "error",
                                                         "ok2-dev": "ok"}
    assert rows["ok1-dev"]["errors"] == [] and rows["ok2-dev"]["errors"] == []
    assert "Infinity" in rows["raise1-dev"]["errors"][0]


def test_an_unreadable_stack_file_is_that_stacks_row_and_the_run_completes(tmp_path):
    root = _project(tmp_path, ["binary1", "ok1"])
    code, summary = _run(root, tmp_path / "out", 1, pack=False)
    rows = _rows(summary)
    assert rows["ok1-dev"]["status"] == "ok"
    assert rows["binary1-dev"]["status"] in ("invalid-config", "error")
    assert code != 0
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "✅" not in report.splitlines()[0] and "binary1-dev" in report


def test_a_dead_worker_takes_only_its_stack_with_it(tmp_path):
    root = _project(tmp_path, ["ok1", "die1", "ok2", "ok3", "insecure1"])
    code, summary = _run(root, tmp_path / "out", 2)
    rows = _rows(summary)
    assert {s: r["status"] for s, r in rows.items()} == {"ok1-dev": "ok", "die1-dev": "error", "ok2-dev": "ok",
                                                         "ok3-dev": "ok", "insecure1-dev": "policy-failed"}
    assert "worker planning this stack died (killed by SIGKILL)" in rows["die1-dev"]["errors"][0]
    assert code == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_a_killed_pack_process_is_reported_as_such(tmp_path, workers):
    root = _project(tmp_path, ["killpack1", "ok1", "insecure1"])
    code, summary = _run(root, tmp_path / "out", workers)
    rows = _rows(summary)
    assert {s: r["status"] for s, r in rows.items()} == {"killpack1-dev": "error", "ok1-dev": "ok", "insecure1-dev": "policy-failed"}
    message = rows["killpack1-dev"]["errors"][0]
    assert "policy pack process" in message and "died during Analyze" in message, message
    assert "pickle" not in message


def _where(where: Path, stack: str, role: str) -> tuple[int, list[int]]:
    pid, cpus = where.joinpath(f"{stack}.{role}").read_text().split(" ", 1)
    return int(pid), json.loads(cpus)


needs_two_cores = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning needs two usable cores")


@needs_two_cores
def test_each_worker_and_its_pack_processes_run_on_a_core_of_their_own(tmp_path, monkeypatch):
    where = tmp_path / "where"
    where.mkdir()
    monkeypatch.setenv("WHERE_DIR", str(where))
    stacks = [f"where{i}-dev" for i in range(1, 7)]
    root = _project(tmp_path, [s.removesuffix("-dev") for s in stacks])
    code, summary = _run(root, tmp_path / "out", 2)
    assert code == 0 and {r["status"] for r in summary["stacks"]} == {"ok"}
    cores: dict[int, list[int]] = {}
    for stack in stacks:
        worker, worker_cpus = _where(where, stack, "program")
        pack, pack_cpus = _where(where, stack, "pack")
        assert len(worker_cpus) == 1, (stack, worker_cpus)
        assert pack_cpus == worker_cpus and pack != worker  # the stack's pack process shares its worker's core
        assert cores.setdefault(worker, worker_cpus) == worker_cpus  # a worker keeps its core
    assert len(cores) == 2 and len({c[0] for c in cores.values()}) == 2, cores  # two workers, two cores


@needs_two_cores
def test_a_worker_replacing_a_dead_one_takes_its_core(tmp_path, monkeypatch):
    where = tmp_path / "where"
    where.mkdir()
    monkeypatch.setenv("WHERE_DIR", str(where))
    root = _project(tmp_path, ["where1", "die1", "where2", "where3", "where4", "where5"])
    code, summary = _run(root, tmp_path / "out", 2)
    assert _rows(summary)["die1-dev"]["status"] == "error" and code == 1
    first, first_cpus = _where(where, "where1-dev", "program")  # stacks go out in order: where1 to one worker,
    dead, dead_cpus = _where(where, "die1-dev", "program")      # die1 to the other
    later = dict(_where(where, f"where{i}-dev", "program") for i in range(2, 6))
    fresh = {pid: cpus for pid, cpus in later.items() if pid not in (first, dead)}
    assert fresh, later  # the dead worker was replaced and its successor planned some of the rest
    assert first_cpus != dead_cpus and all(cpus == dead_cpus for cpus in fresh.values()), (first_cpus, dead_cpus, fresh)


def test_workers_are_pinned_only_when_each_can_have_a_core_of_its_own(monkeypatch):
    monkeypatch.setattr(plan_all_module.os, "sched_getaffinity", lambda pid: {5, 2, 7})
    assert plan_all_module.worker_cpus(3) == [2, 5, 7]
    assert plan_all_module.worker_cpus(2) == [2, 5]
    assert plan_all_module.worker_cpus(4) == [None] * 4  # more workers than cores: the scheduler places them
    assert plan_all_module.worker_cpus(1) == [None]  # one worker plans in the command's own process


def test_a_killed_worker_leaves_no_pack_process_behind(tmp_path, monkeypatch):
    pid_file = tmp_path / "pack.pid"
    monkeypatch.setenv("PACK_PID_FILE", str(pid_file))
    root = _project(tmp_path, ["ok1", "killworker1", "ok2"])
    code, summary = _run(root, tmp_path / "out", 2)
    rows = _rows(summary)
    assert rows["killworker1-dev"]["status"] == "error" and "died" in rows["killworker1-dev"]["errors"][0]
    assert rows["ok1-dev"]["status"] == rows["ok2-dev"]["status"] == "ok"
    pack_pid = int(pid_file.read_text())
    deadline = time.monotonic() + 30  # generous: the kernel delivers the parent-death signal at once
    while time.monotonic() < deadline and alive(pack_pid):
        time.sleep(0.1)
    assert not alive(pack_pid), f"pack process {pack_pid} outlived its worker"


def test_the_output_folder_holds_exactly_one_run(tmp_path):
    root = _project(tmp_path, ["ok1", "ok2"])
    out = tmp_path / "out"
    _run(root, out, 1, pack=False)
    (root / "stacks" / "Pulumi.ok2-dev.yaml").unlink()
    code, summary = _run(root, out, 1, pack=False)
    assert code == 0 and [r["stack"] for r in summary["stacks"]] == ["ok1-dev"]
    assert not (out / "ok2-dev").exists(), "a plan file of an earlier run was left beside this run's summary"
    assert not list(tmp_path.glob(".out.run-*")) and not list(tmp_path.glob(".out.old-*"))


def test_a_second_run_into_the_same_folder_is_refused_while_one_runs(tmp_path):
    root = _project(tmp_path, ["ok1"])
    out = tmp_path / "out"
    with OutputFolder(out), pytest.raises(UsageError, match="another plan --all is writing there"):
        _run(root, out, 1, pack=False)


def test_a_run_removes_its_lock_and_a_lock_removed_as_it_was_taken_is_taken_again(tmp_path, monkeypatch):
    """The lock file stayed beside --out after every run. Removed now by its holder, so a run that opened the
    file just before it went must not count a lock on the removed file (a third run could lock the new one)."""
    import fcntl

    from ai_serving.org import plan_all as plan_all_module

    root = _project(tmp_path, ["ok1"])
    out = tmp_path / "out"
    lock = tmp_path / ".out.lock"
    assert _run(root, out, 1, pack=False)[0] == 0
    assert not lock.exists()

    real_flock, takes = fcntl.flock, []

    def holder_leaves_between_open_and_lock(fd, op):
        if op & fcntl.LOCK_EX:
            takes.append(fd)
            if len(takes) == 1:
                lock.unlink()  # what the run before does as it lets go,
                lock.touch()  # and a third run opens the name afresh
        return real_flock(fd, op)

    monkeypatch.setattr(plan_all_module.fcntl, "flock", holder_leaves_between_open_and_lock)
    with OutputFolder(out) as folder:
        # Locked the removed file first, saw the name lead elsewhere, and took the file now under the name.
        assert len(takes) == 2 and takes[0].closed and takes[1] is folder._lock
        assert os.path.samestat(os.stat(lock), os.fstat(folder._lock.fileno()))
        with pytest.raises(UsageError, match="another plan --all is writing there"):
            OutputFolder(out)
    assert not lock.exists()


def test_a_full_disk_is_a_clean_error_and_leaves_the_old_output(tmp_path, monkeypatch):
    root = _project(tmp_path, ["ok1"])
    out = tmp_path / "out"
    _run(root, out, 1, pack=False)
    before = (out / "summary.json").read_text(encoding="utf-8")
    real = plan_all_module.atomic.write_text

    def full(path, text):
        if path.name == "summary.json":
            raise OSError(28, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(plan_all_module.atomic, "write_text", full)
    with pytest.raises(UsageError, match="No space left on device"):
        _run(root, out, 1, pack=False)
    assert (out / "summary.json").read_text(encoding="utf-8") == before
    assert not list(tmp_path.glob(".out.run-*"))


def test_out_that_is_a_file_is_refused_before_planning(tmp_path):
    root = _project(tmp_path, ["ok1"])
    (tmp_path / "out").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        _run(root, tmp_path / "out", 1, pack=False)


def test_workers_must_be_positive(tmp_path):
    root = _project(tmp_path, ["ok1"])
    with pytest.raises(UsageError, match="--workers must be 1 or more; found -3"):
        _run(root, tmp_path / "out", -3, pack=False)


def test_signal_names_are_reported():
    assert exit_text(-signal.SIGKILL) == "killed by SIGKILL"
    assert exit_text(-200) == "killed by signal 200"
    assert exit_text(3) == "exit code 3"
    assert exit_text(None) == "no exit status"


def test_a_hundred_stacks_report_exactly_their_three_failures(tmp_path):
    """One unreadable file, one failing program and one policy failure among 100 stacks: exactly those three."""
    teams = [f"ok{i}" for i in range(97)] + ["binary1", "raise1", "insecure1"]
    root = _project(tmp_path, teams)
    cfg = base_config("dev", gpu=False)
    [dep] = cfg["ai-serving:openai"]["deployments"]
    (root / "stacks" / "quotas.yaml").write_text(yaml.safe_dump(  # room for all of them: no cross-team finding
        {"openai": {cfg["azure-native:location"]: {dep["model"]: {dep["sku"]: 100 * dep["capacity"]}}}}),
        encoding="utf-8")
    code, summary = _run(root, tmp_path / "out", 2)
    rows = _rows(summary)
    assert len(rows) == 100
    failing = {s: r["status"] for s, r in rows.items() if r["status"] != "ok"}
    assert failing == {"binary1-dev": "invalid-config", "raise1-dev": "error", "insecure1-dev": "policy-failed"}
    assert all(r["errors"] == [] and r["mandatory"] == 0 for s, r in rows.items() if s not in failing)
    assert summary["crossTeam"] == []
    assert "not valid UTF-8" in rows["binary1-dev"]["errors"][0]
    assert code == 2
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert report.startswith("## ❌ ai-serving plan: 3 of 100 stack(s) fail")


def test_a_failed_registration_does_not_fail_the_next_stack_in_the_same_worker(tmp_path, monkeypatch):
    """The red team's case: a stack whose budget cannot be registered, planned before a valid one in
    the same process, made the valid one fail with the first one's error (Pulumi's RPC state leaked)."""
    from ai_serving.engine import runner

    from .cli_helpers import ROOT

    register = runner._RecordingMonitor.RegisterResource

    def failing(self, request):
        if self.stack == "team-a-dev" and request.type == "azure-native:consumption:Budget":
            raise ValueError("injected: the budget cannot be registered")
        return register(self, request)

    monkeypatch.setattr(runner._RecordingMonitor, "RegisterResource", failing)
    project = load_project(ROOT)
    with open(tmp_path / "log", "w") as log:
        console = Console(file=log, soft_wrap=True)
        code = plan_all(project, pack_dir=None, policy_config=None, out=tmp_path / "out", workers=1,
                        console=console, err=console, today=date(2026, 12, 2))
    rows = _rows(json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8")))
    assert rows["team-a-dev"]["status"] == "error" and "budget" in rows["team-a-dev"]["errors"][0]
    assert {s: r["status"] for s, r in rows.items() if s != "team-a-dev"} == {"team-a-prod": "ok", "team-b-dev": "ok"}
    assert code == 1


def test_plan_all_leaves_no_process_of_its_own_running_when_it_returns(tmp_path):
    # Workers, their pack zygotes and multiprocessing's resource tracker all belong to the command's
    # session; when `plan --all` returns, none may still be there (a CI step runner kills or waits for
    # what a step leaves behind). The resource tracker used to end only after the command had.
    import subprocess
    import sys

    root = _project(tmp_path, ["ok1", "ok2", "ok3"])
    proc = subprocess.Popen([sys.executable, "-m", "ai_serving.cli", "plan", "--all", "--project", str(root),
                             "--policy-pack", str(root / "pack"), "--out", str(tmp_path / "out"), "--workers", "2",
                             "--quiet"], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        if int(fields[3]) == proc.pid:  # field 6 of /proc/PID/stat: the session id
            left.append(f"{stat.parent.name} ({fields[0]})")
    assert not left, f"processes of the command's session still there after it returned: {left}"


def _no_planning(*args, **kwargs):
    raise AssertionError("a stack was planned before --base was checked")


@pytest.mark.parametrize(("make_base", "says"), [
    (lambda base: base.parent / "passwd", "not a directory of plan outputs"),
    (lambda base: _base_with(base, {"resources": [{"urn": 1}]}), "resources[0].urn: expected a string; found 1"),
    (lambda base: _base_with(base, "[" * 100_000 + "]" * 100_000), "nested too deeply"),
], ids=["a-file", "a-plan-of-another-shape", "deeply-nested"])
def test_a_bad_base_is_refused_before_any_stack_is_planned(tmp_path, monkeypatch, make_base, says):
    root = _project(tmp_path, ["ok1"])
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    base = make_base(tmp_path / "base")
    monkeypatch.setattr(plan_all_module, "run_stacks", _no_planning)
    with open(tmp_path / "log", "w") as log, pytest.raises(UsageError) as raised:
        console = Console(file=log, soft_wrap=True)
        plan_all(load_project(root), pack_dir=None, policy_config=None, out=tmp_path / "out", workers=1,
                 console=console, err=console, today=date(2026, 12, 2), base=base)

    assert says in str(raised.value) and str(base) in str(raised.value)
    assert not (tmp_path / "out").exists()


def _base_with(base: Path, plan: object) -> Path:
    (base / "ok1-dev").mkdir(parents=True)
    text = plan if isinstance(plan, str) else json.dumps(plan)
    (base / "ok1-dev" / "plan.json").write_text(text, encoding="utf-8")
    return base


def test_a_good_base_gives_the_report_what_the_change_does(tmp_path, monkeypatch):
    from ai_serving.reports import diff, markdown

    root = _project(tmp_path, ["ok1"])
    _run(root, tmp_path / "base", 1, pack=False)
    reads, real = [], diff.load_plans
    monkeypatch.setattr(diff, "load_plans", lambda d: (reads.append(d.name), real(d))[1])
    monkeypatch.setattr(markdown, "load_plans", diff.load_plans)
    with open(tmp_path / "log", "w") as log:
        console = Console(file=log, soft_wrap=True)
        code = plan_all(load_project(root), pack_dir=None, policy_config=None, out=tmp_path / "out", workers=1,
                        console=console, err=console, today=date(2026, 12, 2), base=tmp_path / "base")

    assert code == 0
    assert "No stack plans differently from the base (1 compared)" in (tmp_path / "out" / "report.md").read_text()
    # The base checked before planning is the one the report uses: each folder read once.
    assert len(reads) == 2 and reads[0] == "base" and reads[1].startswith(".out.run-"), reads  # then: the staging


def test_base_without_all_and_out_is_a_usage_error(capsys):
    from ai_serving.cli import main

    from .cli_helpers import ROOT

    assert main(["plan", "team-a-dev", "--no-policy", "--base", str(ROOT), "--project", str(ROOT)]) == 2
    assert "--base is for `plan --all --out DIR`" in capsys.readouterr().err


def _run_gated(root: Path, out: Path, gate: list[str]) -> tuple[int, str, dict]:
    project = load_project(root)
    log = out.parent / f"{out.name}.log"
    with open(log, "w") as fh:
        console = Console(file=fh, soft_wrap=True, width=200)
        code = plan_all(project, pack_dir=root / "pack", policy_config=None, out=out, workers=1, console=console,
                        err=console, today=date(2026, 12, 2), gate=gate)
    return code, log.read_text(encoding="utf-8"), json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_gate_takes_the_exit_code_from_the_gated_stacks_only(tmp_path):
    """A pull request that changes only ok-dev's file is not failed by another team's failing stack, which is
    still planned, judged and reported."""
    root = _project(tmp_path, ["insecure", "ok"])
    assert _run(root, tmp_path / "all", 1)[0] == 1

    code, log, summary = _run_gated(root, tmp_path / "gated", ["ok-dev"])
    assert code == 0
    assert _rows(summary)["insecure-dev"]["status"] == "policy-failed"
    assert "not gating: insecure-dev, which failed" in log

    assert _run_gated(root, tmp_path / "gated-on-it", ["insecure-dev", "ok-dev"])[0] == 1


def test_gate_naming_no_stack_file_is_a_usage_error(tmp_path):
    root = _project(tmp_path, ["ok"])
    with pytest.raises(UsageError, match="--gate 'nope-dev': no such stack file"):
        plan_all(load_project(root), pack_dir=None, policy_config=None, out=None, workers=1,
                 console=Console(quiet=True), err=Console(quiet=True), gate=["nope-dev"])


@pytest.mark.parametrize(("stacks", "code"), [(["b-dev", "c-dev"], 0), (["a-dev", "c-dev"], 1), ([], 1)])
def test_gate_keeps_the_cross_team_findings_that_name_a_gated_stack(stacks, code):
    """A mandatory cross-team finding fails a gated run when it names a gated stack, or no stack at all (the
    checks could not run); one between two other teams' stacks does not."""
    finding = plan_all_module.CrossTeamFinding("address-overlap", "mandatory", stacks, "overlap")
    ok = [{"stack": s, "exit_code": 0} for s in ("a-dev", "b-dev", "c-dev")]
    assert plan_all_module._exit_code(ok, [finding], {"a-dev"}) == code
    assert plan_all_module._exit_code(ok, [finding], None) == 1

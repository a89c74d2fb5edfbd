"""plan --all: parallel equals sequential, one broken stack does not stop the others, quotas fail it."""

from __future__ import annotations

import json
from datetime import date

from rich.console import Console

from ai_serving.engine.project import load_project
from ai_serving.org.plan_all import plan_all

from .cli_helpers import ROOT, cli, write_stack
from .stackdata import base_config


def _stacks(tmp_path, n: int):
    stack_dir = tmp_path / "stacks"
    for i in range(n):
        cfg = base_config("dev", team=f"team{i}", gpu=i % 2 == 0)
        cfg["ai-serving:network"] = {"addressSpace": f"10.{60 + i}.0.0/22"}
        write_stack(stack_dir, f"team{i}-dev", cfg)
    return stack_dir


def _plan(stack_dir, out, workers):
    project = load_project(ROOT, stack_dir)
    with open(out.with_suffix(".log"), "w") as log:
        console = Console(file=log, soft_wrap=True)
        code = plan_all(project, pack_dir=None, policy_config=None, out=out, workers=workers, console=console,
                        err=console, today=date(2026, 11, 28))
    return code, json.loads((out / "summary.json").read_text())


def _plan_docs(out):
    docs = {}
    for path in sorted(out.glob("*/plan.json")):
        doc = json.loads(path.read_text())
        doc["resources"] = sorted(doc["resources"], key=lambda r: r["urn"])
        for r in doc["resources"]:
            r["dependencies"] = sorted(r["dependencies"])
        docs[path.parent.name] = doc
    return docs


def test_parallel_plan_equals_sequential_plan(tmp_path):
    stack_dir = _stacks(tmp_path, 4)
    code_seq, seq = _plan(stack_dir, tmp_path / "seq", workers=1)
    code_par, par = _plan(stack_dir, tmp_path / "par", workers=2)
    assert code_seq == code_par == 0
    assert seq["stacks"] == par["stacks"]
    assert _plan_docs(tmp_path / "seq") == _plan_docs(tmp_path / "par")
    assert len(_plan_docs(tmp_path / "par")) == 4


def test_one_broken_stack_does_not_stop_the_others(tmp_path):
    stack_dir = _stacks(tmp_path, 3)
    write_stack(stack_dir, "broken-dev", text="config:\n  ai-serving:team: [unclosed\n")
    code, summary = _plan(stack_dir, tmp_path / "out", workers=2)
    assert code == 2
    status = {s["stack"]: s["status"] for s in summary["stacks"]}
    assert status == {"broken-dev": "invalid-config", "team0-dev": "ok", "team1-dev": "ok", "team2-dev": "ok"}
    broken = next(s for s in summary["stacks"] if s["stack"] == "broken-dev")
    assert "YAML syntax error" in broken["errors"][0]


def test_over_quota_stacks_fail_the_run(tmp_path):
    stack_dir = _stacks(tmp_path, 2)
    (stack_dir / "quotas.yaml").write_text(
        "openai:\n  swedencentral:\n    gpt-5.5:\n      GlobalStandard: 40\n", encoding="utf-8")
    code, summary = _plan(stack_dir, tmp_path / "out", workers=1)
    assert code == 1
    quota = [f for f in summary["crossTeam"] if f["check"] == "openai-quota"]
    assert quota and quota[0]["level"] == "mandatory" and quota[0]["stacks"] == ["team0-dev", "team1-dev"]


def test_cli_plan_all_on_the_examples(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli("plan", "--all", "--no-policy", "--out", out, "--workers", "1") == 0
    text = capsys.readouterr().out
    for stack in ("team-a-dev", "team-a-prod", "team-b-dev"):
        assert stack in text and (out / stack / "plan.json").is_file()
    # The examples have no cross-team finding: the report says so naming every check that ran (one list).
    from ai_serving.org.crossteam import CHECKS

    assert json.loads((out / "summary.json").read_text())["crossTeamChecks"] == CHECKS
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"No findings ({', '.join(CHECKS.values())})." in report


def test_plan_all_with_the_pack_describes_it_and_the_examples_pass(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli("plan", "--all", "--out", out, "--workers", "1") == 0
    summary = json.loads((out / "summary.json").read_text())
    assert all(s["mandatory"] == 0 and s["status"] == "ok" for s in summary["stacks"])
    pack = summary["pack"]
    assert pack["name"] == "ai-serving-guardrails"
    cs01 = next(p for p in pack["policies"].values() if p["rule"] == "CS-01")
    assert cs01["level"] == "mandatory" and cs01["remediation"] and cs01["url"].startswith("https://")
    assert (out / "report.md").is_file()


def test_each_stack_is_read_and_validated_once(tmp_path, monkeypatch):
    """plan --all reads each stack file once and validates it once: the worker's load_stack does both,
    the program under the runner reuses that validation, and the cross-team checks use the config the
    worker returned (no second read)."""
    import infra.config.loader as loader
    from ai_serving.engine import project as engine_project

    reads: list[str] = []
    validations: list[str | None] = []
    real_read, real_validate = engine_project.read_stack_config, loader._validate

    def counting_read(project, stack, path=None):
        reads.append(stack)
        return real_read(project, stack, path)

    def counting_validate(raw, *, stack_name, source):
        validations.append(stack_name)
        return real_validate(raw, stack_name=stack_name, source=source)

    monkeypatch.setattr(engine_project, "read_stack_config", counting_read)
    monkeypatch.setattr("ai_serving.stacks.read_stack_config", counting_read)
    monkeypatch.setattr(loader, "_validate", counting_validate)
    monkeypatch.setattr(loader, "_VALIDATED", {})
    stack_dir = _stacks(tmp_path, 3)
    code, summary = _plan(stack_dir, tmp_path / "out", workers=1)  # one process, so the counters see it all
    assert code == 0 and len(summary["stacks"]) == 3
    assert sorted(reads) == ["team0-dev", "team1-dev", "team2-dev"]
    assert sorted(validations) == ["team0-dev", "team1-dev", "team2-dev"]

"""`ai-serving plan STACK` in a terminal: progress during the silent seconds, findings a person can act
on, and `--output json` for scripts."""

from __future__ import annotations

import io
import json

from rich.console import Console

from ai_serving.outcome import ExitCode
from ai_serving.plan import StackOutcome
from ai_serving.reports.terminal import PhaseProgress, print_outcome
from ai_serving.verdict import Verdict

from .cli_helpers import cli

URN = ("urn:pulumi:team-a-prod::ai-serving::ai-serving:keyvault:Vault$azure-native:keyvault:Vault::"
       "kv-team-a-p-a4aae6")
PACK = {"name": "ai-serving-guardrails", "version": "0.1.0", "policies": {
    "kv-01-purge-protection": {"rule": "KV-01", "level": "mandatory",
                               "remediation": "Set properties.enablePurgeProtection: true.", "url": None}}}


def _failed() -> StackOutcome:
    verdict = Verdict("ai-serving-guardrails", violations=[
        {"policy": "kv-01-purge-protection", "rule": "KV-01", "level": "mandatory", "urn": URN,
         "message": "purge protection is off"}])
    return StackOutcome("team-a-prod", ExitCode.FAILED, verdict=verdict, pack=PACK)


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=200, highlight=False, color_system=None), buf


def test_a_failure_shows_the_short_resource_name_and_the_remediation():
    console, out = _console()
    err, _ = _console()

    assert print_outcome(_failed(), console, err, quiet=True) == ExitCode.FAILED

    text = out.getvalue()
    assert "KV-01 kv-team-a-p-a4aae6 (keyvault:Vault)" in text
    assert "purge protection is off" in text
    assert "fix: Set properties.enablePurgeProtection: true." in text
    assert "urn:pulumi" not in text


def test_plan_prints_one_plain_line_per_step_on_stderr_when_not_a_terminal(capsys):
    assert cli("plan", "team-a-dev", "--quiet", "--no-policy") == 0

    captured = capsys.readouterr()
    steps = [line for line in captured.err.splitlines() if line.startswith("plan team-a-dev: ")]
    assert steps[:2] == ["plan team-a-dev: stack file read + validation", "plan team-a-dev: program under mocks"]
    assert "\r" not in captured.err and "\x1b" not in captured.err  # nothing redrawn in a CI log
    assert "plan team-a-dev:" not in captured.out


def test_on_a_terminal_a_spinner_names_the_step_and_is_gone_afterwards():
    buf = io.StringIO()
    err = Console(file=buf, force_terminal=True, width=80)
    with PhaseProgress(err, "team-a-dev") as progress:
        progress.phase("program under mocks (run_program)")
        assert progress.spinner is not None and progress.spinner.status == "team-a-dev: program under mocks"
        progress.phase("policy pack: analyze")
        assert progress.spinner.status == "team-a-dev: policy pack: analyze"
    assert progress.spinner is None
    assert "plan team-a-dev:" not in buf.getvalue()  # no plain lines on a terminal


def test_output_json_is_one_document_on_stdout_and_nothing_else(capsys, tmp_path):
    code = cli("plan", "team-a-dev", "--output", "json", "--out", tmp_path / "o")

    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # the whole of stdout is one JSON document
    assert code == doc["exitCode"] == 0
    assert doc["stack"] == "team-a-dev" and doc["status"] == "ok"
    assert doc["resources"] > 40 and doc["mandatory"] == [] and doc["policyPack"]["name"]
    assert any(f.endswith("plan.json") for f in doc["files"])
    assert captured.err == ""


def test_output_json_carries_findings_with_remediation():
    from ai_serving.reports.terminal import outcome_json

    doc = outcome_json(_failed())

    assert doc["status"] == "policy-failed" and doc["exitCode"] == 1
    assert doc["mandatory"] == [{"rule": "KV-01", "policy": "kv-01-purge-protection", "level": "mandatory",
                                 "resource": "kv-team-a-p-a4aae6", "urn": URN, "message": "purge protection is off",
                                 "remediation": "Set properties.enablePurgeProtection: true.", "url": None}]
    json.dumps(doc)


def test_output_json_with_all_is_a_usage_error(capsys):
    assert cli("plan", "--all", "--output", "json") == 2
    assert "--output json is for one stack" in capsys.readouterr().err

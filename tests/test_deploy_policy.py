"""The policy config a stack deploys with: the engine knows no waivers, so `ai-serving plan --out` writes
the project's config with the policies the stack validly waives advisory, CI passes it to `pulumi preview`
and `pulumi up`, and the reports say so."""

from __future__ import annotations

import copy
import io
import json
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from ai_serving.deploy_policy import advisory_at_deploy, deploy_policy_config
from ai_serving.engine.analyzer import Analysis, Diagnostic, PolicyMeta
from ai_serving.outcome import ExitCode
from ai_serving.output_folders import DEPLOY_POLICY_CONFIG_FILE
from ai_serving.plan import StackOutcome
from ai_serving.reports.markdown import stack_section
from ai_serving.reports.terminal import print_outcome
from ai_serving.verdict import Verdict, WaiverRules, decide
from infra.config.model import Suppression

from .cli_helpers import ROOT, cli, write_stack
from .stackdata import base_config

CMK = "cs-05-ai-account-customer-managed-key"
KV = "kv-01-purge-protection"
REPAIRS = "vmss-06-automatic-repairs"
URN = "urn:pulumi:team-t-prod::ai-serving::azure-native:cognitiveservices:Account::oai-team-t-prod-sdc"
OTHER = "urn:pulumi:team-t-prod::ai-serving::azure-native:cognitiveservices:Account::oai-team-t-prod-other"
BASE = json.loads((ROOT / "policies" / "policy-config.json").read_text(encoding="utf-8"))
TODAY = date(2026, 12, 2)
WAIVER = {"rule": "CS-05", "resource": "oai-team-t-prod-sdc", "reason": "CMK rollout tracked in PLAT-123",
          "expires": "2027-03-31"}


def _waived(policy: str, level: str = "mandatory", urn: str = URN) -> dict:
    return {"policy": policy, "level": level, "urn": urn, "reason": "tracked in PLAT-123", "expires": "2027-03-31"}


def _violation(policy: str, level: str = "mandatory", urn: str = URN) -> dict:
    return {"policy": policy, "level": level, "urn": urn, "message": "x"}


# --- the function -----------------------------------------------------------------------------------------

def test_a_waived_mandatory_policy_runs_advisory_and_nothing_else_changes():
    before = copy.deepcopy(BASE)
    config = deploy_policy_config(BASE, {"suppressed": [_waived(CMK)], "violations": [_violation(KV, "advisory")]})
    assert before == BASE, "the project's config is not changed"
    assert config[CMK] == {**BASE[CMK], "enforcementLevel": "advisory"}  # its settings kept
    assert {k: v for k, v in config.items() if k != CMK} == {k: v for k, v in BASE.items() if k != CMK}
    config["net-01-no-internet-management-ports"]["managementPorts"].append(23)
    config[CMK]["prodEnvironments"].append("staging")
    assert before == BASE, "the result shares nothing with the config it came from"


def test_without_waivers_of_mandatory_findings_the_config_is_the_plans_own():
    assert deploy_policy_config(BASE, {"suppressed": [], "violations": [_violation(KV)]}) == BASE
    # A waived advisory finding (VMSS-06, automatic repairs) needs nothing at deploy.
    assert deploy_policy_config(BASE, {"suppressed": [_waived(REPAIRS, "advisory")]}) == BASE
    assert deploy_policy_config(None, None) == {}


def test_a_policy_with_an_unwaived_mandatory_finding_stays_mandatory():
    """Then the plan fails on it and so must the engine: the file is never more lenient than the plan."""
    policy = {"suppressed": [_waived(CMK)], "violations": [_violation(CMK, urn=OTHER)]}
    assert advisory_at_deploy(policy) == []
    assert deploy_policy_config(BASE, policy) == BASE


def test_a_failing_plan_turns_nothing_advisory_whatever_its_failure_is_named():
    """Found by review: the plan's own finding that a retirement waiver outlives its model is named
    waiver-outlives-model, not DEP-05, and DEP-05 ran advisory at deploy under the waiver the plan refused."""
    dep05 = "dep-05-deployment-retirement-horizon-prod"
    for failure in ("waiver-outlives-model", "waiver-expired", KV):
        policy = {"suppressed": [_waived(dep05), _waived(CMK)], "violations": [_violation(failure, urn="")]}
        assert advisory_at_deploy(policy) == [], failure
        assert deploy_policy_config(BASE, policy) == BASE
    # An advisory finding does not fail the plan: the waivers still apply at deploy.
    assert advisory_at_deploy({"suppressed": [_waived(dep05)], "violations": [_violation(KV, "advisory")]}) == [dep05]


@pytest.mark.parametrize("entry", ["mandatory", None, {"enforcementLevel": "mandatory", "prodOnly": False}])
def test_every_form_of_entry_becomes_an_advisory_object(entry):
    base = {"all": "mandatory", **({CMK: entry} if entry is not None else {})}
    config = deploy_policy_config(base, {"suppressed": [_waived(CMK)]})
    kept = entry if isinstance(entry, dict) else {}
    assert config == {"all": "mandatory", CMK: {**kept, "enforcementLevel": "advisory"}}


META = {CMK: PolicyMeta(name=CMK, description="CMK", level="mandatory", severity=3, config_schema={},
                        required=[], tags=(), remediation="", url="", stack_policy=False)}


def _decided(**waiver: str) -> Verdict:
    analysis = Analysis(diagnostics=[Diagnostic(CMK, "mandatory", URN, "no CMK", "")], analyzed=[URN])
    return decide("pack", META, analysis, [Suppression.model_validate({**WAIVER, **waiver})], today=TODAY,
                  stack="team-t-prod", rules=WaiverRules())


def test_only_a_valid_applied_waiver_is_honoured():
    assert advisory_at_deploy(_decided().to_json()) == [CMK]
    for invalid in ({"expires": "2026-12-01"},  # expired
                    {"expires": "2028-12-03"},  # past the 365-day limit
                    {"resource": "*"},  # matches everything, no allowance
                    {"resource": "kv-*"}):  # matches no finding of the rule
        verdict = _decided(**invalid)
        assert deploy_policy_config(BASE, verdict.to_json()) == BASE, invalid


# --- plan --out writes it; the reports say so -------------------------------------------------------------

def _prod_stack(tmp_path: Path, *, waivers: list[dict]) -> Path:
    cfg = base_config("prod")
    cfg["ai-serving:openai"]["customerManagedKey"] = False  # CS-05, mandatory in prod
    cfg["ai-serving:budget"] = {"monthlyAmount": 5000, "contactEmails": ["finops@example.com"]}
    cfg["ai-serving:suppressions"] = waivers
    stacks = tmp_path / "stacks"
    write_stack(stacks, "team-t-prod", cfg)
    return stacks


def test_plan_writes_the_deploy_config_that_honours_the_stacks_waiver(tmp_path, capsys):
    stacks = _prod_stack(tmp_path, waivers=[WAIVER])
    assert cli("plan", "team-t-prod", "--stack-dir", stacks, "--out", tmp_path / "out", "--quiet") == 0
    said = capsys.readouterr().out
    written = json.loads((tmp_path / "out" / DEPLOY_POLICY_CONFIG_FILE).read_text(encoding="utf-8"))
    assert written == {**BASE, CMK: {**BASE[CMK], "enforcementLevel": "advisory"}}
    assert "At deploy, CS-05 run(s) advisory for the whole stack" in said
    assert f"wrote {tmp_path / 'out' / DEPLOY_POLICY_CONFIG_FILE}" in said

    # The file is a valid policy config (the tooling reads it as the engine does): under it the finding is
    # still reported and waived, now advisory.
    again = tmp_path / "again"
    assert cli("plan", "team-t-prod", "--stack-dir", stacks, "--out", again, "--quiet",
               "--policy-pack-config", tmp_path / "out" / DEPLOY_POLICY_CONFIG_FILE) == 0
    plan = json.loads((again / "plan.json").read_text(encoding="utf-8"))
    assert [(s["policy"], s["level"]) for s in plan["policy"]["suppressed"]] == [(CMK, "advisory")]


def test_without_the_waiver_the_plan_fails_and_its_deploy_config_keeps_the_policy_mandatory(tmp_path, capsys):
    stacks = _prod_stack(tmp_path, waivers=[])
    assert cli("plan", "team-t-prod", "--stack-dir", stacks, "--out", tmp_path / "out", "--quiet") == 1
    assert "At deploy" not in capsys.readouterr().out
    assert json.loads((tmp_path / "out" / DEPLOY_POLICY_CONFIG_FILE).read_text(encoding="utf-8")) == BASE



def test_team_a_prods_digest_waiver_runs_vmss_10_advisory_at_deploy_and_only_there(tmp_path, capsys):
    # VMSS-10 is mandatory; team-a-prod waives it until its image's digest is recorded (README, Digest).
    out = tmp_path / "out"
    assert cli("plan", "team-a-prod", "--stack-dir", ROOT / "stacks", "--out", out, "--quiet") == 0
    capsys.readouterr()
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    waived = [w for w in plan["policy"]["suppressed"] if w["policy"] == "vmss-10-prod-image-by-digest"]
    assert waived and all(w["level"] == "mandatory" for w in waived)
    config = json.loads((out / DEPLOY_POLICY_CONFIG_FILE).read_text(encoding="utf-8"))
    base = json.loads((ROOT / "policies" / "policy-config.json").read_text(encoding="utf-8"))
    assert config["vmss-10-prod-image-by-digest"]["enforcementLevel"] == "advisory"
    assert {k: v for k, v in config.items() if k != "vmss-10-prod-image-by-digest"} == {
        k: v for k, v in base.items() if k != "vmss-10-prod-image-by-digest"}

def test_the_terminal_report_says_which_policies_run_advisory_at_deploy():
    def said(verdict: Verdict) -> str:
        buf = io.StringIO()
        console = Console(file=buf, width=300, highlight=False, color_system=None)
        print_outcome(StackOutcome("team-t-prod", ExitCode.OK, verdict=verdict), console, console, quiet=True)
        return buf.getvalue()

    waived = {**_waived(CMK), "rule": "CS-05"}
    assert "At deploy, CS-05 run(s) advisory" in said(Verdict("pack", suppressed=[waived]))
    assert "At deploy" not in said(Verdict("pack", suppressed=[{**waived, "level": "advisory"}]))


def test_the_markdown_report_says_which_policies_run_advisory_at_deploy():
    row = {"stack": "team-t-prod", "status": "ok"}

    def section(policy: dict) -> str:
        return stack_section({}, row, {"resources": [], "policy": policy}, full=False)

    assert "\nAt deploy, `CS-05` run(s) advisory for the whole stack" in section({"suppressed": [_waived(CMK)]})
    assert "At deploy" not in section({"suppressed": [_waived(REPAIRS, "advisory")]})
    # A policy name from a plan.json anyone could write stays inside its one code span, on its one line.
    hostile = section({"suppressed": [_waived("x`<img src=1>\n# heading")]})
    assert "At deploy, `x'<img src=1> # heading` run(s)" in hostile and "\n# heading" not in hostile

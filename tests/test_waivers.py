"""Waiver hygiene: a reason in words, an expiry within the platform's limit, no catch-all globs
without the platform team's allowance (issue 15, item 3)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ai_serving.engine.analyzer import Analysis, Diagnostic, PolicyMeta
from ai_serving.outcome import UsageError
from ai_serving.verdict import WAIVER_TOO_BROAD, WAIVER_TOO_LONG, WaiverRules, decide, matches_everything
from infra.config.model import Suppression

from .cli_helpers import cli, write_stack
from .stackdata import base_config

TODAY = date(2026, 12, 2)
POLICY = "cs-05-ai-account-customer-managed-key"
META = {POLICY: PolicyMeta(name=POLICY, description="CMK", level="mandatory", severity=3, config_schema={},
                           required=[], tags=(), remediation="", url="", stack_policy=False)}
URN = "urn:pulumi:team-t-prod::ai-serving::azure-native:cognitiveservices:Account::oai-team-t-prod"


def _verdict(*waivers: dict, rules: WaiverRules | None = None):
    analysis = Analysis(diagnostics=[Diagnostic(POLICY, "mandatory", URN, "no CMK", "")], analyzed=[URN])
    suppressions = [Suppression.model_validate({"rule": "CS-05", "resource": "oai-*",
                                                "reason": "CMK rollout tracked in PLAT-123",
                                                "expires": "2027-03-31", **w}) for w in waivers]
    return decide("pack", META, analysis, suppressions, today=TODAY, stack="team-t-prod", rules=rules)


def test_a_sound_waiver_waives():
    verdict = _verdict({})
    assert not verdict.mandatory and len(verdict.suppressed) == 1


@pytest.mark.parametrize("reason", [" " * 12, "\u200b" * 12, "\u200b \u2060\ufeff" * 5, "1234567890!!",
                                    "x" + " " * 20, "\t\n" * 10, "\u200b" * 10 + "ab"])
def test_a_reason_without_words_is_refused(reason):
    with pytest.raises(ValueError, match="reason in words"):
        Suppression.model_validate({"rule": "CS-05", "resource": "oai-*", "reason": reason, "expires": "2027-01-31"})


def test_a_blank_reason_is_a_config_error_naming_the_waiver(tmp_path, capsys):
    cfg = base_config("prod")
    cfg["ai-serving:suppressions"] = [
        {"rule": "CS-05", "resource": "oai-*", "reason": "CMK rollout tracked in PLAT-1", "expires": "2027-01-31"},
        {"rule": "CS-05", "resource": "oai-*", "reason": "\u200b" * 10, "expires": "2027-01-31"},
    ]
    write_stack(tmp_path, "team-t-prod", cfg)
    assert cli("validate", "team-t-prod", "--stack-dir", tmp_path) == 2
    err = capsys.readouterr().err
    assert "ai-serving:suppressions[1].reason" in err and "suppressions[0]" not in err


def test_an_expiry_past_the_limit_waives_nothing():
    verdict = _verdict({"expires": "2028-12-03"})
    assert [v["policy"] for v in verdict.mandatory] == [WAIVER_TOO_LONG, POLICY]
    assert not verdict.suppressed


def test_the_limit_is_configurable():
    assert not _verdict({"expires": "2028-12-01"}, rules=WaiverRules(max_days=730)).mandatory
    assert _verdict({"expires": "2027-01-03"}, rules=WaiverRules(max_days=31)).mandatory


@pytest.mark.parametrize("glob", ["*", "**", "?*", "*?*", "[!-]*", "*-*"])
def test_a_catch_all_glob_needs_an_allowance(glob):
    assert matches_everything(glob)
    verdict = _verdict({"resource": glob})
    assert [v["policy"] for v in verdict.mandatory] == [WAIVER_TOO_BROAD, POLICY]
    allowed = WaiverRules(broad_allowances=(("team-t-prod", "CS-05", glob),))
    assert not _verdict({"resource": glob}, rules=allowed).mandatory


def test_named_globs_are_not_catch_alls():
    assert not matches_everything("oai-*") and not matches_everything("kv-team-?")


def test_the_rules_come_from_the_packs_waivers_file_and_are_checked(tmp_path):
    (tmp_path / "waivers.json").write_text(json.dumps({"maxDays": 90, "broadResourceAllowances": [
        {"stack": "team-a-dev", "rule": "GEN-01", "resource": "*"}]}), encoding="utf-8")
    assert WaiverRules.from_pack(tmp_path) == WaiverRules(90, (("team-a-dev", "GEN-01", "*"),))
    assert WaiverRules.from_pack(tmp_path / "no-such-pack") == WaiverRules()
    for bad in ([], {"maxDays": "a year"}, {"maxDays": 0}, {"broadResourceAllowances": ["*"]}, {"other": 1}):
        (tmp_path / "waivers.json").write_text(json.dumps(bad), encoding="utf-8")
        with pytest.raises(UsageError, match="waivers.json"):
            WaiverRules.from_pack(tmp_path)
    (tmp_path / "waivers.json").write_text('{"maxDays": ', encoding="utf-8")
    with pytest.raises(UsageError, match="waivers.json"):
        WaiverRules.from_pack(tmp_path)


def test_the_repository_sets_the_default_limit_and_no_allowance():
    from .cli_helpers import ROOT

    assert WaiverRules.from_pack(ROOT / "policies") == WaiverRules()
    # policy-config.json is for the Pulumi CLI, which rejects entries that are not policies' config.
    assert "waivers" not in json.loads((ROOT / "policies" / "policy-config.json").read_text(encoding="utf-8"))

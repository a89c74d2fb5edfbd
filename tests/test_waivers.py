"""Waiver hygiene: a reason in words, an expiry within the platform's limit, no catch-all globs
without the platform team's allowance (issue 15, item 3)."""

from __future__ import annotations

import fnmatch
import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai_serving.engine.analyzer import Analysis, Diagnostic, PolicyMeta
from ai_serving.outcome import UsageError
from ai_serving.verdict import MIN_NAMED_PREFIX, WAIVER_TOO_BROAD, WAIVER_TOO_LONG, WaiverRules, decide, too_broad
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


@pytest.mark.parametrize("reason", ["aaaaaaaaaa", "abababab ab", "zzzzzzzzzzzzzzzz!!", "AaAaAaAaAaAa"])
def test_a_reason_of_one_letter_repeated_is_refused(reason):
    with pytest.raises(ValueError, match="at least 4 different letters"):
        Suppression.model_validate({"rule": "CS-05", "resource": "oai-*", "reason": reason, "expires": "2027-01-31"})


@pytest.mark.parametrize("reason", ["TODO: fixme", "todo - write the reason", "TBD, ticket to follow",
                                    "FIXME before go-live", "xxx: fill in later", "TO\u200bDO: write the reason",
                                    "see the\ttodo list"])
def test_a_placeholder_reason_is_refused_like_a_placeholder_cost_center(reason):
    with pytest.raises(ValueError, match="not a placeholder"):
        Suppression.model_validate({"rule": "CS-05", "resource": "oai-*", "reason": reason, "expires": "2027-01-31"})


@pytest.mark.parametrize("reason", ["CMK rollout tracked in PLAT-123", "Toddler-mode filter rollout, PLAT-9",
                                    "xxl model family evaluation", "\u9867\u5ba2\u7ba1\u7406\u30ad\u30fc\u306e\u5c0e"
                                                                   "\u5165\u306fPLAT-123\u3067\u8ffd\u8de1\u4e2d"])
def test_a_reason_in_words_is_accepted(reason):
    assert Suppression.model_validate({"rule": "CS-05", "resource": "oai-*", "reason": reason,
                                       "expires": "2027-01-31"}).reason == reason


def test_the_placeholder_words_are_the_loaders_for_cost_centers_too():
    from infra.config.checks import placeholders
    from infra.config.model import StackConfig

    cfg = base_config("prod")
    cfg["ai-serving:costCenter"] = "CC-TBD"
    parsed = StackConfig.model_validate({k.split(":", 1)[1]: v for k, v in cfg.items() if k.startswith("ai-serving:")}
                                        | {"location": "swedencentral"})
    assert [path for path, _ in placeholders(parsed)] == [("ai-serving:costCenter",)]


def test_the_reviewers_waivers_are_config_errors_naming_each_line(tmp_path, capsys):
    cfg = base_config("prod")
    cfg["ai-serving:suppressions"] = [
        {"rule": "CS-05", "resource": "[!Z]*", "reason": "aaaaaaaaaa", "expires": "2027-01-31"},
        {"rule": "VMSS-11", "resource": "[!Z]*", "reason": "TODO: fixme", "expires": "2027-01-31"},
    ]
    path = write_stack(tmp_path, "team-t-prod", cfg)
    assert cli("validate", "team-t-prod", "--stack-dir", tmp_path) == 2
    err = capsys.readouterr().err
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, reason in enumerate(["aaaaaaaaaa", "TODO: fixme"]):
        line = next(n for n, text in enumerate(lines, 1) if reason in text)
        assert f"{path}:{line}: ai-serving:suppressions[{i}].reason: expected a reason in words" in err


def test_a_plan_with_an_everything_glob_fails(tmp_path, capsys):
    cfg = base_config("prod")
    cfg["ai-serving:suppressions"] = [
        {"rule": "CS-05", "resource": "[!Z]*", "reason": "CMK rollout tracked in PLAT-123", "expires": "2027-01-31"},
    ]
    write_stack(tmp_path, "team-t-prod", cfg)
    assert cli("plan", "team-t-prod", "--stack-dir", tmp_path, "--out", tmp_path / "out", "--quiet") == 1
    out = capsys.readouterr().out
    assert "waiver-too-broad" in out and "the waiver of CS-05 for '[!Z]*' names no resources" in out


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


# Class syntax needs no letter ([!Z]*, [a-z]*, *[!#]*), and the stack's own name is in every resource name
# (*-prod*, *team-t*): each of these waived CS-05 for oai-team-t-prod, and the first ten for any resource.
@pytest.mark.parametrize("glob", ["*", "**", "?*", "*?*", "[!-]*", "*-*", "[!Z]*", "[a-z]*", "[!x]*", "*[!#]*",
                                  "*-prod*", "*team-t*", "*-t-prod", "o*", "?ai-*", "[o]ai-*"])
def test_a_glob_that_names_no_resources_needs_an_allowance(glob):
    assert too_broad(glob)
    verdict = _verdict({"resource": glob})
    assert [v["policy"] for v in verdict.mandatory] == [WAIVER_TOO_BROAD, POLICY]
    assert "names no resources" in verdict.mandatory[0]["message"] and "oai-*" in verdict.mandatory[0]["message"]
    allowed = WaiverRules(broad_allowances=(("team-t-prod", "CS-05", glob),))
    assert not _verdict({"resource": glob}, rules=allowed).mandatory


@pytest.mark.parametrize("glob", ["oai-*", "kv-team-?", "oai-team-t-prod", "rg-team-t-*", "st[a-z]*", "x"])
def test_globs_that_start_with_a_name_are_not_too_broad(glob):
    assert not too_broad(glob)


_WILDCARD = st.one_of(st.sampled_from(["*", "?"]),
                      st.builds(lambda neg, chars: f"[{neg}{chars}]", st.sampled_from(["", "!"]),
                                st.text("abcxyzAZ09-_#.", min_size=1, max_size=4)))
_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=60)


@given(st.lists(_WILDCARD, min_size=1, max_size=5))
def test_a_pattern_of_wildcards_only_is_too_broad(parts):
    assert too_broad("".join(parts))


@given(st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", max_size=1), _WILDCARD, _NAME)
def test_a_pattern_that_may_begin_with_anything_is_too_broad(start, wildcard, rest):
    assert too_broad(start + wildcard + rest)


@given(_NAME)
def test_a_literal_resource_name_is_never_too_broad(name):
    assert not too_broad(name)


@given(st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=MIN_NAMED_PREFIX, max_size=8),
       st.lists(st.one_of(_WILDCARD, _NAME), max_size=4), _NAME)
def test_what_a_named_pattern_matches_starts_with_its_name(prefix, parts, name):
    """The soundness of the definition: fnmatch has no escapes, so the characters before the first
    wildcard are literal, and every match begins with them."""
    pattern = prefix + "".join(parts)
    assert not too_broad(pattern)
    if fnmatch.fnmatchcase(name, pattern):
        assert name.startswith(prefix)


def test_the_example_stacks_waivers_name_their_resources():
    import yaml

    from .cli_helpers import ROOT

    waivers = [w for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
               for w in (yaml.safe_load(path.read_text(encoding="utf-8"))["config"].get("ai-serving:suppressions")
                         or [])]
    assert waivers and not [w["resource"] for w in waivers if too_broad(w["resource"])]


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

"""DEP-05/DEP-06 (retirement horizon), DEP-04 (version upgrades per environment), retirement waivers."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from guardrails import lookup

from ai_serving.models import waiver_problems
from infra.config.model import Suppression
from tests.fixtures.policy import DELETE, fixture, mutate


def deployment(model: str = "gpt-5.5", version: str = "2026-04-24", sku: str = "GlobalStandard", **changes):
    return mutate(fixture("deployment")["props"], {"properties.model.name": model,
                                                   "properties.model.version": version, "sku.name": sku, **changes})


def judge(rule_id: str, props, on: str, environment: str = "prod", **config):
    return lookup(rule_id).check(props, environment=environment, evaluationDate=on, **config)


# gpt-5-mini 2025-08-07 retires on 2027-02-09 (Microsoft's retirement schedule of 2026-09-02).
MINI = {"model": "gpt-5-mini", "version": "2025-08-07"}
INSIDE = "2026-11-13"  # 88 days before


def test_a_deployment_outside_the_window_passes():
    assert judge("DEP-05", deployment(**MINI), "2026-11-10").violations == ()  # 91 days ahead


def test_a_deployment_inside_the_window_fails_in_prod_and_names_the_date():
    (msg,) = judge("DEP-05", deployment(**MINI), INSIDE).messages
    assert "retires on 2027-02-09" in msg and "in 88 days" in msg and "window 90 days" in msg


def test_the_window_is_configurable():
    assert judge("DEP-05", deployment(**MINI), INSIDE, retirementWindowDays=30).violations == ()
    assert judge("DEP-05", deployment(**MINI), "2026-06-01", retirementWindowDays=365).messages


def test_prod_is_mandatory_and_dev_test_advisory():
    assert lookup("DEP-05").level == "mandatory" and lookup("DEP-06").level == "advisory"
    props = deployment(**MINI)
    for env in ("dev", "test"):
        assert judge("DEP-06", props, INSIDE, environment=env).messages
        assert judge("DEP-05", props, INSIDE, environment=env).not_applicable
    assert judge("DEP-06", props, INSIDE, environment="prod").not_applicable


def test_a_legacy_model_is_flagged_once_its_retirement_is_in_the_window():
    legacy = deployment("gpt-4o", "2024-11-20")  # Legacy, retires 2027-04-14, replacement gpt-5.1
    assert judge("DEP-05", legacy, "2026-12-02").violations == ()  # 133 days ahead
    (msg,) = judge("DEP-05", legacy, "2027-01-20").messages
    assert "retires on 2027-04-14" in msg and "Microsoft suggests gpt-5.1" in msg


# A source may split a date by deployment type, or only bound it; the pack's copy can say both.
SPLIT = {"m": {"1": {"retirement": {"Standard": "2026-03-31", "default": "2026-10-01"}, "replacement": "n"},
               "2": {"retirementNotBefore": "2027-05-12"}}}


def test_retirement_follows_the_deployment_type():
    standard, global_ = deployment("m", "1", "Standard"), deployment("m", "1", "GlobalStandard")
    assert "retired on 2026-03-31" in judge("DEP-05", standard, "2026-04-01", openaiLifecycle=SPLIT).messages[0]
    assert judge("DEP-05", global_, "2026-04-01", openaiLifecycle=SPLIT).violations == ()
    assert "Microsoft suggests n" in judge("DEP-05", global_, "2026-10-02", openaiLifecycle=SPLIT).messages[0]


def test_a_no_earlier_than_date_is_flagged_as_possible_not_certain():
    assert judge("DEP-05", deployment("m", "2"), "2026-12-02", openaiLifecycle=SPLIT).violations == ()
    (msg,) = judge("DEP-05", deployment("m", "2"), "2027-03-01", openaiLifecycle=SPLIT).messages
    assert "may retire from 2027-05-12" in msg


def test_the_pack_default_date_is_today():
    # Without evaluationDate the pack judges against its own clock: gpt-4o 2024-11-20 retired in 2026.
    verdict = lookup("DEP-05").check(deployment("gpt-4o", "2024-05-13"), environment="prod")
    assert date.today() >= date(2026, 10, 1) and "retired on 2026-10-01" in verdict.messages[0]


@pytest.mark.parametrize(
    ("environment", "option", "ok"),
    [
        ("prod", "NoAutoUpgrade", True),
        ("prod", "OnceCurrentVersionExpired", False),
        ("prod", DELETE, False),
        ("test", "OnceCurrentVersionExpired", True),
        ("test", "OnceNewDefaultVersionAvailable", False),
        ("dev", "OnceNewDefaultVersionAvailable", True),
        ("dev", DELETE, True),  # unset = OnceNewDefaultVersionAvailable, which dev may use
    ],
)
def test_version_upgrade_option_per_environment(environment, option, ok):
    props = deployment(**{"properties.versionUpgradeOption": option})
    verdict = lookup("DEP-04").check(props, environment=environment)
    assert (verdict.violations == ()) is ok, verdict.messages


def test_a_prod_tagged_deployment_in_a_dev_stack_still_pins_its_version():
    props = deployment(**{"properties.versionUpgradeOption": "OnceNewDefaultVersionAvailable",
                          "tags": {"environment": "prod"}})
    assert "prod allows NoAutoUpgrade" in lookup("DEP-04").check(props, environment="dev").messages[0]


# --- a waiver of the retirement rules cannot outlive the model -----------------------------------


def _resource(name: str, model: str, version: str, sku: str = "GlobalStandard"):
    return SimpleNamespace(type="azure-native:cognitiveservices:Deployment", name=name,
                           inputs={"properties": {"model": {"name": model, "version": version}}, "sku": {"name": sku}})


def _waiver(rule: str, resource: str, expires: str):
    return Suppression(rule=rule, resource=resource, reason="migration planned in sprint 42", expires=expires)


def test_a_retirement_waiver_may_last_until_the_retirement_date():
    resources = [_resource("openai-chat", "gpt-5-mini", "2025-08-07")]
    assert waiver_problems([_waiver("DEP-05", "openai-chat", "2027-02-09")], resources) == []


def test_a_retirement_waiver_expiring_after_the_retirement_date_is_refused():
    resources = [_resource("openai-chat", "gpt-5-mini", "2025-08-07"), _resource("openai-emb", "gpt-5.5", "2026-04-24")]
    (problem,) = waiver_problems([_waiver("DEP-06", "openai-*", "2027-03-01")], resources)
    assert "expires 2027-03-01, after gpt-5-mini 2025-08-07 retires (2027-02-09)" in problem
    # Other rules' waivers are not limited by model retirement.
    assert waiver_problems([_waiver("DEP-04", "openai-*", "2030-01-01")], resources) == []


def test_plan_fails_when_a_retirement_waiver_outlives_the_model(tmp_path, capsys):
    from tests.cli_helpers import cli, write_stack
    from tests.stackdata import base_config

    cfg = base_config("prod")
    # gpt-5.5 2026-04-24 retires on 2027-10-26: a waiver until November would outlive it.
    cfg["ai-serving:suppressions"] = [{"rule": "DEP-05", "resource": "oai-*-chat", "reason": "migration planned in Q4",
                                       "expires": "2027-11-01"}]
    write_stack(tmp_path, "team-t-prod", cfg)
    assert cli("plan", "team-t-prod", "--stack-dir", tmp_path, "--quiet") == 1
    out = capsys.readouterr().out
    assert "waiver-outlives-model" in out and "set expires on or before 2027-10-26" in out
    assert "retirement horizon oai-team-t-prod-sdc-chat: gpt-5.5 2026-04-24 GlobalStandard: retires 2027-10-26" in out

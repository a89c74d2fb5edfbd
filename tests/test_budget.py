"""TeamBudget: a monthly cost budget on the team's resource group with actual and forecast alerts."""

from __future__ import annotations

import re
from datetime import date

import pytest

from ai_serving.engine.mocks import SUBSCRIPTION_ID
from infra.components.budget import budget_start_date, notifications
from infra.config.profiles import PROFILES

from .plancache import planned
from .stackdata import base_config

BUDGET = "azure-native:consumption:Budget"
EMAILS = ["finops@example.com", "lead@example.com"]


def plan(plan_stack, environment, budget=True):
    cfg = base_config(environment, openai=False)
    if budget:
        cfg["ai-serving:budget"] = {"monthlyAmount": 1500, "contactEmails": EMAILS}
    run = planned(plan_stack, cfg)
    assert run.exit_code == 0, run.errors
    return run


def test_no_budget_unless_configured(plan_stack):
    assert plan(plan_stack, "dev", budget=False).by_type(BUDGET) == []


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_monthly_cost_budget_on_the_team_resource_group(plan_stack, environment):
    budget = plan(plan_stack, environment).one(BUDGET)
    rg_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-team-t-{environment}-sdc"
    assert budget.inputs["scope"] == rg_id
    assert budget.inputs["amount"] == 1500
    assert budget.inputs["timeGrain"] == "Monthly"
    assert budget.inputs["category"] == "Cost"
    assert budget.inputs["budgetName"] == f"budget-team-t-{environment}-sdc"


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_actual_and_forecast_notifications_go_to_the_contacts(plan_stack, environment):
    profile = PROFILES[environment]
    notes = plan(plan_stack, environment).one(BUDGET).inputs["notifications"]
    expected = {("Actual", t) for t in profile.budget_actual_thresholds}
    expected |= {("Forecasted", t) for t in profile.budget_forecast_thresholds}
    assert {(n["thresholdType"], n["threshold"]) for n in notes.values()} == expected
    assert {"Actual", "Forecasted"} <= {t for t, _ in expected}
    for note in notes.values():
        assert note["enabled"] is True
        assert note["operator"] == "GreaterThanOrEqualTo"
        assert note["contactEmails"] == EMAILS


def test_start_date_is_a_first_of_month_fixed_at_creation(plan_stack):
    budget = plan(plan_stack, "dev").one(BUDGET)
    assert re.fullmatch(r"\d{4}-\d{2}-01T00:00:00Z", budget.inputs["timePeriod"]["startDate"])
    # Azure rejects a monthly budget starting before the current month, so the date cannot be a
    # constant; ignoring later changes keeps re-runs free of diffs.
    assert budget.options["ignoreChanges"] == ["timePeriod"]


@pytest.mark.parametrize(("today", "start"), [
    (date(2026, 11, 28), "2026-11-01T00:00:00Z"),
    (date(2027, 1, 1), "2027-01-01T00:00:00Z"),
    (date(2026, 12, 31), "2026-12-01T00:00:00Z"),
])
def test_budget_start_date_is_the_first_day_of_the_month(today, start):
    assert budget_start_date(today) == start


def test_more_than_five_notifications_is_refused():
    with pytest.raises(ValueError, match="at most 5 notifications, the profile asks for 6"):
        notifications((50, 80, 100), (80, 100, 120), EMAILS)

"""A monthly cost budget on the team's resource group, with actual and forecast alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import pulumi
import pulumi_azure_native.consumption as consumption

from .interfaces import Placement

MAX_NOTIFICATIONS = 5
"""Azure's limit of notifications per budget."""


def budget_start_date(today: date) -> str:
    """The budget's start: the first day of ``today``'s month, as Azure wants it (ISO, UTC midnight).

    Azure requires the first of a month, and for a monthly budget not a month before the current
    one at creation (a fixed date in the past is rejected once that month is over).
    """
    return f"{today.year:04d}-{today.month:02d}-01T00:00:00Z"


def notifications(
    thresholds_actual: Sequence[int],
    thresholds_forecast: Sequence[int],
    contact_emails: Sequence[str],
) -> dict[str, consumption.NotificationArgs]:
    """One notification per threshold (percent of the amount), keyed ``actual-<n>`` / ``forecast-<n>``."""
    total = len(thresholds_actual) + len(thresholds_forecast)
    if total > MAX_NOTIFICATIONS:
        raise ValueError(
            f"a budget allows at most {MAX_NOTIFICATIONS} notifications, the profile asks for {total}"
        )
    out: dict[str, consumption.NotificationArgs] = {}
    for kind, threshold_type, thresholds in (
        ("actual", consumption.ThresholdType.ACTUAL, thresholds_actual),
        ("forecast", consumption.ThresholdType.FORECASTED, thresholds_forecast),
    ):
        for threshold in thresholds:
            out[f"{kind}-{threshold}"] = consumption.NotificationArgs(
                enabled=True,
                operator=consumption.OperatorType.GREATER_THAN_OR_EQUAL_TO,
                threshold=threshold,
                threshold_type=threshold_type,
                contact_emails=list(contact_emails),
            )
    return out


class TeamBudget(pulumi.ComponentResource):
    """A ``Monthly`` cost budget on ``scope`` (the team's resource group id).

    Notifications at ``actual_thresholds`` (spend so far) and ``forecast_thresholds`` (forecast
    spend), as percentages of ``monthly_amount``, go to ``contact_emails``. The start date is fixed
    when the budget is created and then ignored (``ignore_changes``), so later runs never show a
    diff for it.
    """

    budget_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        placement: Placement,
        *,
        scope: pulumi.Input[str],
        monthly_amount: float,
        contact_emails: Sequence[str],
        actual_thresholds: Sequence[int],
        forecast_thresholds: Sequence[int],
        start_date: date | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the budget ``name``.

        ``start_date``: any day of the first budgeted month (default: the current UTC month, the
        earliest Azure accepts for a new monthly budget).
        """
        super().__init__("ai-serving:budget:TeamBudget", name, None, opts)
        start = budget_start_date(start_date or datetime.now(UTC).date())
        budget = consumption.Budget(
            name,
            budget_name=name,
            scope=scope,
            amount=monthly_amount,
            category=consumption.CategoryType.COST,
            time_grain=consumption.TimeGrainType.MONTHLY,
            time_period=consumption.BudgetTimePeriodArgs(start_date=start),
            notifications=notifications(actual_thresholds, forecast_thresholds, contact_emails),
            # Azure accepts a start date only up to the current month: the one set at creation stays.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["timePeriod"]),
        )
        self.budget_id = budget.id
        self.register_outputs({"budgetId": self.budget_id})

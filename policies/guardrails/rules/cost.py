"""Budget guardrails over the stack's cost estimate (``guardrails.cost``): COST-01 .. COST-04.

The estimate is computed from what the pack sees (resource types and inputs), so these rules hold
under the real engine (``pulumi preview --policy-pack policies``) exactly as under ``ai-serving plan``.
COST-01 / COST-02 split one check by environment the way DEP-05 / DEP-06 do: mandatory in prod,
advisory elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import config as cfg
from ..cost import BUDGET, Estimate, estimate
from ..define import rule
from ..environment import is_prod
from ..model import Context, Findings, NotApplicable, StackResource, of_types

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
LINK = "https://learn.microsoft.com/azure/cost-management-billing/costs/tutorial-acm-create-budgets"
_CONFIG = {"prodEnvironments": cfg.prod_environments()}


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _gaps(est: Estimate) -> str:
    n = len(est.not_included)
    return f" (not included: {n} unpriced or usage-driven item(s); `ai-serving cost` lists them)" if n else ""


def _over_budget(resources: Sequence[StackResource], figure: str) -> Findings:
    """A finding on each budget whose amount the estimate's ``figure`` (committed / ceiling) exceeds."""
    out = Findings()
    est = estimate(resources)
    amount = est.committed if figure == "committed" else est.ceiling
    for budget in of_types(resources, BUDGET):
        limit = est.budget
        if limit is None:
            continue
        if amount > limit:
            out.add(f"the {figure} monthly estimate {_money(amount)} exceeds the budget {_money(limit)}"
                    f"{_gaps(est)}", budget.urn)
    return out


def _prod_stack(resources: Sequence[StackResource], ctx: Context) -> bool:
    groups = of_types(resources, RESOURCE_GROUP)
    return any(is_prod(g.props, ctx) for g in groups) or is_prod({}, ctx)


@rule(
    "COST-01",
    "cost-01-committed-within-budget-prod",
    title="Production stack's committed cost is within its budget",
    description=(
        "The committed monthly estimate (what runs whatever the traffic: the GPU pool at its minimum, PTUs, "
        "gateways, endpoints, keys) of a production stack must not exceed its budget's monthly amount."
    ),
    severity="high",
    category="cost",
    level="mandatory",
    remediation=(
        "Lower the committed cost (fewer minimum GPU instances, a smaller VM size, fewer PTUs) or raise "
        "`ai-serving:budget.monthlyAmount` with the budget owner's approval; `ai-serving cost STACK` explains "
        "every line."
    ),
    link=LINK,
    anchors=("infracost/infracost#187", "pulumi/pulumi#13004"),
    types=(BUDGET,),
    scope="stack",
    config=_CONFIG,
)
def cost01(resources: Sequence[StackResource], ctx: Context) -> Findings | NotApplicable:
    if not _prod_stack(resources, ctx):
        return NotApplicable("not a production stack (COST-02 advises)")
    return _over_budget(resources, "committed")


@rule(
    "COST-02",
    "cost-02-committed-within-budget",
    title="Dev/test stack's committed cost is within its budget (advisory)",
    description="The committed monthly estimate of a non-production stack should not exceed its budget.",
    severity="medium",
    category="cost",
    remediation="Lower the committed cost or raise `ai-serving:budget.monthlyAmount` (`ai-serving cost STACK`).",
    link=LINK,
    anchors=("infracost/infracost#187",),
    types=(BUDGET,),
    scope="stack",
    config=_CONFIG,
)
def cost02(resources: Sequence[StackResource], ctx: Context) -> Findings | NotApplicable:
    if _prod_stack(resources, ctx):
        return NotApplicable("a production stack (COST-01 judges it)")
    return _over_budget(resources, "committed")


@rule(
    "COST-03",
    "cost-03-prod-has-budget",
    title="Production stack declares a budget",
    description="A production stack must declare a monthly cost budget with alerts (`ai-serving:budget`).",
    severity="high",
    category="cost",
    level="mandatory",
    remediation="Add `ai-serving:budget: {monthlyAmount: N, contactEmails: [...]}` to the stack file.",
    link=LINK,
    anchors=("Azure Well-Architected cost optimization: budgets",),
    types=(RESOURCE_GROUP,),
    scope="stack",
    config=_CONFIG,
)
def cost03(resources: Sequence[StackResource], ctx: Context) -> Findings | NotApplicable:
    if not _prod_stack(resources, ctx):
        return NotApplicable("not a production stack")
    out = Findings()
    if not of_types(resources, BUDGET):
        for group in of_types(resources, RESOURCE_GROUP) or [None]:
            out.add("production stack declares no cost budget", group.urn if group else None)
    return out


@rule(
    "COST-04",
    "cost-04-ceiling-within-budget",
    title="Cost ceiling is within the budget (advisory)",
    description=(
        "The ceiling monthly estimate (GPU pool at its maximum, standard deployments used at full capacity "
        "around the clock) above the budget is advised: the budget's alerts will fire before that spend."
    ),
    severity="low",
    category="cost",
    remediation=(
        "Check the autoscale maximum and the deployments' capacity against the budget, or accept the "
        "advice: the ceiling is an upper bound, not a forecast."
    ),
    link=LINK,
    anchors=("infracost/infracost#187",),
    types=(BUDGET,),
    scope="stack",
    config=_CONFIG,
)
def cost04(resources: Sequence[StackResource], ctx: Context) -> Findings:
    return _over_budget(resources, "ceiling")


RULES = (cost01, cost02, cost03, cost04)

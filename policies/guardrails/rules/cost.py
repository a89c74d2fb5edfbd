"""Budget guardrails over the stack's cost estimate (``guardrails.cost``): COST-01 .. COST-04.

The estimate is computed from what the pack sees (resource types and inputs), so these rules hold
under the real engine (``pulumi preview --policy-pack policies``) exactly as under ``ai-serving plan``.
COST-01 / COST-02 split one check by environment the way DEP-05 / DEP-06 do: mandatory in prod,
advisory elsewhere. They fail closed: a committed item the stack file sizes (the GPU pool's minimum
instances and their OS disks, PTUs) that the catalogue cannot price is a finding on that resource, since a
budget compared with only the priced lines would pass any amount of it. COST-04 advises the same of the
ceiling's unpriced sized items; COST-02 and COST-04 advise them even when the stack declares no budget.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import config as cfg
from ..cost import BUDGET, CEILING, COMMITTED, Estimate, estimate
from ..define import rule
from ..environment import is_prod
from ..model import Context, Findings, NotApplicable, StackResource, of_types

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
LINK = "https://learn.microsoft.com/azure/cost-management-billing/costs/tutorial-acm-create-budgets"
_CONFIG = {"prodEnvironments": cfg.prod_environments()}


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _gaps(est: Estimate) -> str:
    # No count: the tooling's estimate also prices the stack file's expected tokens (the pack never sees
    # them), so a count here would disagree with the tables; `ai-serving cost` lists them all.
    return " (some items are not included: `ai-serving cost STACK` lists them)" if est.not_included else ""


DOMINANT_SHARE = 0.5
"""An over-budget finding names the largest lines that together make up at least this share of the figure."""
MAX_DOMINANT = 3
"""...and at most this many of them."""


def _dominant(est: Estimate, figure: str) -> str:
    """The largest lines of ``figure``, e.g. ``; largest: vmss-a: ... VM hours = $6,971.50 (98%)``."""
    amount = est.committed if figure == COMMITTED else est.ceiling
    if amount <= 0:
        return ""
    ranked = sorted(est.lines, key=lambda line: -(line.committed if figure == COMMITTED else line.ceiling))
    named: list[str] = []
    covered = 0.0
    for line in ranked[:MAX_DOMINANT]:
        value = line.committed if figure == COMMITTED else line.ceiling
        if value <= 0 or covered >= DOMINANT_SHARE * amount:
            break
        covered += value
        named.append(f"{line.resource}: {line.item} = {_money(value)} ({value / amount:.0%})")
    return f"; largest: {'; '.join(named)}" if named else ""


UNPRICED_REMEDY = (
    "an item the catalogue cannot price is never counted as zero: add its price (per region, with its source "
    "and the date read) to `infra/catalogues/prices.yaml` and run `make generate` (a resource type the estimate "
    "has no price model for needs one in `policies/guardrails/cost.py`), or, once its cost is approved another "
    "way, waive the rule for that resource in `ai-serving:suppressions` with a reason and an expiry"
)
"""The remediation of the fail-closed findings (COST-01 / COST-02 committed, COST-04 ceiling)."""


def _over_budget(resources: Sequence[StackResource], figure: str, rule_id: str, *, without_budget: bool = False
                 ) -> Findings:
    """Against the declared budget: a finding on the budget when the estimate's ``figure`` (committed /
    ceiling) exceeds it, naming its largest lines, and one on each resource with a sized item missing from
    that figure, since a budget compared with the priced lines only would pass any amount of what is
    unpriced. ``without_budget``: the advisory rules still name those items when the stack declares no
    budget (the figure every report shows then leaves them out)."""
    out = Findings()
    est = estimate(resources)
    budgets = of_types(resources, BUDGET)
    limit = est.budget if budgets else None
    if limit is None and not without_budget:
        return out
    amount = est.committed if figure == COMMITTED else est.ceiling
    if limit is not None and amount > limit:
        for budget in budgets:
            out.add(f"the {figure} monthly estimate {_money(amount)} exceeds the budget {_money(limit)}"
                    f"{_dominant(est, figure)}{_gaps(est)}", budget.urn)
    names = {res.urn: res.name for res in resources}  # the name a waiver's `resource` matches
    judged = (f"cannot be judged against the budget {_money(limit)}" if limit is not None else
              "leaves it out (the stack declares no budget)")
    for gap in est.unpriced(figure):
        name = names.get(gap.urn, gap.resource)
        where = f" in {gap.region}" if gap.region else ""
        out.add(f"{name} ({gap.resource_type}): {gap.item}{where} has no price ({gap.reason}), so the {figure} "
                f"estimate {_money(amount)} {judged}: add a sourced price to infra/catalogues/prices.yaml and run "
                f"`make generate`, or waive {rule_id} for {name} with a reason and an expiry", gap.urn or None)
    if figure == COMMITTED and limit is not None:
        # A sized value unknown until the update runs: the engine's "cannot judge during preview".
        out.undetermined += [gap.unknown for gap in est.not_included if gap.sized and gap.unknown]
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
        "gateways, endpoints, keys) of a production stack must not exceed its budget's monthly amount. It "
        "fails closed: a committed item the stack file sizes (GPU pool instances at the minimum and their OS "
        "disks, PTUs) that the price catalogue cannot price for its size, deployment type or region fails on "
        "that resource, however small the priced total."
    ),
    severity="high",
    category="cost",
    level="mandatory",
    remediation=(
        "Lower the committed cost (fewer minimum GPU instances, a smaller VM size, fewer PTUs) or raise "
        "`ai-serving:budget.monthlyAmount` with the budget owner's approval; `ai-serving cost STACK` explains "
        f"every line. An unpriced item: {UNPRICED_REMEDY}."
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
    return _over_budget(resources, COMMITTED, "COST-01")


@rule(
    "COST-02",
    "cost-02-committed-within-budget",
    title="Dev/test stack's committed cost is within its budget (advisory)",
    description=(
        "The committed monthly estimate of a non-production stack should not exceed its budget; a committed "
        "item the stack file sizes that the catalogue cannot price is advised on that resource (as COST-01 "
        "fails it in prod), with or without a budget: the figure every report shows leaves it out."
    ),
    severity="medium",
    category="cost",
    remediation=(
        "Lower the committed cost or raise `ai-serving:budget.monthlyAmount` (`ai-serving cost STACK`). An "
        f"unpriced item: {UNPRICED_REMEDY}."
    ),
    link=LINK,
    anchors=("infracost/infracost#187",),
    types=(BUDGET,),
    scope="stack",
    config=_CONFIG,
)
def cost02(resources: Sequence[StackResource], ctx: Context) -> Findings | NotApplicable:
    if _prod_stack(resources, ctx):
        return NotApplicable("a production stack (COST-01 judges it)")
    return _over_budget(resources, COMMITTED, "COST-02", without_budget=True)


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
        "around the clock) above the budget is advised: the budget's alerts will fire before that spend. So is "
        "an item only the ceiling holds (instances above a zero minimum, a standard deployment's capacity) "
        "that the catalogue cannot price, with or without a budget. The finding names the lines that make up "
        "most of the ceiling."
    ),
    severity="low",
    category="cost",
    remediation=(
        "Check the autoscale maximum and the deployments' capacity against the budget, or accept the "
        f"advice: the ceiling is an upper bound, not a forecast. An unpriced item: {UNPRICED_REMEDY}."
    ),
    link=LINK,
    anchors=("infracost/infracost#187",),
    types=(BUDGET,),
    scope="stack",
    config=_CONFIG,
)
def cost04(resources: Sequence[StackResource], ctx: Context) -> Findings:
    return _over_budget(resources, CEILING, "COST-04", without_budget=True)


RULES = (cost01, cost02, cost03, cost04)

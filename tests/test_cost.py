"""The cost estimate: the price catalogue's consistency, hand-computed cases, every example stack, the
budget rules (COST-01..04), `ai-serving plan` exiting 1 for a prod stack over budget, `ai-serving cost`.

Every expected figure is written out as the arithmetic from the catalogue's numbers
(hours × price × instances; K tokens/minute × 1000 × 60 × 730 / 1M × $ per 1M tokens), so a change of
the formula or of a price fails here.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from guardrails import StackResource, lookup
from guardrails.cost import CEILING, COMMITTED, GLOBAL_TYPES, NO_LINE, SPOT_CAVEAT, estimate, prices
from guardrails.values import UNKNOWN

from ai_serving.arm import ARM_TYPES
from infra import catalogues
from tests.cli_helpers import ROOT, cli, write_stack

H = 730  # prices.yaml hours_per_month
A100_EASTUS = 3.673  # prices.yaml vm.Standard_NC24ads_A100_v4.regions.eastus.hour
A100_SDC = A100_WEU = 4.775  # ...regions.swedencentral.hour, ...regions.westeurope.hour
A10_SDC, A10_SDC_SPOT = 4.16, 0.768768  # vm.Standard_NV36ads_A10_v5.regions.swedencentral: hour, spot_hour
P15 = 41.811428  # disk.Premium_LRS.prices.P15.regions.{swedencentral,westeurope}.month (a 256 GiB disk)
P20 = 80.54  # disk.Premium_LRS.prices.P20.regions.{swedencentral,westeurope}.month (a 512 GiB disk)
NAT_HOUR, PIP_HOUR, PE_HOUR = 0.045, 0.005, 0.01
GPT55_IN, GPT55_OUT = 5, 30  # the ceiling's rate is the output rate (not long-context output, $45)
EMB_SMALL, EMB_LARGE = 0.02, 0.13
H100_SDC = 127.816  # vm.Standard_ND96isr_H100_v5.regions.swedencentral.hour
UNPRICED_SKU = "Standard_ND96asr_v4"  # vm.Standard_ND96asr_v4: unpriced ("no sourced price for this size")


def tokens(k_tpm: float) -> float:
    """Millions of tokens a deployment of ``k_tpm`` thousand tokens/minute serves in a month."""
    return k_tpm * 1000 * 60 * H / 1_000_000


# ---------------------------------------------------------------------------------- the catalogue

def test_the_generated_copy_is_the_catalogue() -> None:
    doc = prices()
    assert {k: v for k, v in doc.items() if k != "_comment"} == catalogues.prices()
    assert doc["currency"] == "USD" and doc["as_of"] and doc["hours_per_month"] == H


def test_every_gpu_size_is_priced_or_explicitly_unpriced() -> None:
    vm = prices()["vm"]
    assert set(vm) == set(catalogues.gpu_skus())
    for sku, entry in vm.items():
        assert bool(entry.get("regions")) != bool(entry.get("unpriced")), sku


def test_every_model_and_deployment_type_a_stack_may_use_is_priced_or_explicitly_unpriced() -> None:
    table = prices()["openai"]
    assert set(table) == set(catalogues.openai_models())
    for model, entry in catalogues.openai_models().items():
        offered = {t for v in entry["versions"].values() for ts in (v.get("offers") or {}).values() for t in ts}
        priced = set(table[model].get("types") or {})
        assert priced <= offered or not offered, (model, priced - offered)
        if offered - priced:
            assert str(table[model].get("unpriced") or "").strip(), f"{model}: {sorted(offered - priced)} unmarked"


def _priced_entries(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        if "source" in node:
            return [node]
        return [e for v in node.values() for e in _priced_entries(v)]
    return []


def test_every_price_names_a_source_with_a_retrieval_date() -> None:
    doc = prices()
    entries = _priced_entries({k: doc[k] for k in ("vm", "network", "openai", "disk")})
    assert entries
    for entry in entries:
        source = doc["sources"][entry["source"]]
        assert source["retrieved"] and (source.get("url") or source.get("document"))
        # A repository is cited by repository and path (and commit when one is given), never by an
        # index id only a search tool can resolve.
        assert bool(source.get("repository")) == bool(source.get("path")), entry["source"]
        assert "code index" not in json.dumps(source), entry["source"]
        assert all(isinstance(v, (int, float)) and v > 0 for k, v in entry.items() if k != "source")


def test_disk_tiers_are_sourced_ascending_and_every_priced_tier_is_one_of_them() -> None:
    doc = prices()
    for kind, entry in doc["disk"].items():
        if "tiers" not in entry:
            assert entry.get("unpriced"), kind
            continue
        assert entry["tiers_source"] in doc["sources"], kind
        sizes = list(entry["tiers"].values())
        assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes), kind
        assert set(entry["prices"]) <= set(entry["tiers"]), kind


# ------------------------------------------------------------------------------ hand-computed cases

RG = "rg-team-c-prod-eus"
VMSS_ID = f"/subscriptions/0/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-c"


def r(token: str, name: str, props: dict[str, Any]) -> StackResource:
    return StackResource(type=f"azure-native:{token}", urn=f"urn:pulumi:team-c-prod::ai-serving::azure-native:"
                         f"{token}::{name}", name=name, props={"resourceGroupName": RG, **props})


def scale_set(sku: str = "Standard_NC24ads_A100_v4", location: str = "eastus", spot: bool = False,
              low: int = 2, high: int = 6) -> list[StackResource]:
    profile = {"priority": "Spot"} if spot else {"priority": "Regular"}
    profile["storageProfile"] = {"osDisk": {"managedDisk": {"storageAccountType": "Premium_LRS"}, "diskSizeGB": 256}}
    return [
        r("compute:VirtualMachineScaleSet", "vmss-c", {"location": location, "vmScaleSetName": "vmss-c",
                                                       "sku": {"name": sku, "capacity": low},
                                                       "virtualMachineProfile": profile}),
        r("monitor:AutoscaleSetting", "as-c", {"targetResourceUri": VMSS_ID, "profiles": [
            {"name": "serving-load", "capacity": {"minimum": str(low), "maximum": str(high), "default": str(low)}}]}),
    ]


def network(location: str = "eastus") -> list[StackResource]:
    return [
        r("network:NatGateway", "ng-c", {"location": location}),
        r("network:PublicIPAddress", "pip-c", {"location": location}),
        r("network:PrivateEndpoint", "pep-oai", {"location": location}),
        r("network:PrivateEndpoint", "pep-kv", {"location": location}),
    ]


def deployment(name: str, model: str, sku: str, capacity: int) -> StackResource:
    return r("cognitiveservices:Deployment", f"oai-{name}", {
        "deploymentName": name, "accountName": "oai-c", "sku": {"name": sku, "capacity": capacity},
        "properties": {"model": {"name": model, "version": "1"}}})


def account(location: str = "swedencentral") -> StackResource:
    """The OpenAI account the deployments belong to (its region is theirs)."""
    return r("cognitiveservices:Account", "oai-c", {"accountName": "oai-c", "location": location, "kind": "OpenAI"})


def budget(amount: float) -> StackResource:
    return r("consumption:Budget", "budget-c", {"amount": amount})


def test_gpu_pool_committed_at_min_and_ceiling_at_max_instances() -> None:
    est = estimate(scale_set(low=2, high=6))
    assert est.committed == round(2 * H * A100_EASTUS, 2) == 5362.58
    assert est.ceiling == round(6 * H * A100_EASTUS, 2)
    [disks] = est.not_included  # no sourced disk price in eastus
    assert disks.item == "OS disks Premium_LRS P15 (256 GB, 2 to 6)"
    assert disks.reason == "no sourced price for region eastus (priced regions: swedencentral, westeurope)"


def test_each_instance_has_an_os_disk_billed_at_the_tier_that_holds_it() -> None:
    est = estimate(scale_set(location="swedencentral", low=2, high=6))
    assert est.committed == round(2 * H * A100_SDC + 2 * P15, 2) == 7055.12
    assert est.ceiling == round(6 * H * A100_SDC + 6 * P15, 2)
    disk = next(line for line in est.lines if line.item.startswith("OS disks"))
    assert (disk.unit, disk.unit_price, disk.committed_quantity, disk.ceiling_quantity) == ("disk-month", P15, 2, 6)


@pytest.mark.parametrize(("size", "tier", "month"), [(200, "P15", P15), (256, "P15", P15), (129, "P15", P15),
                                                     (300, "P20", P20), (506, "P20", P20)])
def test_a_disk_between_two_tiers_is_billed_at_the_larger(size: int, tier: str, month: float) -> None:
    pool = scale_set(location="westeurope", low=1, high=1)
    pool[0].props["virtualMachineProfile"]["storageProfile"]["osDisk"]["diskSizeGB"] = size
    est = estimate(pool[:1])
    assert [line.item for line in est.lines][1] == f"OS disks Premium_LRS {tier} ({size} GB, 1 to 1)"
    assert est.committed == round(H * A100_WEU + month, 2)


@pytest.mark.parametrize(("size", "reason"), [
    (40_000, "40000 GB is larger than every Premium_LRS tier"),
    (None, "no diskSizeGB: the size comes from the image, so its tier is unknown"),
])
def test_a_disk_without_a_priced_tier_is_not_included(size: int | None, reason: str) -> None:
    pool = scale_set(location="westeurope", low=1, high=1)
    os_disk = pool[0].props["virtualMachineProfile"]["storageProfile"]["osDisk"]
    if size is None:
        del os_disk["diskSizeGB"]
    else:
        os_disk["diskSizeGB"] = size
    est = estimate(pool[:1])
    assert est.committed == round(H * A100_WEU, 2)
    assert [g.reason for g in est.not_included] == [reason]


def test_without_autoscale_the_scale_set_capacity_is_both_bounds() -> None:
    est = estimate(scale_set(low=3)[:1])
    assert est.committed == est.ceiling == round(3 * H * A100_EASTUS, 2)


def test_spot_is_priced_at_the_spot_rate_with_its_discount_and_eviction_caveat() -> None:
    est = estimate(scale_set("Standard_NV36ads_A10_v5", "swedencentral", spot=True, low=1, high=2))
    assert est.committed == round(1 * H * A10_SDC_SPOT + 1 * P15, 2) == 603.01
    assert est.ceiling == round(2 * H * A10_SDC_SPOT + 2 * P15, 2)
    assert f"{1 - A10_SDC_SPOT / A10_SDC:.0%} below pay-as-you-go" in est.lines[0].note == (
        "spot: 82% below pay-as-you-go ($4.16/hour); indicative")
    assert SPOT_CAVEAT in est.caveats and "evict" in SPOT_CAVEAT


def test_spot_without_a_spot_price_is_not_included_rather_than_priced_at_pay_as_you_go() -> None:
    est = estimate(scale_set(spot=True))
    assert est.committed == 0 and "no sourced spot price" in est.not_included[0].reason


def test_a_region_without_a_price_is_not_included_and_says_which_regions_are_priced() -> None:
    est = estimate(scale_set(location="northeurope") + network("northeurope"))
    assert est.committed == est.ceiling == 0
    reasons = {g.item: g.reason for g in est.not_included}
    assert "no sourced price for region northeurope (priced regions: eastus, swedencentral, westeurope)" in reasons[
        "Standard_NC24ads_A100_v4 VM hours (2 to 6 instances)"]
    assert "gateway hours" in reasons and "endpoint hours" in reasons


def test_network_hours_are_committed() -> None:
    est = estimate(network())
    assert est.committed == est.ceiling == round(H * NAT_HOUR + H * PIP_HOUR + 2 * H * PE_HOUR, 2) == 51.1
    assert "GB processed through the gateway (usage)" in [g.item for g in est.not_included]


def test_standard_deployments_commit_nothing_and_bound_the_ceiling_at_full_capacity() -> None:
    est = estimate([deployment("chat", "gpt-5.5", "GlobalStandard", 30),
                    deployment("emb", "text-embedding-3-large", "GlobalStandard", 60)])
    assert est.committed == 0
    assert est.ceiling == round(tokens(30) * GPT55_OUT + tokens(60) * EMB_LARGE, 2) == round(39420 + 341.64, 2)


def test_provisioned_and_unpriced_deployments_are_not_included() -> None:
    est = estimate([account(), deployment("ptu", "gpt-5.5", "GlobalProvisionedManaged", 15),
                    deployment("o", "o3", "GlobalStandard", 10)])
    assert est.committed == est.ceiling == 0
    # PTUs bill whatever the traffic (committed); unpriced pay-per-token capacity only bounds the ceiling.
    assert [(g.item, g.figure, g.sized, g.region) for g in est.not_included] == [
        ("gpt-5.5 GlobalProvisionedManaged, 15 PTU", COMMITTED, True, "swedencentral"),
        ("o3 GlobalStandard, 10K tokens/minute", CEILING, True, "swedencentral")]
    assert est.unpriced(COMMITTED) == est.not_included[:1] and est.unpriced(CEILING) == est.not_included[1:]


def test_a_deployment_whose_account_name_is_unknown_takes_its_region_from_the_dependency() -> None:
    # In a preview the deployment's accountName is the account's output, unknown until the update runs.
    ptu = deployment("ptu", "gpt-5.5", "GlobalProvisionedManaged", 15)
    ptu.props["accountName"] = UNKNOWN
    linked = dataclasses.replace(ptu, property_dependencies={"accountName": (account().urn,)})
    assert [g.region for g in estimate([account("westeurope"), linked]).not_included] == ["westeurope"]
    [gap] = estimate([account("westeurope"), ptu]).not_included  # no dependency: no region, still judged
    assert (gap.region, gap.figure, gap.sized, gap.unknown) == ("", COMMITTED, True, "")
    [gap] = estimate([account(UNKNOWN), linked]).not_included  # nor when the account's own region is unknown
    assert (gap.region, gap.item) == ("", "gpt-5.5 GlobalProvisionedManaged, 15 PTU")


def test_what_is_missing_says_which_figure_it_belongs_to_and_whether_the_stack_sizes_it() -> None:
    # The pool's instances and disks are sized by the stack file; the network's hours are fixed per stack
    # (committed, not sized); the GB through the gateway is usage (no figure).
    est = estimate(scale_set(UNPRICED_SKU, "swedencentral", low=0, high=2) + network("swedencentral"))
    rows = {(g.resource, g.item): (g.figure, g.sized) for g in est.not_included}
    assert rows[("vmss-c", "Standard_ND96asr_v4 VM hours (0 to 2 instances)")] == (CEILING, True)
    assert rows[("ng-c", "gateway hours")] == (COMMITTED, False)
    assert rows[("ng-c", "GB processed through the gateway (usage)")] == (None, False)
    assert est.unpriced(COMMITTED) == []  # nothing runs at a zero minimum
    assert [g.resource for g in est.unpriced(CEILING)] == ["vmss-c"]  # its disks are priced in swedencentral
    assert est.to_json()["notIncluded"][0] == {
        "resource": "vmss-c", "type": "compute:VirtualMachineScaleSet", "resourceGroup": RG,
        "item": "Standard_ND96asr_v4 VM hours (0 to 2 instances)", "reason": "no sourced price for this size",
        "figure": CEILING, "sized": True, "region": "swedencentral"}


def test_a_type_without_a_price_model_counts_as_committed_and_sized() -> None:
    [gap] = estimate([r("apimanagement:ApiManagementService", "apim", {"location": "eastus"})]).not_included
    assert (gap.figure, gap.sized) == (COMMITTED, True)


def test_expected_tokens_add_an_expected_figure() -> None:
    resources = scale_set() + [deployment("chat", "gpt-5.5", "GlobalStandard", 30)]
    assert estimate(resources).expected is None
    est = estimate(resources, {"chat": {"input": 200_000_000, "output": 50_000_000}})
    assert est.expected == round(2 * H * A100_EASTUS + 200 * GPT55_IN + 50 * GPT55_OUT, 2)
    gaps = estimate(resources, {"chat": {"cachedInput": 10_000_000}}).not_included
    assert "no sourced cached input price" in [g.reason for g in gaps]


def test_the_per_group_table_sums_to_the_totals() -> None:
    est = estimate(scale_set() + network())
    assert est.by_group() == {RG: {"committed": est.committed, "ceiling": est.ceiling}}
    assert est.to_json()["byResourceGroup"][RG]["committed"] == est.committed


# ------------------------------------------------------------------------------------- the rules

def check(rule_id: str, resources: list[StackResource], environment: str):
    return lookup(rule_id).check(resources, environment=environment)


def test_cost01_prod_committed_over_budget_is_mandatory() -> None:
    # every sized item priced (A100 and P15 in swedencentral); the network's hours there are not, and are
    # fixed per stack: listed as not included, never a finding of their own
    priced = scale_set(location="swedencentral") + network("swedencentral")
    verdict = check("COST-01", [*priced, budget(7000)], "prod")
    # it names the line that makes up most of the figure, and points to `ai-serving cost` for what is not
    # included without counting it (the tooling's estimate adds expected-token items the pack never sees)
    assert verdict.messages == [
        f"the committed monthly estimate $7,055.12 exceeds the budget $7,000.00; largest: vmss-c: "
        f"Standard_NC24ads_A100_v4 VM hours (2 to 6 instances) = ${2 * H * A100_SDC:,.2f} (99%) (some items are "
        "not included: `ai-serving cost STACK` lists them)"]
    assert verdict.violations[0].urn.endswith("::budget-c") and lookup("COST-01").level == "mandatory"
    assert check("COST-01", [*priced, budget(7100)], "prod").compliant
    assert check("COST-01", [*priced, budget(7000)], "dev").not_applicable


def _unpriced_message(name: str, kind: str, what: str, reason: str, committed: str, limit: str,
                      rule_id: str = "COST-01", figure: str = "committed") -> str:
    return (f"{name} ({kind}): {what} has no price ({reason}), so the {figure} estimate {committed} cannot be "
            f"judged against the budget {limit}: add a sourced price to infra/catalogues/prices.yaml and run "
            f"`make generate`, or waive {rule_id} for {name} with a reason and an expiry")


def test_cost01_fails_closed_on_a_gpu_size_without_a_price_in_prod() -> None:
    # 20 x 8 A100 at the minimum against $1,000: only their disks are priced (20 x P15)
    stack = scale_set(UNPRICED_SKU, "swedencentral", low=20, high=20) + [budget(1000)]
    verdict = check("COST-01", stack, "prod")
    assert verdict.messages == [_unpriced_message(
        "vmss-c", "compute:VirtualMachineScaleSet", "Standard_ND96asr_v4 VM hours (20 to 20 instances) in "
        "swedencentral", "no sourced price for this size", f"${20 * P15:,.2f}", "$1,000.00")]
    assert verdict.violations[0].urn.endswith("::vmss-c")


def test_an_unpriced_finding_names_the_resource_as_a_waiver_matches_it() -> None:
    # A waiver's `resource` matches the Pulumi name (the URN's last part), not the Azure name.
    stack = scale_set(UNPRICED_SKU, "swedencentral", low=1, high=1) + [budget(1000)]
    stack[0].props["vmScaleSetName"] = "vmss-azure-name"
    [message] = check("COST-01", stack, "prod").messages
    assert message.startswith("vmss-c (compute:VirtualMachineScaleSet): ") and "waive COST-01 for vmss-c " in message


def test_cost01_fails_closed_on_an_os_disk_without_a_price_in_its_region() -> None:
    verdict = check("COST-01", scale_set() + [budget(6000)], "prod")  # the A100 is priced in eastus, P15 is not
    assert verdict.messages == [_unpriced_message(
        "vmss-c", "compute:VirtualMachineScaleSet", "OS disks Premium_LRS P15 (256 GB, 2 to 6) in eastus",
        "no sourced price for region eastus (priced regions: swedencentral, westeurope)",
        f"${2 * H * A100_EASTUS:,.2f}", "$6,000.00")]


def test_cost01_fails_closed_on_provisioned_throughput_without_a_price_in_prod() -> None:
    stack = [account(), deployment("chat", "gpt-5.4", "GlobalProvisionedManaged", 1000), budget(1000)]
    verdict = check("COST-01", stack, "prod")
    assert verdict.messages == [_unpriced_message(
        "oai-chat", "cognitiveservices:Deployment", "gpt-5.4 GlobalProvisionedManaged, 1000 PTU in swedencentral",
        "no sourced GlobalProvisionedManaged price for gpt-5.4 (priced: GlobalStandard)", "$0.00", "$1,000.00")]
    assert verdict.violations[0].urn.endswith("::oai-chat")


def test_cost01_does_not_count_pay_per_token_capacity_as_committed() -> None:
    stack = [account(), deployment("o", "o3", "GlobalStandard", 10), budget(1000)]  # o3 has no price
    assert check("COST-01", stack, "prod").compliant
    [message] = check("COST-04", stack, "prod").messages  # the ceiling cannot be judged: advised
    assert message == _unpriced_message(
        "oai-o", "cognitiveservices:Deployment", "o3 GlobalStandard, 10K tokens/minute in swedencentral",
        "no sourced price", "$0.00", "$1,000.00", "COST-04", "ceiling")


def test_cost01_cannot_judge_a_pool_whose_size_is_unknown_until_the_update() -> None:
    stack = scale_set(location="swedencentral") + [budget(100_000)]
    stack[0].props["sku"]["name"] = UNKNOWN
    verdict = check("COST-01", stack, "prod")
    assert verdict.undetermined == ("sku.name",) and not verdict.violations


def test_cost02_dev_committed_over_budget_is_advisory() -> None:
    over = scale_set(location="swedencentral") + [budget(7000)]
    assert check("COST-02", over, "dev").messages and lookup("COST-02").level == "advisory"
    assert check("COST-02", over, "prod").not_applicable
    assert check("COST-02", scale_set(location="swedencentral") + [budget(7100)], "dev").compliant


def test_cost02_advises_on_unpriced_committed_items_outside_prod() -> None:
    stack = scale_set(UNPRICED_SKU, "swedencentral", low=1, high=1) + [budget(1000)]
    assert check("COST-01", stack, "dev").not_applicable
    assert check("COST-02", stack, "dev").messages == [_unpriced_message(
        "vmss-c", "compute:VirtualMachineScaleSet", "Standard_ND96asr_v4 VM hours (1 to 1 instances) in "
        "swedencentral", "no sourced price for this size", f"${P15:,.2f}", "$1,000.00", "COST-02")]


def test_cost03_prod_stack_without_budget() -> None:
    group = StackResource(type="azure-native:resources:ResourceGroup", urn="urn:rg", name=RG, props={})
    assert check("COST-03", [group, *scale_set()], "prod").messages == ["production stack declares no cost budget"]
    assert check("COST-03", [group, *scale_set(), budget(10)], "prod").compliant
    assert check("COST-03", [group, *scale_set()], "dev").not_applicable
    assert lookup("COST-03").level == "mandatory"


def test_cost04_ceiling_over_budget_is_advisory() -> None:
    stack = scale_set(location="swedencentral", low=1, high=6) + [budget(10_000)]  # committed 3527.56
    assert check("COST-01", stack, "prod").compliant
    assert f"ceiling monthly estimate ${6 * H * A100_SDC + 6 * P15:,.2f}" in check("COST-04", stack, "prod").messages[0]
    assert lookup("COST-04").level == "advisory"


def test_cost04_advises_on_a_pool_above_a_zero_minimum_without_a_price() -> None:
    stack = scale_set(UNPRICED_SKU, "swedencentral", low=0, high=2) + [budget(1000)]
    assert check("COST-01", stack, "prod").compliant  # nothing runs at the minimum
    assert check("COST-04", stack, "prod").messages == [_unpriced_message(
        "vmss-c", "compute:VirtualMachineScaleSet", "Standard_ND96asr_v4 VM hours (0 to 2 instances) in "
        "swedencentral", "no sourced price for this size", f"${2 * P15:,.2f}", "$1,000.00", "COST-04", "ceiling")]


# --------------------------------------------------------------------------- every example stack

# committed / ceiling per example stack, by hand from the catalogue: the GPU pool (min / max instances,
# each with a 256 GiB Premium SSD, tier P15) and the global token prices. Their gateways, endpoints and
# keys sit in swedencentral / westeurope, which have no sourced network price yet: listed as not included.
EXAMPLES = {
    # NV36ads A10 v5 spot, 1 to 2, swedencentral; chat 30K and embeddings 50K tokens/minute
    "team-a-dev": (round(1 * H * A10_SDC_SPOT + 1 * P15, 2),
                   round(2 * H * A10_SDC_SPOT + 2 * P15 + tokens(30) * GPT55_OUT + tokens(50) * EMB_SMALL, 2)),
    # NC24ads A100 v4, 2 to 6, swedencentral; chat 100K, embeddings 120K; embeddings-large 60K is regional
    # Standard, which has no sourced price in swedencentral (not included)
    "team-a-prod": (round(2 * H * A100_SDC + 2 * P15, 2),
                    round(6 * H * A100_SDC + 6 * P15 + tokens(100) * GPT55_OUT + tokens(120) * EMB_SMALL, 2)),
    # NC24ads A100 v4, 1 to 2, westeurope; no OpenAI deployments
    "team-b-dev": (round(1 * H * A100_WEU + 1 * P15, 2), round(2 * H * A100_WEU + 2 * P15, 2)),
}


def test_the_examples_are_all_covered() -> None:
    assert sorted(EXAMPLES) == sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml")
                                      for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("stack", sorted(EXAMPLES))
def test_every_example_plan_carries_the_hand_computed_estimate(stack: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("plan", stack, "--no-policy", "--quiet", "--out", tmp_path) == 0
    cost = json.loads((tmp_path / "plan.json").read_text())["cost"]
    assert (cost["committed"], cost["ceiling"]) == EXAMPLES[stack]
    assert cost["currency"] == "USD" and cost["hoursPerMonth"] == H
    [vm] = [line for line in cost["lines"] if "VM hours" in line["item"]]
    region = "westeurope" if stack == "team-b-dev" else "swedencentral"
    assert vm["source"] == f"pricing-radar-vm-{region}"
    assert not [g for g in cost["notIncluded"] if "VM hours" in g["item"] or "OS disks" in g["item"]]
    assert [g for g in cost["notIncluded"] if g["item"] == "gateway hours"]  # no sourced network price there
    shown = capsys.readouterr().out
    # team-a-prod's regional Standard embeddings have no price in swedencentral: its ceiling is a lower bound
    ceiling = f"≥ ${EXAMPLES[stack][1]:,.2f} (+1 unpriced)" if stack == "team-a-prod" else f"${EXAMPLES[stack][1]:,.2f}"
    assert f"committed ${EXAMPLES[stack][0]:,.2f} / ceiling {ceiling}" in shown
    assert "monthly estimate by resource group" in shown


@pytest.mark.parametrize("stack", sorted(EXAMPLES))
def test_every_type_an_example_declares_has_a_line_a_gap_or_a_reason_for_neither(stack: str, tmp_path: Path) -> None:
    # A resource type that is neither priced, nor listed as not included, nor deliberately lineless would
    # silently drop out of the estimate (the registry and weights storage once did).
    assert cli("plan", stack, "--no-policy", "--quiet", "--out", tmp_path) == 0
    doc = json.loads((tmp_path / "plan.json").read_text())
    declared = {res["type"] for res in doc["resources"] if res["type"].startswith("azure-native:")}
    shown = {f"azure-native:{row['type']}" for row in doc["cost"]["lines"] + doc["cost"]["notIncluded"]}
    assert declared - shown - set(NO_LINE) == set()
    assert shown & set(NO_LINE) == set()  # a lineless type with a line would be a stale reason


@pytest.mark.parametrize("token", sorted(ARM_TYPES))
def test_every_type_the_program_can_declare_has_a_price_model_or_a_reason_for_none(token: str) -> None:
    # A type the program declares (the tooling's type table) that falls through to "no price model" fails
    # COST-01 closed in every prod stack that has it: a hub peering did, for an option the README shows.
    est = estimate([r(token.removeprefix("azure-native:"), "x", {"location": "swedencentral"})])
    assert not any("has no price model" in g.reason for g in est.not_included), (
        f"{token} has no price model: add one to policies/guardrails/cost.py, or its reason for having no cost "
        "line to NO_LINE there (with its source), then `make generate`")


def test_a_type_without_a_price_model_is_not_included_rather_than_dropped() -> None:
    est = estimate([r("apimanagement:ApiManagementService", "apim", {"location": "eastus"})])
    assert [(g.resource, g.item) for g in est.not_included] == [("apim", "the whole resource")]
    assert "no price model for apimanagement:ApiManagementService" in est.not_included[0].reason


def test_two_plans_of_a_stack_carry_the_same_estimate(tmp_path: Path) -> None:
    for out in ("a", "b"):
        assert cli("plan", "team-a-prod", "--no-policy", "--quiet", "--out", tmp_path / out) == 0
    assert (tmp_path / "a/plan.json").read_text() == (tmp_path / "b/plan.json").read_text()


# ------------------------------------------------------------------- prod over budget: exit 1

DISK_WAIVER = {"rule": "COST-01", "resource": "vmss-team-c-prod-eus-gpu", "expires": "2027-01-31",
               "reason": "P15 OS disks in eastus are unpriced in the catalogue; their cost was approved in FIN-41"}
"""What a team does about an item the catalogue cannot price: waive COST-01 for that resource."""


def _eastus_prod(amount: float, *waivers: dict[str, str], **extra: Any) -> dict[str, Any]:
    """team-a-prod's GPU pool moved to eastus (where the A100 has a price) as team-c, ``amount`` its budget,
    ``waivers`` added to prod's own."""
    doc = yaml.safe_load((ROOT / "stacks/Pulumi.team-a-prod.yaml").read_text())["config"]
    cfg = copy.deepcopy(doc)
    cfg["azure-native:location"] = "eastus"
    cfg["ai-serving:team"] = "team-c"
    del cfg["ai-serving:openai"]  # eastus offers gpt-5.5 as provisioned only; the GPU pool alone is enough
    cfg["ai-serving:budget"]["monthlyAmount"] = amount
    # Prod's own VMSS-10 waiver, renamed to team-c's scale set: a waiver of another team's name waives nothing.
    own = [{**s, "resource": s["resource"].replace("vmss-team-a-prod-sdc-", "vmss-team-c-prod-eus-")}
           for s in cfg.get("ai-serving:suppressions", [])]
    cfg["ai-serving:suppressions"] = [*own, *waivers]
    cfg.update(extra)
    return cfg


def _plan_json(stack_dir: Path, capsys: pytest.CaptureFixture[str], *out: Path) -> tuple[int, dict[str, Any]]:
    code = cli("plan", "team-c-prod", "--stack-dir", stack_dir, "--output", "json",
               *(("--out", out[0]) if out else ()))
    return code, json.loads(capsys.readouterr().out)


def _cost01(doc: dict[str, Any]) -> dict[str, str]:
    """The COST-01 findings of a plan's JSON output: resource -> message."""
    return {f["resource"]: f["message"] for f in doc["mandatory"] if f["rule"] == "COST-01"}


def test_a_prod_stack_whose_committed_cost_exceeds_its_budget_fails_the_plan(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 2 x A100 at the minimum, the NAT gateway, its public IP and three private endpoints (the vault's,
    # the private registry's and the weights storage account's: a prod pool's private model supply)
    committed = round(2 * H * A100_EASTUS + H * NAT_HOUR + H * PIP_HOUR + 3 * H * PE_HOUR, 2)
    write_stack(tmp_path, "team-c-prod", _eastus_prod(5000, DISK_WAIVER))
    code, doc = _plan_json(tmp_path, capsys)
    assert code == 1
    [(resource, message)] = _cost01(doc).items()
    assert resource == "budget-team-c-prod-eus" and f"${committed:,.2f} exceeds the budget $5,000.00" in message

    write_stack(tmp_path, "team-c-prod", _eastus_prod(6000, DISK_WAIVER))
    code, doc = _plan_json(tmp_path, capsys)
    assert code == 0 and _cost01(doc) == {}
    assert [w["urn"].rsplit("::", 1)[-1] for w in doc["waived"] if w["rule"] == "COST-01"] == [
        "vmss-team-c-prod-eus-gpu"]


def test_a_prod_stack_with_an_unpriced_committed_item_fails_the_plan_until_it_is_waived(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Within budget on what is priced; the pool's OS disks have no price in eastus: fail closed.
    write_stack(tmp_path, "team-c-prod", _eastus_prod(6000))
    code, doc = _plan_json(tmp_path, capsys)
    assert code == 1
    [(resource, message)] = _cost01(doc).items()
    assert resource == "vmss-team-c-prod-eus-gpu"
    assert "OS disks Premium_LRS P15 (256 GB, 2 to 6) in eastus has no price" in message
    assert "or waive COST-01 for vmss-team-c-prod-eus-gpu with a reason and an expiry" in message


def test_the_budget_finding_is_waivable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cost_waiver = {"rule": "COST-01", "resource": "budget-*", "reason": "GPU reservation approved in FIN-42",
                   "expires": "2027-01-31"}
    write_stack(tmp_path, "team-c-prod", _eastus_prod(5000, DISK_WAIVER, cost_waiver))
    code, doc = _plan_json(tmp_path, capsys)
    assert "COST-01" not in [f["rule"] for f in doc["mandatory"]]
    assert "COST-01" in [w["rule"] for w in doc["waived"]]


def test_160_h100s_and_1000_unpriced_ptus_do_not_pass_a_1000_dollar_budget(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The defect this guards: with neither size nor PTUs priced, only the disks were ($836), and COST-01
    # compared that with the budget. The H100s are priced now; the PTUs still are not: both fail.
    cfg = yaml.safe_load((ROOT / "stacks/Pulumi.team-a-prod.yaml").read_text())["config"]
    cfg["ai-serving:team"] = "team-c"
    cfg["ai-serving:openai"]["deployments"] = [{"name": "chat", "model": "gpt-5.4", "version": "2026-03-05",
                                                "sku": "GlobalProvisionedManaged", "capacity": 1000}]
    cfg["ai-serving:gpuPool"].update(vmSku="Standard_ND96isr_H100_v5", minInstances=20, maxInstances=20,
                                     model="Qwen/Qwen2.5-72B-Instruct",
                                     servingImage="vllm/vllm-openai:v0.34.0@sha256:" + "ab" * 32)
    cfg["ai-serving:budget"]["monthlyAmount"] = 1000
    del cfg["ai-serving:suppressions"]  # the image is pinned by digest
    write_stack(tmp_path, "team-c-prod", cfg)
    code, doc = _plan_json(tmp_path, capsys, tmp_path / "out")
    assert code == 1
    committed = round(20 * H * H100_SDC + 20 * P15, 2)
    found = _cost01(doc)
    assert sorted(found) == ["budget-team-c-prod-sdc", "oai-team-c-prod-sdc-chat"]
    assert f"the committed monthly estimate ${committed:,.2f} exceeds the budget $1,000.00" in found[
        "budget-team-c-prod-sdc"]
    assert "gpt-5.4 GlobalProvisionedManaged, 1000 PTU in swedencentral has no price" in found[
        "oai-team-c-prod-sdc-chat"]
    cost = json.loads((tmp_path / "out/plan.json").read_text())["cost"]
    assert cost["committed"] == committed  # what is priced; the plan shows what is not:
    unpriced = [(g["resource"], g["item"]) for g in cost["notIncluded"] if g["figure"] == COMMITTED and g["sized"]]
    assert unpriced == [("oai-team-c-prod-sdc-chat", "gpt-5.4 GlobalProvisionedManaged, 1000 PTU")]
    # the per-stack fees unpriced in swedencentral are listed as committed but not sized: no finding
    assert ("ng-team-c-prod-sdc-gpu", "gateway hours", COMMITTED, False) in [
        (g["resource"], g["item"], g["figure"], g["sized"]) for g in cost["notIncluded"]]


# ------------------------------------------------------------------------------- ai-serving cost

def test_cost_explains_every_line_with_quantity_price_and_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("cost", "team-a-dev", "--project", ROOT) == 0
    out = capsys.readouterr().out
    assert "ceiling 1,314M tokens × $30/1M tokens = $39,420.00 [source: retail-eastus2-2026-10-06]" in out
    assert "ceiling 2,190M tokens × $0.02/1M tokens = $43.80 [source: embeddingcost-2026-05]" in out
    assert "not included (15):" in out and "https://embeddingcost.com/azure-openai" in out
    assert (f"committed 730 × ${A10_SDC_SPOT:g}/instance-hour = ${H * A10_SDC_SPOT:,.2f}; ceiling 1,460 × "
            f"${A10_SDC_SPOT:g}/instance-hour = ${2 * H * A10_SDC_SPOT:,.2f} [source: pricing-radar-vm-swedencentral]") in out
    assert ("github:modelschemas/modelschemas:src/server/providers/azure-pricing.test.ts"
            "@2e6825eef083235787689a8acaf3acf4a5e9e500") in out


def test_cost_json_is_the_plan_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("cost", "team-a-prod", "--json", "--project", ROOT) == 0
    assert json.loads(capsys.readouterr().out)["ceiling"] == EXAMPLES["team-a-prod"][1]


@pytest.mark.parametrize("name", ["nope", "../stacks/Pulumi.team-a-dev", "team-a-dev\n", "x" * 300])
def test_cost_with_a_bad_stack_is_one_message_and_exit_2(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("cost", name, "--project", ROOT) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: no stack") and "Traceback" not in captured.err
    assert captured.out == ""


def test_expected_monthly_tokens_adds_the_expected_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = yaml.safe_load((ROOT / "stacks/Pulumi.team-a-dev.yaml").read_text())["config"]
    cfg["ai-serving:openai"]["deployments"][0]["expectedMonthlyTokens"] = {"input": 100_000_000, "output": 20_000_000}
    write_stack(tmp_path, "team-a-dev", cfg)
    assert cli("cost", "team-a-dev", "--stack-dir", tmp_path, "--project", ROOT, "--json") == 0
    cost = json.loads(capsys.readouterr().out)
    # expected = committed (the pool at its minimum, its disk) + the declared tokens at their rates
    assert cost["expected"] == round(EXAMPLES["team-a-dev"][0] + 100 * GPT55_IN + 20 * GPT55_OUT, 2) == 1703.01


def test_a_negative_expected_token_count_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = yaml.safe_load((ROOT / "stacks/Pulumi.team-a-dev.yaml").read_text())["config"]
    cfg["ai-serving:openai"]["deployments"][0]["expectedMonthlyTokens"] = {"input": -5}
    write_stack(tmp_path, "team-a-dev", cfg)
    assert cli("cost", "team-a-dev", "--stack-dir", tmp_path, "--project", ROOT) == 2
    err = capsys.readouterr().err
    assert "expectedMonthlyTokens.input" in err and "Traceback" not in err


# ---------------------------------------------------------------------------- the PR report

def _plan_into(out: Path, stack: str, cfg: dict[str, Any], tmp: Path) -> None:
    stacks = tmp / f"stacks-{out.name}"
    write_stack(stacks, stack, cfg)
    assert cli("plan", stack, "--stack-dir", stacks, "--quiet", "--out", out / stack) == 0


def test_the_report_shows_each_stack_estimate_and_what_the_change_adds(tmp_path: Path) -> None:
    from ai_serving.reports.markdown import render

    cfg = yaml.safe_load((ROOT / "stacks/Pulumi.team-a-dev.yaml").read_text())["config"]
    _plan_into(tmp_path / "base", "team-a-dev", cfg, tmp_path)
    head = copy.deepcopy(cfg)
    head["ai-serving:openai"]["deployments"][0]["capacity"] = 40  # chat: 30K -> 40K tokens/minute
    _plan_into(tmp_path / "head", "team-a-dev", head, tmp_path)

    report, _ = render(tmp_path / "head", tmp_path / "base")
    committed = EXAMPLES["team-a-dev"][0]  # the spot pool at its minimum and its disk; the change keeps it
    ceiling = round(EXAMPLES["team-a-dev"][1] + (tokens(40) - tokens(30)) * GPT55_OUT, 2)
    delta = round((tokens(40) - tokens(30)) * GPT55_OUT, 2)  # 438 M tokens x $45
    assert "### Cost estimate (USD per month, list prices)" in report
    # above the fold: the totals and the stacks the change moves; each stack's figures and the lines collapsed
    assert (f"1 stack(s): committed **${committed:,.2f}** / ceiling **${ceiling:,.2f}** per month; this change: **$0.00** "
            f"committed / **+${delta:,.2f}** ceiling per month.") in report
    assert f"| `team-a-dev` | $0.00 | +${delta:,.2f} |" in report
    assert report.index(f"| `team-a-dev` | $0.00 | +${delta:,.2f} |") < report.index("<details><summary>Each stack")
    assert (f"| `team-a-dev` | ${committed:,.2f} | ${ceiling:,.2f} | - | $2,000.00 | 15 | $0.00 | +${delta:,.2f} |"
            in report)
    assert (f"| `oai-team-a-dev-sdc-chat` | gpt-5.5 GlobalStandard: 40K tokens/minute around the clock at the "
            f"output rate | added | $0.00 | +${tokens(40) * GPT55_OUT:,.2f} |") in report
    assert (f"| `oai-team-a-dev-sdc-chat` | gpt-5.5 GlobalStandard: 30K tokens/minute around the clock at the "
            f"output rate | removed | $0.00 | -${tokens(30) * GPT55_OUT:,.2f} |") in report
    # near the top: before what fails, the stacks table and the per-stack sections
    assert report.index("### Cost estimate") < report.index("### Stacks") < report.index("### Per stack")

    alone, _ = render(tmp_path / "head")
    assert "Δ committed" not in alone and f"${ceiling:,.2f}" in alone


def test_a_plan_json_with_a_malformed_cost_is_left_out_not_a_traceback(tmp_path: Path) -> None:
    from ai_serving.reports.markdown import render

    cfg = yaml.safe_load((ROOT / "stacks/Pulumi.team-b-dev.yaml").read_text())["config"]
    _plan_into(tmp_path / "head", "team-b-dev", cfg, tmp_path)
    path = tmp_path / "head/team-b-dev/plan.json"
    doc = json.loads(path.read_text())
    for bad in ("lots", {"committed": "1e9", "ceiling": 0, "lines": []}, {"committed": 1, "ceiling": 2, "lines": [3]},
                {"committed": 1, "ceiling": 2, "lines": [], "notIncluded": 5}):
        doc["cost"] = bad
        path.write_text(json.dumps(doc))
        report, _ = render(tmp_path / "head")
        assert "### Cost estimate" not in report


@pytest.mark.parametrize("bad", [
    {"committed": 1, "ceiling": 2, "lines": [{"committed": 1, "ceiling": 1}]},  # line_delta keys lines by these
    {"committed": 1, "ceiling": 2, "lines": [{"resource": ["r"], "item": "i", "committed": 1, "ceiling": 1}]},
    {"committed": True, "ceiling": 2, "lines": []},
    {"committed": 1, "ceiling": 2, "lines": [], "budget": "lots"},
])
def test_a_cost_the_report_cannot_read_is_left_out(bad: dict) -> None:
    from ai_serving.reports.costs import of_plan

    assert of_plan({"cost": bad}) is None
    assert of_plan({"cost": {"committed": 1, "ceiling": 2, "lines": []}}) is not None


def test_plan_all_prints_the_org_table_per_stack_team_cost_center_and_total(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("plan", "--all", "--no-policy", "--workers", "1", "--project", ROOT) == 0
    out = capsys.readouterr().out
    team_a = [round(EXAMPLES["team-a-dev"][i] + EXAMPLES["team-a-prod"][i], 2) for i in (0, 1)]
    total = [round(team_a[i] + EXAMPLES["team-b-dev"][i], 2) for i in (0, 1)]
    # team-a-prod's regional embeddings are unpriced: its ceiling, and every sum that holds it, is a lower bound
    for scope, name, low, high, missing in (
            ("stack", "team-a-prod", f"${EXAMPLES['team-a-prod'][0]:,.2f}",
             f"≥ ${EXAMPLES['team-a-prod'][1]:,.2f}", "25 (1 unpriced)"),
            ("team", "team-a", f"${team_a[0]:,.2f}", f"≥ ${team_a[1]:,.2f}", "40 (1 unpriced)"),
            ("cost center", "CC-1042", f"${team_a[0]:,.2f}", f"≥ ${team_a[1]:,.2f}", "40 (1 unpriced)"),
            ("cost center", "CC-2077", *(f"${v:,.2f}" for v in EXAMPLES["team-b-dev"]), "13"),
            ("total", "", f"${total[0]:,.2f}", f"≥ ${total[1]:,.2f}", "53 (1 unpriced)")):
        assert any([c.strip() for c in row.split("│")[1:6]] == [scope, name, low, high, missing]
                   for row in out.splitlines()), (scope, name)
    assert "≥: 1 stack(s) with sized items the catalogue cannot price (not counted)" in out
    assert EXAMPLES["team-a-prod"][0] == 7055.12


def _moved_stacks(tmp_path: Path, region: str) -> tuple[Path, Path]:
    """Plan every example stack as it is (base) and with team-b-dev moved to ``region`` (head)."""
    import shutil

    outs = []
    for name, move in (("base", False), ("head", True)):
        stacks = tmp_path / f"stacks-{name}"
        shutil.copytree(ROOT / "stacks", stacks)
        if move:
            path = stacks / "Pulumi.team-b-dev.yaml"
            path.write_text(path.read_text().replace("azure-native:location: westeurope",
                                                     f"azure-native:location: {region}"))
        outs.append(tmp_path / f"out-{name}")
        cli("plan", "--all", "--stack-dir", stacks, "--workers", "1", "--quiet", "--project", ROOT,
            "--out", outs[-1])
    return outs[0], outs[1]


def test_a_stack_moved_to_a_region_without_prices_is_unknown_not_a_saving(tmp_path: Path) -> None:
    from ai_serving.reports.markdown import render

    base, head = _moved_stacks(tmp_path, "eastus2")  # no sourced A100 or P15 price in eastus2
    report, _ = render(head, base)
    # the headline counts only the stacks whose change is known, and names the one whose is not
    assert ("this change: **$0.00** committed / **$0.00** ceiling per month in the other stacks, and **unknown** "
            "in 1 whose unpriced items change (`team-b-dev`)") in report
    assert f"-${EXAMPLES['team-b-dev'][0]:,.2f}" not in report
    assert "| `team-b-dev` | unknown | unknown |" in report
    assert "| `team-b-dev` | ≥ $0.00 (+2 unpriced) | ≥ $0.00 (+2 unpriced) | - | - | 15 | unknown | unknown |" in report
    assert ("| `vmss-team-b-dev-eus2-gpu` | Standard_NC24ads_A100_v4 VM hours (1 to 2 instances) | now not included: "
            "no sourced price for region eastus2 (priced regions: eastus, swedencentral, westeurope) | unknown | "
            "unknown |") in report
    assert "| `vmss-team-b-dev-eus2-gpu` | OS disks Premium_LRS P15 (256 GB, 1 to 2) | now not included: " in report
    assert "≥: 2 stack(s) have sized items the price catalogue cannot price, not counted" in report
    doc = json.loads((head / "team-b-dev/plan.json").read_text())
    # no budget, so no budget finding: the advisory still names each unpriced sized item
    advice = [v["message"] for v in doc["policy"]["violations"] if v["policy"].startswith("cost-02")]
    assert len(advice) == 2 and all("leaves it out (the stack declares no budget)" in m for m in advice)


def test_a_change_that_keeps_the_same_unpriced_items_has_a_known_delta() -> None:
    from ai_serving.reports.costs import CEILING, COMMITTED, delta, line_delta

    gap = {"resource": "vmss", "item": "A100 VM hours", "reason": "no price", "figure": COMMITTED, "sized": True}
    old = {"committed": 10.0, "ceiling": 20.0, "lines": [], "notIncluded": [gap]}
    new = {**old, "committed": 15.0}
    assert delta(old, new, COMMITTED) == 5.0 and delta(old, new, CEILING) == 0.0
    assert delta({**old, "notIncluded": []}, new, COMMITTED) is None  # newly unpriced: unknown
    assert delta(new, {**new, "notIncluded": [{**gap, "sized": False}]}, CEILING) is None  # now priced / fixed fee
    assert [d["change"] for d in line_delta({**old, "notIncluded": []}, new)] == ["now not included: no price"]
    assert [d["change"] for d in line_delta(new, {**new, "notIncluded": []})] == ["now priced"]


def test_cost04_advises_on_unpriced_ceiling_items_without_a_budget() -> None:
    stack = scale_set(UNPRICED_SKU, "swedencentral", low=0, high=2)
    [message] = check("COST-04", stack, "dev").messages
    assert message.startswith("vmss-c (compute:VirtualMachineScaleSet): Standard_ND96asr_v4 VM hours (0 to 2 "
                              "instances) in swedencentral has no price")
    assert "leaves it out (the stack declares no budget)" in message
    assert check("COST-01", stack, "prod").compliant  # the mandatory rule still needs a budget (COST-03 asks)


def test_regional_and_data_zone_deployments_are_not_priced_at_the_global_rate() -> None:
    stack = [account("swedencentral"), deployment("emb", "text-embedding-3-large", "Standard", 60),
             deployment("dz", "text-embedding-3-small", "DataZoneStandard", 60),
             deployment("gl", "text-embedding-3-large", "GlobalStandard", 60)]
    est = estimate(stack)
    assert est.ceiling == round(tokens(60) * EMB_LARGE, 2)  # the Global deployment only
    assert [(g.item, g.reason, g.figure, g.sized, g.region) for g in est.not_included] == [
        ("text-embedding-3-large Standard, 60K tokens/minute",
         "no sourced Standard price for text-embedding-3-large (priced: GlobalStandard)", CEILING, True,
         "swedencentral"),
        ("text-embedding-3-small DataZoneStandard, 60K tokens/minute",
         "no sourced DataZoneStandard price for text-embedding-3-small (priced: GlobalStandard)", CEILING, True,
         "swedencentral")]


def test_a_regional_price_applies_in_its_region_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from guardrails import cost

    table = copy.deepcopy(prices())
    table["openai"]["text-embedding-3-large"]["types"]["Standard"] = {
        "regions": {"canadaeast": {"input": 0.158, "source": "embeddingcost-2026-05"}}}
    table["openai"]["text-embedding-3-small"]["types"]["Standard"] = {"input": 0.5, "source": "embeddingcost-2026-05"}
    monkeypatch.setattr(cost, "prices", lambda: table)
    emb = deployment("emb", "text-embedding-3-large", "Standard", 60)
    assert estimate([account("canadaeast"), emb]).ceiling == round(tokens(60) * 0.158, 2)
    [gap] = estimate([account("swedencentral"), emb]).not_included
    assert gap.reason == "no sourced price for region swedencentral (priced regions: canadaeast)"
    # a regional type's price must name its region: one without `regions` is never applied anywhere
    [gap] = estimate([account("swedencentral"), deployment("s", "text-embedding-3-small", "Standard", 1)]).not_included
    assert gap.reason == "no sourced Standard price for text-embedding-3-small per region"


def test_only_global_types_have_a_price_without_a_region() -> None:
    for model, entry in prices()["openai"].items():
        for kind, price in (entry.get("types") or {}).items():
            assert kind in GLOBAL_TYPES or "regions" in price, (model, kind)


def test_expected_tokens_without_a_price_are_listed_not_dropped() -> None:
    expected = {"input": 1_000_000, "output": 2_000_000}
    est = estimate([account(), deployment("o", "o3", "GlobalStandard", 10)], {"o": expected})
    assert ("o3 GlobalStandard: expected input, output tokens", "no sourced price", None) in [
        (g.item, g.reason, g.figure) for g in est.not_included]
    est = estimate([account(), deployment("ptu", "gpt-5.5", "GlobalProvisionedManaged", 15)], {"ptu": expected})
    assert est.caveats == ["oai-ptu: its expected tokens are served by its 15 PTUs, billed per PTU-hour rather than "
                           "per token"]
    est = estimate([account(), deployment("b", "gpt-5.5", "GlobalBatch", 15)], {"b": expected})
    assert "gpt-5.5 GlobalBatch: expected input, output tokens" in [g.item for g in est.not_included]


def test_the_ceiling_bills_at_the_standard_output_rate_not_the_long_context_one() -> None:
    est = estimate([deployment("chat", "gpt-5.5", "GlobalStandard", 30)])
    [line] = est.lines
    assert (line.unit_price, line.item) == (GPT55_OUT, "gpt-5.5 GlobalStandard: 30K tokens/minute around the clock "
                                                       "at the output rate")
    assert prices()["openai"]["gpt-5.5"]["types"]["GlobalStandard"]["output_long_context"] > GPT55_OUT


LONG_CONTEXT_THRESHOLD = 272_000  # input tokens per request (prices.yaml openai-gpt-5.{5,4}-long-context)
MAX_OUTPUT = 272_000  # the larger of the listed maximum outputs (128K, 272K): the bound must hold for either


@pytest.mark.parametrize("model", sorted(m for m, e in prices()["openai"].items()
                                          if any("output_long_context" in t for t in (e.get("types") or {}).values())))
def test_no_long_context_request_averages_above_the_standard_output_rate(model: str) -> None:
    # The ceiling's premise (cost.py, _deployment): the costliest long-context request per token (the least
    # input past the threshold, the most output) still costs less per token than pure output at the standard
    # rate. A model whose long-context rates break it needs a ceiling of its own.
    for kind, rate in prices()["openai"][model]["types"].items():
        worst = ((rate["input_long_context"] * LONG_CONTEXT_THRESHOLD + rate["output_long_context"] * MAX_OUTPUT)
                 / (LONG_CONTEXT_THRESHOLD + MAX_OUTPUT))
        assert worst <= rate["output"], (model, kind, worst)


def test_cost04_names_the_lines_that_make_up_most_of_the_ceiling() -> None:
    stack = [*scale_set(location="swedencentral", low=1, high=2), deployment("chat", "gpt-5.5", "GlobalStandard", 30),
             budget(5000)]
    [message] = check("COST-04", stack, "dev").messages
    assert (f"; largest: oai-chat: gpt-5.5 GlobalStandard: 30K tokens/minute around the clock at the output rate = "
            f"${tokens(30) * GPT55_OUT:,.2f} (") in message
    assert "vmss-c" not in message  # the pool is a small share: only the lines that make up half are named


def test_the_group_table_marks_a_group_with_unpriced_sized_items() -> None:
    from rich.console import Console

    from ai_serving.reports.costs import group_table

    console = Console(width=200, record=True)
    console.print(group_table(estimate(scale_set(UNPRICED_SKU, "swedencentral", low=1, high=2)).to_json()))
    [row] = [line for line in console.export_text().splitlines() if RG in line]
    assert [c.strip() for c in row.split("│")[1:4]] == [RG, f"≥ ${P15:,.2f} (+1 unpriced)",
                                                         f"≥ ${2 * P15:,.2f} (+1 unpriced)"]


def test_the_header_shows_the_range_of_price_dates_its_lines_use() -> None:
    from ai_serving.reports.costs import headline

    est = estimate(scale_set(location="westeurope") + [deployment("chat", "gpt-5.5", "GlobalStandard", 30)])
    doc = est.to_json()
    assert doc["pricesOf"] == ["2026-07-15", "2026-10-06"]  # westeurope disks' snapshot .. the token meters
    assert "prices of 2026-07-15 to 2026-10-06" in headline(doc)
    assert "prices as of 2026-10-06" in headline(estimate([deployment("c", "gpt-5.5", "GlobalStandard", 1)]).to_json())


def test_every_price_source_says_the_date_of_its_prices() -> None:
    doc = prices()
    for entry in _priced_entries({k: doc[k] for k in ("vm", "network", "openai", "disk")}):
        assert str(doc["sources"][entry["source"]].get("prices_of") or "")[:4].isdigit(), entry["source"]

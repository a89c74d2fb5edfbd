"""The sourced Azure OpenAI catalogue, and validation refusing what Azure would refuse."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from ai_serving.models import pack_deployment_types, pack_lifecycle, quota_key_problems
from ai_serving.org.crossteam import check_all, load_quotas
from infra.catalogues import lifecycle, load
from infra.config import openai_checks
from infra.config.model import StackConfig
from tests.cli_helpers import ROOT, cli, write_stack
from tests.stackdata import base_config

TODAY = date(2026, 12, 2)


# --- the catalogue itself ------------------------------------------------------------------


def test_the_catalogue_is_dated_and_every_source_is_pinned():
    raw = load("openai_models")
    assert isinstance(raw["as_of"], date)
    for source in raw["sources"].values():
        if "url" in source:  # a Learn page read directly
            assert source["url"].startswith("https://learn.microsoft.com/") and isinstance(source["retrieved"], date)
            continue
        assert source["repo"] and source["path"].endswith(".md")
        assert len(source["commit"]) == 40 and isinstance(source["ms_date"], date)
    # The as-of date is the newest source's own date.
    assert raw["as_of"] == max(src["ms_date"] for src in raw["sources"].values()
                               if "ms_date" in src and src is not raw["sources"]["lifecycle_policy"])
    # Every fact has a named source: lifecycle rows, what stages mean, and each region's matrix.
    assert {raw["lifecycle_source"], raw["policy_source"]} <= set(raw["sources"])
    assert set(raw["region_sources"]) == set(raw["regions_covered"])
    assert set(raw["region_sources"].values()) <= set(raw["sources"])


def test_offers_name_only_covered_regions_and_types():
    covered_regions, covered_types = set(lifecycle.regions_covered()), set(lifecycle.types_covered())
    for mv in lifecycle.versions().values():
        assert set(mv.offers) <= covered_regions, mv
        assert {t for types in mv.offers.values() for t in types} <= covered_types, mv
        # A version retired for every type cannot be offered anywhere.
        if mv.retirement and all(d <= TODAY for d in mv.retirement.values()):
            assert not mv.offers, mv


def test_the_retirement_schedule_facts():
    # The issue expected gpt-4o 2024-11-20 to retire on 2026-10-01 (the 2025-12 table); Microsoft's schedule
    # of 2026-09-02 moved it to 2027-04-14 as Legacy (still open to new deployments). The catalogue follows
    # the newest source; 2024-05-13 did retire on 2026-10-01.
    gpt4o = lifecycle.lookup("gpt-4o", "2024-11-20")
    assert (gpt4o.status, gpt4o.retires(), gpt4o.replacement) == ("Legacy", date(2027, 4, 14), "gpt-5.1")
    assert not gpt4o.is_retired(TODAY) and not gpt4o.is_deprecated(TODAY)
    assert lifecycle.lookup("gpt-4o", "2024-05-13").is_retired(TODAY)
    assert lifecycle.lookup("gpt-4o", "2024-08-06").is_deprecated(TODAY)
    small = lifecycle.lookup("text-embedding-3-small", "1")
    assert "Standard" not in small.types_in("swedencentral") and "GlobalStandard" in small.types_in("swedencentral")
    assert small.retires() == date(2028, 2, 9)
    assert lifecycle.lookup("gpt-5.5", "2026-04-24").retires() == date(2027, 10, 26)
    assert lifecycle.lookup("gpt-5.4", "2026-03-05").retires() == date(2027, 9, 2)
    assert lifecycle.lookup("gpt-5.2", "2025-12-11").retires() == date(2027, 6, 8)
    # Newer than every regional matrix: catalogued, offered nowhere yet.
    assert lifecycle.lookup("gpt-5.6-sol", "2026-07-09").offers == {}


def test_retirement_per_deployment_type_and_lower_bounds():
    # The mechanism for sources that split a date by type or only bound it ("no earlier than").
    mv = lifecycle.ModelVersion("m", "1", "chat", "GA", retirement={"Standard": date(2026, 3, 31),
                                                                    "default": date(2026, 10, 1)})
    assert mv.retires("Standard") == date(2026, 3, 31) and mv.retires("GlobalStandard") == date(2026, 10, 1)
    assert mv.is_retired(date(2026, 6, 1), "Standard") and not mv.is_retired(date(2026, 6, 1), "GlobalStandard")
    bound = lifecycle.ModelVersion("m", "2", "chat", "GA", retirement_not_before=date(2027, 4, 15))
    assert bound.retires() is None and bound.retires_earliest() == (date(2027, 4, 15), False)
    assert not bound.is_retired(date(2028, 1, 1))  # a lower bound is never a passed deadline


def test_ptu_sizes_are_the_sizing_tables_per_column_group():
    # Microsoft's tables (provisioned-throughput-sizing.md, 2026-05-22): "Global & data zone provisioned"
    # covers GlobalProvisionedManaged and DataZoneProvisionedManaged, "Regional provisioned" ProvisionedManaged.
    source = lifecycle.ptu_source()
    assert source["path"] == "articles/foundry/openai/how-to/provisioned-throughput-sizing.md"
    assert source["ms_date"] == date(2026, 5, 22)
    assert lifecycle.provisioned_types() == ["GlobalProvisionedManaged", "DataZoneProvisionedManaged",
                                             "ProvisionedManaged"]
    size = lifecycle.PtuSize
    assert lifecycle.ptu_size("gpt-4o", "ProvisionedManaged") == size(50, 50)
    assert lifecycle.ptu_size("gpt-4o", "GlobalProvisionedManaged") == size(15, 5)
    assert lifecycle.ptu_size("gpt-4o", "DataZoneProvisionedManaged") == size(15, 5)
    assert lifecycle.ptu_size("gpt-5-mini", "ProvisionedManaged") == size(25, 25)
    assert lifecycle.ptu_size("gpt-5.5", "ProvisionedManaged") == size(50, 50)
    assert lifecycle.ptu_size("o1", "ProvisionedManaged") == size(25, 50)
    # Standard types are not sized in PTUs; unlisted models have no recorded size.
    assert lifecycle.ptu_size("gpt-4o", "GlobalStandard") is None
    assert lifecycle.ptu_size("gpt-5.6-sol", "GlobalProvisionedManaged") is None
    assert lifecycle.ptu_size("no-such-model", "ProvisionedManaged") is None


def test_every_provisioned_offer_has_a_recorded_size():
    # The gap "unlisted models are not judged" is harmless only while none of them is offered as provisioned.
    assert set(lifecycle.provisioned_types()) <= set(lifecycle.types_covered())
    for mv in lifecycle.versions().values():
        for sku in lifecycle.provisioned_types():
            if mv.regions_offering(sku):
                assert lifecycle.ptu_size(mv.model, sku) is not None, (mv.model, mv.version, sku)


def test_a_ptu_size_is_the_minimum_plus_whole_increments():
    gdz, o1 = lifecycle.PtuSize(15, 5), lifecycle.PtuSize(25, 50)
    assert [c for c in range(0, 31) if gdz.allows(c)] == [15, 20, 25, 30]
    assert gdz.sizes() == [15, 20, 25] and o1.sizes() == [25, 75, 125]
    # o1 regional: the minimum is not a multiple of the increment; the appendix's definition wins.
    assert o1.allows(25) and o1.allows(75) and not o1.allows(50)
    assert gdz.nearest(1) == [15] and gdz.nearest(17) == [15, 20] and gdz.nearest(20) == [20]
    assert o1.nearest(60) == [25, 75]


def test_the_pack_carries_an_exact_copy_of_the_lifecycle():
    pack = json.loads((ROOT / "policies/guardrails/catalogue.json").read_text(encoding="utf-8"))
    assert pack["openaiLifecycle"] == pack_lifecycle()
    assert pack["openaiModels"] == lifecycle.models()
    assert pack["deploymentTypes"] == pack_deployment_types()


def test_every_quota_key_is_a_catalogued_offer():
    quotas = load_quotas(ROOT / "stacks")
    assert quotas["openai"] and quota_key_problems(quotas["openai"]) == []


def test_a_quota_for_an_unoffered_model_or_type_is_a_mandatory_finding():
    quota = {"swedencentral": {"gpt-4o-typo": {"GlobalStandard": 10},
                               "text-embedding-3-small": {"Standard": 10}},
             "atlantis": {"gpt-5.2": {"GlobalStandard": 1}}}
    problems = quota_key_problems(quota)
    assert any("gpt-4o-typo: unknown model" in p for p in problems)
    assert any("swedencentral does not offer text-embedding-3-small as Standard" in p for p in problems)
    assert any("atlantis: region not in the catalogue" in p for p in problems)
    findings = [f for f in check_all({}, {"openai": quota}, {}) if f.check == "openai-quota-key"]
    assert len(findings) == 3 and {f.level for f in findings} == {"mandatory"}


# --- validation ------------------------------------------------------------------------------


def _config(**deployment) -> StackConfig:
    raw = base_config("dev")
    dep = {"name": "chat", "model": "gpt-5.5", "version": "2026-04-24", "sku": "GlobalStandard", "capacity": 10}
    dep.update(deployment)
    raw["ai-serving:openai"]["deployments"] = [dep]
    return StackConfig.model_validate({("location" if k == "azure-native:location" else k.split(":", 1)[1]): v
                                       for k, v in raw.items()})


def _messages(cfg: StackConfig, today: date = TODAY) -> list[str]:
    return [f"{'.'.join(map(str, path))}: {msg}" for path, msg in openai_checks.check(cfg, today)]


def test_a_current_model_offered_in_the_region_is_valid():
    assert _messages(_config()) == []
    assert _messages(_config(model="text-embedding-3-large", version="1", sku="Standard")) == []


def test_a_retired_version_names_the_date_and_the_replacement():
    (msg,) = _messages(_config(model="gpt-4o", version="2024-05-13"))
    assert "deployments.0.version" in msg and "retired on 2026-10-01" in msg
    assert "suggested replacement is gpt-5.1" in msg
    assert "open to new deployments in swedencentral as GlobalStandard, longest-lived first: gpt-5.5 2026-04-24 " \
           "(retires 2027-10-26), gpt-5.4-mini" in msg


def test_a_legacy_version_is_open_until_it_retires():
    assert _messages(_config(model="gpt-4o", version="2024-11-20")) == []
    assert "retired on 2027-04-14" in _messages(_config(model="gpt-4o", version="2024-11-20"), date(2027, 4, 14))[0]


def test_an_o_series_models_suggestions_include_the_gpt_5_series():
    (msg,) = _messages(_config(model="o4-mini", version="2025-04-16"))
    assert "retired on 2026-10-16" in msg and "gpt-5.5 2026-04-24" in msg


def test_a_deprecated_version_is_closed_to_new_customers():
    (msg,) = _messages(_config(model="gpt-4o", version="2024-08-06"))
    assert "closed to new customers (stage Deprecated in Microsoft's retirement schedule of 2026-09-02)" in msg
    assert "run until 2027-04-14" in msg and "set existingSince to the day it first did" in msg


def test_an_existing_customer_may_keep_a_deprecated_version_until_retirement():
    # "Existing customer" = the subscription has deployed that version before (lifecycle policy).
    existing = _config(model="gpt-4o", version="2024-08-06", existingSince="2025-03-01")
    assert _messages(existing) == []
    assert "retired on 2027-04-14" in _messages(existing, date(2027, 4, 14))[0]  # but not past retirement
    future = _config(existingSince="2027-01-01")
    assert "existingSince 2027-01-01 is in the future" in _messages(future)[0]


def test_a_type_the_region_does_not_offer_names_the_types_and_regions_that_do():
    (msg,) = _messages(_config(model="text-embedding-3-small", version="1", sku="Standard"))
    assert "deployments.0.sku" in msg and "not offered as Standard in swedencentral" in msg
    assert "swedencentral offers it as: GlobalStandard" in msg and "Standard is offered in: eastus, eastus2" in msg


def test_a_region_offering_nothing_says_so():
    cfg = _config().model_copy(update={"location": "northeurope"})
    (msg,) = _messages(cfg)
    assert "northeurope offers it as none of" in msg and "GlobalStandard is offered in: eastus2, swedencentral" in msg


def test_an_uncatalogued_deployment_type_is_refused_until_its_matrix_is_recorded():
    (msg,) = _messages(_config(sku="Developer"))
    assert "no sourced regional availability for deployment type 'Developer'" in msg
    (msg,) = _messages(_config(sku="ProvisionedManaged", capacity=50))  # catalogued: offered elsewhere only
    assert "not offered as ProvisionedManaged in swedencentral" in msg and "offered in: eastus" in msg


GPT4O = {"model": "gpt-4o", "version": "2024-11-20"}  # swedencentral offers it as every covered type


@pytest.mark.parametrize(
    ("sku", "capacity", "expected"),
    [
        ("ProvisionedManaged", 1, "gpt-4o ProvisionedManaged needs at least 50 PTUs, in steps of 50: 50, 100, "
                                  "150…; found 1; use 50 (Microsoft's PTU sizing table of 2026-05-22)"),
        ("ProvisionedManaged", 120, "in steps of 50: 50, 100, 150…; found 120; use 100 or 150"),
        ("GlobalProvisionedManaged", 14, "gpt-4o GlobalProvisionedManaged needs at least 15 PTUs, in steps of 5: "
                                         "15, 20, 25…; found 14; use 15"),
        ("DataZoneProvisionedManaged", 17, "needs at least 15 PTUs, in steps of 5: 15, 20, 25…; found 17; "
                                           "use 15 or 20"),
    ],
)
def test_a_provisioned_capacity_below_the_minimum_or_off_the_increment_is_refused(sku, capacity, expected):
    (msg,) = _messages(_config(**GPT4O, sku=sku, capacity=capacity))
    assert msg.startswith("ai-serving:openai.deployments.0.capacity: ") and expected in msg


@pytest.mark.parametrize(
    ("sku", "capacity"),
    [("ProvisionedManaged", 50), ("ProvisionedManaged", 150), ("GlobalProvisionedManaged", 15),
     ("GlobalProvisionedManaged", 105), ("DataZoneProvisionedManaged", 15)],
)
def test_the_minimum_and_every_step_above_it_are_valid(sku, capacity):
    assert _messages(_config(**GPT4O, sku=sku, capacity=capacity)) == []


def test_the_regional_minimum_is_per_model():
    # gpt-4.1-mini's regional row is 25/25 where gpt-4o's is 50/50.
    mini = {"model": "gpt-4.1-mini", "version": "2025-04-14", "sku": "ProvisionedManaged"}
    assert _messages(_config(**mini, capacity=25)) == []
    (msg,) = _messages(_config(**mini, capacity=30))
    assert "needs at least 25 PTUs, in steps of 25" in msg and "use 25 or 50" in msg


def test_a_model_the_sizing_tables_do_not_list_is_not_judged():
    # gpt-5.4-mini has no recorded size: the only finding is the type the region does not offer.
    (msg,) = _messages(_config(model="gpt-5.4-mini", version="2026-03-17", sku="GlobalProvisionedManaged",
                               capacity=1))
    assert "deployments.0.sku" in msg and "not offered as GlobalProvisionedManaged" in msg


@pytest.mark.parametrize("sku", ["Standard", "GlobalStandard", "DataZoneStandard"])
def test_a_standard_deployment_counts_tokens_not_ptus(sku):
    assert _messages(_config(**GPT4O, sku=sku, capacity=1)) == []


@pytest.mark.parametrize(
    ("deployment", "fragments"),
    [
        ({"model": "gpt-4o", "version": "2024-05-13"}, ("version", "retired on 2026-10-01", "gpt-5.1")),
        ({"model": "text-embedding-3-small", "version": "1", "sku": "Standard"},
         ("sku", "not offered as Standard in swedencentral", "GlobalStandard")),
        ({**GPT4O, "sku": "ProvisionedManaged", "capacity": 1},
         ("capacity", "needs at least 50 PTUs, in steps of 50", "found 1; use 50")),
    ],
)
def test_cli_validate_exits_2_with_file_line_and_key_path(tmp_path: Path, capsys, deployment, fragments):
    cfg = base_config("dev")
    dep = {"name": "chat", "model": "gpt-5.5", "version": "2026-04-24", "sku": "GlobalStandard", "capacity": 10}
    dep.update(deployment)
    cfg["ai-serving:openai"]["deployments"] = [dep]
    path = write_stack(tmp_path, "team-t-dev", cfg)
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip().startswith(f"{fragments[0]}:"))
    assert cli("validate", "--stack-dir", tmp_path, "team-t-dev") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    key = f"ai-serving:openai.deployments[0].{fragments[0]}"
    (row,) = [r for r in err.splitlines() if key in r]
    assert row.strip().startswith(f"{path}:{line}: {key}: ")
    assert all(f in row for f in fragments[1:])


def test_no_example_stack_deploys_a_retired_model_or_an_unoffered_type():
    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))["config"]
        region = doc["azure-native:location"]
        for dep in (doc.get("ai-serving:openai") or {}).get("deployments", []):
            mv = lifecycle.lookup(dep["model"], dep["version"])
            assert mv is not None and not mv.is_retired(TODAY, dep["sku"]) and not mv.is_deprecated(TODAY), dep
            assert dep["sku"] in mv.types_in(region), (path.name, dep)

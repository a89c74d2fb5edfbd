"""Cross-team checks: quotas, overlapping address spaces, colliding names."""

from __future__ import annotations

import os

import pytest

from ai_serving.org.crossteam import (
    check_all,
    global_names_of,
    gpu_quota,
    name_collisions,
    openai_quota,
    overlapping_address_spaces,
)
from infra.config import validate
from infra.config.errors import ConfigError

from .stackdata import base_config
from .test_config import raw

HUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub"


def cfg(team: str, env: str = "dev", **changes):
    c = base_config(env, team=team)
    for key, value in changes.items():
        c[f"ai-serving:{key}"] = value
    return validate(raw(c), stack_name=f"{team}-{env}")


QUOTAS = {"openai": {"swedencentral": {"gpt-5.5": {"GlobalStandard": 50}}},
          "gpuVcpus": {"swedencentral": {"Standard NCADS_A100_v4 Family": 100}}}


def test_openai_quota_sums_capacity_across_stacks():
    configs = {"a-dev": cfg("a"), "b-dev": cfg("b")}  # 30 + 30 > 50
    findings = openai_quota(configs, QUOTAS["openai"])
    assert len(findings) == 1 and findings[0].level == "mandatory"
    assert findings[0].stacks == ["a-dev", "b-dev"] and "60" in findings[0].message and "50" in findings[0].message


def test_openai_quota_quiet_within_limit():
    assert openai_quota({"a-dev": cfg("a")}, QUOTAS["openai"]) == []


def test_missing_quota_entry_only_advises():
    findings = openai_quota({"a-dev": cfg("a")}, {})
    assert [f.level for f in findings] == ["advisory"]


def test_gpu_quota_counts_vcpus_at_max_instances():
    # 24 vCPUs x 3 instances = 72 per stack; two stacks = 144 > 100
    findings = gpu_quota({"a-dev": cfg("a"), "b-dev": cfg("b")}, QUOTAS["gpuVcpus"])
    assert len(findings) == 1 and "144" in findings[0].message and findings[0].level == "mandatory"
    assert gpu_quota({"a-dev": cfg("a")}, QUOTAS["gpuVcpus"]) == []


def test_overlapping_address_spaces_on_the_same_hub():
    a = cfg("a", network={"addressSpace": "10.1.0.0/22", "hubVnetId": HUB})
    b = cfg("b", network={"addressSpace": "10.1.2.0/23", "hubVnetId": HUB})
    c = cfg("c", network={"addressSpace": "10.1.0.0/22"})  # not peered: may overlap
    findings = overlapping_address_spaces({"a-dev": a, "b-dev": b, "c-dev": c})
    assert len(findings) == 1 and findings[0].stacks == ["a-dev", "b-dev"]


def test_team_names_that_squash_to_the_same_name_collide():
    findings = name_collisions({"team-a-dev": cfg("team-a"), "teama-dev": cfg("teama")}, {})
    assert len(findings) == 1 and "team names" in findings[0].message


def test_global_names_collide_across_stacks():
    names = {"a-dev": [("Vault", "kv-shared")], "b-dev": [("Vault", "kv-shared")]}
    findings = name_collisions({"a-dev": cfg("a"), "b-dev": cfg("b")}, names)
    assert len(findings) == 1 and "kv-shared" in findings[0].message


def test_global_names_are_read_from_plan_inputs():
    resources = [{"type": "azure-native:keyvault:Vault", "name": "kv", "inputs": {"vaultName": "kv-x"}},
                 {"type": "azure-native:cognitiveservices:Account", "name": "oai",
                  "inputs": {"properties": {"customSubDomainName": "oai-x"}}}]
    assert global_names_of(resources) == [("Vault", "kv-x"), ("Account.customSubDomainName", "oai-x")]


def test_example_stacks_are_quiet(project):
    from ai_serving.org.crossteam import load_quotas
    from ai_serving.stacks import load_stack

    configs = {stack: load_stack(project, stack).config for stack in project.stacks()}
    findings = check_all(configs, load_quotas(project.stack_config_dir), {})
    assert [f for f in findings if f.level == "mandatory"] == []


@pytest.mark.parametrize("make", [
    lambda p: os.mkfifo(p),
    lambda p: p.write_text("a: &a [x, x]\nopenai: *a\n", encoding="utf-8"),
    lambda p: p.write_text("openai: {}\nopenai: {}\n", encoding="utf-8"),
    lambda p: p.write_text("- a list\n", encoding="utf-8"),
], ids=["fifo", "alias", "duplicate-key", "not-a-mapping"])
def test_a_quotas_file_is_read_as_strictly_as_a_stack_file(tmp_path, make):
    # A pull request can change quotas.yaml too: a named pipe must not hang the run, and an alias, a
    # duplicate key or another shape is an error (plan --all reports it as a mandatory cross-team finding),
    # never "no quotas" (which would turn the quota checks into advice).
    from ai_serving.org.crossteam import QUOTAS_FILE, load_quotas

    make(tmp_path / QUOTAS_FILE)
    with pytest.raises(ConfigError):
        load_quotas(tmp_path)

"""Cross-team checks: quotas, overlapping address spaces, colliding names, grants into another stack."""

from __future__ import annotations

import os

import pytest

from ai_serving.org.crossteam import (
    check_all,
    foreign_grants,
    foreign_networks,
    global_names_of,
    gpu_quota,
    name_collisions,
    network_refs_of,
    openai_quota,
    overlapping_address_spaces,
    role_scopes_of,
)
from infra import catalogues
from infra.config import validate
from infra.config.errors import ConfigError

from .cli_helpers import ROOT, cli
from .stackdata import base_config, share_networks
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


def test_overlapping_address_spaces_on_the_same_hub(monkeypatch):
    share_networks(monkeypatch, hubs=[HUB])
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


SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
A_REGISTRY = f"{SUB}/resourceGroups/rg-a-dev-sdc/providers/Microsoft.ContainerRegistry/registries/cradshared"
A_WEIGHTS = (f"{SUB}/resourceGroups/RG-A-DEV-SDC/providers/Microsoft.Storage/storageAccounts/stad/blobServices/"
             "default/containers/qwen")


def test_a_grant_inside_another_stacks_resource_group_is_mandatory():
    configs = {"a-dev": cfg("a"), "b-dev": cfg("b"), "a-prod": cfg("a", "prod")}
    scopes = {"b-dev": [A_REGISTRY, A_WEIGHTS, f"{SUB}/resourceGroups/rg-b-dev-sdc/providers/x/y/z"],
              "a-dev": [A_REGISTRY],  # its own group
              "a-prod": [f"{SUB}/resourceGroups/rg-a-dev-sdc"]}  # the same team's dev group is another stack's
    findings = foreign_grants(configs, scopes)
    assert [(f.check, f.level, f.stacks) for f in findings] == [
        ("foreign-grant", "mandatory", ["a-dev", "a-prod"]),
        ("foreign-grant", "mandatory", ["a-dev", "b-dev"]),
        ("foreign-grant", "mandatory", ["a-dev", "b-dev"]),
    ]
    assert "b-dev grants a role on " + A_REGISTRY + " inside a-dev's resource group" in findings[1].message
    assert "shared_supply.yaml" in findings[1].message
    # check_all runs it.
    assert len([f for f in check_all(configs, {}, {}, scopes) if f.check == "foreign-grant"]) == 3


def test_a_resource_the_platform_shares_may_be_granted_from_any_stack(monkeypatch):
    real = catalogues.load
    monkeypatch.setattr(catalogues, "load", lambda name: {"registries": [A_REGISTRY.upper().replace(
        "/SUBSCRIPTIONS/", "/subscriptions/")]} if name == "shared_supply" else real(name))
    configs = {"a-dev": cfg("a"), "b-dev": cfg("b")}
    assert foreign_grants(configs, {"b-dev": [A_REGISTRY]}) == []
    assert len(foreign_grants(configs, {"b-dev": [A_WEIGHTS]})) == 1  # sharing the registry shares nothing else


def test_role_scopes_are_read_from_plan_inputs():
    resources = [{"type": "azure-native:authorization:RoleAssignment", "name": "r", "inputs": {"scope": A_REGISTRY}},
                 {"type": "azure-native:authorization:RoleAssignment", "name": "u", "inputs": {}},
                 {"type": "azure-native:keyvault:Vault", "name": "kv", "inputs": {"scope": A_WEIGHTS}}]
    assert role_scopes_of(resources) == [A_REGISTRY]


def _plan_all_beside_team_a_prod(tmp_path, monkeypatch, capsys, stack: str, text: str) -> tuple[int, str]:
    """``plan --all`` of team-a-prod and ``stack`` (``text``) without the config check that keeps references in
    the stack's own group or a platform list, as a program change reaching out by other means would be: the
    exit code and the output, its whitespace collapsed."""
    from infra.config import checks

    monkeypatch.setattr(checks, "_unlisted", lambda *args: None)
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.team-a-prod.yaml").write_text(TEAM_A_PROD, encoding="utf-8")
    (stacks / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")
    capsys.readouterr()
    code = cli("plan", "--all", "--no-policy", "--workers", "1", "--stack-dir", stacks, "--out", tmp_path / "out")
    return code, " ".join(capsys.readouterr().out.split())


TEAM_A_PROD = (ROOT / "stacks" / "Pulumi.team-a-prod.yaml").read_text(encoding="utf-8")


def test_plan_all_fails_a_program_that_grants_into_another_teams_group(tmp_path, monkeypatch, capsys):
    # The config check refuses team-a's registry in team-y's stack; plan --all must still fail the grant it
    # finds in the plan.
    registry = f"{SUB}/resourceGroups/rg-team-a-prod-sdc/providers/Microsoft.ContainerRegistry/registries/crteamap3620dc21"
    team_y = TEAM_A_PROD.replace("ai-serving:team: team-a", "ai-serving:team: team-y").replace(
        "    servingImage: vllm/vllm-openai:v0.34.0\n", f"    servingImage: vllm/vllm-openai:v0.34.0\n    registryId: {registry}\n"
    ).replace("vmss-team-a-prod-", "vmss-team-y-prod-")  # its digest waiver names its own scale set
    assert registry in team_y
    code, out = _plan_all_beside_team_a_prod(tmp_path, monkeypatch, capsys, "team-y-prod", team_y)
    assert code == 1, out
    assert "cross-team foreign-grant (mandatory) team-a-prod, team-y-prod" in out, out

A_HUB = f"{SUB}/resourceGroups/rg-a-dev-sdc/providers/Microsoft.Network/virtualNetworks/vnet-a-dev-sdc"
A_ZONE = f"{SUB}/resourceGroups/RG-A-DEV-SDC/providers/Microsoft.Network/privateDnsZones/privatelink.openai.azure.com"
PEERING = "azure-native:network:VirtualNetworkPeering"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"


def test_a_peering_or_dns_records_inside_another_stacks_resource_group_are_mandatory():
    configs = {"a-dev": cfg("a"), "b-dev": cfg("b")}
    refs = {"b-dev": [A_HUB, A_ZONE, f"{SUB}/resourceGroups/rg-b-dev-sdc/providers/x/y/z"], "a-dev": [A_HUB]}
    findings = foreign_networks(configs, refs)
    assert [(f.check, f.level, f.stacks) for f in findings] == [("foreign-network", "mandatory", ["a-dev", "b-dev"])] * 2
    assert f"b-dev peers with or registers DNS records in {A_ZONE}, inside a-dev's resource group" in findings[1].message
    assert "shared_network.yaml" in findings[0].message
    # check_all runs it.
    assert len([f for f in check_all(configs, {}, {}, {}, refs) if f.check == "foreign-network"]) == 2


def test_a_hub_or_zone_the_platform_shares_may_be_referenced_from_any_stack(monkeypatch):
    share_networks(monkeypatch, hubs=[A_HUB.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")], zones=[A_ZONE])
    configs = {"a-dev": cfg("a"), "b-dev": cfg("b")}
    assert foreign_networks(configs, {"b-dev": [A_HUB, A_ZONE.lower()]}) == []
    other_zone = A_ZONE.replace("privatelink.openai.azure.com", "privatelink.vaultcore.azure.net")
    assert len(foreign_networks(configs, {"b-dev": [other_zone]})) == 1  # sharing one zone shares no other


def test_network_refs_are_read_from_plan_inputs():
    resources = [{"type": PEERING, "name": "p", "inputs": {"remoteVirtualNetwork": {"id": A_HUB}}},
                 {"type": ZONE_GROUP, "name": "g", "inputs": {"privateDnsZoneConfigs": [
                     {"name": "openai", "privateDnsZoneId": A_ZONE}, {"name": "own", "privateDnsZoneId": None}]}},
                 {"type": PEERING, "name": "u", "inputs": {}},
                 {"type": "azure-native:network:VirtualNetwork", "name": "v", "inputs": {"remoteVirtualNetwork": {
                     "id": A_ZONE}}}]
    assert network_refs_of(resources) == [A_HUB, A_ZONE]


def test_plan_all_fails_a_stack_that_peers_into_and_writes_dns_records_in_another_teams_group(tmp_path, monkeypatch,
                                                                                             capsys):
    # team-c-dev points its hub and its OpenAI zone at team-a-prod's: the config check refuses both; plan --all
    # must still fail the peering and the zone group it finds in the plan.
    group = f"{SUB}/resourceGroups/rg-team-a-prod-sdc/providers/Microsoft.Network"
    team_c = (ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_text(encoding="utf-8").replace("team-a", "team-c").replace(
        "    addressSpace: 10.42.0.0/22\n",
        f"    addressSpace: 10.60.0.0/22\n    hubVnetId: {group}/virtualNetworks/vnet-team-a-prod-sdc\n"
        f"    privateDnsZoneIds:\n      openai: {group}/privateDnsZones/privatelink.openai.azure.com\n")
    assert "hubVnetId" in team_c
    code, out = _plan_all_beside_team_a_prod(tmp_path, monkeypatch, capsys, "team-c-dev", team_c)
    assert code == 1, out
    assert out.count("cross-team foreign-network (mandatory) team-a-prod, team-c-dev") == 2, out


def test_checks_lists_every_check_the_module_reports_and_nothing_else():
    """``CHECKS`` is the one list of the cross-team checks (the report's "no findings" line names them): each
    check id this module gives a finding is in it, and it names no check that is never reported."""
    import ast
    import inspect

    from ai_serving.org import crossteam

    reported = {call.args[0].value for call in ast.walk(ast.parse(inspect.getsource(crossteam)))
                if isinstance(call, ast.Call) and getattr(call.func, "id", None) in ("CrossTeamFinding", "_within_quota")
                and call.args and isinstance(call.args[0], ast.Constant)}
    assert reported == set(crossteam.CHECKS)

"""The offline runner behaves like the engine: URNs, parents, dependencies, providers, secrets."""

from __future__ import annotations

import json

from ai_serving.output_folders import PLAN_FILES

from .cli_helpers import cli, write_stack
from .stackdata import base_config

SECRET = "hf_offline_test_token_do_not_print_7Qz"


def test_every_example_stack_plans(project):
    from ai_serving.engine.project import read_stack_config
    from ai_serving.engine.runner import run_program

    for stack in project.stacks():
        run = run_program(project, stack, read_stack_config(project, stack))
        assert run.exit_code == 0, (stack, run.errors)
        assert len(run.by_type("azure-native:resources:ResourceGroup")) == 1


def test_urns_follow_the_engine_format(plan_stack):
    run = plan_stack(base_config("dev"))
    stack = run.one("pulumi:pulumi:Stack")
    assert stack.urn == "urn:pulumi:team-t-dev::ai-serving::pulumi:pulumi:Stack::ai-serving-team-t-dev"
    env = run.one("ai-serving:environment:ServingEnvironment")
    assert env.parent == stack.urn
    # The root stack's type is not part of a child's type chain; deeper children carry the full chain.
    assert env.urn == "urn:pulumi:team-t-dev::ai-serving::ai-serving:environment:ServingEnvironment::team-t-dev"
    for r in run.resources:
        if r.parent and r.parent != stack.urn:
            parent = run.get(r.parent)
            parent_chain = parent.urn.split("::")[2]
            assert r.urn.split("::")[2] == f"{parent_chain}${r.type}", r.urn


def test_default_provider_is_synthesised_once_and_referenced(plan_stack):
    run = plan_stack(base_config("dev"))
    providers = run.by_type("pulumi:providers:azure-native")
    assert len(providers) == 1
    prov = providers[0]
    assert prov.name.startswith("default_3_")
    assert prov.inputs["location"] == "swedencentral"
    custom = [r for r in run.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    assert custom and all(r.provider.startswith(prov.urn + "::") for r in custom)
    # The provider registers before the first resource that uses it, as the engine orders it.
    index = {r.urn: i for i, r in enumerate(run.resources)}
    assert index[prov.urn] < min(index[r.urn] for r in custom)


def test_dependencies_are_captured(plan_stack):
    run = plan_stack(base_config("dev"))
    rg = run.one("azure-native:resources:ResourceGroup")
    dependents = [r for r in run.resources if rg.urn in r.dependencies]
    assert dependents, "resources placed in the resource group depend on it"


def test_secure_config_never_appears_in_plan_output(tmp_path, capsys):
    cfg = base_config("dev")
    stack_file = write_stack(tmp_path, "team-t-dev", cfg)
    # A `secure:` value as the CLI writes it; offline it becomes a secret placeholder.
    stack_file.write_text(stack_file.read_text() + "  ai-serving:modelHubToken:\n    secure: v1:" + SECRET + "\n")
    out_dir = tmp_path / "out"
    assert cli("plan", "team-t-dev", "--stack-dir", tmp_path, "--no-policy", "--out", out_dir) == 0
    captured = capsys.readouterr()
    plan_text = (out_dir / "plan.json").read_text()
    for text in (captured.out, captured.err, plan_text):
        assert SECRET not in text
        assert "offline-secret-placeholder" not in text
    json.loads(plan_text)


def test_plan_json_has_the_documented_shape(tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert cli("plan", "team-a-dev", "--no-policy", "--out", out_dir) == 0
    doc = json.loads((out_dir / "plan.json").read_text())
    assert doc["project"] == "ai-serving" and doc["stack"] == "team-a-dev"
    assert set(doc["resources"][0]) == {"urn", "type", "name", "custom", "parent", "dependencies", "protect", "provider",
                                       "inputs"}
    assert doc["outputs"]["resourceGroupName"] == "rg-team-a-dev-sdc"


def test_unknown_stack_is_a_usage_error(capsys):
    assert cli("plan", "no-such-stack", "--no-policy") == 2
    assert "no stack 'no-such-stack'" in capsys.readouterr().err


def test_runs_do_not_leak_into_each_other(plan_stack):
    first = plan_stack(base_config("dev", gpu=False))
    second = plan_stack(base_config("dev", gpu=False))
    # Registration order is not deterministic (the engine notes say so): compare as sets.
    assert sorted(r.urn for r in first.resources) == sorted(r.urn for r in second.resources)
    assert len(first.resources) == len(second.resources)


def test_two_plans_of_the_same_stack_are_byte_identical(tmp_path):
    """Every file a plan writes is independent of the order asyncio registered resources in."""
    for run in ("a", "b"):
        assert cli("plan", "team-a-prod", "--quiet", "--out", tmp_path / run) == 0
    for name in PLAN_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_stable_order_ignores_registration_order_and_keeps_dependencies_first(plan_stack):
    import random

    from ai_serving.engine.runner import stable_order

    run = plan_stack(base_config("prod"))
    expected = [r.urn for r in run.resources]
    rng = random.Random(14)
    for _ in range(5):
        shuffled = list(run.resources)
        rng.shuffle(shuffled)
        assert [r.urn for r in stable_order(shuffled)] == expected
    seen: set[str] = set()
    for r in run.resources:
        provider = r.provider.rsplit("::", 1)[0] if r.provider else None
        for before in (r.parent, provider, *r.dependencies):
            assert not before or before in seen, (r.urn, before)
        seen.add(r.urn)


def test_policies_lists_every_rule_with_its_kind(capsys):
    from guardrails import all_rules

    from .cli_helpers import ROOT

    assert cli("policies", "--policy-pack", ROOT / "policies") == 0
    out = capsys.readouterr().out
    assert f"{len(all_rules())} policies" in out
    rows = [line for line in out.splitlines() if "net-05-private-endpoint" in line]
    assert rows and "stack" in rows[0]


def test_plain_registrations_get_the_sdk_mock_monitors_own_answer(project, monkeypatch):
    """A registration answered without the SDK's decode/encode round trip (``_register_plain``) gets the very
    message and state ``MockMonitor.RegisterResource`` gives, for every registration of every example stack;
    most registrations take that path, and what the recording keeps is what was sent."""
    from google.protobuf import json_format
    from pulumi.runtime import mocks as pulumi_mocks

    from ai_serving.engine import runner
    from ai_serving.engine.project import read_stack_config

    plain = runner._RecordingMonitor._register_plain
    compared: list[str] = []

    def both(self, request, urn, inputs):
        answer = plain(self, request, urn, inputs)
        if answer is not None:
            state = self.resources[urn].state
            assert pulumi_mocks.MockMonitor.RegisterResource(self, request) == answer, request.name
            assert self.resources[urn].state == state, request.name
            compared.append(request.type)
        return answer

    monkeypatch.setattr(runner._RecordingMonitor, "_register_plain", both)
    registered = 0
    for stack in project.stacks():
        run = runner.run_program(project, stack, read_stack_config(project, stack))
        assert run.exit_code == 0, (stack, run.errors)
        registered += sum(1 for r in run.resources if not r.read and r.type != runner.ROOT_STACK_TYPE
                          and not r.type.startswith("pulumi:providers:"))
        for reg in run.resources:
            if not reg.read:
                assert json_format.MessageToDict(reg.properties) == reg.inputs, reg.urn
    assert len(compared) >= 0.8 * registered, (len(compared), registered)
    assert {"azure-native:compute:VirtualMachineScaleSet", "azure-native:keyvault:Vault",
            "ai-serving:gpu_pool:GpuInferencePool"} <= set(compared)


def test_values_the_sdk_would_change_take_the_sdks_path():
    from ai_serving.engine.runner import is_plain
    from ai_serving.wire import SECRET_SIG, SECRET_VALUE_SIG, UNKNOWN

    assert is_plain({"a": [1.0, None, {"b": True}], "c": "text", "d": {}})
    assert not is_plain({"a": {SECRET_SIG: SECRET_VALUE_SIG, "value": "x"}})  # a secret
    assert not is_plain({"a": [{"b": None}]})  # a null member is dropped by the SDK's decoder
    assert not is_plain({"a": ["x", UNKNOWN]})  # an unknown
    assert not is_plain({"a": object()})
    assert not is_plain([b"bytes"])


def test_the_providers_own_type_aliases_never_reach_the_monitor_and_a_rename_would(project, monkeypatch):
    """azure-native declares type-only aliases (earlier API versions, modules a type moved from) that only
    match resources in state; offline they are dropped before registration. A component's own alias stays."""
    import pulumi

    from ai_serving.engine import runner
    from ai_serving.stacks import load_stack

    sent, real = [], runner._RecordingMonitor.RegisterResource
    monkeypatch.setattr(runner._RecordingMonitor, "RegisterResource",
                        lambda self, request: (sent.extend(request.aliases), real(self, request))[1])
    run = runner.run_program(project, "team-a-prod", load_stack(project, "team-a-prod").config_map)
    assert run.exit_code == 0 and run.by_type("azure-native:monitor:DiagnosticSetting")  # it declares such aliases
    assert not [a for a in sent if a.spec.type.startswith("azure-native:")]
    keep = runner._provider_type_alias
    assert keep(pulumi.Alias(type_="azure-native:insights:DiagnosticSetting"))
    assert keep(pulumi.Alias(type_="azure-native:network/v20230501:VirtualNetwork"))
    for rename in (pulumi.Alias(name="old-name"), pulumi.Alias(type_="ai-serving:network:OldNetwork"),
                   pulumi.Alias(type_="azure-native:network:VirtualNetwork", name="old-name"),
                   pulumi.Alias(type_="azure-native:network:VirtualNetwork", parent="urn:pulumi:s::p::t::n"),
                   "urn:pulumi:s::p::azure-native:network:VirtualNetwork::old"):
        assert not keep(rename), rename

"""The pack as the Pulumi engine runs it: its own process, spoken to over the analyzer protocol.

Started exactly like ``pulumi preview --policy-pack policies`` starts it (``python -m pulumi.policy
<engine> <pack-dir>``, working directory = the pack, stack identity in the environment).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from guardrails import PACK_NAME, all_rules, lookup
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from tests.fixtures.policy import UNKNOWN, baseline, fixture, mutate, secret

POLICIES = Path(__file__).resolve().parent.parent / "policies"
LEVELS = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY}


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    env = {
        **os.environ,
        "PULUMI_PROJECT": "ai-serving",
        "PULUMI_STACK": "team-t-prod",
        "PULUMI_DRY_RUN": "true",
        "PULUMI_ORGANIZATION": "organization",
        "PULUMI_CONFIG": json.dumps({"ai-serving:environment": "prod"}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(POLICIES)],
        cwd=POLICIES,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert port.isdigit(), (
            f"pack did not start: {port!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        )  # type: ignore[union-attr]
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


@pytest.fixture(scope="module")
def configured(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> analyzer_pb2_grpc.AnalyzerStub:
    """Configure like the engine: schema defaults, then the user's values (a tighter capacity cap here)."""
    config = {}
    for rule in all_rules():
        props = rule.defaults()
        if rule.id == "DEP-03":
            props["maxCapacityPerDeployment"] = 10
        config[rule.policy_name] = analyzer_pb2.PolicyConfig(
            enforcementLevel=LEVELS[rule.level], properties=struct(props)
        )
    analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config))
    return analyzer


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, name: str, changes: dict[str, Any] | None = None):
    fx = fixture(name)
    request = analyzer_pb2.AnalyzeRequest(
        type=fx["type"],
        name=fx["name"],
        urn=f"urn:pulumi:team-t-prod::ai-serving::{fx['type']}::{fx['name']}",
        properties=struct(mutate(fx["props"], changes or {})),
    )
    return stub.Analyze(request)


def by_policy(response: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for d in response.diagnostics:
        out.setdefault(d.policyName, []).append(d)
    return out


def test_analyzer_info_lists_every_rule_with_its_metadata(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME and info.supportsConfig
    policies = {p.name: p for p in info.policies}
    assert list(policies) == [r.policy_name for r in all_rules()]
    for rule in all_rules():
        p = policies[rule.policy_name]
        assert p.enforcementLevel == LEVELS[rule.level]
        assert p.description == rule.description
        assert p.remediation_steps == rule.remediation
        assert p.url == rule.link
        assert p.displayName.startswith(rule.id)
        assert set(p.configSchema.properties) == set(rule.config)
        kind = analyzer_pb2.POLICY_TYPE_STACK if rule.scope == "stack" else analyzer_pb2.POLICY_TYPE_RESOURCE
        assert p.policy_type == kind


def test_config_schema_defaults_travel_to_the_engine(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    schema = next(p for p in info.policies if p.name == lookup("VMSS-01").policy_name).configSchema
    assert (
        list(schema.properties["gpuSkuAllowlist"]["default"])
        == lookup("VMSS-01").defaults()["gpuSkuAllowlist"]
    )


def test_compliant_resources_raise_nothing(configured: analyzer_pb2_grpc.AnalyzerStub) -> None:
    for name in ("account", "vault", "vmss", "nsg", "subnet", "storage-account", "registry", "key", "secret"):
        assert list(analyze(configured, name).diagnostics) == [], name


def test_a_violation_reaches_the_engine_with_its_level(configured: analyzer_pb2_grpc.AnalyzerStub) -> None:
    found = by_policy(analyze(configured, "account", {"properties.publicNetworkAccess": "Enabled"}))
    [diag] = found[lookup("CS-01").policy_name]
    assert diag.enforcementLevel == analyzer_pb2.MANDATORY
    assert diag.policyPackName == PACK_NAME
    assert (
        diag.message
        == lookup("CS-01").description + "\nproperties.publicNetworkAccess is 'Enabled'; set it to Disabled"
    )


def test_configured_values_are_used(configured: analyzer_pb2_grpc.AnalyzerStub) -> None:
    found = by_policy(analyze(configured, "deployment"))  # capacity 30 > configured cap 10
    [diag] = found[lookup("DEP-03").policy_name]
    assert diag.enforcementLevel == analyzer_pb2.ADVISORY
    assert diag.message.endswith("sku.capacity 30 exceeds the cap of 10")


def test_prod_comes_from_the_stack_config(configured: analyzer_pb2_grpc.AnalyzerStub) -> None:
    # the deployment carries no environment tag; PULUMI_CONFIG says the stack is prod
    found = by_policy(
        analyze(configured, "deployment", {"properties.versionUpgradeOption": "OnceCurrentVersionExpired"})
    )
    assert lookup("DEP-04").policy_name in found


def test_unknown_values_give_the_engines_preview_notice(configured: analyzer_pb2_grpc.AnalyzerStub) -> None:
    found = by_policy(analyze(configured, "account", {"properties.publicNetworkAccess": UNKNOWN}))
    [diag] = found[lookup("CS-01").policy_name]
    assert diag.enforcementLevel == analyzer_pb2.ADVISORY
    assert "can't run policy" in diag.message and "during preview" in diag.message


def test_secret_wrapped_inputs_are_read_and_not_echoed(configured: analyzer_pb2_grpc.AnalyzerStub) -> None:
    token = "hf_" + "Q" * 34
    response = analyze(
        configured,
        "vmss",
        {
            "virtualMachineProfile.extensionProfile.extensions.0.settings.hfToken": secret(token),
            "virtualMachineProfile.securityProfile.encryptionAtHost": secret(True),
        },
    )
    found = by_policy(response)
    assert list(found) == [lookup("VMSS-05").policy_name]
    assert all(token not in d.message for d in response.diagnostics)


def test_not_applicable_is_reported(configured: analyzer_pb2_grpc.AnalyzerStub) -> None:
    response = analyze(configured, "role-assignment")
    assert lookup("GEN-01").policy_name in {n.policy_name for n in response.not_applicable}


def test_stack_rules_name_the_resource(configured: analyzer_pb2_grpc.AnalyzerStub) -> None:
    account, endpoint = fixture("account"), fixture("private-endpoint")
    account_urn = "urn:pulumi:team-t-prod::ai-serving::azure-native:cognitiveservices:Account::account"
    endpoint_urn = "urn:pulumi:team-t-prod::ai-serving::azure-native:network:PrivateEndpoint::pep"
    resources = [
        analyzer_pb2.AnalyzerResource(
            type=account["type"],
            name="account",
            urn=account_urn,
            properties=struct(account["props"]),
            options=analyzer_pb2.AnalyzerResourceOptions(protect=True),
        ),
        analyzer_pb2.AnalyzerResource(
            type=endpoint["type"],
            name="pep",
            urn=endpoint_urn,
            properties=struct(
                mutate(
                    baseline("private-endpoint"),
                    {"privateLinkServiceConnections.0.privateLinkServiceId": UNKNOWN},
                )
            ),
            dependencies=[account_urn],
            propertyDependencies={
                "privateLinkServiceConnections": analyzer_pb2.AnalyzerPropertyDependencies(urns=[account_urn])
            },
        ),
    ]
    found = by_policy(configured.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)))
    assert [d.urn for d in found[lookup("NET-05").policy_name]] == [endpoint_urn]  # no DNS zone group
    assert [d.urn for d in found[lookup("MON-01").policy_name]] == [account_urn]  # no diagnostic setting
    assert lookup("NET-06").policy_name not in found  # matched through the property dependency
    assert lookup("GEN-03").policy_name not in found  # protected

"""The pack decodes each resource once per analyzer call, hands it only to the policies that judge its
type, and answers exactly as the SDK alone would.

pulumi_policy decodes an Analyze request once per policy (48 times) and builds every policy's
arguments; ``guardrails.pack.decode_once`` memoises that decoding for the length of one call and
runs the SDK's Analyze with the applicable policies only. These tests drive the SDK's own analyzer
servicer in-process with the registrations of every example stack and compare every response with
the SDK's own path (the same servicer method without our wrapper), a disabled policy included.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi_policy.policy as sdk
import pytest
from google.protobuf import json_format
from guardrails import PACK_NAME
from guardrails.pack import decode_once, policies
from pulumi.runtime.proto import analyzer_pb2

from ai_serving.engine.analyzer import LEVEL_VALUES, _options, _provider
from ai_serving.engine.project import load_project
from ai_serving.engine.runner import ProgramRun, run_program
from ai_serving.stacks import load_stack
from witness.run import strict_policy_config

ROOT = Path(__file__).resolve().parent.parent
STACK = "team-a-prod"
DISABLED = "vmss-08-automatic-os-upgrades"
"""A policy the comparison turns off: the SDK skips it without a not-applicable entry, and so must we."""


def _run(stack: str) -> ProgramRun:
    project = load_project(ROOT)
    return run_program(project, stack, load_stack(project, stack).config_map)


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return _run(STACK)


@pytest.fixture(scope="module")
def servicer() -> Iterator[Any]:
    assert decode_once(), "pulumi_policy no longer has the shape guardrails.pack.decode_once patches"
    serv = sdk._PolicyAnalyzerServicer(PACK_NAME, "0.0.1", policies(), sdk.EnforcementLevel.ADVISORY)
    # The strict config makes the pack report advisory and mandatory violations on most resources.
    config = strict_policy_config(json.loads((ROOT / "policies" / "policy-config.json").read_text()))
    assert DISABLED in {p.name for p in policies()}
    config[DISABLED] = "disabled"
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, values in config.items():
        values = dict(values) if isinstance(values, dict) else {"enforcementLevel": values}
        pc = analyzer_pb2.PolicyConfig(enforcementLevel=LEVEL_VALUES[values.pop("enforcementLevel", "advisory")])
        pc.properties.update(values)
        request.policyConfig[name].CopyFrom(pc)
    serv.Configure(request, None)
    serv.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(stack=STACK, project="ai-serving"), None)
    yield serv


def _requests(run: ProgramRun) -> list[analyzer_pb2.AnalyzeRequest]:
    by_urn = {r.urn: r for r in run.resources}
    return [analyzer_pb2.AnalyzeRequest(type=r.type, properties=r.properties, urn=r.urn, name=r.name,
                                        options=_options(r), provider=_provider(r, by_urn))
            for r in run.resources if not r.read]


def _stack_request(run: ProgramRun) -> analyzer_pb2.AnalyzeStackRequest:
    request = analyzer_pb2.AnalyzeStackRequest()
    by_urn = {r.urn: r for r in run.resources}
    for r in run.resources:
        request.resources.append(analyzer_pb2.AnalyzerResource(
            type=r.type, properties=r.properties, urn=r.urn, name=r.name, options=_options(r),
            provider=_provider(r, by_urn), parent=r.parent or "", dependencies=r.dependencies))
    return request


def _key(response: Any) -> str:
    return json_format.MessageToJson(response, sort_keys=True)


def test_decode_once_is_in_place_for_the_pinned_sdk() -> None:
    assert decode_once() is True
    assert decode_once() is True  # idempotent: a second call does not wrap twice
    assert sdk._PolicyAnalyzerServicer.Analyze.once_per_call
    assert not getattr(sdk._PolicyAnalyzerServicer.Analyze.__wrapped__, "once_per_call", False)


def test_each_resource_is_decoded_once_per_call(servicer: Any, run: ProgramRun,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = json_format.MessageToDict
    monkeypatch.setattr(json_format, "MessageToDict", lambda m, *a, **k: (calls.append(m), real(m, *a, **k))[1])
    request = next(r for r in _requests(run) if r.HasField("provider"))
    servicer.Analyze(request, None)
    assert len(calls) == 2  # the resource's properties and its provider's, not once per policy
    calls.clear()
    servicer.Analyze.__wrapped__(servicer, request, None)  # the SDK alone: once per policy
    resource_policies = [p for p in policies() if isinstance(p, sdk.ResourceValidationPolicy) and p.name != DISABLED]
    assert len(calls) == 2 * len(resource_policies)
    calls.clear()
    stack_request = _stack_request(run)
    servicer.AnalyzeStack(stack_request, None)
    with_provider = sum(1 for r in stack_request.resources if r.HasField("provider"))
    assert len(calls) == len(stack_request.resources) + with_provider


@pytest.mark.parametrize("stack", sorted(p.name[len("Pulumi."):-len(".yaml")]
                                         for p in (ROOT / "stacks").glob("Pulumi.*.yaml")))
def test_every_verdict_is_the_sdks_own(servicer: Any, stack: str) -> None:
    run = _run(stack)
    levels: list[int] = []
    not_applicable = 0
    for request in _requests(run):
        ours = servicer.Analyze(request, None)
        assert _key(ours) == _key(servicer.Analyze.__wrapped__(servicer, request, None)), request.urn
        levels += [d.enforcementLevel for d in ours.diagnostics]
        not_applicable += len(ours.not_applicable)
        assert DISABLED not in {na.policy_name for na in ours.not_applicable}
    stack_request = _stack_request(run)
    assert _key(servicer.AnalyzeStack(stack_request, None)) == \
        _key(servicer.AnalyzeStack.__wrapped__(servicer, stack_request, None))
    # The comparison judged real findings at both levels and the policies it skipped, not empty answers.
    assert len(levels) >= 20 and {analyzer_pb2.ADVISORY, analyzer_pb2.MANDATORY} <= set(levels)
    assert not_applicable > 10 * len(run.resources)


def test_a_resource_reaches_only_the_policies_that_judge_its_type(servicer: Any, run: ProgramRun,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from guardrails.registry import all_rules

    rules = {r.policy_name: r for r in all_rules()}
    called: list[str] = []
    pack = policies()
    for pol in pack:
        if isinstance(pol, sdk.ResourceValidationPolicy):
            real = pol.validate
            monkeypatch.setattr(pol, "validate",
                                lambda args, report, _n=pol.name, _r=real: (called.append(_n), _r(args, report))[1])
    spied = sdk._PolicyAnalyzerServicer(PACK_NAME, "0.0.1", pack, sdk.EnforcementLevel.ADVISORY)
    for request in _requests(run):
        called.clear()
        response = spied.Analyze(request, None)
        judged = {n for n, r in rules.items() if r.scope == "resource" and r.applies_to(request.type)}
        assert set(called) == judged, request.type
        # Every other resource policy still answers: not applicable, with its rule's reason.
        skipped = {na.policy_name: na.reason for na in response.not_applicable if na.policy_name not in judged}
        assert set(skipped) == {n for n, r in rules.items() if r.scope == "resource"} - judged
        assert all(reason == f"{rules[n].id} does not apply to {request.type}" for n, reason in skipped.items())


def test_a_policy_list_changed_in_place_is_worked_out_afresh(run: ProgramRun) -> None:
    """Which policies judge a type is remembered per policy list; a list changed in place (same id) is not
    answered from what was remembered for it."""
    from guardrails.pack import _POLICIES

    serv = sdk._PolicyAnalyzerServicer(PACK_NAME, "0.0.1", policies(), sdk.EnforcementLevel.ADVISORY)
    requests = _requests(run)
    for request in requests:
        serv.Analyze(request, None)
    every = getattr(serv, _POLICIES)
    del every[::2]  # in place: the servicer keeps the same list object
    for request in requests:
        ours = serv.Analyze(request, None)
        assert _key(ours) == _key(serv.Analyze.__wrapped__(serv, request, None)), request.urn
        assert {na.policy_name for na in ours.not_applicable} <= {p.name for p in every}


def test_concurrent_calls_do_not_share_a_memo(servicer: Any, run: ProgramRun) -> None:
    """The SDK answers calls on a thread pool: each thread's call decodes its own request."""
    requests = _requests(run)
    expected = {r.urn: _key(servicer.Analyze.__wrapped__(servicer, r, None)) for r in requests}
    mismatches: list[str] = []
    barrier = threading.Barrier(4)

    def work(offset: int) -> None:
        barrier.wait()
        for request in requests[offset:] + requests[:offset]:
            if _key(servicer.Analyze(request, None)) != expected[request.urn]:
                mismatches.append(request.urn)

    threads = [threading.Thread(target=work, args=(i * 7,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mismatches == []

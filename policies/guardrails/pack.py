"""Adapter from the registry to ``pulumi_policy``: one Pulumi policy per rule.

Only this module (and ``policies/__main__.py``) imports ``pulumi_policy``. For each call the
adapter turns the engine's arguments into what the pure rules take, and the verdict back into
the engine's vocabulary:

- properties: ``pulumi_policy``'s unknown-checking proxy -> plain wire-form dicts, unknowns kept
  as sentinels (:func:`guardrails.values.to_plain`);
- config: the rule's schema defaults overlaid with what ``Configure`` delivered (so the pack
  behaves the same whether or not the engine applied the defaults);
- the stack environment for prod-only rules (:func:`guardrails.environment.stack_environment`);
- violations -> ``report_violation``; not applicable -> ``args.not_applicable``; a verdict that
  depends on an unknown value and found nothing -> ``UnknownValueError``, which the SDK turns
  into the engine's advisory "can't run policy during preview" diagnostic.

It also makes the SDK decode each resource once per call, and hand a resource only to the policies
whose rule judges its type (:func:`decode_once`): the pack stays one Pulumi policy per rule (ids,
levels and config are what users see), without paying for it 48 times per resource.
"""

from __future__ import annotations

import copy
import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any

import pulumi_policy.policy as _sdk
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import Policy
from pulumi_policy.proxy import UnknownValueError

from .environment import stack_environment
from .model import Context, Rule, StackResource, Verdict
from .registry import all_rules
from .values import UNKNOWN, to_plain

PACK_DESCRIPTION = (
    "Guardrails for private, secure, cost-aware Azure AI serving environments "
    "(PSRule / Checkov / Azure Policy equivalents, evaluated in every plan)."
)


def _finish(verdict: Verdict, args: Any, report: ReportViolation, *, stack: bool) -> None:
    for violation in verdict.violations:
        if stack:
            report(violation.message, violation.urn)
        else:
            report(violation.message, None)
    if verdict.not_applicable is not None and not verdict.violations:
        args.not_applicable(verdict.not_applicable)
    if verdict.undetermined and not verdict.violations:
        raise UnknownValueError(UNKNOWN, verdict.undetermined[0].split("."))


def stack_resource(resource: Any) -> StackResource:
    """A ``pulumi_policy.PolicyResource`` as a plain :class:`StackResource`."""
    parent = getattr(resource, "parent", None)
    opts = getattr(resource, "opts", None)
    return StackResource(
        type=resource.resource_type,
        urn=resource.urn,
        name=resource.name,
        props=to_plain(resource.props),
        parent=parent.urn if parent is not None else getattr(opts, "parent", None),
        dependencies=tuple(d.urn for d in getattr(resource, "dependencies", []) or []),
        property_dependencies={
            k: tuple(d.urn for d in v)
            for k, v in (getattr(resource, "property_dependencies", {}) or {}).items()
        },
        protect=bool(getattr(opts, "protect", False)),
    )


_APPLIES: dict[tuple[str, str], bool] = {}
"""(rule id, resource type) -> ``rule.applies_to(type)``: asked for every resource and policy."""


def _applies(rule: Rule, resource_type: str) -> bool:
    key = (rule.id, resource_type)
    judged = _APPLIES.get(key)
    if judged is None:
        judged = _APPLIES[key] = rule.applies_to(resource_type)
    return judged


def _not_applicable_reason(rule: Rule, resource_type: str) -> str:
    # Said rather than passing silently: compliance reports then count only resources judged.
    return f"{rule.id} does not apply to {resource_type}"


def _resource_validator(rule: Rule):
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if not _applies(rule, args.resource_type):
            args.not_applicable(_not_applicable_reason(rule, args.resource_type))
            return
        ctx = Context(
            dict(args.get_config() or {}), args.resource_type, args.name, args.urn, stack_environment()
        )
        _finish(rule.evaluate(to_plain(args.props), ctx), args, report, stack=False)

    return validate


def _stack_validator(rule: Rule):
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        ctx = Context(dict(args.get_config() or {}), "", "", "", stack_environment())
        resources = [stack_resource(r) for r in args.resources]
        _finish(rule.evaluate(resources, ctx), args, report, stack=True)

    return validate


def _schema(rule: Rule) -> PolicyConfigSchema | None:
    return (
        PolicyConfigSchema(properties={k: dict(v) for k, v in rule.config.items()}) if rule.config else None
    )


def policy(rule: Rule) -> Policy:
    """The Pulumi policy for one rule."""
    common: dict[str, Any] = {
        "name": rule.policy_name,
        "description": rule.description,
        "enforcement_level": EnforcementLevel(rule.level),
        "config_schema": _schema(rule),
        "display_name": f"{rule.id} {rule.title}",
        "severity": Severity(rule.severity),
        "tags": [rule.id, rule.category, *rule.anchors, *(["non-waivable"] if not rule.waivable else [])],
        "remediation_steps": rule.remediation,
        "url": rule.link,
    }
    if rule.scope == "stack":
        return StackValidationPolicy(validate=_stack_validator(rule), **common)
    made = ResourceValidationPolicy(validate=_resource_validator(rule), **common)
    _RULE_OF[made] = rule
    return made


_RULE_OF: weakref.WeakKeyDictionary[Policy, Rule] = weakref.WeakKeyDictionary()
"""The rule of each resource policy :func:`policy` made (see ``_applicable_only``)."""


def policies() -> list[Policy]:
    """One Pulumi policy per registered rule, in catalogue order (and the SDK set to decode once per call)."""
    decode_once()
    return [policy(r) for r in all_rules()]


# --- decoding once per call ------------------------------------------------------------------------
# pulumi_policy (1.21) dispatches an Analyze request to every policy in turn and, for each policy,
# decodes the request again: `unknown_checking_proxy(deserialize_properties(MessageToDict(request.
# properties)))`, plus the provider's properties; AnalyzeStack does it for every resource, per stack
# policy. With 48 policies that decoding was 85 % of the pack's time (benchmarks/RESULTS.md). Within
# one call every policy decodes the same protobuf object, so the three steps are memoised by the
# identity of their input for the duration of that call: every policy still gets exactly what the SDK
# would give it, decoded once. The memo is per thread (the SDK's gRPC server answers calls on a thread
# pool) and is dropped when the call returns; outside a call the functions are the SDK's own.
# Sharing one decoded object between policies is safe because no rule writes to its input: the
# adapter hands each rule a fresh plain copy (`to_plain`).


class _CallMemo(threading.local):
    table: dict[tuple[int, int, tuple[Any, ...]], tuple[Any, Any]] | None = None


_memo = _CallMemo()


def _once_per_call(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(value, *args)``, computed once per (``value`` object, args) within one analyzer call."""

    @functools.wraps(fn)
    def memoised(value: Any, *args: Any, **kwargs: Any) -> Any:
        table = _memo.table
        if table is None or kwargs:
            return fn(value, *args, **kwargs)
        key = (id(fn), id(value), args)
        hit = table.get(key)
        if hit is not None and hit[0] is value:  # the table holds `value`: its id cannot be reused
            return hit[1]
        result = fn(value, *args)
        table[key] = (value, result)
        return result

    memoised.once_per_call = True  # type: ignore[attr-defined]
    return memoised


def _in_call_scope(method: Callable[..., Any], *, applicable_only: bool = False) -> Callable[..., Any]:
    @functools.wraps(method)
    def scoped(self: Any, request: Any, context: Any) -> Any:
        _memo.table = {}
        try:
            if applicable_only:
                return _applicable_only(method, self, request, context)
            return method(self, request, context)
        finally:
            _memo.table = None

    scoped.once_per_call = True  # type: ignore[attr-defined]
    return scoped


_POLICIES = "_PolicyAnalyzerServicer__policies"
"""The SDK servicer's (name-mangled) list of the pack's policies."""


def _applicable_only(method: Callable[..., Any], servicer: Any, request: Any, context: Any) -> Any:
    """The SDK's ``Analyze``, run with only the policies whose rule judges ``request.type``.

    Most rules judge one or two resource types, so most (resource, policy) pairs end in our validator's
    not-applicable answer, after the SDK has built that policy's arguments (options, provider, config)
    for nothing: that was most of Analyze's time. The SDK runs on a copy of the servicer that holds
    the applicable policies (a call must not change what a concurrent call sees); every other enabled
    policy gets exactly the not-applicable entry its validator gives, and the entries keep the SDK's
    order (the pack's policy order). The SDK skips a disabled policy without an entry; so does this.
    Which policies judge a type is worked out once per (policy list, type): ``_triage``.
    """
    every = getattr(servicer, _POLICIES)
    triage = _triage(every, request.type)
    run: list[Any] = []
    skipped: list[tuple[int, Any]] = []  # (policy position, its not-applicable entry)
    for position, pol, entry in triage.policies:
        if entry is None or servicer._get_enforcement_level(pol) == EnforcementLevel.DISABLED:
            run.append(pol)
        else:
            skipped.append((position, entry))
    if not skipped:
        return method(servicer, request, context)
    view = copy.copy(servicer)
    setattr(view, _POLICIES, run)
    response = method(view, request, context)
    entries = [(triage.position_of.get(na.policy_name, -1), na) for na in response.not_applicable]
    entries += skipped
    entries.sort(key=lambda entry: entry[0])
    del response.not_applicable[:]
    response.not_applicable.extend(na for _, na in entries)  # extend copies each message
    return response


class _Triage:
    """For one policy list and one resource type: each policy with its position, and the not-applicable
    entry it answers when its rule does not judge the type (None when it does, or it is not ours)."""

    def __init__(self, every: list[Any], resource_type: str) -> None:
        self.snapshot = tuple(every)  # the policies it was worked out for, in order (see _triage)
        self.position_of = {pol.name: position for position, pol in enumerate(every)}
        self.policies: list[tuple[int, Any, Any]] = []
        for position, pol in enumerate(every):
            rule = _RULE_OF.get(pol)
            entry = None if rule is None or _applies(rule, resource_type) else _sdk.proto.PolicyNotApplicable(
                policy_name=pol.name, reason=_not_applicable_reason(rule, resource_type))
            self.policies.append((position, pol, entry))


_TRIAGE: dict[tuple[int, str], _Triage] = {}
_TRIAGE_LOCK = threading.Lock()


def _triage(every: list[Any], resource_type: str) -> _Triage:
    key = (id(every), resource_type)
    found = _TRIAGE.get(key)
    # Keyed by the list's id: a list changed in place, or another list at a reused id, is worked out afresh.
    if found is None or found.snapshot != tuple(every):
        found = _Triage(every, resource_type)
        with _TRIAGE_LOCK:
            _TRIAGE[key] = found
    return found


class _JsonFormat:
    """``google.protobuf.json_format`` as the SDK's policy module sees it, with MessageToDict memoised."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.MessageToDict = _once_per_call(self._message_to_dict)  # noqa: N815 - the module's name

    def _message_to_dict(self, message: Any, *args: Any) -> Any:
        return self._module.MessageToDict(message, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def decode_once() -> bool:
    """Make the SDK's analyzer decode each resource once per Analyze/AnalyzeStack call, and give a
    resource only to the policies that judge its type (idempotent).

    Returns whether it is in place: False (the SDK's own, slower behaviour, same verdicts) when this
    pulumi_policy does not have the shape it was written against; tests/test_pack_decoding.py pins it.
    """
    servicer = getattr(_sdk, "_PolicyAnalyzerServicer", None)
    needed = ("json_format", "deserialize_properties", "unknown_checking_proxy", "proto", "signature")
    if servicer is None or not all(hasattr(_sdk, n) for n in needed) \
            or not all(hasattr(servicer, m) for m in ("Analyze", "AnalyzeStack", "_get_enforcement_level")) \
            or _POLICIES not in getattr(servicer, "__annotations__", {}):
        return False
    if getattr(servicer.Analyze, "once_per_call", False):
        return True
    _sdk.json_format = _JsonFormat(_sdk.json_format)
    _sdk.deserialize_properties = _once_per_call(_sdk.deserialize_properties)
    _sdk.unknown_checking_proxy = _once_per_call(_sdk.unknown_checking_proxy)
    # Every Analyze call starts by reading `inspect.signature(pulumi.runtime.Settings)` to learn whether
    # this SDK takes an organization: the same answer each time, and a tenth of a small call's time.
    _sdk.signature = functools.lru_cache(maxsize=8)(_sdk.signature)
    servicer.Analyze = _in_call_scope(servicer.Analyze, applicable_only=True)
    servicer.AnalyzeStack = _in_call_scope(servicer.AnalyzeStack)
    return True

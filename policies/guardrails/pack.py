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
"""

from __future__ import annotations

from typing import Any

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


def _resource_validator(rule: Rule):
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            # Say so rather than pass silently: compliance reports then count only resources judged.
            args.not_applicable(f"{rule.id} does not apply to {args.resource_type}")
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
    return ResourceValidationPolicy(validate=_resource_validator(rule), **common)


def policies() -> list[Policy]:
    """One Pulumi policy per registered rule, in catalogue order."""
    return [policy(r) for r in all_rules()]

"""The ai-serving guardrails: a CrossGuard policy pack as a registry of pure rules.

Each rule is a :class:`~guardrails.model.Rule`: a catalogue id (the table in ``policies/README.md``),
a Pulumi policy name, severity, enforcement level, remediation, a link to the public rule it mirrors,
and a pure function over the wire-form properties the engine hands a policy pack. Rules live in
``guardrails/rules/``, one module per id prefix. ``policies/__main__.py`` turns the registry into a
``PolicyPack`` (see :mod:`guardrails.pack`); the tests import rules directly, while the offline
runner (``ai-serving plan``) only talks to the pack over the analyzer protocol, as the engine does.

    from guardrails import all_rules, lookup
    lookup("CS-01").check(props).messages
"""

from __future__ import annotations

from .model import NOT_APPLICABLE, Context, NotApplicable, Rule, StackResource, Verdict, Violation
from .registry import PACK_NAME, all_rules, lookup, non_waivable

__all__ = [
    "NOT_APPLICABLE",
    "PACK_NAME",
    "Context",
    "NotApplicable",
    "Rule",
    "StackResource",
    "Verdict",
    "Violation",
    "all_rules",
    "lookup",
    "non_waivable",
]

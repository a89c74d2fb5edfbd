"""Declaring a rule: the ``@rule`` decorator and links to the public rule sets it mirrors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .model import CATEGORY_LEVEL, Category, Level, Rule, RuleFn, Scope, Severity

_POLICY_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{2,99}$")


def psrule(name: str) -> str:
    """Documentation page of a PSRule for Azure rule (e.g. ``Azure.KeyVault.PurgeProtect``)."""
    return f"https://azure.github.io/PSRule.Rules.Azure/en/rules/{name}/"


def checkov(path: str) -> str:
    """Source of a Checkov check (path below ``checkov/`` in bridgecrewio/checkov)."""
    return f"https://github.com/bridgecrewio/checkov/blob/main/checkov/{path}"


def azure_policy(guid: str) -> str:
    """An Azure Policy built-in definition by its full GUID (AzAdvertizer page)."""
    return f"https://www.azadvertizer.net/azpolicyadvertizer/{guid}.html"


def rule(
    id: str,  # noqa: A002 - the catalogue calls it id
    policy_name: str,
    *,
    title: str,
    description: str,
    severity: Severity,
    category: Category,
    remediation: str,
    link: str,
    anchors: Sequence[str],
    types: Sequence[str],
    scope: Scope = "resource",
    waivable: bool = True,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    level: Level | None = None,
) -> Callable[[RuleFn], Rule]:
    """Turn a pure validation function into a :class:`~guardrails.model.Rule`.

    ``policy_name`` is the Pulumi policy name (``<id>-<slug>``, lower case); ``types`` are the
    type tokens (``fnmatch`` patterns) of the resources the rule judges: for a stack rule, the
    resources its violations are reported against (it may read others to decide). ``level``
    overrides the category's enforcement level.
    """
    if not _POLICY_NAME.match(policy_name) or not policy_name.startswith(id.lower() + "-"):
        raise ValueError(f"policy name {policy_name!r} must be '{id.lower()}-<slug>' in [a-z0-9-]")
    if category not in CATEGORY_LEVEL:  # else a KeyError traceback from the first level lookup, far from here
        raise ValueError(f"{id}: category {category!r} is not one of {', '.join(CATEGORY_LEVEL)} (the category "
                         "decides the rule's enforcement level: security is mandatory, the others advisory)")

    def wrap(fn: RuleFn) -> Rule:
        return Rule(
            id=id,
            policy_name=policy_name,
            title=title,
            description=description,
            severity=severity,
            category=category,
            remediation=remediation,
            link=link,
            anchors=tuple(anchors),
            resource_types=tuple(types),
            fn=fn,
            scope=scope,
            waivable=waivable,
            config=dict(config or {}),
            enforcement=level,
        )

    return wrap

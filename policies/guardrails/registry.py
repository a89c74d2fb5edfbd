"""The registry: every rule of the pack, in catalogue order, and lookups by id or policy name."""

from __future__ import annotations

from functools import cache

from .model import Rule
from .rules import MODULES

PACK_NAME = "ai-serving-guardrails"

_ORDER = ("CS", "DEP", "VMSS", "NET", "KV", "MON", "ST", "ACR", "RBAC", "GEN", "COST")


def _sort_key(rule: Rule) -> tuple[int, int]:
    prefix, _, number = rule.id.partition("-")
    return _ORDER.index(prefix), int(number)


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule, sorted by catalogue id (CS-01 ... GEN-03). Raises on a duplicate id or policy name."""
    rules = sorted((r for module in MODULES for r in module.RULES), key=_sort_key)
    for attr in ("id", "policy_name"):
        values = [getattr(r, attr) for r in rules]
        duplicates = {v for v in values if values.count(v) > 1}
        if duplicates:
            raise ValueError(f"duplicate rule {attr}: {sorted(duplicates)}")
    return tuple(rules)


def lookup(key: str) -> Rule:
    """The rule with catalogue id or policy name ``key`` (case-insensitive); KeyError if none."""
    wanted = key.strip().lower()
    for rule in all_rules():
        if wanted in (rule.id.lower(), rule.policy_name):
            return rule
    raise KeyError(f"no guardrail {key!r}; known: {', '.join(r.id for r in all_rules())}")


def non_waivable() -> frozenset[str]:
    """Ids of the rules no waiver may suppress."""
    return frozenset(r.id for r in all_rules() if not r.waivable)

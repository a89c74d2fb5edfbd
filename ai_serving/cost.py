"""The cost estimate as the tooling computes it: the policy pack's own estimate, over the plan's resources.

The arithmetic lives once, in ``policies/guardrails/cost.py``, because the budget rules must hold under
the real engine too, where this tooling is absent. This module only adapts: plan resources become the
pack's ``StackResource`` records, and the stack file's ``expectedMonthlyTokens`` per deployment are passed
in for the *expected* figure (which the pack, seeing only resources, never computes).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.config import StackConfig

POLICIES = Path(__file__).resolve().parents[1] / "policies"
"""The policy pack's directory; its package ``guardrails`` holds the estimate."""


def _pack() -> Any:
    """The pack's ``guardrails.cost`` module (the pack directory goes on ``sys.path`` once)."""
    if str(POLICIES) not in sys.path:
        sys.path.append(str(POLICIES))
    from guardrails import cost  # type: ignore[import-not-found]

    return cost


def expected_tokens(config: StackConfig | None) -> dict[str, dict[str, int]]:
    """Deployment name -> expected monthly tokens (``input``, ``cachedInput``, ``output``), where declared."""
    if config is None or config.openai is None:
        return {}
    return {d.name: d.expected_monthly_tokens.model_dump(by_alias=True)
            for d in config.openai.deployments if d.expected_monthly_tokens is not None}


def _estimate(resources: Iterable[Mapping[str, Any]], config: StackConfig | None) -> Any:
    """The pack's ``Estimate`` for plan ``resources`` (``{type, urn, name, inputs, ...}`` each)."""
    cost = _pack()
    from guardrails.model import StackResource  # type: ignore[import-not-found]

    stack = [StackResource(type=r["type"], urn=r["urn"], name=r["name"], props=r.get("inputs") or {},
                           parent=r.get("parent"), dependencies=tuple(r.get("dependencies") or ()),
                           protect=bool(r.get("protect")))
             for r in resources if r.get("custom", True)]
    return cost.estimate(stack, expected_tokens(config))


def estimate(resources: Iterable[Mapping[str, Any]], config: StackConfig | None = None) -> dict[str, Any]:
    """The ``cost`` section of plan.json for plan ``resources`` (``{type, urn, name, inputs, ...}`` each)."""
    return _estimate(resources, config).to_json()


def unpriced_committed(resources: Iterable[Mapping[str, Any]], config: StackConfig | None = None
                       ) -> list[dict[str, Any]]:
    """The sized items of the committed cost the price catalogue cannot price (plan.json ``notIncluded``
    rows): what the prod budget rule COST-01 fails closed on (``Estimate.unpriced``)."""
    return [gap.to_json() for gap in _estimate(resources, config).unpriced(_pack().COMMITTED)]


def figure_names() -> tuple[str, str]:
    """The figures a not-included item belongs to, as plan.json's ``notIncluded[].figure`` spells them: the
    pack's ``COMMITTED`` and ``CEILING``."""
    cost = _pack()
    return cost.COMMITTED, cost.CEILING


def sources() -> dict[str, dict[str, Any]]:
    """The price catalogue's sources (id -> document, url, retrieved), for ``ai-serving cost``."""
    return dict(_pack().prices()["sources"])

"""The engine's policy config for deploying one stack: the project's, with the stack's waivers honoured.

``pulumi preview``/``up --policy-pack`` know nothing of ``ai-serving:suppressions``: a mandatory finding the
plan waived would stop the deploy. A policy config sets enforcement levels per policy, not per resource, so
the deploy config runs each policy with a waived mandatory finding advisory for the whole stack (the engine
still reports its findings). That is safe because the plan that writes the file judges per resource, and CI
runs it first and stops on its verdict: any finding of that policy the waivers do not cover fails the plan.
A policy that also has an unwaived mandatory finding stays mandatory, so the file is never more lenient than
the plan's own verdict.

Only this module knows the rule; ``plan --out`` writes its result (``output_folders.DEPLOY_POLICY_CONFIG_FILE``),
the reports say which policies it turns advisory, and the witness deploys with it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

ADVISORY = "advisory"
MANDATORY = "mandatory"


def advisory_at_deploy(policy: Mapping[str, Any] | None) -> list[str]:
    """The pack policies the deploy config turns advisory, sorted: those with a waived mandatory finding in
    ``policy`` (plan.json's ``policy`` section, ``Verdict.to_json()``), and none at all when the plan has an
    unwaived mandatory finding (it fails, so nothing it judged may run more leniently at deploy).

    Only valid waivers reach ``suppressed`` (``verdict.decide``): an expired, too long, too broad or
    forbidden waiver waives nothing, so its policy is not here.
    """
    policy = policy or {}
    waived = {w["policy"] for w in policy.get("suppressed") or [] if w.get("level") == MANDATORY}
    blocking = {v["policy"] for v in policy.get("violations") or [] if v.get("level") == MANDATORY}
    if blocking:
        # A plan that fails turns nothing advisory. Its bookkeeping findings (a retirement waiver that outlives
        # the model, `waiver-outlives-model`) are named after themselves, not the policy they concern, so a
        # per-policy subtraction left DEP-05 advisory at deploy under a waiver the plan had refused (found by
        # review): the file would have been more lenient than the plan.
        return []
    return sorted(waived)


def deploy_policy_config(base: Mapping[str, Any] | None, policy: Mapping[str, Any] | None) -> dict[str, Any]:
    """``base`` (the policy config the plan ran with; None: the pack's defaults) with every policy of
    :func:`advisory_at_deploy` set advisory, its other settings kept: a new config, sharing nothing with
    ``base`` (the plan's config serves every stack of a ``plan --all``).

    An entry may be a level alone (``"mandatory"``) or an object (``enforcementLevel`` and properties), as
    ``--policy-pack-config`` reads it; a policy without an entry gets one, which takes precedence over ``all``.
    """
    config = copy.deepcopy(dict(base or {}))
    for name in advisory_at_deploy(policy):
        entry = config.get(name)
        config[name] = {**(entry if isinstance(entry, Mapping) else {}), "enforcementLevel": ADVISORY}
    return config


def deploy_note(rules: list[str]) -> str:
    """The one line the reports add for a stack whose deploy config turns ``rules`` advisory."""
    return (f"At deploy, {', '.join(rules)} run(s) advisory for the whole stack: the engine's enforcement level "
            "is per policy, not per resource; this plan, which judges each resource, must pass first.")

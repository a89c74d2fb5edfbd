"""plan.json: the machine-readable record of one stack's plan (secrets masked).

Read back, and checked against this shape, by ``documents.read_plan`` (``diff``, ``report``, ``--base``):
a key added here is added to ``documents.PlanFile`` too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import atomic
from ..output_folders import PLAN_FILE
from ..wire import mask_secrets

if TYPE_CHECKING:  # the run is read through its attributes only: reports never load the engine
    from ..engine.runner import ProgramRun


def plan_document(run: ProgramRun, policy: dict[str, Any] | None = None,
                  cost: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plan.json document for ``run`` (the policy verdict when the pack ran, the cost estimate when given)."""
    doc: dict[str, Any] = {
        "project": run.project,
        "stack": run.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "custom": r.custom,
                "parent": r.parent,
                "dependencies": r.dependencies,
                "protect": r.protect,
                "provider": r.provider,
                "inputs": mask_secrets(r.inputs),
            }
            for r in run.resources
        ],
        "outputs": mask_secrets(run.outputs),
    }
    if policy is not None:
        doc["policy"] = policy
    if cost is not None:
        doc["cost"] = cost
    return doc


def write_plan(out_dir: Path, doc: dict[str, Any]) -> Path:
    """Write ``doc`` to ``out_dir/plan.json`` atomically (creating the directory) and return the path."""
    return atomic.write_text(out_dir / PLAN_FILE, json.dumps(doc, indent=2, sort_keys=False) + "\n")

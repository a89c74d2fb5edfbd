"""The CI workflows and composite actions as data, for the workflow tests (one loader, one step walker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))


def load(path: Path) -> dict[str, Any]:
    """A workflow or action file, with YAML 1.1's boolean key `on` given back its name."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc


PR = load(GITHUB / "workflows" / "pull-request.yml")
DEPLOY = load(GITHUB / "workflows" / "deploy.yml")


def steps(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(job id, step) for every step of a workflow or composite action."""
    if "jobs" in doc:
        return [(job_id, step) for job_id, job in doc["jobs"].items() for step in job.get("steps", [])]
    return [("", step) for step in doc["runs"].get("steps", [])]


def uses(step: dict[str, Any], action: str) -> bool:
    """Whether ``step`` runs ``action`` (any ref)."""
    return step.get("uses", "").split("@")[0] == action

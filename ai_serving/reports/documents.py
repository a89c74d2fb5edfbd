"""Reading back the documents this tool writes: ``plan.json`` and ``summary.json``.

``plan.json`` is written by :func:`ai_serving.reports.planfile.plan_document` (one per stack),
``summary.json`` by ``plan --all`` (:mod:`ai_serving.org.plan_all`). ``diff``, ``report`` and
``plan --all --base`` read them back, possibly from a folder someone else wrote or edited: each is
read here, in one place, and checked against the shape below (pydantic, strict types, unknown keys
kept). A file that does not match is one :class:`~ai_serving.outcome.UsageError` naming the file,
the key path, what was expected and what was found (quoted short) -- never a traceback in whatever
reads it next. The readers' callers only see well-formed documents.

What is checked is what the readers rely on: the keys they index and the types they use. A plan's
``inputs`` and ``outputs`` are wire values of any shape (bounded in depth); its ``cost`` is checked
where it is used (:func:`ai_serving.reports.costs.of_plan` leaves a malformed one out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from infra.config.errors import pydantic_problem

from ..json_file import key_path, read_json_file
from ..outcome import Status, UsageError, bounded

MAX_DEPTH = 100
"""How deeply a document's values may nest (plan.json of a real stack nests about 15 levels). Deeper
input is refused when read, so nothing that walks a document recursively can run out of stack."""
MAX_ISSUES = 10
"""Problems listed for one file; the rest are counted."""
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""The largest document read back (a real stack's plan.json is about 120-180 KB; a summary of thousands of
stacks a few MB)."""


class _Shape(BaseModel):
    # Strict: "5" is not a number and 1 is not true. Unknown keys are kept (a newer writer may add some).
    model_config = ConfigDict(strict=True, extra="allow")


# --- plan.json ----------------------------------------------------------------------------------------

class PlanResource(_Shape):
    urn: str
    type: str
    name: str
    custom: bool = False
    parent: str | None = None
    dependencies: list[str] = []
    protect: bool = False
    provider: str | None = None
    inputs: dict[str, Any] | None = None


class Violation(_Shape):
    policy: str
    level: str = ""
    urn: str = ""
    message: str = ""


class Waived(_Shape):
    policy: str
    level: str = ""
    urn: str = ""
    reason: str = ""
    expires: str = ""


class PolicySection(_Shape):
    pack: str | None = None
    violations: list[Violation] = []
    suppressed: list[Waived] = []


class CostLine(_Shape):
    resource: str
    item: str
    committed: float
    ceiling: float


class CostEstimate(_Shape):
    """plan.json's ``cost`` as the report reads it (``ai_serving.cost.estimate`` writes it)."""

    committed: float
    ceiling: float
    expected: float | None = None
    budget: float | None = None
    lines: list[CostLine]
    notIncluded: list[Any] = []  # noqa: N815 - the document's key


class PlanFile(_Shape):
    """plan.json: see ``plan_document``."""

    project: str | None = None
    stack: str | None = None
    resources: list[PlanResource] = []
    outputs: dict[str, Any] | None = None
    policy: PolicySection | None = None
    cost: Any = None
    """Checked (as ``CostEstimate``) where it is read, ``costs.of_plan``: a malformed estimate is left out
    of the report, as an older plan.json's is, rather than refusing the whole file."""


# --- summary.json ---------------------------------------------------------------------------------------

class PolicyInfo(_Shape):
    rule: str | None = None
    description: str | None = None
    level: str | None = None
    remediation: str | None = None
    url: str | None = None


class PackInfo(_Shape):
    name: str | None = None
    version: str | None = None
    policies: dict[str, PolicyInfo] = {}


class StackRow(_Shape):
    stack: str
    resources: int = Field(default=0, ge=0)
    mandatory: int = Field(default=0, ge=0)
    advisory: int = Field(default=0, ge=0)
    waivers: int = Field(default=0, ge=0)
    status: Status = Field(default=Status.OK, strict=False)  # JSON has the value ("ok"), not the enum
    errors: list[str] = []


class CrossTeamRow(_Shape):
    check: str = ""
    level: str = ""
    stacks: list[str] = []
    message: str = ""


class SummaryFile(_Shape):
    """summary.json: see where ``plan_all`` writes it."""

    generated: str = ""
    pack: PackInfo | None = None
    stacks: list[StackRow]
    crossTeam: list[CrossTeamRow] = []  # noqa: N815 - the document's key
    crossTeamChecks: dict[str, str] = {}  # noqa: N815 - the document's key: check -> what it judges


# --- reading ----------------------------------------------------------------------------------------------

def read_plan(path: Path) -> dict[str, Any]:
    """The plan document in ``path``, checked (``UsageError`` naming the file and the problem otherwise)."""
    return _read(path, PlanFile, "plan.json", "a plan document")


def read_summary(path: Path) -> dict[str, Any]:
    """The summary in ``path``, checked (``UsageError`` naming the file and the problem otherwise)."""
    return _read(path, SummaryFile, "summary.json", "the summary `plan --all` writes",
                 hint="; re-run `ai-serving plan --all`")


def _read(path: Path, shape: type[_Shape], what: str, expected: str, hint: str = "") -> dict[str, Any]:
    # Bounded, and only a regular file: a plan.json linked to /dev/zero or a named pipe in a folder
    # someone else wrote must not hang the report or fill the memory.
    doc = read_json_file(path, what=what, max_bytes=MAX_DOCUMENT_BYTES, max_depth=MAX_DEPTH, hint=hint)
    try:
        shape.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        lines = [f"  {key_path(tuple(e['loc'])) or '(the document)'}: {pydantic_problem(e, mapping='an object')}"
                 for e in errors[:MAX_ISSUES]]
        if len(errors) > MAX_ISSUES:
            lines.append(f"  … and {len(errors) - MAX_ISSUES} more problem(s)")
        raise UsageError(bounded(f"{path}: not {expected} ({len(errors)} problem(s)){hint}:\n"
                                 + "\n".join(lines))) from None
    return doc



"""``ai-serving diff``: what changes between two plan output directories (e.g. main vs a PR).

Each directory holds ``<stack>/plan.json`` per stack (as ``plan --all --out`` writes them), or a
single ``plan.json`` (as ``plan STACK --out`` writes it). Resources are matched by URN; a changed
resource lists the input paths that differ (``properties.publicNetworkAccess``,
``privateLinkServiceConnections[0].groupIds[0]``) with old and new values. Values come from
plan.json, where secrets are already ``"[secret]"``; they are masked once more here in case a file
was written by something else, and so is a value or key that looks like key material (a private key, a
token: ``infra.config.errors.SECRETS``, the kinds no message quotes) in an input the program did not mark
secret, e.g. a tag; long values are shortened for the terminal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.config.errors import secret_in

from ..outcome import ExitCode, UsageError
from ..output_folders import PLAN_FILE, SUMMARY_FILE
from ..wire import MASK, is_secret
from .documents import read_plan

ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "(absent)"})()
"""Marks a path that exists on one side only."""


def load_plans(directory: Path) -> dict[str, dict[str, Any]]:
    """Stack name -> plan document for every ``plan.json`` in ``directory`` (or one level below).

    ``directory`` must be a plan output folder: one with a summary.json (``plan --all --out``, whose stacks
    may all have failed before writing a plan) or at least one plan.json. Any other folder (``/``, ``/proc``,
    a typo) is a ``UsageError``: read as one without plans, every stack would show as added or removed.
    """
    if not directory.is_dir():
        raise UsageError(f"{directory}: not a directory of plan outputs")
    plans: dict[str, dict[str, Any]] = {}
    paths = [directory / PLAN_FILE] + sorted(child / PLAN_FILE for child in directory.iterdir() if child.is_dir())
    for path in paths:
        # lexists, not is_file: a plan.json that is a FIFO, a device link or a dangling link is read, so
        # that read_plan names what it is; skipping it would show that stack as removed.
        if not os.path.lexists(path):
            continue
        doc = read_plan(path)  # checked: a file of another shape is a UsageError naming it
        # <dir>/<stack>/plan.json is named by its directory; a lone <dir>/plan.json by its content.
        stack = (doc.get("stack") or path.parent.name) if path.parent == directory else path.parent.name
        plans[stack] = doc
    if not plans and not os.path.lexists(directory / SUMMARY_FILE):
        raise UsageError(f"{directory}: not a plan output folder: it holds no {SUMMARY_FILE}, no {PLAN_FILE} and no "
                         f"<stack>/{PLAN_FILE}; name a folder that `ai-serving plan --all --out` (or "
                         "`plan STACK --out`) wrote")
    return plans


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf paths of a wire value: ``{"a": {"b": [1]}}`` -> ``{"a.b[0]": 1}`` (empty containers kept).

    Secrets and key material are masked here, the one place ``diff``, ``diff --json`` and the report take
    input values from."""
    value = MASK if is_secret(value) else value
    out: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        for key, item in value.items():
            key = masked(key)
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
    else:
        out[prefix] = _normal(masked(value))
    return out


def masked(value: Any) -> Any:
    """``value``, or in place of one that looks like key material the kind it looks like (never the text)."""
    secret = secret_in(value) if isinstance(value, str) else None
    return value if secret is None else f"[{secret.kind}: not shown]"


def _normal(value: Any) -> Any:
    # Wire numbers are floats: 100.0 and 100 are the same input.
    return int(value) if isinstance(value, float) and value.is_integer() else value


@dataclass
class InputChange:
    """One input path whose value differs."""

    path: str
    old: Any = ABSENT
    new: Any = ABSENT

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.old is not ABSENT:
            out["old"] = self.old
        if self.new is not ABSENT:
            out["new"] = self.new
        return out


@dataclass
class ResourceChange:
    """A resource present on both sides whose inputs (or protect flag) differ."""

    urn: str
    type: str
    name: str
    inputs: list[InputChange] = field(default_factory=list)
    protect: tuple[bool, bool] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"urn": self.urn, "type": self.type, "name": self.name,
                               "inputs": [c.to_json() for c in self.inputs]}
        if self.protect is not None:
            out["protect"] = {"old": self.protect[0], "new": self.protect[1]}
        return out


@dataclass
class StackDiff:
    """How one stack's plan differs between base and head."""

    stack: str
    status: str
    """``added``, ``removed``, ``changed`` or ``unchanged``."""
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)
    findings_added: list[dict[str, Any]] = field(default_factory=list)
    findings_resolved: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"stack": masked(self.stack), "status": self.status, "added": self.added, "removed": self.removed,
                "changed": [c.to_json() for c in self.changed], "findingsAdded": self.findings_added,
                "findingsResolved": self.findings_resolved}


@dataclass
class PlanDiff:
    """Every stack's difference; unchanged stacks are kept (status ``unchanged``) for completeness."""

    base: str
    head: str
    stacks: list[StackDiff]

    @property
    def stacks_added(self) -> list[str]:
        return [s.stack for s in self.stacks if s.status == "added"]

    @property
    def stacks_removed(self) -> list[str]:
        return [s.stack for s in self.stacks if s.status == "removed"]

    @property
    def touched(self) -> list[StackDiff]:
        """Stacks that are not unchanged."""
        return [s for s in self.stacks if s.status != "unchanged"]

    def to_json(self) -> dict[str, Any]:
        return {"base": masked(self.base), "head": masked(self.head),
                "stacksAdded": [masked(s) for s in self.stacks_added],
                "stacksRemoved": [masked(s) for s in self.stacks_removed],
                "stacks": [s.to_json() for s in self.stacks]}


def _ref(res: dict[str, Any]) -> dict[str, str]:
    return {"urn": res["urn"], "type": res["type"], "name": res["name"]}


def _findings(doc: dict[str, Any] | None) -> dict[tuple[str, str], dict[str, Any]]:
    policy = (doc or {}).get("policy") or {}
    return {(v.get("policy", ""), v.get("urn", "")): v for v in policy.get("violations") or []}


def diff_resource(old: dict[str, Any], new: dict[str, Any]) -> ResourceChange | None:
    """The input paths (and protect flag) that differ between two versions of one resource."""
    a, b = flatten(old.get("inputs") or {}), flatten(new.get("inputs") or {})
    changes = [InputChange(path, a.get(path, ABSENT), b.get(path, ABSENT))
               for path in sorted(a.keys() | b.keys()) if a.get(path, ABSENT) != b.get(path, ABSENT)]
    protect = (bool(old.get("protect")), bool(new.get("protect")))
    if not changes and protect[0] == protect[1]:
        return None
    return ResourceChange(new["urn"], new["type"], new["name"], changes,
                          protect if protect[0] != protect[1] else None)


def diff_stack(stack: str, base: dict[str, Any] | None, head: dict[str, Any] | None) -> StackDiff:
    """Compare one stack's two plan documents (either may be missing)."""
    old = {r["urn"]: r for r in (base or {}).get("resources", [])}
    new = {r["urn"]: r for r in (head or {}).get("resources", [])}
    status = "added" if base is None else "removed" if head is None else "unchanged"
    result = StackDiff(stack, status)
    result.added = [_ref(r) for urn, r in new.items() if urn not in old]
    result.removed = [_ref(r) for urn, r in old.items() if urn not in new]
    if base is not None and head is not None:
        for urn, r in new.items():
            if urn in old:
                change = diff_resource(old[urn], r)
                if change is not None:
                    result.changed.append(change)
    fa, fb = _findings(base), _findings(head)
    result.findings_added = [fb[k] for k in fb if k not in fa]
    result.findings_resolved = [fa[k] for k in fa if k not in fb]
    if status == "unchanged" and (result.added or result.removed or result.changed
                                  or result.findings_added or result.findings_resolved):
        result.status = "changed"
    return result


def diff_dirs(base_dir: Path, head_dir: Path, *, base: Mapping[str, dict[str, Any]] | None = None,
              head: Mapping[str, dict[str, Any]] | None = None) -> PlanDiff:
    """Compare every stack found in ``base_dir`` and ``head_dir`` (``base``/``head``: their
    :func:`load_plans`, when the caller has read them already; a hundred stacks' plans take 0.15 s a read)."""
    base = load_plans(base_dir) if base is None else base
    head = load_plans(head_dir) if head is None else head
    stacks = [diff_stack(s, base.get(s), head.get(s)) for s in sorted(base.keys() | head.keys())]
    return PlanDiff(str(base_dir), str(head_dir), stacks)


def short(value: Any, limit: int = 100) -> str:
    """A value as JSON text, cut to ``limit`` characters (for terminals and PR comments)."""
    return _cut("(absent)" if value is ABSENT else json.dumps(value, sort_keys=True, default=str), limit)


MAX_LISTED = 200
"""Lines ``diff`` prints per stack for each kind (added, removed, changed, input paths, findings); ``--json``
has them all."""
MAX_NAME_CHARS = 200
"""The longest name, type or input path ``diff`` prints (a plan folder may hold anything)."""


MAX_JSON_CHARS = 16 * 1024 * 1024
"""The largest ``diff --json`` document printed (about 100 times what 100 changed stacks make); a larger one is
a ``UsageError`` rather than tens of megabytes on a terminal or in a log (found by review: 61 MB)."""


def _cut(text: Any, limit: int = MAX_NAME_CHARS) -> str:
    """``text`` on one line (control and invisible characters escaped: a newline in a resource name once
    printed a line of its own, such as a forged "no changes"), cut to ``limit`` characters, the last an
    ellipsis."""
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                   for c in str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listed(items: list[Any]) -> tuple[list[Any], str | None]:
    """The first :data:`MAX_LISTED` of ``items``, and the line that says how many were not printed."""
    more = len(items) - MAX_LISTED
    return items[:MAX_LISTED], (f"      … and {more:,} more (ai-serving diff --json lists them all)" if more > 0
                                else None)


def print_diff(diff: PlanDiff, console: Any) -> None:
    """A readable summary of ``diff`` on a rich console, bounded: names are cut and long lists end in a count."""
    from rich.markup import escape

    touched = diff.touched
    if not touched:
        console.print(f"no changes: {len(diff.stacks)} stack(s) plan the same", markup=False)
        return

    def lines(items: list[Any], show: Callable[[Any], None]) -> None:
        shown, rest = _listed(items)
        for item in shown:
            show(item)
        if rest:
            console.print(rest, markup=False)

    for s in touched[:MAX_LISTED]:
        counts = f"+{len(s.added)} -{len(s.removed)} ~{len(s.changed)}"
        console.print(f"[bold]{escape(_cut(masked(s.stack)))}[/] ({s.status}): {counts}")
        if s.status in ("added", "removed"):
            console.print(f"  {len(s.added) or len(s.removed)} resource(s) {s.status}", markup=False)
            continue
        lines(s.added, lambda r: console.print(f"  [green]+ {escape(_cut(r['type']))}[/] {escape(_cut(r['name']))}"))
        lines(s.removed, lambda r: console.print(f"  [red]- {escape(_cut(r['type']))}[/] {escape(_cut(r['name']))}"))

        def changed(c: ResourceChange) -> None:
            console.print(f"  [yellow]~ {escape(_cut(c.type))}[/] {escape(_cut(c.name))}")
            if c.protect is not None:
                console.print(f"      protect: {c.protect[0]} -> {c.protect[1]}", markup=False)
            lines(c.inputs, lambda ch: console.print(f"      {_cut(ch.path)}: {short(ch.old)} -> {short(ch.new)}",
                                                     markup=False))
        lines(s.changed, changed)
        lines(s.findings_added, lambda f: console.print(f"  [red]new finding[/] {escape(_cut(_finding(f)))}"))
        lines(s.findings_resolved, lambda f: console.print(f"  [green]resolved[/] {escape(_cut(_finding(f)))}"))
    if len(touched) > MAX_LISTED:
        console.print(f"… and {len(touched) - MAX_LISTED:,} more changed stack(s) (ai-serving diff --json lists "
                      "them all)", markup=False)
    unchanged = len(diff.stacks) - len(touched)
    console.print(f"{len(touched)} stack(s) changed ({len(diff.stacks_added)} added, "
                  f"{len(diff.stacks_removed)} removed), {unchanged} unchanged", markup=False)


def _finding(f: dict[str, Any]) -> str:
    return f"{f.get('policy', '')} {f.get('urn', '') or '(stack)'}"


def run(base_dir: Path, head_dir: Path, *, as_json: bool, console: Any) -> int:
    """``ai-serving diff``: print the difference; always exit 0 (a difference is not an error)."""
    diff = diff_dirs(base_dir, head_dir)
    if as_json:
        text = json.dumps(diff.to_json(), indent=2, default=str)
        if len(text) > MAX_JSON_CHARS:
            raise UsageError(f"diff --json: the difference is {len(text) / 1e6:.0f} MB of JSON, over the "
                             f"{MAX_JSON_CHARS // (1024 * 1024)} MiB this prints; compare fewer stacks")
        print(text)
    else:
        print_diff(diff, console)
    return ExitCode.OK

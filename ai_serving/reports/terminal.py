"""Terminal rendering of a plan (rich): the component tree, counts by type, findings and files.

Works from the plan document (what plan.json holds), so it shows exactly what was written.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from infra.config.errors import relative_path

from ..deploy_policy import advisory_at_deploy, deploy_note
from ..verdict import resource_name, rule_id

if TYPE_CHECKING:  # read through its attributes only
    from rich.status import Status as Spinner

    from ..plan import StackOutcome


class PhaseProgress:
    """What ``plan STACK`` is doing during its silent seconds, on stderr.

    On a terminal a spinner names the current step; otherwise (CI logs, pipes) one plain line per
    step, so a log shows where the time went and nothing is redrawn. Use as a context manager and
    pass ``phase`` as ``plan_stack``'s ``on_phase``."""

    def __init__(self, err: Console, stack: str) -> None:
        self.err = err
        self.stack = stack
        self.spinner: Spinner | None = None

    def phase(self, name: str) -> None:
        step = name.split(" (")[0]  # "program under mocks (run_program)" -> "program under mocks"
        text = f"{self.stack}: {step}"
        if not self.err.is_terminal:
            self.err.print(f"plan {text}", markup=False, highlight=False)
        elif self.spinner is None:
            self.spinner = self.err.status(text)
            self.spinner.start()
        else:
            self.spinner.update(text)

    def __enter__(self) -> PhaseProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.spinner is not None:
            self.spinner.stop()
            self.spinner = None


def plan_tree(plan: dict[str, Any]) -> Tree:
    """Components and their children, as the engine's parent links describe them."""
    # Every value is escaped: rich reads "[...]" in a string as markup, and names come from files.
    root = Tree(f"[bold]{escape(str(plan['project']))}[/] / [bold]{escape(str(plan['stack']))}[/]")
    children: dict[str | None, list[dict[str, Any]]] = {}
    for r in plan["resources"]:
        children.setdefault(r["parent"], []).append(r)

    def add(node: Tree, parent: str | None) -> None:
        for r in children.get(parent, []):
            style = "cyan" if not r["custom"] else ("dim" if r["type"].startswith("pulumi:providers:") else "")
            kind, name = escape(str(r["type"])), escape(str(r["name"]))
            label = f"[{style}]{kind}[/] {name}" if style else f"{kind} {name}"
            if r["protect"]:
                label += " [yellow](protected)[/]"
            add(node.add(label), r["urn"])

    add(root, None)
    return root


def counts_table(plan: dict[str, Any]) -> Table:
    """How many resources of each type the stack declares."""
    table = Table(title=f"{escape(str(plan['stack']))}: {len(plan['resources'])} registrations")
    table.add_column("type")
    table.add_column("count", justify="right")
    for token, n in sorted(Counter(r["type"] for r in plan["resources"]).items()):
        table.add_row(escape(str(token)), str(n))
    return table


def print_plan(console: Console, plan: dict[str, Any]) -> None:
    """Print the tree and the counts."""
    console.print(plan_tree(plan))
    console.print(counts_table(plan))


def print_policies(console: Console, pack: dict[str, Any], stack_policies: dict[str, bool]) -> None:
    """The pack's rules (``PolicyPackProcess.describe()``) as a table; ``stack_policies``: name -> stack rule."""
    table = Table(title=f"{escape(str(pack['name']))} {escape(str(pack['version']))}: {len(pack['policies'])} policies")
    for col in ("policy", "level", "kind", "description"):
        table.add_column(col)
    for name, meta in pack["policies"].items():
        table.add_row(escape(name), escape(str(meta["level"])), "stack" if stack_policies.get(name) else "resource",
                      escape(str(meta["description"])))
    console.print(table)


def _short_type(urn: str) -> str:
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1].removeprefix("azure-native:") if len(parts) >= 4 else ""


def finding_text(item: dict[str, Any], pack: dict[str, Any] | None, style: str) -> Text:
    """A finding as the terminal shows it: rule, the resource's short name and type (not its URN),
    the message, and the rule's remediation from the pack."""
    urn = item.get("urn") or ""
    meta = ((pack or {}).get("policies") or {}).get(item.get("policy", "")) or {}
    text = Text("  ")
    text.append(str(item.get("rule", "")), style=style)
    text.append(f" {resource_name(urn)} ({_short_type(urn)})" if urn else " (stack)")
    for line in str(item.get("message", "")).splitlines():
        text.append(f"\n    {line}")
    if meta.get("remediation"):
        text.append("\n    fix: ", style="bold")
        text.append(" ".join(str(meta["remediation"]).split()))
    return text


def outcome_json(outcome: StackOutcome) -> dict[str, Any]:
    """``plan STACK --output json``: the outcome as one JSON document for scripts."""
    v = outcome.verdict
    policies = (outcome.pack or {}).get("policies") or {}

    def finding(item: dict[str, Any]) -> dict[str, Any]:
        meta = policies.get(item.get("policy", "")) or {}
        return {"rule": item.get("rule"), "policy": item.get("policy"), "level": item.get("level"),
                "resource": resource_name(item.get("urn") or "") or None, "urn": item.get("urn") or None,
                "message": item.get("message"), "remediation": meta.get("remediation"), "url": meta.get("url")}

    return {
        "stack": outcome.stack, "status": str(outcome.status.value), "exitCode": int(outcome.exit_code),
        "errors": list(outcome.errors),
        "resources": len(outcome.run.resources) if outcome.run else 0,
        "policyPack": {"name": v.pack} if v is not None else None,
        "mandatory": [finding(i) for i in v.mandatory] if v else [],
        "advisory": [finding(i) for i in v.advisory] if v else [],
        "waived": [dict(i) for i in v.suppressed] if v else [],
        "files": [relative_path(p) for p in outcome.files],
    }


def print_outcome(outcome: StackOutcome, console: Console, err: Console, *, quiet: bool = False) -> int:
    """Print one stack's plan, findings and files; return its exit code."""
    for message in outcome.errors:
        err.print(message, markup=False)
    document = outcome.document
    if document is not None and not quiet:
        print_plan(console, document)
    if document is not None and document.get("cost") is not None:
        from .costs import print_summary

        print_summary(console, document["cost"])
    if document is not None:
        from ..models import catalogue_age_line, deployment_horizons, staleness_warning

        horizons = deployment_horizons(document["resources"], date.today())
        for line in horizons:
            console.print(f"retirement horizon {line}", markup=False)
        if horizons:
            console.print(catalogue_age_line(date.today()), markup=False)
            warning = staleness_warning(date.today())
            if warning:
                err.print(warning, markup=False)
    v = outcome.verdict
    if v is not None:
        for title, items, style in (("mandatory", v.mandatory, "red"), ("advisory", v.advisory, "yellow")):
            if items:
                console.print(f"[bold {style}]{len(items)} {title} violation(s)[/]")
                for item in items:
                    console.print(finding_text(item, outcome.pack, style))
        if v.suppressed:
            console.print(f"[bold]{len(v.suppressed)} waived finding(s)[/]")
            for s in v.suppressed:
                console.print(f"  {s['rule']} {s['urn']} (until {s['expires']}): {s['reason']}", markup=False)
            if deploy := [rule_id(p) for p in advisory_at_deploy(v.to_json())]:
                console.print(f"  {deploy_note(deploy)}", markup=False)
        for w in v.unused_waivers:
            console.print(f"  note: waiver {w['rule']} for {w['resource']!r} matched nothing", markup=False)
        console.print(f"policy pack {v.pack}: {len(v.mandatory)} mandatory, {len(v.advisory)} advisory, "
                      f"{len(v.suppressed)} waived", markup=False)
    for path in outcome.files:
        console.print(f"wrote {path}", markup=False)
    return outcome.exit_code

"""Terminal rendering of a plan (rich): the component tree, counts by type, findings and files.

Works from the plan document (what plan.json holds), so it shows exactly what was written.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

if TYPE_CHECKING:  # read through its attributes only
    from ..plan import StackOutcome


def plan_tree(plan: dict[str, Any]) -> Tree:
    """Components and their children, as the engine's parent links describe them."""
    root = Tree(f"[bold]{plan['project']}[/] / [bold]{plan['stack']}[/]")
    children: dict[str | None, list[dict[str, Any]]] = {}
    for r in plan["resources"]:
        children.setdefault(r["parent"], []).append(r)

    def add(node: Tree, parent: str | None) -> None:
        for r in children.get(parent, []):
            style = "cyan" if not r["custom"] else ("dim" if r["type"].startswith("pulumi:providers:") else "")
            label = f"[{style}]{r['type']}[/] {r['name']}" if style else f"{r['type']} {r['name']}"
            if r["protect"]:
                label += " [yellow](protected)[/]"
            add(node.add(label), r["urn"])

    add(root, None)
    return root


def counts_table(plan: dict[str, Any]) -> Table:
    """How many resources of each type the stack declares."""
    table = Table(title=f"{plan['stack']}: {len(plan['resources'])} registrations")
    table.add_column("type")
    table.add_column("count", justify="right")
    for token, n in sorted(Counter(r["type"] for r in plan["resources"]).items()):
        table.add_row(token, str(n))
    return table


def print_plan(console: Console, plan: dict[str, Any]) -> None:
    """Print the tree and the counts."""
    console.print(plan_tree(plan))
    console.print(counts_table(plan))


def print_policies(console: Console, pack: dict[str, Any], stack_policies: dict[str, bool]) -> None:
    """The pack's rules (``PolicyPackProcess.describe()``) as a table; ``stack_policies``: name -> stack rule."""
    table = Table(title=f"{pack['name']} {pack['version']}: {len(pack['policies'])} policies")
    for col in ("policy", "level", "kind", "description"):
        table.add_column(col)
    for name, meta in pack["policies"].items():
        table.add_row(name, meta["level"], "stack" if stack_policies.get(name) else "resource", meta["description"])
    console.print(table)


def print_outcome(outcome: StackOutcome, console: Console, err: Console, *, quiet: bool = False) -> int:
    """Print one stack's plan, findings and files; return its exit code."""
    for message in outcome.errors:
        err.print(message, markup=False)
    document = outcome.document
    if document is not None and not quiet:
        print_plan(console, document)
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
                    first, _, rest = item["message"].partition("\n")
                    console.print(f"  [{style}]{item['rule']}[/] {item['urn'] or '(stack)'}\n    {first}"
                                  + (f"\n    {rest}" if rest else ""), markup=True)
        if v.suppressed:
            console.print(f"[bold]{len(v.suppressed)} waived finding(s)[/]")
            for s in v.suppressed:
                console.print(f"  {s['rule']} {s['urn']} (until {s['expires']}): {s['reason']}", markup=False)
        for w in v.unused_waivers:
            console.print(f"  note: waiver {w['rule']} for {w['resource']!r} matched nothing", markup=False)
        console.print(f"policy pack {v.pack}: {len(v.mandatory)} mandatory, {len(v.advisory)} advisory, "
                      f"{len(v.suppressed)} waived", markup=False)
    for path in outcome.files:
        console.print(f"wrote {path}", markup=False)
    return outcome.exit_code

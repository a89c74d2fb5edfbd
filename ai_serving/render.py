"""Terminal rendering of a plan: the component tree and counts by type (rich)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from .runner import ProgramRun


def plan_tree(run: ProgramRun) -> Tree:
    """Components and their children, as the engine's parent links describe them."""
    root = Tree(f"[bold]{run.project}[/] / [bold]{run.stack}[/]")
    children: dict[str | None, list] = {}
    for r in run.resources:
        children.setdefault(r.parent, []).append(r)

    def add(node: Tree, parent: str | None) -> None:
        for r in children.get(parent, []):
            style = "cyan" if not r.custom else ("dim" if r.type.startswith("pulumi:providers:") else "")
            label = f"[{style}]{r.type}[/] {r.name}" if style else f"{r.type} {r.name}"
            if r.protect:
                label += " [yellow](protected)[/]"
            add(node.add(label), r.urn)

    add(root, None)
    return root


def counts_table(run: ProgramRun) -> Table:
    """How many resources of each type the stack declares."""
    table = Table(title=f"{run.stack}: {len(run.resources)} registrations")
    table.add_column("type")
    table.add_column("count", justify="right")
    for token, n in sorted(Counter(r.type for r in run.resources).items()):
        table.add_row(token, str(n))
    return table


def print_plan(console: Console, run: ProgramRun) -> None:
    """Print the tree and the counts."""
    console.print(plan_tree(run))
    console.print(counts_table(run))

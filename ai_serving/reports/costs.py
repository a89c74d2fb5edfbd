"""Rendering the cost estimate (plan.json's ``cost``): terminal tables, the explanation, Markdown, deltas.

Reads plan documents only; the figures themselves come from ``policies/guardrails/cost.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def money(value: float | None) -> str:
    """``$1,234.50`` (or ``-`` when there is no figure)."""
    return "-" if value is None else f"${value:,.2f}"


def signed(value: float) -> str:
    """``+$12.00`` / ``-$3.50`` / ``$0.00``."""
    if abs(value) < 0.005:
        return "$0.00"
    return f"{'+' if value > 0 else '-'}${abs(value):,.2f}"


def headline(cost: Mapping[str, Any]) -> str:
    """One line: committed / ceiling (/ expected) per month, the budget, and how much is not included."""
    parts = [f"committed {money(cost['committed'])}", f"ceiling {money(cost['ceiling'])}"]
    if cost.get("expected") is not None:
        parts.append(f"expected {money(cost['expected'])}")
    text = f"cost estimate ({cost['currency']}/month, prices as of {cost['asOf']}): " + " / ".join(parts)
    if cost.get("budget") is not None:
        text += f"; budget {money(cost['budget'])}"
    if cost.get("notIncluded"):
        text += f"; not included: {len(cost['notIncluded'])} item(s)"
    return text


def group_table(cost: Mapping[str, Any]) -> Table:
    """Committed and ceiling per resource group."""
    table = Table(title="monthly estimate by resource group")
    for col in ("resource group", "committed", "ceiling"):
        table.add_column(col, justify="left" if col == "resource group" else "right")
    for group, row in cost["byResourceGroup"].items():
        table.add_row(escape(str(group)) if group else "(none)", money(row["committed"]), money(row["ceiling"]))
    table.add_row("total", money(cost["committed"]), money(cost["ceiling"]), style="bold")
    return table


def print_summary(console: Console, cost: Mapping[str, Any]) -> None:
    """What ``plan STACK`` shows: the headline, the table per resource group, the caveats."""
    console.print(headline(cost), markup=False)
    if cost["byResourceGroup"]:
        console.print(group_table(cost))
    for caveat in cost.get("caveats") or []:
        console.print(f"  note: {caveat}", markup=False)


def _qty(value: float) -> str:
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def explain(console: Console, stack: str, cost: Mapping[str, Any], sources: Mapping[str, Mapping[str, Any]]) -> None:
    """``ai-serving cost STACK``: every line as quantity × unit price = amount, with its source."""
    console.print(f"{stack}: {headline(cost)}", markup=False)
    console.print(f"priced lines ({len(cost['lines'])}), per month:", markup=False)
    for line in cost["lines"]:
        price = f"${line['unitPrice']:g}/{line['unit']}"
        console.print(f"  {line['resource']}: {line['item']}" + (f" ({line['note']})" if line.get("note") else ""),
                      markup=False)
        figures = [f"committed {_qty(line['committedQuantity'])} × {price} = {money(line['committed'])}",
                   f"ceiling {_qty(line['ceilingQuantity'])} × {price} = {money(line['ceiling'])}"]
        if "expectedQuantity" in line:
            figures.append(f"expected {_qty(line['expectedQuantity'])} × {price} = {money(line['expected'])}")
        console.print(f"    {'; '.join(figures)} [source: {line['source']}]", markup=False)
    if cost["notIncluded"]:
        console.print(f"not included ({len(cost['notIncluded'])}):", markup=False)
        for gap in cost["notIncluded"]:
            console.print(f"  {gap['resource']}: {gap['item']}: {gap['reason']}", markup=False)
    for caveat in cost.get("caveats") or []:
        console.print(f"note: {caveat}", markup=False)
    used = sorted({line["source"] for line in cost["lines"]})
    if used:
        console.print("sources:", markup=False)
        for key in used:
            src = sources.get(key) or {}
            where = src.get("url") or ""
            if src.get("repository"):  # a repository is cited by path (and commit), so the figure can be re-read
                where = f"github:{src['repository']}:{src.get('path', '')}" + (
                    f"@{src['commit']}" if src.get("commit") else "")
            console.print(f"  {key}: {' '.join(str(src.get('document', '')).split())} {where} "
                          f"(read {src.get('retrieved', '?')})".rstrip(), markup=False)


def of_plan(plan: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A plan document's ``cost`` when it has the estimate's shape (a hand-edited or older plan.json may not:
    then it is left out, not an error)."""
    from pydantic import ValidationError

    from .documents import CostEstimate

    cost = (plan or {}).get("cost")
    try:
        CostEstimate.model_validate(cost)
    except ValidationError:
        return None
    return cost


def line_delta(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Per line (resource + item), the change in committed and ceiling from ``base`` to ``head``."""
    def keyed(cost: Mapping[str, Any] | None) -> dict[tuple[str, str], Mapping[str, Any]]:
        return {(line["resource"], line["item"]): line for line in (cost or {}).get("lines", [])}

    old, new = keyed(base), keyed(head)
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        d_committed = (b["committed"] if b else 0.0) - (a["committed"] if a else 0.0)
        d_ceiling = (b["ceiling"] if b else 0.0) - (a["ceiling"] if a else 0.0)
        if abs(d_committed) >= 0.005 or abs(d_ceiling) >= 0.005:
            out.append({"resource": key[0], "item": key[1], "committed": round(d_committed, 2),
                        "ceiling": round(d_ceiling, 2), "change": "added" if a is None else
                        ("removed" if b is None else "changed")})
    return out


def org_table(rows: list[dict[str, Any]]) -> Table:
    """``plan --all``: committed and ceiling per stack, per team, per cost center, and the total.

    ``rows``: ``{stack, team, costCenter, cost}`` per planned stack (``cost`` None when it did not plan)."""
    table = Table(title="monthly cost estimate (USD, list prices)")
    for col in ("scope", "name", "committed", "ceiling"):
        table.add_column(col, justify="right" if col in ("committed", "ceiling") else "left")
    for scope, key in (("stack", "stack"), ("team", "team"), ("cost center", "costCenter")):
        sums: dict[str, list[float]] = {}
        for row in rows:
            if row.get("cost") is None:
                continue
            acc = sums.setdefault(str(row.get(key) or "?"), [0.0, 0.0])
            acc[0] += row["cost"]["committed"]
            acc[1] += row["cost"]["ceiling"]
        for name, (committed, ceiling) in sorted(sums.items()):
            table.add_row(scope, escape(name), money(round(committed, 2)), money(round(ceiling, 2)))
    committed = sum(r["cost"]["committed"] for r in rows if r.get("cost") is not None)
    ceiling = sum(r["cost"]["ceiling"] for r in rows if r.get("cost") is not None)
    table.add_row("total", "", money(round(committed, 2)), money(round(ceiling, 2)), style="bold")
    return table

"""Rendering the cost estimate (plan.json's ``cost``): terminal tables, the explanation, Markdown, deltas.

Reads plan documents only; the figures themselves come from ``policies/guardrails/cost.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..cost import figure_names


def money(value: float | None) -> str:
    """``$1,234.50`` (or ``-`` when there is no figure)."""
    return "-" if value is None else f"${value:,.2f}"


def signed(value: float) -> str:
    """``+$12.00`` / ``-$3.50`` / ``$0.00``."""
    if abs(value) < 0.005:
        return "$0.00"
    return f"{'+' if value > 0 else '-'}${abs(value):,.2f}"


COMMITTED, CEILING = figure_names()
"""The figures (plan.json ``notIncluded[].figure``), named once, by the pack."""


def unpriced(cost: Mapping[str, Any] | None, figure: str) -> list[Mapping[str, Any]]:
    """The sized items ``figure`` leaves out for want of a price (``Estimate.unpriced`` over plan.json): a
    committed item is missing from the ceiling too. Such a figure is a lower bound, never a total."""
    figures = (COMMITTED,) if figure == COMMITTED else (COMMITTED, CEILING)
    return [gap for gap in (cost or {}).get("notIncluded") or []
            if isinstance(gap, Mapping) and gap.get("sized") and gap.get("figure") in figures]


def at_least(value: float, missing: int) -> str:
    """``$1,234.50``, or ``≥ $1,234.50 (+2 unpriced)`` when ``missing`` sized items are left out of it."""
    return f"≥ {money(value)} (+{missing} unpriced)" if missing else money(value)


def figure(cost: Mapping[str, Any], name: str) -> str:
    """A stack's committed or ceiling figure as :func:`at_least` shows it."""
    return at_least(cost[name], len(unpriced(cost, name)))


def delta(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, name: str) -> float | None:
    """How much ``name`` (committed / ceiling) changes from ``old`` to ``new``; None when that is unknown: the
    unpriced items differ, so the priced difference would show a newly unpriced item as a saving."""
    def keys(cost: Mapping[str, Any] | None) -> set[tuple[str, str]]:
        return {(str(gap.get("resource")), str(gap.get("item"))) for gap in unpriced(cost, name)}

    if keys(old) != keys(new):
        return None
    return round((new or {}).get(name, 0.0) - (old or {}).get(name, 0.0), 2)


def signed_or_unknown(value: float | None) -> str:
    """:func:`signed`, or ``unknown`` when the change cannot be told (:func:`delta`)."""
    return "unknown" if value is None else signed(value)


def price_dates(cost: Mapping[str, Any]) -> str:
    """``prices of 2026-07-15 to 2026-10-06`` (the oldest and newest price its lines use, plan.json
    ``pricesOf``), or the catalogue's date for an estimate without lines or from an older plan.json."""
    dates = cost.get("pricesOf") or []
    if len(dates) == 2 and dates[0] != dates[1]:
        return f"prices of {dates[0]} to {dates[1]}"
    return f"prices as of {dates[0] if dates else cost.get('asOf', '?')}"


def headline(cost: Mapping[str, Any]) -> str:
    """One line: committed / ceiling (/ expected) per month, the budget, and how much is not included."""
    parts = [f"committed {figure(cost, COMMITTED)}", f"ceiling {figure(cost, CEILING)}"]
    if cost.get("expected") is not None:
        parts.append(f"expected {money(cost['expected'])}")
    text = f"cost estimate ({cost['currency']}/month, {price_dates(cost)}): " + " / ".join(parts)
    if cost.get("budget") is not None:
        text += f"; budget {money(cost['budget'])}"
    if cost.get("notIncluded"):
        text += f"; not included: {len(cost['notIncluded'])} item(s)"
    return text


def group_table(cost: Mapping[str, Any]) -> Table:
    """Committed and ceiling per resource group (``≥ $X (+N unpriced)`` where sized items have no price)."""
    table = Table(title="monthly estimate by resource group")
    for col in ("resource group", "committed", "ceiling"):
        table.add_column(col, justify="left" if col == "resource group" else "right")
    for group, row in cost["byResourceGroup"].items():
        gaps = {name: [g for g in unpriced(cost, name) if g.get("resourceGroup") == group]
                for name in (COMMITTED, CEILING)}
        table.add_row(escape(str(group)) if group else "(none)", at_least(row["committed"], len(gaps[COMMITTED])),
                      at_least(row["ceiling"], len(gaps[CEILING])))
    table.add_row("total", figure(cost, COMMITTED), figure(cost, CEILING), style="bold")
    return table


def print_summary(console: Console, cost: Mapping[str, Any]) -> None:
    """What ``plan STACK`` shows: the headline, the table per resource group, the caveats."""
    console.print(headline(cost), markup=False)
    if cost["byResourceGroup"]:
        console.print(group_table(cost))
    for caveat in cost.get("caveats") or []:
        console.print(f"  note: {caveat}", markup=False)


def _qty(value: float, unit: str = "") -> str:
    """A quantity; in millions (``1,314M tokens``) when the unit is a million of something."""
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return f"{text}M {unit.removeprefix('1M ')}" if unit.startswith("1M ") else text


def explain(console: Console, stack: str, cost: Mapping[str, Any], sources: Mapping[str, Mapping[str, Any]]) -> None:
    """``ai-serving cost STACK``: every line as quantity × unit price = amount, with its source."""
    console.print(f"{stack}: {headline(cost)}", markup=False)
    console.print(f"priced lines ({len(cost['lines'])}), per month:", markup=False)
    for line in cost["lines"]:
        price = f"${line['unitPrice']:g}/{line['unit']}"
        console.print(f"  {line['resource']}: {line['item']}" + (f" ({line['note']})" if line.get("note") else ""),
                      markup=False)
        unit = line["unit"]
        figures = [f"committed {_qty(line['committedQuantity'], unit)} × {price} = {money(line['committed'])}",
                   f"ceiling {_qty(line['ceilingQuantity'], unit)} × {price} = {money(line['ceiling'])}"]
        if "expectedQuantity" in line:
            figures.append(f"expected {_qty(line['expectedQuantity'], unit)} × {price} = {money(line['expected'])}")
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


NOW_NOT_INCLUDED, NOW_PRICED = "now not included", "now priced"
"""``line_delta``'s change of an unpriced item that appears or goes (its Δ columns are None: unknown)."""


def line_delta(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Per line (resource + item), the change in committed and ceiling from ``base`` to ``head``; and per
    sized item newly unpriced (``now not included: <reason>``) or no longer (``now priced``), with unknown
    (None) changes: a line that drops out for want of a price is not a saving."""
    def keyed(cost: Mapping[str, Any] | None) -> dict[tuple[str, str], Mapping[str, Any]]:
        return {(line["resource"], line["item"]): line for line in (cost or {}).get("lines", [])}

    def gaps(cost: Mapping[str, Any] | None) -> dict[tuple[str, str], Mapping[str, Any]]:
        return {(str(gap.get("resource")), str(gap.get("item"))): gap for gap in unpriced(cost, CEILING)}

    old, new = keyed(base), keyed(head)
    out: list[dict[str, Any]] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        d_committed = (b["committed"] if b else 0.0) - (a["committed"] if a else 0.0)
        d_ceiling = (b["ceiling"] if b else 0.0) - (a["ceiling"] if a else 0.0)
        if abs(d_committed) >= 0.005 or abs(d_ceiling) >= 0.005:
            out.append({"resource": key[0], "item": key[1], "committed": round(d_committed, 2),
                        "ceiling": round(d_ceiling, 2), "change": "added" if a is None else
                        ("removed" if b is None else "changed")})
    was, now = gaps(base), gaps(head)
    for key in sorted(set(was) ^ set(now)):
        gap = now.get(key)
        change = f"{NOW_NOT_INCLUDED}: {gap.get('reason')}" if gap else NOW_PRICED
        out.append({"resource": key[0], "item": key[1], "committed": None, "ceiling": None, "change": change})
    return out


def org_table(rows: list[dict[str, Any]]) -> Table:
    """``plan --all``: committed and ceiling per stack, per team, per cost center, and the total, with what is
    not included; a figure that leaves out sized items it cannot price shows as ``≥ $X`` (the "not included"
    column says how many are unpriced), and the caption says how many stacks are incomplete.

    ``rows``: ``{stack, team, costCenter, cost}`` per planned stack (``cost`` None when it did not plan)."""
    planned = [row for row in rows if row.get("cost") is not None]
    incomplete = sum(1 for row in planned if unpriced(row["cost"], CEILING))
    table = Table(title="monthly cost estimate (USD, list prices)",
                  caption=f"≥: {incomplete} stack(s) with sized items the catalogue cannot price (not counted); "
                          "`ai-serving cost STACK` lists them" if incomplete else None)
    for col in ("scope", "name", "committed", "ceiling", "not included"):
        # A name is folded onto more lines, never cut short with an ellipsis: in a narrow terminal (a CI log
        # is 80 columns) the cost center or stack would be hidden, and with it what the row is about.
        table.add_column(col, justify="left" if col in ("scope", "name") else "right",
                         overflow="fold" if col == "name" else "ellipsis")

    def sums(group: list[dict[str, Any]]) -> list[str]:
        cells = [("≥ " if any(unpriced(r["cost"], name) for r in group) else "")
                 + money(round(sum(r["cost"][name] for r in group), 2)) for name in (COMMITTED, CEILING)]
        missing = sum(len(unpriced(r["cost"], CEILING)) for r in group)
        listed = sum(len(r["cost"].get("notIncluded") or []) for r in group)
        return [*cells, f"{listed} ({missing} unpriced)" if missing else str(listed)]

    for scope, key in (("stack", "stack"), ("team", "team"), ("cost center", "costCenter")):
        by: dict[str, list[dict[str, Any]]] = {}
        for row in planned:
            by.setdefault(str(row.get(key) or "?"), []).append(row)
        for name, group in sorted(by.items()):
            table.add_row(scope, escape(name), *sums(group))
    table.add_row("total", "", *sums(planned), style="bold")
    return table

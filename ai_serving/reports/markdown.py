"""``ai-serving report``: one Markdown document for a pull-request comment.

Reads a plan output directory (``summary.json`` from ``plan --all`` and ``<stack>/plan.json`` per
stack; without ``summary.json`` the table is derived from the plan files) and writes
``report.md`` in the order a reviewer needs it: the verdict; a loud warning for protected or
locked resources the change would delete or replace; what fails (mandatory findings with their
remediation, config errors, cross-team findings); what the PR changes (with a base directory:
resources added, changed and removed, findings introduced and resolved, expanded); the stacks
table (failing and changed stacks, the unchanged passing ones as one line with a count); then one
collapsible section per stack with its findings and waivers first and its inventory (counts by
type, Mermaid diagrams) last. Top-level blocks are separated by ``CUT``, where CI may cut the
comment without landing inside a collapsed section.

GitHub rejects comments over 65,536 characters, so the report stays within ``BUDGET``. Sections
come in order of interest: failing stacks, then those the PR changes, then the rest. When the
whole document is too long, passing unchanged stacks lose their counts table and diagram (all
stacks do if the interesting ones alone are too long), then sections are left out from the end
with a note; the summary table keeps every stack as long as it fits. The complete document then
goes to ``report-full.md`` beside it (for the CI artefact).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from .. import arm, atomic
from ..deploy_policy import advisory_at_deploy, deploy_note
from ..outcome import ExitCode, Status, UsageError
from ..outcome import bounded as bounded_text
from ..output_folders import REPORT_FILE, REPORT_FULL_FILE, SUMMARY_FILE
from ..verdict import resource_name, rule_id
from . import costs, diagram
from .diff import PlanDiff, diff_dirs, load_plans, masked, short
from .documents import read_summary

GITHUB_COMMENT_LIMIT = 65_536
BUDGET = 60_000
"""Characters report.md may use: the comment limit less room for what CI wraps around it."""
MAX_FINDINGS = 60
"""Finding rows per stack before the rest are summarised (a broken stack can yield hundreds)."""
MAX_DIFF_LINES = 40
"""Changed-input lines per stack in the "What this PR changes" section."""
STATUS_ICON = {Status.OK: "✅", Status.POLICY_FAILED: "❌", Status.INVALID_CONFIG: "⚠️", Status.ERROR: "💥"}
STATUS_RANK = {Status.ERROR: 0, Status.INVALID_CONFIG: 1, Status.POLICY_FAILED: 2, Status.OK: 3}
LOCK_PREFIX = "azure-native:authorization:ManagementLock"
CUT = "<!-- ai-serving:cut -->"
"""Marks a boundary between top-level blocks (never inside <details>): the PR workflow's fallback
cut searches for it."""
MAX_ERROR_LINE_CHARS = 300
"""The longest line of a stack's config error quoted in "What fails"."""
MAX_FINDING_CHARS = 2000
"""The longest cross-team finding message quoted in "What fails"."""
MAX_NAMED_STACKS = 20
"""Stacks named per cross-team finding in "What fails" (the cross-team table has them all)."""
MAX_FAILURES = 12
"""Mandatory findings per stack in "What fails" (the stack's section lists them all)."""
REPLACING_INPUTS = ("location", "resourceGroupName")
"""Inputs ARM cannot change in place (with each type's name input): a change replaces the resource."""


# --- inputs ---------------------------------------------------------------------------------------

def load_summary(out_dir: Path, plans: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``summary.json`` if present (it names the stacks: plan dirs it does not list are stale);
    else a summary derived from the plan files."""
    path = out_dir / SUMMARY_FILE
    summary: dict[str, Any] = {}
    if os.path.lexists(path):  # not is_file: a summary.json that is a FIFO or a device link is named, not skipped
        summary = read_summary(path)  # checked: a file of another shape is a UsageError naming it
        rows = {row["stack"]: row for row in summary["stacks"]}
    else:
        # Without summary.json nobody knows which stack files exist: plan files alone cannot show a
        # stack that was never planned, so such a report is never green (see verdict_line).
        rows = {stack: _derived_row(stack, plan) for stack, plan in plans.items()}
        summary["incomplete"] = (f"no {path.name} in {out_dir.name}/: `plan --all` did not finish, so stacks "
                                 "that were not planned are missing from this report")
    summary["stacks"] = [rows[s] for s in sorted(rows)]
    summary.setdefault("crossTeam", [])
    summary.setdefault("pack", _derived_pack(plans))
    summary.setdefault("generated", date.today().isoformat())
    return summary


def _derived_row(stack: str, plan: dict[str, Any]) -> dict[str, Any]:
    policy = plan.get("policy") or {}
    violations = policy.get("violations") or []
    mandatory = sum(1 for v in violations if v.get("level") == "mandatory")
    # Named as load_plans named it (the folder): a plan.json need not say its stack.
    return {"stack": stack, "resources": len(plan.get("resources") or []), "mandatory": mandatory,
            "advisory": len(violations) - mandatory, "waivers": len(policy.get("suppressed") or []),
            "status": (Status.POLICY_FAILED if mandatory else Status.OK).value, "errors": []}


def _derived_pack(plans: dict[str, dict[str, Any]]) -> dict[str, Any]:
    name = next(((p.get("policy") or {}).get("pack") for p in plans.values() if p.get("policy")), None)
    return {"name": name, "version": None, "policies": {}}


# --- Markdown helpers -----------------------------------------------------------------------------

def cell(value: Any) -> str:
    """``value`` as one Markdown table cell: no pipes or raw HTML, newlines as <br>, never key material."""
    text = masked(str(value if value is not None else ""))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return "<br>".join(line.strip() for line in text.strip().splitlines()) or " "


_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
"""What ends a line somewhere (str.splitlines' separators): in a value, it would end the code span or the row."""
MAX_CODE_CHARS = 300
"""The longest value shown as inline code (a name, a type, a rule): a longer one is cut, saying so."""
_DOC_LINK = re.compile(r"https://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+")
"""A policy's documentation URL as it may appear as a link target (no spaces, parentheses or markup)."""


def code(value: Any, *, in_table: bool = True) -> str:
    """Inline code that survives backticks and line breaks in the value (and pipes, inside a table).

    The values come from files another run (or anyone) wrote: a newline would end the code span and start
    Markdown of the value's own (a heading, raw HTML, an unterminated comment that hides the rest). Key
    material is never shown (``diff.masked``)."""
    text = bounded_text(_LINE_BREAKS.sub(" ", masked(str(value))), MAX_CODE_CHARS).replace("`", "'")
    if in_table:
        text = text.replace("|", "\\|")
    return f"`{text}`"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _type_of_urn(urn: str) -> str:
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""


def _short_type(token: str) -> str:
    return token.removeprefix("azure-native:")


# --- sections ---------------------------------------------------------------------------------------

def verdict_line(summary: dict[str, Any]) -> str:
    rows = summary["stacks"]
    failing = [r for r in rows if r.get("status") != Status.OK]
    cross = summary.get("crossTeam") or []
    cross_mandatory = [c for c in cross if c.get("level") == "mandatory"]
    advisory = sum(r.get("advisory", 0) for r in rows) + len(cross) - len(cross_mandatory)
    waivers = sum(r.get("waivers", 0) for r in rows)
    extra = f" ({advisory} advisory finding(s), {waivers} waiver(s))"
    if summary.get("incomplete"):
        return f"## ❌ ai-serving plan incomplete: {summary['incomplete']}\n"
    if failing or cross_mandatory:
        parts = []
        if failing:
            parts.append(f"{len(failing)} of {len(rows)} stack(s) fail")
        if cross_mandatory:
            parts.append(f"{len(cross_mandatory)} mandatory cross-team finding(s)")
        return f"## ❌ ai-serving plan: {', '.join(parts)}{extra}\n"
    return f"## ✅ ai-serving plan: all {len(rows)} stack(s) pass{extra}\n"


def header(summary: dict[str, Any]) -> str:
    pack = summary.get("pack") or {}
    bits = [f"generated {cell(bounded_text(str(summary.get('generated')), 100))}"]
    if pack.get("name"):
        version = f" {code(pack['version'], in_table=False)}" if pack.get("version") else ""
        bits.append(f"policy pack {code(pack['name'])}{version}")
    else:
        bits.append("policy pack not run")
    return verdict_line(summary) + "\n<sub>" + " · ".join(bits) + "</sub>\n"


def summary_table(summary: dict[str, Any], budget: int, changed: set[str] | None = None) -> str:
    """Failing and changed stacks one row each; the passing unchanged ones as one line with a count."""
    everything = summary["stacks"]
    rows = [r for r in everything if r.get("status") != Status.OK or r["stack"] in (changed or set())]
    quiet = [r["stack"] for r in everything if r not in rows]

    def render(selected: list[dict[str, Any]]) -> str:
        return table(["stack", "resources", "mandatory", "advisory", "waivers", "status"], [
            [code(r["stack"]), r.get("resources", 0), r.get("mandatory", 0), r.get("advisory", 0),
             r.get("waivers", 0), f"{STATUS_ICON.get(str(r.get('status')), '❔')} {cell(r.get('status'))}"]
            for r in selected])

    text = render(rows)
    if len(text) > budget:  # hundreds of stacks: list the ones that need attention, count the rest
        failing = [r for r in rows if r.get("status") != Status.OK]
        lines = render(failing).splitlines(keepends=True)
        text = "".join(lines[:2]) + _fit(lines[2:], budget, "failing stack row(s)")
        text += f"\n{len(rows) - len(failing)} passing stack(s) not listed (size limit).\n"
    if not rows:
        text = ""
    if quiet:
        names = ", ".join(code(q, in_table=False) for q in quiet[:30]) + (", …" if len(quiet) > 30 else "")
        kind = ("unchanged " if changed is not None else "") + ("other stack(s)" if rows else "stack(s)")
        text += f"\n✅ {len(quiet)} {kind} pass: {names}\n"
    return "\n### Stacks\n\n" + text


def cross_team(summary: dict[str, Any], budget: int) -> str:
    findings = summary.get("crossTeam") or []
    if not findings:
        # The checks plan --all ran (crossteam.CHECKS, via summary.json): an older summary does not say.
        ran = ", ".join(cell(what) for what in (summary.get("crossTeamChecks") or {}).values())
        return f"\n### Cross-team checks\n\nNo findings{f' ({ran})' if ran else ''}.\n"
    rows = [[("❌ " if f.get("level") == "mandatory" else "⚠️ ") + cell(f.get("level")),
             code(f.get("check", "")), ", ".join(code(s) for s in f.get("stacks") or []) or " ",
             cell(f.get("message"))]
            for f in sorted(findings, key=lambda f: (f.get("level") != "mandatory", f.get("check", "")))]
    text = table(["level", "check", "stacks", "message"], rows)
    if len(text) > budget:
        lines = text.splitlines(keepends=True)
        text = "".join(lines[:2]) + _fit(lines[2:], budget, "cross-team finding(s)")
    return "\n### Cross-team findings\n\n" + text


COST_ROWS_SHOWN = 10
"""Stacks whose estimate a change moves, shown above the fold; the rest, and every line, are collapsed."""


def cost_section(plans: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]] | None, budget: int) -> str:
    """The org's monthly estimate and, with a base, what the change adds (+$/month by stack and line).

    Visible: one line of totals and (with a base) the stacks whose estimate changes, at most
    ``COST_ROWS_SHOWN``; each stack's figures and the per-line deltas are collapsed below, so a report of
    many stacks still shows what fails above the fold."""
    names = sorted(n for n in set(plans) | set(base or {}) if costs.of_plan(plans.get(n)) or
                   costs.of_plan((base or {}).get(n)))
    if not names:
        return ""
    head = ["stack", "committed", "ceiling", "expected", "budget", "not included"]
    if base is not None:
        head += ["Δ committed", "Δ ceiling"]
    rows, moved, deltas = [], [], []
    totals = {"committed": 0.0, "ceiling": 0.0, "d_committed": 0.0, "d_ceiling": 0.0}
    incomplete, unknown = [], []  # stacks whose figures leave sized items out; whose change cannot be told
    for name in names:
        cost, old = costs.of_plan(plans.get(name)), costs.of_plan((base or {}).get(name))
        row = [code(name)] + ([costs.figure(cost, costs.COMMITTED), costs.figure(cost, costs.CEILING),
                               costs.money(cost.get("expected") if isinstance(cost.get("expected"), (int, float))
                                           else None),
                               costs.money(cost.get("budget") if isinstance(cost.get("budget"), (int, float))
                                           else None),
                               str(len(cost.get("notIncluded") or []))] if cost else ["-"] * 5)
        totals["committed"] += (cost or {}).get("committed", 0.0)
        totals["ceiling"] += (cost or {}).get("ceiling", 0.0)
        if costs.unpriced(cost, costs.CEILING):
            incomplete.append(name)
        if base is not None:
            d_committed, d_ceiling = (costs.delta(old, cost, costs.COMMITTED), costs.delta(old, cost, costs.CEILING))
            if d_committed is None or d_ceiling is None:
                unknown.append(name)
            totals["d_committed"] += d_committed or 0.0
            totals["d_ceiling"] += d_ceiling or 0.0
            shown = [costs.signed_or_unknown(d_committed), costs.signed_or_unknown(d_ceiling)]
            row += shown
            changed = costs.line_delta(old, cost)
            if changed or name in unknown or abs(d_committed or 0) >= 0.005 or abs(d_ceiling or 0) >= 0.005:
                moved.append([code(name), *shown])
            if changed:
                deltas.append((name, changed))
        rows.append(row)
    short = {fig: "≥ " if any(costs.unpriced(costs.of_plan(plans.get(n)), fig) for n in names) else ""
             for fig in (costs.COMMITTED, costs.CEILING)}
    line = (f"{len(names)} stack(s): committed **{short[costs.COMMITTED]}{costs.money(round(totals['committed'], 2))}"
            f"** / ceiling **{short[costs.CEILING]}{costs.money(round(totals['ceiling'], 2))}** per month")
    if base is not None:
        line += (f"; this change: **{costs.signed(totals['d_committed'])}** committed / "
                 f"**{costs.signed(totals['d_ceiling'])}** ceiling per month")
        if unknown:
            line += (f" in the other stacks, and **unknown** in {len(unknown)} whose unpriced items change ("
                     + ", ".join(code(n, in_table=False) for n in unknown[:MAX_NAMED_STACKS])
                     + (", …" if len(unknown) > MAX_NAMED_STACKS else "") + ")")
    if incomplete:
        line += (f". ≥: {len(incomplete)} stack(s) have sized items the price catalogue cannot price, not counted "
                 "(`ai-serving cost STACK` lists them)")
    out = ["\n### Cost estimate (USD per month, list prices)\n", line + ".\n"]
    if base is not None:
        if moved:
            shown = table(["stack", "Δ committed", "Δ ceiling"], moved[:COST_ROWS_SHOWN])
            if len(moved) > COST_ROWS_SHOWN:
                shown += f"\n… and {len(moved) - COST_ROWS_SHOWN} more stack(s) whose estimate changes (below).\n"
            out.append(shown)
        else:
            out.append("This change does not change any stack's cost estimate.\n")
    body = ["*Committed* runs whatever the traffic; *ceiling* is the GPU pool at its maximum and every standard "
            "deployment at full capacity around the clock (an upper bound). `ai-serving cost STACK` explains every "
            "line and what is not included.\n", table(head, rows)]
    parts = [f"\n**{code(name, in_table=False)}**: what this change adds per month\n\n" + table(
        ["resource", "line", "change", "Δ committed", "Δ ceiling"],
        [[code(d["resource"]), cell(d["item"]), cell(d["change"]), costs.signed_or_unknown(d["committed"]),
          costs.signed_or_unknown(d["ceiling"])] for d in changed]) for name, changed in deltas]
    if parts:
        body.append(_fit(parts, budget, "cost changes"))
    out.append("\n<details><summary>Each stack's estimate" + (" and what the change adds, by line"
               if parts else "") + "</summary>\n\n" + "\n".join(body) + "\n</details>\n")
    return "\n".join(out)


def retirements_section(plans: dict[str, dict[str, Any]], today: date, budget: int) -> str:
    """Every deployment in the org whose model retires within 180 days, by date and team."""
    from ..models import REPORT_HORIZON_DAYS, retiring

    rows = retiring(plans, today)
    title = f"\n### Model retirements in the next {REPORT_HORIZON_DAYS} days\n\n"
    if not rows:
        return title + f"No deployment's model retires before {today.isoformat()} + {REPORT_HORIZON_DAYS} days.\n"
    lines = [[cell(r["date"] if r["exact"] else f"≥ {r['date']}"), cell(r["days"]), cell(r["team"]), code(r["stack"]),
              code(r["deployment"]), cell(f"{r['model']} {r['version']}"), cell(r["sku"])] for r in rows]
    head = table(["retires", "days", "team", "stack", "deployment", "model", "type"], [])
    body = ["| " + " | ".join(str(c) for c in line) + " |\n" for line in lines]  # rows, so _fit can cut
    note = ("\n`≥` = no earlier than (Microsoft has not fixed the date). Move to a current version: "
            "`ai-serving models --region <region>`.\n")
    return title + _fit([head, *body], budget, "retirement rows") + note


def _fit(parts: list[str], budget: int, what: str) -> str:
    """Join ``parts`` while they fit in ``budget`` characters; say how many were left out."""
    out: list[str] = []
    used = 0
    for i, part in enumerate(parts):
        if used + len(part) > budget:
            return "".join(out) + f"\n… {len(parts) - i} more {what} left out (size limit).\n"
        out.append(part)
        used += len(part)
    return "".join(out)


def changes_section(diff: PlanDiff, budget: int) -> str:
    touched = diff.touched
    out = ["\n### What this PR changes\n"]
    if not touched:
        out.append(f"\nNo stack plans differently from the base ({len(diff.stacks)} compared).\n")
        return "".join(out)
    rows = []
    for s in touched:
        rows.append([code(s.stack), s.status, len(s.added), len(s.removed), len(s.changed),
                     len(s.findings_added), len(s.findings_resolved)])
    lines = table(["stack", "change", "added", "removed", "changed", "new findings", "resolved findings"],
                  rows).splitlines(keepends=True)
    out.append("\n" + "".join(lines[:2]) + _fit(lines[2:], budget // 2, "changed stack row(s)"))
    details = []
    for s in touched:
        if s.status in ("added", "removed"):
            continue
        lines = [f"- ➕ added {code(_short_type(r['type']))} {code(r['name'])}" for r in s.added]
        lines += [f"- ➖ removed {code(_short_type(r['type']))} {code(r['name'])}" for r in s.removed]
        for c in s.changed:
            lines.append(f"- ✏️ changed {code(_short_type(c.type))} {code(c.name)}")
            if c.protect is not None:
                lines.append(f"  - protect: {c.protect[0]} → {c.protect[1]}")
            lines += [f"  - {code(ch.path, in_table=False)}: {code(short(ch.old, 80), in_table=False)} → "
                      f"{code(short(ch.new, 80), in_table=False)}" for ch in c.inputs]
        lines += [f"- 🆕 finding {_finding(f)}" for f in s.findings_added]
        lines += [f"- ✔️ resolved {_finding(f)}" for f in s.findings_resolved]
        if len(lines) > MAX_DIFF_LINES:
            lines = lines[:MAX_DIFF_LINES] + [f"- … {len(lines) - MAX_DIFF_LINES} more line(s): run "
                                              "`ai-serving diff BASE HEAD` for all"]
        details.append(f"\n**{cell(s.stack)}**\n\n" + "\n".join(lines) + "\n")
    head = "".join(out)
    return head + _fit(details, budget - len(head), "stack change list(s)")


def _finding(f: dict[str, Any]) -> str:
    return f"{code(rule_id(f.get('policy', '')))} on {code(resource_name(f.get('urn', '')) or '(stack)')}"


def _meta(summary: dict[str, Any], policy: str) -> dict[str, Any]:
    return ((summary.get("pack") or {}).get("policies") or {}).get(policy) or {}


def finding_line(summary: dict[str, Any], v: dict[str, Any]) -> str:
    """One finding as a list item: level, rule, short resource name and type, message, remediation.

    A list, not a table: at comment width a five-column table cut the remediation off."""
    meta = _meta(summary, v.get("policy", ""))
    rule = meta.get("rule") or rule_id(v.get("policy", ""))
    urn = v.get("urn") or ""
    where = (f"{code(resource_name(urn), in_table=False)} ({cell(_short_type(_type_of_urn(urn)))})" if urn
             else "(stack)")
    icon = "❌" if v.get("level") == "mandatory" else "⚠️"
    fix = cell(meta.get("remediation") or "")
    if isinstance(meta.get("url"), str) and _DOC_LINK.fullmatch(meta["url"]):  # else no link: not markup
        fix += f" [docs]({meta['url']})"
    line = f"- {icon} {code(rule, in_table=False)} on {where}: {cell(v.get('message'))}"
    return line + (f"<br>**Fix:** {fix}" if fix.strip() else "") + "\n"


def findings_table(summary: dict[str, Any], violations: list[dict[str, Any]], limit: int = MAX_FINDINGS) -> str:
    """The findings, mandatory first, as a list (see finding_line), cut at ``limit``."""
    ordered = sorted(violations, key=lambda v: (v.get("level") != "mandatory", rule_id(v.get("policy", ""))))
    text = "".join(finding_line(summary, v) for v in ordered[:limit])
    if len(ordered) > limit:
        text += f"\n… and {len(ordered) - limit} more finding(s); see the stack's compliance.csv.\n"
    return text


def relative(text: str) -> str:
    """``text`` with the runner's working directory left out of paths (``/home/runner/work/x/stacks/...``
    becomes ``stacks/...``): the report is read on GitHub, where only repository paths mean anything."""
    here = str(Path.cwd().resolve())
    return text.replace(here + "/", "").replace(here, ".")


def error_text(errors: Any) -> list[str]:
    """A stack's errors as the report shows them: repository paths, and each line that looks like key material
    replaced by its kind. summary.json is input like any other (a token pasted into a stack file reaches a
    stack's errors through the tool that failed on it; found by review)."""
    return ["\n".join(masked(line) for line in relative(str(e)).splitlines()) for e in errors or []]


def failures_section(summary: dict[str, Any], plans: dict[str, dict[str, Any]], budget: int) -> str:
    """What fails, first: per failing stack its config errors or mandatory findings with remediation;
    mandatory cross-team findings; at most ``budget`` characters."""
    failing = [r for r in sorted(summary["stacks"], key=lambda r: (STATUS_RANK.get(r.get("status"), 0), r["stack"]))
               if r.get("status") != Status.OK]
    cross = [c for c in summary.get("crossTeam") or [] if c.get("level") == "mandatory"]
    if not failing and not cross:
        return ""
    out = ["\n### What fails\n"]
    for row in failing[:30]:
        out.append(f"\n**{cell(row['stack'])}**: {STATUS_ICON.get(str(row.get('status')), '❔')} "
                   f"{cell(row.get('status'))}\n\n")
        errors = error_text(row.get("errors"))
        if errors:
            first = errors[0].strip().splitlines()
            out.append("".join(f"    {bounded_text(line, MAX_ERROR_LINE_CHARS)}\n" for line in first[:12]))
            if len(errors) > 1 or len(first) > 12:
                out.append("\n(more in the stack's section below)\n")
        plan = _plan_of(row, plans)
        violations = [v for v in ((plan or {}).get("policy") or {}).get("violations") or []
                      if v.get("level") == "mandatory"]
        if violations:
            out.append(findings_table(summary, violations, MAX_FAILURES))
    if len(failing) > 30:
        out.append(f"\n… and {len(failing) - 30} more failing stack(s): see the table below.\n")
    for c in cross:
        stacks = [str(x) for x in c.get("stacks") or []]
        named = ", ".join(code(x, in_table=False) for x in stacks[:MAX_NAMED_STACKS])
        named += f" and {len(stacks) - MAX_NAMED_STACKS} more" if len(stacks) > MAX_NAMED_STACKS else ""
        out.append(f"\n- ❌ cross-team {code(c.get('check', ''), in_table=False)} "
                   f"({named}): {cell(bounded_text(str(c.get('message')), MAX_FINDING_CHARS))}\n")
    return _fit(out, budget, "failure line(s)")


def refusals(diff: PlanDiff, base: dict[str, dict[str, Any]], head: dict[str, dict[str, Any]]) -> list[str]:
    """Protected or locked resources the change deletes or replaces, each as one warning line.

    ``pulumi up`` refuses to delete or replace a resource marked ``protect`` and stops the whole
    update there; Azure refuses to delete a resource under a CanNotDelete lock (ScopeLocked). The
    plan cannot show either, so the reviewer must see it before merging."""
    out: list[str] = []
    for s in diff.touched:
        old = {r["urn"]: r for r in (base.get(s.stack) or {}).get("resources") or []}
        new_urns = {r["urn"] for r in (head.get(s.stack) or {}).get("resources") or []}
        locks = _locked_scopes(list(old.values()), keep=new_urns)
        going: list[tuple[dict[str, Any], str]] = [(old[r["urn"]], "delete") for r in s.removed if r["urn"] in old]
        for c in s.changed:
            entry = arm.arm_type(c.type)
            forcing = {*REPLACING_INPUTS, *((entry.name_input,) if entry else ())}
            if c.urn in old and any(ch.path in forcing for ch in c.inputs):
                going.append((old[c.urn], "replace"))
        for res, action in going:
            what = f"{code(s.stack, in_table=False)}: {action} {code(_short_type(res['type']), in_table=False)} " \
                   f"{code(res['name'], in_table=False)}"
            if res.get("protect"):
                out.append(f"- 🛑 {what}: it is protected, so `pulumi up` will refuse (and stop the update). "
                           "Unprotect it in a separate change first if this is intended.")
            if any(_under_lock(res, lock) for lock in locks):
                out.append(f"- 🛑 {what}: a CanNotDelete lock covers it, so Azure will refuse (ScopeLocked). "
                           "Remove the lock deliberately first if this is intended.")
    return out


_EXTENSION_INPUTS = ("scope", "resourceUri", "privateLinkServiceId")
"""Inputs that make a resource part of the resource their ARM id names: a role assignment and a diagnostic
setting are extension resources of their ``scope`` / ``resourceUri``, and a private endpoint's connection
is a child of its ``privateLinkServiceId`` (deleting the endpoint deletes that child)."""


def _locked_scopes(resources: list[dict[str, Any]], keep: set[str]) -> list[str]:
    """The lower-cased ARM ids a CanNotDelete lock that stays in the head plan covers (a lock the same
    change deletes goes first: it depends on its scope)."""
    scopes: list[str] = []
    for lock in resources:
        if not lock["type"].startswith(LOCK_PREFIX) or lock["urn"] not in keep:
            continue
        inputs = lock.get("inputs") or {}
        scope = inputs.get("scope")
        if str(inputs.get("level")) == "CanNotDelete" and isinstance(scope, str) and diagram.arm_key(scope):
            scopes.append(scope.rstrip("/").lower())
    return scopes


def _under_lock(res: dict[str, Any], scope: str) -> bool:
    """Whether deleting ``res`` deletes something inside the locked ARM id ``scope``.

    A lock covers its resource and everything under it ("all resources within that scope inherit the same
    lock", and a lock on a resource "prevents the deletion of Azure RBAC assignments" on it: Microsoft
    Learn, lock-resources.md): the resource itself, its children (a deployment of a locked account, named
    by the account's name input in the same resource group) and what an id input ties to it
    (``_EXTENSION_INPUTS``)."""
    inputs = res.get("inputs") or {}
    segment, name = diagram.arm_key(scope) or ("", "")
    group = diagram.resource_group(scope)
    entry = arm.arm_type(res["type"])
    if entry is not None and entry.segment.lower() == segment and \
            arm.physical_name(res["type"], res["name"], inputs).lower() == name:
        return True
    parent = next((t for t in arm.ARM_TYPES.values() if t.segment.lower() == segment), None)
    if parent is not None and entry is not parent and str(inputs.get(parent.name_input, "")).lower() == name \
            and str(inputs.get("resourceGroupName", "")).lower() == group:
        return True
    return any(v.rstrip("/").lower() == scope or v.lower().startswith(scope + "/")
               for v in _id_inputs(inputs))


def _id_inputs(value: Any) -> Iterator[str]:
    """The string values of ``_EXTENSION_INPUTS`` anywhere in ``value``."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in _EXTENSION_INPUTS and isinstance(v, str):
                yield v
            else:
                yield from _id_inputs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _id_inputs(v)


def refusal_section(lines: list[str]) -> str:
    if not lines:
        return ""
    return ("\n> [!CAUTION]\n> **This change deletes or replaces protected or locked resources: `pulumi up` will "
            "refuse.**\n>\n" + "".join(f"> {line}\n" for line in lines))


def stack_section(summary: dict[str, Any], row: dict[str, Any], plan: dict[str, Any] | None, *,
                  full: bool = True) -> str:
    """One stack's collapsible section: errors, findings with remediation and waivers first, then the
    inventory (counts by type and, with ``full``, the diagrams; ``full=False`` leaves those out)."""
    status = row.get("status", Status.OK.value)
    head = (f"{STATUS_ICON.get(status, '❔')} <b>{cell(row['stack'])}</b>: {cell(status)} · "
            f"{row.get('resources', 0)} resources · {row.get('mandatory', 0)} mandatory · "
            f"{row.get('advisory', 0)} advisory · {row.get('waivers', 0)} waivers")
    out = [f"\n{CUT}\n<details{' open' if status != Status.OK else ''}><summary>{head}</summary>\n"]
    errors = error_text(row.get("errors"))
    if errors:
        text = "\n".join(errors).replace("```", "'''")
        if len(text) > 4000:
            text = text[:4000] + "\n… (cut)"
        out.append("\n**Errors**\n\n```text\n" + text + "\n```\n")
    if plan is None:
        out.append("\nNo plan was produced for this stack.\n")
        out.append("\n</details>\n")
        return "".join(out)
    policy = plan.get("policy")
    if policy is None:
        out.append("\n**Findings**: policy pack not run.\n")
    else:
        violations = policy.get("violations") or []
        out.append("\n**Findings**\n\n" + (findings_table(summary, violations) if violations else "None.\n"))
        waivers = policy.get("suppressed") or []
        if waivers:
            rows = [[code(_meta(summary, w.get("policy", "")).get("rule") or rule_id(w.get("policy", ""))),
                     code(resource_name(w.get("urn", "")) or "(stack)"), cell(w.get("reason")),
                     cell(w.get("expires"))] for w in waivers]
            out.append("\n**Waivers**\n\n" + table(["rule", "resource", "reason", "expires"], rows))
            if deploy := [code(rule_id(p), in_table=False) for p in advisory_at_deploy(policy)]:
                out.append(f"\n{deploy_note(deploy)}\n")
    counts = Counter(r["type"] for r in plan.get("resources") or [] if not r["type"].startswith("pulumi:"))
    azure = sorted((t, n) for t, n in counts.items() if t.startswith("azure-native:"))
    components = sorted((t, n) for t, n in counts.items() if not t.startswith("azure-native:"))
    if full:
        counts_rows: list[list[Any]] = [[code(_short_type(t)), n] for t, n in azure]
        out.append("\n**Declares**\n\n" + table(["type", "count"], counts_rows))
        if components:
            out.append("\nComponents: " + ", ".join(f"{code(t)} × {n}" for t, n in components) + "\n")
        out.append("\n**Architecture**\n" + diagram.mermaid_block(plan))
    else:
        out.append(f"\n**Declares** {sum(n for _, n in azure)} Azure resources of {len(azure)} types "
                   f"in {sum(n for _, n in components)} components.\n")
    out.append("\n</details>\n")
    return "".join(out)


# --- assembly -----------------------------------------------------------------------------------------

def render(out_dir: Path, base_dir: Path | None = None, *, budget: int = BUDGET, today: date | None = None,
           base_plans: dict[str, dict[str, Any]] | None = None) -> tuple[str, str | None]:
    """``(report, full)``: the comment-sized report and, when it had to leave things out, the full one.

    ``base_plans``: ``base_dir``'s plans when the caller has read them already (``plan --all --base``
    checks them before it plans); each folder is read once either way.
    """
    today = today or date.today()
    plans = load_plans(out_dir)
    summary = load_summary(out_dir, plans)
    if base_dir is not None and base_plans is None:
        base_plans = load_plans(base_dir)
    diff = diff_dirs(base_dir, out_dir, base=base_plans, head=plans) if base_dir is not None else None
    changed = {s.stack for s in diff.touched} if diff else set()
    base_plans = base_plans or {}
    warnings = refusals(diff, base_plans, plans) if diff is not None and base_dir is not None else []

    def top(limit: int) -> str:
        parts = [header(summary), refusal_section(warnings),
                 cost_section(plans, base_plans if base_dir is not None else None, limit // 8),
                 failures_section(summary, plans, limit // 4)]
        if diff is not None:
            parts.append(changes_section(diff, limit // 4))
        parts += [summary_table(summary, limit // 4, changed if diff is not None else None),
                  cross_team(summary, limit // 8), retirements_section(plans, today, limit // 8)]
        return f"\n{CUT}\n".join(p for p in parts if p)

    rows = sorted(summary["stacks"], key=lambda r: (STATUS_RANK.get(r.get("status"), 0),
                                                    r["stack"] not in changed, r["stack"]))
    top = _as_written(out_dir, top)
    stack_section_of = _as_written_per_stack(out_dir, stack_section)
    footer = (f"\n{CUT}\n<sub>Written by `ai-serving report`. Sections are ordered: failing, changed, then the rest."
              "</sub>\n")
    per_stack = f"\n{CUT}\n### Per stack\n"
    sections = {r["stack"]: stack_section_of(summary, r, _plan_of(r, plans)) for r in rows}
    complete = top(10**9) + per_stack + "".join(sections.values()) + footer
    if len(complete) <= budget:
        return complete, None

    # Too long. Passing, unchanged stacks lose their counts and diagram; if the failing and changed
    # ones still do not fit whole, every stack does. Then sections are left out from the least
    # interesting end (passing, unchanged stacks are still in the summary line).
    slim = {r["stack"]: stack_section_of(summary, r, _plan_of(r, plans), full=False) for r in rows}
    important = {r["stack"] for r in rows if r.get("status") != Status.OK or r["stack"] in changed}
    bounded = top(budget)
    room = budget - len(bounded) - len(footer) - len(per_stack) - 1500  # 1500: the note on what was left out
    chosen = {s: sections[s] if s in important else slim[s] for s in sections}
    if sum(len(chosen[s]) for s in important) > room:
        chosen = dict(slim)
    kept: list[str] = []
    omitted: list[str] = []
    used = 0
    for row in rows:
        section = chosen[row["stack"]]
        if not omitted and used + len(section) <= room:
            kept.append(section)
            used += len(section)
        else:
            omitted.append(row["stack"])
    shortened = sum(1 for r in rows if r["stack"] not in omitted and chosen[r["stack"]] is slim[r["stack"]])
    left_out = ""
    if omitted:
        names = ", ".join(code(o) for o in omitted[:20]) + (", …" if len(omitted) > 20 else "")
        left_out = f"; {len(omitted)} stack section(s) left out ({names})"
    note = (f"\n{CUT}\n> ✂️ This report was shortened to fit a GitHub comment ({GITHUB_COMMENT_LIMIT:,} characters): "
            f"{shortened} section(s) without their resource counts and diagram{left_out}. The full report is "
            "`report-full.md` in the plan artefact.\n")
    return bounded + note + per_stack + "".join(kept) + footer, complete


_SHAPE_ERRORS = (AttributeError, KeyError, TypeError, ValueError, IndexError)
"""What reading a resource's inputs raises when they are not of the shapes Azure (and the plan) gives them.

The documents reader checks a plan's own keys; a resource's ``inputs`` are Azure's values of any shape,
which the diagrams and tables read as Azure shapes them. A plan.json edited by hand (or by an attacker)
can break those reads: that is a bad input file, said as one message (exit 2), never a traceback."""


def _as_written(what: Path, build: Any) -> Any:
    """``build`` whose shape errors are a ``UsageError`` about the plans in ``what``."""
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return build(*args, **kwargs)
        except _SHAPE_ERRORS as exc:
            raise UsageError(bounded_text(
                f"{what}: a plan's resources are not what `ai-serving plan` writes ({type(exc).__name__}: {exc}); "
                "re-run `ai-serving plan --all --out DIR` and report from that")) from None
    return guarded


def _as_written_per_stack(out_dir: Path, build: Any) -> Any:
    """``stack_section`` whose shape errors name the stack's plan.json."""
    def guarded(summary: dict[str, Any], row: dict[str, Any], *args: Any, **kwargs: Any) -> str:
        return _as_written(out_dir / str(row.get("stack")) / "plan.json", build)(summary, row, *args, **kwargs)
    return guarded


def _plan_of(row: dict[str, Any], plans: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    # A stack that did not plan this time has no current plan.json; one left from an earlier run
    # in the same directory must not be shown as if it were current.
    return None if row.get("status") in (Status.INVALID_CONFIG, Status.ERROR) else plans.get(row["stack"])


def write_report(out_dir: Path, base_dir: Path | None = None, *,
                 base_plans: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write ``out_dir/report.md`` (and ``report-full.md`` when the report had to be shortened);
    ``base_plans`` as for :func:`render`."""
    text, full = render(out_dir, base_dir, base_plans=base_plans)
    path = atomic.write_text(out_dir / REPORT_FILE, text)
    full_path = out_dir / REPORT_FULL_FILE
    if full is not None:
        atomic.write_text(full_path, full)
    elif full_path.exists():
        full_path.unlink()
    return path


def run(out_dir: Path, base_dir: Path | None, console: Any) -> int:
    """``ai-serving report``: write the report and say where it is."""
    if not out_dir.is_dir():
        raise UsageError(f"{out_dir}: no such plan output directory (run `ai-serving plan --all --out DIR`)")
    path = write_report(out_dir, base_dir)
    console.print(f"wrote {path} ({len(path.read_text(encoding='utf-8')):,} characters)", markup=False)
    return ExitCode.OK

"""``ai-serving report``: one Markdown document for a pull-request comment.

Reads a plan output directory (``summary.json`` from ``plan --all`` and ``<stack>/plan.json`` per
stack; without ``summary.json`` the table is derived from the plan files) and writes
``report.md``: the overall verdict, the summary table, cross-team findings, what the PR changes
(with a base directory), then one collapsible section per stack with counts by type, findings
with remediation, waivers, and a Mermaid architecture diagram.

GitHub rejects comments over 65,536 characters, so the report stays within ``BUDGET``. Sections
come in order of interest: failing stacks, then those the PR changes, then the rest. When the
whole document is too long, passing unchanged stacks lose their counts table and diagram (all
stacks do if the interesting ones alone are too long), then sections are left out from the end
with a note; the summary table keeps every stack as long as it fits. The complete document then
goes to ``report-full.md`` beside it (for the CI artefact).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from ..outcome import ExitCode, Status, UsageError
from ..verdict import resource_name, rule_id
from . import diagram
from .diff import PlanDiff, diff_dirs, load_plans, short

GITHUB_COMMENT_LIMIT = 65_536
BUDGET = 60_000
"""Characters report.md may use: the comment limit less room for what CI wraps around it."""
MAX_FINDINGS = 60
"""Finding rows per stack before the rest are summarised (a broken stack can yield hundreds)."""
MAX_DIFF_LINES = 40
"""Changed-input lines per stack in the "What this PR changes" section."""
STATUS_ICON = {Status.OK: "✅", Status.POLICY_FAILED: "❌", Status.INVALID_CONFIG: "⚠️", Status.ERROR: "💥"}
STATUS_RANK = {Status.ERROR: 0, Status.INVALID_CONFIG: 1, Status.POLICY_FAILED: 2, Status.OK: 3}


# --- inputs ---------------------------------------------------------------------------------------

def load_summary(out_dir: Path, plans: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``summary.json`` if present (it names the stacks: plan dirs it does not list are stale);
    else a summary derived from the plan files."""
    path = out_dir / "summary.json"
    summary: dict[str, Any] = {}
    if path.is_file():
        summary = json.loads(path.read_text(encoding="utf-8"))
        rows = {row["stack"]: row for row in summary.get("stacks") or []}
    else:
        rows = {stack: _derived_row(plan) for stack, plan in plans.items()}
    summary["stacks"] = [rows[s] for s in sorted(rows)]
    summary.setdefault("crossTeam", [])
    summary.setdefault("pack", _derived_pack(plans))
    summary.setdefault("generated", date.today().isoformat())
    return summary


def _derived_row(plan: dict[str, Any]) -> dict[str, Any]:
    policy = plan.get("policy") or {}
    violations = policy.get("violations") or []
    mandatory = sum(1 for v in violations if v.get("level") == "mandatory")
    return {"stack": plan.get("stack"), "resources": len(plan.get("resources") or []), "mandatory": mandatory,
            "advisory": len(violations) - mandatory, "waivers": len(policy.get("suppressed") or []),
            "status": (Status.POLICY_FAILED if mandatory else Status.OK).value, "errors": []}


def _derived_pack(plans: dict[str, dict[str, Any]]) -> dict[str, Any]:
    name = next(((p.get("policy") or {}).get("pack") for p in plans.values() if p.get("policy")), None)
    return {"name": name, "version": None, "policies": {}}


# --- Markdown helpers -----------------------------------------------------------------------------

def cell(value: Any) -> str:
    """``value`` as one Markdown table cell: no pipes or raw HTML, newlines as <br>."""
    text = str(value if value is not None else "")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return "<br>".join(line.strip() for line in text.strip().splitlines()) or " "


def code(value: Any, *, in_table: bool = True) -> str:
    """Inline code that survives backticks in the value (and pipes, inside a table)."""
    text = str(value).replace("`", "'")
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
    bits = [f"generated {summary.get('generated')}"]
    if pack.get("name"):
        version = f" {pack['version']}" if pack.get("version") else ""
        bits.append(f"policy pack {code(pack['name'])}{version}")
    else:
        bits.append("policy pack not run")
    return verdict_line(summary) + "\n<sub>" + " · ".join(bits) + "</sub>\n"


def summary_table(summary: dict[str, Any], budget: int) -> str:
    rows = summary["stacks"]

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
    return "\n### Stacks\n\n" + text


def cross_team(summary: dict[str, Any], budget: int) -> str:
    findings = summary.get("crossTeam") or []
    if not findings:
        return "\n### Cross-team checks\n\nNo findings (quota, address overlap, name collisions).\n"
    rows = [[("❌ " if f.get("level") == "mandatory" else "⚠️ ") + cell(f.get("level")),
             code(f.get("check", "")), ", ".join(code(s) for s in f.get("stacks") or []) or " ",
             cell(f.get("message"))]
            for f in sorted(findings, key=lambda f: (f.get("level") != "mandatory", f.get("check", "")))]
    text = table(["level", "check", "stacks", "message"], rows)
    if len(text) > budget:
        lines = text.splitlines(keepends=True)
        text = "".join(lines[:2]) + _fit(lines[2:], budget, "cross-team finding(s)")
    return "\n### Cross-team findings\n\n" + text


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
        lines = [f"- ➕ {code(_short_type(r['type']))} {code(r['name'])}" for r in s.added]
        lines += [f"- ➖ {code(_short_type(r['type']))} {code(r['name'])}" for r in s.removed]
        for c in s.changed:
            lines.append(f"- ✏️ {code(_short_type(c.type))} {code(c.name)}")
            if c.protect is not None:
                lines.append(f"  - protect: {c.protect[0]} → {c.protect[1]}")
            lines += [f"  - {code(ch.path, in_table=False)}: {code(short(ch.old, 80), in_table=False)} → "
                      f"{code(short(ch.new, 80), in_table=False)}" for ch in c.inputs]
        lines += [f"- 🆕 finding {_finding(f)}" for f in s.findings_added]
        lines += [f"- ✔️ resolved {_finding(f)}" for f in s.findings_resolved]
        if len(lines) > MAX_DIFF_LINES:
            lines = lines[:MAX_DIFF_LINES] + [f"- … {len(lines) - MAX_DIFF_LINES} more line(s): run "
                                              "`ai-serving diff BASE HEAD` for all"]
        details.append(f"\n<details><summary>{cell(s.stack)}: changes</summary>\n\n" + "\n".join(lines)
                       + "\n\n</details>\n")
    head = "".join(out)
    return head + _fit(details, budget - len(head), "stack change list(s)")


def _finding(f: dict[str, Any]) -> str:
    return f"{code(rule_id(f.get('policy', '')))} on {code(resource_name(f.get('urn', '')) or '(stack)')}"


def _meta(summary: dict[str, Any], policy: str) -> dict[str, Any]:
    return ((summary.get("pack") or {}).get("policies") or {}).get(policy) or {}


def findings_table(summary: dict[str, Any], violations: list[dict[str, Any]]) -> str:
    ordered = sorted(violations, key=lambda v: (v.get("level") != "mandatory", rule_id(v.get("policy", ""))))
    rows = []
    for v in ordered[:MAX_FINDINGS]:
        meta = _meta(summary, v.get("policy", ""))
        rule = meta.get("rule") or rule_id(v.get("policy", ""))
        urn = v.get("urn") or ""
        resource = (f"{code(resource_name(urn))}<br>{cell(_short_type(_type_of_urn(urn)))}" if urn
                    else "(stack)")
        fix = cell(meta.get("remediation") or "")
        if meta.get("url"):
            fix += f" [docs]({meta['url']})"
        icon = "❌" if v.get("level") == "mandatory" else "⚠️"
        rows.append([f"{icon} {cell(v.get('level'))}", code(rule), resource, cell(v.get("message")), fix])
    text = table(["level", "rule", "resource", "message", "remediation"], rows)
    if len(ordered) > MAX_FINDINGS:
        text += f"\n… and {len(ordered) - MAX_FINDINGS} more finding(s); see the stack's compliance.csv.\n"
    return text


def stack_section(summary: dict[str, Any], row: dict[str, Any], plan: dict[str, Any] | None, *,
                  full: bool = True) -> str:
    """One stack's collapsible section; ``full=False`` leaves out the counts table and the diagram."""
    status = row.get("status", Status.OK.value)
    head = (f"{STATUS_ICON.get(status, '❔')} <b>{cell(row['stack'])}</b>: {cell(status)} · "
            f"{row.get('resources', 0)} resources · {row.get('mandatory', 0)} mandatory · "
            f"{row.get('advisory', 0)} advisory · {row.get('waivers', 0)} waivers")
    out = [f"<details{' open' if status != Status.OK else ''}><summary>{head}</summary>\n"]
    errors = row.get("errors") or []
    if errors:
        text = "\n".join(str(e) for e in errors).replace("```", "'''")
        if len(text) > 4000:
            text = text[:4000] + "\n… (cut)"
        out.append("\n**Errors**\n\n```text\n" + text + "\n```\n")
    if plan is None:
        out.append("\nNo plan was produced for this stack.\n")
        out.append("\n</details>\n")
        return "".join(out)
    counts = Counter(r["type"] for r in plan.get("resources") or [] if not r["type"].startswith("pulumi:"))
    azure = sorted((t, n) for t, n in counts.items() if t.startswith("azure-native:"))
    components = sorted((t, n) for t, n in counts.items() if not t.startswith("azure-native:"))
    if full:
        counts_rows: list[list[Any]] = [[code(_short_type(t)), n] for t, n in azure]
        out.append("\n**Declares**\n\n" + table(["type", "count"], counts_rows))
        if components:
            out.append("\nComponents: " + ", ".join(f"{code(t)} × {n}" for t, n in components) + "\n")
    else:
        out.append(f"\n**Declares** {sum(n for _, n in azure)} Azure resources of {len(azure)} types "
                   f"in {sum(n for _, n in components)} components.\n")
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
    if full:
        out.append("\n**Architecture**\n\n" + diagram.mermaid_block(plan))
    out.append("\n</details>\n")
    return "".join(out)


# --- assembly -----------------------------------------------------------------------------------------

def render(out_dir: Path, base_dir: Path | None = None, *, budget: int = BUDGET,
           today: date | None = None) -> tuple[str, str | None]:
    """``(report, full)``: the comment-sized report and, when it had to leave things out, the full one."""
    today = today or date.today()
    plans = load_plans(out_dir)
    summary = load_summary(out_dir, plans)
    diff = diff_dirs(base_dir, out_dir) if base_dir is not None else None
    changed = {s.stack for s in diff.touched} if diff else set()

    def top(limit: int) -> str:
        parts = [header(summary), summary_table(summary, limit // 4), cross_team(summary, limit // 8),
                 retirements_section(plans, today, limit // 8)]
        if diff is not None:
            parts.append(changes_section(diff, limit // 4))
        return "".join(parts)

    rows = sorted(summary["stacks"], key=lambda r: (STATUS_RANK.get(r.get("status"), 0),
                                                    r["stack"] not in changed, r["stack"]))
    footer = ("\n<sub>Written by `ai-serving report`. Sections are ordered: failing, changed, then the rest."
              "</sub>\n")
    sections = {r["stack"]: stack_section(summary, r, _plan_of(r, plans)) for r in rows}
    complete = top(10**9) + "\n### Per stack\n\n" + "".join(sections.values()) + footer
    if len(complete) <= budget:
        return complete, None

    # Too long. Passing, unchanged stacks lose their counts and diagram; if the failing and changed
    # ones still do not fit whole, every stack does. Then sections are left out from the least
    # interesting end (passing, unchanged stacks are still in the summary table).
    slim = {r["stack"]: stack_section(summary, r, _plan_of(r, plans), full=False) for r in rows}
    important = {r["stack"] for r in rows if r.get("status") != Status.OK or r["stack"] in changed}
    bounded = top(budget)
    room = budget - len(bounded) - len(footer) - 1500  # 1500: the note saying what was left out
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
    note = (f"\n> ✂️ This report was shortened to fit a GitHub comment ({GITHUB_COMMENT_LIMIT:,} characters): "
            f"{shortened} section(s) without their resource counts and diagram{left_out}. The full report is "
            "`report-full.md` in the plan artefact.\n")
    return bounded + note + "\n### Per stack\n\n" + "".join(kept) + footer, complete


def _plan_of(row: dict[str, Any], plans: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    # A stack that did not plan this time has no current plan.json; one left from an earlier run
    # in the same directory must not be shown as if it were current.
    return None if row.get("status") in (Status.INVALID_CONFIG, Status.ERROR) else plans.get(row["stack"])


def write_report(out_dir: Path, base_dir: Path | None = None) -> Path:
    """Write ``out_dir/report.md`` (and ``report-full.md`` when the report had to be shortened)."""
    text, full = render(out_dir, base_dir)
    path = out_dir / "report.md"
    path.write_text(text, encoding="utf-8")
    full_path = out_dir / "report-full.md"
    if full is not None:
        full_path.write_text(full, encoding="utf-8")
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

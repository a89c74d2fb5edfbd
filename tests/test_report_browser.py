"""The PR comment as GitHub renders it: marked + Mermaid in headless Chromium at 846 px.

Each test renders with the Mermaid version GitHub uses and with the newest, and asserts what a
reviewer sees: every diagram parses, none shows "Unsupported markdown", every label is legible at
comment width. Screenshots: build/browser/ (a CI artefact).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ai_serving.reports.markdown import write_report

from .browser_render import GITHUB_MERMAID, MIN_FONT_PX, NEWEST_MERMAID, render
from .cli_helpers import cli

MERMAIDS = [GITHUB_MERMAID, NEWEST_MERMAID]


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    """``plan --all`` of the committed example stacks, with its report.md."""
    out = tmp_path_factory.mktemp("examples")
    assert cli("plan", "--all", "--quiet", "--out", out) == 0
    write_report(out)
    return out


@pytest.mark.parametrize("mermaid", MERMAIDS)
def test_the_example_stacks_report_renders_legibly_at_comment_width(examples, mermaid):
    seen = render(examples / "report.md", mermaid, f"examples-{mermaid}")

    assert seen["errors"] == []
    assert seen["unsupported"] == []
    assert seen["blocks"] == 6  # a network and a services view for each of the 3 stacks
    assert len(seen["diagrams"]) == 6
    for i, d in enumerate(seen["diagrams"]):
        assert d["shown"] <= 846
        assert d["minFont"] is not None and d["minFont"] >= MIN_FONT_PX, repr((i, d))


def test_the_harness_sees_what_github_showed_for_the_old_diagrams(tmp_path):
    # The diagram as it was before (numbered deployment labels, everything in one wide chart):
    # Mermaid 11.3 draws "Unsupported markdown: list" and shrinks the text below legibility.
    boxes = "\n".join(f'  n{i}["Private endpoint<br/>pep-service-{i}"] --> n{i + 1}' for i in range(12))
    (tmp_path / "old.md").write_text(
        "```mermaid\nflowchart LR\n" + boxes + '\n  n12["1. chat<br/>gpt-4o 2024-11-20"]\n```\n',
        encoding="utf-8")

    seen = render(tmp_path / "old.md", GITHUB_MERMAID, "harness-old")

    assert seen["errors"] == []
    assert seen["unsupported"] == [0]
    assert seen["diagrams"][0]["minFont"] < MIN_FONT_PX


# --- above the fold ---------------------------------------------------------------------------------------

FOLD_PX = 1000
"""How much of the comment a reviewer sees without scrolling."""
PACK = {"name": "ai-serving-guardrails", "version": "0.1.0", "policies": {
    "kv-01-purge-protection": {"rule": "KV-01", "level": "mandatory",
                               "remediation": "Set `properties.enablePurgeProtection: true`."}}}


def _fail_and_change(out: Path, stack: str) -> None:
    """Give ``stack`` in plan dir ``out`` a mandatory finding and a changed Key Vault input."""
    plan_path = out / stack / "plan.json"
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    vault = next(r for r in plan["resources"] if r["type"] == "azure-native:keyvault:Vault")
    vault["inputs"]["properties"]["publicNetworkAccess"] = "Enabled"
    plan["policy"] = {"pack": PACK["name"], "violations": [
        {"policy": "kv-01-purge-protection", "level": "mandatory", "urn": vault["urn"],
         "message": "purge protection is off"}], "suppressed": []}
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    summary["pack"] = PACK
    for row in summary["stacks"]:
        if row["stack"] == stack:
            row.update(status="policy-failed", mandatory=1)
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


def _many(examples: Path, out: Path, count: int) -> None:
    """``count`` stacks planned like team-b-dev, with the summary plan --all would write."""
    template = json.loads((examples / "team-b-dev" / "plan.json").read_text(encoding="utf-8"))
    rows = []
    for i in range(count):
        stack = f"team-{i:02d}-dev"
        (out / stack).mkdir(parents=True)
        (out / stack / "plan.json").write_text(json.dumps({**template, "stack": stack}), encoding="utf-8")
        rows.append({"stack": stack, "resources": len(template["resources"]), "mandatory": 0, "advisory": 0,
                     "waivers": 0, "status": "ok", "errors": []})
    (out / "summary.json").write_text(json.dumps({"generated": "2026-12-02", "pack": PACK, "stacks": rows,
                                                  "crossTeam": []}), encoding="utf-8")


NEEDLES = ("What fails", "KV-01", "What this PR changes", "properties.publicNetworkAccess")


@pytest.mark.parametrize("mermaid", MERMAIDS)
def test_the_failure_and_the_change_are_above_the_fold_for_the_example_stacks(examples, tmp_path, mermaid):
    head = tmp_path / "head"
    shutil.copytree(examples, head)
    _fail_and_change(head, "team-a-prod")
    write_report(head, examples)

    seen = render(head / "report.md", mermaid, f"fold-examples-{mermaid}", NEEDLES)

    assert seen["errors"] == [] and seen["unsupported"] == []
    for needle in NEEDLES:
        assert seen["needles"][needle] is not None and seen["needles"][needle] < FOLD_PX, (needle, seen["needles"])


@pytest.mark.parametrize("mermaid", MERMAIDS)
def test_the_failure_and_the_change_are_above_the_fold_among_50_stacks(examples, tmp_path, mermaid):
    base, head = tmp_path / "base", tmp_path / "head"
    _many(examples, base, 50)
    shutil.copytree(base, head)
    _fail_and_change(head, "team-47-dev")  # the row that came 48th in the old report
    write_report(head, base)

    seen = render(head / "report.md", mermaid, f"fold-50-{mermaid}", NEEDLES)

    assert seen["errors"] == [] and seen["unsupported"] == []
    for needle in NEEDLES:
        assert seen["needles"][needle] is not None and seen["needles"][needle] < FOLD_PX, (needle, seen["needles"])
    assert all(d["minFont"] >= MIN_FONT_PX for d in seen["diagrams"]), seen["diagrams"]

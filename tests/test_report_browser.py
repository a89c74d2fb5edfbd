"""The PR comment as GitHub renders it: marked + Mermaid in headless Chromium at 846 px.

Each test renders with the Mermaid version GitHub uses and with the newest, and asserts what a
reviewer sees: every diagram parses, none shows "Unsupported markdown", every label is legible at
comment width. Screenshots: build/browser/ (a CI artefact).
"""

from __future__ import annotations

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
    for d in seen["diagrams"]:
        assert d["shown"] <= 846
        assert d["minFont"] is not None and d["minFont"] >= MIN_FONT_PX, d


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

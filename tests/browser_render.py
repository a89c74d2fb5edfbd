"""Render a PR-comment Markdown file the way GitHub shows it, in headless Chromium (tests/browser/).

``render(markdown_path, mermaid)`` runs ``tests/browser/render.mjs`` with ``mermaid`` =
``GITHUB_MERMAID`` (the version GitHub renders with) or ``NEWEST_MERMAID`` and returns what it
measured. Screenshots go to ``build/browser/`` (ignored by git; CI keeps it as an artefact).
Without node, the npm packages (``make browser-deps``) or ``/usr/bin/chromium`` the caller is
skipped loudly, and fails under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROWSER_DIR = ROOT / "tests" / "browser"
SHOTS = ROOT / "build" / "browser"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
GITHUB_MERMAID = "mermaid-github"
"""npm alias of mermaid@11.3.0, the version GitHub renders ```mermaid blocks with: docsible/docsible#30
(2024-10-30, "Github use mermaid version: v11.3.0") and yusukebe/gh-markdown-preview#58 (merged
2025-01-12, "Update mermaid version to same as GitHub", 10.9.1 -> 11.3.0). Looked up 2026-12-02; GitHub
does not publish its version, so the newest is tested too."""
NEWEST_MERMAID = "mermaid"
"""The newest Mermaid on npm when this was written (package.json pins it)."""
COMMENT_WIDTH = 846
MIN_FONT_PX = 9.0
"""The smallest label a reader can still read in a diagram shrunk to the comment width."""


def require_browser() -> None:
    """Skip (fail under CI=true) unless node, the npm packages and Chromium are installed."""
    missing = [what for what, ok in (
        ("node", shutil.which("node") is not None),
        ("tests/browser/node_modules (make browser-deps)", (BROWSER_DIR / "node_modules" / "playwright-core").is_dir()),
        (str(CHROMIUM), CHROMIUM.is_file()),
    ) if not ok]
    if missing:
        message = "BROWSER RENDER TESTS NOT RUN: missing " + ", ".join(missing) + " (run `make test`)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def render(markdown: Path, mermaid: str, name: str, needles: tuple[str, ...] = ()) -> dict[str, Any]:
    """Render ``markdown`` with Mermaid package ``mermaid``; screenshots as build/browser/<name>-*.png."""
    require_browser()
    SHOTS.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["node", str(BROWSER_DIR / "render.mjs"), str(markdown), mermaid, str(SHOTS / name), *needles],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CHROMIUM": str(CHROMIUM)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)

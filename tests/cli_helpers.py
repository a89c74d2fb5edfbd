"""Helpers to run the CLI in-process against stack files written to a temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ai_serving.cli import main

ROOT = Path(__file__).resolve().parent.parent


def write_stack(stack_dir: Path, stack: str, config: dict[str, Any] | None = None, *, text: str | None = None) -> Path:
    """Write ``Pulumi.<stack>.yaml`` with ``config`` (or raw ``text``) and return its path."""
    stack_dir.mkdir(parents=True, exist_ok=True)
    path = stack_dir / f"Pulumi.{stack}.yaml"
    path.write_text(text if text is not None else yaml.safe_dump({"config": config}, sort_keys=False),
                    encoding="utf-8")
    return path


def cli(*args: str | Path) -> int:
    """Run ``ai-serving`` with ``args`` (project = the repository) and return the exit code."""
    argv = [str(a) for a in args]
    if "--project" not in argv and argv and argv[0] in {"plan", "validate"}:
        argv += ["--project", str(ROOT)]
    return main(argv)

"""Shared fixtures: plan a stack config through the real program under mocks."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ai_serving.engine.project import Project, load_project, read_stack_config
from ai_serving.engine.runner import ProgramRun, run_program

from .stackdata import as_decrypted, stack_name

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _nothing_stays_frozen() -> Iterator[None]:
    """`plan --all` in this process (one worker) freezes what is alive after its first stack (gc.freeze): in a
    test run that would keep every test's objects from then on out of the collector, and their leaks would
    never warn (pyproject's filterwarnings). Unfrozen after each test."""
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def project() -> Project:
    """The ai-serving project at the repository root."""
    return load_project(ROOT)


@pytest.fixture
def plan_stack(project: Project, tmp_path: Path) -> Callable[..., ProgramRun]:
    """Plan a ``config:`` mapping: written to a stack file, read like the engine, run under mocks."""

    def plan(config: dict[str, Any], stack: str | None = None) -> ProgramRun:
        stack = stack or stack_name(config)
        path = tmp_path / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
        return run_program(project, stack, as_decrypted(read_stack_config(project, stack, path)))

    return plan

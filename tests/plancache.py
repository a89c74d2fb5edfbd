"""Plan each distinct config once per test session: a run is deterministic and tests only read it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ai_serving.engine.runner import ProgramRun

_RUNS: dict[str, ProgramRun] = {}


def planned(plan_stack: Callable[..., ProgramRun], config: dict[str, Any]) -> ProgramRun:
    """``plan_stack(config)``, reusing an earlier run of an equal config. Do not mutate the result."""
    key = json.dumps(config, sort_keys=True)
    if key not in _RUNS:
        _RUNS[key] = plan_stack(config)
    return _RUNS[key]


def planned_gpu_only(plan_stack: Callable[..., ProgramRun], environment: str = "dev", **network: Any) -> ProgramRun:
    """Plan a GPU-only stack (no OpenAI) with ``network`` keys overridden; it must plan cleanly."""
    from .stackdata import base_config

    cfg = base_config(environment, openai=False)
    cfg["ai-serving:network"].update(network)
    run = planned(plan_stack, cfg)
    assert run.exit_code == 0, run.errors
    return run

"""Plan each distinct config once per test session: a run is deterministic and tests only read it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ai_serving.runner import ProgramRun

_RUNS: dict[str, ProgramRun] = {}


def planned(plan_stack: Callable[..., ProgramRun], config: dict[str, Any]) -> ProgramRun:
    """``plan_stack(config)``, reusing an earlier run of an equal config. Do not mutate the result."""
    key = json.dumps(config, sort_keys=True)
    if key not in _RUNS:
        _RUNS[key] = plan_stack(config)
    return _RUNS[key]

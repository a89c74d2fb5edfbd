"""Property-based: any mutation of a valid stack file is either valid or ONE clean ConfigError."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_serving.engine.project import marshal
from infra.config import ConfigError, StackConfig, raw_from_config_map, validate

from .stackdata import base_config

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=30), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


BASE = base_config("dev")
PATHS = _paths(BASE)


@st.composite
def mutated(draw) -> dict:
    cfg = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(cfg)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = cfg
        for key in path[:-1]:
            parent = parent[key]
        op = draw(st.sampled_from(["drop", "retype", "rename", "scalar"]))
        key = path[-1]
        if op == "drop":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            parent[str(key) + draw(st.sampled_from(["x", "_", "s", "Z"]))] = parent.pop(key)
        elif op == "retype":
            value = parent[key]
            parent[key] = [value] if not isinstance(value, list) else {"k": value}
        else:
            parent[key] = draw(SCALARS)
    return cfg


def _engine_view(cfg: dict) -> dict[str, str]:
    return {k: marshal(v) for k, v in cfg.items()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_give_a_config_or_a_clean_error(cfg):
    try:
        result = validate(raw_from_config_map(_engine_view(cfg)), stack_name="team-t-dev")
    except ConfigError as exc:
        text = str(exc)
        assert exc.issues, "an error lists at least one problem"
        for issue in exc.issues:
            assert issue.path and issue.message
        assert "Traceback" not in text
    else:
        assert isinstance(result, StackConfig)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(PATHS))
def test_dropping_a_required_key_names_it(path):
    cfg = copy.deepcopy(BASE)
    parent = cfg
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    try:
        validate(raw_from_config_map(_engine_view(cfg)), stack_name="team-t-dev")
    except ConfigError as exc:
        top = path[0]
        assert any(issue.path.startswith(top) or issue.path.startswith("ai-serving:openai") for issue in exc.issues), exc

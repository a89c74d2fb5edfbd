"""The one JSON reader every tool uses for files others may have written: its depth limit, which it
checks for every kind of document (policy config, waivers.json, plan.json, summary.json)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai_serving.json_file import deeper_than, key_path, read_json_file
from ai_serving.outcome import UsageError

from .cli_helpers import cli


def _nested(levels: int, leaf: object = 1) -> object:
    value = leaf
    for i in range(levels):
        value = {"k": value} if i % 2 else [value]
    return value


def _depth(value: object) -> int:
    """Levels of objects and arrays, recursively (the values here are shallow)."""
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def test_the_limit_counts_objects_and_arrays_and_names_the_path_of_the_first_too_deep_one():
    assert deeper_than(_nested(3), 3) is None
    assert deeper_than({"a": [1, {"b": "scalar"}]}, 3) is None  # scalars are not a level
    assert deeper_than({"a": [{"b": []}]}, 3) == ("a", 0, "b")  # an empty array is one
    assert deeper_than([[[[1]]]], 3) == (0, 0, 0)
    assert deeper_than("text", 0) is None and deeper_than({}, 0) == ()


json_values = st.recursive(st.none() | st.integers() | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                                      max_size=3),
                           max_leaves=20)


@given(json_values, st.integers(min_value=0, max_value=6))
def test_the_limit_agrees_with_a_plain_recursive_count(value, limit):
    where = deeper_than(value, limit)
    assert (where is None) == (_depth(value) <= limit)
    if where is not None:  # the path leads to an object or array at level limit + 1
        node = value
        for key in where:
            node = node[key]
        assert isinstance(node, (dict, list)) and len(where) == limit


def test_a_document_that_decodes_but_nests_deeper_than_its_kind_is_one_message_naming_the_path(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"resources": [_nested(40)]}), encoding="utf-8")
    with pytest.raises(UsageError) as err:
        read_json_file(path, what="plan.json", max_bytes=1 << 20, max_depth=12, hint="; re-run it")
    assert str(err.value) == (f"{path}: not a readable plan.json: nested too deeply (more than 12 levels) at "
                              f"{key_path(('resources', 0, 'k', 0, 'k', 0, 'k', 0))}…; re-run it")
    assert read_json_file(path, what="plan.json", max_bytes=1 << 20, max_depth=42) == {"resources": [_nested(40)]}


def test_a_plan_json_nested_past_the_report_limit_is_exit_2_naming_the_file(tmp_path, capsys):
    stack = tmp_path / "team-a-dev"
    stack.mkdir()
    (stack / "plan.json").write_text(json.dumps({"stack": "team-a-dev", "resources": [_nested(150)]}),
                                     encoding="utf-8")
    assert cli("diff", stack, stack) == 2
    err = capsys.readouterr().err
    assert f"{stack / 'plan.json'}: not a readable plan.json: nested too deeply (more than 100 levels) at resources[0]" \
        in err and "Traceback" not in err, err[:2000]


# --- a key written twice ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "where"), [
    ('{"cs-07": "advisory", "cs-07": "disabled"}', "cs-07"),
    ('{"a": {"b": [1, {"c": 1, "c": 2}]}, "x": 1}', "a.b[1].c"),
    # The first value of the doubled key held a doubled key itself: named by the outer one, which is kept.
    ('{"p": {"q": 1, "q": 2}, "p": 3}', "p"),
])
def test_a_key_written_twice_is_one_message_naming_its_path(tmp_path, text, where):
    """json.loads keeps the last value silently: a policy configured twice ran with the second setting, a
    reviewer having read the first."""
    path = tmp_path / "policy-config.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as err:
        read_json_file(path, what="policy config file", max_bytes=1 << 20, max_depth=8, hint="; fix it")
    assert str(err.value) == (f"{path}: not a readable policy config file: key {where!r} is written twice in one "
                              "object; expected each key once (JSON would keep the last one silently); fix it")


def test_a_doubled_key_that_is_key_material_is_not_quoted(tmp_path):
    key = "-----BEGIN OPENSSH PRIVATE KEY-----"
    path = tmp_path / "waivers.json"
    path.write_text(json.dumps({"x": 1}).replace('"x": 1', f'"{key}": 1, "{key}": 2'), encoding="utf-8")
    with pytest.raises(UsageError) as err:
        read_json_file(path, what="waivers.json", max_bytes=1 << 20, max_depth=3)
    assert "BEGIN OPENSSH" not in str(err.value) and "a PRIVATE key (not shown" in str(err.value), err.value


def test_a_plan_json_with_a_doubled_key_is_exit_2_for_diff(tmp_path, capsys):
    stack = tmp_path / "team-a-dev"
    stack.mkdir()
    (stack / "plan.json").write_text('{"stack": "team-a-dev", "resources": [], "resources": []}', encoding="utf-8")
    assert cli("diff", stack, stack) == 2
    err = capsys.readouterr().err
    assert f"{stack / 'plan.json'}: not a readable plan.json: key 'resources' is written twice" in err, err


def test_the_shared_walk_visits_every_container_in_document_order_with_its_path():
    from ai_serving.json_file import containers, key_material_at

    doc = {"a": [1, {"b": []}], "c": {}}
    assert [at for _, at in containers(doc)] == [(), ("a",), ("a", 1), ("a", 1, "b"), ("c",)]
    key = "-----BEGIN RSA PRIVATE KEY-----"
    assert key_material_at({"p": {"allowed": ["OpenAI", key]}}) == (("p", "allowed", 1), key)
    assert key_material_at({"p": {key: 1}}) == (("p",), key)
    assert key_material_at(key) == ((), key) and key_material_at({"p": ["OpenAI"]}) is None

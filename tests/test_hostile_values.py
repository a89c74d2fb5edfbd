"""Hostile values: numbers too large to convert, hostile waivers.json files, secrets other than PEM keys.

Each ends the way every bad input ends (``tests/test_hostile_input.py``): exit code 2, no traceback,
one message naming the file (and line and key where there is one), bounded output, and never the
secret it was given.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .cli_helpers import ROOT
from .test_hostile_input import MAX_OUTPUT_CHARS, _run_cli

STACK = ROOT / "stacks" / "Pulumi.team-a-dev.yaml"

# Python refuses to turn an integer of more than 4,300 decimal digits into text or back: a decimal one
# failed in the YAML constructor, a hex or base-60 one later, when the engine wrote it as JSON.
HUGE_INTS = {
    "decimal": "9" * 5000,
    "hex": "0x" + "f" * 4000,
    "base60": ":".join(["59"] * 2500),
}


def _stack_dir_with(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    text = STACK.read_text(encoding="utf-8")
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    stack_dir = tmp_path / "stacks"
    stack_dir.mkdir()
    (stack_dir / STACK.name).write_text(text.replace(old, new, 1), encoding="utf-8")
    return stack_dir, line


def _clean_exit_2(code: int, out: str) -> None:
    assert code == 2, out[:2000]
    assert "Traceback" not in out, out[-2000:]
    assert len(out) < MAX_OUTPUT_CHARS, f"{len(out)} characters of output"


@pytest.mark.parametrize("command", ["validate", "plan", "cost"])
@pytest.mark.parametrize("kind", sorted(HUGE_INTS))
def test_a_huge_integer_in_a_stack_file_is_one_message_with_its_line_and_key(tmp_path, kind, command):
    stack_dir, line = _stack_dir_with(tmp_path, "maxInstances: 2", "maxInstances: " + HUGE_INTS[kind])
    extra = ["--no-policy"] if command == "plan" else []
    code, out = _run_cli(command, *(["team-a-dev"] if command != "validate" else []), "--stack-dir", stack_dir,
                         *extra, timeout=120)
    _clean_exit_2(code, out)
    assert f"{STACK.name}:{line}: config.ai-serving:gpuPool.maxInstances: this number is too large" in out, out
    assert "expected an integer of at most 100 characters" in out
    assert HUGE_INTS[kind][:200] not in out  # bounded: the value is not echoed


def test_a_huge_integer_in_plan_all_names_the_file_and_line(tmp_path):
    stack_dir, line = _stack_dir_with(tmp_path, "maxInstances: 2", "maxInstances: " + HUGE_INTS["base60"])
    code, out = _run_cli("plan", "--all", "--no-policy", "--workers", "1", "--stack-dir", stack_dir,
                         "--out", tmp_path / "out", timeout=120)
    _clean_exit_2(code, out)
    assert f"{STACK.name}:{line}: config.ai-serving:gpuPool.maxInstances: this number is too large" in out, out


@pytest.mark.parametrize("kind", sorted(HUGE_INTS))
def test_a_huge_integer_as_a_project_default_is_one_message_with_its_line_and_key(tmp_path, kind):
    text = (ROOT / "Pulumi.yaml").read_text(encoding="utf-8")
    text += f"config:\n  ai-serving:boom:\n    default: {HUGE_INTS[kind]}\n"
    root = tmp_path / "proj"
    (root / "stacks").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text(text, encoding="utf-8")
    line = len(text.splitlines())
    code, out = _run_cli("validate", "--project", root, timeout=120)
    _clean_exit_2(code, out)
    assert f"Pulumi.yaml:{line}: config.ai-serving:boom.default: this number is too large" in out, out


def test_an_explicit_int_tag_on_text_is_one_message(tmp_path):
    stack_dir, line = _stack_dir_with(tmp_path, "maxInstances: 2", "maxInstances: !!int two")
    code, out = _run_cli("validate", "--stack-dir", stack_dir, timeout=120)
    _clean_exit_2(code, out)
    assert f"{STACK.name}:{line}: (yaml): 'two' is not a valid integer" in out, out


def _pack_with_waivers(tmp_path: Path, text: str) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(ROOT / "policies", pack, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (pack / "waivers.json").write_text(text, encoding="utf-8")
    return pack


WAIVERS_CASES = [
    # The decoder recursed once per level: a RecursionError traceback.
    ("deep-nesting", "[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
    # enumerate(5): a TypeError traceback.
    ("allowances-a-number", '{"maxDays": 90, "broadResourceAllowances": 5}',
     "waivers.json.broadResourceAllowances: expected a list of {stack, rule, resource} entries; found int 5"),
    ("allowances-a-string", '{"maxDays": 90, "broadResourceAllowances": "team-a-dev"}',
     "waivers.json.broadResourceAllowances: expected a list of {stack, rule, resource} entries; found str"),
    # The value was quoted whole: a message as long as the file.
    ("max-days-huge-string", '{"maxDays": "' + "A" * 200_000 + '"}',
     "waivers.json.maxDays: expected a whole number of days from 1 to 3650; found str 'AAAA"),
    # Read whole, however large.
    ("too-large", '{"maxDays": "' + "A" * 1_000_000 + '"}', "the file is 1,000,015 bytes; waivers.json is at most"),
]


@pytest.mark.parametrize(("name", "text", "expect"), WAIVERS_CASES, ids=[c[0] for c in WAIVERS_CASES])
def test_a_hostile_waivers_json_is_a_clean_exit_2(tmp_path, name, text, expect):
    pack = _pack_with_waivers(tmp_path, text)
    code, out = _run_cli("plan", "team-a-dev", "--policy-pack", pack, timeout=120)
    _clean_exit_2(code, out)
    assert len(out) < 5000, f"{len(out)} characters of output"
    assert f"{pack / 'waivers.json'}" in out and expect in out, out[:2000]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_waivers_json_that_is_not_a_regular_file_is_one_message(tmp_path, kind):
    import os

    pack = _pack_with_waivers(tmp_path, "{}")
    target = pack / "waivers.json"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    code, out = _run_cli("plan", "team-a-dev", "--policy-pack", pack, timeout=120)
    _clean_exit_2(code, out)
    assert f"{target}: cannot read the file: it is a" in out and "not a regular file" in out, out[:2000]

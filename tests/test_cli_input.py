"""The CLI's own arguments: stack names, output folders, the policy pack and its config, and what it prints.

Each is input like a stack file: a bad one ends with one clear message and exit code 2, never a traceback,
never a write or a read outside where it belongs, never raw control characters on the terminal.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .cli_helpers import ROOT, cli
from .test_plan_all_isolation import _project

MAX_ERROR_CHARS = 600


def _broken_pack(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("junk: [\n", encoding="utf-8")  # and no __main__.py
    return pack


# --- the policy pack and its config ------------------------------------------------------------------------

def test_policies_with_a_pack_that_does_not_start_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli("policies", "--policy-pack", _broken_pack(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: policy pack {tmp_path / 'pack'} did not start: ImportError: ")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_plan_with_a_pack_that_does_not_start_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli("plan", "team-a-dev", "--quiet", "--policy-pack", _broken_pack(tmp_path)) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if not line.startswith("plan team-a-dev: ")]
    assert errors == [f"error: policy pack {tmp_path / 'pack'} did not start: "
                      f"ImportError: can't find '__main__' module in '{tmp_path / 'pack'}'"], err


def test_a_pack_that_prints_something_else_and_runs_on_is_stopped_and_quoted(tmp_path, capsys):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\n", encoding="utf-8")
    (pack / "__main__.py").write_text("import time\nprint('hello\\x1b[31m', flush=True)\ntime.sleep(600)\n",
                                      encoding="utf-8")
    assert cli("policies", "--policy-pack", pack) == 2
    err = capsys.readouterr().err
    assert "did not start: it printed 'hello\\x1b[31m' instead of its port" in err, err


def test_a_pack_that_dies_during_analyze_of_one_stack_is_exit_1_in_one_line(tmp_path, capsys):
    root = _project(tmp_path, ["killpack1"])
    code = cli("plan", "killpack1-dev", "--quiet", "--project", root, "--policy-pack", root / "pack")
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    assert "error: the policy pack process" in err and "died during Analyze: killed by SIGKILL" in err, err


def test_a_policy_config_nested_100000_deep_is_exit_2_naming_the_file(tmp_path, capsys):
    config = tmp_path / "deep.json"
    config.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert cli("plan", "team-a-dev", "--policy-pack-config", config) == 2
    err = capsys.readouterr().err
    assert f"error: {config}: JSON nested too deeply" in err and "Traceback" not in err, err[:2000]


def test_a_policy_config_deeper_than_the_limit_is_refused_before_the_pack_sees_it(tmp_path, capsys):
    config = tmp_path / "deep.json"
    config.write_text('{"x": ' + "[" * 40 + "1" + "]" * 40 + "}", encoding="utf-8")
    assert cli("plan", "team-a-dev", "--policy-pack-config", config) == 2
    assert f"{config}: JSON nested too deeply (more than 32 levels)" in capsys.readouterr().err


# --- stack names ---------------------------------------------------------------------------------------------

def test_validate_does_not_read_a_file_outside_the_stack_directory(tmp_path, capsys):
    stack_dir = tmp_path / "tv"
    (stack_dir / "Pulumi.x").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    text = (ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_text(encoding="utf-8")
    (outside / "Pulumi.secretfile.yaml").write_text(text.replace("team-a", "team-z"), encoding="utf-8")
    assert cli("validate", "--stack-dir", stack_dir, "x/../../outside/Pulumi.secretfile") == 2
    err = capsys.readouterr().err
    assert "no stack 'x/../../outside/Pulumi.secretfile': not a stack name; expected <team>-<environment>" in err
    assert "secretfile.yaml" not in err and "team-z" not in err, err  # the file was not read


@pytest.mark.parametrize("command", ["validate", "plan", "cost", "rehearse"])
def test_every_command_that_takes_a_stack_refuses_an_unknown_one_the_same_way(command, capsys):
    assert cli(command, "team-zz-dev", "--project", ROOT) == 2
    err = capsys.readouterr().err
    assert f"no stack 'team-zz-dev' in {ROOT / 'stacks'}; known: team-a-dev, team-a-prod, team-b-dev" in err, err


@pytest.mark.parametrize("command", ["validate", "plan", "cost", "rehearse"])
@pytest.mark.parametrize("name", ["team-a-dev\n::error::injected", "../stacks/Pulumi.team-a-dev", "Team-A-dev",
                                  "a" * 5000, "team-a-dev\x1b[2J"])
def test_every_command_that_takes_a_stack_refuses_a_name_that_is_not_one(command, name, capsys):
    assert cli(command, name, "--project", ROOT) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no stack '") and ": not a stack name; expected" in err, err[:2000]
    assert len(err) < MAX_ERROR_CHARS, f"{len(err)} characters"
    assert not any(line.startswith("::") for line in err.splitlines()), err
    assert "\x1b" not in err
    if "injected" in name:
        assert "'team-a-dev\\n::error::injected'" in err, err


def test_validate_of_every_stack_refuses_a_stack_file_whose_name_is_not_a_stack_name(tmp_path, capsys):
    for name in ("team-a-dev", "a\n::error::x"):
        shutil.copy(ROOT / "stacks" / "Pulumi.team-a-dev.yaml", tmp_path / f"Pulumi.{name}.yaml")
    assert cli("validate", "--stack-dir", tmp_path) == 2
    captured = capsys.readouterr()
    assert captured.out == "ok       team-a-dev\n"
    assert "stack file for 'a\\n::error::x': not a stack name" in captured.err
    assert not any(line.startswith("::") for line in captured.err.splitlines()), captured.err

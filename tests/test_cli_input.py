"""The CLI's own arguments: stack names, output folders, the policy pack and its config, and what it prints.

Each is input like a stack file: a bad one ends with one clear message and exit code 2, never a traceback,
never a write or a read outside where it belongs, never raw control characters on the terminal.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ai_serving.cli import main, printable
from ai_serving.outcome import UsageError
from ai_serving.output_folders import PLAN_FILES, check_out_folder, check_report_folder

from .cli_helpers import ROOT, cli, write_stack
from .stackdata import base_config
from .test_hostile_values import API_KEY
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
    assert f"error: {config}: not a readable policy config file: nested too deeply" in err and "Traceback" not in err, err[:2000]


def test_a_policy_config_deeper_than_the_limit_is_refused_before_the_pack_sees_it(tmp_path, capsys):
    config = tmp_path / "deep.json"
    config.write_text('{"x": ' + "[" * 40 + "1" + "]" * 40 + "}", encoding="utf-8")
    assert cli("plan", "team-a-dev", "--policy-pack-config", config) == 2
    assert f"{config}: not a readable policy config file: nested too deeply (more than 32 levels)" in capsys.readouterr().err


@pytest.mark.parametrize("make", [lambda p: p.symlink_to("/dev/zero"), lambda p: os.mkfifo(p), lambda p: p.mkdir()],
                         ids=["dev-zero", "fifo", "directory"])
def test_a_policy_config_that_is_not_a_regular_file_is_exit_2_not_a_hang(tmp_path, capsys, make):
    # It was called "no such policy config file", which it is not: say what it is, and never open it.
    config = tmp_path / "pc.json"
    make(config)
    assert cli("plan", "team-a-dev", "--policy-pack-config", config) == 2
    err = capsys.readouterr().err
    assert f"error: {config}: not a readable policy config file: cannot read the file: it is a" in err and "must be a plain file" in err, err


def test_a_policy_config_larger_than_the_limit_is_exit_2(tmp_path, capsys):
    config = tmp_path / "pc.json"
    config.write_text('{"x": "' + "a" * (1024 * 1024) + '"}', encoding="utf-8")
    assert cli("plan", "team-a-dev", "--policy-pack-config", config) == 2
    assert f"{config}: not a readable policy config file: the file is 1,048,585 bytes; policy config file is at most 1,048,576" in capsys.readouterr().err


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


# --- output folders ------------------------------------------------------------------------------------------

def test_plan_out_into_the_stack_directory_is_refused_and_writes_nothing(tmp_path, capsys):
    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stacks)
    before = sorted(p.name for p in stacks.iterdir())
    assert cli("plan", "team-a-dev", "--no-policy", "--stack-dir", stacks, "--out", stacks) == 2
    err = capsys.readouterr().err
    assert f"--out {stacks}: would be the stack directory" in err and "name a folder outside it" in err, err
    assert sorted(p.name for p in stacks.iterdir()) == before


def test_plan_out_may_be_new_empty_or_an_earlier_plans_folder_and_nothing_else(tmp_path):
    assert check_out_folder(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    check_out_folder(tmp_path / "empty")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    for name in (*PLAN_FILES, ".plan.json.abc123.tmp"):  # the last: an atomic write that was killed
        (earlier / name).write_text("{}", encoding="utf-8")
    check_out_folder(earlier)
    for foreign in ("notes.txt", "sub/"):
        folder = tmp_path / f"with-{foreign.strip('/')}"
        shutil.copytree(earlier, folder)
        (folder / foreign).mkdir() if foreign.endswith("/") else (folder / foreign).write_text("x")
        with pytest.raises(UsageError, match="not empty and not a plan output"):
            check_out_folder(folder)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="exists and is not a folder"):
        check_out_folder(tmp_path / "file")



def test_a_plan_leaves_only_its_own_files_in_its_out_folder(tmp_path, capsys):
    # An earlier plan's files must not pass for this one's: report, diff and the deploy read them.
    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stacks)
    out = tmp_path / "out"
    assert cli("plan", "team-a-dev", "--stack-dir", stacks, "--out", out, "--quiet") == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(PLAN_FILES)
    # Without the pack: plan.json only; the old compliance report and deploy config go.
    assert cli("plan", "team-a-dev", "--no-policy", "--stack-dir", stacks, "--out", out, "--quiet") == 0
    assert sorted(p.name for p in out.iterdir()) == ["plan.json"]
    # A plan that fails leaves nothing that looks like a current plan.
    stack_file = stacks / "Pulumi.team-a-dev.yaml"
    stack_file.write_text(stack_file.read_text(encoding="utf-8") + "  ai-serving:nonsense: 1\n", encoding="utf-8")
    assert cli("plan", "team-a-dev", "--stack-dir", stacks, "--out", out, "--quiet") == 2
    assert list(out.iterdir()) == []
    capsys.readouterr()

def test_report_out_into_a_stack_directory_or_an_unrelated_folder_is_refused(tmp_path, capsys):
    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stacks)
    assert cli("report", "--out", stacks) == 2
    assert f"--out {stacks}: not a plan output folder (no summary.json" in capsys.readouterr().err
    assert not (stacks / "report.md").exists()
    unrelated = tmp_path / "home"
    (unrelated / "team-a-dev").mkdir(parents=True)
    (unrelated / "team-a-dev" / "plan.json").write_text("{}")
    (unrelated / ".bashrc").write_text("x")
    with pytest.raises(UsageError, match="'.bashrc', which no plan wrote"):
        check_report_folder(unrelated)


def test_report_out_may_be_a_plan_all_output_or_a_folder_of_stack_plans(tmp_path):
    with_summary = tmp_path / "all"
    with_summary.mkdir()
    (with_summary / "summary.json").write_text("{}")
    (with_summary / "anything").write_text("x")  # summary.json says it is plan --all's: the report reads it
    check_report_folder(with_summary)
    stacks = tmp_path / "stacks"  # `make plan` of two stacks: out/<stack>/plan.json; an incomplete report
    for stack in ("team-a-dev", "team-b-dev"):
        (stacks / stack).mkdir(parents=True)
        (stacks / stack / "plan.json").write_text("{}")
    (stacks / "report.md").write_text("earlier report")
    check_report_folder(stacks)
    check_report_folder(tmp_path / "missing")  # the report says there is no such plan output


# --- what the CLI prints -------------------------------------------------------------------------------------

def test_printable_escapes_every_control_character_but_newline():
    assert printable("a\x1b[31mb\x07c\rd\x9be\x00f\x7fg\th\ni") == "a\\x1b[31mb\\x07c\\rd\\x9be\\x00f\\x7fg\\th\ni"
    assert printable("team-a-dev: ü, 🆕, [x]") == "team-a-dev: ü, 🆕, [x]"


def test_an_error_quoting_a_path_with_escape_sequences_prints_them_escaped(tmp_path, capsys):
    config = tmp_path / "pc\x1b]0;owned\x07\r.json"
    assert cli("plan", "team-a-dev", "--policy-pack-config", config) == 2
    err = capsys.readouterr().err
    assert "pc\\x1b]0;owned\\x07\\r.json: no such policy config file" in err, err
    assert not {"\x1b", "\x07", "\r"} & set(err)


def test_argparse_errors_print_the_command_line_escaped(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli("validate", "--\x1b[2Jx")
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --\\x1b[2Jx" in err and "\x1b" not in err, err


def test_key_paths_in_errors_print_verbatim_not_as_emoji(tmp_path, capsys):
    text = (ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_text(encoding="utf-8")
    stack = tmp_path / "Pulumi.team-a-dev.yaml"
    stack.write_text(text + "  ai-serving:new: 1\n  azure-native:key: abc\n", encoding="utf-8")
    assert cli("validate", "--stack-dir", tmp_path) == 2
    err = capsys.readouterr().err
    assert ": ai-serving:new: unknown key 'ai-serving:new'" in err, err
    assert ": azure-native:key: 'azure-native:key' may not be set" in err, err
    assert "🆕" not in err and "🔑" not in err


@pytest.mark.parametrize("argv", [
    lambda loop: ["validate", "--stack-dir", loop],
    lambda loop: ["validate", "--project", loop],
    lambda loop: ["report", "--out", loop],
    lambda loop: ["diff", loop, loop],
], ids=["stack-dir", "project", "report-out", "diff"])
def test_a_path_argument_that_is_a_symlink_loop_is_one_usage_error(tmp_path, capsys, argv):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")

    assert main([str(a) for a in argv(tmp_path / "a")]) == 2

    err = capsys.readouterr().err
    assert "cannot follow the path" in err and str(tmp_path / "a") in err and "Traceback" not in err


# --- the environment -----------------------------------------------------------------------------------------

def _plan_json(capsys, *argv: str | Path) -> dict:
    import json

    assert cli("plan", *argv, "--no-policy", "--output", "json") in (0, 1), capsys.readouterr().err[-2000:]
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("inherited", [
    # An account the file does not declare, and a key it does not have: planned and reported as the file's.
    '{"ai-serving:openai": "{\\"kind\\": \\"OpenAI\\", \\"deployments\\": []}", "ai-serving:bogus": "1"}',
    "garbage",  # "program failed: JSONDecodeError", exit 1
], ids=["extra-config", "not-json"])
def test_an_inherited_pulumi_config_does_not_change_the_offline_plan(capsys, monkeypatch, inherited):
    """The language host sets PULUMI_CONFIG to the stack's config for the program, whatever was there: the
    offline run does the same, so it plans the stack file, as `pulumi preview` would."""
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    expected = _plan_json(capsys, "team-b-dev")
    monkeypatch.setenv("PULUMI_CONFIG", inherited)
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", '["ai-serving:team"]')

    found = _plan_json(capsys, "team-b-dev")

    assert found["status"] == "ok" and found["errors"] == [], found["errors"]
    assert found["resources"] == expected["resources"]
    assert os.environ["PULUMI_CONFIG"] == inherited  # given back to the process after the run
    assert os.environ["PULUMI_CONFIG_SECRET_KEYS"] == '["ai-serving:team"]'


# --- key material in the policy config -----------------------------------------------------------------------

OPENSSH_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
               "-----END OPENSSH PRIVATE KEY-----")


@pytest.mark.parametrize(("config", "where"), [
    ({"cs-07-ai-account-allowed-kind": {"allowedKinds": OPENSSH_KEY}}, "cs-07-ai-account-allowed-kind.allowedKinds"),
    ({"cs-07-ai-account-allowed-kind": {"allowedKinds": ["OpenAI", OPENSSH_KEY]}},
     "cs-07-ai-account-allowed-kind.allowedKinds[1]"),  # valid for the schema: the rule quoted it in a finding
    ({"cs-07-ai-account-allowed-kind": OPENSSH_KEY}, "cs-07-ai-account-allowed-kind"),
    ({OPENSSH_KEY: "advisory"}, "(top level)"),
], ids=["wrong-type", "in-a-valid-list", "as-a-level", "as-a-policy-name"])
def test_key_material_in_the_policy_config_is_refused_and_never_shown(tmp_path, capsys, config, where):
    import json

    path = tmp_path / "pc.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    assert cli("plan", "team-a-dev", "--quiet", "--policy-pack-config", path) == 2
    err = capsys.readouterr().err
    assert f"error: {path}: {where}: expected public policy settings; found a PRIVATE key (not shown" in err, err
    assert "BEGIN OPENSSH" not in err and "b3BlbnNzaC1rZXktdjE" not in err


def _pack_info() -> bytes:
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    schema = struct_pb2.Struct()
    schema.update({"allowedKinds": {"type": "array", "items": {"type": "string"}},
                   "limits": {"type": "object", "additionalProperties": False}})
    policy = analyzer_pb2.PolicyInfo(name="cs-07", enforcementLevel=analyzer_pb2.ADVISORY,
                                     configSchema=analyzer_pb2.PolicyConfigSchema(properties=schema))
    return analyzer_pb2.AnalyzerInfo(name="pack", policies=[policy]).SerializeToString()


@pytest.mark.parametrize(("config", "expect"), [
    ({"cs-07": {"allowedKinds": OPENSSH_KEY}},
     "policy config: cs-07.allowedKinds: a PRIVATE key (not shown; "),
    ({"cs-07": {"allowedKinds": {"k": OPENSSH_KEY}}},
     "policy config: cs-07.allowedKinds: a PRIVATE key (not shown; "),
    # jsonschema quotes the key alone ("... ('<key>' was unexpected)"), not the value's repr.
    ({"cs-07": {"limits": {OPENSSH_KEY: 1}}}, "policy config: cs-07.limits: does not satisfy the schema's "
                                             "'additionalProperties' rule; found a PRIVATE key (not shown"),
    ({"cs-07": OPENSSH_KEY}, "policy config: cs-07: unknown enforcement level a PRIVATE key (not shown"),
    ({"cs-07": "advisory", OPENSSH_KEY: "advisory"}, "policy config names unknown policies: a PRIVATE key (not shown"),
], ids=["schema", "schema-nested", "schema-key", "level", "unknown-policy"])
def test_the_packs_config_check_never_quotes_key_material(config, expect):
    """Behind the CLI's own refusal: whoever hands the pack a config (plan --all's workers, a test) gets
    messages that quote a value as `shown` does, not jsonschema's repr or `!r`."""
    import json

    from ai_serving.engine.analyzer import _reconciled

    with pytest.raises(UsageError) as err:
        _reconciled(_pack_info(), json.dumps(config))
    assert str(err.value).startswith(expect), err.value
    assert "BEGIN OPENSSH" not in str(err.value) and "b3BlbnNzaC1rZXktdjE" not in str(err.value)


# --- every stack of a stack directory ------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "why"), [
    (lambda t: t / "missing", "does not exist"),
    (lambda t: Path("/etc/passwd"), "is not a folder"),
    (lambda t: t, "holds no stack file (Pulumi.<team>-<environment>.yaml)"),
], ids=["missing", "a-file", "empty"])
def test_validate_and_plan_all_of_a_stack_directory_without_stacks_are_one_usage_error(tmp_path, capsys, make, why):
    """validate checked nothing, printed nothing and passed (exit 0) where plan --all refused; a command naming a
    stack said only "no stack 'team-a-dev' in DIR; known: (none)", not that DIR is missing or a file."""
    stack_dir = make(tmp_path)
    for argv in (["validate"], ["plan", "--all", "--no-policy"], ["validate", "team-a-dev"],
                 ["plan", "team-a-dev", "--no-policy"], ["cost", "team-a-dev", "--project", ROOT],
                 ["rehearse", "team-a-dev", "--project", ROOT]):
        assert cli(*argv, "--stack-dir", stack_dir) == 2
        captured = capsys.readouterr()
        assert captured.err == f"error: stack directory {stack_dir} {why}: no stack to check\n", captured.err
        assert captured.out == ""


# --- python -m ai_serving.supply ------------------------------------------------------------------------------

def test_supply_reads_a_broken_project_as_the_cli_does(tmp_path, monkeypatch, capsys):
    from ai_serving import supply

    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text(encoding="utf-8") + "name: [x\n",
                                      encoding="utf-8")
    monkeypatch.setattr(supply, "ROOT", root)
    assert supply.main(["team-a-dev"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {root / 'Pulumi.yaml'}:") and "YAML syntax error" in captured.err
    assert len(captured.err.strip().splitlines()) == 1 and captured.out == "", captured.err


@pytest.mark.parametrize("name", ["team\x1b[2J", "../stacks/Pulumi.team-a-dev", ""])
def test_supply_checks_the_stack_name_as_every_command_does(capsys, name):
    from ai_serving import supply

    assert supply.main([name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no stack '") and ": not a stack name; expected" in err, err
    assert "\x1b" not in err


# --- options that contradict each other, or are empty -----------------------------------------------------

@pytest.mark.parametrize(("argv", "expect"), [
    (["plan", "../../etc/passwd", "--all", "--no-policy"],
     "name a stack or pass --all, not both (found the stack '../../etc/passwd' and --all)"),
    (["plan", "team-a-dev", "--no-policy", "--policy-pack", "/nonexistent"],
     "--no-policy skips the policy pack: not with --policy-pack"),
    (["plan", "team-a-dev", "--no-policy", "--policy-pack-config", "/nonexistent"],
     "--no-policy skips the policy pack: not with --policy-pack-config"),
    (["plan", "team-a-dev", "--no-policy", "--workers", "7"],
     "--workers is for `plan --all` (one stack is planned in this process)"),
    (["plan", "team-a-dev", "--no-policy", "--gate", "team-a-dev"],
     "--gate is for `plan --all` (a single plan's exit code is its stack's)"),
], ids=["stack-and-all", "no-policy-and-pack", "no-policy-and-config", "workers-without-all", "gate-without-all"])
def test_plan_options_that_contradict_each_other_are_a_usage_error(capsys, argv, expect):
    assert cli(*argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {expect}\n" and captured.out == "", captured.err


@pytest.mark.parametrize(("option", "value"), [("--location", ""), ("--cost-center", " "), ("--owner", ""),
                                                ("--gpu", "")])
def test_new_team_refuses_an_empty_option_and_writes_nothing(tmp_path, capsys, option, value):
    """`--location ""` (an unset shell variable) silently scaffolded swedencentral."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    assert main(["new-team", "team-c", "--env", "dev", option, value, "--stack-dir", str(stacks)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {option} {value!r}: expected a value; leave the option out for its default\n", err
    assert list(stacks.iterdir()) == []


@pytest.mark.parametrize(("argv", "option", "reads_as"), [
    (["--cost-center", "null"], "--cost-center", "a YAML null"),
    (["--cost-center", "true"], "--cost-center", "a YAML boolean"),
    (["--cost-center", '["CC-1", "CC-2"]'], "--cost-center", "a YAML list"),
    (["--cost-center", "{}"], "--cost-center", "a YAML mapping"),
    (["null", "--env", "dev"], "team name", "a YAML null"),
    (["false", "--env", "dev"], "team name", "a YAML boolean"),
], ids=["cost-center-null", "cost-center-true", "cost-center-list", "cost-center-map", "team-null", "team-false"])
def test_new_team_refuses_text_the_stack_config_would_not_read_as_text(tmp_path, capsys, argv, option, reads_as):
    """Quoted in the scaffold ("null"), but the engine hands the program the text null, which the config cannot
    tell from `costCenter: null`: the scaffold was written, refused as "Input should be a valid string; found
    None" and removed."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    args = argv if argv[0] != "--cost-center" else ["team-c", "--env", "dev", *argv]
    assert main(["new-team", *args, "--stack-dir", str(stacks)]) == 2
    err = capsys.readouterr().err
    value = args[args.index(option) + 1] if option.startswith("--") else args[0]
    assert err.startswith(f"error: {option}: expected text; found {value!r}, which the stack config reads as "
                          f"{reads_as} "), err
    assert err.count("\n") == 1 and list(stacks.iterdir()) == []


@pytest.mark.parametrize(("argv", "expect"), [
    (["--budget", "nan"], "--budget: expected a finite number; found nan"),
    (["--budget", "inf"], "--budget: expected a finite number; found inf"),
    (["--budget", "1e309"], "--budget: expected a finite number; found inf"),
    (["--budget", "-1"], "--budget: expected a number greater than 0; found -1.0"),
    (["--budget", "0"], "--budget: expected a number greater than 0; found 0.0"),
    (["--budget", "1e20"], "--budget: expected a number less than or equal to 10000000; found 1e+20"),
    (["--budget", "100", "--owner", "a@example.com", "--owner", "mars"],
     "--owner: expected an email address like name@example.com, found 'mars'"),
    (["--budget", "100", "--cost-center", "C" * 65],
     f"--cost-center: expected text of at most 64 characters; found {'C' * 65!r}"),
], ids=["nan", "inf", "overflow", "negative", "zero", "huge", "owner", "cost-center-length"])
def test_new_team_refuses_a_value_the_config_model_refuses_naming_the_option(tmp_path, capsys, argv, expect):
    """A scaffold with `.nan` or 1e20 was written, then refused for how its YAML reads ("quote it as ..."); one with
    an owner that is no email address as "ai-serving:owners[1]" of a file then removed."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    assert main(["new-team", "team-c", "--env", "prod", *argv, "--stack-dir", str(stacks)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {expect}\n", err
    assert list(stacks.iterdir()) == []


@pytest.mark.parametrize(("location", "hint"), [
    ("SwedenCentral", " (did you mean 'swedencentral'?)"), ("Sweden Central", " (did you mean 'swedencentral'?)"),
    ("westeurop", " (did you mean 'westeurope'?)"), ("nowhere", ""),
])
def test_new_team_refuses_an_unknown_location_naming_the_option(tmp_path, capsys, location, hint):
    """It was written and refused as the stack's location, beside a second, wrong finding (the chat model
    picked for no region "is not offered ... in SwedenCentral; no catalogued region offers it")."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    assert main(["new-team", "team-c", "--env", "dev", "--location", location, "--stack-dir", str(stacks)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: --location: expected an Azure region name (e.g. swedencentral, westeurope, eastus2), "
                   f"found {location!r}{hint}\n"), err
    assert list(stacks.iterdir()) == []


def test_a_stack_location_written_as_the_portal_shows_it_is_refused_naming_the_region_it_means(tmp_path, capsys):
    stacks = tmp_path / "stacks"
    write_stack(stacks, "team-t-dev", {**base_config(), "azure-native:location": "SwedenCentral"})
    assert main(["validate", "--project", str(ROOT), "--stack-dir", str(stacks)]) == 2
    assert ("azure-native:location: expected an Azure region name (e.g. swedencentral, westeurope, eastus2), found "
            "'SwedenCentral' (did you mean 'swedencentral'?)\n") in capsys.readouterr().err


@pytest.mark.parametrize(("option", "value", "expect"), [
    ("--cost-center", API_KEY, "looks like an API key (not shown): a stack file holds public values only; remove it "
                               "and revoke it, as it is leaked"),
    ("--owner", "a@example.com\n::error::forged", "spans several lines; expected one line; found "
                                                  "'a@example.com\\n::error::forged'"),
    ("--location", "swedencentral\x1b[2J", "holds control characters (escape codes, carriage returns); found "
                                           "'swedencentral\\x1b[2J'"),
    ("--cost-center", "C" * 5000, "is 5,000 characters long; expected at most 4,096"),
], ids=["key-material", "line-break", "escape-code", "huge"])
def test_new_team_refuses_what_no_stack_file_may_hold_before_writing_it(tmp_path, capsys, option, value, expect):
    """Key material given as --cost-center was written into the stack directory, then refused by validation and
    removed; each of these is now refused, naming the option, before any file is opened."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    assert main(["new-team", "team-c", "--env", "dev", option, value, "--stack-dir", str(stacks)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {option}: {expect}\n", err
    assert API_KEY[8:] not in err and list(stacks.iterdir()) == []


@pytest.mark.parametrize("option", ["--cost-center", "--owner"])
def test_new_team_refuses_command_line_bytes_that_are_not_utf8(tmp_path, capsys, option):
    """`--cost-center $'C\\xff'`: Python keeps the byte as a lone surrogate, which the scaffold wrote as an escape
    that the config then refused ("unable to parse raw data as a unicode string")."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    value = os.fsdecode(b"C\xff@example.com")
    assert main(["new-team", "team-c", "--env", "dev", option, value, "--stack-dir", str(stacks)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {option}: expected UTF-8 text; found bytes that are not UTF-8 in 'C\\udcff@example.com'\n", err
    assert list(stacks.iterdir()) == []


# --- folders of plans read back ------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    lambda t, plans: ["diff", "/", plans],
    lambda t, plans: ["diff", plans, "/proc"],
    lambda t, plans: ["diff", plans, t / "empty"],
    lambda t, plans: ["report", "--out", plans, "--base", "/"],
], ids=["diff-root", "diff-proc", "diff-empty", "report-base-root"])
def test_a_folder_that_holds_no_plan_is_not_a_plan_output(tmp_path, capsys, argv):
    """Read as a plan output without plans, every stack was "added" (or removed), exit 0."""
    plans = tmp_path / "plans"
    (plans / "team-a-dev").mkdir(parents=True)
    (plans / "team-a-dev" / "plan.json").write_text('{"stack": "team-a-dev", "resources": []}', encoding="utf-8")
    (tmp_path / "empty").mkdir()
    args = argv(tmp_path, plans)
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err
    folder = next(str(a) for a in args[1:] if str(a) != str(plans) and not str(a).startswith("--"))
    assert err.startswith(f"error: {folder}: not a plan output folder: it holds no summary.json, no plan.json "
                          "and no <stack>/plan.json"), err
    assert not (plans / "report.md").exists()


def test_a_plan_all_output_whose_stacks_all_failed_is_still_a_plan_output(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}", encoding="utf-8")  # no stack got as far as a plan.json
    assert main(["diff", str(out), str(out)]) == 0


@pytest.mark.parametrize("command", ["plan", "report"])
def test_a_base_that_is_the_out_folder_is_refused_before_anything_is_written(tmp_path, capsys, command):
    """`plan --all --out OUT --base OUT` rewrote OUT, then reported "No stack plans differently from the base"."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}", encoding="utf-8")
    (tmp_path / "same").symlink_to(out)
    argv = ["plan", "--all", "--no-policy", "--project", str(ROOT)] if command == "plan" else ["report"]
    assert main([*argv, "--out", str(out), "--base", str(tmp_path / "same")]) == 2
    assert capsys.readouterr().err == (f"error: --base {str(tmp_path / 'same')!r} is the --out folder: compared with "
                                       "itself every stack would read as unchanged; name the base branch's plan "
                                       "output folder\n")
    assert [p.name for p in out.iterdir()] == ["summary.json"] and (out / "summary.json").read_text() == "{}"


@pytest.mark.parametrize("argv", [
    ["validate", "--stack-dir", ""],
    ["plan", "team-a-dev", "--no-policy", "--out", ""],
    ["plan", "team-a-dev", "--policy-pack-config", ""],
    ["diff", "", "out"],
    ["report", "--out", ""],
], ids=["stack-dir", "out", "policy-config", "diff", "report-out"])
def test_an_empty_path_argument_is_a_usage_error_not_the_working_directory(capsys, argv):
    """As a Path, "" is ".": `--stack-dir "$UNSET"` validated whatever the working directory held."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.endswith(": expected a path; found an empty string\n")


@pytest.mark.parametrize("argv", [
    lambda p: ["plan", "team-a-dev", "--no-policy", "--out", p],
    lambda p: ["validate", "--stack-dir", p],
    lambda p: ["report", "--out", p],
    lambda p: ["diff", p, "out"],
    lambda p: ["policies", "--policy-pack", p],
], ids=["plan-out", "stack-dir", "report-out", "diff", "policy-pack"])
def test_a_path_argument_with_a_line_break_is_refused_before_it_is_printed(tmp_path, capsys, argv):
    """`plan --out $'x\\n::error::forged'` planned, then printed "wrote x" and "::error::forged/plan.json" on a
    line of its own: an annotation forged in a CI log."""
    path = str(tmp_path / "x\n::error::forged")
    with pytest.raises(SystemExit) as exit_:
        main(argv(path))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(f": expected a path on one line; found a line break in {path!r}\n"), err
    assert "\n::error::" not in err and list(tmp_path.iterdir()) == []


def test_the_readme_synopsis_of_plan_all_gate_parses_as_the_cli_reads_it():
    """`--gate` takes one stack and is repeated: a synopsis `[--gate STACK ...]` reads as `--gate a b`, which
    argparse takes as a gate `a` and a stack `b` (refused with --all)."""
    import re

    from ai_serving.cli import _parser

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (synopsis,) = re.findall(r"`ai-serving (plan --all (?:\[[^\]`]+\](?:\.\.\.)? ?)+)`", readme)
    argv = ["plan", "--all"]
    for part, repeated in re.findall(r"\[([^\]]+)\](\.\.\.)?", synopsis):  # a repeatable part twice
        argv += [("1" if word == "N" else f"v{len(argv)}") if word.isupper() else word for word in part.split()] * (2 if repeated else 1)
    args = _parser().parse_args(argv)
    assert args.stack is None and args.gate and len(args.gate) == 2, (synopsis, argv)
    assert "`--gate a --gate b`" in readme


@pytest.mark.parametrize("command", [
    ["validate", "team-a-dev"], ["validate"], ["plan", "team-a-dev", "--quiet"], ["cost", "team-a-dev"],
])
def test_a_stack_file_that_is_a_symlink_loop_is_one_message_and_exit_2(tmp_path, capsys, command):
    """Found by review: Python 3.11's Path.resolve() raises RuntimeError on a loop, and the message naming
    the unreadable file crashed while it was being built."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.team-a-dev.yaml").symlink_to("Pulumi.team-a-dev.yaml")
    out_dir = ["--out", tmp_path / "out"] if command[0] == "plan" else []
    assert cli(*command, "--stack-dir", stacks, *out_dir) == 2
    said = capsys.readouterr()
    assert "Traceback" not in said.out + said.err and "RuntimeError" not in said.out + said.err
    assert "Pulumi.team-a-dev.yaml" in said.out + said.err
    assert not (tmp_path / "out").exists()


def test_a_plan_json_that_is_a_symlink_loop_is_one_message_for_diff_and_report(tmp_path, capsys):
    base, head = tmp_path / "base" / "team-a-dev", tmp_path / "head" / "team-a-dev"
    base.mkdir(parents=True)
    head.mkdir(parents=True)
    (base / "plan.json").write_text('{"resources": []}', encoding="utf-8")
    (head / "plan.json").symlink_to("plan.json")
    for args in (["diff", tmp_path / "base", tmp_path / "head"], ["report", "--out", tmp_path / "head"]):
        assert cli(*args) == 2
        said = capsys.readouterr()
        assert "Too many levels of symbolic links" in said.out + said.err and "Traceback" not in said.out + said.err


@pytest.mark.parametrize("columns", ["0", "1", "-3", "39"])
def test_a_nonsense_terminal_width_still_prints_every_message(columns):
    """Found by review: rich prints nothing at width 0, so `COLUMNS=0` silenced errors and findings alike."""
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": columns}
    done = subprocess.run([sys.executable, "-m", "ai_serving.cli", "validate", "../x"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "no stack '../x'" in done.stdout + done.stderr, (done.stdout, done.stderr)


@pytest.mark.parametrize("bad", ["config", "pack"])
def test_plan_all_with_a_bad_pack_or_policy_config_is_one_message_exit_2_and_writes_nothing(tmp_path, capsys, bad):
    """Found by review: every stack failed on it (exit 1, a line each) and summary.json and report.md were
    written; a single-stack plan already said it once with exit 2."""
    config = tmp_path / "policy-config.json"
    config.write_text('{"all": "bogus"}', encoding="utf-8")
    option = ["--policy-pack-config", config] if bad == "config" else ["--policy-pack", tmp_path]
    assert cli("plan", "--all", "--quiet", *option, "--out", tmp_path / "out") == 2
    said = capsys.readouterr()
    expected = "unknown enforcement level 'bogus'" if bad == "config" else "not a policy pack (no PulumiPolicy.yaml)"
    assert (said.out + said.err).count(expected) == 1, said
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", ["Pulumi.team-z-dev.yaml", "Pulumi.team-z-dev.yaml/deeper", "."])
@pytest.mark.parametrize("all_stacks", [False, True])
def test_an_out_folder_in_the_stack_directory_is_refused_and_nothing_is_made(tmp_path, capsys, target, all_stacks):
    """Found by review: `--out stacks/Pulumi.team-z-dev.yaml` made a folder there, and every later validate and
    plan --all failed on it for every team."""
    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stacks)
    before = sorted(p.name for p in stacks.iterdir())
    which = ["--all"] if all_stacks else ["team-a-dev"]
    assert cli("plan", *which, "--quiet", "--stack-dir", stacks, "--out", stacks / target) == 2
    said = capsys.readouterr()
    assert "would be " in said.out + said.err and "name a folder outside it" in said.out + said.err
    assert sorted(p.name for p in stacks.iterdir()) == before


@pytest.mark.parametrize(("line", "replacement", "expect"), [
    ("main: ", "main: /etc\n", "main: /etc/__main__.py is not a file"),
    ("main: ", "main: missing.py\n", "missing.py is not a file"),
    ("name: ", 'name: "../evil"\n', "name: expected a project name"),
])
def test_a_pulumi_yaml_the_engine_would_refuse_is_one_message_before_any_stack_runs(tmp_path, capsys, line,
                                                                                   replacement, expect):
    """Found by review: a missing program failed late (FileNotFoundError, exit 1) and `name: ../evil` passed."""
    text = (ROOT / "Pulumi.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "Pulumi.yaml").write_text("".join(replacement if t.startswith(line) else t for t in text),
                                          encoding="utf-8")
    assert cli("validate", "--project", tmp_path, "--stack-dir", ROOT / "stacks") == 2
    said = capsys.readouterr()
    assert expect in said.out + said.err and "Traceback" not in said.out + said.err


def test_a_token_in_a_path_argument_is_named_not_printed(tmp_path, capsys):
    """Found by review: --stack-dir and --out paths were printed as given, a pasted token with them."""
    token = "ghp_" + "A1b2C3d4E5f6" * 3
    assert cli("validate", "--stack-dir", tmp_path / token) == 2
    said = capsys.readouterr()
    assert token not in said.out + said.err and "(a GitHub token: not shown)" in said.out + said.err


def test_a_plan_that_cannot_write_its_files_names_the_folder_and_leaves_no_earlier_plan(tmp_path, capsys,
                                                                                        monkeypatch):
    """Found by review: a full disk said only "No space left on device" and the earlier stack's plan.json stayed
    in the folder, to pass for this one's."""
    import errno

    from ai_serving import plan

    out = tmp_path / "out"
    assert cli("plan", "team-a-dev", "--no-policy", "--quiet", "--out", out) == 0
    assert (out / "plan.json").is_file()

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plan, "write_plan", full)
    assert cli("plan", "team-b-dev", "--no-policy", "--quiet", "--out", out) == 2
    said = capsys.readouterr()
    assert f"{out}: cannot write the plan output (No space left on device)" in said.err
    assert not (out / "plan.json").exists()


@pytest.mark.parametrize("key", ["costCenter", "1"])
def test_a_key_without_a_namespace_is_named_with_its_line(tmp_path, capsys, key):
    """Found by review: the message had no line (the line index records it under the project's namespace)."""
    write_stack(tmp_path, "team-a-dev", text=f"config:\n  azure-native:location: swedencentral\n  {key}: x\n")
    assert cli("validate", "--stack-dir", tmp_path) == 2
    said = capsys.readouterr()
    assert f"Pulumi.team-a-dev.yaml:3: {key}: key '{key}' has no namespace" in said.out + said.err


def test_an_earlier_plan_that_cannot_be_removed_is_named_not_a_traceback(tmp_path, capsys, monkeypatch):
    """Found by review: in a read-only folder the clean-up itself raised inside the error handler."""
    import errno
    from pathlib import Path

    from ai_serving import plan

    out = tmp_path / "out"
    assert cli("plan", "team-a-dev", "--no-policy", "--quiet", "--out", out) == 0

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def read_only(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(plan, "write_plan", full)
    monkeypatch.setattr(Path, "unlink", read_only)
    assert cli("plan", "team-b-dev", "--no-policy", "--quiet", "--out", out) == 2
    said = capsys.readouterr()
    assert f"{out}: cannot remove the earlier plan's plan.json" in said.err and "Traceback" not in said.err

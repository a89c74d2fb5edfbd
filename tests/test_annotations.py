"""`plan --all` under GitHub Actions annotates the stack files' lines; new-team placeholders are findings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ai_serving.org import annotations
from infra.config.errors import ConfigError

from .cli_helpers import ROOT, cli


def test_workflow_commands_are_escaped_as_github_says():
    line = annotations.command("error", "50% done\r\nnext ::warning::x", file="stacks/a,b:c.yaml", line=3,
                               title="t: 1, 2")
    assert line == "::error file=stacks/a%2Cb%3Ac.yaml,line=3,title=t%3A 1%2C 2::50%25 done%0D%0Anext ::warning::x"
    assert "\n" not in line


def _as_prod(dev: Path) -> Path:
    """A prod twin of a scaffolded dev stack, placeholders and all (new-team refuses to write one)."""
    prod = dev.with_name(dev.name.replace("-dev", "-prod"))
    prod.write_text(dev.read_text().replace("ai-serving:environment: dev", "ai-serving:environment: prod"))
    return prod


def _line_of(path: Path, key: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), start=1) if text.strip().startswith(key))


@pytest.fixture
def stack_dir(tmp_path, monkeypatch) -> Path:
    """A repository-like working directory: stacks/ with a scaffolded dev stack (placeholders), a
    scaffolded prod stack (placeholders) and a stack with a bad value."""
    monkeypatch.chdir(tmp_path)
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    assert cli("new-team", "team-n", "--env", "dev", "--project", ROOT, "--stack-dir", stacks) == 0
    _as_prod(stacks / "Pulumi.team-n-dev.yaml")
    bad = (ROOT / "stacks" / "Pulumi.team-b-dev.yaml").read_text().replace("addressSpace: 10.43.", "addressSpace: 10.443.", 1)
    (stacks / "Pulumi.team-b-dev.yaml").write_text(bad)
    return stacks


def test_plan_all_in_github_actions_annotates_config_errors_and_placeholders(stack_dir, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(stack_dir.parent))  # the checkout: cwd

    code = cli("plan", "--all", "--no-policy", "--workers", "1", "--stack-dir", stack_dir)

    captured = capsys.readouterr()
    out = captured.out
    commands = [line for line in out.splitlines() if line.startswith("::")]
    # Config errors on stderr name the file as the repository does, not by the runner's absolute path.
    assert "stacks/Pulumi.team-b-dev.yaml:" in captured.err and str(stack_dir) not in captured.err
    dev, prod = stack_dir / "Pulumi.team-n-dev.yaml", stack_dir / "Pulumi.team-n-prod.yaml"
    # prod: the placeholders are config errors, on their lines, and the stack fails.
    assert f"::error file=stacks/Pulumi.team-n-prod.yaml,line={_line_of(prod, 'ai-serving:costCenter')}," in out
    assert re.search(r"::error file=stacks/Pulumi\.team-n-prod\.yaml,line=\d+,.*placeholder owner", out)
    # dev: a warning on the cost center's line; the stack still plans.
    assert f"::warning file=stacks/Pulumi.team-n-dev.yaml,line={_line_of(dev, 'ai-serving:costCenter')}," in out
    # the bad address space: an error on its line, with a relative path.
    bad = stack_dir / "Pulumi.team-b-dev.yaml"
    assert any(c.startswith(f"::error file=stacks/Pulumi.team-b-dev.yaml,line={_line_of(bad, 'addressSpace')},")
               for c in commands), commands
    assert str(stack_dir) not in "\n".join(commands)
    assert code == 2


def test_no_annotations_outside_github_actions_or_outside_the_checkout(stack_dir, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert not annotations.enabled()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(stack_dir.parent))
    assert annotations.enabled()
    # The PR workflow plans the base commit in a worktree under $RUNNER_TEMP: no annotations from there.
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ROOT))
    cli("plan", "--all", "--no-policy", "--workers", "1", "--stack-dir", stack_dir)
    assert "::error" not in capsys.readouterr().out


def test_placeholders_are_rejected_in_prod_only(tmp_path):
    from .cli_helpers import cli as run

    stacks = tmp_path / "stacks"
    stacks.mkdir()
    assert run("new-team", "team-p", "--env", "dev", "--project", ROOT, "--stack-dir", stacks) == 0
    _as_prod(stacks / "Pulumi.team-p-dev.yaml")
    from ai_serving.engine.project import load_project
    from ai_serving.stacks import load_stack

    project = load_project(ROOT, stacks)
    with pytest.raises(ConfigError) as info:
        load_stack(project, "team-p-prod")
    assert {i.path for i in info.value.issues} == {"ai-serving:costCenter", "ai-serving:owners[0]"}
    assert "CC-TODO" in str(info.value)
    load_stack(project, "team-p-dev")  # dev: a warning in CI, not an error


def test_new_team_will_not_write_a_prod_stack_with_placeholders(tmp_path, capsys):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    assert cli("new-team", "team-p", "--env", "prod", "--budget", "5000", "--project", ROOT,
               "--stack-dir", stacks) == 2
    err = capsys.readouterr().err
    assert "a prod stack needs --owner EMAIL and --cost-center CODE: placeholders are refused in prod" in err, err
    assert not (stacks / "Pulumi.team-p-prod.yaml").exists()


def test_findings_land_on_the_section_that_declares_their_resource(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    stack_file = stacks / "Pulumi.team-a-dev.yaml"
    stack_file.write_text((ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_text())
    dep = "urn:pulumi:team-a-dev::ai-serving::a:b$azure-native:cognitiveservices:Deployment::chat"
    vault = "urn:pulumi:team-a-dev::ai-serving::a:b$azure-native:keyvault:Vault::kv"
    outcome = {"stack": "team-a-dev", "errors": [], "issues": [], "config": None, "verdict": {"violations": [
        {"policy": "ai-03-model-retirement", "level": "mandatory", "urn": dep, "message": "retires soon"},
        {"policy": "kv-05-secret-expiry", "level": "advisory", "urn": vault, "message": "no expiry"}]}}

    lines = list(annotations.for_outcome(outcome, stack_file))

    openai_line = _line_of(stack_file, "ai-serving:openai")
    assert lines[0] == (f"::error file=stacks/Pulumi.team-a-dev.yaml,line={openai_line},"
                        "title=ai-03-model-retirement (mandatory)::team-a-dev: retires soon")
    assert lines[1].startswith("::warning file=stacks/Pulumi.team-a-dev.yaml,title=kv-05-secret-expiry")

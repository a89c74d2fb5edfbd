"""The CI workflows judged by the real linters (actionlint, zizmor) and by the properties that keep a real
repository safe: two separate Azure identities, no token left in checkouts, plain logs, the secrets
provider found on every run after the first, and the report published whatever failed before it.

actionlint is built from its Go module by `make workflow-linters`; zizmor comes from PyPI with the pinned
requirements. Under CI=true a missing linter is a failure, elsewhere the test says why it skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflow_docs import ACTIONS, DEPLOY, GITHUB, PR, ROOT, WORKFLOWS
from tests.workflow_docs import load as _load
from tests.workflow_docs import steps as _steps
from tests.workflow_docs import uses as _uses

ACTIONLINT = ROOT / "build" / "tools" / "actionlint"
ZIZMOR = Path(sys.executable).parent / "zizmor"


def _require(tool: Path, how: str) -> None:
    if tool.is_file() and os.access(tool, os.X_OK):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{tool} is missing under CI=true: {how}")
    pytest.skip(f"{tool} is missing: {how}")


# --- the real linters ----------------------------------------------------------------------------------

def test_actionlint_finds_nothing_with_shellcheck_on_every_run_script():
    _require(ACTIONLINT, "run `make workflow-linters` (needs Go)")
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        _require(Path("/usr/bin/shellcheck"), "run `make system-deps`")
    result = subprocess.run([str(ACTIONLINT), "-shellcheck", shellcheck or "/usr/bin/shellcheck",
                             "-no-color", *map(str, WORKFLOWS)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_real_defect(tmp_path: Path):
    """The linter is live: an unquoted variable in a run script (shellcheck SC2086) is reported."""
    _require(ACTIONLINT, "run `make workflow-linters` (needs Go)")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo $UNQUOTED > $OUT\n", encoding="utf-8")
    result = subprocess.run([str(ACTIONLINT), "-no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "SC2086" in result.stdout


def test_zizmor_finds_nothing_offline():
    _require(ZIZMOR, "run `make setup` (zizmor is in requirements.lock)")
    result = subprocess.run([str(ZIZMOR), "--offline", "--no-progress", "--format", "plain", str(GITHUB)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_every_zizmor_ignore_says_why():
    for path in WORKFLOWS + ACTIONS:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "zizmor: ignore[" in line:
                reason = line.split("]", 1)[1].strip()
                assert len(reason) >= 10, f"{path.name}:{number} ignores a finding without a reason"


# --- logs -------------------------------------------------------------------------------------------------

def _env_blocks(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every `env:` of a workflow or composite action: top level, jobs, steps."""
    blocks = [doc.get("env") or {}]
    blocks += [job.get("env") or {} for job in doc.get("jobs", {}).values()]
    return blocks + [step.get("env") or {} for _, step in _steps(doc)]


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: p.parent.name + "/" + p.name)
def test_no_force_color_which_turns_colour_on_whatever_its_value(path: Path):
    for env in _env_blocks(_load(path)):
        assert "FORCE_COLOR" not in env, path.name


@pytest.mark.parametrize("doc", [PR, DEPLOY], ids=["pull-request", "deploy"])
def test_logs_are_plain_text(doc: dict[str, Any]):
    assert doc["env"]["NO_COLOR"] == "1"


# --- credentials --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_keep_no_token(path: Path):
    checkouts = [step for _, step in _steps(_load(path)) if _uses(step, "actions/checkout")]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, step


def test_pull_requests_never_see_the_deploy_identity():
    """Anyone who can push a branch can edit pull-request.yml; the identity it can reach must be read-only."""
    text = (GITHUB / "workflows" / "pull-request.yml").read_text(encoding="utf-8")
    assert "vars.AZURE_CLIENT_ID" not in text
    assert "environment" not in PR["jobs"]["preview"], "an environment would hand out its deploy identity"
    pulumi = next(step for _, step in _steps(PR) if _uses(step, "pulumi/actions"))["with"]
    assert pulumi["command"] == "preview"
    assert "upsert" not in pulumi, "creating a stack writes state: the preview identity may only read"


def test_deploys_log_in_only_through_their_environment():
    job = DEPLOY["jobs"]["deploy"]
    assert "environment" in job and "name" in job["environment"]
    logins = [step for step in job["steps"]
              if _uses(step, "azure/login") or _uses(step, "./.github/actions/azure-federated-token")]
    assert [s["with"]["client-id"] for s in logins] == ["${{ vars.AZURE_CLIENT_ID }}"]


def _preview_filter_step() -> dict[str, Any]:
    (step,) = [s for s in PR["jobs"]["changes"]["steps"] if s.get("id") == "preview"]
    return step


@pytest.mark.parametrize(("stacks", "expected"), [
    ('["team-a-dev","team-a-prod","team-b-test"]', '["team-a-dev","team-b-test"]'),
    ('["team-a-prod"]', "[]"),
    ("[]", "[]"),
])
def test_prod_stacks_are_not_previewed_with_the_pull_request_identity(tmp_path: Path, stacks: str, expected: str):
    """The preview identity holds no prod secrets key: run the filter step as GitHub would."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (GitHub's runners have it)")
    out = tmp_path / "out"
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _preview_filter_step()["run"]],
                            env={**os.environ, "STACKS": stacks, "GITHUB_OUTPUT": str(out)},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert out.read_text().strip() == f"stacks={expected}"


# --- the second run finds the secrets provider ----------------------------------------------------------------

def _stack_files() -> list[Path]:
    return sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("doc", [PR, DEPLOY], ids=["pull-request", "deploy"])
def test_every_pulumi_run_finds_the_secrets_provider_of_a_stack_created_earlier(doc: dict[str, Any]):
    """pulumi/pulumi#8183: a stack created with the Key Vault provider, whose committed file lacks
    `secretsprovider:`/`encryptedkey:`, falls back to the passphrase manager on the next run and fails.
    Either every stack file carries both keys, or each job that runs Pulumi reads them from the state."""
    for job_id, job in doc["jobs"].items():
        if not any(_uses(step, "pulumi/actions") for step in job.get("steps", [])):
            continue
        if job.get("env", {}).get("PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER") == "true":
            continue
        for path in _stack_files():
            stack = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            assert {"secretsprovider", "encryptedkey"} <= set(stack), (
                f"{job_id}: {path.name} has no secretsprovider/encryptedkey and the job sets no "
                "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: its second run would ask for a passphrase")


# --- the report is published whatever failed before it --------------------------------------------------------

def test_every_step_after_the_plan_runs_even_when_an_earlier_one_failed():
    steps = PR["jobs"]["plan"]["steps"]
    (plan_index,) = [i for i, s in enumerate(steps) if s.get("id") == "plan"]
    for step in steps[plan_index + 1:]:
        assert "always()" in str(step.get("if", "")), step.get("name")


def test_the_browser_screenshots_are_kept_as_an_artifact_even_when_tests_fail():
    from tests.browser_render import ROOT as RENDER_ROOT
    from tests.browser_render import SHOTS

    steps = PR["jobs"]["test"]["steps"]
    (upload,) = [s for s in steps if _uses(s, "actions/upload-artifact")]
    assert steps.index(upload) > [s.get("run") for s in steps].index("make test")
    assert "always()" in upload["if"]
    assert RENDER_ROOT / upload["with"]["path"] == SHOTS

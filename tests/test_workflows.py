"""CI workflows: valid GitHub workflow syntax, OIDC-only Azure access, one serialised deploy per stack,
prod behind approval, the policy pack on every preview and update, and the PR report always published.

The schema check uses check-jsonschema's bundled copy of the GitHub workflow schema, with sockets
disabled in the checking process, so it proves the check needs no network.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import stat
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

CHANGED_STACKS = GITHUB / "actions" / "changed-stacks" / "changed_stacks.py"
FEDERATED = "./.github/actions/azure-federated-token"
FEDERATED_ACTION = GITHUB / "actions" / "azure-federated-token" / "action.yml"


def _step(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if _uses(s, action)]
    return step


def _pulumi_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = [s for s in job["steps"] if _uses(s, "pulumi/actions")]
    assert steps
    return steps


def _all_docs() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, _load(p)) for p in WORKFLOWS + ACTIONS]


def _changed_stacks_module():
    spec = importlib.util.spec_from_file_location("changed_stacks", CHANGED_STACKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- syntax ----------------------------------------------------------------------------------------

_OFFLINE_CHECK = """
import socket, sys
def _no_network(*args, **kwargs):
    raise OSError("network access attempted during an offline schema check")
socket.socket.connect = _no_network
socket.create_connection = _no_network
socket.getaddrinfo = _no_network
from check_jsonschema import main
sys.argv = ["check-jsonschema", *sys.argv[1:]]
main()
"""


def _check_schema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", _OFFLINE_CHECK, "--builtin-schema", schema, *map(str, files)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema_offline(path: Path):
    result = _check_schema("vendor.github-workflows", path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_composite_action_matches_the_github_action_schema_offline(path: Path):
    result = _check_schema("vendor.github-actions", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_misspelt_workflow_key(tmp_path: Path):
    text = (GITHUB / "workflows" / "deploy.yml").read_text(encoding="utf-8")
    broken = text.replace("runs-on:", "run-on:", 1)
    path = tmp_path / "broken.yml"
    path.write_text(broken, encoding="utf-8")
    result = _check_schema("vendor.github-workflows", path)
    assert result.returncode == 1
    assert "run-on" in result.stdout


# --- credentials and permissions -----------------------------------------------------------------------

@pytest.mark.parametrize("needle", ["client-secret", "AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", "creds:",
                                    "secrets.", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"])
def test_no_long_lived_credentials_anywhere(needle: str):
    for path in WORKFLOWS + ACTIONS:
        assert needle not in path.read_text(encoding="utf-8"), f"{path.name} mentions {needle}"


@pytest.mark.parametrize("doc", [PR, DEPLOY], ids=["pull-request", "deploy"])
def test_workflow_default_token_is_read_only_and_jobs_declare_their_own(doc: dict[str, Any]):
    assert doc["permissions"] == {"contents": "read"}
    for job_id, job in doc["jobs"].items():
        assert "permissions" in job, f"job {job_id} inherits instead of declaring permissions"
        assert "write-all" not in str(job["permissions"])


@pytest.mark.parametrize("doc", [PR, DEPLOY], ids=["pull-request", "deploy"])
def test_only_jobs_that_log_in_to_azure_get_an_oidc_token(doc: dict[str, Any]):
    logged_in = {job_id for job_id, step in _steps(doc) if _uses(step, "azure/login") or _uses(step, FEDERATED)}
    assert logged_in, "no Azure job"
    for job_id, job in doc["jobs"].items():
        has_token = job["permissions"].get("id-token") == "write"
        assert has_token == (job_id in logged_in), job_id


@pytest.mark.parametrize(("doc", "client"), [(PR, "AZURE_PREVIEW_CLIENT_ID"), (DEPLOY, "AZURE_CLIENT_ID")],
                         ids=["pull-request", "deploy"])
def test_azure_login_is_oidc_federation_from_variables(doc: dict[str, Any], client: str):
    """Pull requests log in as the read-only preview identity; deploys as the environment's identity."""
    for job_id, step in _steps(doc):
        if _uses(step, "azure/login"):
            assert step["with"] == {"client-id": f"${{{{ vars.{client} }}}}",
                                    "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
                                    "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}"}, job_id
        elif _uses(step, FEDERATED):
            assert step["with"] == {"client-id": f"${{{{ vars.{client} }}}}",
                                    "tenant-id": "${{ vars.AZURE_TENANT_ID }}"}, job_id
        else:
            continue
        env = doc["jobs"][job_id]["env"]
        assert env["ARM_USE_OIDC"] == "true"
        assert env["ARM_CLIENT_ID"] == f"${{{{ vars.{client} }}}}"
        assert env["ARM_TENANT_ID"] == "${{ vars.AZURE_TENANT_ID }}"
        assert env["ARM_SUBSCRIPTION_ID"] == "${{ vars.AZURE_SUBSCRIPTION_ID }}"


@pytest.mark.parametrize(("doc", "job_id", "var"), [(PR, "preview", "AZURE_PREVIEW_CLIENT_ID"),
                                                    (DEPLOY, "deploy", "AZURE_TENANT_ID")], ids=["preview", "deploy"])
def test_azure_jobs_run_only_where_azure_is_configured(doc: dict[str, Any], job_id: str, var: str):
    # The deploy identity is an environment variable, which a job-level `if` cannot see: the repository-level
    # tenant id says whether Azure is configured at all.
    assert f"vars.{var} != ''" in doc["jobs"][job_id]["if"]


def test_preview_skips_forks_which_get_no_oidc_token():
    assert "github.event.pull_request.head.repo.full_name == github.repository" in PR["jobs"]["preview"]["if"]


def test_no_expression_is_spliced_into_a_shell_script():
    """Values reach scripts through `env:`; `${{ }}` inside `run:` would allow script injection."""
    for path, doc in _all_docs():
        for job_id, step in _steps(doc):
            assert "${{" not in step.get("run", ""), f"{path.name} {job_id}: {step.get('name', step['run'])}"


# --- pulumi: backend, secrets, policy pack -------------------------------------------------------------

@pytest.mark.parametrize(("doc", "job_id", "commands"), [(PR, "preview", ["preview"]),
                                                         (DEPLOY, "deploy", ["preview", "up"])], ids=["preview", "up"])
def test_pulumi_runs_each_changed_stack_with_the_policy_pack(doc: dict[str, Any], job_id: str, commands: list[str]):
    job = doc["jobs"][job_id]
    steps = _pulumi_steps(job)
    assert [s["with"]["command"] for s in steps] == commands
    for pulumi in (s["with"] for s in steps):
        assert pulumi["stack-name"] == "${{ matrix.stack }}"
        assert pulumi["policyPacks"] == "policies"
    output = "preview-stacks" if job_id == "preview" else "stacks"
    assert job["strategy"]["matrix"]["stack"] == f"${{{{ fromJSON(needs.changes.outputs.{output}) }}}}"


def _offline_plan_step(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if ".venv/bin/ai-serving plan" in s.get("run", "")]
    return step


@pytest.mark.parametrize(("doc", "job_id"), [(PR, "preview"), (DEPLOY, "deploy")], ids=["preview", "up"])
def test_pulumi_gets_the_policy_config_the_offline_plan_of_its_stack_wrote(doc: dict[str, Any], job_id: str):
    """The engine knows no waivers: it runs with the plan's deploy-policy-config.json (waived policies advisory),
    written by a plan of the matrix stack in an earlier step under the same condition."""
    from ai_serving.output_folders import DEPLOY_POLICY_CONFIG_FILE

    job = doc["jobs"][job_id]
    plan = _offline_plan_step(job)
    assert plan["env"] == {"STACK": "${{ matrix.stack }}"}
    argv = shlex.split(plan["run"])
    assert argv[:3] == [".venv/bin/ai-serving", "plan", "$STACK"] and "--quiet" in argv
    for pulumi in _pulumi_steps(job):
        assert job["steps"].index(plan) < job["steps"].index(pulumi)
        assert plan.get("if") == pulumi.get("if")
        assert pulumi["with"]["policyPackConfigs"] == f"{argv[argv.index('--out') + 1]}/{DEPLOY_POLICY_CONFIG_FILE}"


#: What a preview must share with the `up` it stands in front of, so that it judges the same update.
_SAME_UPDATE = ("stack-name", "work-dir", "pulumi-version", "cloud-url", "secrets-provider", "policyPacks",
                "policyPackConfigs")


def test_the_deploy_previews_with_the_pack_before_up_and_stops_there_on_a_violation():
    """pulumi/actions' `up` is Automation API `up --skip-preview`, whose stack policies judge only after every
    step was applied: a preview of the same update runs first, and its failure stops the job before `up`."""
    job = DEPLOY["jobs"]["deploy"]
    preview, up = _pulumi_steps(job)
    assert (preview["with"]["command"], up["with"]["command"]) == ("preview", "up")
    assert {k: preview["with"][k] for k in _SAME_UPDATE} == {k: up["with"][k] for k in _SAME_UPDATE}
    for step in (preview, up):
        assert not step.get("continue-on-error") and "continue-on-error" not in step["with"], step["name"]
    assert "if" not in up, "an `if` (always(), failure()) could run up after a failed preview"
    assert "plan" not in up["with"], "update plans are [EXPERIMENTAL] in the pinned CLI"
    login = _step(job, FEDERATED)
    assert job["steps"].index(login) < job["steps"].index(preview)


def _runs_az(script: str) -> bool:
    return re.search(r"(^|[\s;|&(`])az\s", script, re.MULTILINE) is not None


@pytest.mark.parametrize(("script", "runs"), [
    ("az account show", True), ('count=$(az storage blob list --auth-mode login)', True), ("x && az login", True),
    ("echo `az version`", True), ("echo plaza az-like", False), ("azcopy copy a b", False), ("echo haz it", False)])
def test_the_az_cli_check_sees_the_forms_a_workflow_uses(script: str, runs: bool):
    assert _runs_az(script) is runs


def test_the_az_cli_check_sees_the_pull_request_previews_own_az_call():
    assert any(_runs_az(step.get("run", "")) for step in PR["jobs"]["preview"]["steps"])


def test_the_deploy_authenticates_with_a_token_file_that_outlives_an_azure_cli_login():
    """An `az login` cannot renew its access tokens after 60-90 minutes (Azure/azure-cli#28708); the state
    backend and the secrets provider must use the refreshed federated token file, so no step may log the CLI
    in (DefaultAzureCredential would still prefer the file, but nothing must depend on the CLI's tokens)."""
    job = DEPLOY["jobs"]["deploy"]
    assert not [s for s in job["steps"] if _uses(s, "azure/login")]
    assert not [s for s in job["steps"] if _runs_az(s.get("run", ""))]
    assert not [s for s in job["steps"] if _uses(s, "azure/cli")]
    assert "AZURE_FEDERATED_TOKEN_FILE" not in job["env"], "the action sets it, under $RUNNER_TEMP"
    action = _load(FEDERATED_ACTION)
    (step,) = action["runs"]["steps"]
    assert "federated_token.py\" start" in step["run"] and "$RUNNER_TEMP/" in step["run"]


@pytest.mark.parametrize(("doc", "job_id"), [(PR, "preview"), (DEPLOY, "deploy")], ids=["preview", "deploy"])
def test_every_preview_goes_to_the_job_summary(doc: dict[str, Any], job_id: str):
    """pulumi/actions v6.6.1 (src/main.ts) writes the summary only when `comment-on-summary` is true."""
    for step in _pulumi_steps(doc["jobs"][job_id]):
        assert step["with"]["comment-on-summary"] is True, step["name"]


@pytest.mark.parametrize(("doc", "job_id"), [(PR, "preview"), (DEPLOY, "deploy")], ids=["preview", "up"])
@pytest.mark.parametrize("exit_code", [0, 1, 2])
def test_the_offline_plan_step_fails_the_job_on_violations_and_config_errors(tmp_path: Path, doc: dict[str, Any],
                                                                          job_id: str, exit_code: int):
    """Exit 1 (violations no waiver covers) and 2 (a bad stack file) stop the job before pulumi runs."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    fake = bin_dir / "ai-serving"
    fake.write_text(f'#!/bin/sh\necho "$@" > args\nexit {exit_code}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    result = _run_like_github(_offline_plan_step(doc["jobs"][job_id])["run"], tmp_path, {"STACK": "team-a-dev"})
    assert result.returncode == exit_code
    assert (tmp_path / "args").read_text().split()[:2] == ["plan", "team-a-dev"]


def test_policy_pack_paths_given_to_pulumi_exist():
    assert (ROOT / "policies" / "PulumiPolicy.yaml").is_file()
    assert (ROOT / "policies" / "policy-config.json").is_file()


@pytest.mark.parametrize(("doc", "job_id"), [(PR, "preview"), (DEPLOY, "deploy")], ids=["preview", "deploy"])
def test_state_in_azure_blob_and_secrets_in_key_vault(doc: dict[str, Any], job_id: str):
    job = doc["jobs"][job_id]
    assert job["env"]["AZURE_STORAGE_ACCOUNT"] == "${{ vars.PULUMI_STATE_STORAGE_ACCOUNT }}"
    var = r"\$\{\{ vars\.\w+ \}\}"
    for pulumi in (s["with"] for s in _pulumi_steps(job)):
        assert pulumi["cloud-url"] == "azblob://${{ vars.PULUMI_STATE_CONTAINER }}"
        assert re.fullmatch(rf"azurekeyvault://{var}\.vault\.azure\.net/keys/{var}", pulumi["secrets-provider"])


def test_pr_preview_posts_no_comment_of_its_own():
    """One sticky comment per pull request (the plan job's); a per-stack matrix would post one per stack."""
    pulumi = _step(PR["jobs"]["preview"], "pulumi/actions")["with"]
    assert pulumi["comment-on-pr"] is False
    assert pulumi["always-include-summary"] is True
    assert "pull-requests" not in PR["jobs"]["preview"]["permissions"]


def _witnessed_cli() -> str:
    """The Pulumi release the witness builds and runs (witness/engine/go.mod)."""
    gomod = (ROOT / "witness" / "engine" / "go.mod").read_text(encoding="utf-8")
    (version,) = set(re.findall(r"^\s*github\.com/pulumi/pulumi/(?:pkg|sdk)/v3 v(\S+)$", gomod, flags=re.M))
    return version


@pytest.mark.parametrize("doc", [PR, DEPLOY], ids=["pull-request", "deploy"])
def test_pulumi_cli_is_the_release_the_witness_runs(doc: dict[str, Any]):
    """CI deploys with the engine whose behaviour the witness checked, not an older one."""
    assert doc["env"]["PULUMI_VERSION"] == _witnessed_cli()
    for _, step in _steps(doc):
        if _uses(step, "pulumi/actions"):
            assert step["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"CI runs {_witnessed_cli()}" in readme and f"Pulumi CLI {_witnessed_cli()}" in readme


# --- deploy: one serialised job per stack, prod gated ------------------------------------------------------

def test_deploy_runs_on_main_and_by_hand_only():
    assert DEPLOY["on"]["push"]["branches"] == ["main"]
    assert "stacks" in DEPLOY["on"]["workflow_dispatch"]["inputs"]
    assert "pull_request" not in DEPLOY["on"]


_ON_MAIN = "github.ref == 'refs/heads/main'"


def test_a_dispatch_from_another_branch_deploys_nothing_and_fails():
    """workflow_dispatch runs on any branch: off main no stack list is computed (so no job joins a stack's
    concurrency group, where it could replace main's waiting deploy), no deploy job runs, and the run fails."""
    jobs = DEPLOY["jobs"]
    assert jobs["changes"]["if"] == _ON_MAIN
    assert jobs["deploy"]["if"].startswith(f"{_ON_MAIN} && ")
    refuse = jobs["main-only"]
    assert refuse["if"] == "github.ref != 'refs/heads/main'" and refuse["permissions"] == {}
    (step,) = refuse["steps"]
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                            env={**os.environ, "REF": "refs/heads/feature"}, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 1 and "refs/heads/feature is not refs/heads/main" in result.stdout
    # Every job that can reach Azure is behind the ref check.
    for job_id, job in jobs.items():
        if job.get("permissions", {}).get("id-token") == "write":
            assert str(job.get("if", "")).startswith(_ON_MAIN), job_id


def test_two_runs_never_update_the_same_stack_at_once():
    deploy = DEPLOY["jobs"]["deploy"]
    assert deploy["concurrency"] == {"group": "deploy-${{ matrix.stack }}", "cancel-in-progress": False}
    assert "concurrency" not in DEPLOY, "a workflow-wide group would serialise unrelated stacks"


_ENV_EXPR = re.compile(r"\$\{\{ endsWith\(matrix\.stack, '([^']+)'\) && '([^']+)' \|\| '([^']+)' \}\}")


def _environment_of(stack: str) -> str:
    m = _ENV_EXPR.fullmatch(DEPLOY["jobs"]["deploy"]["environment"]["name"])
    assert m, "environment is not the per-stack endsWith(...) expression"
    suffix, when_true, otherwise = m.groups()
    return when_true if stack.endswith(suffix) else otherwise


def test_prod_stacks_deploy_through_the_approval_environment():
    stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    assert stacks
    for stack in stacks:
        text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
        config = yaml.safe_load(text)["config"]
        expected = "production" if config["ai-serving:environment"] == "prod" else "development"
        assert _environment_of(stack) == expected, stack
    assert _environment_of("team-z-prod") == "production"
    assert _environment_of("team-z-production-dev") == "development"


def test_deploy_trigger_paths_cover_everything_that_changes_a_stack():
    paths = DEPLOY["on"]["push"]["paths"]
    assert "stacks/Pulumi.*.yaml" in paths
    for shared in _changed_stacks_module().SHARED_PATHS:
        assert (f"{shared}**" if shared.endswith("/") else shared) in paths, shared


@pytest.mark.parametrize(("doc", "job_id", "base"), [
    (PR, "preview", "${{ github.event.pull_request.base.sha }}"),
    (DEPLOY, "deploy", "${{ github.event.before }}"),
], ids=["preview", "deploy"])
def test_matrix_comes_from_the_changed_stacks_of_the_change(doc: dict[str, Any], job_id: str, base: str):
    changes = doc["jobs"]["changes"]
    output = "preview-stacks" if job_id == "preview" else "stacks"
    assert doc["jobs"][job_id]["needs"] in ("changes", ["changes"])
    assert f"needs.changes.outputs.{output} != '[]'" in doc["jobs"][job_id]["if"], "an empty matrix is an error"
    wiring = re.fullmatch(r"\$\{\{ steps\.(\w+)\.outputs\.stacks \}\}", changes["outputs"]["stacks"])
    step_id = wiring.group(1)
    (step,) = [s for s in changes["steps"] if s.get("id") == step_id]
    assert step["uses"] == "./.github/actions/changed-stacks"
    assert step["with"]["base"] == base
    assert _step(changes, "actions/checkout")["with"]["fetch-depth"] == 0


# --- pull request: lint, test, plan report -------------------------------------------------------------

def _run_blocks() -> list[str]:
    return [step["run"] for _, doc in _all_docs() for _, step in _steps(doc) if "run" in step]


def test_every_make_target_the_workflows_call_exists():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z][\w.-]*):", makefile, flags=re.M))
    called = {t for run in _run_blocks() for t in re.findall(r"(?:^|\s)make ([\w.-]+)", run)}
    assert called >= {"setup", "lint", "test"}
    assert called <= targets, called - targets


def test_every_ai_serving_command_the_workflows_call_parses():
    from ai_serving.cli import _parser

    calls = [line.strip() for run in _run_blocks() for line in run.splitlines()
             if line.strip().startswith(".venv/bin/ai-serving ")]
    assert calls
    for call in calls:
        command = call.split("||")[0]  # `... || true` is the shell's, not the CLI's
        _parser().parse_args(shlex.split(command)[1:])  # SystemExit(2) on an unknown command or flag


def _plan_job() -> dict[str, Any]:
    return PR["jobs"]["plan"]


def _plan_step() -> dict[str, Any]:
    (step,) = [s for s in _plan_job()["steps"] if s.get("id") == "plan"]
    return step


def test_plan_all_writes_into_the_directory_that_is_published():
    argv = shlex.split(next(line for line in _plan_step()["run"].splitlines() if "ai-serving" in line))
    out = Path(argv[argv.index("--out") + 1])
    assert argv[:3] == [".venv/bin/ai-serving", "plan", "--all"]
    upload = _step(_plan_job(), "actions/upload-artifact")
    assert Path(upload["with"]["path"]) == out
    comment = _step(_plan_job(), "actions/github-script")
    assert Path(comment["env"]["REPORT_PATH"]) == out / "report.md"


def _write_fake_cli(bin_dir: Path, exit_code: int) -> None:
    bin_dir.mkdir(parents=True)
    fake = bin_dir / "ai-serving"
    fake.write_text(f"#!/bin/sh\nmkdir -p out && echo '# report' > out/report.md\nexit {exit_code}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)


def _run_like_github(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """GitHub runs `shell: bash` steps as `bash --noprofile --norc -eo pipefail`."""
    assert PR["defaults"]["run"]["shell"] == "bash"
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("exit_code", [0, 1, 2])
def test_a_failing_plan_still_publishes_the_report_then_fails_the_job(tmp_path: Path, exit_code: int):
    _write_fake_cli(tmp_path / ".venv" / "bin", exit_code)  # the workflow calls the CLI by its .venv path
    outputs = tmp_path / "github_output"
    env = {"GITHUB_OUTPUT": str(outputs)}

    plan = _run_like_github(_plan_step()["run"], tmp_path, env)
    assert plan.returncode == 0, "the plan step must record the exit code, not fail before publishing"
    assert f"exit-code={exit_code}" in outputs.read_text().splitlines()

    steps = _plan_job()["steps"]
    publish = [i for i, s in enumerate(steps)
               if _uses(s, "actions/github-script") or _uses(s, "actions/upload-artifact")]
    (fail_index,) = [i for i, s in enumerate(steps) if "steps.plan.outputs.exit-code" in str(s.get("if", ""))]
    assert max(publish) < fail_index == len(steps) - 1, "publish first, fail last"
    assert steps[fail_index]["if"] == "always() && steps.plan.outputs.exit-code != '0'"
    fail = _run_like_github(steps[fail_index]["run"], tmp_path, {"PLAN_EXIT_CODE": str(exit_code)})
    assert fail.returncode == exit_code  # only reached when the code is not 0


_GITHUB_SCRIPT_HARNESS = """
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const calls = [];
const github = {
  paginate: async (method, args) => {
    calls.push(['list', args.issue_number]);
    return JSON.parse(process.env.EXISTING);
  },
  rest: { issues: {
    listComments: 'listComments',
    updateComment: async (a) => { calls.push(['update', a.comment_id, a.body]); },
    createComment: async (a) => { calls.push(['create', a.issue_number, a.body]); },
  } },
};
const context = { serverUrl: 'https://github.com', repo: { owner: 'o', repo: 'r' }, runId: 7,
                  issue: { number: 5 }, payload: { pull_request: { head: { sha: 'abcdef1234567' } } } };
new AsyncFunction('require', 'github', 'context', process.env.SCRIPT)(require, github, context)
  .then(() => console.log(JSON.stringify(calls)), (e) => { console.error(e); process.exit(3); });
"""


def _post_comment(tmp_path: Path, *, report: str | None, existing: list[dict[str, Any]],
                  exit_code: str, gate: dict[str, str] | None = None) -> list:
    """Run the PR workflow's github-script under node with a fake GitHub API; return the API calls."""
    step = _step(_plan_job(), "actions/github-script")
    report_path = tmp_path / step["env"]["REPORT_PATH"]
    if report is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(report, encoding="utf-8")
    env = {**os.environ, "SCRIPT": step["with"]["script"], "EXISTING": json.dumps(existing),
           "REPORT_PATH": step["env"]["REPORT_PATH"], "PLAN_EXIT_CODE": exit_code, **(gate or {})}
    result = subprocess.run(["node", "-e", _GITHUB_SCRIPT_HARNESS], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
MARKER = "<!-- ai-serving:plan-report -->"


@needs_node
def test_first_report_creates_the_comment(tmp_path: Path):
    calls = _post_comment(tmp_path, report="## team-a-dev\n1 mandatory finding", existing=[], exit_code="1")
    assert [c[0] for c in calls] == ["list", "create"]
    _, issue, body = calls[1]
    assert issue == 5
    assert body.startswith(MARKER)
    assert "policy or cross-team violations" in body and "## team-a-dev\n1 mandatory finding" in body
    assert "abcdef1" in body and "https://github.com/o/r/actions/runs/7" in body


@needs_node
def test_later_reports_edit_the_bot_comment_and_leave_people_alone(tmp_path: Path):
    existing = [{"id": 11, "user": {"type": "User"}, "body": f"quoting {MARKER}"},
                {"id": 12, "user": {"type": "Bot"}, "body": "another bot"},
                {"id": 13, "user": {"type": "Bot"}, "body": f"{MARKER}\nold report"}]
    calls = _post_comment(tmp_path, report="# all good", existing=existing, exit_code="0")
    assert [c[:2] for c in calls] == [["list", 5], ["update", 13]]
    assert "every stack passes" in calls[1][2] and "# all good" in calls[1][2]


@needs_node
@pytest.mark.parametrize(("every", "exit_code", "header"), [
    ("true", "0", ":white_check_mark: every stack passes\n"),
    ("false", "0", ":white_check_mark: the stacks this PR is gated on pass (`team-a-dev`, `team-b-dev`; the others "
                   "are reported, not gating)\n"),
    ("true", "1", ":x: policy or cross-team violations\n"),
    ("false", "1", ":x: policy or cross-team violations (gated on `team-a-dev`, `team-b-dev`)\n"),
])
def test_the_comment_header_names_the_gate_when_it_is_not_every_stack(tmp_path: Path, every: str, exit_code: str,
                                                                        header: str):
    """With --gate, exit code 0 says the gated stacks pass: another team's stack may have failed (reported)."""
    step = _step(_plan_job(), "actions/github-script")
    assert step["env"]["GATE"] == "${{ steps.gate.outputs.stacks }}"
    assert step["env"]["GATE_EVERY"] == "${{ steps.gate.outputs.every-stack }}"
    gate = {"GATE": '["team-a-dev","team-b-dev"]', "GATE_EVERY": every}
    (_, (_, _, body)) = _post_comment(tmp_path, report="# r", existing=[], exit_code=exit_code, gate=gate)
    assert f"### ai-serving plan --all: {header}" in body, body


@needs_node
def test_an_oversized_report_is_cut_at_a_block_boundary_and_points_at_the_artifact(tmp_path: Path):
    from ai_serving.reports.markdown import CUT

    # As the report writes its stack sections: each a collapsed <details> after a CUT marker.
    report = "## verdict\n" + "".join(f"\n{CUT}\n<details><summary>team-{i:03d}-dev</summary>\n\n"
                                       + "x" * 1000 + "\n\n</details>\n" for i in range(200))
    (_, (_, _, body)) = _post_comment(tmp_path, report=report, existing=[], exit_code="0")
    assert len(body) < 65536
    assert "ai-serving-plan` artifact" in body
    before = body[:body.index("_Truncated")]
    assert before.count("<details>") == before.count("</details>") > 0, "the note is outside every section"
    assert re.search(r"x{1000}\n\n</details>\n\n\n_Truncated", body), "cut at a block boundary"


@needs_node
def test_a_missing_report_still_gets_a_comment(tmp_path: Path):
    (_, (_, _, body)) = _post_comment(tmp_path, report=None, existing=[], exit_code="2")
    assert "planning failed (exit 2)" in body and "No report was written" in body


# --- changed stacks --------------------------------------------------------------------------------------

EXISTING = ["team-a-dev", "team-a-prod", "team-b-dev"]


@pytest.mark.parametrize(("paths", "expected"), [
    (["stacks/Pulumi.team-a-dev.yaml"], ["team-a-dev"]),
    (["stacks/Pulumi.team-b-dev.yaml", "stacks/Pulumi.team-a-prod.yaml", "README.md"],
     ["team-a-prod", "team-b-dev"]),
    (["infra/components/network.py"], EXISTING),
    (["policies/rules/network.py", "stacks/Pulumi.team-a-dev.yaml"], EXISTING),
    (["requirements.lock"], EXISTING),
    (["Pulumi.yaml"], EXISTING),
    (["stacks/quotas.yaml", "README.md", ".github/workflows/deploy.yml"], []),
    (["stacks/Pulumi.team-gone-dev.yaml"], []),  # deleted: nothing left to deploy
    (["docs/stacks/Pulumi.team-a-dev.yaml", "infrastructure/x.py"], []),
])
def test_affected_stacks(paths: list[str], expected: list[str]):
    assert _changed_stacks_module().affected_stacks(paths, EXISTING) == expected


@pytest.mark.parametrize(("paths", "expected"), [
    (["stacks/Pulumi.team-a-dev.yaml"], ["team-a-dev"]),
    (["stacks/Pulumi.team-b-dev.yaml", "stacks/Pulumi.team-a-prod.yaml"], ["team-a-prod", "team-b-dev"]),
    (["stacks/Pulumi.team-a-dev.yaml", "README.md"], EXISTING),  # more than stack files: every stack gates
    # A new team's stack file with its CODEOWNERS line (README "How a team adds a stack"): no verdict reads it.
    (["stacks/Pulumi.team-a-dev.yaml", ".github/CODEOWNERS"], ["team-a-dev"]),
    ([".github/CODEOWNERS"], EXISTING),
    (["stacks/Pulumi.team-a-dev.yaml", ".github/CODEOWNERS", ".github/workflows/deploy.yml"], EXISTING),
    (["stacks/quotas.yaml"], EXISTING),
    (["ai_serving/cli.py"], EXISTING),
    (["stacks/Pulumi.team-gone-dev.yaml"], EXISTING),  # only a deletion: nothing of its own to gate on
    ([], EXISTING),
])
def test_gated_stacks(paths: list[str], expected: list[str]):
    """A PR's plan --all takes its exit code from the stacks it changes only when it changes nothing else."""
    assert _changed_stacks_module().gated_stacks(paths, EXISTING) == expected


def test_the_pull_request_plan_is_gated_on_the_stacks_it_changes():
    doc = _load(GITHUB / "workflows" / "pull-request.yml")
    steps = doc["jobs"]["plan"]["steps"]
    names = [s.get("name") for s in steps]
    gate = steps[names.index("Stacks this PR is gated on")]
    plan = steps[names.index("ai-serving plan --all")]
    assert gate["uses"].startswith("./.github/actions/changed-stacks") and gate["with"]["mode"] == "gate"
    assert gate["with"]["base"] == "${{ github.event.pull_request.base.sha }}"
    assert plan["env"]["GATE"] == "${{ steps.gate.outputs.stacks }}"
    assert '.venv/bin/ai-serving plan --all --out out/ "${gate[@]}"' in plan["run"]
    # The step's own way from the JSON list to the options, run as written: none for [], one per stack.
    line = next(x for x in plan["run"].splitlines() if x.startswith("mapfile"))
    for listed, expected in (("[]", ""), ('["team-a-dev","team-b-dev"]', "--gate=team-a-dev --gate=team-b-dev")):
        out = subprocess.run(["bash", "-c", f'{line}\necho "${{gate[*]}}|${{#gate[@]}}"'], env={**os.environ, "GATE": listed},
                             capture_output=True, text=True, check=True).stdout.strip()
        assert out == f"{expected}|{len(expected.split())}", out


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with three stacks and an infra module, one commit."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "infra").mkdir()
    for stack in EXISTING:
        (tmp_path / "stacks" / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    (tmp_path / "stacks" / "quotas.yaml").write_text("{}\n")
    (tmp_path / "infra" / "program.py").write_text("")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def _changed(repo: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = repo / "github_output"
    out.unlink(missing_ok=True)
    result = subprocess.run([sys.executable, str(CHANGED_STACKS), *args], cwd=repo, capture_output=True,
                            text=True, env={**os.environ, "GITHUB_OUTPUT": str(out)}, timeout=60)
    values = dict(line.split("=", 1) for line in out.read_text().splitlines()) if out.exists() else {}
    return result.returncode, {k: json.loads(v) for k, v in values.items()}, result.stderr


def test_changed_stacks_from_git_history(repo: Path):
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "stacks" / "Pulumi.team-b-dev.yaml").write_text("config: {changed: true}\n")
    (repo / "stacks" / "Pulumi.team-a-prod.yaml").unlink()
    (repo / "stacks" / "Pulumi.team-c-dev.yaml").write_text("config: {}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "team-b change, team-a-prod removed, team-c added")

    code, outputs, _ = _changed(repo, "--base", base, "--head", "HEAD")
    assert code == 0
    assert outputs == {"stacks": ["team-b-dev", "team-c-dev"], "count": 2, "every-stack": False}

    (repo / "infra" / "program.py").write_text("# changed\n")
    _git(repo, "commit", "-q", "-am", "program change")
    code, outputs, _ = _changed(repo, "--base", base, "--head", "HEAD")
    assert outputs["stacks"] == ["team-a-dev", "team-b-dev", "team-c-dev"] and outputs["every-stack"] is True


@pytest.mark.parametrize("base", ["", "0000000000000000000000000000000000000000", "deadbeef" * 5])
def test_unknown_base_means_every_stack(repo: Path, base: str):
    code, outputs, _ = _changed(repo, "--base", base, "--head", "HEAD")
    assert code == 0
    assert outputs["stacks"] == EXISTING


def test_explicit_stacks_are_checked(repo: Path):
    assert _changed(repo, "--stacks", "team-b-dev, team-a-dev")[1]["stacks"] == ["team-a-dev", "team-b-dev"]
    assert _changed(repo, "--stacks", "all")[1]["stacks"] == EXISTING
    code, outputs, stderr = _changed(repo, "--stacks", "team-a-dev team-x-dev")
    assert code != 0 and outputs == {}
    assert "unknown stack(s): team-x-dev" in stderr


# --- hygiene -----------------------------------------------------------------------------------------------

def test_third_party_actions_are_pinned_to_a_commit_with_its_release_named():
    """A tag can be moved to other code; a commit SHA cannot. The comment says which release it is."""
    for path, doc in _all_docs():
        text = path.read_text(encoding="utf-8")
        for job_id, step in _steps(doc):
            uses = step.get("uses")
            if not uses or uses.startswith("./"):
                continue
            _, _, ref = uses.partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{path.name} {job_id}: {uses}"
            assert re.search(rf"uses: {re.escape(uses)} # v\d+\.\d+\.\d+\n", text), f"{path.name}: {uses}"


# --- waivers need the platform team ------------------------------------------------------------------------

NEW_WAIVERS = GITHUB / "actions" / "new-waivers" / "new_waivers.py"


def test_new_waivers_wait_for_the_platform_teams_environment_and_fail_closed():
    jobs = PR["jobs"]
    check, gate = jobs["waivers"], jobs["waiver-approval"]
    assert (check["name"], gate["name"]) == ("new waivers", "waiver approval")  # the required checks' names
    (step,) = [s for s in check["steps"] if s.get("uses") == "./.github/actions/new-waivers"]
    assert step["with"] == {"base": "${{ github.event.pull_request.base.sha }}", "head": "${{ github.sha }}"}
    assert check["outputs"]["stacks"] == f"${{{{ steps.{step['id']}.outputs.stacks }}}}"
    assert _step(check, "actions/checkout")["with"]["fetch-depth"] == 0
    steps = [s.get("uses") for s in check["steps"]]
    assert steps.index("./.github/actions/setup") < steps.index("./.github/actions/new-waivers")
    assert gate["needs"] == "waivers" and gate["environment"] == {"name": "waiver-review"}
    # Skipped only on an explicit empty list: a failed check (empty output) still waits for approval.
    assert gate["if"] == "${{ !cancelled() && needs.waivers.outputs.stacks != '[]' }}"
    assert gate["permissions"] == {"actions": "read"}, "it reads the environment's rules; no OIDC token"
    assert "vars." not in json.dumps(gate)
    (step,) = gate["steps"]
    assert step["env"]["ENVIRONMENT"] == gate["environment"]["name"]


_REVIEWERS = {"type": "required_reviewers", "prevent_self_review": True,
              "reviewers": [{"type": "Team", "reviewer": {"slug": "platform-team"}}]}


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed (GitHub's runners have it)")
@pytest.mark.parametrize(("environment", "passes"), [
    ({"protection_rules": [_REVIEWERS]}, True),
    ({"protection_rules": []}, False),                        # created by the job itself: no rules
    ({}, False),
    ({"protection_rules": [{**_REVIEWERS, "prevent_self_review": False}]}, False),
    ({"protection_rules": [{**_REVIEWERS, "reviewers": []}]}, False),
    ({"protection_rules": [{"type": "wait_timer", "wait_timer": 5}]}, False),
    (None, False),                                            # the API call fails
])
def test_the_approval_fails_when_the_environment_approves_nothing(tmp_path: Path, environment: Any, passes: bool):
    """An environment a job names but nobody created runs the job at once: the approval must notice."""
    (step,) = PR["jobs"]["waiver-approval"]["steps"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    body = f"cat <<'JSON'\n{json.dumps(environment)}\nJSON\n" if environment is not None else "exit 1\n"
    gh.write_text(f'#!/bin/sh\n[ "$1 $2" = "api repos/o/r/environments/waiver-review" ] || exit 9\n{body}')
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    env = {**step["env"], "REPO": "o/r", "STACKS": '["team-a-dev"]', "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = _run_like_github(step["run"], tmp_path, env)
    assert (result.returncode == 0) == passes, result.stdout + result.stderr


def _new_waivers(repo: Path, base: str, head: str) -> tuple[int, dict[str, Any], str]:
    out = repo / "github_output"
    out.unlink(missing_ok=True)
    result = subprocess.run([sys.executable, str(NEW_WAIVERS), "--base", base, "--head", head], cwd=repo,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "GITHUB_OUTPUT": str(out), "PYTHONPATH": str(ROOT)})
    values = dict(line.split("=", 1) for line in out.read_text().splitlines()) if out.exists() else {}
    return result.returncode, {k: json.loads(v) for k, v in values.items()}, result.stderr


_WAIVER = {"rule": "CS-05", "resource": "oai-*", "reason": "CMK rollout tracked in PLAT-123", "expires": "2027-03-31"}


def _stack_text(waivers: list[dict[str, str]] | None) -> str:
    config: dict[str, Any] = {"ai-serving:team": "team-a"}
    if waivers is not None:
        config["ai-serving:suppressions"] = waivers
    return yaml.safe_dump({"config": config}, sort_keys=False)


@pytest.mark.parametrize(("before", "after", "expected"), [
    ([_WAIVER], [_WAIVER], []),                                          # unchanged
    (None, None, []),                                                    # no waivers at all
    ([_WAIVER], [], []),                                                 # removing a waiver needs nobody
    ([], [_WAIVER], ["team-a-dev"]),                                     # added
    (None, [_WAIVER], ["team-a-dev"]),                                   # the key added
    ([_WAIVER], [{**_WAIVER, "expires": "2027-12-31"}], ["team-a-dev"]),  # a later expiry
    ([_WAIVER], [{**_WAIVER, "resource": "*"}], ["team-a-dev"]),          # a wider glob
    ("absent", [_WAIVER], ["team-a-dev"]),                               # a new stack file with a waiver
    ("absent", None, []),                                                # a new stack file without one
])
def test_new_or_changed_waivers_are_listed_and_removed_ones_are_not(repo: Path, before: Any, after: Any,
                                                                    expected: list[str]):
    path = repo / "stacks" / "Pulumi.team-a-dev.yaml"
    if before == "absent":
        path.unlink()
    else:
        path.write_text(_stack_text(before))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    base = _git(repo, "rev-parse", "HEAD")
    path.write_text(_stack_text(after))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "head")
    code, outputs, stderr = _new_waivers(repo, base, "HEAD")
    assert code == 0, stderr
    assert outputs == {"stacks": expected, "count": len(expected)}


@pytest.mark.parametrize("bad", ["config:\n  ai-serving:suppressions: &a [1]\n  x: *a\n",  # an alias: refused
                                 "config: {ai-serving:suppressions: not-a-list}\n",
                                 "\xff\xfe not utf-8\n"])
def test_a_stack_file_the_reader_refuses_counts_as_new_waivers(repo: Path, bad: str):
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "stacks" / "Pulumi.team-b-dev.yaml").write_bytes(bad.encode("latin-1"))
    _git(repo, "commit", "-q", "-am", "unreadable")
    code, outputs, stderr = _new_waivers(repo, base, "HEAD")
    assert code == 0, stderr
    assert outputs["stacks"] == ["team-b-dev"]


def test_a_symlinked_stack_file_counts_as_new_waivers(repo: Path):
    """`git show` of a symlink gives the link's text (no waivers) while the plan reads its target: a stack file
    replaced by a link to a copy with a later expiry passed the waiver review unseen."""
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "docs").mkdir(exist_ok=True)
    (repo / "docs" / "example.yaml").write_text(_stack_text([{**_WAIVER, "expires": "2027-12-31"}]))
    path = repo / "stacks" / "Pulumi.team-b-dev.yaml"
    path.unlink()
    path.symlink_to("../docs/example.yaml")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "link")
    code, outputs, stderr = _new_waivers(repo, base, "HEAD")
    assert code == 0, stderr
    assert outputs["stacks"] == ["team-b-dev"]


def test_waivers_without_the_namespace_count_as_new(repo: Path):
    """The engine reads `suppressions:` as ai-serving:suppressions; the review read only the full name."""
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "stacks" / "Pulumi.team-b-dev.yaml").write_text(
        yaml.safe_dump({"config": {"ai-serving:team": "team-b", "suppressions": [_WAIVER]}}, sort_keys=False))
    _git(repo, "commit", "-q", "-am", "unprefixed")
    code, outputs, stderr = _new_waivers(repo, base, "HEAD")
    assert code == 0, stderr
    assert outputs["stacks"] == ["team-b-dev"]


def test_an_unknown_base_is_an_error_not_a_pass(repo: Path):
    code, outputs, stderr = _new_waivers(repo, "deadbeef" * 5, "HEAD")
    assert code != 0 and outputs == {} and "not in the clone" in stderr


# --- the README's Azure prerequisites are what the program declares ---------------------------------------

@pytest.fixture(scope="module")
def example_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """plan.json of every example stack (``ai-serving plan``, no pack: only the resources matter here)."""
    from tests.cli_helpers import cli

    plans = {}
    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        stack = path.name[len("Pulumi."):-len(".yaml")]
        out = tmp_path_factory.mktemp(stack)
        assert cli("plan", stack, "--no-policy", "--quiet", "--out", out) == 0, stack
        plans[stack] = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert plans
    return plans


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_names_exactly_the_roles_the_program_grants(example_plans: dict[str, dict[str, Any]]):
    """The RBAC Administrator condition must allow every role the deploy assigns, and nothing more."""
    from infra.components.roles import BUILTIN_ROLES

    granted = {res["inputs"]["roleDefinitionId"].rsplit("/", 1)[1]
               for plan in example_plans.values() for res in plan["resources"]
               if res["type"] == "azure-native:authorization:RoleAssignment"}
    block = re.search(r"<!-- ai-serving:granted-roles -->\n(.*?)<!-- /ai-serving:granted-roles -->", _readme(),
                      flags=re.S)
    listed = dict(re.findall(r"^- `([0-9a-f-]{36})` (.+)$", block.group(1), flags=re.M))
    assert set(listed) == granted
    names = {guid: name for name, guid in BUILTIN_ROLES.items()}
    assert listed == {guid: names[guid] for guid in granted}


def test_the_readme_registers_every_resource_provider_the_examples_declare(example_plans: dict[str, dict[str, Any]]):
    from ai_serving.arm import ARM_TYPES

    declared = {ARM_TYPES[res["type"]].namespace for plan in example_plans.values() for res in plan["resources"]
                if res["type"].startswith("azure-native:")} - {""}  # "": resource groups, Microsoft.Resources
    (loop,) = re.findall(r"`for ns in ([\w. ]+); do az provider register --namespace \"\$ns\"; done`", _readme())
    assert set(loop.split()) == declared

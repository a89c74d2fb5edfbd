"""`ai-serving github-settings`: the repository settings the workflows rely on, read through `gh api`.

The fake GitHub answers as the REST API does: every answer is checked against the response schema of its
endpoint in GitHub's OpenAPI description (tests/fixtures/github/rest-schemas.json, from @octokit/openapi),
and every field a fake sets must be one the schema names, so a check written against a field GitHub does not
send fails here. `gh` itself is replaced by a recording
script on PATH for the CLI's own tests.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ai_serving import github_settings as gs
from ai_serving.cli import main
from tests.workflow_docs import DEPLOY, PR, ROOT

REPO = "my-org/ai-serving"
SCHEMAS = json.loads((ROOT / "tests" / "fixtures" / "github" / "rest-schemas.json").read_text())["schemas"]
_ROUTES = [(re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(key.split(" ", 1)[1].lstrip("/")))
                       + "$"), key) for key in SCHEMAS]


def _schema_key(path: str) -> str:
    bare = path.split("?", 1)[0]
    # The most specific route: `environments/{name}` must not take `environments/{name}/variables`.
    (key,) = [key for pattern, key in _ROUTES if pattern.match(bare)]
    return key


def _user(login: str, uid: int) -> dict[str, Any]:
    return {"login": login, "id": uid, "node_id": f"U_{uid}", "avatar_url": "https://example.com/a.png",
            "gravatar_id": "", "url": f"https://api.github.com/users/{login}",
            "html_url": f"https://github.com/{login}", "followers_url": "https://api.github.com/f",
            "following_url": "https://api.github.com/f", "gists_url": "https://api.github.com/g",
            "starred_url": "https://api.github.com/s", "subscriptions_url": "https://api.github.com/s",
            "organizations_url": "https://api.github.com/o", "repos_url": "https://api.github.com/r",
            "events_url": "https://api.github.com/e", "received_events_url": "https://api.github.com/r",
            "type": "User", "site_admin": False}


def _environment(name: str, *, branches: dict | None, reviewers: bool) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    if reviewers:
        rules.append({"id": 1, "node_id": "R_1", "type": "required_reviewers", "prevent_self_review": True,
                      "reviewers": [{"type": "User", "reviewer": _user("platform-lead", 7)}]})
    if branches is not None:
        rules.append({"id": 2, "node_id": "R_2", "type": "branch_policy"})
    return {"id": 10, "node_id": "E_10", "name": name, "url": f"https://api.github.com/repos/{REPO}/environments/{name}",
            "html_url": f"https://github.com/{REPO}/deployments/activity_log?environments_filter={name}",
            "created_at": "2026-12-01T00:00:00Z", "updated_at": "2026-12-01T00:00:00Z",
            "protection_rules": rules, "deployment_branch_policy": branches}


def _variables(values: dict[str, str]) -> dict[str, Any]:
    return {"total_count": len(values), "variables": [
        {"name": k, "value": v, "created_at": "2026-12-01T00:00:00Z", "updated_at": "2026-12-01T00:00:00Z"}
        for k, v in values.items()]}


MAIN_ONLY = {"protected_branches": False, "custom_branch_policies": True}
NONPROD = {k: f"val-nonprod-{k.lower()}" for k in gs.REPOSITORY_VARIABLES}
PROD = {"AZURE_CLIENT_ID": "val-prod-app", **{k: f"val-prod-{k.lower()}" for k in gs.PRODUCTION_OWN}}


def _protection(contexts: list[str]) -> dict[str, Any]:
    url = f"https://api.github.com/repos/{REPO}/branches/main/protection"
    return {"url": url,
            "required_status_checks": {"url": url + "/required_status_checks", "strict": True, "contexts": contexts,
                                       "contexts_url": url + "/required_status_checks/contexts",
                                       "checks": [{"context": c, "app_id": 15368} for c in contexts]},
            "required_pull_request_reviews": {"url": url + "/required_pull_request_reviews",
                                              "dismiss_stale_reviews": True, "require_code_owner_reviews": True,
                                              "required_approving_review_count": 1,
                                              "require_last_push_approval": True},
            "enforce_admins": {"url": url + "/enforce_admins", "enabled": True}}


def good() -> dict[str, Any]:
    """Every setting as the README requires, as GitHub would answer (path -> answer; absent: 404)."""
    envs = f"repos/{REPO}/environments"
    page = f"?per_page={gs._PAGE}&page=1"
    return {
        f"{envs}/development": _environment("development", branches=MAIN_ONLY, reviewers=False),
        f"{envs}/production": _environment("production", branches=MAIN_ONLY, reviewers=True),
        f"{envs}/waiver-review": _environment("waiver-review", branches=None, reviewers=True),
        f"{envs}/waiver-review/secrets?per_page={gs._LIST}": {"total_count": 0, "secrets": []},
        **{f"{envs}/{e}/deployment-branch-policies?per_page={gs._LIST}": {"total_count": 1, "branch_policies": [
            {"id": 3, "node_id": "P_3", "name": "main", "type": "branch"}]} for e in ("development", "production")},
        f"repos/{REPO}/actions/variables{page}": _variables(NONPROD),
        f"{envs}/development/variables{page}": _variables({"AZURE_CLIENT_ID": "val-dev-app"}),
        f"{envs}/production/variables{page}": _variables(PROD),
        f"{envs}/waiver-review/variables{page}": _variables({}),
        f"repos/{REPO}/branches/main/protection": _protection(list(gs.REQUIRED_CHECKS)),
        f"repos/{REPO}/rules/branches/main?per_page={gs._LIST}": [],
    }


def _property_names(schema: Any) -> set[str]:
    """Every property name the schema knows, at any depth (allOf/anyOf/oneOf/items included)."""
    names: set[str] = set()
    if isinstance(schema, dict):
        names |= set(schema.get("properties", {}))
        for value in schema.values():
            names |= _property_names(value)
    elif isinstance(schema, list):
        for value in schema:
            names |= _property_names(value)
    return names


def _keys(answer: Any) -> set[str]:
    if isinstance(answer, dict):
        return set(answer) | {k for v in answer.values() for k in _keys(v)}
    if isinstance(answer, list):
        return {k for v in answer for k in _keys(v)}
    return set()


class FakeGitHub:
    """``get`` over a table of answers, each validated against its endpoint's schema; records the paths."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.paths: list[str] = []

    def __call__(self, path: str) -> Any:
        self.paths.append(path)
        answer = self.answers.get(path)
        if answer is not None:
            schema = SCHEMAS[_schema_key(path)]
            jsonschema.validate(answer, schema)
            # GitHub's schemas allow extra keys, so a misspelt field would validate: every key must be one they name.
            unknown = _keys(answer) - _property_names(schema)
            assert not unknown, f"{path}: fields GitHub does not send: {sorted(unknown)}"
        return answer


def _failing(answers: dict[str, Any]) -> dict[str, str]:
    return {f.setting: f.detail for f in gs.check(FakeGitHub(answers), REPO) if not f.ok}


def test_the_settings_the_readme_requires_pass(capsys):
    fake = FakeGitHub(good())
    assert _failing(good()) == {}
    args = type("A", (), {"repo": REPO})()
    from rich.console import Console
    assert gs.run(args, Console(), Console(stderr=True), get=fake) == 0
    out = capsys.readouterr().out
    assert "all " in out and "settings as required" in out
    for value in (*NONPROD.values(), *PROD.values(), "val-dev-app"):
        assert value not in out, "a variable's value was printed"


def _envs() -> str:
    return f"repos/{REPO}/environments"


def _set(path: str, *keys: str, value: Any):
    def change(answers: dict[str, Any]) -> None:
        node = answers[path]
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return change


def _drop(path: str):
    return lambda answers: answers.pop(path)


def _vars(path: str, values: dict[str, str]):
    return lambda answers: answers.__setitem__(f"{path}?per_page={gs._PAGE}&page=1", _variables(values))


@pytest.mark.parametrize(("change", "expected"), [
    (_drop(f"repos/{REPO}/environments/production"), {"environment production": "missing"}),
    (_set(f"repos/{REPO}/environments/development", "deployment_branch_policy", value=None),
     {"development: deployment branches": "found any branch"}),
    (_set(f"repos/{REPO}/environments/production", "deployment_branch_policy",
          value={"protected_branches": True, "custom_branch_policies": False}),
     {"production: deployment branches": "found protected branches"}),
    (_set(f"repos/{REPO}/environments/production/deployment-branch-policies?per_page={gs._LIST}",
          "branch_policies",
          value=[{"id": 3, "name": "main", "type": "branch"}, {"id": 4, "name": "release/*", "type": "branch"}]),
     {"production: deployment branches": "branch release/*"}),
    (_set(f"repos/{REPO}/environments/development/deployment-branch-policies?per_page={gs._LIST}",
          "branch_policies",
          value=[{"id": 3, "name": "main", "type": "tag"}]), {"development: deployment branches": "tag main"}),
    (_set(f"repos/{REPO}/environments/production", "protection_rules", 0, "prevent_self_review", value=False),
     {"production: prevent self-review": "off"}),
    (_set(f"repos/{REPO}/environments/waiver-review", "protection_rules", value=[]),
     {"waiver-review: required reviewers": "none", "waiver-review: prevent self-review": "off"}),
    (_set(f"repos/{REPO}/environments/waiver-review", "deployment_branch_policy", value=MAIN_ONLY),
     {"waiver-review: deployment branches": "must allow any branch"}),
    (_vars(f"repos/{REPO}/actions/variables", {**NONPROD, "AZURE_CLIENT_ID": "val-dev-app"}),
     {"repository variable AZURE_CLIENT_ID": "found set"}),
    (_vars(f"repos/{REPO}/actions/variables", {k: v for k, v in NONPROD.items() if k != "AZURE_TENANT_ID"}),
     {"repository variable AZURE_TENANT_ID": "missing"}),
    (_vars(f"repos/{REPO}/environments/production/variables", {**PROD, "AZURE_SUBSCRIPTION_ID": NONPROD["AZURE_SUBSCRIPTION_ID"]}),
     {"production variable AZURE_SUBSCRIPTION_ID": "the same as the non-prod value"}),
    (_vars(f"repos/{REPO}/environments/production/variables", {k: v for k, v in PROD.items() if k != "PULUMI_SECRETS_KEY"}),
     {"production variable PULUMI_SECRETS_KEY": "missing"}),
    (_vars(f"repos/{REPO}/environments/production/variables", {**PROD, "AZURE_CLIENT_ID": "val-dev-app"}),
     {"AZURE_CLIENT_ID: development and production differ": "the same identity for both"}),
    (_vars(f"repos/{REPO}/environments/development/variables", {}), {"development variable AZURE_CLIENT_ID": "missing"}),
    (_vars(f"repos/{REPO}/environments/waiver-review/variables", {"AZURE_CLIENT_ID": "x"}),
     {"waiver-review: no variables": "AZURE_CLIENT_ID"}),
    (_set(f"repos/{REPO}/branches/main/protection", "required_pull_request_reviews", "require_code_owner_reviews",
          value=False), {"main: review from code owners": "off"}),
    (_set(f"repos/{REPO}/branches/main/protection", "required_pull_request_reviews", "require_last_push_approval",
          value=False), {"main: approval of the most recent push": "off"}),
    (_set(f"repos/{REPO}/branches/main/protection", "required_pull_request_reviews", "dismiss_stale_reviews",
          value=False), {"main: dismiss stale approvals": "off"}),
    (lambda a: a.__setitem__(f"repos/{REPO}/branches/main/protection", _protection(["lint", "test", "plan --all"])),
     {"main: required status checks from GitHub Actions": "new waivers, waiver approval"}),
    (_set(f"repos/{REPO}/branches/main/protection", "required_status_checks", "checks", 4, "app_id", value=None),
     {"main: required status checks from GitHub Actions": "not bound to GitHub Actions) waiver approval"}),
    (_set(f"repos/{REPO}/branches/main/protection", "enforce_admins", "enabled", value=False),
     {"main: nobody may bypass the rules": "admins"}),
    (_set(f"repos/{REPO}/branches/main/protection", "required_pull_request_reviews", "bypass_pull_request_allowances",
          value={"users": [_user("hotfixer", 9)], "teams": [], "apps": []}),
     {"main: nobody may bypass the rules": "user hotfixer"}),
    (_set(f"repos/{REPO}/branches/main/protection", "required_pull_request_reviews",
          "required_approving_review_count", value=0), {"main: at least one approval": "0 required"}),
    (_vars(f"repos/{REPO}/environments/development/variables", {"AZURE_CLIENT_ID": "val-dev-app",
                                                               "PULUMI_STATE_CONTAINER": "val-x"}),
     {"development sets only AZURE_CLIENT_ID": "also sets PULUMI_STATE_CONTAINER"}),
    (_set(f"repos/{REPO}/environments/waiver-review/secrets?per_page={gs._LIST}", "secrets",
          value=[{"name": "TOKEN", "created_at": "2026-12-01T00:00:00Z", "updated_at": "2026-12-01T00:00:00Z"}]),
     {"waiver-review: no secrets": "TOKEN"}),
    (_drop(f"repos/{REPO}/environments/waiver-review/variables?per_page={gs._PAGE}&page=1"),
     {"waiver-review variables": "cannot read them"}),
], ids=["no-prod-env", "dev-any-branch", "prod-protected-branches", "prod-extra-branch", "dev-tag-policy",
        "prod-self-review", "waiver-no-reviewers", "waiver-branch-rule", "deploy-id-at-repo", "no-tenant",
        "prod-shares-subscription", "prod-no-key", "one-deploy-identity", "dev-no-identity", "waiver-env-vars",
        "no-code-owners", "no-last-push", "no-dismiss-stale", "missing-checks", "check-any-source",
        "admins-not-included", "bypass-allowance", "no-approvals", "dev-overrides", "waiver-secrets",
        "variables-unreadable"])
def test_each_setting_that_differs_is_named_and_only_it(change, expected: dict[str, str]):
    answers = copy.deepcopy(good())
    change(answers)
    failing = _failing(answers)
    assert set(failing) == set(expected), failing
    for setting, text in expected.items():
        assert text in failing[setting]


def _ruleset_only() -> dict[str, Any]:
    answers = good()
    answers.pop(f"repos/{REPO}/branches/main/protection")
    meta = {"ruleset_source_type": "Repository", "ruleset_source": REPO, "ruleset_id": 42}
    answers[f"repos/{REPO}/rulesets/42"] = {
        "id": 42, "name": "main", "source_type": "Repository", "source": REPO, "enforcement": "active",
        "bypass_actors": [], "rules": []}
    answers[f"repos/{REPO}/rules/branches/main?per_page={gs._LIST}"] = [
        {"type": "pull_request", **meta, "parameters": {
            "dismiss_stale_reviews_on_push": True, "require_code_owner_review": True,
            "require_last_push_approval": True, "required_approving_review_count": 1,
            "required_review_thread_resolution": False}},
        {"type": "required_status_checks", **meta, "parameters": {
            "strict_required_status_checks_policy": True,
            "required_status_checks": [{"context": c, "integration_id": gs.GITHUB_ACTIONS_APP}
                                       for c in gs.REQUIRED_CHECKS]}}]
    return answers


def test_a_ruleset_on_main_satisfies_the_branch_settings():
    assert _failing(_ruleset_only()) == {}


def test_main_without_protection_or_ruleset_fails_every_branch_setting():
    answers = _ruleset_only()
    answers[f"repos/{REPO}/rules/branches/main?per_page={gs._LIST}"] = []
    assert set(_failing(answers)) == {"main: pull request required", "main: review from code owners",
                                      "main: dismiss stale approvals", "main: approval of the most recent push",
                                      "main: required status checks from GitHub Actions",
                                      "main: at least one approval"}


def test_a_rulesets_bypass_actors_fail_and_an_unreadable_list_is_not_an_empty_one():
    answers = _ruleset_only()
    answers[f"repos/{REPO}/rulesets/42"]["bypass_actors"] = [
        {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}]
    assert _failing(answers) == {"main: nobody may bypass the rules": "ruleset main: RepositoryRole 5"}
    del answers[f"repos/{REPO}/rulesets/42"]["bypass_actors"]  # what a non-admin is shown
    assert _failing(answers) == {"main: nobody may bypass the rules": "ruleset 42: cannot read its bypass list"}


def test_the_reviewers_are_named():
    findings = {f.setting: f for f in gs.check(FakeGitHub(good()), REPO)}
    assert findings["production: required reviewers"].detail == "platform-lead"


def test_variables_are_read_page_by_page():
    answers = good()
    many = {**NONPROD, **{f"EXTRA_{i}": str(i) for i in range(40)}}
    listing = _variables(many)
    path = f"repos/{REPO}/actions/variables"
    answers.pop(f"{path}?per_page={gs._PAGE}&page=1")
    for page in (1, 2):
        part = listing["variables"][(page - 1) * gs._PAGE: page * gs._PAGE]
        answers[f"{path}?per_page={gs._PAGE}&page={page}"] = {"total_count": len(many), "variables": part}
    # AZURE_PREVIEW_CLIENT_ID is the 7th, so page 1 alone has it: put the deploy identity on page 2 to prove page 2 is read.
    answers[f"{path}?per_page={gs._PAGE}&page=2"]["variables"].append(
        {"name": "AZURE_CLIENT_ID", "value": "x", "created_at": "2026-12-01T00:00:00Z",
         "updated_at": "2026-12-01T00:00:00Z"})
    answers[f"{path}?per_page={gs._PAGE}&page=1"]["total_count"] += 1
    answers[f"{path}?per_page={gs._PAGE}&page=2"]["total_count"] += 1
    assert set(_failing(answers)) == {"repository variable AZURE_CLIENT_ID"}


def test_the_names_checked_are_the_workflows_own():
    """The required checks are the pull-request workflow's job names, the environments the ones its jobs use."""
    job_names = {job.get("name", job_id) for job_id, job in PR["jobs"].items()}
    assert set(gs.REQUIRED_CHECKS) <= job_names
    assert PR["jobs"]["waiver-approval"]["environment"]["name"] == gs.WAIVER_ENVIRONMENT
    env = DEPLOY["jobs"]["deploy"]["environment"]["name"]
    assert all(f"'{e}'" in env for e in gs.DEPLOY_ENVIRONMENTS)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ", ".join(f"`{c}`" for c in gs.REQUIRED_CHECKS) in readme
    for name in (*gs.REPOSITORY_VARIABLES, gs.DEPLOY_IDENTITY):
        assert f"`{name}`" in readme


# --- the command, with `gh` replaced by a recording script --------------------------------------------------

def _fake_gh(tmp_path: Path, answers: dict[str, Any], *, fail: str | None = None) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    script = bin_dir / "gh"
    script.write_text(f"""#!{os.sys.executable}
import json, sys
with open({str(tmp_path / 'calls.log')!r}, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
fail = {fail!r}
if fail:
    print(fail, file=sys.stderr); sys.exit(1)
answers = json.load(open({str(tmp_path / 'answers.json')!r}))
path = sys.argv[-1]
if path not in answers:
    print('{{"message": "Not Found"}}'); print("gh: Not Found (HTTP 404)", file=sys.stderr); sys.exit(1)
print(json.dumps(answers[path]))
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_the_command_reads_through_gh_and_exits_1_on_a_difference(tmp_path: Path, monkeypatch, capsys):
    answers = good()
    answers.pop(f"repos/{REPO}/environments/waiver-review")
    monkeypatch.setenv("PATH", _fake_gh(tmp_path, answers)["PATH"])
    assert main(["github-settings", REPO]) == 1
    captured = capsys.readouterr()
    assert "environment waiver-review" in captured.out and "missing" in captured.out
    assert "settings differ" in captured.err
    calls = [json.loads(line) for line in (tmp_path / "calls.log").read_text().splitlines()]
    assert all(c[0] == "api" and "X-GitHub-Api-Version: 2022-11-28" in c for c in calls)
    assert not [c for c in calls if "-X" in c or "--method" in c or "-f" in c], "the check must only read"


def test_the_command_exits_0_when_everything_is_set(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", _fake_gh(tmp_path, good())["PATH"])
    assert main(["github-settings", REPO]) == 0


@pytest.mark.parametrize(("repo", "message"), [
    ("not a repo", "expected OWNER/NAME"), ("a/b/c", "expected OWNER/NAME"), ("../x", "expected OWNER/NAME"),
    ("-o/x", "expected OWNER/NAME"), ("x" * 5000 + "/y", "expected OWNER/NAME"),
    ("my-org/..", "expected OWNER/NAME"), ("my-org/.", "expected OWNER/NAME"),
    ("ghp_" + "a1B2" * 9, "a GitHub token (not shown")])
def test_a_bad_repository_name_is_one_message_and_exit_2(repo: str, message: str, tmp_path: Path, monkeypatch,
                                                         capsys):
    monkeypatch.setenv("PATH", _fake_gh(tmp_path, good())["PATH"])
    try:
        code = main(["github-settings", repo])
    except SystemExit as exit_:  # argparse's own usage errors (an argument that looks like an option)
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert (message in err or "error: the following arguments are required: repo" in err)
    assert "Traceback" not in err and len(err) < 400 and "a1B2a1B2" not in err, "a pasted token is never echoed"
    assert not (tmp_path / "calls.log").exists(), "nothing is asked of GitHub for a bad name"


def test_gh_refusing_is_one_message_and_exit_2(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", _fake_gh(tmp_path, good(), fail="gh: Bad credentials (HTTP 401)")["PATH"])
    assert main(["github-settings", REPO]) == 2
    err = capsys.readouterr().err
    assert "Bad credentials (HTTP 401)" in err and "Traceback" not in err


def test_no_gh_on_path_is_one_message_and_exit_2(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["github-settings", REPO]) == 2
    assert "gh (the GitHub CLI) was not found" in capsys.readouterr().err


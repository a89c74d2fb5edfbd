"""``ai-serving github-settings OWNER/REPO``: check, read-only, the repository settings the workflows rely on.

What stops a branch from deploying, or a team from approving its own waivers, is not in the workflow files
(anyone who can push a branch can edit those) but in the repository's settings (README "CI identities and
their roles"): the environments' deployment branch rules and required reviewers, the variables kept off the
repository level, and the required checks on ``main``. This reads them through the GitHub CLI (``gh api``,
with the caller's own login; nothing is written) and says, setting by setting, what differs.

Exit codes: 0 every setting as required, 1 at least one differs, 2 bad input (repository name, ``gh``
missing or refused). Variable values are compared, never printed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from infra.config.errors import shown

from .outcome import UsageError, bounded

#: The pull-request workflow's jobs that must pass before a merge to main (their check names).
REQUIRED_CHECKS = ("lint", "test", "plan --all", "new waivers", "waiver approval")
#: The deploy job's environments (deploy.yml): the deploy identities' federated subjects name them.
DEPLOY_ENVIRONMENTS = ("development", "production")
#: Where the platform team approves new waivers (pull-request.yml, job `waiver approval`).
WAIVER_ENVIRONMENT = "waiver-review"
#: Environments whose jobs wait for a reviewer who did not start them.
APPROVAL_ENVIRONMENTS = ("production", WAIVER_ENVIRONMENT)
#: Repository-level variables (the non-prod values the PR preview and `development` inherit).
REPOSITORY_VARIABLES = ("AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID", "PULUMI_STATE_STORAGE_ACCOUNT",
                        "PULUMI_STATE_CONTAINER", "PULUMI_SECRETS_KEY_VAULT", "PULUMI_SECRETS_KEY",
                        "AZURE_PREVIEW_CLIENT_ID")
#: Never at repository level: a job without an environment must not reach a deploy identity.
DEPLOY_IDENTITY = "AZURE_CLIENT_ID"
#: What `production` must set for itself, each different from the repository's non-prod value.
PRODUCTION_OWN = ("AZURE_SUBSCRIPTION_ID", "PULUMI_STATE_STORAGE_ACCOUNT", "PULUMI_STATE_CONTAINER",
                  "PULUMI_SECRETS_KEY_VAULT", "PULUMI_SECRETS_KEY")
MAIN = "main"
#: The GitHub Actions app: a required check from any other source (a commit status anyone who can push may post
#: under the same name) would not prove that the workflow's job passed.
GITHUB_ACTIONS_APP = 15368
_REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}")
_PAGE = 30  # the variables endpoints' largest page
_LIST = 100  # the largest page of the other listings read here


@dataclass(frozen=True)
class Finding:
    """One setting: what it is, whether it is as required, and what was found."""

    setting: str
    ok: bool
    detail: str


Get = Callable[[str], "dict[str, Any] | list[Any] | None"]
"""``gh api``'s answer for a path (relative to the API root), or None when GitHub answers 404."""


def gh_get(path: str) -> dict[str, Any] | list[Any] | None:
    """GET ``path`` through the GitHub CLI with the caller's login; None for 404, UsageError otherwise."""
    gh = shutil.which("gh")
    if gh is None:
        raise UsageError("gh (the GitHub CLI) was not found on PATH: install it and run `gh auth login`")
    try:
        proc = subprocess.run(  # noqa: S603 - fixed program, the path is built here from a checked name
            [gh, "api", "-H", "Accept: application/vnd.github+json", "-H", "X-GitHub-Api-Version: 2022-11-28",
             path], capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"gh api {path}: no answer within 60 s") from None
    if proc.returncode != 0:
        if "(HTTP 404)" in proc.stderr:
            return None
        first = (proc.stderr.strip().splitlines() or ["(no message)"])[0]
        raise UsageError(f"gh api {path} failed: {bounded(first, 300)}")
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise UsageError(f"gh api {path}: the answer is not JSON") from None


def _variables(get: Get, path: str) -> dict[str, str] | None:
    """name -> value of a variables listing, every page; None when it cannot be read (404)."""
    found: dict[str, str] = {}
    page = 1
    while True:
        answer = get(f"{path}?per_page={_PAGE}&page={page}")
        if answer is None:  # a page that cannot be read leaves the listing unread, not shorter
            return None
        items = answer.get("variables", [])
        found.update({v["name"]: v["value"] for v in items})
        if not items or len(found) >= answer.get("total_count", 0):
            return found
        page += 1


def _environment_checks(get: Get, repo: str, name: str) -> list[Finding]:
    env = get(f"repos/{repo}/environments/{name}")
    if env is None:
        # GitHub creates an environment a job names but that does not exist, with no rules, and runs the job.
        return [Finding(f"environment {name}", False, "missing: create it before the first run")]
    findings = [Finding(f"environment {name}", True, "exists")]
    policy = env.get("deployment_branch_policy")
    if name in DEPLOY_ENVIRONMENTS:
        setting = f"{name}: deployment branches"
        if not (policy and policy.get("custom_branch_policies") is True and policy.get("protected_branches") is False):
            findings.append(Finding(setting, False, f"must be selected branches, `{MAIN}` only; found "
                                    f"{'any branch' if policy is None else 'protected branches'}"))
        else:
            listed = get(f"repos/{repo}/environments/{name}/deployment-branch-policies?per_page={_LIST}") or {}
            # `type` is absent in answers from before tag policies existed: those are branch policies.
            rules = sorted((p.get("type", "branch"), str(p.get("name"))) for p in listed.get("branch_policies", []))
            ok = rules == [("branch", MAIN)] and listed.get("total_count") == 1
            findings.append(Finding(setting, ok, f"must be `{MAIN}` only; found "
                                    + (", ".join(f"{t} {n}" for t, n in rules) or "none")
                                    + ("" if listed.get("total_count", 0) <= len(rules) else ", and more")))
    if name == WAIVER_ENVIRONMENT:
        # Pull request refs must reach it: a branch rule would stop every approval.
        findings.append(Finding(f"{name}: deployment branches", policy is None,
                                "any branch" if policy is None else "must allow any branch (pull request refs)"))
        secrets = get(f"repos/{repo}/environments/{name}/secrets?per_page={_LIST}")
        names = sorted(x.get("name", "?") for x in secrets.get("secrets", [])) if secrets is not None else None
        findings.append(Finding(f"{name}: no secrets", names == [],
                                "cannot read them" if names is None else ", ".join(names) or "none"))
    if name in APPROVAL_ENVIRONMENTS:
        reviewers = [r for r in env.get("protection_rules", []) if r.get("type") == "required_reviewers"]
        who = [_reviewer(r) for r in (reviewers[0].get("reviewers") or [])] if reviewers else []
        self_review = bool(reviewers and reviewers[0].get("prevent_self_review"))
        # Named, not judged: whether they are the platform team is for the reader to see.
        findings.append(Finding(f"{name}: required reviewers", bool(who), ", ".join(who) or "none"))
        findings.append(Finding(f"{name}: prevent self-review", self_review, "on" if self_review else "off"))
    return findings


def _reviewer(entry: dict[str, Any]) -> str:
    who = entry.get("reviewer") or {}
    return f"team {who['slug']}" if entry.get("type") == "Team" and "slug" in who else str(who.get("login", "?"))


def _variable_checks(get: Get, repo: str) -> list[Finding]:
    listings = {None: _variables(get, f"repos/{repo}/actions/variables")}
    listings |= {e: _variables(get, f"repos/{repo}/environments/{e}/variables")
                 for e in (*DEPLOY_ENVIRONMENTS, WAIVER_ENVIRONMENT)}
    unread = [e or "repository" for e, found in listings.items() if found is None]
    if unread:
        # An unread listing is not an empty one: "not set" would pass the checks that something is absent.
        return [Finding(f"{e} variables", False, "cannot read them (404)") for e in unread]
    repository = listings.pop(None)
    per_env: dict[str, dict[str, str]] = listings  # every listing was read (checked above)
    findings = [Finding(f"repository variable {v}", v in repository, "set" if v in repository else "missing")
                for v in REPOSITORY_VARIABLES]
    findings.append(Finding(f"repository variable {DEPLOY_IDENTITY}", DEPLOY_IDENTITY not in repository,
                            "must not be set at repository level (only on the deploy environments); "
                            + ("found set" if DEPLOY_IDENTITY in repository else "not set")))
    extra_dev = sorted(set(per_env["development"]) - {DEPLOY_IDENTITY})
    findings.append(Finding(f"development sets only {DEPLOY_IDENTITY}", not extra_dev,
                            "inherits the rest" if not extra_dev else "also sets " + ", ".join(extra_dev)))
    for env in DEPLOY_ENVIRONMENTS:
        has = DEPLOY_IDENTITY in per_env[env]
        findings.append(Finding(f"{env} variable {DEPLOY_IDENTITY}", has, "set" if has else "missing"))
    dev, prod = per_env["development"].get(DEPLOY_IDENTITY), per_env["production"].get(DEPLOY_IDENTITY)
    if dev and prod:
        findings.append(Finding(f"{DEPLOY_IDENTITY}: development and production differ", dev != prod,
                                "two deploy identities" if dev != prod else "the same identity for both"))
    for name in PRODUCTION_OWN:
        own = per_env["production"].get(name)
        ok = own is not None and own != repository.get(name)
        findings.append(Finding(f"production variable {name}", ok, "its own value" if ok else (
            "missing: production would use the non-prod value" if own is None else "the same as the non-prod value")))
    extra = sorted(per_env[WAIVER_ENVIRONMENT])
    findings.append(Finding(f"{WAIVER_ENVIRONMENT}: no variables", not extra, ", ".join(extra) or "none"))
    return findings


def _main_branch_checks(get: Get, repo: str) -> list[Finding]:
    """Branch protection or rulesets on main: either may enforce each setting."""
    protection = get(f"repos/{repo}/branches/{MAIN}/protection") or {}
    rules = get(f"repos/{repo}/rules/branches/{MAIN}?per_page={_LIST}") or []
    reviews = protection.get("required_pull_request_reviews") or {}
    pr_rules = [r.get("parameters", {}) for r in rules if r.get("type") == "pull_request"]

    def either(setting: str, protection_key: str, rule_key: str, on: str) -> Finding:
        """A review setting branch protection (``protection_key``) or a ruleset (``rule_key``) may enforce."""
        ok = bool(reviews.get(protection_key)) or any(p.get(rule_key) for p in pr_rules)
        return Finding(f"{MAIN}: {setting}", ok, on if ok else "off")

    # Required checks that only GitHub Actions can satisfy (its app id on the check, not "any source").
    checks = protection.get("required_status_checks") or {}
    contexts = {c.get("context") for c in checks.get("checks", []) if c.get("app_id") == GITHUB_ACTIONS_APP}
    for rule in rules:
        if rule.get("type") == "required_status_checks":
            contexts |= {c.get("context") for c in rule.get("parameters", {}).get("required_status_checks", [])
                         if c.get("integration_id") == GITHUB_ACTIONS_APP}
    missing = [c for c in REQUIRED_CHECKS if c not in contexts]
    approvals = max([reviews.get("required_approving_review_count", 0) if reviews else 0]
                    + [p.get("required_approving_review_count", 0) for p in pr_rules])
    bypass = _bypass(get, repo, protection, rules)
    return [
        Finding(f"{MAIN}: nobody may bypass the rules", not bypass, ", ".join(bypass) or "nobody"),
        Finding(f"{MAIN}: at least one approval", approvals >= 1, f"{approvals} required"),
        Finding(f"{MAIN}: pull request required", bool(reviews) or bool(pr_rules),
                "required" if reviews or pr_rules else
                "no branch protection or ruleset requires one (GitHub shows branch protection to admins only)"),
        either("review from code owners", "require_code_owner_reviews", "require_code_owner_review", "required"),
        either("dismiss stale approvals", "dismiss_stale_reviews", "dismiss_stale_reviews_on_push", "on"),
        either("approval of the most recent push", "require_last_push_approval", "require_last_push_approval",
               "required"),
        Finding(f"{MAIN}: required status checks from GitHub Actions", not missing,
                "all of " + ", ".join(REQUIRED_CHECKS) if not missing else
                "missing (or not bound to GitHub Actions) " + ", ".join(missing)),
    ]


def _bypass(get: Get, repo: str, protection: dict[str, Any], rules: list[dict[str, Any]]) -> list[str]:
    """Who may push to main around the review: branch protection's allowances and unenforced admins, and each
    ruleset's bypass actors (the rules listing does not show them)."""
    found: list[str] = []
    if protection:
        if not (protection.get("enforce_admins") or {}).get("enabled"):
            found.append("admins (branch protection does not include administrators)")
        allowances = (protection.get("required_pull_request_reviews") or {}).get("bypass_pull_request_allowances")
        for kind, key in (("user", "login"), ("team", "slug"), ("app", "slug")):
            found += [f"{kind} {x.get(key, '?')}" for x in (allowances or {}).get(f"{kind}s", [])]
    for ruleset_id in sorted({r["ruleset_id"] for r in rules if isinstance(r.get("ruleset_id"), int)}):
        ruleset = get(f"repos/{repo}/rulesets/{ruleset_id}")
        if ruleset is None or "bypass_actors" not in ruleset:  # GitHub shows the list to admins only
            found.append(f"ruleset {ruleset_id}: cannot read its bypass list")
            continue
        found += [f"ruleset {ruleset.get('name', ruleset_id)}: {a.get('actor_type', '?')} {a.get('actor_id') or ''}"
                  .rstrip() for a in ruleset.get("bypass_actors") or []]
    return found


def check(get: Get, repo: str) -> list[Finding]:
    """Every setting the README requires, as findings, in the README's order."""
    if not _REPO.fullmatch(repo):
        raise UsageError(f"repository: expected OWNER/NAME (e.g. my-org/ai-serving); found {shown(repo)}")
    findings: list[Finding] = []
    for env in (*DEPLOY_ENVIRONMENTS, WAIVER_ENVIRONMENT):
        findings += _environment_checks(get, repo, env)
    findings += _variable_checks(get, repo)
    findings += _main_branch_checks(get, repo)
    return findings


def run(args: argparse.Namespace, console: Console, err: Console, get: Get = gh_get) -> int:
    """The command: a table of findings; exit 0 when every setting is as required, else 1."""
    findings = check(get, args.repo)
    table = Table(title=f"GitHub settings of {escape(args.repo)}")
    for column in ("setting", "", "found"):
        table.add_column(column)
    for f in findings:
        table.add_row(escape(f.setting), "ok" if f.ok else "[red]DIFFERS[/red]", escape(f.detail))
    console.print(table)
    bad = [f for f in findings if not f.ok]
    if bad:
        err.print(f"{len(bad)} of {len(findings)} settings differ from what the workflows rely on "
                  "(README \"CI identities and their roles\")")
        return 1
    console.print(f"all {len(findings)} settings as required")
    return 0

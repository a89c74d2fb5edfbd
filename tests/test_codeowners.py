""".github/CODEOWNERS: valid GitHub syntax, the platform team owns everything, and each product team owns only
its own stack files (README "CI identities": branch protection requires a code owner's review).

GitHub reads CODEOWNERS like .gitignore, except that `!` negation, `[ ]` ranges, a `\\#` escape and a comment
after a pattern do not work (docs.github.com "About code owners"; github/docs#1407, #34805); the last matching
pattern wins. The file keeps to three pattern forms, which the matcher here implements exactly: `*` (every
file), `/dir/` (everything under a directory) and `/path/to/file` (one file).
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.workflow_docs import GITHUB, ROOT

CODEOWNERS = GITHUB / "CODEOWNERS"
ORG = "your-org"
PLATFORM = f"@{ORG}/platform-team"
_TEAM_HANDLE = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")
_PATTERN = re.compile(r"\*|/(?:[\w.-]+/)+|/(?:[\w.-]+/)*[\w.-]+")


def _rules(text: str | None = None) -> list[tuple[str, list[str]]]:
    """The (pattern, owners) lines of CODEOWNERS (or of ``text``), each checked for GitHub's syntax."""
    rules = []
    text = CODEOWNERS.read_text(encoding="utf-8") if text is None else text
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        pattern, *owners = line.split()
        assert "#" not in line, f"line {number}: GitHub reads no comment after a pattern"
        assert _PATTERN.fullmatch(pattern), f"line {number}: {pattern!r} is not `*`, `/dir/` or `/file`"
        assert owners and all(_TEAM_HANDLE.fullmatch(o) for o in owners), f"line {number}: owners {owners}"
        rules.append((pattern, owners))
    return rules


def _matches(pattern: str, path: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("/"):
        return path.startswith(pattern[1:])
    return path == pattern[1:]


def owners_of(path: str, rules: list[tuple[str, list[str]]] | None = None) -> list[str]:
    """The owners GitHub asks for a change to ``path``: the last matching line's ([] when none matches)."""
    owners: list[str] = []
    for pattern, line_owners in _rules() if rules is None else rules:
        if _matches(pattern, path):
            owners = line_owners
    return owners


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [p for p in out.splitlines() if p] + [str(CODEOWNERS.relative_to(ROOT))]


def _team_of(path: str) -> str:
    """The team a stack file names (``ai-serving:team``); a clear failure, not a KeyError, when it names none."""
    config = (yaml.safe_load((ROOT / path).read_text(encoding="utf-8")) or {}).get("config")
    team = config.get("ai-serving:team") if isinstance(config, dict) else None
    assert isinstance(team, str), (f"{path}: no `config: ai-serving:team:` (the stack config key; a bare `team:` "
                                   "is not read), so its CODEOWNERS line cannot be checked against its team")
    return team


_STACK_FILE = re.compile(r"stacks/Pulumi\.[\w.-]+\.yaml")
NEW_TEAM = "team-zz"
"""A team no example (stacks/, the README) names: its first stack file has no CODEOWNERS line."""


def test_the_file_parses_and_uses_only_the_forms_github_reads():
    rules = _rules()
    assert rules[0] == ("*", [PLATFORM]), "first the default owner of everything"


def test_each_team_owns_only_its_own_stack_files_and_the_platform_everything_else():
    team_owned = 0
    for path in _tracked():
        owners = owners_of(path)
        if _STACK_FILE.fullmatch(path) and owners != [PLATFORM]:
            assert owners == [f"@{ORG}/{_team_of(path)}"], path
            team_owned += 1
        else:
            assert owners == [PLATFORM], path
    assert team_owned == len(list((ROOT / "stacks").glob("Pulumi.*.yaml"))), "every example stack has its line"


PLATFORM_ONLY = [
    "policies/policy-config.json", "policies/waivers.json", "infra/catalogues/shared_supply.yaml",
    "stacks/quotas.yaml", ".github/workflows/pull-request.yml", ".github/workflows/deploy.yml",
    ".github/CODEOWNERS", ".github/actions/new-waivers/new_waivers.py",
    "stacks/Pulumi.team-a-b-dev.yaml",   # a team whose name extends another's is not that team's
    f"stacks/Pulumi.{NEW_TEAM}-dev.yaml",  # a new team's first file: the platform's until its line is added
]
"""Paths no team may approve alone."""


@pytest.mark.parametrize("path", PLATFORM_ONLY)
def test_what_no_team_may_approve_alone(path: str):
    assert owners_of(path) == [PLATFORM]


def test_onboarding_as_the_readme_shows_keeps_every_file_above_the_platforms():
    """The README's new team (`new-team team-c ...`) adds the line `new-team` prints; with it, that team owns
    its stack file and every path no team may approve alone is still the platform's."""
    from ai_serving.org.new_team import codeowners_line

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    team, env = re.search(r"ai-serving new-team (\S+) --env (\S+)", readme).groups()
    assert team != NEW_TEAM, "the README's example team is not the one kept unowned above"
    stack_file = ROOT / "stacks" / f"Pulumi.{team}-{env}.yaml"
    found, line = codeowners_line(ROOT, stack_file, team)
    assert found == CODEOWNERS
    assert f"`{line}`" in readme and "`.github/CODEOWNERS`" in readme, "the README names the line to add"
    rules = _rules(CODEOWNERS.read_text(encoding="utf-8").replace(
        "\n\n# Last,", f"\n{line}\n\n# Last,", 1))  # with the other teams' lines, as the comment asks
    assert owners_of(f"stacks/{stack_file.name}", rules) == [f"@{ORG}/{team}"]
    for case in PLATFORM_ONLY:
        assert owners_of(case, rules) == [PLATFORM], case


def test_the_readme_tells_the_platform_to_replace_the_placeholder_handles():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`@{ORG}/...`" in readme and "replace them" in readme


def test_a_stack_file_without_its_team_key_fails_clearly_not_with_a_key_error(tmp_path, monkeypatch):
    import sys

    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.x-dev.yaml").write_text("config:\n  team: x\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError, match=r"stacks/Pulumi.x-dev.yaml: no `config: ai-serving:team:`"):
        _team_of("stacks/Pulumi.x-dev.yaml")

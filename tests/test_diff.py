"""``ai-serving diff``: resources added, removed and changed between two plan output directories."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ai_serving.reports.diff import ABSENT, diff_dirs, flatten
from ai_serving.wire import SECRET_SIG, SECRET_VALUE_SIG

from .cli_helpers import cli

URN = "urn:pulumi:team-a-dev::ai-serving::"
VAULT = URN + "ai-serving:keyvault:TeamKeyVault$azure-native:keyvault:Vault::kv-a"
SECRET = URN + "ai-serving:keyvault:TeamKeyVault$azure-native:keyvault:Secret::token"
LOCK = URN + "azure-native:authorization:ManagementLockByScope::lock-kv-a"
DEPLOY = URN + "azure-native:cognitiveservices:Deployment::chat"


def _res(urn: str, inputs: dict[str, Any], protect: bool = False) -> dict[str, Any]:
    token, name = urn.split("::")[2].rsplit("$", 1)[-1], urn.rsplit("::", 1)[-1]
    return {"urn": urn, "type": token, "name": name, "custom": True, "parent": None, "dependencies": [],
            "protect": protect, "inputs": inputs}


BASE_PLAN: dict[str, Any] = {
    "project": "ai-serving", "stack": "team-a-dev", "outputs": {},
    "resources": [
        _res(VAULT, {"properties": {"publicNetworkAccess": "Disabled", "enablePurgeProtection": True,
                                    "networkAcls": {"ipRules": [{"value": "10.0.0.1"}]}},
                     "tags": {"team": "team-a"}}),
        _res(SECRET, {"properties": {"value": "[secret]"}}),
        _res(DEPLOY, {"sku": {"name": "GlobalStandard", "capacity": 30.0}}),
    ],
    "policy": {"pack": "p", "suppressed": [], "violations": [
        {"policy": "kv-05-secret-expiry", "level": "advisory", "urn": SECRET, "message": "no expiry"}]},
}


def _write(directory: Path, plans: dict[str, dict[str, Any]]) -> Path:
    for stack, plan in plans.items():
        (directory / stack).mkdir(parents=True)
        (directory / stack / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    return directory


def _head_plan() -> dict[str, Any]:
    head = copy.deepcopy(BASE_PLAN)
    vault, secret, deployment = head["resources"]
    vault["inputs"]["properties"]["publicNetworkAccess"] = "Enabled"
    vault["inputs"]["properties"]["networkAcls"]["ipRules"].append({"value": "0.0.0.0/0"})
    del vault["inputs"]["tags"]
    vault["protect"] = True
    wrapped = {SECRET_SIG: SECRET_VALUE_SIG, "value": "hunter2"}
    secret["inputs"]["properties"]["value"] = wrapped
    deployment["inputs"]["sku"]["capacity"] = 30  # same number, int on one side and float on the other
    head["resources"].append(_res(LOCK, {"level": "CanNotDelete"}))
    head["policy"]["violations"] = [
        {"policy": "cs-01-public", "level": "mandatory", "urn": VAULT, "message": "public"}]
    return head


def test_flatten_names_leaves_by_dotted_and_indexed_paths():
    value = {"a": {"b": [1.0, {"c": "x"}], "e": {}}, "f": []}
    assert flatten(value) == {"a.b[0]": 1, "a.b[1].c": "x", "a.e": {}, "f": []}


def test_diff_finds_changed_added_and_removed_inputs_of_a_resource(tmp_path):
    base = _write(tmp_path / "base", {"team-a-dev": BASE_PLAN})
    head = _write(tmp_path / "head", {"team-a-dev": _head_plan()})

    (stack,) = diff_dirs(base, head).stacks

    assert stack.status == "changed"
    assert [r["urn"] for r in stack.added] == [LOCK] and stack.removed == []
    (vault,) = stack.changed  # the deployment (30.0 vs 30) and the secret ([secret] both sides) are unchanged
    assert vault.urn == VAULT and vault.protect == (False, True)
    changes = {c.path: (c.old, c.new) for c in vault.inputs}
    assert changes == {
        "properties.publicNetworkAccess": ("Disabled", "Enabled"),
        "properties.networkAcls.ipRules[1].value": (ABSENT, "0.0.0.0/0"),
        "tags.team": ("team-a", ABSENT),
    }
    assert [f["policy"] for f in stack.findings_added] == ["cs-01-public"]
    assert [f["policy"] for f in stack.findings_resolved] == ["kv-05-secret-expiry"]


def test_diff_reports_added_removed_and_unchanged_stacks(tmp_path):
    other = {**copy.deepcopy(BASE_PLAN), "stack": "team-b-dev"}
    base = _write(tmp_path / "base", {"team-a-dev": BASE_PLAN, "team-b-dev": other})
    added = {**other, "stack": "team-c-dev"}
    head = _write(tmp_path / "head", {"team-a-dev": BASE_PLAN, "team-c-dev": added})

    diff = diff_dirs(base, head)

    assert diff.stacks_added == ["team-c-dev"] and diff.stacks_removed == ["team-b-dev"]
    assert {s.stack: s.status for s in diff.stacks} == {"team-a-dev": "unchanged", "team-b-dev": "removed",
                                                         "team-c-dev": "added"}
    assert len(next(s for s in diff.stacks if s.stack == "team-c-dev").added) == 3


def test_cli_diff_json_lists_paths_with_old_and_new_values_and_never_a_secret(tmp_path, capsys):
    base = _write(tmp_path / "base", {"team-a-dev": BASE_PLAN})
    head = _write(tmp_path / "head", {"team-a-dev": _head_plan()})

    assert cli("diff", base, head, "--json") == 0

    out = capsys.readouterr().out
    doc = json.loads(out)
    (stack,) = doc["stacks"]
    (vault,) = stack["changed"]
    assert {"path": "properties.publicNetworkAccess", "old": "Disabled", "new": "Enabled"} in vault["inputs"]
    assert {"path": "tags.team", "old": "team-a"} in vault["inputs"]
    assert vault["protect"] == {"old": False, "new": True}
    assert "hunter2" not in out


def test_cli_diff_prints_a_readable_summary(tmp_path, capsys):
    base = _write(tmp_path / "base", {"team-a-dev": BASE_PLAN})
    head = _write(tmp_path / "head", {"team-a-dev": _head_plan()})

    assert cli("diff", base, head) == 0

    out = capsys.readouterr().out
    assert 'properties.publicNetworkAccess: "Disabled" -> "Enabled"' in out
    assert "+ azure-native:authorization:ManagementLockByScope lock-kv-a" in out
    assert "protect: False -> True" in out
    assert "hunter2" not in out


def test_cli_diff_of_identical_dirs_says_so_and_a_missing_dir_is_a_usage_error(tmp_path, capsys):
    base = _write(tmp_path / "base", {"team-a-dev": BASE_PLAN})
    head = _write(tmp_path / "head", {"team-a-dev": BASE_PLAN})

    assert cli("diff", base, head) == 0
    assert "no changes" in capsys.readouterr().out
    assert cli("diff", base, tmp_path / "missing") == 2


def test_a_single_stack_plan_dir_is_read_too(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "plan.json").write_text(json.dumps(BASE_PLAN))
    head = _write(tmp_path / "head", {"team-a-dev": _head_plan()})

    (stack,) = diff_dirs(tmp_path / "base", head).stacks

    assert stack.stack == "team-a-dev" and stack.status == "changed"


# --- a plan.json of another shape -------------------------------------------------------------------------

def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(("content", "where", "says"), [
    ('{"resources": [1]}', "resources[0]", "expected an object; found 1"),
    ('{"resources": [{"type": "t"}]}', "resources[0].urn", "required key is missing"),
    ('{"stack": "s", "resources": [{"urn": "u1"}]}', "resources[0].type", "required key is missing"),
    ('{"resources": [{"urn": ["x"], "type": "t", "name": "n"}]}', "resources[0].urn",
     "expected a string; found ['x']"),
    ('{"resources": [{"urn": "u", "type": "t", "name": "n", "protect": "yes"}]}', "resources[0].protect",
     "expected true or false; found 'yes'"),
    ('{"resources": [{"urn": "u", "type": "t", "name": "n", "inputs": [1]}]}', "resources[0].inputs",
     "expected an object; found [1]"),
    ('{"resources": "all"}', "resources", "expected a list; found 'all'"),
    ('{"resources": [], "policy": "x"}', "policy", "expected an object; found 'x'"),
    ('{"resources": [], "policy": {"violations": [1]}}', "policy.violations[0]", "expected an object; found 1"),
    ('{"resources": [], "policy": {"violations": [{"policy": "p", "urn": 3}]}}', "policy.violations[0].urn",
     "expected a string; found 3"),
    ('{"stack": 5, "resources": []}', "stack", "expected a string; found 5"),
    ("[1]", "(the document)", "expected an object; found [1]"),
    ('{"stack": ["' + "x" * 5000 + '"]}', "stack", "expected a string; found ['xxxxxxxx"),
], ids=["resource-not-object", "no-urn", "no-type", "urn-unhashable", "protect-text", "inputs-list",
        "resources-text", "policy-text", "violation-not-object", "violation-urn-number", "stack-number",
        "not-an-object", "huge-value"])
def test_a_plan_of_another_shape_is_one_usage_error_naming_file_key_path_expected_and_found(
        tmp_path, capsys, content, where, says):
    base = _write(tmp_path / "base", {"team-a-dev": BASE_PLAN})
    (tmp_path / "head").mkdir()
    (tmp_path / "head" / "plan.json").write_text(content, encoding="utf-8")

    assert cli("diff", base, tmp_path / "head") == 2

    err = capsys.readouterr().err
    assert f"{tmp_path / 'head' / 'plan.json'}: not a plan document" in " ".join(err.split())
    assert f"{where}: {says}" in err
    assert len(err) < 3000  # values are quoted short


@pytest.mark.parametrize("content", [
    _deep(100_000),  # the JSON parser itself runs out of stack
    '{"resources": [{"urn": "u", "type": "t", "name": "n", "inputs": {"a": ' + _deep(500) + "}}]}",
], ids=["parser-depth", "inputs-depth"])
def test_a_deeply_nested_plan_is_a_usage_error_not_a_recursion_error(tmp_path, capsys, content):
    base = _write(tmp_path / "base", {"team-a-dev": BASE_PLAN})
    (tmp_path / "head").mkdir()
    (tmp_path / "head" / "plan.json").write_text(content, encoding="utf-8")

    assert cli("diff", base, tmp_path / "head") == 2

    err = capsys.readouterr().err
    assert "plan.json" in err and "nested" in err and len(err) < 1000


@pytest.mark.parametrize("make", [lambda p: p.symlink_to("/dev/zero"), lambda p: os.mkfifo(p)],
                         ids=["dev-zero", "fifo"])
def test_a_document_that_is_not_a_regular_file_is_a_usage_error_not_a_hang(tmp_path, make):
    # A folder someone else wrote may hold anything under the name plan.json: read bounded, regular files only.
    from ai_serving.outcome import UsageError
    from ai_serving.reports.documents import read_plan

    make(tmp_path / "plan.json")
    with pytest.raises(UsageError, match="not a readable plan.json: cannot read the file: it is"):
        read_plan(tmp_path / "plan.json")


def test_the_text_diff_is_bounded_whatever_the_plans_hold(tmp_path, capsys):
    """A 2 MB resource name, a 2 MB input key and 20,000 added resources printed 2.2 MB; --json keeps them all."""
    head_plan = copy.deepcopy(BASE_PLAN)
    head_plan["resources"][0]["name"] = "n" * 2_000_000
    head_plan["resources"][0]["inputs"]["k" * 2_000_000] = 1
    head_plan["resources"] += [_res(f"{URN}azure-native:network:Subnet::s{i}", {}) for i in range(20_000)]
    base, head = _write(tmp_path / "base", {"team-a-dev": BASE_PLAN}), _write(tmp_path / "head", {"team-a-dev": head_plan})

    assert cli("diff", base, head) == 0
    out = capsys.readouterr().out
    assert len(out) < 100_000 and "19,800 more" in out

    assert cli("diff", base, head, "--json") == 0
    added = json.loads(capsys.readouterr().out)["stacks"][0]["added"]
    assert len(added) == 20_000


def test_a_name_cannot_forge_a_line_and_a_token_as_a_folder_name_is_not_shown(tmp_path, capsys):
    """Found by review: a newline in a resource name printed a line of its own (`no changes: 0 stack(s)`), and a
    plan folder named after a token was printed as it was."""
    token = "ghp_" + "A1b2C3d4E5f6" * 3
    head_plan = copy.deepcopy(BASE_PLAN)
    head_plan["resources"].append(_res(f"{URN}azure-native:network:Subnet::x", {}))
    head_plan["resources"][-1]["name"] = "x\nno changes: 0 stack(s) plan the same"
    base = _write(tmp_path / "base", {token: BASE_PLAN})
    head = _write(tmp_path / "head", {token: head_plan})

    assert cli("diff", base, head) == 0
    out = capsys.readouterr().out
    assert not any(line.startswith("no changes") for line in out.splitlines()), out
    assert "x\\x0ano changes" in out and token not in out and "[a GitHub token: not shown]" in out
    assert cli("diff", base, head, "--json") == 0
    assert token not in capsys.readouterr().out


def test_a_json_diff_too_large_to_print_is_one_message(tmp_path, capsys, monkeypatch):
    from ai_serving.reports import diff

    monkeypatch.setattr(diff, "MAX_JSON_CHARS", 10_000)
    head_plan = copy.deepcopy(BASE_PLAN)
    head_plan["resources"] += [_res(f"{URN}azure-native:network:Subnet::s{i}", {}) for i in range(500)]
    base, head = _write(tmp_path / "base", {"team-a-dev": BASE_PLAN}), _write(tmp_path / "head", {"team-a-dev": head_plan})
    assert cli("diff", base, head, "--json") == 2
    said = capsys.readouterr()
    assert said.out == "" and "MiB this prints; compare fewer stacks" in said.err

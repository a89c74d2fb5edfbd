"""Hostile values: numbers too large to convert, hostile waivers.json files, secrets other than PEM keys.

Each ends the way every bad input ends (``tests/test_hostile_input.py``): exit code 2, no traceback,
one message naming the file (and line and key where there is one), bounded output, and never the
secret it was given.
"""

from __future__ import annotations

import json
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
    ("deep-nesting", "[" * 100_000 + "]" * 100_000, "waivers.json: not a readable waivers.json: nested too deeply"),
    # Decodable but deeper than the settings can be: refused by the reader, before the shape is read.
    ("deeper-than-its-settings", '{"broadResourceAllowances": [{"stack": [["x"]]}]}',
     "waivers.json: not a readable waivers.json: nested too deeply (more than 3 levels) at "
     "broadResourceAllowances[0].stack"),
    # enumerate(5): a TypeError traceback.
    ("allowances-a-number", '{"maxDays": 90, "broadResourceAllowances": 5}',
     "waivers.json.broadResourceAllowances: expected a list of {stack, rule, resource} entries; found int 5"),
    ("allowances-a-string", '{"maxDays": 90, "broadResourceAllowances": "team-a-dev"}',
     "waivers.json.broadResourceAllowances: expected a list of {stack, rule, resource} entries; found str"),
    # The value was quoted whole: a message as long as the file.
    ("max-days-huge-string", '{"maxDays": "' + "A" * 200_000 + '"}',
     "waivers.json.maxDays: expected a whole number of days from 1 to 3650; found str 'AAAA"),
    # json.loads kept the last: the waiver rules a reviewer read first were not the ones applied.
    ("duplicate-key", '{"maxDays": 30, "broadResourceAllowances": [], "maxDays": 3650}',
     "waivers.json: not a readable waivers.json: key 'maxDays' is written twice in one object"),
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
    assert f"{target}: not a readable waivers.json: cannot read the file: it is a" in out and "not a regular file" in out, out[:2000]


# Secrets other than a PEM key: each was quoted back in the message (or, disguised as a public key line,
# validated and carried into plan.json). Refused wherever they are, named by kind, never shown.
OPENSSH_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZWQyNTUxOQAAACBzZWNyZXQ"
"""The body of an OpenSSH private key ("openssh-key-v1\\0none...") without its BEGIN/END lines."""
STORAGE_KEY = "c2VjcmV0LXN0b3JhZ2Uta2V5LXZhbHVlLTEyMzQ1Njc4OTA="
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6" * 3
GITHUB_PAT = "github_pat_11ABCDEFG0" + "x1Y2z3" * 8
SAS_SIG = "Xk3%2Bq9sEcReTsIgNaTuRe0%3D"

SECRET_CASES = [
    ("openssh-body-as-ssh-key", "    port: 8000\n", f"    port: 8000\n    sshPublicKey: {OPENSSH_BODY}\n",
     "ai-serving:gpuPool.sshPublicKey", "a PRIVATE key (not shown)", OPENSSH_BODY[:20]),
    ("openssh-body-disguised-as-public-key", "    port: 8000\n",
     f"    port: 8000\n    sshPublicKey: ssh-ed25519 {OPENSSH_BODY} admin\n",
     "ai-serving:gpuPool.sshPublicKey", "a PRIVATE key (not shown)", OPENSSH_BODY[:20]),
    ("storage-connection-string", "costCenter: CC-1042",
     f'costCenter: "DefaultEndpointsProtocol=https;AccountName=teama;AccountKey={STORAGE_KEY};'
     'EndpointSuffix=core.windows.net"',
     "ai-serving:costCenter", "an Azure account key or SAS signature (not shown)", STORAGE_KEY[:12]),
    ("sas-url-in-tag", "    product: search\n",
     f'    product: search\n    note: "https://teama.blob.core.windows.net/c?sv=2022-11-02&sr=c&sig={SAS_SIG}"\n',
     "ai-serving:tags.note", "an Azure account key or SAS signature (not shown)", SAS_SIG[:12]),
    ("github-token-as-owner", "- alice@example.com", f"- {GITHUB_TOKEN}",
     "ai-serving:owners[0]", "a GitHub token (not shown)", GITHUB_TOKEN[4:20]),
    ("github-fine-grained-token-in-tag", "    product: search\n", f"    product: search\n    ci: {GITHUB_PAT}\n",
     "ai-serving:tags.ci", "a GitHub token (not shown)", GITHUB_PAT[11:30]),
]


@pytest.mark.parametrize(("name", "old", "new", "key", "expect", "secret"), SECRET_CASES,
                         ids=[c[0] for c in SECRET_CASES])
def test_a_secret_in_a_stack_file_is_refused_by_kind_and_never_shown(tmp_path, name, old, new, key, expect,
                                                                      secret):
    stack_dir, _ = _stack_dir_with(tmp_path, old, new)
    written = (stack_dir / STACK.name).read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(written, 1) if secret in text)  # the line holding the secret
    for command in (["validate", "--stack-dir", stack_dir],
                    ["plan", "team-a-dev", "--no-policy", "--stack-dir", stack_dir, "--out", tmp_path / "out"]):
        code, out = _run_cli(*command, timeout=120)
        _clean_exit_2(code, out)
        assert f"{STACK.name}:{line}: {key}: looks like {expect}" in out, out[:2000]
        assert secret not in out, out[:2000]
        assert "b3BlbnNzaC1rZXktdjE" not in out
    assert not list((tmp_path / "out").rglob("plan.json"))


def test_a_private_key_blob_behind_a_public_key_type_is_refused_by_the_model():
    """The screening finds the base64 of "openssh-key-v1" at any alignment; the model decodes the line
    itself, so a config that reaches it by another way is refused too."""
    import base64

    from pydantic import ValidationError

    from infra.config.model import GpuPoolConfig

    blob = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519openssh-key-v1\x00none\x00none").decode()
    with pytest.raises(ValidationError) as info:
        GpuPoolConfig.model_validate({"vmSku": "Standard_NV36ads_A10_v5", "model": "Qwen/Qwen2.5-7B-Instruct",
                                      "sshPublicKey": f"ssh-ed25519 {blob} admin"})
    assert "found a PRIVATE key inside one (not shown" in str(info.value)
    GpuPoolConfig.model_validate({"vmSku": "Standard_NV36ads_A10_v5", "model": "Qwen/Qwen2.5-7B-Instruct",
                                  "sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC2rV3gJqX0s6m8m6Y5n0ZkP1Qq8x"
                                                  "N3d4b5c6d7e8f9g team-a-breakglass"})


ORDINARY = ["CC-1042", "AccountName=teama", "design notes: sig figs", "ghp_short", "https://example.com/?q=1&signal=2",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC2rV3gJqX0s6m8m6Y5n0ZkP1Qq8xN3d4b5c6d7e8f9g team-a-breakglass"]


def test_shown_names_each_kind_of_secret_and_quotes_ordinary_values():
    from infra.config.errors import is_key_material, shown

    for secret, kind in [(OPENSSH_BODY, "a PRIVATE key"), (f"AccountKey={STORAGE_KEY}", "an Azure account key"),
                         (f"SharedAccessSignature=sv=2022&sig={SAS_SIG}", "an Azure account key"),
                         (GITHUB_TOKEN, "a GitHub token"), ({"k": [GITHUB_PAT]}, "a GitHub token")]:
        assert is_key_material(secret) and shown(secret).startswith(f"{kind}"), secret
        assert "not shown" in shown(secret) and str(secret)[4:16] not in shown(secret)
    for value in ORDINARY:  # no false alarms on what stack files hold
        assert not is_key_material(value) and shown(value) == repr(value), value


@pytest.mark.parametrize(("value", "kind"), [("!!binary aGVsbG8=", "binary"), ("!!set {a, b}", "set"),
                                             ("!!omap [{a: 1}]", "omap"), ("!!pairs [{a: 1}]", "pairs")])
def test_yaml_types_that_are_not_config_are_refused(tmp_path, value, kind):
    """They were built as Python objects and reached tags as their repr ("b'hello'", "{'a', 'b'}")."""
    stack_dir, line = _stack_dir_with(tmp_path, "maxInstances: 2", f"maxInstances: {value}")
    code, out = _run_cli("validate", "--stack-dir", stack_dir, timeout=120)
    _clean_exit_2(code, out)
    assert f"{STACK.name}:{line}: (yaml): a YAML !!{kind} value is not config" in out, out


@pytest.mark.parametrize("key", ["true", "~", "404", "2027-01-01", "yes"])
def test_a_mapping_key_is_its_text_as_written(tmp_path, key):
    """A key is text to the engine: `true:` and `~:` as tag names became the tags "True" and "None"."""
    from ai_serving.engine.project import load_project, read_stack_config

    stack_dir, _ = _stack_dir_with(tmp_path, "product: search", f"product: search\n    {key}: x")
    config = read_stack_config(load_project(ROOT, stack_dir), "team-a-dev")
    assert key in json.loads(config.values["ai-serving:tags"]), config.values["ai-serving:tags"]

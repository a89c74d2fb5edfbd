"""Hostile values: numbers too large to convert, hostile waivers.json files, secrets other than PEM keys.

Each ends the way every bad input ends (``tests/test_hostile_input.py``): exit code 2, no traceback,
one message naming the file (and line and key where there is one), bounded output, and never the
secret it was given.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
HF_TOKEN = "hf_" + "Ab1Cd2Ef3Gh4" * 3
API_KEY = "sk-proj-" + "aB3dE5gH7jK9" * 2
AWS_KEY = "AKIA" + "ABCDEFGH23456789"
BARE_STORAGE_KEY = ("k3Y+Tq9/Lm0Pq7Rs2Zx8" * 5)[:86] + "=="
"""A storage account key's shape: 64 bytes in base64, 88 characters ending "=="."""

SECRET_CASES = [
    ("openssh-body-as-ssh-key", "    port: 8000\n", f"    port: 8000\n    sshPublicKey: {OPENSSH_BODY}\n",
     "ai-serving:gpuPool.sshPublicKey", "a PRIVATE key (not shown)", OPENSSH_BODY[:20]),
    ("openssh-body-disguised-as-public-key", "    port: 8000\n",
     f"    port: 8000\n    sshPublicKey: ssh-ed25519 {OPENSSH_BODY} admin\n",
     "ai-serving:gpuPool.sshPublicKey", "a PRIVATE key (not shown)", OPENSSH_BODY[:20]),
    ("storage-connection-string", "costCenter: CC-1042",
     f'costCenter: "DefaultEndpointsProtocol=https;AccountName=teama;AccountKey={STORAGE_KEY};'
     'EndpointSuffix=core.windows.net"',
     "ai-serving:costCenter", "an Azure account key (not shown)", STORAGE_KEY[:12]),
    ("sas-url-in-tag", "    product: search\n",
     f'    product: search\n    note: "https://teama.blob.core.windows.net/c?sv=2022-11-02&sr=c&sig={SAS_SIG}"\n',
     "ai-serving:tags.note", "an Azure SAS signature (not shown)", SAS_SIG[:12]),
    ("github-token-as-owner", "- alice@example.com", f"- {GITHUB_TOKEN}",
     "ai-serving:owners[0]", "a GitHub token (not shown)", GITHUB_TOKEN[4:20]),
    ("github-fine-grained-token-in-tag", "    product: search\n", f"    product: search\n    ci: {GITHUB_PAT}\n",
     "ai-serving:tags.ci", "a GitHub token (not shown)", GITHUB_PAT[11:30]),
    ("hugging-face-token-in-tag", "    product: search\n", f"    product: search\n    hub: {HF_TOKEN}\n",
     "ai-serving:tags.hub", "a Hugging Face token (not shown)", HF_TOKEN[3:20]),
    ("api-key-as-cost-center", "costCenter: CC-1042", f"costCenter: {API_KEY}",
     "ai-serving:costCenter", "an API key (not shown)", API_KEY[8:24]),
    # Found by review: the key alone, as the portal copies it, was quoted in a length error and passed as a tag.
    ("bare-storage-key-in-tag", "    product: search\n", f"    product: search\n    key: {BARE_STORAGE_KEY}\n",
     "ai-serving:tags.key", "an Azure account key (not shown)", BARE_STORAGE_KEY[:24]),
    ("bare-storage-key-as-cost-center", "costCenter: CC-1042", f'costCenter: "{BARE_STORAGE_KEY}"',
     "ai-serving:costCenter", "an Azure account key (not shown)", BARE_STORAGE_KEY[:24]),
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
            "hf_short", "disk-encryption-set-for-team-a-prod", "task-queue-0123456789abcdefghij", "AKIA-not-a-key",
            "sk-learn-recommendations", "sk-platform-engineering@example.com", "sk-team-2-inference-gateway",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC2rV3gJqX0s6m8m6Y5n0ZkP1Qq8xN3d4b5c6d7e8f9g team-a-breakglass"]



# One list of the kinds of secret (infra/config/secret_patterns.py; the pack runs a generated copy of it, which
# tests/test_generated.py keeps fresh): each kind is found alike by the stack file's screening, which refuses
# it, and by the pack's VMSS-05, which finds it in a scale set's custom data and settings.
SAMPLES = {  # kind -> (name, sample): realistic but fake, built here so the repository holds no secret-looking literal
    "a PRIVATE key": [("pem-header", "-----BEGIN " + "RSA PRIVATE KEY-----"), ("openssh-body", OPENSSH_BODY),
                      ("putty-file", "PuTTY-User-Key-File-3: ssh-ed25519")],
    "an Azure account key": [("storage-connection-string",
                              f"DefaultEndpointsProtocol=https;AccountName=teama;AccountKey={STORAGE_KEY}"),
                             ("service-bus-connection-string", "Endpoint=sb://teama.servicebus.windows.net/;"
                              "SharedAccessKeyName=send;SharedAccessKey=" + STORAGE_KEY[:44])],
    "an Azure SAS signature": [("sas-url", f"https://teama.blob.core.windows.net/c?sv=2022-11-02&sr=c&sig={SAS_SIG}"),
                               ("service-bus-sas", "SharedAccessSignature=SharedAccessSignature sr=x&sig=" + SAS_SIG)],
    "a GitHub token": [("classic", GITHUB_TOKEN), ("oauth", "gho_" + "Z9y8X7w6V5u4" * 3), ("fine-grained", GITHUB_PAT)],
    "a Hugging Face token": [("user-access-token", HF_TOKEN)],
    "an API key": [("project-key", API_KEY)],
    "an AWS access key": [("access-key-id", AWS_KEY)],
}


def _both(text: str) -> tuple[str | None, list[str]]:
    """What each side makes of ``text``: the kind the stack file's screening refuses it as (None: it passes),
    and the kinds the policy pack finds in it."""
    from guardrails.rules.compute import secret_kinds

    from infra.config.screening import refused

    found = [message for _, message in refused({"ai-serving:costCenter": text})]
    kind = found[0].removeprefix("looks like ").split(" (not shown)")[0] if found else None
    return kind, secret_kinds(text)


def test_every_kind_of_secret_has_samples():
    from infra.config.secret_patterns import SECRET_PATTERNS

    assert [kind for kind, _ in SECRET_PATTERNS] == list(SAMPLES)


@pytest.mark.parametrize(("kind", "sample"), [(k, s) for k, samples in SAMPLES.items() for _, s in samples],
                         ids=[name for samples in SAMPLES.values() for name, _ in samples])
def test_each_kind_of_secret_is_found_by_the_stack_screening_and_the_policy_pack(kind, sample):
    assert _both(sample) == (kind, [kind])
    assert _both(f"export X='{sample}' # and more text") == (kind, [kind])  # inside a script or a value


def test_each_kind_of_secret_keeps_its_own_advice():
    """The advice is the config's (errors.py), keyed by the one list's kinds: what to do, where that is more
    than revoking it."""
    from infra.config.errors import SECRETS, shown

    advice = {secret.kind: secret.advice for secret in SECRETS}
    assert "modelHubToken" in advice["a Hugging Face token"]
    assert all("Key Vault" in advice[kind] for kind in ("an Azure account key", "an Azure SAS signature"))
    assert advice["a GitHub token"] == "revoke it, as it is leaked"
    assert ".pub file" in shown(OPENSSH_BODY)


# Where the two lists disagreed, and their edges: (name, text, the kind both must find, or None). Before, in
# infra/config/errors.py and rules/compute.py each: "config only", "pack only", or both.
FORMERLY_DIVERGENT = [
    ("github-36", "ghp_" + "A1b2C3d4E5f6" * 3, "a GitHub token"),  # the length issued today; both (the config's floor)
    ("github-30", "ghp_" + "A1b2C3d4E5" * 3, "a GitHub token"),  # the random part without its checksum: pack only
    ("github-20", "ghs_" + "A1b2C3d4E5" * 2, None),  # too short to be a token
    ("github-fine-grained", GITHUB_PAT, "a GitHub token"),  # config only
    ("openssh-body-without-header", OPENSSH_BODY, "a PRIVATE key"),  # config only
    ("pem-header", "-----BEGIN ENCRYPTED PRIVATE KEY-----", "a PRIVATE key"),  # both ("a private key" in the pack)
    ("bare-private-key-words", "ssh-keygen wrote the PRIVATE KEY to id_ed25519", "a PRIVATE key"),  # config only
    ("account-key-8", "AccountKey=" + STORAGE_KEY[:8], "an Azure account key"),  # both, by two names
    ("account-key-any-case-spaced", "accountkey = " + STORAGE_KEY, "an Azure account key"),  # config only
    ("account-key-short", "AccountKey=abc", None),  # too short to be a key; config only
    ("account-key-empty", "AccountKey=", None),  # a template; config only
    # A reference to a key read at boot (from Key Vault), which is what a boot script should hold; both.
    ("account-key-reference", "AccountKey=$STORAGE_KEY", None),
    ("shared-access-key-reference", "SharedAccessKey=${SB_KEY}", None),  # config only
    ("sig-short", "c?sv=2022&sig=abc", None),  # too short to be a signature; config only
    ("sig", "?sig=" + SAS_SIG, "an Azure SAS signature"),  # both
]


@pytest.mark.parametrize(("text", "kind"), [c[1:] for c in FORMERLY_DIVERGENT], ids=[c[0] for c in FORMERLY_DIVERGENT])
def test_the_stack_screening_and_the_policy_pack_agree_where_they_once_differed(text, kind):
    assert _both(text) == (kind, [kind] if kind else [])


def test_shown_names_each_kind_of_secret_and_quotes_ordinary_values():
    from infra.config.errors import is_key_material, shown

    for secret, kind in [(OPENSSH_BODY, "a PRIVATE key"), (f"AccountKey={STORAGE_KEY}", "an Azure account key"),
                         (f"SharedAccessSignature=sv=2022&sig={SAS_SIG}", "an Azure SAS signature"),
                         (GITHUB_TOKEN, "a GitHub token"), ({"k": [GITHUB_PAT]}, "a GitHub token"),
                         (HF_TOKEN, "a Hugging Face token"), (f"key {API_KEY}", "an API key"),
                         (AWS_KEY, "an AWS access key")]:
        assert is_key_material(secret) and shown(secret).startswith(f"{kind}"), secret
        assert "not shown" in shown(secret) and str(secret)[4:16] not in shown(secret)
    for value in ORDINARY:  # no false alarms on what stack files hold
        assert not is_key_material(value) and shown(value) == repr(value), value



# --- Two YAML readers: the engine's (gopkg.in/yaml.v3) and this tool's (PyYAML) ------------------------------
# `spot: yes` passed `validate` and `plan` (a boolean to PyYAML) and failed `pulumi up` (the text "yes" to the
# engine); an unquoted date reached the program as "2027-01-31 00:00:00 +0000 UTC". What the real engine hands
# a program for each form is recorded in tests/fixtures/engine_yaml.json (tests/engine_yaml_probe.py, which
# runs build/engine/pulumi); each form must be read offline exactly so, or refused on its line.

ENGINE_YAML = json.loads((ROOT / "tests" / "fixtures" / "engine_yaml.json").read_text(encoding="utf-8"))
PROBE_TOP, PROBE_NESTED = "ai-serving:probeTop", "ai-serving:probeNested"


def _offline(tmp_path: Path, lines: str) -> Any:
    """``read_stack_config`` of team-a-dev with ``lines`` added to its config: the config map, or the ConfigError."""
    from ai_serving.engine.project import load_project, read_stack_config
    from infra.config.errors import ConfigError

    stack_dir = tmp_path / "stacks"
    stack_dir.mkdir(exist_ok=True)
    (stack_dir / STACK.name).write_text(STACK.read_text(encoding="utf-8") + lines, encoding="utf-8")
    try:
        return read_stack_config(load_project(ROOT, stack_dir), "team-a-dev")
    except ConfigError as exc:
        return exc


def _first_added_line() -> int:
    return len(STACK.read_text(encoding="utf-8").splitlines()) + 1


def _refused_on(result: Any, line: int, path: str) -> bool:
    """Whether ``result`` is a ConfigError of one issue, on ``line``, at ``path``."""
    from infra.config.errors import ConfigError

    if not isinstance(result, ConfigError):
        return False
    assert [(i.line, i.path) for i in result.issues] == [(line, path)], str(result)
    return True


def _as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


AGREED = {"true", "False", "null", "~", "", "y", "tRuE", "1.5", "1.0", "5.", "0.00001", "017", "0x1F",
          "0b101", "1_000", "+1", "-0", "0", "nan", "inf", "1e400", "2027-1-32", "_1", "+"}
"""Forms both readers read the same way (as the engine's answers show): read, never refused."""


@pytest.mark.parametrize("entry", ENGINE_YAML["plain"], ids=[repr(e["yaml"]) for e in ENGINE_YAML["plain"]])
def test_a_plain_value_reaches_the_program_as_the_engine_hands_it_or_is_refused(tmp_path, entry):
    form = entry["yaml"]
    result = _offline(tmp_path, f"  {PROBE_TOP}: {form}\n  {PROBE_NESTED}:\n    k: {form}\n")
    if _refused_on(result, _first_added_line(), f"config.{PROBE_TOP}"):
        assert form not in AGREED, str(result)
        return
    assert "error" not in entry, f"the engine refuses {form!r} ({entry['error']}); offline read it"
    assert result.values[PROBE_TOP] == entry["top"]  # the text a top-level value arrives as
    assert _as_json(json.loads(result.values[PROBE_NESTED])["k"]) == _as_json(entry["nested"])  # what JSON decodes to


# The forms a product team writes that the two readers split on: each refused, saying what to write instead.
DISAGREEING = [
    *[(word, f'quote it as "{word}" or write {"true" if word.lower() in ("yes", "on") else "false"}')
      for word in ("yes", "Yes", "YES", "on", "On", "ON", "no", "No", "NO", "off", "Off", "OFF")],
    ("2027-01-31", 'the text "2027-01-31 00:00:00 +0000 UTC"'),
    ("2027-1-3", 'quote it as "2027-1-3"'),
    ("2027-02-30", "not a valid date"),
    ("1:30", "this tool (YAML 1.1) reads the number 90, the engine (YAML 1.2) the text '1:30'"),
    ("1e3", "this tool (YAML 1.1) reads the text '1e3', the engine (YAML 1.2) the number 1000; quote it as "
            '"1e3" for the text, or write 1000 for the number'),
    ("0o17", "the engine (YAML 1.2) the number 15"),
    ("08", "the engine (YAML 1.2) the number 8"),
    (".nan", 'not a number the engine can pass (it stops: "json: unsupported value: NaN")'),
    ("-.inf", "not a number the engine can pass"),
    ("9007199254740993", "too large for any setting"),
    ("=", "quote it as \"=\""),
]


@pytest.mark.parametrize(("form", "says"), DISAGREEING, ids=[f for f, _ in DISAGREEING])
def test_a_value_the_readers_split_on_is_one_message_with_its_line_key_and_fix(tmp_path, capsys, form, says):
    from ai_serving.cli import main

    assert form in {e["yaml"] for e in ENGINE_YAML["plain"]}  # seen to be read so by the engine, not only the port
    stack_dir, line = _stack_dir_with(tmp_path, "spot: true", f"spot: {form}")
    code = main(["validate", "team-a-dev", "--project", str(ROOT), "--stack-dir", str(stack_dir)])
    out = "".join(capsys.readouterr())
    _clean_exit_2(code, out)
    assert f"{STACK.name}:{line}: config.ai-serving:gpuPool.spot: " in out and says in out, out
    assert "(1 problem)" in out, out


@pytest.mark.parametrize("entry", ENGINE_YAML["plain"], ids=[repr(e["yaml"]) for e in ENGINE_YAML["plain"]])
def test_the_port_of_the_engines_resolver_reads_each_form_as_the_engine_did(entry):
    from ai_serving.engine.stack_yaml import engine_scalar

    kind, value = engine_scalar(entry["yaml"])
    if "error" in entry:  # NaN and infinity: Pulumi cannot write them as JSON
        assert kind == "float" and not math.isfinite(value) and "unsupported value" in entry["error"]
        return
    got = entry["nested"]
    if kind == "timestamp":
        (y, m, d), clock = value
        day = f"{y:04d}-{m:02d}-{d:02d}"
        assert got.startswith(f"{day} ") and (clock or got == f"{day} 00:00:00 +0000 UTC"), got  # Go's Time.String()
    elif kind == "str":
        assert got == entry["yaml"]
    elif kind in ("null", "bool"):
        assert got is value and entry["top"] == ("" if value is None else str(value).lower())
    else:  # a number (one beyond 64 bits arrives as a float)
        assert isinstance(got, int | float) and not isinstance(got, bool) and float(got) == float(value)


@pytest.mark.parametrize("entry", ENGINE_YAML["keys"], ids=[repr(e["yaml"]) for e in ENGINE_YAML["keys"]])
def test_a_mapping_key_is_the_engines_spelling_of_it_or_is_refused(tmp_path, entry):
    """The engine names a key that is not text by Go's spelling of its value (`True` "true", `~` "<nil>")."""
    form = entry["yaml"]
    result = _offline(tmp_path, f"  {PROBE_NESTED}:\n    {form}: 1\n    zz: 2\n")
    if _refused_on(result, _first_added_line() + 1, f"config.{PROBE_NESTED}.{form}"):
        assert entry.get("key") != form, f"the engine names the key as written: {result}"  # true, 404, yes
        return
    assert "error" not in entry, f"the engine refuses the key {form!r}; offline read it"
    assert set(json.loads(result.values[PROBE_NESTED])) == {entry["key"], "zz"}


# --- Explicit tags -------------------------------------------------------------------------------------------
# `!!bool maybe` was a KeyError traceback, `!!float abc` a ValueError, `!!float ""` an IndexError, `!!timestamp abc`
# an AttributeError, in stack files, Pulumi.yaml defaults and quotas.yaml; the engine ignores tags it does not
# know and reads the core ones by its own rules. Every tag but `!!str` on a plain value is refused.

@pytest.mark.parametrize("entry", ENGINE_YAML["tagged"], ids=[e["yaml"] for e in ENGINE_YAML["tagged"]])
def test_a_tagged_value_is_refused_unless_both_readers_read_it_as_the_same_text(tmp_path, entry):
    form = entry["yaml"]
    result = _offline(tmp_path, f"  {PROBE_TOP}: {form}\n  {PROBE_NESTED}:\n    k: {form}\n")
    if _refused_on(result, _first_added_line(), f"config.{PROBE_TOP}"):
        assert not form.startswith("!!str ") or form == "!!str [1]"  # !!str on a list: a list to the engine
        return
    assert form.startswith("!!str "), f"{form!r} was read"
    assert result.values[PROBE_TOP] == entry["top"]
    assert _as_json(json.loads(result.values[PROBE_NESTED])["k"]) == _as_json(entry["nested"])


TAGS = ["!!bool", "!!int", "!!float", "!!timestamp", "!!null", "!!binary", "!!set", "!!omap", "!!pairs", "!!seq",
        "!!map", "!!merge", "!!value", "!!python/object:os.system", "!", "!foo", "!<tag:example.com,2000:x>",
        "!" + "ghp_" + "A1b2C3d4E5f6" * 3]


@settings(max_examples=300, deadline=None)
@given(tag=st.sampled_from(TAGS), value=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
       quoted=st.booleans(), what=st.sampled_from(["a stack file", "Pulumi.yaml", "quotas.yaml"]))
def test_any_explicit_tag_on_any_value_is_one_message_with_its_line(tag, value, quoted, what):
    import tempfile

    from ai_serving.engine import stack_yaml
    from infra.config.errors import ConfigError

    written = json.dumps(value) if quoted or not value.isalnum() else value
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "file.yaml"
        path.write_text(f"config:\n  ai-serving:gpuPool:\n    maxInstances: {tag} {written}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            stack_yaml.load(path, what=what)
    [issue] = info.value.issues
    assert issue.line == 3 and "explicit YAML tag" in issue.message, issue
    assert "A1b2C3d4E5f6" not in str(info.value)


@pytest.mark.parametrize(("where", "old", "new", "at"), [
    ("stack-file", "maxInstances: 2", "maxInstances: !!bool maybe", "config.ai-serving:gpuPool.maxInstances"),
    ("stack-file-float", "maxInstances: 2", 'maxInstances: !!float ""', "config.ai-serving:gpuPool.maxInstances"),
    ("stack-file-timestamp", "maxInstances: 2", "maxInstances: !!timestamp abc",
     "config.ai-serving:gpuPool.maxInstances"),
    ("pulumi-yaml-default", None, "config:\n  ai-serving:boom:\n    default: !!float abc\n", "config.ai-serving:boom.default"),
])
def test_an_explicit_tag_ends_validate_with_one_message(tmp_path, where, old, new, at):
    if old is None:
        root = tmp_path / "proj"
        (root / "stacks").mkdir(parents=True)
        text = (ROOT / "Pulumi.yaml").read_text(encoding="utf-8") + new
        (root / "Pulumi.yaml").write_text(text, encoding="utf-8")
        code, out = _run_cli("validate", "--project", root, timeout=120)
        name, line = "Pulumi.yaml", len(text.splitlines())
    else:
        stack_dir, line = _stack_dir_with(tmp_path, old, new)
        code, out = _run_cli("validate", "--stack-dir", stack_dir, timeout=120)
        name = STACK.name
    _clean_exit_2(code, out)
    assert f"{name}:{line}: {at}: an explicit YAML tag" in out, out


# --- Key material the reader quoted ---------------------------------------------------------------------------
# A token used twice as a key, as a tag, an anchor, an alias or a tag handle was printed back in the message.

TOKEN = "ghp_" + "Zz9Yy8Xx7Ww6" * 3


@pytest.mark.parametrize(("name", "old", "new"), [
    ("duplicate-key", "    product: search\n", f"    product: search\n    {TOKEN}: a\n    {TOKEN}: b\n"),
    ("tag", "product: search", f"product: !{TOKEN} search"),
    ("anchor", "product: search", f"product: &{TOKEN} search"),
    ("alias", "product: search", f"product: *{TOKEN}"),
    ("tag-handle", "product: search", f"product: !{TOKEN}!x search"),
])
def test_key_material_in_the_yaml_itself_is_never_echoed(tmp_path, capsys, name, old, new):
    from ai_serving.cli import main

    stack_dir, _ = _stack_dir_with(tmp_path, old, new)
    code = main(["validate", "team-a-dev", "--project", str(ROOT), "--stack-dir", str(stack_dir)])
    out = "".join(capsys.readouterr())
    _clean_exit_2(code, out)
    assert "a GitHub token (not shown" in out and TOKEN[4:16] not in out, out


# --- quotas.yaml values -----------------------------------------------------------------------------------------
# Only the file's top-level shape was checked: "450" or [450] stopped the cross-team checks with a TypeError
# naming nothing, .nan compared as never exceeded (the mandatory quota check was off), -5, true and 1.5 counted.

QUOTAS = (ROOT / "stacks" / "quotas.yaml").read_text(encoding="utf-8")
QUOTA_LEAF = "      GlobalStandard: 450\n"


@pytest.mark.parametrize(("new", "at", "says"), [
    ('      GlobalStandard: "450"\n', "openai.swedencentral.gpt-5.5.GlobalStandard", "found str '450'"),
    ("      GlobalStandard: [450]\n", "openai.swedencentral.gpt-5.5.GlobalStandard", "found list [450]"),
    ("      GlobalStandard: -5\n", "openai.swedencentral.gpt-5.5.GlobalStandard", "found int -5"),
    ("      GlobalStandard: true\n", "openai.swedencentral.gpt-5.5.GlobalStandard", "found bool True"),
    ("      GlobalStandard: 1.5\n", "openai.swedencentral.gpt-5.5.GlobalStandard", "found float 1.5"),
    ("      GlobalStandard:\n", "openai.swedencentral.gpt-5.5.GlobalStandard", "found NoneType None"),
    ("      GlobalStandard: {a: 1}\n", "openai.swedencentral.gpt-5.5.GlobalStandard", "found dict"),
    ("      GlobalStandard: .nan\n", "openai.swedencentral.gpt-5.5.GlobalStandard", "not a number"),
    ("      GlobalStandard: !!int 450\n", "openai.swedencentral.gpt-5.5.GlobalStandard", "explicit YAML tag"),
    ("    gpt-5.5: 450\n", "openai.swedencentral.gpt-5.5", "expected a mapping of deployment type -> quota; found "
                             "int 450"),
    ("    gpt-5.5:\n      404: 450\n", "openai.swedencentral.gpt-5.5", "expected a deployment type (a name); found int"),
])
def test_a_bad_quota_is_one_message_with_its_line_and_key(tmp_path, new, at, says):
    from ai_serving.org.crossteam import QUOTAS_FILE, load_quotas
    from infra.config.errors import ConfigError

    old = QUOTA_LEAF if new.startswith("      ") else "    gpt-5.5:\n" + QUOTA_LEAF
    assert old in QUOTAS
    (tmp_path / QUOTAS_FILE).write_text(QUOTAS.replace(old, new, 1), encoding="utf-8")
    line = QUOTAS[: QUOTAS.index(old)].count("\n") + 1
    with pytest.raises(ConfigError) as info:
        load_quotas(tmp_path)
    [issue] = info.value.issues
    assert (issue.line, issue.path) == (line, at) and says in issue.message, issue


def test_a_misspelt_quota_section_is_refused_not_ignored(tmp_path):
    from ai_serving.org.crossteam import QUOTAS_FILE, load_quotas
    from infra.config.errors import ConfigError

    (tmp_path / QUOTAS_FILE).write_text(QUOTAS.replace("gpuVcpus:", "gpuVcpu:"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_quotas(tmp_path)
    assert [i.path for i in info.value.issues] == ["gpuVcpu"] and "expected one of: openai, gpuVcpus" in str(info.value)


def test_a_bad_quota_ends_plan_all_with_exit_2_naming_its_line(tmp_path):
    stack_dir = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stack_dir)
    (stack_dir / "quotas.yaml").write_text(QUOTAS.replace(QUOTA_LEAF, "      GlobalStandard: .nan\n", 1), encoding="utf-8")
    line = QUOTAS[: QUOTAS.index(QUOTA_LEAF)].count("\n") + 1
    code, out = _run_cli("plan", "--all", "--no-policy", "--workers", "1", "--stack-dir", stack_dir,
                         "--out", tmp_path / "out", timeout=300)
    _clean_exit_2(code, out)
    assert f"quotas.yaml:{line}: openai.swedencentral.gpt-5.5.GlobalStandard: '.nan' is not a number" in out, out
    assert not (tmp_path / "out").exists() and "planned" not in out  # refused before any stack is planned


# The program takes an id's last segment as the registry or account name and grants on the whole id: an id
# with child segments named one resource and granted another (here: team-a-prod's registry, from team-a-dev's
# own resource group); an id in another team's group granted that team's images or weights.
_OWN = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-team-a-dev-sdc/providers/"
_FOREIGN = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-team-b-dev-sdc/providers/"


@pytest.mark.parametrize(("value", "key", "expected"), [
    (f"registryId: {_OWN}Microsoft.ContainerRegistry/registries/crteamad/x/crteamap3620dc21", "gpuPool.registryId",
     "expected the id of a Microsoft.ContainerRegistry/registries resource"),
    (f"registryId: {_FOREIGN}Microsoft.ContainerRegistry/registries/crteambd", "gpuPool.registryId",
     "expected a Microsoft.ContainerRegistry/registries resource in the stack's own resource group rg-team-a-dev-sdc"),
    (f"modelSource: {{kind: blob, accountId: '{_FOREIGN}Microsoft.Storage/storageAccounts/stteamb', container: qwen}}",
     "gpuPool.modelSource.accountId",
     "expected a Microsoft.Storage/storageAccounts resource in the stack's own resource group rg-team-a-dev-sdc"),
    (f"modelSource: {{kind: blob, accountId: '{_OWN}Microsoft.Storage/storageAccounts/st/blobServices/default'}}",
     "gpuPool.modelSource.accountId", "expected the id of a Microsoft.Storage/storageAccounts resource"),
], ids=["registry-child-id", "registry-other-group", "account-other-group", "account-child-id"])
def test_an_existing_registry_or_account_outside_the_stack_is_one_message(tmp_path, value, key, expected):
    stack_dir, line = _stack_dir_with(tmp_path, "maxInstances: 2", f"maxInstances: 2\n    {value}")
    code, out = _run_cli("validate", "--stack-dir", stack_dir, timeout=120)
    _clean_exit_2(code, out)
    assert f"ai-serving:{key}: {expected}" in out, out


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_scale_set_waiver_copied_from_another_team_is_one_message_on_its_line(tmp_path, command):
    # team-a-prod's VMSS-10 waiver pasted into team-a-dev: it matches no scale set here, so it would waive
    # nothing in the verdict; the config says so on its line instead of letting it defer a check.
    waiver = ("  ai-serving:suppressions:\n    - {rule: VMSS-10, resource: vmss-team-a-prod-sdc-gpu, expires: "
              "'2027-01-31', reason: copied from team-a-prod's file for the same vLLM image}\n")
    stack_dir, line = _stack_dir_with(tmp_path, "  ai-serving:budget:\n", waiver + "  ai-serving:budget:\n")
    code, out = _run_cli(command, "team-a-dev", "--stack-dir", stack_dir, timeout=300)
    _clean_exit_2(code, out)
    assert (f"Pulumi.team-a-dev.yaml:{line + 1}: ai-serving:suppressions[0].resource: waives VMSS-10 for "
            "'vmss-team-a-prod-sdc-gpu', which this stack does not have; its scale set is "
            "'vmss-team-a-dev-sdc-gpu'") in out, out


def _pkcs8_ed25519_body() -> str:
    """The base64 body of an ed25519 private key in PKCS#8 (what `openssl genpkey` writes between its
    BEGIN/END lines): RFC 8410's fixed 16-byte prefix, then the 32-byte seed."""
    import base64

    return base64.b64encode(bytes.fromhex("302e020100300506032b657004220420") + bytes(range(32))).decode()


@pytest.mark.parametrize(("line", "expect"), [
    # Found by review: a PKCS#8 private key body behind "ssh-ed25519" passed and reached plan.json.
    (f"ssh-ed25519 {_pkcs8_ed25519_body()} me@x", "found a PRIVATE key inside one (not shown"),
    (f"ssh-rsa {_pkcs8_ed25519_body()}", "found a PRIVATE key inside one (not shown"),
    ("ssh-ed25519 AAAAAAAA", "its base64 is not a ssh-ed25519 public key"),
    # An RSA key's blob under the ed25519 type, and an ed25519 blob cut short.
    ("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAAAAQC7 x", "not a ssh-ed25519 public key"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC2rV3gJqX0s6m8m6Y5n0ZkP1Qq8xN3d4b5c6d7e8f9", "not a ssh-ed25519"),
])
def test_only_a_real_public_key_blob_passes(line, expect):
    from pydantic import ValidationError

    from infra.config.model import GpuPoolConfig

    with pytest.raises(ValidationError) as info:
        GpuPoolConfig.model_validate({"vmSku": "Standard_NV36ads_A10_v5", "model": "Qwen/Qwen2.5-7B-Instruct",
                                      "sshPublicKey": line})
    assert expect in str(info.value)
    assert _pkcs8_ed25519_body()[:24] not in str(info.value)


def test_real_public_keys_of_each_type_pass():
    import base64

    from infra.config.model import GpuPoolConfig

    def blob(*fields: bytes) -> str:
        return base64.b64encode(b"".join(len(f).to_bytes(4, "big") + f for f in fields)).decode()

    rsa = blob(b"ssh-rsa", bytes([1, 0, 1]), bytes([0]) + bytes(range(255)) * 2)
    ecdsa = blob(b"ecdsa-sha2-nistp256", b"nistp256", bytes([4]) + bytes(64))
    for line in (f"ssh-ed25519 {blob(b'ssh-ed25519', bytes(32))} a@b", f"ssh-rsa {rsa}", f"ecdsa-sha2-nistp256 {ecdsa} ops"):
        GpuPoolConfig.model_validate({"vmSku": "Standard_NV36ads_A10_v5", "model": "Qwen/Qwen2.5-7B-Instruct",
                                      "sshPublicKey": line})


# Found by review: an encrypted cost center, a `secure:` that holds no ciphertext, and blank or invisible cost
# centers all passed, so the checks judged a placeholder or nothing.
CONFIG_CASES = [
    ("encrypted-cost-center", "  ai-serving:costCenter: CC-1042\n",
     "  ai-serving:costCenter:\n    secure: AAABAKz2qbWyPXmHQlWv9b\n",
     "ai-serving:costCenter: is encrypted (`secure:`) but is not a secret (only modelHubToken may be)"),
    ("secure-list", "  ai-serving:costCenter: CC-1042\n",
     "  ai-serving:costCenter: CC-1042\n  ai-serving:modelHubToken:\n    secure: [1]\n",
     "ai-serving:modelHubToken: `secure:` must hold the ciphertext text"),
    ("blank-cost-center", "costCenter: CC-1042", 'costCenter: "  "', "expected a cost center like CC-1042"),
    ("zero-width-cost-center", "costCenter: CC-1042", 'costCenter: "\\u200b"', "no invisible characters"),
    ("padded-cost-center", "costCenter: CC-1042", 'costCenter: " CC-1042"', "no leading or trailing spaces"),
]


@pytest.mark.parametrize(("name", "old", "new", "expect"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_a_cost_center_no_check_can_read_is_refused_with_its_line(tmp_path, name, old, new, expect):
    stack_dir, line = _stack_dir_with(tmp_path, old, new)
    for command in (["validate", "--stack-dir", stack_dir],
                    ["plan", "team-a-dev", "--no-policy", "--stack-dir", stack_dir, "--out", tmp_path / "out"]):
        code, out = _run_cli(*command, timeout=120)
        _clean_exit_2(code, out)
        assert expect in out, out[:2000]
        assert f"{STACK.name}:{line + (1 if name == 'secure-list' else 0)}: " in out, out[:2000]
    assert not list((tmp_path / "out").rglob("plan.json"))


def test_a_package_integrity_hash_is_not_an_account_key():
    from infra.config.errors import secret_in

    assert secret_in("sha512-" + BARE_STORAGE_KEY) is None
    assert secret_in(BARE_STORAGE_KEY).kind == "an Azure account key"

"""The hostile-input corpus: bad stack files and command lines, generated from the example stacks.

Every case is built from each example stack in ``stacks/`` (so the corpus follows them as they
change) and must end the way every bad input ends: exit code 2, no traceback, one message naming
the file, the line (where there is one) and the key, bounded output, and nothing it must never show
(key material, credentials, megabytes of echoed input). Cases that could hang or exhaust memory run
as subprocesses with a generous timeout (never a timing assertion).
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ai_serving.cli import main
from ai_serving.outcome import UsageError

from .cli_helpers import ROOT

EXAMPLES = sorted(p for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
MAX_OUTPUT_CHARS = 20_000
PRIVATE_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
               "QyNTUxOQAAACBzZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0AAAAAAAAAAAA\n"
               "-----END OPENSSH PRIVATE KEY-----\n")
CLIENT_SECRET = "Zq8~s3cr3t-client-secret-value-Xy"
KEY_TEXT = ("b3BlbnNzaC1rZXktdjEA", "BEGIN OPENSSH")
"""Pieces of PRIVATE_KEY that no output may contain."""


@dataclass(frozen=True)
class Case:
    """One hostile mutation of a stack file."""

    name: str
    mutate: Callable[[dict[str, Any], str], bytes | str | dict[str, Any] | None]
    """(config mapping, file text) -> new config mapping, or raw text/bytes; None: not applicable."""
    expect: tuple[str, ...]
    """Substrings the error output must contain (besides the file name)."""
    line: bool = True
    """Whether the message must cite a line of the file."""
    never: tuple[str, ...] = ()
    """Substrings the output must never contain."""
    subprocess: bool = False


def _with(path: str, value: Any) -> Callable[[dict[str, Any], str], dict[str, Any] | None]:
    """Set ``ns:key.sub.sub`` (creating mappings) to ``value``; None when the section is absent."""
    top, *rest = path.split(".")

    def mutate(cfg: dict[str, Any], _text: str) -> dict[str, Any] | None:
        cfg = copy.deepcopy(cfg)
        if rest and top not in cfg:
            return None
        node = cfg
        keys = [top, *rest]
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
        return cfg

    return mutate


def _rename(old: str, new: str) -> Callable[[dict[str, Any], str], dict[str, Any] | None]:
    def mutate(cfg: dict[str, Any], _text: str) -> dict[str, Any] | None:
        if old not in cfg:
            return None
        return {new if k == old else k: v for k, v in cfg.items()}

    return mutate


def _text(fn: Callable[[str], str | bytes]) -> Callable[[dict[str, Any], str], str | bytes]:
    return lambda _cfg, text: fn(text)


def _first_config_line(text: str) -> int:
    lines = text.splitlines()
    return next(i for i, line in enumerate(lines) if line.startswith("config:")) + 1


def _duplicate_first_key(text: str) -> str:
    lines = text.splitlines()
    i = _first_config_line(text)
    return "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1:]) + "\n"


def _bad_byte(text: str) -> bytes:
    lines = text.encode().splitlines()
    i = _first_config_line(text) + 1
    return b"\n".join(lines[:i] + [lines[i] + b" \xff\xfe"] + lines[i + 1:]) + b"\n"


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
) + "config:\n  ai-serving:tags: *j\n"


def _waiver(**fields: Any) -> dict[str, Any]:
    return {"rule": "CS-05", "resource": "oai-*", "reason": "CMK rollout tracked in PLAT-123",
            "expires": "2027-03-31", **fields}


CASES = [
    Case("not-utf8", lambda cfg, text: _bad_byte(text), ("not valid UTF-8",)),
    Case("utf16", _text(lambda t: t.encode("utf-16")), ("UTF-16",)),
    Case("duplicate-key", _text(_duplicate_first_key), ("appears twice", "lines")),
    Case("second-config-block", _text(lambda t: t + "config:\n  ai-serving:team: other\n"),
         ("'config' appears twice",)),
    Case("alias-bomb", _text(lambda t: ALIAS_BOMB), ("alias", "not allowed"), subprocess=True),
    Case("deep-nesting", _text(lambda t: t + "  ai-serving:deep: " + "[" * 5000 + "]" * 5000 + "\n"),
         ("nested more than",), subprocess=True),
    Case("impossible-date", lambda cfg, text: None if "ai-serving:suppressions" in text else text + (
        "  ai-serving:suppressions:\n    - {rule: CS-05, resource: oai-x, reason: CMK rollout tracked in PLAT-1, "
        "expires: 2027-02-30}\n"), ("not a valid date",)),
    Case("typo-namespace", _rename("ai-serving:network", "ai-servng:network"),
         ("ai-servng:network", "did you mean 'ai-serving:network'",)),
    Case("project-location", _with("ai-serving:location", "westeurope"),
         ("ai-serving:location", "did you mean 'azure-native:location'")),
    Case("provider-subscription", _with("azure-native:subscriptionId", "00000000-0000-0000-0000-000000000000"),
         ("azure-native:subscriptionId", "may not be set"), never=("00000000-0000-0000-0000-000000000000",)),
    Case("provider-client-secret", _with("azure-native:clientSecret", CLIENT_SECRET),
         ("azure-native:clientSecret", "may not be set"), never=(CLIENT_SECRET,)),
    Case("cost-center-null", _with("ai-serving:costCenter", None), ("ai-serving:costCenter",)),
    Case("cost-center-list", _with("ai-serving:costCenter", ["CC-1", "CC-2"]), ("ai-serving:costCenter",)),
    Case("cost-center-map", _with("ai-serving:costCenter", {"a": 1}), ("ai-serving:costCenter",)),
    Case("cost-center-huge", _with("ai-serving:costCenter", "C" * 200_000), ("ai-serving:costCenter",)),
    Case("budget-inf", _with("ai-serving:budget", {"monthlyAmount": float("inf"),
                                                    "contactEmails": ["finops@example.com"]}),
         ("ai-serving:budget.monthlyAmount",)),
    Case("budget-nan", _with("ai-serving:budget", {"monthlyAmount": float("nan"),
                                                    "contactEmails": ["finops@example.com"]}),
         ("ai-serving:budget.monthlyAmount",)),
    Case("reserved-tag", _with("ai-serving:tags", {"MicrosoftOwned": "x"}), ("reserved by Azure",)),
    Case("too-many-tags", _with("ai-serving:tags", {f"t{i}": "x" for i in range(60)}), ("at most 46 tags",)),
    Case("fqdn-tld-wildcard", _with("ai-serving:openai.allowedFqdns", ["*.com"]), ("too broad",)),
    Case("fqdn-star", _with("ai-serving:openai.allowedFqdns", ["*"]), ("allowedFqdns",)),
    Case("fqdn-garbage", _with("ai-serving:openai.allowedFqdns", ["exa mple.com/path"]), ("expected a host name",)),
    Case("private-key-as-ssh-key", _with("ai-serving:gpuPool.sshPublicKey", PRIVATE_KEY),
         ("ai-serving:gpuPool.sshPublicKey", "PRIVATE key (not shown"), never=("b3BlbnNzaC1rZXktdjEA", "BEGIN")),
    Case("model-trailing-newline", _with("ai-serving:gpuPool.model", "meta-llama/Llama-3.1-8B-Instruct\n"),
         ("ai-serving:gpuPool.model",)),
    Case("owner-trailing-newline", _with("ai-serving:owners", ["alice@example.com\n"]), ("ai-serving:owners[0]",)),
    Case("hub-garbage", _with("ai-serving:network.hubVnetId", "/subscriptions/x;rm -rf /"),
         ("ai-serving:network.hubVnetId",)),
    Case("waiver-blank-reason", _with("ai-serving:suppressions", [_waiver(reason=" " * 12)]),
         ("ai-serving:suppressions[0].reason", "reason in words")),
    Case("waiver-zero-width-reason", _with("ai-serving:suppressions", [_waiver(reason="\u200b" * 12)]),
         ("ai-serving:suppressions[0].reason", "reason in words")),
    Case("waiver-bad-item-and-more", lambda cfg, text: {
        **_with("ai-serving:suppressions", [_waiver(), _waiver(rule=5, expires="soon")])(cfg, text),
        "ai-serving:costCenter": None},
        ("ai-serving:suppressions[1].rule", "ai-serving:suppressions[1].expires", "ai-serving:costCenter")),
    Case("nul-bytes", _text(lambda t: t.replace("config:", "config:\x00", 1)), ("NUL",)),
    Case("too-large", _text(lambda t: t + "#" + "x" * 300_000 + "\n"), ("at most",), line=False),
    # Key material is refused wherever it is, never quoted: a value, a list item, inside a mapping, a key.
    *[Case(f"private-key-in-{where}", _with(path, value), (shown_path, "PRIVATE key (not shown"),
           never=KEY_TEXT)
      for where, path, value, shown_path in [
          ("owner", "ai-serving:owners", [PRIVATE_KEY], "ai-serving:owners[0]"),
          ("tag-value", "ai-serving:tags", {"note": PRIVATE_KEY}, "ai-serving:tags.note"),
          ("tag-key", "ai-serving:tags", {PRIVATE_KEY.splitlines()[0]: "x"}, "ai-serving:tags"),
          ("waiver-reason", "ai-serving:suppressions", [_waiver(reason="rotated, was " + PRIVATE_KEY)],
           "ai-serving:suppressions[0].reason"),
          ("waiver-resource", "ai-serving:suppressions", [_waiver(resource=PRIVATE_KEY)],
           "ai-serving:suppressions[0].resource"),
          ("list-of-cost-centers", "ai-serving:costCenter", [PRIVATE_KEY], "ai-serving:costCenter[0]"),
          ("map-of-cost-centers", "ai-serving:costCenter", {"k": PRIVATE_KEY}, "ai-serving:costCenter.k"),
          ("location", "azure-native:location", PRIVATE_KEY, "azure-native:location"),
      ]],
    # What would rewrite a terminal or forge a CI log line when echoed.
    Case("escape-codes-in-location", _with("azure-native:location", "swedencentral\x1b[31m\r\x07"),
         ("azure-native:location", "control characters"), never=("\x1b", "\r", "\x07")),
    Case("forged-log-line-in-tag", _with("ai-serving:tags", {"note": "fine\n::error::forged"}),
         ("ai-serving:tags.note", "spans several lines"), never=("\n::error::forged",)),
    Case("huge-waiver-reason", _with("ai-serving:suppressions", [_waiver(reason="tracked in PLAT-1 " * 6000)]),
         ("ai-serving:suppressions[0].reason", "characters long")),
    Case("long-waiver-resource", _with("ai-serving:suppressions", [_waiver(resource="oai-" + "x" * 400)]),
         ("ai-serving:suppressions[0].resource", "at most 300")),
    # Numbers and dates are what they say, never coerced.
    Case("budget-true", _with("ai-serving:budget", {"monthlyAmount": True, "contactEmails": ["finops@example.com"]}),
         ("ai-serving:budget.monthlyAmount",)),
    Case("budget-text", _with("ai-serving:budget", {"monthlyAmount": "2000", "contactEmails": ["finops@example.com"]}),
         ("ai-serving:budget.monthlyAmount",)),
    Case("budget-absurd", _with("ai-serving:budget", {"monthlyAmount": 1e300, "contactEmails": ["finops@example.com"]}),
         ("ai-serving:budget.monthlyAmount", "too large for any setting")),
    Case("waiver-expires-number", _with("ai-serving:suppressions", [_waiver(expires=0)]),
         ("ai-serving:suppressions[0].expires", "YYYY-MM-DD")),
    Case("waiver-expires-timestamp", _with("ai-serving:suppressions", [_waiver(expires="2027-01-31T00:00:00")]),
         ("ai-serving:suppressions[0].expires", "YYYY-MM-DD")),
    # `costCenter` is `ai-serving:costCenter` to the engine: a second spelling of one key (set twice, or hidden
    # from what reads the full name, as the waiver review did an unprefixed `suppressions:`) is refused.
    Case("key-without-namespace", lambda cfg, text: None if "ai-serving:costCenter" not in cfg else text.replace(
        "config:\n", "config:\n  costCenter: CC-9999\n", 1), ("costCenter", "has no namespace")),
    Case("waivers-without-namespace", lambda cfg, text: None if "ai-serving:costCenter" not in cfg else text.replace(
        "config:\n", "config:\n  suppressions: []\n", 1), ("suppressions", "Pulumi reads it as ai-serving:suppressions")),
]


def _cases() -> list[Any]:
    params = []
    for example in EXAMPLES:
        text = example.read_text(encoding="utf-8")
        cfg = yaml.safe_load(text)["config"]
        for case in CASES:
            mutated = case.mutate(cfg, text)
            if mutated is None:
                continue
            params.append(pytest.param(example.name[len("Pulumi."):-len(".yaml")], case, mutated,
                                       id=f"{example.stem}-{case.name}"))
    return params


def _write(stack_dir: Path, stack: str, mutated: bytes | str | dict[str, Any]) -> Path:
    stack_dir.mkdir(parents=True, exist_ok=True)
    path = stack_dir / f"Pulumi.{stack}.yaml"
    if isinstance(mutated, dict):
        mutated = yaml.safe_dump({"config": mutated}, sort_keys=False, allow_unicode=True)
    if isinstance(mutated, str):
        mutated = mutated.encode("utf-8", errors="surrogatepass")
    path.write_bytes(mutated)
    return path


@pytest.mark.parametrize(("stack", "case", "mutated"), _cases())
def test_hostile_stack_file_is_a_clean_exit_2(tmp_path, capsys, stack, case, mutated):
    path = _write(tmp_path / "stacks", stack, mutated)
    argv = ["validate", stack, "--project", str(ROOT), "--stack-dir", str(path.parent)]
    if case.subprocess:
        proc = subprocess.run([sys.executable, "-m", "ai_serving.cli", *argv], capture_output=True, text=True,
                              timeout=120, cwd=ROOT)
        code, out = proc.returncode, proc.stdout + proc.stderr
    else:
        code = main(argv)
        captured = capsys.readouterr()
        out = captured.out + captured.err
    assert code == 2, out[:2000]
    assert "Traceback" not in out
    assert len(out) < MAX_OUTPUT_CHARS, f"{len(out)} characters of output"
    assert str(path) in out
    if case.line:
        assert f"{path}:" in out.replace(f"{path} (", ""), f"no line cited: {out[:1000]}"
    for expected in case.expect:
        assert expected in out, f"{expected!r} not in: {out[:2000]}"
    for secret in case.never:
        assert secret not in out


def test_the_corpus_covers_every_example_and_every_case():
    ids = {p.id for p in _cases()}
    assert EXAMPLES and all(any(i.startswith(e.stem) for i in ids) for e in EXAMPLES)
    assert {c.name for c in CASES} == {i.split("-", 3)[-1] for i in ids} | {
        c.name for c in CASES if c.name in {i.split("-", 3)[-1] for i in ids}}


def _run_cli(*args: str | Path, timeout: int = 300) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "ai_serving.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    return proc.returncode, proc.stdout + proc.stderr


def _project_with(tmp_path: Path, pulumi_yaml: str | bytes) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    data = pulumi_yaml.encode() if isinstance(pulumi_yaml, str) else pulumi_yaml
    (root / "Pulumi.yaml").write_bytes(data)
    return root


CLI_CASES: list[tuple[str, Callable[[Path], list[Any]], str]] = [
    ("workers-negative", lambda t: ["plan", "--all", "--workers", "-3", "--no-policy"], "--workers"),
    ("workers-text", lambda t: ["plan", "--all", "--workers", "many", "--no-policy"], "--workers"),
    ("pulumi-yaml-list", lambda t: ["validate", "--project", _project_with(t, "- a\n- b\n")], "Pulumi.yaml"),
    ("pulumi-yaml-binary", lambda t: ["validate", "--project", _project_with(t, b"name: \xff\n")], "Pulumi.yaml"),
    ("pulumi-yaml-syntax", lambda t: ["validate", "--project", _project_with(t, "name: [x\n")], "Pulumi.yaml"),
    ("policy-config-list", lambda t: ["plan", "team-a-dev", "--policy-pack-config", _file(t, "pc.json", "[1, 2]")],
     "pc.json"),
    ("policy-config-truncated", lambda t: ["plan", "team-a-dev", "--policy-pack-config",
                                           _file(t, "pc.json", '{"a": ')], "pc.json"),
    # json.loads kept the last: the policy ran as its second line said.
    ("policy-config-policy-twice", lambda t: ["plan", "team-a-dev", "--policy-pack-config", _file(
        t, "pc.json", '{"cs-07-ai-account-allowed-kind": "mandatory", "cs-07-ai-account-allowed-kind": "disabled"}')],
     "pc.json: not a readable policy config file: key 'cs-07-ai-account-allowed-kind' is written twice"),
    ("out-is-a-file", lambda t: ["plan", "team-a-dev", "--no-policy", "--out", _file(t, "out", "x")], "out"),
    ("plan-all-out-is-a-file", lambda t: ["plan", "--all", "--no-policy", "--out", _file(t, "out", "x")], "out"),
    ("report-truncated-summary", lambda t: ["report", "--out", _dir_with(t, "summary.json", '{"stacks": [{"st')],
     "summary.json"),
    ("report-summary-list", lambda t: ["report", "--out", _dir_with(t, "summary.json", "[]")], "summary.json"),
    ("diff-truncated-plan", lambda t: ["diff", _dir_with(t, "a/plan.json", '{"resour'), _dir_with(t, "b/summary.json", "{}")],
     "plan.json"),
    ("diff-plan-not-a-document", lambda t: ["diff", _dir_with(t, "a/plan.json", "[1]"), _dir_with(t, "b/summary.json", "{}")],
     "plan.json"),
    ("unknown-stack", lambda t: ["plan", "team-zz-dev", "--no-policy"], "team-zz-dev"),
    ("stack-file-is-a-folder", lambda t: ["validate", "team-a-dev", "--stack-dir", _folder_stack(t)],
     "cannot read the file"),
    # A named pipe blocked the read for ever, a symlink to /dev/zero read until memory ran out.
    ("stack-file-is-a-fifo", lambda t: ["validate", "--stack-dir", _special_stack(t, "fifo")],
     "it is a named pipe (FIFO), not a regular file"),
    ("stack-file-is-dev-zero", lambda t: ["validate", "--stack-dir", _special_stack(t, "/dev/zero")],
     "it is a character device (through a symlink), not a regular file"),
    ("plan-stack-file-is-a-fifo", lambda t: ["plan", "team-x-dev", "--no-policy", "--stack-dir",
                                             _special_stack(t, "fifo")], "named pipe"),
    ("plan-all-stack-file-is-dev-zero", lambda t: ["plan", "--all", "--no-policy", "--workers", "1", "--stack-dir",
                                                   _special_stack(t, "/dev/zero"), "--out", t / "out"],
     "character device"),
    # Plan documents read back from a folder someone else wrote. They were skipped by an is_file test before
    # the bounded reader saw them: diff called such a stack removed and exited 0, report said a folder with
    # summary.json had none. Each is now one usage error saying what the file is.
    ("diff-plan-is-dev-zero", lambda t: ["diff", _special_in(t, "a/team-a-dev/plan.json", "/dev/zero"),
                                         _dir_with(t, "b/summary.json", "{}")], "plan.json: not a readable plan.json: "
                                                                    "cannot read the file: it is a character device"),
    ("diff-lone-plan-is-a-fifo", lambda t: ["diff", _dir_with(t, "b/summary.json", "{}"), _special_in(t, "a/plan.json", "fifo")],
     "it is a named pipe (FIFO)"),
    ("diff-plan-is-a-dangling-link", lambda t: ["diff", _special_in(t, "a/team-a-dev/plan.json", "/nonexistent/x"),
                                                _dir_with(t, "b/summary.json", "{}")], "No such file or directory"),
    ("plan-all-base-plan-is-a-fifo", lambda t: ["plan", "--all", "--no-policy", "--workers", "1", "--out", t / "out",
                                                "--base", _special_in(t, "base/team-a-dev/plan.json", "fifo")],
     "it is a named pipe (FIFO)"),
    ("report-summary-is-a-fifo", lambda t: ["report", "--out", _special_in(t, "r/summary.json", "fifo")],
     "summary.json: not a readable summary.json: cannot read the file: it is a named pipe (FIFO)"),
    ("report-plan-is-dev-zero", lambda t: ["report", "--out", _special_in(t, "r/team-a-dev/plan.json", "/dev/zero")],
     "plan.json: not a readable plan.json: cannot read the file: it is a character device"),
    ("pack-policy-config-is-a-fifo", lambda t: ["plan", "team-a-dev", "--policy-pack", _pack_with_special_config(t)],
     "policy-config.json: not a readable policy config file: cannot read the file: it is a named pipe (FIFO)"),
    ("pulumi-yaml-fifo", lambda t: ["validate", "--project", _special_project(t, "fifo")], "named pipe"),
    ("pulumi-yaml-dev-zero", lambda t: ["validate", "--project", _special_project(t, "/dev/zero")],
     "character device"),
]


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _dir_with(tmp_path: Path, name: str, text: str) -> Path:
    path = _file(tmp_path / "d", name, text)
    return path.parent


def _folder_stack(tmp_path: Path) -> Path:
    (tmp_path / "s" / "Pulumi.team-a-dev.yaml").mkdir(parents=True)
    return tmp_path / "s"


def _special(path: Path, kind: str) -> None:
    """``path`` as a named pipe (``fifo``) or a symlink to ``kind`` (a device)."""
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(kind)


def _special_in(tmp_path: Path, name: str, kind: str) -> Path:
    """A folder under ``tmp_path`` whose ``name`` (a relative path) is a named pipe or a symlink to ``kind``;
    the folder at the top of ``name``."""
    path = tmp_path / name
    path.parent.mkdir(parents=True)
    _special(path, kind)
    return tmp_path / name.split("/")[0]


def _pack_with_special_config(tmp_path: Path) -> Path:
    """A copy of the pack's manifest whose own ``policy-config.json`` is a named pipe."""
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_bytes((ROOT / "policies" / "PulumiPolicy.yaml").read_bytes())
    _special(pack / "policy-config.json", "fifo")
    return pack


def _special_stack(tmp_path: Path, kind: str) -> Path:
    stack_dir = tmp_path / "s"
    stack_dir.mkdir()
    _special(stack_dir / "Pulumi.team-x-dev.yaml", kind)
    return stack_dir


def _special_project(tmp_path: Path, kind: str) -> Path:
    root = tmp_path / "proj"
    (root / "stacks").mkdir(parents=True)
    _special(root / "Pulumi.yaml", kind)
    return root


def _project_plus(tmp_path: Path, junk: str) -> Path:
    """The repository's Pulumi.yaml with ``junk`` appended, and an empty ``stacks/``."""
    root = _project_with(tmp_path, (ROOT / "Pulumi.yaml").read_text(encoding="utf-8") + junk)
    (root / "stacks").mkdir()
    return root


PULUMI_YAML_BOMB = ALIAS_BOMB.replace("config:\n  ai-serving:tags: *j\n", "config:\n  ai-serving:boom: {default: *h}\n")
PULUMI_YAML_CASES = [
    # 8 levels of aliases took 28 s and 4.6 GB (the project default is marshalled to JSON for every stack).
    ("alias-bomb", PULUMI_YAML_BOMB, "anchors and aliases are not allowed in Pulumi.yaml"),
    ("deep-nesting", "x: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 24 levels deep"),  # was a RecursionError
    ("config-key-not-a-string", "config:\n  1: 2\n", "config.1: expected a config key"),  # was a TypeError
    ("config-not-a-mapping", "config: [a, b]\n", "config: expected a mapping"),
    ("duplicate-config-key", "config:\n  boom: 1\n  boom: 2\n", "key 'boom' appears twice"),
]


@pytest.mark.parametrize(("name", "junk", "expect"), PULUMI_YAML_CASES, ids=[c[0] for c in PULUMI_YAML_CASES])
def test_hostile_pulumi_yaml_is_a_clean_exit_2(tmp_path, name, junk, expect):
    root = _project_plus(tmp_path, junk)
    code, out = _run_cli("validate", "--project", root, timeout=120)
    assert code == 2, out[:2000]
    assert "Traceback" not in out
    assert len(out) < MAX_OUTPUT_CHARS
    assert f"{root / 'Pulumi.yaml'}:" in out and expect in out, out[:2000]


@pytest.mark.parametrize(("old", "new", "at", "expect"), [
    ("", "config:\n  1: 2\n", "  1: 2",
     "config.1: expected a config key (a string such as `gpuPool` or `ai-serving:gpuPool`); found int 1"),
    ("name: ai-serving", "name: [a, b]", "name: [a, b]", "name: expected a string; found list ['a', 'b']"),
    ("main: infra/", 'main: "in\\0fra/"', 'main: "in\\0fra/"',
     "main: expected a path (a string without NUL characters); found str 'in\\x00fra/'"),
    ("  name: python", "  name: " + "n" * 5000, "  name: " + "n" * 5000, "runtime is 'nnnnnnnn"),
], ids=["config-key-int", "name-list", "main-nul", "runtime-huge"])
def test_pulumi_yaml_structure_errors_name_the_line_the_key_and_what_was_found(tmp_path, old, new, at, expect):
    from ai_serving.engine.project import load_project
    from ai_serving.outcome import UsageError

    text = (ROOT / "Pulumi.yaml").read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1) if old else text + new
    root = _project_with(tmp_path, text)
    (root / "stacks").mkdir()
    line = text.splitlines().index(at) + 1
    with pytest.raises(UsageError) as info:
        load_project(root)
    message = str(info.value)
    assert message.startswith(f"{root / 'Pulumi.yaml'}:{line}: {expect}"), message
    assert len(message) < 1000


@pytest.mark.parametrize(("name", "argv", "expect"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_hostile_command_line_is_a_clean_exit_2(tmp_path, name, argv, expect):
    code, out = _run_cli(*argv(tmp_path))
    assert code == 2, out[:2000]
    assert "Traceback" not in out
    assert len(out) < MAX_OUTPUT_CHARS
    assert expect in out, out[:2000]


def test_a_stack_file_symlinked_to_a_regular_file_is_read_as_that_file(tmp_path):
    """Only what is not a regular file is refused: a symlink is judged by what it points to."""
    stack_dir = tmp_path / "s"
    stack_dir.mkdir()
    (stack_dir / "Pulumi.team-a-dev.yaml").symlink_to(ROOT / "stacks" / "Pulumi.team-a-dev.yaml")
    assert main(["validate", "--project", str(ROOT), "--stack-dir", str(stack_dir)]) == 0


def test_a_date_as_a_mapping_key_is_refused_on_its_line(tmp_path):
    """``json.dumps`` refused a date key (a TypeError traceback); then it was passed as the text written, but
    the engine names it "2027-03-31 00:00:00 +0000 UTC" (tests/fixtures/engine_yaml.json): refused, quoted."""
    text = (ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_text(encoding="utf-8")
    path = _write(tmp_path / "s", "team-a-dev", text + "  ai-serving:notes: {2027-03-31: review}\n")
    code, out = _run_cli("validate", "--project", ROOT, "--stack-dir", path.parent)
    line = len(text.splitlines()) + 1
    assert code == 2 and f"{path}:{line}: config.ai-serving:notes.2027-03-31: key '2027-03-31' is not text to the " \
                          "engine" in out and 'quote it as "2027-03-31"' in out, out


def test_no_partial_pattern_checks_in_the_program():
    """Patterns are applied with full matches only (infra/config/patterns.full_match)."""
    offenders = []
    for path in (ROOT / "infra").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "match":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_a_private_key_never_reaches_summary_or_report(tmp_path):
    text = (ROOT / "stacks" / "Pulumi.team-b-dev.yaml").read_text(encoding="utf-8")
    cfg = yaml.safe_load(text)["config"]
    cfg["ai-serving:gpuPool"]["sshPublicKey"] = PRIVATE_KEY
    stack_dir = tmp_path / "stacks"
    _write(stack_dir, "team-b-dev", cfg)
    out = tmp_path / "out"
    code, log = _run_cli("plan", "--all", "--no-policy", "--workers", "1", "--stack-dir", stack_dir, "--out", out)
    assert code == 2, log[:2000]
    for produced in (log, (out / "summary.json").read_text(), (out / "report.md").read_text()):
        assert "b3BlbnNzaC1rZXktdjEA" not in produced and "BEGIN OPENSSH" not in produced
    assert json.loads((out / "summary.json").read_text())["stacks"][0]["status"] == "invalid-config"


GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6" * 3


def _plans_with_tag(folder: Path, value: str) -> Path:
    """A plan output folder of one stack whose resource group carries ``value`` in a tag, and a finding that
    quotes it (as a rule quoted a policy setting)."""
    urn = "urn:pulumi:team-a-dev::ai-serving::azure-native:resources:ResourceGroup::rg"
    doc = {"stack": "team-a-dev", "resources": [
        {"urn": urn, "type": "azure-native:resources:ResourceGroup", "name": "rg",
         "inputs": {"tags": {"product": value}}}],
        "policy": {"pack": "ai-serving-guardrails", "violations": [
            {"policy": "tag-01", "level": "mandatory", "urn": urn, "message": f"tag product is {value}"}]}}
    (folder / "team-a-dev").mkdir(parents=True)
    (folder / "team-a-dev" / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("value", "kind"), [(PRIVATE_KEY, "a PRIVATE key"), (GITHUB_TOKEN, "a GitHub token")],
                         ids=["private-key", "github-token"])
def test_key_material_in_a_plans_values_is_masked_in_diff_and_report(tmp_path, value, kind):
    """A plan.json written by anything else (or a value the program did not mark secret, in a tag) was
    printed whole by diff, diff --json and the report's changes."""
    base = _plans_with_tag(tmp_path / "base", "search")
    head = _plans_with_tag(tmp_path / "head", value)
    secret_text = ("b3BlbnNzaC1rZXktdjEA", "BEGIN OPENSSH", GITHUB_TOKEN)
    for argv in (["diff", base, head], ["diff", "--json", base, head], ["report", "--out", head, "--base", base]):
        code, out = _run_cli(*argv)
        assert code == 0, out[-2000:]
        shown = out if argv[0] == "diff" else (head / "report.md").read_text(encoding="utf-8")
        assert f"[{kind}: not shown]" in shown and "tags.product" in shown, shown[-3000:]
        assert not any(text in shown for text in secret_text), shown[-3000:]
    assert f"`TAG-01` on `rg` (resources:ResourceGroup): [{kind}: not shown]" in shown  # the finding, masked


def test_hub_ids_are_compared_normalised(monkeypatch):
    """A trailing '/' or other letter case in the hub id must not hide an address overlap."""
    from ai_serving.org.crossteam import overlapping_address_spaces
    from infra.config import raw_from_config_map, validate

    from .stackdata import base_config, share_networks

    hub = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-hub/providers/" \
          "Microsoft.Network/virtualNetworks/vnet-hub"
    share_networks(monkeypatch, hubs=[hub])
    configs = {}
    for team, hub_id in (("team-x", hub), ("team-y", hub.upper().replace("/SUBSCRIPTIONS", "/subscriptions")
                                                        .replace("/RESOURCEGROUPS", "/resourceGroups")
                                                        .replace("/PROVIDERS", "/providers") + "/")):
        cfg = base_config("dev", team=team)
        cfg["ai-serving:network"] = {"addressSpace": "10.50.0.0/22", "hubVnetId": hub_id}
        values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in cfg.items()}
        configs[f"{team}-dev"] = validate(raw_from_config_map(values), stack_name=f"{team}-dev")
    [finding] = overlapping_address_spaces(configs)
    assert finding.stacks == ["team-x-dev", "team-y-dev"]


def test_plan_all_out_refuses_a_folder_that_merely_holds_a_summary_json(tmp_path):
    """plan --all replaces its --out folder whole: a folder with a summary.json among the user's own files
    was replaced, and those files deleted."""
    out = tmp_path / "victim"
    (out / "important").mkdir(parents=True)
    (out / "summary.json").write_text('{"my": "own"}', encoding="utf-8")
    (out / "notes.txt").write_text("precious", encoding="utf-8")
    (out / "important" / "thesis.tex").write_text("x", encoding="utf-8")

    code, out_text = _run_cli("plan", "--all", "--no-policy", "--workers", "1", "--out", out)

    assert code == 2 and "Traceback" not in out_text
    assert "not a plan --all output" in out_text and "'important'" in out_text, out_text[-2000:]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "precious"
    assert (out / "important" / "thesis.tex").is_file()


def test_plan_all_out_replaces_its_own_earlier_output(tmp_path):
    """What plan --all wrote (summary.json, the report, a folder of plan files per stack) is replaced."""
    out = tmp_path / "out"
    (out / "team-a-dev").mkdir(parents=True)
    for name in ("summary.json", "report.md", "report-full.md"):
        (out / name).write_text("{}", encoding="utf-8")
    (out / "team-a-dev" / "plan.json").write_text("{}", encoding="utf-8")
    (out / "team-gone-dev").mkdir()  # a stack with nothing written (it failed), or one since removed

    code, text = _run_cli("plan", "--all", "--no-policy", "--workers", "1", "--out", out)

    assert code == 0, text[-2000:]
    assert not (out / "team-gone-dev").exists() and not (out / "report-full.md").exists()
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["stacks"]


def test_plan_all_out_takes_the_folder_make_plan_wrote(tmp_path):
    """`make plan` writes out/<stack> and `make plan-all` then plans every stack into out: a folder of single
    plans' outputs (no summary.json) was refused as "not a plan --all output"."""
    out = tmp_path / "out"
    code, text = _run_cli("plan", "team-a-dev", "--no-policy", "--out", out / "team-a-dev")
    assert code == 0, text[-2000:]

    code, text = _plan_all_out(tmp_path, out)

    assert code == 0, text[-2000:]
    assert (out / "summary.json").is_file() and (out / "team-a-dev" / "plan.json").is_file()


@pytest.mark.parametrize("planted", ["empty folders only", "a file beside a plan"])
def test_plan_all_out_without_a_summary_still_refuses_what_no_plan_wrote(tmp_path, planted):
    out = tmp_path / "out"
    (out / "drafts").mkdir(parents=True)
    (out / "ideas").mkdir()
    if planted == "a file beside a plan":
        (out / "team-a-dev").mkdir()
        (out / "team-a-dev" / "plan.json").write_text("{}", encoding="utf-8")
        (out / "ideas" / "notes.txt").write_text("precious", encoding="utf-8")

    code, text = _plan_all_out(tmp_path, out)

    assert code == 2 and "Traceback" not in text and "not a plan --all output" in text, text[-2000:]
    assert (out / "drafts").is_dir() and (out / "ideas").is_dir()
    if planted == "a file beside a plan":
        assert "'ideas'" in text and (out / "ideas" / "notes.txt").read_text(encoding="utf-8") == "precious"


def _plan_all_out(tmp_path: Path, out: Path) -> tuple[int, str]:
    stacks = tmp_path / "stacks"
    stacks.mkdir(exist_ok=True)
    shutil.copy(ROOT / "stacks" / "Pulumi.team-a-dev.yaml", stacks)
    return _run_cli("plan", "--all", "--no-policy", "--workers", "1", "--stack-dir", stacks, "--out", out)


@pytest.mark.parametrize("plant", ["symlink", "fifo"])
def test_plan_all_does_not_follow_a_planted_lock_file(tmp_path, plant):
    """The lock file beside --out was opened through a symlink: the run created (and locked) a file
    wherever the link pointed."""
    elsewhere = tmp_path / "elsewhere" / "f"
    elsewhere.parent.mkdir()
    (tmp_path / "lk").mkdir()
    lock = tmp_path / "lk" / ".o3.lock"
    if plant == "symlink":
        lock.symlink_to(elsewhere)
    else:
        os.mkfifo(lock)

    code, out = _plan_all_out(tmp_path, tmp_path / "lk" / "o3")

    assert code == 2 and "Traceback" not in out, out[-2000:]
    what = "is a symbolic link" if plant == "symlink" else "is not a regular file"
    assert f"--out {tmp_path / 'lk' / 'o3'}: its lock file {lock} {what}" in out, out[-2000:]
    assert not elsewhere.exists() and sorted(p.name for p in (tmp_path / "lk").iterdir()) == [".o3.lock"]


def test_plan_all_out_that_is_a_mount_point_is_refused_before_planning(tmp_path, monkeypatch, capsys):
    """A mount point cannot be renamed: every run planned, failed with EBUSY and left a folder beside it."""
    from ai_serving.org import plan_all

    out = tmp_path / "mnt"
    out.mkdir()
    real = os.path.ismount
    monkeypatch.setattr(plan_all.os.path, "ismount", lambda p: Path(p) == out or real(p))
    with pytest.raises(UsageError, match=r"is a mount point, which a run cannot replace .* name a folder inside it"):
        plan_all.OutputFolder(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnt"]  # no lock, no staging folder


def test_a_replace_that_fails_leaves_no_folder_beside_the_output(tmp_path, monkeypatch):
    """An out the rename cannot move (EBUSY: a bind mount, which ismount does not see) left a `.out.old-*`
    folder beside it on every run."""
    import errno

    from ai_serving.org import plan_all

    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}", encoding="utf-8")
    real = os.replace

    def busy(src, dst):
        if Path(src) == out:
            raise OSError(errno.EBUSY, "Device or resource busy", str(src))
        return real(src, dst)

    monkeypatch.setattr(plan_all.os, "replace", busy)
    with pytest.raises(OSError), plan_all.OutputFolder(out) as staging:
        staging.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], list(tmp_path.iterdir())
    assert (out / "summary.json").read_text(encoding="utf-8") == "{}"


@pytest.mark.parametrize("name", [
    "a\n::error file=README.md,line=1::forged annotation",  # a GitHub Actions command in the CI log
    "x`\n\n# ✅ all stacks pass\n\n<img src=\"https:evil.example\"><!--",  # Markdown and HTML in report.md
    "x\x1b[2Jy",  # a terminal escape sequence
    "[reverse blink]x[@click=app.bell]y",  # rich markup
], ids=["ci-command", "report-markup", "escape", "rich-markup"])
def test_plan_all_refuses_a_stack_file_name_that_is_not_a_stack_name(tmp_path, name):
    """The file name reached the terminal, the CI log and the report as it was: refused before anything runs."""
    stack_dir = tmp_path / "s"
    stack_dir.mkdir()
    (stack_dir / "Pulumi.team-a-dev.yaml").write_bytes((ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_bytes())
    (stack_dir / f"Pulumi.{name}.yaml").write_bytes((ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_bytes())

    code, text = _run_cli("plan", "--all", "--no-policy", "--workers", "1", "--stack-dir", stack_dir,
                          "--out", tmp_path / "out")

    assert code == 2 and "Traceback" not in text
    assert "not a stack file name" in text, text[-2000:]
    assert not any(line.startswith(("::error", "#", "<img")) for line in text.splitlines()), text
    assert "\x1b" not in text and not (tmp_path / "out").exists()


def test_plan_all_refuses_a_stack_file_name_that_is_not_utf8(tmp_path):
    """It crashed writing the report (UnicodeEncodeError)."""
    stack_dir = tmp_path / "s"
    stack_dir.mkdir()
    os.close(os.open(os.fsencode(stack_dir) + b"/Pulumi.x\xff.yaml", os.O_CREAT | os.O_WRONLY))

    code, text = _run_cli("plan", "--all", "--no-policy", "--stack-dir", stack_dir, "--out", tmp_path / "out")

    assert code == 2 and "Traceback" not in text and "not a stack file name" in text, text[-2000:]


@pytest.mark.parametrize("argv", [
    lambda long: ["validate", "--project", long],
    lambda long: ["diff", long, long],
    lambda long: ["report", "--out", long],
    lambda long: ["plan", "--all", "--no-policy", "--out", long],
    lambda long: ["new-team", "x" * 100_000, "--env", "dev"],
    lambda long: ["new-team", "team-c", "--env", "x" * 100_000],
    lambda long: ["new-team", "team-c", "--env", "dev", "--gpu", "x" * 100_000],
    lambda long: ["models", "--region", "x" * 100_000],
    lambda long: ["models", "--type", "x" * 100_000],
], ids=["project", "diff", "report", "plan-all-out", "team", "env", "gpu", "region", "type"])
def test_a_huge_argument_is_quoted_bounded(tmp_path, argv, capsys):
    """Each printed about 100 KB: the whole argument, back."""
    long = str(tmp_path / ("d" * 100_000))
    assert main([str(a) for a in argv(long)]) == 2
    captured = capsys.readouterr()
    assert len(captured.out + captured.err) < 2000, (captured.out + captured.err)[:300]


def test_the_report_does_not_render_markup_from_a_plan_folder(tmp_path):
    """summary.json and plan.json come from a folder anyone may have written (--base: main's artefact):
    their text reached report.md raw, and a million-character finding made a million-character report."""
    from ai_serving.reports.markdown import BUDGET, CUT

    out = tmp_path / "r"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({
        "generated": "x</sub>\n\n<h1>✅ all stacks pass</h1><img src=x><script>alert(1)</script>",
        "pack": {"name": "p", "version": "1\n\n# forged", "policies": {}},
        "stacks": [{"stack": "team-a-dev", "resources": 1, "mandatory": 0, "advisory": 0, "waivers": 0,
                    "status": "ok", "errors": []}],
        "crossTeam": [{"check": "c\n# forged heading", "level": "mandatory", "stacks": ["s\n<!--"] * 500,
                       "message": "m" * 1_000_000}],
    }), encoding="utf-8")

    assert main(["report", "--out", str(out)]) == 0

    report = (out / "report.md").read_text(encoding="utf-8")
    assert len(report) <= BUDGET
    assert "<h1>" not in report and "<script>" not in report and "<img" not in report
    outside_code = re.sub(r"`[^`\n]*`", "", report)  # inline code shows "<!--" as text
    assert outside_code.count("<!--") == report.count(CUT)  # only the report's own section markers
    assert not any(line.startswith("# ") for line in report.splitlines())


@pytest.mark.parametrize("value", ["hf_PLAINtokenInTheStackFile0123456789", "[hf_PLAINtokenInTheStackFile0123456789]",
                                   "{a: hf_PLAINtokenInTheStackFile0123456789}", "12345"],
                         ids=["text", "list", "map", "number"])
def test_a_model_hub_token_in_plain_text_is_refused_and_not_shown(tmp_path, value):
    """A plain token (or a list, a map, a number there) validated, and sat in git for anyone with the
    repository: the tools refuse it in the pull request that adds it, with its line."""
    text = (ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_text(encoding="utf-8")
    path = _write(tmp_path / "s", "team-a-dev", text + f"  ai-serving:modelHubToken: {value}\n")
    expected_line = len(text.splitlines()) + 1

    # rehearse read the file without load_stack's check: the same message, but exit 1.
    for command in (["validate"], ["plan", "team-a-dev", "--no-policy", "--out", tmp_path / "out"],
                    ["rehearse", "team-a-dev"]):
        code, out = _run_cli(*command, "--stack-dir", path.parent)
        assert code == 2 and "Traceback" not in out, out[-2000:]
        assert f"Pulumi.team-a-dev.yaml:{expected_line}: ai-serving:modelHubToken: set in plain text" in out, out
        assert "PLAINtoken" not in out and "12345" not in out
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("marked_secret", [False, True], ids=["plain", "decrypted-secure"])
def test_the_program_itself_refuses_a_model_hub_token_the_engine_did_not_mark_secret(project, marked_secret):
    """`pulumi up` never runs the tools' check. The engine hands the program a decrypted `secure:` value as
    text, like a plain one, and names its key among the secret keys (PULUMI_CONFIG_SECRET_KEYS): without that
    mark the program stops before declaring anything, and does not show the token."""
    from ai_serving.engine.project import StackConfigMap, read_stack_config
    from ai_serving.engine.runner import ROOT_STACK_TYPE, run_program

    given = read_stack_config(project, "team-a-dev")
    token = "hf_PLAINtokenHandedToTheProgram0123456789"
    key = "ai-serving:modelHubToken"
    secret_keys = [*given.secret_keys, key] if marked_secret else given.secret_keys
    run = run_program(project, "team-a-dev", StackConfigMap({**given.values, key: token}, secret_keys, given.source))

    said = "\n".join(run.errors + run.warnings)
    assert token not in said and "PLAINtoken" not in said
    if marked_secret:
        assert run.exit_code == 0, said
    else:
        assert run.exit_code == 2 and f"{key}: set in plain text" in said, said
        assert [r.type for r in run.resources] == [ROOT_STACK_TYPE]


def test_bidirectional_controls_are_refused_in_values_and_escaped_on_the_terminal(tmp_path):
    """U+202E and its kind ("Trojan Source") make a value read in review differently than the program gets it:
    they were accepted, and `plan --all` printed them raw."""
    from ai_serving.cli import printable

    text = (ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_text(encoding="utf-8")
    assert "costCenter: " in text
    path = _write(tmp_path / "s", "team-a-dev", text.replace("costCenter: ", "costCenter: CC\u202e1234", 1))

    code, out = _run_cli("validate", "--stack-dir", path.parent)

    assert code == 2 and "Traceback" not in out and "text-direction controls" in out, out
    assert "\u202e" not in out and "\\u202e" in out
    assert printable("a\u202eb\u2066c\u2028d") == "a\\u202eb\\u2066c\\u2028d"


@pytest.mark.parametrize(("text", "expected"), [
    ("config: [1, 2]\n", "config: expected a mapping of key: value; found a list"),
    ("config: 3\n", "config: expected a mapping of key: value; found a number"),
    ("- a\n", "expected a mapping with a `config:` mapping inside; found a list"),
    ("config:\n", "ai-serving:team: required key is missing"),  # empty, as Pulumi reads it
], ids=["config-list", "config-number", "file-list", "config-empty"])
def test_a_stack_file_of_the_wrong_shape_says_what_it_found(tmp_path, text, expected):
    """`config: [1, 2]` and `config: null` were reported as "found dict" (the type of the whole file)."""
    path = _write(tmp_path / "s", "team-a-dev", text)
    code, out = _run_cli("validate", "--stack-dir", path.parent)
    assert code == 2 and "Traceback" not in out and expected in out, out


TOP_LEVEL_KEYS = {
    # What `pulumi config set --secret` writes with the default passphrase manager: CI then asks for a passphrase.
    "encryptionsalt": ("encryptionsalt: v1:Zm9vYmFy:v1:AAAA:BBBB\n", "passphrase secrets manager"),
    "secretsprovider": ("secretsprovider: passphrase\n", "ahead of the one in the stack's state"),
    "encryptedkey": ("encryptedkey: Q2lRQWJj\n", "data key"),
    "environment-list": ("environment:\n  - platform/team-a\n", "Pulumi ESC environments"),
    "environment-inline": ("environment:\n  imports: [platform/team-a]\n  values:\n    pulumiConfig:\n"
                           "      ai-serving:costCenter: CC-9\n", "Pulumi ESC environments"),
    "imports": ("imports: [platform/team-a]\n", "ESC imports go under `environment:`"),
    "unknown": ("settings:\n  spot: true\n", "a stack file holds only `config:`"),
}


@pytest.mark.parametrize("case", list(TOP_LEVEL_KEYS))
def test_a_top_level_key_other_than_config_is_refused_on_its_line(tmp_path, capsys, case):
    """The stack file's other keys validated: `environment:` would bring config the offline plan never sees,
    `encryptionsalt:` fails the deploy for want of a passphrase, `secretsprovider:` overrides the state's."""
    appended, says = TOP_LEVEL_KEYS[case]
    key = appended.split(":")[0]
    text = (ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_text(encoding="utf-8")
    line = len(text.splitlines()) + 1
    path = _write(tmp_path / "s", "team-a-dev", text + appended)
    where = f"{path}:{line}: {key if case != 'unknown' else '(top level)'}: top-level key {key!r}"
    for command in (["validate", "team-a-dev"], ["plan", "team-a-dev", "--no-policy", "--out", tmp_path / "out"]):
        capsys.readouterr()
        assert main([*map(str, command), "--project", str(ROOT), "--stack-dir", str(path.parent)]) == 2, command
        err = capsys.readouterr().err
        assert where in " ".join(err.split()) and says in " ".join(err.split()) and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
    # The file without it is fine: `config:` alone is what a stack file holds.
    _write(tmp_path / "s", "team-a-dev", text)
    assert main(["validate", "team-a-dev", "--project", str(ROOT), "--stack-dir", str(path.parent)]) == 0


def test_plan_all_refuses_a_stack_file_with_an_encryption_salt(tmp_path):
    text = (ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_text(encoding="utf-8")
    path = _write(tmp_path / "s", "team-a-dev", text + TOP_LEVEL_KEYS["encryptionsalt"][0])
    code, out = _run_cli("plan", "--all", "--no-policy", "--workers", "1", "--stack-dir", path.parent)
    assert code == 2 and "Traceback" not in out, out[-2000:]
    assert "encryptionsalt: top-level key 'encryptionsalt'" in " ".join(out.split()), out[-2000:]


def test_values_in_the_terminal_tables_are_text_not_rich_markup(tmp_path):
    """A cost center "[reverse]CC-1042[@click=app.bell]" was printed as styled "CC-1042" by plan --all."""
    from rich.console import Console

    from ai_serving.reports.terminal import counts_table, plan_tree

    text = (ROOT / "stacks" / "Pulumi.team-a-dev.yaml").read_text(encoding="utf-8")
    marked = "[reverse]CC-1042[@click=app.bell]"
    path = _write(tmp_path / "s", "team-a-dev", text.replace("costCenter: CC-1042", f'costCenter: "{marked}"'))

    argv = [sys.executable, "-m", "ai_serving.cli", "plan", "--all", "--no-policy", "--workers", "1",
            "--stack-dir", str(path.parent)]
    wide = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "200"})
    assert wide.returncode == 0, (wide.stdout + wide.stderr)[-2000:]
    assert marked in wide.stdout
    # In a CI log's 80 columns the name is folded onto two lines, never cut short with an ellipsis.
    code, out = _run_cli("plan", "--all", "--no-policy", "--workers", "1", "--stack-dir", path.parent)
    assert code == 0, out[-2000:]
    rows = out[out.index("│ cost center"):].splitlines()[:2]
    assert "".join(line.split("│")[2].strip() for line in rows) == marked, rows

    plan = {"project": "[bold]p", "stack": "s[/]", "resources": [
        {"urn": "u", "type": "[red]t", "name": "[blink]n", "custom": True, "parent": None, "protect": False}]}
    console = Console(record=True, width=200)
    console.print(plan_tree(plan), counts_table(plan))
    shown_text = console.export_text()
    assert "[bold]p" in shown_text and "[red]t" in shown_text and "[blink]n" in shown_text

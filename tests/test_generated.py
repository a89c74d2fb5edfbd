"""Every generated file is what ``make generate`` writes now, and the stack schema accepts real stacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from ai_serving import generate

from .cli_helpers import ROOT, cli
from .stackdata import base_config


@pytest.mark.parametrize("rel", list(generate.GENERATED))
def test_generated_file_is_fresh(rel):
    committed = (ROOT / rel).read_text(encoding="utf-8")
    assert committed == generate.GENERATED[rel](), f"{rel} is stale: run `make generate`"


def test_check_mode_names_a_stale_file(tmp_path):
    """``--check`` (what a pre-commit hook or CI step would run) fails on a changed copy."""
    for rel in generate.GENERATED:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((ROOT / rel).read_text(encoding="utf-8"), encoding="utf-8")
    assert generate.stale(tmp_path) == []
    catalogue = tmp_path / "policies/guardrails/catalogue.json"
    catalogue.write_text(catalogue.read_text(encoding="utf-8").replace("Standard_NC4as_T4_v3", "Standard_X"))
    assert generate.stale(tmp_path) == ["policies/guardrails/catalogue.json"]
    out = subprocess.run([sys.executable, "-m", "ai_serving.generate", "--check"], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0, out.stdout


class _YamlAsEditorsRead(yaml.SafeLoader):
    """YAML as yaml-language-server reads it: an unquoted date stays a string."""


_YamlAsEditorsRead.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _schema():
    schema = yaml.safe_load((ROOT / "stacks" / generate.SCHEMA_FILE).read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)  # the draft editors' YAML language server reads
    return schema


def _stack(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlAsEditorsRead)  # noqa: S506 - a SafeLoader


@pytest.mark.parametrize("path", sorted((ROOT / "stacks").glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_every_example_stack_matches_the_schema(path):
    jsonschema.Draft7Validator(_schema()).validate(_stack(path))


def test_schema_rejects_what_validate_rejects():
    validator = jsonschema.Draft7Validator(_schema())
    good = {"config": base_config("dev")}
    validator.validate(good)
    for key, value in (("ai-serving:gpuPoool", {}), ("ai-serving:environment", "staging"),
                       ("ai-serving:owners", "not-a-list")):
        bad = {"config": {**good["config"], key: value}}
        assert list(validator.iter_errors(bad)), key
    # Beside `config:`, nothing (ai_serving/engine/project.py, STACK_FILE_KEYS).
    for key in ("encryptionsalt", "secretsprovider", "environment"):
        assert list(validator.iter_errors({**good, key: "x"})), key
    # Other namespaces pass through, as Pulumi allows.
    validator.validate({"config": {**good["config"], "azure-native:subscriptionId": "x"}})


def test_new_team_writes_the_schema_line_and_a_schema_valid_file(tmp_path):
    assert cli("new-team", "team-s", "--env", "dev", "--project", ROOT, "--stack-dir", tmp_path) == 0
    path = tmp_path / "Pulumi.team-s-dev.yaml"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema=./{generate.SCHEMA_FILE}"
    jsonschema.Draft7Validator(_schema()).validate(_stack(path))

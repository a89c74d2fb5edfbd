"""The guardrails registry: full catalogue coverage, complete metadata, consistent defaults, docs."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
import yaml
from guardrails import Rule, all_rules, lookup, non_waivable
from guardrails.config import catalogue
from guardrails.model import CATEGORY_LEVEL, SEVERITIES
from guardrails.rules import MODULES

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
STACK_IDS = {"NET-05", "NET-06", "NET-07", "MON-01", "MON-02", "GEN-03", "VMSS-09", "COST-01", "COST-02", "COST-03",
             "COST-04"}

def test_stack_rules_are_the_catalogue_stack_rows() -> None:
    assert {r.id for r in all_rules() if r.scope == "stack"} == STACK_IDS


def test_only_public_ai_and_internet_management_ports_are_not_waivable() -> None:
    assert non_waivable() == {"CS-01", "CS-02", "CS-03", "NET-01"}


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_rule_metadata_is_complete(rule: Rule) -> None:
    assert re.fullmatch(rf"{rule.id.lower()}-[a-z0-9-]+", rule.policy_name)
    assert re.fullmatch(r"[a-zA-Z0-9\-_.]{1,100}", rule.policy_name)  # what Pulumi accepts
    assert rule.title and rule.description.endswith(".")
    assert rule.severity in SEVERITIES
    # The prod retirement rule blocks although it is hygiene (a retired model breaks prod outright); the
    # prod budget rules block although they are cost (a prod stack over or without its budget must not
    # deploy).
    assert rule.level == LEVEL_EXCEPTIONS.get(rule.id, CATEGORY_LEVEL[rule.category])
    assert len(rule.remediation) > 20
    assert rule.link.startswith("https://")
    # GEN-04 alone judges every type: what no other rule judges is exactly what it is for.
    assert rule.resource_types and all(
        re.fullmatch(r"azure-native:[\w*]+(:\w+)?|pulumi:providers:[\w-]+", t) for t in rule.resource_types
    ) or (rule.id == "GEN-04" and rule.resource_types == ("*",))


LEVEL_EXCEPTIONS = {
    "DEP-05": "mandatory", "COST-01": "mandatory", "COST-03": "mandatory",
}


def test_security_is_mandatory_hygiene_and_cost_advisory() -> None:
    levels = {(r.category, r.level) for r in all_rules() if r.enforcement is None}
    assert {r.id: r.enforcement for r in all_rules() if r.enforcement is not None} == LEVEL_EXCEPTIONS
    assert levels == {("security", "mandatory"), ("hygiene", "advisory"), ("cost", "advisory")}


@pytest.mark.parametrize("rule", [r for r in all_rules() if r.config], ids=lambda r: r.id)
def test_config_schemas_have_valid_defaults(rule: Rule) -> None:
    for key, schema in rule.config.items():
        assert {"type", "default", "description"} <= set(schema), key
        jsonschema.validate(schema["default"], schema)
    jsonschema.Draft7Validator.check_schema(rule.config_schema)
    jsonschema.validate(rule.defaults(), rule.config_schema)


def test_every_rule_object_in_the_rule_modules_is_registered() -> None:
    defined = {v.id for m in MODULES for v in vars(m).values() if isinstance(v, Rule)}
    assert defined == {r.id for r in all_rules()}


def test_lookup_by_id_or_policy_name() -> None:
    assert lookup("cs-01") is lookup("cs-01-ai-account-public-network-disabled")
    with pytest.raises(KeyError, match="no guardrail 'XX-01'"):
        lookup("XX-01")


# The pack is published separately: it carries copies of the project's catalogues, checked here.


def test_gpu_sku_allowlist_equals_the_gpu_catalogue() -> None:
    from infra import catalogues

    assert catalogue()["gpuSkus"] == list(catalogues.gpu_skus())
    assert lookup("VMSS-01").defaults()["gpuSkuAllowlist"] == list(catalogues.gpu_skus())


def test_allowed_models_equal_the_openai_catalogue() -> None:
    from infra import catalogues

    models = {name: list(entry["versions"]) for name, entry in catalogues.openai_models().items()}
    assert lookup("DEP-01").defaults()["allowedModels"] == models


def test_allowed_deployment_types_are_those_the_catalogue_offers() -> None:
    from infra.catalogues import lifecycle

    offered = {sku for mv in lifecycle.versions().values() for types in mv.offers.values() for sku in types}
    assert set(lookup("DEP-03").defaults()["allowedDeploymentTypes"]) == offered
    assert set(lifecycle.types_covered()) == offered


def test_allowed_regions_are_the_regions_the_project_supports() -> None:
    from infra.config.regions import REGION_SHORT_CODES

    assert lookup("GEN-02").defaults()["allowedRegions"] == list(REGION_SHORT_CODES)


def test_required_tags_are_the_tags_the_project_sets() -> None:
    from infra.config.profiles import PROFILES
    from infra.naming import tags

    cfg = SimpleNamespace(tags={}, team="team-t", environment="dev", cost_center="CC-1")
    assert set(lookup("GEN-01").defaults()["requiredTags"]) == set(tags(cfg))
    pattern = lookup("GEN-01").defaults()["tagPatterns"]["environment"]
    assert all(re.fullmatch(pattern, env) for env in PROFILES)


def test_the_project_grants_no_denied_role() -> None:
    from infra.components.roles import BUILTIN_ROLES

    assert not set(BUILTIN_ROLES.values()) & set(lookup("RBAC-02").defaults()["deniedRoles"])


def test_the_projects_content_filter_names_are_allowed() -> None:
    from fnmatch import fnmatchcase

    from infra.naming import Naming

    name = Naming("team-t", "prod", "swedencentral").name("content_filter", "strict")
    assert any(fnmatchcase(name, p) for p in lookup("DEP-02").defaults()["allowedRaiPolicies"])


# The pack's files.


def test_policy_pack_project_file() -> None:
    project = yaml.safe_load((POLICIES / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "../.venv"}}
    assert project["version"] and project["description"]


def test_pack_requirements_match_the_project() -> None:
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    # The pack's own imports: the policy SDK, and the Public Suffix List for CS-06.
    wanted = sorted(d for d in deps if re.match(r"(pulumi(-policy)?|publicsuffixlist)[<>=]", d))
    lines = sorted(
        line.strip() for line in (POLICIES / "requirements.txt").read_text().splitlines() if line.strip()
    )
    assert lines == wanted


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_pack_never_imports_the_project() -> None:
    for path in POLICIES.rglob("*.py"):
        assert not _imports(path) & {"infra", "ai_serving", "tests"}, path


def test_pulumi_policy_is_imported_only_where_the_pack_is_built() -> None:
    users = {
        p.relative_to(POLICIES).as_posix() for p in POLICIES.rglob("*.py") if "pulumi_policy" in _imports(p)
    }
    assert users == {"__main__.py", "guardrails/pack.py"}


def test_main_only_builds_the_pack() -> None:
    tree = ast.parse((POLICIES / "__main__.py").read_text(encoding="utf-8"))
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    imports = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
    rest = [n for n in body if n not in imports]
    assert {n.module for n in imports if isinstance(n, ast.ImportFrom)} <= {
        "guardrails",
        "guardrails.pack",
        "pulumi_policy",
    }
    assert len(rest) == 1 and isinstance(rest[0], ast.Expr) and isinstance(rest[0].value, ast.Call)
    assert rest[0].value.func.id == "PolicyPack"  # type: ignore[attr-defined]


def test_fixtures_are_what_the_sdk_emits() -> None:
    """The baselines are regenerated from typed azure-native Args under mocks (own process)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "fixtures" / "policy" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_unknown_sentinels_are_the_sdks() -> None:
    from guardrails.values import UNKNOWN_VALUES
    from pulumi_policy import proxy

    assert {
        v for k, v in vars(proxy).items() if k.startswith("UNKNOWN_") and k.endswith("_VALUE")
    } == UNKNOWN_VALUES


def test_proxied_props_become_plain_data_without_tripping_on_unknowns() -> None:
    from guardrails.values import UNKNOWN, to_plain
    from pulumi_policy.proxy import unknown_checking_proxy

    raw = {"a": UNKNOWN, "b": [1, UNKNOWN, {"c": UNKNOWN}], "d": {"e": True}}
    assert to_plain(unknown_checking_proxy(raw)) == raw


@pytest.mark.parametrize(
    ("token", "canonical"),
    [
        ("azure-native:network:Subnet", "azure-native:network:Subnet"),
        ("azure-native:network/v20240301:Subnet", "azure-native:network:Subnet"),
        ("azure-native:insights:DiagnosticSetting", "azure-native:monitor:DiagnosticSetting"),
        ("pulumi:providers:azure-native", "pulumi:providers:azure-native"),
    ],
)
def test_type_tokens_are_canonicalised(token: str, canonical: str) -> None:
    from guardrails.values import canonical_type

    assert canonical_type(token) == canonical
    assert lookup("GEN-02").applies_to(token)


def test_a_rules_types_are_matched_as_fnmatch_does_with_patterns_compiled_when_it_is_defined(monkeypatch) -> None:
    """A pack process forked from plan --all's warm zygote inherits the compiled patterns: nothing is compiled
    per stack. The match is fnmatchcase's, per pattern; a rule with no types judges none."""
    import dataclasses
    import fnmatch

    rule = dataclasses.replace(lookup("NET-05"), resource_types=("azure-native:network:Private*", "x:y:[ab]c"),
                               scope="stack")
    empty = dataclasses.replace(rule, resource_types=())

    def no_compiling(*_: object) -> None:
        raise AssertionError("a pattern compiled at use")

    monkeypatch.setattr(fnmatch, "translate", no_compiling)
    monkeypatch.setattr(fnmatch, "fnmatchcase", no_compiling)
    assert rule.applies_to("azure-native:network:PrivateEndpoint")
    assert rule.applies_to("x:y:bc") and not rule.applies_to("x:y:cc")
    assert not rule.applies_to("azure-native:network:Subnet") and not rule.applies_to("a\nazure-native:network:Private")
    assert not empty.applies_to("azure-native:network:PrivateEndpoint") and not empty.applies_to("")


def test_stack_rules_judge_their_targets() -> None:
    assert lookup("NET-06").applies_to("azure-native:cognitiveservices:Account")
    assert not lookup("NET-06").applies_to("azure-native:network:PrivateEndpoint")
    assert lookup("NET-05").applies_to("azure-native:network:PrivateEndpoint")


def test_a_rule_with_an_unknown_category_is_refused_where_it_is_defined():
    """A category outside the three raised a KeyError traceback from the first enforcement-level lookup
    (make generate, or the pack at start-up), far from the rule that had it."""
    from guardrails.define import rule

    with pytest.raises(ValueError, match=r"MON-99: category 'reliability' is not one of security, hygiene, cost"):
        rule("MON-99", "mon-99-example", title="t", description="d", severity="low", category="reliability",
             remediation="r", link="https://example.com", anchors=(), types=("azure-native:monitor:ActionGroup",))

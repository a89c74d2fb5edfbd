"""The witness's differential check and its allow-list, on hand-made engine and plan documents."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ai_serving.verdict import WAIVER_BOOKKEEPING
from ai_serving.wire import SECRET_SIG, SECRET_VALUE_SIG
from witness import compare
from witness.run import example_stacks, strict_policy_config

ROOT = Path(__file__).resolve().parent.parent
STACK = "urn:pulumi:s::ai-serving::pulumi:pulumi:Stack::ai-serving-s"
PROV = "urn:pulumi:s::ai-serving::pulumi:providers:azure-native::default_3_29_0"
RG = "urn:pulumi:s::ai-serving::azure-native:resources:ResourceGroup::rg"
VAULT = "urn:pulumi:s::ai-serving::azure-native:keyvault:Vault::kv"
SECRET = "urn:pulumi:s::ai-serving::azure-native:keyvault:Secret::token"


def _plan() -> dict:
    return {"resources": [
        {"urn": STACK, "type": "pulumi:pulumi:Stack", "parent": None, "dependencies": [], "protect": False,
         "provider": "", "inputs": {}},
        {"urn": PROV, "type": "pulumi:providers:azure-native", "parent": None, "dependencies": [],
         "protect": False, "provider": "", "inputs": {"location": "westeurope", "version": "3.29.0"}},
        {"urn": RG, "type": "azure-native:resources:ResourceGroup", "parent": STACK, "dependencies": [],
         "protect": False, "provider": f"{PROV}::offline-id", "inputs": {"location": "westeurope"}},
        {"urn": VAULT, "type": "azure-native:keyvault:Vault", "parent": STACK, "dependencies": [RG],
         "protect": True, "provider": f"{PROV}::offline-id",
         "inputs": {"properties": {"softDeleteRetentionInDays": 90.0}}},
        {"urn": SECRET, "type": "azure-native:keyvault:Secret", "parent": STACK, "dependencies": [VAULT],
         "protect": False, "provider": f"{PROV}::offline-id", "inputs": {"properties": "[secret]"}},
    ]}


def _export(plan: dict) -> dict:
    """What `pulumi stack export` says when the engine agrees with ``plan`` (its own ids and secret form)."""
    resources = []
    for r in copy.deepcopy(plan["resources"]):
        r["provider"] = r["provider"].replace("offline-id", "5e1f0000-engine-random") if r["provider"] else ""
        if r["urn"] == SECRET:
            r["inputs"] = {"properties": {SECRET_SIG: SECRET_VALUE_SIG, "ciphertext": "v1:abc"}}
        if r["urn"] == VAULT:
            r["inputs"]["properties"]["softDeleteRetentionInDays"] = 90
        if r["urn"] == PROV:
            r["inputs"]["__internal"] = {}
        r.pop("parent") if r["parent"] is None else None
        resources.append(r)
    return {"version": 3, "deployment": {"resources": resources}}


def _kinds(diffs: list[compare.Difference]) -> list[tuple[str, str, str]]:
    return [(d.kind, d.urn, d.path) for d in diffs]


def test_agreeing_documents_differ_only_by_the_engines_internal_provider_key() -> None:
    plan = _plan()
    diffs = compare.compare_registrations(_export(plan), plan)
    assert _kinds(diffs) == [("input", PROV, "__internal")]
    bad, ok = compare.split(diffs, compare.load_allowlist(), {PROV: "pulumi:providers:azure-native"})
    assert bad == [] and len(ok) == 1


@pytest.mark.parametrize(("field", "value", "kind"), [
    ("parent", RG, "parent"),
    ("dependencies", [], "dependencies"),
    ("protect", False, "protect"),
    ("provider", "urn:pulumi:s::ai-serving::pulumi:providers:azure-native::explicit::id", "provider"),
    ("type", "azure-native:keyvault:ManagedHsm", "type"),
])
def test_each_registration_field_is_compared(field: str, value: object, kind: str) -> None:
    plan = _plan()
    export = _export(plan)
    next(r for r in export["deployment"]["resources"] if r["urn"] == VAULT)[field] = value
    assert (kind, VAULT, "") in _kinds(compare.compare_registrations(export, plan))


def test_input_differences_name_their_path_and_secrets_compare_masked() -> None:
    plan = _plan()
    export = _export(plan)
    vault = next(r for r in export["deployment"]["resources"] if r["urn"] == VAULT)
    vault["inputs"]["properties"]["enablePurgeProtection"] = True
    vault["inputs"]["properties"]["softDeleteRetentionInDays"] = 7
    diffs = [d for d in compare.compare_registrations(export, plan) if d.urn == VAULT]
    assert [(d.path, d.engine, d.plan) for d in diffs] == [
        ("properties.enablePurgeProtection", True, None), ("properties.softDeleteRetentionInDays", 7, 90)]


def test_resources_on_one_side_only() -> None:
    plan = _plan()
    export = _export(plan)
    export["deployment"]["resources"] = [r for r in export["deployment"]["resources"] if r["urn"] != SECRET]
    export["deployment"]["resources"].append({"urn": RG + "2", "type": "azure-native:resources:ResourceGroup"})
    kinds = _kinds(compare.compare_registrations(export, plan))
    assert ("missing-in-engine", SECRET, "") in kinds and ("missing-in-plan", RG + "2", "") in kinds


def _event(policy: str, urn: str, level: str, message: str = "violation") -> dict:
    return {"policyEvent": {"policyName": policy, "resourceUrn": urn, "enforcementLevel": level,
                            "message": message}}


def _policy_plan(violations: list[tuple[str, str, str]], suppressed: list[tuple[str, str, str]] = ()) -> dict:
    return {"resources": _plan()["resources"], "policy": {
        "violations": [{"policy": p, "urn": u, "level": lv, "message": ""} for p, u, lv in violations],
        "suppressed": [{"policy": p, "urn": u, "level": lv, "reason": "r", "expires": "2027-01-01"}
                       for p, u, lv in suppressed]}}


def test_same_violations_at_the_same_levels_agree() -> None:
    events = [_event("kv-01", VAULT, "mandatory"), _event("gen-01", RG, "advisory"), {"diagnosticEvent": {}}]
    plan = _policy_plan([("kv-01", VAULT, "mandatory"), ("waiver-expired", "", "mandatory")],
                        suppressed=[("gen-01", RG, "advisory")])  # a waiver is the tooling's layer only
    assert compare.compare_verdicts(events, plan) == []


@pytest.mark.parametrize("bookkeeping", sorted(WAIVER_BOOKKEEPING))
def test_every_waiver_bookkeeping_finding_is_the_tooling_s_own(bookkeeping: str) -> None:
    """Found by review: waiver-too-long, -too-broad and -outlives-model came out as unexplained differences."""
    plan = _policy_plan([("kv-01", VAULT, "mandatory"), (bookkeeping, "", "mandatory")])
    assert compare.compare_verdicts([_event("kv-01", VAULT, "mandatory")], plan) == []


def test_a_level_or_a_violation_that_differs_is_reported_both_ways() -> None:
    events = [_event("kv-01", VAULT, "advisory"), _event("net-01", RG, "mandatory")]
    plan = _policy_plan([("kv-01", VAULT, "mandatory")])
    assert set(_kinds(compare.compare_verdicts(events, plan))) == {
        ("policy", RG, "net-01/mandatory"), ("policy", VAULT, "kv-01/advisory"), ("policy", VAULT, "kv-01/mandatory")}


def test_a_policy_that_could_not_run_in_preview_is_its_own_kind_and_allowed_only_where_listed() -> None:
    msg = "can't run policy 'mon-01-ai-account-diagnostics' during preview: string value at .x can't be known"
    stack = "urn:pulumi:s::ai-serving::pulumi:pulumi:Stack::ai-serving-s"
    diffs = compare.compare_verdicts([_event("mon-01-ai-account-diagnostics", stack, "advisory", msg)],
                                     _policy_plan([]))
    assert _kinds(diffs) == [("policy-not-run", stack, "mon-01-ai-account-diagnostics")]
    allow = compare.load_allowlist()
    assert compare.split(diffs, allow, {stack: "pulumi:pulumi:Stack"})[0] == []
    acct = "urn:pulumi:s::ai-serving::azure-native:cognitiveservices:Account::oai"
    # Fixed in the pack or the program: none may go back to "can't run" unnoticed.
    dep = "urn:pulumi:s::ai-serving::azure-native:cognitiveservices:Deployment::chat"
    vmss = "urn:pulumi:s::ai-serving::azure-native:compute:VirtualMachineScaleSet::pool"
    for policy, urn, token in (("net-03-subnet-has-nsg", RG, "azure-native:network:Subnet"),
                               ("dep-02-deployment-content-filter", dep, "azure-native:cognitiveservices:Deployment"),
                               ("cs-06-ai-account-outbound-restricted", acct, "azure-native:cognitiveservices:Account"),
                               ("cs-05-ai-account-customer-managed-key", acct, "azure-native:cognitiveservices:Account"),
                               ("vmss-05-no-secrets-in-settings", vmss, "azure-native:compute:VirtualMachineScaleSet"),
                               ("vmss-11-prod-weights-from-private-storage", vmss,
                                "azure-native:compute:VirtualMachineScaleSet")):
        found = compare.compare_verdicts([_event(policy, urn, "mandatory", msg)], _policy_plan([]))
        assert compare.split(found, allow, {urn: token})[0] == found, policy


def test_a_finding_of_a_policy_the_engine_could_not_run_is_only_the_not_run_difference() -> None:
    # First preview of team-a-prod: VMSS-10 is waived in plan.json, the engine cannot judge customData yet.
    msg = "can't run policy 'vmss-10-prod-image-by-digest' during preview: string value at .x can't be known"
    events = [_event("vmss-10-prod-image-by-digest", VAULT, "advisory", msg)]
    plan = _policy_plan([], suppressed=[("vmss-10-prod-image-by-digest", VAULT, "advisory")])
    assert _kinds(compare.compare_verdicts(events, plan)) == [
        ("policy-not-run", VAULT, "vmss-10-prod-image-by-digest")]
    # Where the engine did run it, a finding it lacks is still a difference.
    assert ("policy", VAULT, "vmss-10-prod-image-by-digest/advisory") in _kinds(compare.compare_verdicts([], plan))


def test_the_allowlist_entries_are_well_formed() -> None:
    kinds = {"missing-in-engine", "missing-in-plan", "type", "parent", "dependencies", "protect", "provider",
             "input", "policy", "policy-not-run"}
    entries = compare.load_allowlist()
    assert entries and all(e.kind in kinds and len(e.reason) > 40 for e in entries)
    assert not any(e.kind in {"policy", "protect", "dependencies", "parent"} for e in entries)


def test_an_entry_without_a_reason_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "allow.yaml"
    bad.write_text("- kind: input\n  path: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="reason"):
        compare.load_allowlist(bad)


def test_strict_config_adds_violations_and_leaves_the_project_config_alone() -> None:
    base = json.loads((ROOT / "policies" / "policy-config.json").read_text(encoding="utf-8"))
    before = copy.deepcopy(base)
    strict = strict_policy_config(base)
    assert base == before
    assert strict["gen-02-allowed-regions"]["enforcementLevel"] == "mandatory"
    assert "witness-required-tag" in strict["gen-01-required-tags"]["requiredTags"]
    used = {line.split(":", 1)[1].strip() for p in (ROOT / "stacks").glob("Pulumi.*.yaml")
            for line in p.read_text().splitlines() if line.strip().startswith("azure-native:location")}
    assert not used & set(strict["gen-02-allowed-regions"]["allowedRegions"])


def test_the_witness_covers_every_example_stack() -> None:
    on_disk = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    assert example_stacks() == on_disk and on_disk


@pytest.mark.parametrize(("ci", "code", "says"), [("true", 2, "CI=true requires the witness"),
                                                    ("", 0, "SKIPPED")])
def test_make_test_without_go(ci: str, code: int, says: str) -> None:
    if shutil.which("go", path="/usr/bin:/bin"):
        pytest.skip("go is installed in /usr/bin here: a PATH without Go cannot be made")
    env = {"PATH": "/usr/bin:/bin", "CI": ci, "HOME": os.environ.get("HOME", "/tmp")}
    proc = subprocess.run(["make", "--no-print-directory", "witness-or-skip"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == code and says in proc.stderr


def _preview(plan: dict) -> dict:
    """`pulumi preview --json` of a new stack agreeing with ``plan``: a vault whose resource group is not known."""
    steps = []
    for r in _export(plan)["deployment"]["resources"]:
        if r["type"].startswith("pulumi:providers:"):
            continue  # default providers are not steps in the preview's JSON
        if r["urn"] == VAULT:
            r["inputs"]["resourceGroupName"] = compare.UNKNOWN_VALUE
        steps.append({"op": "create", "urn": r["urn"], "newState": r})
    return {"steps": steps}


def test_a_first_preview_agrees_where_it_knows_and_unknowns_are_no_difference() -> None:
    plan = _plan()
    next(r for r in plan["resources"] if r["urn"] == VAULT)["inputs"]["resourceGroupName"] = "rg-s"
    assert compare.compare_preview(_preview(plan), plan) == []


def test_a_first_preview_reports_a_known_input_that_differs_and_a_step_that_is_not_a_create() -> None:
    plan = _plan()
    preview = _preview(plan)
    preview["steps"][1]["newState"]["inputs"]["location"] = "northeurope"
    preview["steps"][1]["op"] = "same"
    kinds = _kinds(compare.compare_preview(preview, plan))
    assert ("input", RG, "location") in kinds and ("preview-op", RG, "") in kinds


def test_the_driver_refuses_an_unknown_stack_and_a_missing_engine(tmp_path: Path, capsys) -> None:
    from witness.run import main

    engine = tmp_path / "engine"
    engine.mkdir()
    assert main(["--engine", str(engine), "--out", str(tmp_path / "out")]) == 3
    assert "run `make engine` first" in capsys.readouterr().err
    for name in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec"):
        (engine / name).write_text("")
    assert main(["--engine", str(engine), "--stack", "team-z-dev", "--out", str(tmp_path / "out")]) == 2
    assert "no stack file stacks/Pulumi.team-z-dev.yaml" in capsys.readouterr().err


def test_stack_outputs_are_compared() -> None:
    plan = {**_plan(), "outputs": {"keyVaultUri": "https://kv.vault.azure.net/", "token": "[secret]"}}
    export = _export(plan)
    root = next(r for r in export["deployment"]["resources"] if r["urn"] == STACK)
    root["outputs"] = {"keyVaultUri": "https://kv.vault.azure.net/",
                       "token": {SECRET_SIG: SECRET_VALUE_SIG, "ciphertext": "v1:xyz"}}
    assert [d for d in compare.compare_registrations(export, plan) if d.kind == "output"] == []
    root["outputs"]["keyVaultUri"] = "https://other.vault.azure.net/"
    assert _kinds([d for d in compare.compare_registrations(export, plan) if d.kind == "output"]) == [
        ("output", STACK, "keyVaultUri")]


def test_the_witness_writes_outside_the_plans_output_folder():
    """`make test` ran the witness into out/witness, and `make plan-all` then refused out/ (it replaces the folder
    whole, so it refuses one holding what no plan wrote): the witness's logs go under build/ instead."""
    import re

    from witness.run import DEFAULT_OUT, ROOT

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    plans = ROOT / re.search(r"^OUT\s*\?=\s*(\S+)", makefile, re.M).group(1)
    assert not DEFAULT_OUT.resolve().is_relative_to(plans.resolve()), (DEFAULT_OUT, plans)
    assert subprocess.run(["git", "check-ignore", "-q", str(DEFAULT_OUT)], cwd=ROOT).returncode == 0

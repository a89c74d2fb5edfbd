"""compliance.csv / compliance.json: one row per (rule, resource) the pack judged, and one per stack rule that
judged the stack (``ai_serving.verdict._compliance``)."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from ai_serving.engine.analyzer import Analysis, Diagnostic, PolicyMeta
from ai_serving.verdict import decide

from .cli_helpers import cli

TODAY = date(2026, 12, 2)
STACK_URN = "urn:pulumi:team-t-prod::ai-serving::pulumi:pulumi:Stack::ai-serving-team-t-prod"
VAULT_URN = "urn:pulumi:team-t-prod::ai-serving::azure-native:keyvault:Vault::kv-team-t-prod"
RESOURCE_POLICY = "kv-01-vault-purge-protection"
STACK_POLICY = "net-07-data-service-private-endpoint"


def _meta(name: str, *, stack: bool, level: str = "mandatory") -> PolicyMeta:
    return PolicyMeta(name=name, description=name, level=level, severity=3, config_schema={}, required=[],
                      tags=(), remediation="", url="", stack_policy=stack)


def _rows(analysis: Analysis, *, stack_level: str = "mandatory") -> list[dict]:
    policies = {RESOURCE_POLICY: _meta(RESOURCE_POLICY, stack=False),
                STACK_POLICY: _meta(STACK_POLICY, stack=True, level=stack_level)}
    return decide("pack", policies, analysis, [], today=TODAY, stack="team-t-prod").compliance


def _analysis(**kw) -> Analysis:
    return Analysis(analyzed=[STACK_URN, VAULT_URN], stack_urn=STACK_URN,
                    not_applicable={STACK_URN: {RESOURCE_POLICY}}, **kw)


def _of(rows: list[dict], rule: str) -> list[tuple[str, str]]:
    return [(r["Resource ID"], r["Compliance"]) for r in rows if r["Rule ID"] == rule]


def test_a_stack_rule_without_findings_has_one_compliant_row_for_the_stack():
    rows = _rows(_analysis())
    assert _of(rows, "NET-07") == [(STACK_URN, "Compliant")]
    assert _of(rows, "KV-01") == [(VAULT_URN, "Compliant")]  # the resource rule: the resource it judged


def test_a_stack_rule_with_findings_has_their_rows_only():
    finding = Diagnostic(STACK_POLICY, "mandatory", VAULT_URN, "no private endpoint", "")
    rows = _rows(_analysis(diagnostics=[finding]))
    assert _of(rows, "NET-07") == [(VAULT_URN, "Non-Compliant")]


@pytest.mark.parametrize("case", ["not applicable", "disabled"])
def test_a_stack_rule_that_judged_nothing_has_no_row(case):
    if case == "not applicable":  # AnalyzeStack's not-applicable answers are filed under ""
        rows = _rows(Analysis(analyzed=[STACK_URN, VAULT_URN], stack_urn=STACK_URN,
                              not_applicable={"": {STACK_POLICY}}))
    else:
        rows = _rows(_analysis(), stack_level="disabled")
    assert _of(rows, "NET-07") == []


def test_the_plan_reports_stack_rules_in_compliance_csv(tmp_path):
    """End to end through the real pack: team-a-prod's production rule VMSS-09 (a stack rule) passes and has a
    Compliant row for the stack; team-a-dev has no production scale set, so VMSS-09 declares itself not
    applicable there and has no row."""
    for stack, expected in (("team-a-prod", [("ai-serving-team-a-prod", "Compliant")]), ("team-a-dev", [])):
        out = tmp_path / stack
        assert cli("plan", stack, "--out", str(out), "--quiet") == 0
        with (out / "compliance.csv").open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert [(r["Resource ID"].rsplit("::", 1)[-1], r["Compliance"]) for r in rows
                if r["Rule ID"] == "VMSS-09"] == expected
        stack_rows = [r for r in rows if "::pulumi:pulumi:Stack::" in r["Resource ID"]]
        assert stack_rows and all(r["Compliance"] == "Compliant" for r in stack_rows)

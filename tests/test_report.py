"""The pull-request report and its Mermaid architecture diagrams."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ai_serving.engine.project import read_stack_config
from ai_serving.engine.runner import run_program
from ai_serving.reports import diagram
from ai_serving.reports.diagram import architecture
from ai_serving.reports.markdown import GITHUB_COMMENT_LIMIT, render, write_report
from ai_serving.reports.planfile import plan_document

from .cli_helpers import cli, write_stack
from .stackdata import base_config

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-x/providers"


# --- a strict reader for the Mermaid subset the diagrams use ---------------------------------------

ID = r"[A-Za-z][A-Za-z0-9_]*"
LABEL = r'"(?P<label>(?:[^"\[\]{}()|<>]|<br/>)*)"'
BOX, DB, HEX = (LABEL.replace("label", name) for name in ("box", "db", "hex"))
NODE = re.compile(rf"^(?P<id>{ID})(?:\[{BOX}\]|\[\({DB}\)\]|\{{\{{{HEX}\}}\}})$")
SUBGRAPH = re.compile(rf"^subgraph (?P<id>{ID})\[{LABEL}\]$")
EDGE = re.compile(rf"^(?P<a>{ID}) (?P<arrow>-->|-\.->|~~~)(?:\|(?P<text>[^|\"\[\]]*)\|)? (?P<b>{ID})$")


@dataclass
class Mermaid:
    """A parsed flowchart: nodes and subgraphs with their enclosing subgraph, and edges."""

    nodes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    subgraphs: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)

    def label(self, nid: str) -> str:
        return (self.nodes.get(nid) or self.subgraphs[nid])[0]

    def find(self, text: str) -> str:
        """The one node or subgraph whose label contains ``text``."""
        hits = [i for i, (label, _) in {**self.nodes, **self.subgraphs}.items() if text in label]
        assert len(hits) == 1, (text, hits)
        return hits[0]

    def inside(self, nid: str) -> list[str]:
        """Enclosing subgraphs of ``nid``, innermost first."""
        chain, parent = [], (self.nodes.get(nid) or self.subgraphs[nid])[1]
        while parent is not None:
            chain.append(parent)
            parent = self.subgraphs[parent][1]
        return chain

    def has_edge(self, a: str, b: str, text: str | None = None) -> bool:
        return any(x == a and y == b and (text is None or text in t) for x, t, y in self.edges)


def parse_mermaid(text: str) -> Mermaid:
    """Parse ``text``, failing on anything outside the subset (bad ids, stray quotes or brackets)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    assert lines[0] == "flowchart TB"  # one per view; a view's width is checked in a browser
    m = Mermaid()
    stack: list[str] = []
    for line in lines[1:]:
        if line == "end":
            assert stack, "unbalanced `end`"
            stack.pop()
        elif line.startswith("direction "):
            assert line in ("direction TB", "direction LR")
        elif line.startswith("classDef ") or line.startswith("class "):
            assert re.match(rf"^(classDef {ID} [a-z-]+: [0-9 ]+|class {ID}(,{ID})* {ID})$", line), line
        elif (sg := SUBGRAPH.match(line)) is not None:
            assert sg["id"] not in m.nodes and sg["id"] not in m.subgraphs, f"duplicate id {sg['id']}"
            m.subgraphs[sg["id"]] = (sg["label"], stack[-1] if stack else None)
            stack.append(sg["id"])
        elif (node := NODE.match(line)) is not None:
            assert node["id"] not in m.nodes and node["id"] not in m.subgraphs, f"duplicate id {node['id']}"
            label = node["box"] or node["db"] or node["hex"]
            m.nodes[node["id"]] = (label, stack[-1] if stack else None)
        elif (edge := EDGE.match(line)) is not None:
            m.edges.append((edge["a"], edge["text"] or "", edge["b"]))
        else:
            raise AssertionError(f"not valid in the diagram subset: {line!r}")
    assert not stack, f"subgraphs left open: {stack}"
    known = m.nodes.keys() | m.subgraphs.keys()
    for a, _, b in m.edges:
        assert a in known and b in known, f"edge between undeclared ids: {a} -> {b}"
    assert "end" not in known
    return m


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, flags=re.S)


# --- plans of the real program ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def plans(project, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """plan.json documents for a prod stack with everything and a dev GPU-only stack."""
    stack_dir = tmp_path_factory.mktemp("stacks")
    configs = {"team-r-prod": base_config("prod", team="team-r"),
               "team-s-dev": base_config("dev", team="team-s", openai=False)}
    configs["team-r-prod"]["ai-serving:openai"]["deployments"].append({
        "name": "embed", "model": "text-embedding-3-small", "version": "1", "sku": "GlobalStandard",
        "capacity": 20})
    configs["team-s-dev"]["ai-serving:network"] = {"addressSpace": "10.51.0.0/24"}
    docs = {}
    for stack, config in configs.items():
        path = write_stack(stack_dir, stack, config)
        run = run_program(project, stack, read_stack_config(project, stack, path))
        assert run.exit_code == 0, run.errors
        docs[stack] = plan_document(run)
    return docs


def test_diagram_nests_network_subnets_and_their_resources(plans):
    m = parse_mermaid(architecture(plans["team-r-prod"], "network"))

    vnet = m.find("VNet 10.50.0.0/22")
    gpu, pe_subnet = m.find("gpu 10.50.0.0/23"), m.find("private-endpoints")
    assert m.inside(gpu) == [vnet] and m.inside(pe_subnet) == [vnet]
    assert "10.50.0.0/22" in m.label(vnet) and "10.50.0.0/23" in m.label(gpu)
    scale_set, balancer = m.find("GPU scale set"), m.find("Internal load balancer")
    assert m.inside(scale_set)[0] == gpu and m.inside(balancer)[0] == gpu
    assert "Standard_NC24ads_A100_v4" in m.label(scale_set) and "autoscale 1-3" in m.label(scale_set)
    assert m.has_edge(balancer, scale_set, "port")
    # Prod: the OpenAI account, the vault, the private registry and the weights account, listed in one
    # node (four boxes side by side made the view unreadable at comment width: tests/test_report_browser.py).
    endpoints = m.find("4 private endpoints")
    assert m.inside(endpoints)[0] == pe_subnet
    assert all(f"pep-{name}" in m.label(endpoints) for name in ("oai-team-r-prod-sdc", "kv-team-r-p", "crteamrp",
                                                                  "stteamrpweights")), m.label(endpoints)
    # Subnets one under the other (side by side the view is too wide for a PR comment).
    assert m.has_edge(gpu, pe_subnet) and ("~~~" in architecture(plans["team-r-prod"], "network"))


def test_group_titles_are_one_short_line_and_the_caption_names_them(plans):
    plan = plans["team-r-prod"]
    m = parse_mermaid(architecture(plan, "network"))

    assert m.subgraphs and all("<br/>" not in label and len(label) <= 24 for label, _ in m.subgraphs.values())
    caption = diagram.caption(plan, "network")
    assert "vnet-team-r-prod-sdc" in caption and "snet-team-r-prod-sdc-private-endpoints 10.50.2.0/24" in caption


def test_diagram_links_endpoints_dns_and_diagnostics_to_their_targets(plans):
    m = parse_mermaid(architecture(plans["team-r-prod"], "services"))

    vault, account, workspace = m.find("Key Vault"), m.find("Azure OpenAI account"), m.find("Log Analytics")
    pe_vault, pe_account = m.find("pep-kv-"), m.find("pep-oai-")
    assert m.has_edge(pe_vault, vault, "private link vault")
    assert m.has_edge(pe_account, account, "private link account")
    assert "in snet-team-r-prod-sdc-private-endpoints" in m.label(pe_vault)
    for source in (vault, account):
        assert m.has_edge(source, workspace, "diagnostics")
    assert not [label for label, _ in m.nodes.values() if "NAT gateway" in label]  # a network thing

    n = parse_mermaid(architecture(plans["team-r-prod"], "network"))
    zones = n.find("Private DNS zones")
    assert "privatelink.vaultcore.azure.net" in n.label(zones) and "privatelink.openai.azure.com" in n.label(zones)
    assert n.has_edge(n.find("pep-kv-"), zones, "dns") and n.has_edge(n.find("pep-oai-"), zones, "dns")
    # NSG diagnostics are drawn from the subnet the NSG protects.
    gpu = n.find("gpu 10.50.0.0/23")
    assert n.has_edge(gpu, n.find("Log Analytics"), "diagnostics")
    assert n.has_edge(n.find("VNet 10.50.0.0/22"), zones, "linked")
    assert n.has_edge(gpu, n.find("NAT gateway"), "egress")


def test_diagram_shows_the_openai_deployments_in_chain_order(plans):
    m = parse_mermaid(architecture(plans["team-r-prod"], "services"))

    account = m.find("Azure OpenAI account")
    chat, embed = m.find("Deployment chat"), m.find("Deployment embed")
    group = m.inside(account)[0]
    assert m.inside(chat)[0] == group and m.inside(embed)[0] == group
    assert "gpt-5.5 2026-04-24" in m.label(chat) and "GlobalStandard x 30" in m.label(chat)
    assert m.has_edge(account, chat) and m.has_edge(chat, embed, "then")


def test_diagram_of_a_gpu_only_stack_has_no_openai_and_marks_empty_subnets(plans):
    m = parse_mermaid(architecture(plans["team-s-dev"], "services"))
    assert not [n for n, (label, _) in m.nodes.items() if "OpenAI" in label]
    m = parse_mermaid(architecture(plans["team-s-dev"], "network"))
    gateway = next(sid for sid, (label, _) in m.subgraphs.items() if label.startswith("gateway "))
    assert [label for label, parent in m.nodes.values() if parent == gateway] == ["empty"]
    assert "autoscale 1-3" in m.label(m.find("GPU scale set"))


def _res(token: str, name: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:s::p::{token}::{name}", "type": token, "name": name, "custom": True,
            "parent": None, "dependencies": [], "protect": False, "inputs": inputs, **extra}


def test_diagram_sanitizes_hostile_names_and_draws_external_targets():
    hostile = 'x"] --> end; click x call("evil") [|<b>'
    net = f"{SUB}/Microsoft.Network"
    plan = {"resources": [
        _res("azure-native:network:VirtualNetwork", "vnet", {
            "virtualNetworkName": hostile, "addressSpace": {"addressPrefixes": ["10.1.0.0/24"]}}),
        _res("azure-native:network:Subnet", "snet", {
            "subnetName": "snet-pe", "virtualNetworkName": hostile, "addressPrefix": "10.1.0.0/26"}),
        _res("azure-native:network:PrivateEndpoint", "pe", {
            "privateEndpointName": "pe-blob", "subnet": {"id": f"{net}/virtualNetworks/v/subnets/snet-pe"},
            "privateLinkServiceConnections": [{
                "privateLinkServiceId": f"{SUB}/Microsoft.Storage/storageAccounts/shared",
                "groupIds": ["blob"]}]}),
        _res("azure-native:network:PrivateDnsZoneGroup", "pe-dns", {
            "privateEndpointName": "pe-blob",
            "privateDnsZoneConfigs": [
                {"privateDnsZoneId": f"{net}/privateDnsZones/privatelink.blob.core.windows.net"}]}),
        _res("azure-native:privatedns:PrivateZone", "own-zone", {  # same name, the stack's own group
            "privateZoneName": "privatelink.blob.core.windows.net", "resourceGroupName": "rg-team"}),
        _res("azure-native:network:VirtualNetworkPeering", "peer", {
            "virtualNetworkName": hostile, "remoteVirtualNetwork": {"id": f"{net}/virtualNetworks/hub"}}),
    ]}
    text = architecture(plan, "network")
    m = parse_mermaid(text)

    caption = diagram.caption(plan, "network")
    assert '"]' not in caption and "<b>" not in caption and "click" in caption
    pe = m.find("pe-blob")
    assert m.inside(pe)[0] == m.find("snet-pe")  # a nested real-Azure subnet id resolves too
    central = m.find("Central DNS zone")
    assert "privatelink.blob.core.windows.net" in m.label(central) and m.has_edge(pe, central, "dns")
    assert m.has_edge(m.find("VNet"), m.find("Hub network"), "peering")
    assert re.search(r"^  class ext\d+,ext\d+ external$", text, flags=re.M)
    services = architecture(plan, "services")
    s = parse_mermaid(services)
    assert s.has_edge(s.find("pe-blob"), s.find("shared"), "private link blob")
    assert re.search(r"^  class ext\d+ external$", services, flags=re.M)


@pytest.mark.parametrize("name, shown", [
    ("1. chat", "1 chat"), ("2) embed", "2 embed"), ("- item", "item"), ("--- rule", "rule"),
    ("**bold** _em_ `code` ~~del~~", "bold em code del"), ("# heading", "heading"), ("> quote", "quote"),
    ("<b>x</b>", "b x /b"), ("snet_gpu", "snet_gpu"), ("10.0.0.0/24", "10.0.0.0/24"),
])
def test_labels_hold_nothing_mermaid_reads_as_markdown_or_html(name, shown):
    # Mermaid 11.3 (GitHub's) draws "Unsupported markdown: list" for a label such as "1. chat".
    assert diagram.label_text(name) == shown


def test_hostile_deployment_names_reach_the_diagram_as_plain_words(plans):
    plan = copy.deepcopy(plans["team-r-prod"])
    dep = next(r for r in plan["resources"] if r["type"] == "azure-native:cognitiveservices:Deployment")
    dep["inputs"]["deploymentName"] = "1. chat"
    m = parse_mermaid(architecture(plan, "services"))
    label = m.label(m.find("Deployment 1. chat"))  # not at a line start: no list
    assert all(not re.match(r"\s*(\d+[.)]|[-*+>#])\s", line) for line in label.split("<br/>"))


# --- the report ----------------------------------------------------------------------------------------

PACK = {"name": "ai-serving-guardrails", "version": "0.1.0", "policies": {
    "kv-01-purge-protection": {"rule": "KV-01", "description": "purge protection", "level": "mandatory",
                               "remediation": "Set `properties.enablePurgeProtection: true`.",
                               "url": "https://example.com/kv-01"},
    "kv-05-secret-expiry": {"rule": "KV-05", "description": "expiry", "level": "advisory",
                            "remediation": "Set `properties.attributes.expires`.", "url": "https://example.com/kv-05"},
    "net-02-no-internet-inbound": {"rule": "NET-02", "description": "no inbound", "level": "mandatory",
                                   "remediation": "Name the allowed sources.", "url": "https://example.com/net-02"},
}}


def _urn(plan: dict[str, Any], token: str) -> str:
    return next(r["urn"] for r in plan["resources"] if r["type"] == token)


def _write_out(out: Path, plans: dict[str, dict[str, Any]], *, broken: str | None = None) -> dict[str, Any]:
    """Plan dirs with crafted policy sections, and a summary.json of the shape plan --all writes."""
    rows = []
    for stack, plan in plans.items():
        plan = {**copy.deepcopy(plan), "stack": stack}
        vault = _urn(plan, "azure-native:keyvault:Vault")
        nsg = _urn(plan, "azure-native:network:NetworkSecurityGroup")
        plan["policy"] = {"pack": PACK["name"], "violations": [
            {"policy": "kv-01-purge-protection", "level": "mandatory", "urn": vault,
             "message": f"{stack}: purge protection is off\nset it on"},
            {"policy": "kv-05-secret-expiry", "level": "advisory", "urn": vault,
             "message": "no | expiry <here>"},
            {"policy": "waiver-expired", "level": "mandatory", "urn": "",
             "message": "the waiver of X-01 expired"},
        ], "suppressed": [{"policy": "net-02-no-internet-inbound", "urn": nsg,
                           "reason": f"{stack} load balancer probe needs it", "expires": "2027-01-31"}]}
        (out / stack).mkdir(parents=True, exist_ok=True)
        (out / stack / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        rows.append({"stack": stack, "resources": len(plan["resources"]), "mandatory": 2, "advisory": 1,
                     "waivers": 1, "status": "policy-failed", "errors": []})
    if broken:
        rows.append({"stack": broken, "resources": 0, "mandatory": 0, "advisory": 0, "waivers": 0,
                     "status": "invalid-config",
                     "errors": [f"invalid stack config: Pulumi.{broken}.yaml\n  bad key"]})
    summary = {"generated": "2026-11-28", "pack": PACK, "stacks": rows, "crossTeam": [
        {"check": "openai-quota", "level": "mandatory", "stacks": list(plans),
         "message": "swedencentral gpt-4o GlobalStandard: 450K TPM requested, quota 300K"}]}
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return summary


def test_report_lists_every_stack_finding_waiver_and_diagram(plans, tmp_path):
    _write_out(tmp_path, plans, broken="team-z-dev")

    text = write_report(tmp_path).read_text(encoding="utf-8")

    assert text.startswith("## ❌ ai-serving plan: 3 of 3 stack(s) fail, 1 mandatory cross-team finding(s)")
    for stack in (*plans, "team-z-dev"):
        assert f"| `{stack}` |" in text  # summary table row
        assert f"<b>{stack}</b>" in text  # its section
    for stack in plans:
        assert f"{stack}: purge protection is off<br>set it on" in text
        assert f"{stack} load balancer probe needs it | 2027-01-31 |" in text
    # Mandatory findings twice (under "What fails" and in the stack's section), advisory ones once.
    assert text.count("`KV-01`") == 4 and text.count("`KV-05`") == 2 and text.count("`NET-02`") == 2
    assert "Set `properties.enablePurgeProtection: true`. [docs](https://example.com/kv-01)" in text
    assert "no \\| expiry &lt;here&gt;" in text  # a message cannot break the table or inject HTML
    assert "`waiver-expired` on (stack)" in text
    assert "450K TPM requested, quota 300K" in text and "`openai-quota`" in text
    assert "bad key" in text  # the broken stack's error
    blocks = mermaid_blocks(text)
    assert len(blocks) == 2 * len(plans)  # a network and a services view per stack
    for block in blocks:
        parse_mermaid(block)
    assert "| `keyvault:Vault` | 1 |" in text


def test_report_sections_put_failing_stacks_first_and_collapse_passing_ones(plans, tmp_path):
    _write_out(tmp_path, plans)
    summary = json.loads((tmp_path / "summary.json").read_text())
    summary["stacks"][0]["status"] = "ok"
    (tmp_path / "summary.json").write_text(json.dumps(summary))

    text, full = render(tmp_path)

    ok_stack, failing = summary["stacks"][0]["stack"], summary["stacks"][1]["stack"]
    assert full is None
    assert text.index(f"<b>{failing}</b>") < text.index(f"<b>{ok_stack}</b>")
    assert f"<details open><summary>❌ <b>{failing}</b>" in text
    assert f"<details><summary>✅ <b>{ok_stack}</b>" in text


def test_report_ignores_plan_files_left_from_an_earlier_run(plans, tmp_path):
    _write_out(tmp_path, {"team-r-prod": plans["team-r-prod"]}, broken="team-z-dev")
    for stale in ("team-z-dev", "team-gone-dev"):  # did not plan this time / no longer a stack
        (tmp_path / stale).mkdir()
        (tmp_path / stale / "plan.json").write_text(json.dumps({**plans["team-s-dev"], "stack": stale}))

    text, _ = render(tmp_path)

    assert "team-gone-dev" not in text
    section = text[text.index("<b>team-z-dev</b>"):]
    section = section[:section.index("</details>")]
    assert "No plan was produced" in section and "mermaid" not in section
    assert len(mermaid_blocks(text)) == 2


def test_report_without_summary_derives_the_table_from_the_plans_and_is_never_green(plans, tmp_path):
    # Without summary.json (plan --all did not finish) a stack that was not planned has no plan file:
    # the report cannot know it exists, so it must not say that all stacks pass (issue 15, item 2).
    for stack, plan in plans.items():
        (tmp_path / stack).mkdir()
        (tmp_path / stack / "plan.json").write_text(json.dumps(plan))

    text, _ = render(tmp_path)

    assert text.startswith("## ❌ ai-serving plan incomplete: no summary.json")
    assert "✅ ai-serving plan" not in text
    assert "policy pack not run" in text
    assert len(mermaid_blocks(text)) == 4


def test_report_fits_a_github_comment_for_hundreds_of_stacks(plans, tmp_path):
    many = {f"team{i:03d}-dev": plans["team-r-prod"] for i in range(150)}
    _write_out(tmp_path, many)

    path = write_report(tmp_path)

    text = path.read_text(encoding="utf-8")
    assert len(text) < GITHUB_COMMENT_LIMIT
    assert "This report was shortened to fit a GitHub comment" in text
    assert all(f"| `{stack}` |" in text for stack in many)  # the summary table still lists every stack
    full = (tmp_path / "report-full.md").read_text(encoding="utf-8")
    assert len(mermaid_blocks(full)) == 300 and "shortened" not in full


def test_a_shortened_report_keeps_the_diagrams_of_failing_stacks(plans, tmp_path):
    many = {f"team{i:03d}-dev": plans["team-r-prod"] for i in range(150)}
    summary = _write_out(tmp_path, many)
    for row in summary["stacks"][2:]:
        row["status"] = "ok"
    (tmp_path / "summary.json").write_text(json.dumps(summary))

    text, full = render(tmp_path)

    assert full is not None and len(text) < GITHUB_COMMENT_LIMIT
    blocks = mermaid_blocks(text)
    assert len(blocks) == 4
    for block in blocks:
        parse_mermaid(block)
    first_ok = text.index("<b>team002-dev</b>")
    assert text.index("<b>team000-dev</b>") < text.index("```mermaid") < first_ok
    assert "without their resource counts and diagram" in text


def test_report_with_a_base_shows_what_the_pr_changes(plans, tmp_path):
    base, head = tmp_path / "base", tmp_path / "head"
    _write_out(base, {"team-r-prod": plans["team-r-prod"]})
    changed = copy.deepcopy(plans)
    vault = next(r for r in changed["team-r-prod"]["resources"] if r["type"] == "azure-native:keyvault:Vault")
    vault["inputs"]["properties"]["publicNetworkAccess"] = "Enabled"
    _write_out(head, changed)

    text, _ = render(head, base)

    section = text[text.index("### What this PR changes"):text.index("### Per stack")]
    assert "| `team-s-dev` | added |" in section
    assert "| `team-r-prod` | changed | 0 | 0 | 1 |" in section
    assert '`properties.publicNetworkAccess`: `"Disabled"` → `"Enabled"`' in section


def test_a_report_with_a_base_reads_each_plan_folder_once(plans, tmp_path, monkeypatch):
    """A hundred stacks' plans take 0.15 s a read; the report read the base three times and the head twice.
    `plan --all --base` hands over the base it checked before planning: then the base is not read again."""
    from ai_serving.reports import diff, markdown

    base, head = tmp_path / "base", tmp_path / "head"
    _write_out(base, {"team-r-prod": plans["team-r-prod"]})
    _write_out(head, plans)
    expected = render(head, base)
    reads: list[Path] = []
    real = diff.load_plans

    def counting(directory: Path) -> dict:
        reads.append(directory)
        return real(directory)

    monkeypatch.setattr(markdown, "load_plans", counting)
    monkeypatch.setattr(diff, "load_plans", counting)
    assert render(head, base) == expected
    assert sorted(reads) == sorted([base, head])
    checked = real(base)  # as plan --all's check_base read it
    reads.clear()
    assert render(head, base, base_plans=checked) == expected
    assert reads == [head]


def test_cli_report_writes_report_md(plans, tmp_path, capsys):
    _write_out(tmp_path, plans)

    assert cli("report", "--out", tmp_path) == 0
    assert (tmp_path / "report.md").is_file()
    assert "wrote" in capsys.readouterr().out
    assert cli("report", "--out", tmp_path / "missing") == 2


# --- order and weight -------------------------------------------------------------------------------------

def _changed_pair(tmp_path: Path, plans, edit) -> tuple[Path, Path]:
    """base/ and head/ plan dirs of the fixture stacks (with _write_out's findings); ``edit(head_plans)``."""
    base, head = tmp_path / "base", tmp_path / "head"
    _write_out(base, plans)
    changed = copy.deepcopy(plans)
    edit(changed)
    _write_out(head, changed)
    return base, head


def _drop(plan: dict[str, Any], token: str) -> None:
    plan["resources"] = [r for r in plan["resources"] if r["type"] != token]


def test_report_puts_the_verdict_then_what_fails_then_what_changes_before_any_inventory(plans, tmp_path):
    def edit(p):
        vault = next(r for r in p["team-r-prod"]["resources"] if r["type"] == "azure-native:keyvault:Vault")
        vault["inputs"]["properties"]["publicNetworkAccess"] = "Enabled"
    base, head = _changed_pair(tmp_path, plans, edit)

    text, _ = render(head, base)

    order = [text.index(x) for x in ("## ❌ ai-serving plan", "### What fails", "### What this PR changes",
                                     "### Stacks", "### Per stack", "**Declares**")]
    assert order == sorted(order)
    fails = text[text.index("### What fails"):text.index("### What this PR changes")]
    assert "`KV-01` on `" in fails and "**Fix:** Set `properties.enablePurgeProtection: true`." in fails
    changes = text[text.index("### What this PR changes"):text.index("### Stacks")]
    assert "<details" not in changes  # expanded, not collapsed
    assert "✏️ changed `keyvault:Vault`" in changes and '`"Disabled"` → `"Enabled"`' in changes
    section = text[text.index("<b>team-r-prod</b>"):]
    assert section.index("**Findings**") < section.index("**Declares**") < section.index("```mermaid")


def test_deleting_protected_or_locked_resources_is_a_loud_warning(plans, tmp_path):
    def edit(p):
        _drop(p["team-r-prod"], "azure-native:keyvault:Key")  # the CMK key: protected in prod
        identity = "azure-native:managedidentity:UserAssignedIdentity"
        for r in p["team-r-prod"]["resources"]:
            if r["type"] == identity:  # renamed: ARM replaces it
                r["inputs"]["resourceName"] = r["inputs"].get("resourceName", r["name"]) + "-2"
        workspace = next(r for r in p["team-r-prod"]["resources"]
                         if r["type"] == "azure-native:operationalinsights:Workspace")
        workspace["protect"] = False  # unprotected in the same change, but its lock stays
        p["team-r-prod"]["resources"].remove(workspace)
    base, head = _changed_pair(tmp_path, plans, edit)

    text, _ = render(head, base)

    warning = text[:text.index("### What fails")]
    assert "`pulumi up` will refuse" in warning
    assert "delete `keyvault:Key`" in warning and "it is protected" in warning
    assert "replace `managedidentity:UserAssignedIdentity`" in warning
    assert "delete `operationalinsights:Workspace`" in warning and "ScopeLocked" in warning



def _account_and_what_hangs_off_it(plan: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The OpenAI account of ``plan`` and, for each way a resource sits under it, one resource that does."""
    account = next(r for r in plan["resources"] if r["type"] == "azure-native:cognitiveservices:Account")
    name = account["inputs"]["accountName"]

    def first(token, test):
        return next(r for r in plan["resources"] if r["type"] == token and test(r["inputs"]))

    under = f"/accounts/{name}".lower()
    return account, [
        first("azure-native:cognitiveservices:Deployment", lambda i: i["accountName"] == name),  # a child
        first("azure-native:authorization:RoleAssignment", lambda i: str(i.get("scope", "")).lower().endswith(under)),
        first("azure-native:monitor:DiagnosticSetting", lambda i: str(i["resourceUri"]).lower().endswith(under)),
        first("azure-native:network:PrivateEndpoint", lambda i: under in str(i).lower()),  # its connection
    ]


def test_deleting_what_sits_under_a_locked_resource_is_a_loud_warning(plans, tmp_path):
    # A CanNotDelete lock on the account covers its deployments, the role assignments and diagnostic
    # settings on it and its private endpoint connections: Azure refuses to delete any of them.
    _, going = _account_and_what_hangs_off_it(plans["team-r-prod"])

    def edit(p):
        urns = {r["urn"] for r in going}
        p["team-r-prod"]["resources"] = [r for r in p["team-r-prod"]["resources"] if r["urn"] not in urns]
    base, head = _changed_pair(tmp_path, plans, edit)

    text, _ = render(head, base)

    warning = text[:text.index("### What fails")]
    for res in going:
        line = next((ln for ln in warning.splitlines() if f"`{res['name']}`" in ln), "")
        assert "a CanNotDelete lock covers it" in line and "ScopeLocked" in line, (res["type"], warning)


def test_no_lock_warning_when_the_lock_goes_in_the_same_change(plans, tmp_path):
    account, going = _account_and_what_hangs_off_it(plans["team-r-prod"])

    def edit(p):
        urns = {r["urn"] for r in going}
        p["team-r-prod"]["resources"] = [
            r for r in p["team-r-prod"]["resources"] if r["urn"] not in urns and not (
                r["type"] == "azure-native:authorization:ManagementLockByScope"
                and r["inputs"]["scope"].lower().endswith(f"/accounts/{account['inputs']['accountName']}".lower()))]
    base, head = _changed_pair(tmp_path, plans, edit)

    text, _ = render(head, base)

    assert "ScopeLocked" not in text

def test_no_warning_when_nothing_protected_goes(plans, tmp_path):
    base, head = _changed_pair(tmp_path, plans, lambda p: _drop(p["team-s-dev"], "azure-native:network:NatGateway"))

    text, _ = render(head, base)

    assert "will refuse" not in text and "➖ removed `network:NatGateway`" in text


def test_unchanged_passing_stacks_collapse_to_one_line_with_a_count(plans, tmp_path):
    stacks = {f"team{i:02d}-dev": plans["team-s-dev"] for i in range(50)}
    base, head = tmp_path / "base", tmp_path / "head"
    for out in (base, head):
        for stack, plan in stacks.items():
            (out / stack).mkdir(parents=True)
            (out / stack / "plan.json").write_text(json.dumps({**plan, "stack": stack}))
    changed = json.loads((head / "team37-dev" / "plan.json").read_text())
    _drop(changed, "azure-native:network:NatGateway")
    (head / "team37-dev" / "plan.json").write_text(json.dumps(changed))

    text, _ = render(head, base)

    table_part = text[text.index("### Stacks"):text.index("### Cross-team")]
    assert "| `team37-dev` |" in table_part and table_part.count("| `team") == 1
    assert "✅ 49 unchanged other stack(s) pass" in table_part


def test_config_errors_show_repository_paths_not_the_runner_s(plans, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_out(tmp_path / "out", plans, broken="team-z-dev")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    summary["stacks"][-1]["errors"] = [f"{tmp_path}/stacks/Pulumi.team-z-dev.yaml:3: bad key"]
    (tmp_path / "out" / "summary.json").write_text(json.dumps(summary))

    text, _ = render(tmp_path / "out")

    assert str(tmp_path) not in text and "stacks/Pulumi.team-z-dev.yaml:3: bad key" in text


def test_key_material_in_a_stacks_errors_is_named_not_shown(plans, tmp_path, monkeypatch):
    """summary.json is input: found by review, a token in a stack's errors reached report.md twice."""
    monkeypatch.chdir(tmp_path)
    _write_out(tmp_path / "out", plans, broken="team-z-dev")
    token = "ghp_" + "A1b2C3d4E5f6" * 3
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    summary["stacks"][-1]["errors"] = [f"stacks/Pulumi.team-z-dev.yaml:3: bad key\nvalue was {token}"]
    (tmp_path / "out" / "summary.json").write_text(json.dumps(summary))

    text, _ = render(tmp_path / "out")

    assert token not in text and token[4:16] not in text
    assert "stacks/Pulumi.team-z-dev.yaml:3: bad key" in text and "[a GitHub token: not shown]" in text


def test_report_lists_deployments_retiring_within_180_days_by_date_and_team(plans, tmp_path):
    from datetime import date

    _write_out(tmp_path, plans)
    # team-r-prod: chat gpt-5.5 (retires 2027-10-26), embed text-embedding-3-small (2028-02-09); team-s-dev has
    # no OpenAI deployments. On 2027-09-01 both are within 180 days.
    text, _ = render(tmp_path, today=date(2027, 9, 1))
    section = text.split("### Model retirements in the next 180 days", 1)[1].split("###", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| 202")]
    assert rows == [
        "| 2027-10-26 | 55 | team-r | `team-r-prod` | `oai-team-r-prod-sdc-chat` | gpt-5.5 2026-04-24 "
        "| GlobalStandard |",
        "| 2028-02-09 | 161 | team-r | `team-r-prod` | `oai-team-r-prod-sdc-embed` | text-embedding-3-small 1 "
        "| GlobalStandard |",
    ]
    # Months earlier nothing is that close.
    early, _ = render(tmp_path, today=date(2026, 12, 2))
    assert "No deployment's model retires before 2026-12-02 + 180 days." in early


@pytest.mark.parametrize("content", ['{"stacks": [{"stack": "a-dev", "sta', "[1, 2]", '{"stacks": [3]}', "\udcff"])
def test_a_truncated_or_foreign_summary_is_a_usage_error(tmp_path, content):
    from ai_serving.outcome import UsageError

    (tmp_path / "summary.json").write_text(content, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(UsageError, match="summary.json"):
        render(tmp_path)


# --- summary.json and plan.json of another shape ------------------------------------------------------------

@pytest.mark.parametrize(("summary", "where", "says"), [
    ({"stacks": [{"stack": "s1"}], "crossTeam": "x"}, "crossTeam", "expected a list; found 'x'"),
    ({"stacks": [{"stack": "s1"}], "pack": "x"}, "pack", "expected an object; found 'x'"),
    ({"stacks": [{"stack": "s1"}], "pack": {"policies": {"p": "x"}}}, "pack.policies.p", "expected an object"),
    ({"stacks": [{"stack": "s1"}], "crossTeam": [{"stacks": "s1"}]}, "crossTeam[0].stacks", "expected a list"),
    ({"stacks": [{"stack": "s1", "status": ["ok"]}]}, "stacks[0].status", "expected one of 'ok'"),
    ({"stacks": [{"stack": "s1", "mandatory": "2"}]}, "stacks[0].mandatory", "expected a whole number; found '2'"),
    ({"stacks": [{"stack": "s1", "errors": "bad"}]}, "stacks[0].errors", "expected a list; found 'bad'"),
    ({"stacks": [{"stack": 1}]}, "stacks[0].stack", "expected a string; found 1"),
    ({"stacks": {"s1": {}}}, "stacks", "expected a list"),
], ids=["cross-team-text", "pack-text", "policy-meta-text", "cross-team-stacks-text", "status-list",
        "count-text", "errors-text", "stack-number", "stacks-object"])
def test_a_summary_of_another_shape_is_one_usage_error_naming_the_key_path(tmp_path, capsys, summary, where, says):
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")

    assert cli("report", "--out", tmp_path) == 2

    err = capsys.readouterr().err
    assert f"{tmp_path / 'summary.json'}: not the summary" in " ".join(err.split())
    assert f"{where}: {says}" in err


@pytest.mark.parametrize(("plan", "where", "says"), [
    ({"resources": [], "policy": "x"}, "policy", "expected an object; found 'x'"),
    ({"resources": [1]}, "resources[0]", "expected an object; found 1"),
    ({"resources": [], "policy": {"suppressed": [{"policy": "p", "reason": 7}]}}, "policy.suppressed[0].reason",
     "expected a string; found 7"),
    ({"resources": [{"urn": "u", "type": "t", "name": "n", "dependencies": "d"}]}, "resources[0].dependencies",
     "expected a list; found 'd'"),
], ids=["policy-text", "resource-number", "waiver-reason-number", "dependencies-text"])
def test_a_plan_of_another_shape_in_the_report_is_one_usage_error(tmp_path, capsys, plan, where, says):
    (tmp_path / "s1").mkdir()
    (tmp_path / "summary.json").write_text(json.dumps({"stacks": [{"stack": "s1"}]}), encoding="utf-8")
    (tmp_path / "s1" / "plan.json").write_text(json.dumps(plan), encoding="utf-8")

    assert cli("report", "--out", tmp_path) == 2

    err = capsys.readouterr().err
    assert f"{tmp_path / 's1' / 'plan.json'}: not a plan document" in " ".join(err.split())
    assert f"{where}: {says}" in err


def test_a_base_plan_of_another_shape_is_one_usage_error_naming_the_base_file(tmp_path, capsys):
    out, base = tmp_path / "out", tmp_path / "base"
    (out / "s1").mkdir(parents=True)
    (base / "s1").mkdir(parents=True)
    (out / "summary.json").write_text(json.dumps({"stacks": [{"stack": "s1"}]}), encoding="utf-8")
    (out / "s1" / "plan.json").write_text(json.dumps({"resources": []}), encoding="utf-8")
    (base / "s1" / "plan.json").write_text(json.dumps({"resources": [{"urn": "u"}]}), encoding="utf-8")

    assert cli("report", "--out", out, "--base", base) == 2

    err = capsys.readouterr().err
    assert f"{base / 's1' / 'plan.json'}: not a plan document" in " ".join(err.split())
    assert "resources[0].type: required key is missing" in err and not (out / "report.md").exists()


def test_a_deeply_nested_summary_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "summary.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")

    assert cli("report", "--out", tmp_path) == 2

    assert "summary.json: not a readable summary.json: nested too deeply" in capsys.readouterr().err


def test_without_a_summary_each_row_is_named_by_its_folder_even_when_the_plan_does_not_say_its_stack(tmp_path):
    for stack, plan in (("s1-dev", {"resources": []}), ("s2-dev", {"stack": "s2-dev", "resources": []})):
        (tmp_path / stack).mkdir()
        (tmp_path / stack / "plan.json").write_text(json.dumps(plan), encoding="utf-8")

    text, _ = render(tmp_path)

    assert "<b>s1-dev</b>" in text and "<b>s2-dev</b>" in text


@pytest.mark.parametrize("wrong", ["x", 5, [1], {"id": 7}, None], ids=["text", "number", "list", "map", "null"])
def test_inputs_of_the_wrong_shape_anywhere_are_one_usage_error_or_a_report_never_a_traceback(plans, tmp_path,
                                                                                             capsys, wrong):
    # plan.json's own keys are checked by the documents reader; a resource's inputs are Azure's values of any
    # shape, which the diagrams and tables read as Azure shapes them. Every resource of a real plan in turn
    # gets every input replaced by a value of the wrong shape: the report is written, or says which plan
    # file is not what `ai-serving plan` writes (exit 2); nothing else.
    base = plans["team-r-prod"]
    usage_errors = 0
    for i, resource in enumerate(base["resources"]):
        if not resource.get("inputs"):
            continue
        plan = copy.deepcopy(base)
        plan["resources"][i]["inputs"] = {key: copy.deepcopy(wrong) for key in resource["inputs"]}
        out = tmp_path / str(i)
        _write_out(out, {"team-r-prod": plan})
        code = cli("report", "--out", out)
        err = capsys.readouterr().err
        assert code in (0, 2) and "Traceback" not in err, (resource["type"], err[-2000:])
        if code == 2:
            usage_errors += 1
            said = " ".join(err.split())
            assert (f"{out / 'team-r-prod' / 'plan.json'}: a plan's resources are not what" in said
                    or f"{out}: a plan's resources are not what" in said), said
    assert wrong is None or usage_errors, "no wrong shape reached a reader that depends on it"

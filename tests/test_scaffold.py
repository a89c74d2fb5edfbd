"""``ai-serving new-team``: a valid stack file with a free address range, or a clear refusal."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_serving.engine import stack_yaml
from ai_serving.engine.project import load_project, read_stack_config
from ai_serving.org import new_team as scaffold
from ai_serving.org.new_team import ADDRESS_POOL, free_range, pick_model
from ai_serving.outcome import UsageError
from infra import catalogues
from infra.config import raw_from_config_map, validate
from infra.config.errors import ConfigError
from infra.sizing import fit_problems

from .cli_helpers import ROOT, cli, write_stack
from .stackdata import base_config


def new_team(stack_dir: Path, *args: str) -> int:
    return cli("new-team", *args, "--project", ROOT, "--stack-dir", stack_dir)


def load(stack_dir: Path, stack: str):
    """Validate the written file the way `ai-serving validate` does and return the config."""
    project = load_project(ROOT, stack_dir)
    cfg = read_stack_config(project, stack)
    return validate(raw_from_config_map(cfg.values), stack_name=stack, source=cfg.source)


def N(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr)


def test_defaults_to_one_openai_deployment_in_the_first_free_22(tmp_path):
    assert new_team(tmp_path, "team-n", "--env", "dev") == 0

    cfg = load(tmp_path, "team-n-dev")
    assert cfg.network.address_space == N("10.64.0.0/22")
    assert cfg.gpu_pool is None
    (dep,) = cfg.openai.deployments
    # The open chat model that stays longest in swedencentral today (infra/catalogues/openai_models.yaml).
    assert (dep.model, dep.version, dep.sku) == ("gpt-5.5", "2026-04-24", "GlobalStandard")
    assert cfg.location == "swedencentral" and cfg.environment == "dev"


def test_gpu_only_stack_has_no_openai_section(tmp_path):
    assert new_team(tmp_path, "team-n", "--env", "dev", "--gpu", "Standard_NC24ads_A100_v4") == 0

    cfg = load(tmp_path, "team-n-dev")
    assert cfg.openai is None and cfg.gpu_pool.vm_sku == "Standard_NC24ads_A100_v4"


@pytest.mark.parametrize(("given", "todo"), [
    ((), "# TODO: set the real ai-serving:owners and ai-serving:costCenter (placeholders: "
         "team-h-owners@example.com, CC-TODO)."),
    (("--owner", "lead@example.com"), "# TODO: set the real ai-serving:costCenter (placeholder: CC-TODO)."),
    (("--cost-center", "CC-9"), "# TODO: set the real ai-serving:owners (placeholder: team-h-owners@example.com)."),
    (("--owner", "lead@example.com", "--cost-center", "CC-9"), None),
])
def test_the_header_names_only_the_placeholders_the_file_holds(tmp_path, given, todo):
    """The TODO line listed both placeholders whenever either was left, also the owner given with --owner."""
    assert new_team(tmp_path, "team-h", "--env", "dev", *given) == 0

    todos = [line for line in (tmp_path / "Pulumi.team-h-dev.yaml").read_text().splitlines() if "TODO:" in line]
    assert todos == ([todo] if todo else [])


def test_gpu_pool_serves_a_catalogue_model_that_fits_the_sku(tmp_path):
    assert new_team(tmp_path, "team-g", "--env", "prod", "--gpu", "Standard_NC4as_T4_v3", "--openai",
                    "--location", "westeurope", "--owner", "lead@example.com", "--cost-center", "CC-9",
                    "--budget", "20000") == 0

    cfg = load(tmp_path, "team-g-prod")
    assert cfg.openai is not None and cfg.gpu_pool.vm_sku == "Standard_NC4as_T4_v3"
    model = catalogues.open_models()[cfg.gpu_pool.model]
    sku = catalogues.gpu_skus()["Standard_NC4as_T4_v3"]
    assert fit_problems(cfg.gpu_pool.model, model, "Standard_NC4as_T4_v3", sku) == []
    assert cfg.owners == ["lead@example.com"] and cfg.cost_center == "CC-9" and cfg.location == "westeurope"
    assert "TODO" not in (tmp_path / "Pulumi.team-g-prod.yaml").read_text()
    # Prod pulls by digest; until the first import prints it, a visible waiver that expires.
    [waiver] = cfg.suppressions
    assert (waiver.rule, waiver.resource) == ("VMSS-10", "vmss-team-g-prod-*-gpu")
    assert 0 < (waiver.expires - date.today()).days <= 30
    assert cfg.budget is not None and cfg.budget.monthly_amount == 20000
    assert cfg.budget.contact_emails == ["lead@example.com"]


def test_a_scaffolded_prod_gpu_stack_passes_the_policy_pack(tmp_path, capsys):
    # What new-team writes for prod must deploy: no budget once failed COST-03 (mandatory in prod).
    assert new_team(tmp_path, "team-g", "--env", "prod", "--gpu", "Standard_NC24ads_A100_v4", "--owner",
                    "lead@example.com", "--cost-center", "CC-9", "--budget", "50000") == 0
    code = cli("plan", "team-g-prod", "--project", ROOT, "--stack-dir", tmp_path, "--out", tmp_path / "out",
               "--quiet")
    assert code == 0, capsys.readouterr()


def test_the_prod_default_without_a_gpu_passes_the_policy_pack(tmp_path, capsys):
    # Without --gpu a stack gets one pay-per-token deployment: nothing of it is committed, so COST-01 can judge
    # it even in eastus, where the GPU pool's OS disks have no price.
    assert new_team(tmp_path, "team-d", "--env", "prod", "--location", "eastus", "--owner", "lead@example.com",
                    "--cost-center", "CC-9", "--budget", "5000") == 0
    code = cli("plan", "team-d-prod", "--project", ROOT, "--stack-dir", tmp_path, "--out", tmp_path / "out",
               "--quiet")
    assert code == 0, capsys.readouterr()


@pytest.mark.parametrize("gpu, location, says", [
    # No price for the size at all (infra/catalogues/prices.yaml): a priced size is suggested.
    ("Standard_ND96asr_v4", "swedencentral",
     ["--gpu Standard_ND96asr_v4 in swedencentral", "Standard_ND96asr_v4 VM hours", "choose a priced size (",
      "Standard_NC24ads_A100_v4"]),
    # The size is priced in eastus, its OS disks are not, and no size's disks are.
    ("Standard_NC24ads_A100_v4", "eastus",
     ["--gpu Standard_NC24ads_A100_v4 in eastus", "OS disks Premium_LRS", "no sourced price for region eastus",
      "no GPU size is priced in eastus: choose another --location"]),
])
def test_a_prod_gpu_pool_the_catalogue_cannot_price_is_refused_and_nothing_written(tmp_path, capsys, gpu,
                                                                                    location, says):
    """COST-01 fails closed on committed cost the catalogue cannot price, whatever the budget: new-team once
    said "valid" and the plan then failed. Now it asks the plan's own estimate and refuses."""
    assert new_team(tmp_path, "team-p", "--env", "prod", "--gpu", gpu, "--location", location, "--owner",
                    "lead@example.com", "--cost-center", "CC-9", "--budget", "100000") == 2
    err = " ".join(capsys.readouterr().err.split())
    assert all(part in err for part in [*says, "infra/catalogues/prices.yaml", "COST-01"]), err
    assert list(tmp_path.iterdir()) == []


def test_the_sizes_suggested_for_prod_are_the_ones_the_estimate_prices(tmp_path, capsys):
    """Each suggested size scaffolds (prod, same region) without refusal; the one refused is not suggested."""
    assert new_team(tmp_path, "team-p", "--env", "prod", "--gpu", "Standard_ND96asr_v4", "--owner",
                    "lead@example.com", "--cost-center", "CC-9", "--budget", "100000") == 2
    err = " ".join(capsys.readouterr().err.split())
    suggested = err.split("choose a priced size (")[1].split(")")[0].split(", ")
    assert "Standard_ND96asr_v4" not in suggested and len(suggested) > 1
    for i, sku in enumerate(suggested[:2]):
        assert new_team(tmp_path, f"team-{i}", "--env", "prod", "--gpu", sku, "--owner", "lead@example.com",
                        "--cost-center", "CC-9", "--budget", "100000") == 0, capsys.readouterr()


def test_a_prod_stack_is_refused_for_any_committed_item_the_estimate_cannot_price(tmp_path, capsys, monkeypatch):
    """Not only the GPU pool: whatever sized committed item the estimate lists as not included (here a made-up
    one on the deployment) is named by its resource, and the file is removed; one it does not size is not."""
    import dataclasses

    from guardrails.cost import COMMITTED, Gap

    import ai_serving.cost

    real = ai_serving.cost._estimate

    def estimate(resources, config=None):
        cost = real(resources, config)
        gap = Gap("chat", "cognitiveservices:Deployment", "rg", "gpt-x 5 PTU", "no PTU price", COMMITTED, sized=True)
        cost.not_included += [gap, dataclasses.replace(gap, item="usage", sized=False)]
        return cost

    monkeypatch.setattr(ai_serving.cost, "_estimate", estimate)
    assert new_team(tmp_path, "team-p", "--env", "prod", "--owner", "lead@example.com", "--cost-center", "CC-9",
                    "--budget", "5000") == 2
    err = " ".join(capsys.readouterr().err.split())
    assert ("chat (cognitiveservices:Deployment) in swedencentral: the price catalogue "
            "(infra/catalogues/prices.yaml) has no price for it (gpt-x 5 PTU: no PTU price), so the prod budget "
            "rule COST-01 would fail") in err and "usage" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_program_failure_on_the_scaffold_is_one_message_and_no_file(tmp_path, capsys, monkeypatch):
    import ai_serving.engine.runner

    def failing(project, stack, config):
        run = ai_serving.engine.runner.ProgramRun(project=project.name, stack=stack)
        run.exit_code, run.errors = 1, ["program failed: RuntimeError: boom"]
        return run

    monkeypatch.setattr(ai_serving.engine.runner, "run_program", failing)
    assert new_team(tmp_path, "team-p", "--env", "prod", "--owner", "lead@example.com", "--cost-center", "CC-9",
                    "--budget", "5000") == 2
    assert "the program failed on the scaffolded stack; program failed: RuntimeError: boom" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_prod_stack_without_a_budget_is_refused_before_anything_is_written(tmp_path, capsys):
    assert new_team(tmp_path, "team-g", "--env", "prod", "--owner", "lead@example.com", "--cost-center",
                    "CC-9") == 2
    assert "a prod stack needs --budget AMOUNT" in capsys.readouterr().err
    assert not (tmp_path / "Pulumi.team-g-prod.yaml").exists()


def test_openai_deployment_is_one_the_region_offers_today(tmp_path, capsys):
    # eastus2 offers gpt-5.5 as GlobalStandard; westeurope does not, and of what it offers gpt-5.4-mini
    # (retires 2027-03-18) stays longest.
    assert new_team(tmp_path, "team-e", "--env", "dev", "--openai", "--location", "eastus2") == 0
    (dep,) = load(tmp_path, "team-e-dev").openai.deployments
    assert (dep.model, dep.sku) == ("gpt-5.5", "GlobalStandard")
    assert new_team(tmp_path, "team-w", "--env", "dev", "--openai", "--location", "westeurope") == 0
    (dep,) = load(tmp_path, "team-w-dev").openai.deployments
    assert (dep.model, dep.sku) == ("gpt-5.4-mini", "GlobalStandard")

    # northeurope offers nothing: a clear error, and no file.
    assert new_team(tmp_path, "team-n", "--env", "dev", "--openai", "--location", "northeurope") == 2
    assert "no catalogued chat model is open to new deployments in northeurope" in capsys.readouterr().err
    assert not (tmp_path / "Pulumi.team-n-dev.yaml").exists()


def test_pick_model_prefers_the_largest_model_that_fits():
    # 24 GB: Llama 3.1 8B would be larger, but it is gated and a new stack has no token.
    assert pick_model("Standard_NV36ads_A10_v5") == "Qwen/Qwen2.5-7B-Instruct"
    assert pick_model("Standard_ND96isr_H100_v5") == "Qwen/Qwen2.5-72B-Instruct"  # not the gated 405B
    assert pick_model("Standard_NC4as_T4_v3") == "microsoft/Phi-3-mini-4k-instruct"  # 16 GB


def test_pick_model_judges_context_and_head_split_as_validation_does(monkeypatch):
    """A model whose weights fit but whose heads do not split over the GPUs, or whose KV cache left holds
    too short a context, is not picked (new-team's pick is the config checks' own fit test)."""
    sku_name = "Standard_NV72ads_A10_v5"  # 2 x A10: tensor parallel size 2
    models = dict(catalogues.open_models())
    best = pick_model(sku_name)
    heavier = dict(models[best], parameters_b=models[best]["parameters_b"] * 1.05)
    models["test/odd-heads"] = dict(heavier, attention_heads=heavier["attention_heads"] + 1)
    models["test/long-kv"] = dict(heavier, kv_heads=heavier["kv_heads"] * 1024)  # KV cache leaves no context
    monkeypatch.setattr(catalogues, "open_models", lambda: models)
    sku = catalogues.gpu_skus()[sku_name]
    for name in ("test/odd-heads", "test/long-kv"):
        assert fit_problems(name, models[name], sku_name, sku), name
    assert pick_model(sku_name) == best


def test_picks_a_range_that_overlaps_no_existing_stack(tmp_path):
    for stack, space in (("team-a-dev", "10.64.0.0/22"), ("team-b-dev", "10.64.8.0/21")):
        cfg = base_config("dev", team=stack.rsplit("-", 1)[0])
        cfg["ai-serving:network"] = {"addressSpace": space}
        write_stack(tmp_path, stack, cfg)
    # A file that does not parse still reserves its range.
    broken = "config:\n  ai-serving:network: {addressSpace: '10.64.4.0/23'\n  oops: [\n"
    write_stack(tmp_path, "team-c-dev", text=broken)

    assert new_team(tmp_path, "team-d", "--env", "test") == 0

    assert load(tmp_path, "team-d-test").network.address_space == N("10.64.16.0/22")


def test_a_fifo_or_device_among_the_stack_files_is_skipped_not_waited_on(tmp_path):
    """The scan of ranges in use read every ``Pulumi.*.yaml`` whole: a named pipe hung ``new-team`` (holding
    the directory lock), a symlink to /dev/zero read until memory ran out. A symlink to a regular file,
    inside the directory or not, still reserves its range."""
    stack_dir = tmp_path / "stacks"
    stack_dir.mkdir()
    os.mkfifo(stack_dir / "Pulumi.team-p-dev.yaml")
    (stack_dir / "Pulumi.team-z-dev.yaml").symlink_to("/dev/zero")
    (stack_dir / "Pulumi.team-d-dev.yaml").mkdir()
    elsewhere = write_stack(tmp_path / "elsewhere", "team-l-dev", text="config:\n  ai-serving:network:\n"
                                                                         "    addressSpace: 10.64.0.0/22\n")
    (stack_dir / "Pulumi.team-l-dev.yaml").symlink_to(elsewhere)

    proc = subprocess.run([sys.executable, "-m", "ai_serving.cli", "new-team", "team-n", "--env", "dev",
                           "--project", str(ROOT), "--stack-dir", str(stack_dir)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert load(stack_dir, "team-n-dev").network.address_space == N("10.64.4.0/22")


def test_free_range_falls_back_to_a_24_and_fails_when_the_pool_is_full():
    pool = N("10.64.0.0/22")
    assert free_range([], pool) == N("10.64.0.0/22")
    assert free_range([N("10.64.0.0/24")], pool) == N("10.64.1.0/24")
    assert free_range([N("10.64.0.0/24"), N("10.64.1.0/25"), N("10.64.2.0/24")], pool) == N("10.64.3.0/24")
    with pytest.raises(UsageError, match="no free /24"):
        free_range([N("10.64.0.0/23"), N("10.64.2.0/23")], pool)


def test_many_teams_get_distinct_non_overlapping_ranges(tmp_path):
    for i in range(12):
        assert new_team(tmp_path, f"team{i}", "--env", "dev") == 0

    spaces = [load(tmp_path, f"team{i}-dev").network.address_space for i in range(12)]
    assert all(s.prefixlen == 22 and s.subnet_of(ADDRESS_POOL) for s in spaces)
    assert not any(a.overlaps(b) for i, a in enumerate(spaces) for b in spaces[i + 1:])


def test_refuses_to_overwrite_an_existing_stack_file(tmp_path, capsys):
    assert new_team(tmp_path, "team-n", "--env", "dev") == 0
    path = tmp_path / "Pulumi.team-n-dev.yaml"
    before = path.read_text()

    assert new_team(tmp_path, "team-n", "--env", "dev", "--gpu", "Standard_NC24ads_A100_v4") == 2

    assert "already exists" in capsys.readouterr().err
    assert path.read_text() == before


def test_rejects_an_unknown_gpu_sku_without_writing_a_file(tmp_path, capsys):
    assert new_team(tmp_path, "team-n", "--env", "dev", "--gpu", "Standard_D4s_v5") == 2

    err = capsys.readouterr().err
    assert "unknown GPU VM size 'Standard_D4s_v5'" in err and "Standard_NC24ads_A100_v4" in err
    assert list(tmp_path.iterdir()) == []


def test_an_invalid_result_is_reported_and_removed(tmp_path, capsys, monkeypatch):
    # Each option is checked before writing: what is left to fail is the scaffold itself (here a deployment of a
    # model the catalogue does not know).
    monkeypatch.setattr(scaffold, "pick_openai", lambda location: {**scaffold.OPENAI_DEPLOYMENT, "model": "gpt-nope",
                                                                   "version": "1", "sku": "GlobalStandard"})
    assert new_team(tmp_path, "team-n", "--env", "dev") == 2

    err = capsys.readouterr().err
    assert "ai-serving:openai.deployments[0]" in err and "removed" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("options", "message"), [
    ((), "a prod stack needs --owner EMAIL and --cost-center CODE: placeholders are refused in prod (left out, "
         "new-team writes 'team-n-owners@example.com' and 'CC-TODO')"),
    (("--owner", "a@example.com"), "a prod stack needs --cost-center CODE: placeholders are refused in prod (left "
                                   "out, new-team writes 'CC-TODO')"),
    (("--cost-center", "CC-1"), "a prod stack needs --owner EMAIL: placeholders are refused in prod (left out, "
                                "new-team writes 'team-n-owners@example.com')"),
    (("--owner", "a@example.com", "--cost-center", "CC-TODO"),
     "--cost-center: expected the real value for a prod stack; found the placeholder 'CC-TODO'"),
    (("--owner", "team-n-owners@example.com", "--cost-center", "CC-1"),
     "--owner: expected the real value for a prod stack; found the placeholder 'team-n-owners@example.com'"),
])
def test_a_prod_stack_with_placeholder_contacts_is_refused_naming_the_options(tmp_path, capsys, options, message):
    """The config check refuses new-team's placeholders in prod: refused before anything is written, naming the
    options, not as `ai-serving:owners[0]` of a file written, validated and removed."""
    assert new_team(tmp_path, "team-n", "--env", "prod", "--budget", "20000", *options) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith(f"error: {message}") and "removed" not in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (("Team_N", "--env", "dev"), "lowercase slug"),
    (("team-n", "--env", "staging"), "expected one of dev, test, prod"),
])
def test_rejects_a_bad_team_name_or_environment(tmp_path, capsys, args, message):
    assert new_team(tmp_path, *args) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_written_file_is_plain_yaml_with_only_model_keys(tmp_path):
    assert new_team(tmp_path, "team-n", "--env", "dev", "--gpu", "Standard_NC24ads_A100_v4", "--openai") == 0

    doc = yaml.safe_load((tmp_path / "Pulumi.team-n-dev.yaml").read_text())
    assert set(doc) == {"config"}
    assert doc["config"]["ai-serving:gpuPool"]["vmSku"] == "Standard_NC24ads_A100_v4"
    # Quoted in the file: a bare 2026-04-24 would be read back as a date.
    assert doc["config"]["ai-serving:openai"]["deployments"][0]["version"] == "2026-04-24"


@pytest.mark.parametrize("value", ["1e3", "0o17", "1:30", "yes", "2027-01-31", "0x1F", "~", ".inf", "<<"])
def test_a_value_the_two_yaml_readers_would_read_differently_is_written_quoted(tmp_path, value):
    # safe_dump quoted by YAML 1.1 only: `costCenter: 1e3` was a number to the engine and refused by the
    # strict reader ("read differently by the two YAML readers ... did not validate").
    assert new_team(tmp_path, "team-x", "--env", "dev", "--cost-center", value) == 0
    assert load(tmp_path, "team-x-dev").cost_center == value


def _written(text: str) -> dict:
    """``text`` as the strict reader of stack files reads it (from a scratch file)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "Pulumi.team-x-dev.yaml"
        path.write_text(text, encoding="utf-8")
        return stack_yaml.load(path)["config"]


TEXT = st.one_of(st.text(max_size=64), st.text(alphabet="0123456789+-._:eEoxbTZ ~", min_size=1, max_size=16))
"""Any text, and text made of what YAML numbers, dates and times are made of (where the readers part)."""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cost_center=TEXT, owners=st.lists(TEXT, min_size=1, max_size=3), location=TEXT)
def test_every_text_value_is_written_so_both_yaml_readers_read_that_text(cost_center, owners, location):
    """What the scaffold writes, the strict reader (the engine's reading and this tool's must agree) reads back
    as the same text: nothing is refused for how it was written, whatever the value."""
    # Prod with a GPU pool: every part new-team writes (budget, the waiver and its expiry date) but the
    # deployment, whose pick depends on the region (a region name is text like any other here).
    config = scaffold.stack_config("team-x", "prod", location=location, address_space=ADDRESS_POOL, openai=False,
                                   gpu="Standard_NC4as_T4_v3", owners=owners, cost_center=cost_center, budget=100.0)
    assert _written(scaffold.render(config)) == config


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cost_center=TEXT.filter(str.strip))
def test_any_cost_center_is_scaffolded_and_read_back_or_refused_by_the_model_only(cost_center):
    """End to end: the written file validates and holds the value given, or the config model (not the YAML
    reader) refuses the value itself."""
    with tempfile.TemporaryDirectory() as scratch:
        project = load_project(ROOT, Path(scratch))
        try:
            _, config = scaffold.new_team(project, "team-x", "dev", openai=False, gpu=None,
                                          location="swedencentral", cost_center=cost_center)
        except ConfigError as exc:
            assert all("YAML" not in issue.message and issue.path == "ai-serving:costCenter"
                       for issue in exc.issues), str(exc)
            return
        except UsageError as exc:  # refused as the option (e.g. text the config reads as null): nothing written
            assert str(exc).startswith("--cost-center: "), str(exc)
            assert list(Path(scratch).iterdir()) == []
            return
        assert load(Path(scratch), "team-x-dev").cost_center == cost_center


def _repository(tmp_path: Path) -> Path:
    """A project with the repository's Pulumi.yaml and CODEOWNERS and an empty stack directory."""
    root = tmp_path / "repo"
    (root / ".github").mkdir(parents=True)
    (root / "stacks").mkdir()
    (root / "infra").symlink_to(ROOT / "infra")
    (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (root / ".github" / "CODEOWNERS").write_text((ROOT / ".github" / "CODEOWNERS").read_text())
    return root


def test_new_team_prints_the_codeowners_line_its_stack_file_needs(tmp_path, capsys):
    """Without its CODEOWNERS line a new stack file is the platform team's alone and tests/test_codeowners.py
    fails: new-team says which line to add, in the file's convention (one line per file, @org/team)."""
    root = _repository(tmp_path)
    assert cli("new-team", "team-zz", "--env", "dev", "--project", root) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("next: add this line to .github/CODEOWNERS in the same pull request, so that team-zz owns its stack "
            "file") in out
    line = "/stacks/Pulumi.team-zz-dev.yaml @your-org/team-zz"
    assert out.endswith(f"fails): {line}"), out
    # The organisation is the file's own (the platform replaces `your-org`); a file already named is not repeated.
    owners = root / ".github" / "CODEOWNERS"
    owners.write_text(owners.read_text().replace("@your-org/", "@acme/") + f"{line}\n")
    assert cli("new-team", "team-zz", "--env", "test", "--project", root) == 0
    assert capsys.readouterr().out.split()[-1] == "@acme/team-zz"
    owners.write_text(owners.read_text() + "/stacks/Pulumi.team-zz-prod.yaml @acme/team-zz\n")
    assert scaffold.codeowners_line(root, root / "stacks" / "Pulumi.team-zz-prod.yaml", "team-zz") is None
    assert scaffold.codeowners_line(root, tmp_path / "Pulumi.team-zz-prod.yaml", "team-zz") is None  # outside

"""Stack config: every example is valid; every kind of bad input is one clear error (exit 2)."""

from __future__ import annotations

import copy

import pytest

from infra.config import ConfigError, validate

from .cli_helpers import ROOT, cli, write_stack
from .stackdata import base_config


def raw(cfg: dict) -> dict:
    """A config mapping as the model sees it (namespace stripped, location renamed)."""
    out = {}
    for key, value in cfg.items():
        out["location" if key == "azure-native:location" else key.split(":", 1)[1]] = value
    return out


@pytest.mark.parametrize("stack", ["team-a-dev", "team-a-prod", "team-b-dev"])
def test_every_example_stack_validates(stack, capsys):
    assert cli("validate", stack) == 0
    assert f"ok       {stack}" in capsys.readouterr().out


def test_validate_checks_all_stacks_when_none_named(capsys):
    assert cli("validate") == 0
    out = capsys.readouterr().out
    for stack in ("team-a-dev", "team-a-prod", "team-b-dev"):
        assert stack in out


def test_defaults_come_from_the_environment_profile():
    dev = validate(raw(base_config("dev")), stack_name="team-t-dev")
    prod = validate(raw(base_config("prod")), stack_name="team-t-prod")
    assert dev.profile.spot_allowed and not prod.profile.spot_allowed
    assert prod.profile.version_upgrade_option == "NoAutoUpgrade"
    assert prod.profile.zone_redundant and prod.profile.protect_stateful
    assert prod.customer_managed_key and not dev.customer_managed_key
    assert dev.gpu_pool.port == 8000 and dev.openai.deployments[0].content_filter == "strict"


def _mutate(path: tuple, value, base=None) -> dict:
    cfg = copy.deepcopy(base or base_config("dev"))
    node = cfg
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cfg


_DELETE = object()

# (mutation path, new value, key path expected in the message, words expected in the message)
INVALID = [
    (("ai-serving:network", "adressSpace"), "10.0.0.0/22", "ai-serving:network.adressSpace", "did you mean 'addressSpace'"),
    (("ai-serving:gpuPool", "maxInstance"), 3, "ai-serving:gpuPool.maxInstance", "unknown key"),
    (("ai-serving:teem",), "x", "ai-serving:teem", "unknown key"),
    (("ai-serving:gpuPool", "maxInstances"), "three", "ai-serving:gpuPool.maxInstances", "expected a whole number; found 'three'"),
    (("ai-serving:gpuPool", "maxInstances"), 0, "ai-serving:gpuPool.maxInstances", "greater than or equal to 1"),
    (("ai-serving:gpuPool", "maxInstances"), 101, "ai-serving:gpuPool.maxInstances", "less than or equal to 100"),
    (("ai-serving:network", "addressSpace"), "10.0.0.300/22", "ai-serving:network.addressSpace", "IPv4 CIDR"),
    (("ai-serving:network", "addressSpace"), "10.0.0.1/22", "ai-serving:network.addressSpace", "host bits"),
    (("ai-serving:network", "addressSpace"), "8.8.8.0/22", "ai-serving:network.addressSpace", "private"),
    (("ai-serving:network", "addressSpace"), "10.0.0.0/26", "ai-serving:network.addressSpace", "too small"),
    # A number was taken as an address (`true` became 0.0.0.1/32), and the message named that range.
    (("ai-serving:network", "addressSpace"), True, "ai-serving:network.addressSpace", "IPv4 CIDR like 10.42.0.0/22 (text); found True"),
    (("ai-serving:network", "addressSpace"), 10, "ai-serving:network.addressSpace", "(text); found 10"),
    (("ai-serving:team",), "Team_A", "ai-serving:team", "lowercase slug"),
    (("ai-serving:team",), "a-team-name-too-long", "ai-serving:team", "at most 12"),
    (("ai-serving:environment",), "staging", "ai-serving:environment", "'dev', 'test' or 'prod'"),
    (("azure-native:location",), "mars-central", "azure-native:location", "Azure region"),
    (("ai-serving:openai", "deployments", 0, "sku"), "Premium", "ai-serving:openai.deployments[0].sku", "GlobalStandard"),
    (("ai-serving:openai", "deployments", 0, "model"), "gpt-9", "ai-serving:openai.deployments[0].model", "unknown model"),
    (("ai-serving:openai", "deployments", 0, "version"), "1999-01-01", "ai-serving:openai.deployments[0].version", "unknown version"),
    (("ai-serving:openai", "deployments", 0, "contentFilter"), "lax", "ai-serving:openai.deployments[0].contentFilter", "default, strict"),
    (("ai-serving:openai", "deployments", 0, "capacity"), 0, "ai-serving:openai.deployments[0].capacity", "greater than 0"),
    (("ai-serving:gpuPool", "vmSku"), "Standard_D4s_v5", "ai-serving:gpuPool.vmSku", "unknown GPU VM size"),
    (("ai-serving:gpuPool", "minInstances"), 5, "ai-serving:gpuPool.minInstances", "must not exceed"),
    (("ai-serving:gpuPool", "minInstances"), 0, "ai-serving:gpuPool.minInstances", "would never start"),
    (("ai-serving:gpuPool", "model"), "meta-llama/Llama-3.1-8B-Instruct", "ai-serving:gpuPool.model",
     "is gated on Hugging Face"),
    (("ai-serving:gpuPool", "model"), "mistralai/Mistral-7B-Instruct-v0.3", "ai-serving:gpuPool.model",
     "ai-serving:modelHubToken"),
    (("ai-serving:gpuPool", "port"), 80, "ai-serving:gpuPool.port", "1024"),
    (("ai-serving:gpuPool", "port"), 70000, "ai-serving:gpuPool.port", "65535"),
    (("ai-serving:owners",), ["not-an-email"], "ai-serving:owners[0]", "email"),
    (("ai-serving:owners",), [], "ai-serving:owners", "at least 1"),
    (("ai-serving:costCenter",), _DELETE, "ai-serving:costCenter", "required"),
    (("ai-serving:budget",), {"monthlyAmount": 10, "contactEmails": ["x"]}, "ai-serving:budget.contactEmails[0]", "email"),
    # A wildcard over a public suffix (its PRIVATE section too: providers' multi-tenant domains) allows
    # every tenant's storage account, web app or tunnel as an exfiltration destination.
    (("ai-serving:openai", "allowedFqdns"), ["api.example.com", "*.blob.core.windows.net"],
     "ai-serving:openai.allowedFqdns[1]", "like myname.blob.core.windows.net"),
    (("ai-serving:openai", "allowedFqdns"), ["*.ngrok-free.app"], "ai-serving:openai.allowedFqdns[0]",
     "every tenant's hosts under 'ngrok-free.app', a public suffix"),
    (("ai-serving:openai", "allowedFqdns"), ["*.azurewebsites.net"], "ai-serving:openai.allowedFqdns[0]", "too broad"),
    (("ai-serving:openai", "allowedFqdns"), ["*.core.windows.net"], "ai-serving:openai.allowedFqdns[0]",
     "under 'blob.core.windows.net'"),
    (("ai-serving:openai", "allowedFqdns"), ["*.co.uk"], "ai-serving:openai.allowedFqdns[0]", "too broad"),
    (("ai-serving:suppressions",), [{"rule": "CS-05", "resource": "x", "expires": "2030-01-01"}],
     "ai-serving:suppressions[0].reason", "required"),
    (("ai-serving:suppressions",), [{"rule": "CS-05", "resource": "x", "reason": "too short"}],
     "ai-serving:suppressions[0]", "required"),
]


@pytest.mark.parametrize(("path", "value", "key", "words"), INVALID, ids=[i[2] + ":" + str(i[1])[:20] for i in INVALID])
def test_invalid_config_names_the_key_and_the_problem(tmp_path, capsys, path, value, key, words):
    write_stack(tmp_path, "team-t-dev", _mutate(path, value))
    assert cli("validate", "team-t-dev", "--stack-dir", tmp_path) == 2
    err = capsys.readouterr().err
    assert key in err, err
    assert words in err, err
    assert "Traceback" not in err


def test_the_reviewers_allow_list_is_refused_entry_by_entry(tmp_path, capsys):
    cfg = base_config("prod")
    cfg["ai-serving:openai"]["allowedFqdns"] = ["*.blob.core.windows.net", "*.ngrok-free.app", "*.azurewebsites.net"]
    write_stack(tmp_path, "team-t-prod", cfg)
    assert cli("validate", "team-t-prod", "--stack-dir", tmp_path) == 2
    err = capsys.readouterr().err
    for i, suffix in enumerate(["blob.core.windows.net", "ngrok-free.app", "azurewebsites.net"]):
        assert (f"ai-serving:openai.allowedFqdns[{i}]: wildcard '*.{suffix}' is too broad: it covers every tenant's "
                f"hosts under '{suffix}'") in err
        assert f"name the exact hosts (like myname.{suffix})" in err


def test_exact_hosts_under_a_shared_domain_and_wildcards_below_one_owner_are_allowed(tmp_path, capsys):
    cfg = base_config("dev")
    cfg["ai-serving:openai"]["allowedFqdns"] = ["mystorage.blob.core.windows.net", "*.example.com",
                                                "*.eu.example.co.uk", "myapp.azurewebsites.net"]
    write_stack(tmp_path, "team-t-dev", cfg)
    assert cli("validate", "team-t-dev", "--stack-dir", tmp_path) == 0, capsys.readouterr().err


def test_a_wildcard_at_or_above_an_azure_service_domain_is_refused_with_file_key_and_line(tmp_path, capsys):
    """Azure's multi-tenant domains the Public Suffix List lacks (anyone's key vault, registry, OpenAI account),
    from infra/catalogues/azure_service_domains.yaml; a placeholder label stands for any one label."""
    cfg = base_config("prod")
    cfg["ai-serving:openai"]["allowedFqdns"] = ["kv.vault.azure.net", "*.vault.azure.net", "*.azure.net",
                                                "*.azurecr.io", "*.OpenAI.azure.com", "*.eastus.batch.azure.com"]
    path = write_stack(tmp_path, "team-t-prod", cfg)
    assert cli("validate", "team-t-prod", "--stack-dir", tmp_path) == 2
    err = capsys.readouterr().err
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, (entry, zone, service) in enumerate([
        ("*.vault.azure.net", "vault.azure.net", "Azure Key Vault"),
        ("*.azure.net", "afs.azure.net", "Azure File Sync"),  # the first listed zone below it
        ("*.azurecr.io", "azurecr.io", "Azure Container Registry"),
        ("*.OpenAI.azure.com", "openai.azure.com", "Foundry Tools"),
        ("*.eastus.batch.azure.com", "{regionName}.batch.azure.com", "Azure Batch"),
    ], start=1):
        line = next(n for n, text in enumerate(lines, 1) if text.strip() == f"- '{entry}'")
        assert (f"{path}:{line}: ai-serving:openai.allowedFqdns[{i}]: wildcard '{entry}' is too broad: it covers "
                f"every tenant's hosts under '{zone}', an Azure service domain ({service}") in err, err
        assert f"name the exact hosts (like myname.{zone})" in err
    assert "allowedFqdns[0]" not in err  # one vault's host


def test_exact_hosts_under_an_azure_service_domain_and_wildcards_below_one_host_are_allowed(tmp_path, capsys):
    cfg = base_config("dev")
    cfg["ai-serving:openai"]["allowedFqdns"] = ["kv.vault.azure.net", "myreg.azurecr.io", "acct.openai.azure.com",
                                                "srv.database.windows.net", "acct.eastus.batch.azure.com",
                                                "*.myreg.westeurope.data.azurecr.io", "*.azure.example.com"]
    write_stack(tmp_path, "team-t-dev", cfg)
    assert cli("validate", "team-t-dev", "--stack-dir", tmp_path) == 0, capsys.readouterr().err


def test_every_zone_of_the_azure_service_domain_file_is_refused_as_a_wildcard():
    """The check reads its list from the data file: each zone there (placeholders filled with a label) and the
    domain above it make a refused wildcard, and a tenant's host below it stays allowed."""
    import re

    import yaml

    from infra.catalogues import AZURE_SERVICE_DOMAINS_FILE
    from infra.config.model import _fqdn

    doc = yaml.safe_load(AZURE_SERVICE_DOMAINS_FILE.read_text(encoding="utf-8"))
    zones = {re.sub(r"\{[A-Za-z]+\}", "westeurope", z) for cloud in doc["zones"].values() for z in cloud}
    assert {"vault.azure.net", "openai.azure.com", "cognitiveservices.azure.com", "azurecr.io",
            "servicebus.windows.net", "database.windows.net", "vault.usgovcloudapi.net", "vaultcore.azure.cn",
            "westeurope.data.azurecr.io"} <= zones
    for zone in zones:
        for wildcard in (f"*.{zone}", f"*.{zone.split('.', 1)[1]}"):
            with pytest.raises(ValueError, match="too broad"):
                _fqdn(wildcard)
        assert _fqdn(f"tenant-host.{zone}") == f"tenant-host.{zone}"


def test_a_malformed_azure_service_domain_file_is_one_error_naming_file_and_key(monkeypatch):
    from infra import catalogues

    monkeypatch.setattr(catalogues, "load", lambda name: {"zones": {"commercial": {"Vault.Azure.Net ": "Key Vault"},
                                                                    "government": {}, "china": {}}})
    with pytest.raises(ConfigError) as err:
        catalogues.azure_service_domains()
    assert "azure_service_domains.yaml" in str(err.value) and "zones.commercial" in str(err.value)
    assert "'Vault.Azure.Net '" in str(err.value)


def test_a_wildcard_over_any_entry_of_the_public_suffix_list_is_refused():
    """Every entry of both sections, the PRIVATE one (providers' multi-tenant domains) included: `*.<entry>`
    is refused, and one tenant's host under it is allowed."""
    from publicsuffixlist import PSLFILE, encode_idn

    from infra.config.model import _fqdn

    with open(PSLFILE, encoding="utf-8") as source:
        icann, private = source.read().split("// ===BEGIN PRIVATE DOMAINS===")
    entries = {section: [encode_idn(line.split()[0].lstrip("*.")) for line in text.splitlines()
                         if line.strip() and not line.startswith(("//", "!"))]
               for section, text in (("icann", icann), ("private", private))}
    assert {"blob.core.windows.net", "azurewebsites.net", "ngrok-free.app"} <= set(entries["private"])
    assert len(entries["private"]) > 3000 and len(entries["icann"]) > 5000
    for entry in entries["icann"] + entries["private"]:
        with pytest.raises(ValueError, match="too broad"):
            _fqdn(f"*.{entry}")
        assert _fqdn(f"tenant-host.{entry}") == f"tenant-host.{entry}"


def test_duplicate_deployment_names():
    cfg = base_config("dev")
    cfg["ai-serving:openai"]["deployments"].append(dict(cfg["ai-serving:openai"]["deployments"][0]))
    with pytest.raises(ConfigError) as err:
        validate(raw(cfg), stack_name="team-t-dev")
    assert "ai-serving:openai.deployments[1].name: duplicate deployment name 'chat'" in str(err.value)


def test_spot_is_refused_in_prod():
    cfg = base_config("prod")
    cfg["ai-serving:gpuPool"]["spot"] = True
    with pytest.raises(ConfigError, match=r"ai-serving:gpuPool\.spot: spot instances are not allowed in prod"):
        validate(raw(cfg), stack_name="team-t-prod")


def test_a_stack_needs_openai_or_gpu_pool():
    with pytest.raises(ConfigError, match="at least one of `openai` and `gpuPool`"):
        validate(raw(base_config("dev", openai=False, gpu=False)), stack_name="team-t-dev")


def test_a_gated_model_is_fine_with_a_token_and_the_token_is_never_echoed(tmp_path, capsys):
    cfg = base_config("dev")
    cfg["ai-serving:gpuPool"]["model"] = "meta-llama/Llama-3.1-8B-Instruct"
    cfg["ai-serving:modelHubToken"] = "hf_PLANTEDtokenInTheConfigTests0123456789"
    validate(raw(cfg), stack_name="team-t-dev")  # no error
    cfg["ai-serving:gpuPool"]["minInstances"] = 0  # another error: the message must not echo the token
    write_stack(tmp_path, "team-t-dev", cfg)
    assert cli("validate", "team-t-dev", "--stack-dir", tmp_path) == 2
    assert "hf_PLANTED" not in capsys.readouterr().err


def test_every_gated_catalogue_model_is_refused_without_a_token():
    from infra import catalogues

    gated = [m for m, e in catalogues.open_models().items() if e["gated"]]
    assert "Qwen/Qwen2.5-7B-Instruct" not in gated and gated
    for model in gated:
        cfg = base_config("dev")
        cfg["ai-serving:gpuPool"].update(model=model, vmSku="Standard_ND96isr_H200_v5")
        with pytest.raises(ConfigError, match="modelHubToken"):
            validate(raw(cfg), stack_name="team-t-dev")


def test_model_that_does_not_fit_the_gpu_says_what_is_needed():
    cfg = base_config("dev")
    cfg["ai-serving:gpuPool"].update(vmSku="Standard_NC4as_T4_v3", model="meta-llama/Llama-3.1-70B-Instruct")
    with pytest.raises(ConfigError) as err:
        validate(raw(cfg), stack_name="team-t-dev")
    text = str(err.value)
    assert "ai-serving:gpuPool.model" in text and "GB" in text and "16 GB" in text


def test_file_name_must_match_team_and_environment(tmp_path, capsys):
    write_stack(tmp_path, "team-x-dev", base_config("dev"))
    assert cli("validate", "team-x-dev", "--stack-dir", tmp_path) == 2
    assert "the stack is named 'team-x-dev' but team/environment say 'team-t-dev'" in capsys.readouterr().err


def test_errors_cite_file_and_line(tmp_path, capsys):
    text = (ROOT / "stacks" / "Pulumi.team-b-dev.yaml").read_text().replace("maxInstances: 2", "maxInstances: 0")
    path = write_stack(tmp_path, "team-b-dev", text=text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "maxInstances" in ln)
    assert cli("validate", "team-b-dev", "--stack-dir", tmp_path) == 2
    assert f"{path}:{line}: ai-serving:gpuPool.maxInstances" in capsys.readouterr().err


def test_yaml_syntax_error_is_reported_with_line(tmp_path, capsys):
    path = write_stack(tmp_path, "team-t-dev", text="config:\n  ai-serving:team: team-t\n  bad: [unclosed\n")
    assert cli("validate", "team-t-dev", "--stack-dir", tmp_path) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "YAML syntax error" in err and "Traceback" not in err


def test_empty_file_is_reported(tmp_path, capsys):
    write_stack(tmp_path, "team-t-dev", text="")
    assert cli("validate", "team-t-dev", "--stack-dir", tmp_path) == 2
    assert "the file is empty" in capsys.readouterr().err


def test_invalid_stack_declares_nothing(tmp_path, capsys):
    cfg = _mutate(("ai-serving:gpuPool", "vmSku"), "Standard_D4s_v5")
    write_stack(tmp_path, "team-t-dev", cfg)
    out_dir = tmp_path / "out"
    assert cli("plan", "team-t-dev", "--stack-dir", tmp_path, "--no-policy", "--out", out_dir) == 2
    captured = capsys.readouterr()
    assert "ai-serving:gpuPool.vmSku" in captured.err
    assert not (out_dir / "plan.json").exists()


def test_program_refuses_bad_config_before_declaring_anything(plan_stack):
    cfg = _mutate(("ai-serving:gpuPool", "vmSku"), "Standard_D4s_v5")
    run = plan_stack(cfg)
    assert run.exit_code == 2
    assert any("ai-serving:gpuPool.vmSku" in e for e in run.errors)
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]


@pytest.mark.parametrize(("tags", "expect"), [
    ({"Team": "team-b"}, "tag 'Team' is set by the stack itself (from ai-serving:team)"),
    ({"COST-CENTER": "CC-9999"}, "tag 'COST-CENTER' is set by the stack itself (from ai-serving:costCenter)"),
    ({"team": "team-b"}, "tag 'team' is set by the stack itself"),
    ({"product": "search", "Product": "chat"}, "tags 'product' and 'Product' are one tag to Azure"),
])
def test_tags_that_azure_reads_as_the_stacks_own_or_as_one_are_refused(tmp_path, capsys, tags, expect):
    """Found by review: Azure's tag names ignore case, so `Team` beside the stack's `team` was one tag with two
    values, and an exact `team` was silently replaced."""
    cfg = base_config("dev")
    cfg["ai-serving:tags"] = tags
    write_stack(tmp_path, "team-t-dev", cfg)
    assert cli("validate", "--stack-dir", tmp_path) == 2
    said = capsys.readouterr()
    assert expect in said.out + said.err

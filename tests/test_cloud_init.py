"""GPU pool boot configuration: valid cloud-config (cloud-init's own validator), no secrets, the
serving unit runs the configured model over every GPU of the SKU."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import urllib.parse

import pytest
import yaml

from ai_serving.engine import mocks
from infra import catalogues
from infra.components import cloud_init
from infra.components.cloud_init import ServingBoot

from .stackdata import SSH_KEY, base_config

VMSS = "azure-native:compute:VirtualMachineScaleSet"
PLANTED_TOKEN = "hf_PLANTEDtokenNEVERinCUSTOMdata0123456789"
IDENTITY_ID = cloud_init.identity_resource_id("00000000-0000-0000-0000-000000000000", "rg-team-t-dev-sdc",
                                             "id-team-t-dev-sdc-gpu")
TENANT_ID = "11111111-1111-1111-1111-111111111111"


def boot(**overrides) -> ServingBoot:
    values = {
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "image": "vllm/vllm-openai:v0.6.3",
        "port": 8000,
        "tensor_parallel_size": 1,
        "identity_resource_id": IDENTITY_ID,
        "tenant_id": TENANT_ID,
    }
    return ServingBoot(**{**values, **overrides})


MAXIMAL = {
    "max_model_len": 17408,
    "model_hub_secret_url": cloud_init.secret_url("https://kv-team-t-d-0c3b6d.vault.azure.net/"),
    "registry_login_server": "acrteamt.azurecr.io",
    "ssh_enabled": True,
    "tensor_parallel_size": 8,
}


def files(document: str) -> dict[str, str]:
    """Path -> content of the files the document writes."""
    assert document.startswith("#cloud-config\n")
    return {f["path"]: f["content"] for f in yaml.safe_load(document)["write_files"]}


def unit_of(document: str) -> str:
    return files(document)[f"/etc/systemd/system/{cloud_init.UNIT_NAME}"]


def exec_start(unit: str) -> str:
    """The ExecStart command line with systemd's backslash continuations joined."""
    joined = unit.replace("\\\n", " ")
    [line] = [ln for ln in joined.splitlines() if ln.startswith("ExecStart=")]
    return " ".join(line.split())


def custom_data_of(run) -> str:
    vmss = run.one(VMSS)
    return base64.b64decode(vmss.inputs["virtualMachineProfile"]["osProfile"]["customData"]).decode()


@pytest.fixture(scope="module")
def cloud_init_binary() -> str:
    """cloud-init's CLI (Debian package ``cloud-init``); required in CI, optional on a laptop."""
    binary = shutil.which("cloud-init")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("cloud-init is not installed: CI must `apt-get install -y --no-install-recommends cloud-init`")
        pytest.skip("cloud-init is not installed (apt-get install cloud-init); CI runs this test")
    return binary


def assert_schema_valid(binary: str, document: str, tmp_path) -> None:
    path = tmp_path / "user-data.yaml"
    path.write_text(document, encoding="utf-8")
    result = subprocess.run([binary, "schema", "--config-file", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


# --- the YAML emitter -------------------------------------------------------------------------


@pytest.mark.parametrize("overrides", [{}, MAXIMAL, {"ssh_enabled": True}], ids=["defaults", "maximal", "ssh"])
def test_libyaml_and_pure_python_emitters_write_the_same_document(overrides):
    """render() uses libyaml when PyYAML has it; without it the pure-Python emitter must give the same bytes."""
    assert yaml.__with_libyaml__, "PyYAML's wheel ships libyaml: render() would fall back to the slow emitter"
    assert issubclass(cloud_init._LiteralDumper, yaml.CSafeDumper)

    class PurePython(yaml.SafeDumper):
        pass

    PurePython.add_representer(str, cloud_init._str_representer)
    document = cloud_init.cloud_config(boot(**overrides))
    pure = "#cloud-config\n" + yaml.dump(document, Dumper=PurePython, sort_keys=False, width=1000)
    assert cloud_init.render(boot(**overrides)) == pure
    assert "content: |" in pure  # the embedded files stay readable blocks in both


# --- cloud-init's validator -------------------------------------------------------------------


@pytest.mark.parametrize("overrides", [{}, MAXIMAL], ids=["defaults", "maximal"])
def test_rendered_document_is_valid_cloud_config(cloud_init_binary, tmp_path, overrides):
    assert_schema_valid(cloud_init_binary, cloud_init.render(boot(**overrides)), tmp_path)


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_planned_custom_data_is_valid_cloud_config(plan_stack, cloud_init_binary, tmp_path, environment):
    cfg = base_config(environment)
    cfg["ai-serving:modelHubToken"] = PLANTED_TOKEN
    run = plan_stack(cfg)
    assert run.exit_code == 0, run.errors
    assert_schema_valid(cloud_init_binary, custom_data_of(run), tmp_path)


def test_the_validator_rejects_a_broken_document(cloud_init_binary, tmp_path):
    """Guards the guard: a misspelt write_files key must fail, or the tests above prove nothing."""
    document = cloud_init.render(boot()).replace("  permissions:", "  permission:", 1)
    path = tmp_path / "broken.yaml"
    path.write_text(document, encoding="utf-8")
    result = subprocess.run([cloud_init_binary, "schema", "--config-file", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "permission" in result.stdout + result.stderr


# --- secrets ----------------------------------------------------------------------------------


def test_model_hub_token_never_enters_custom_data(plan_stack):
    cfg = base_config("dev")
    cfg["ai-serving:modelHubToken"] = PLANTED_TOKEN
    run = plan_stack(cfg)
    assert run.exit_code == 0, run.errors
    document = custom_data_of(run)
    assert PLANTED_TOKEN not in document
    assert PLANTED_TOKEN not in run.one(VMSS).inputs["virtualMachineProfile"]["osProfile"]["customData"]
    # Instead the instance reads the vault secret with the identity the scale set is given, named by its id.
    prestart = files(document)[cloud_init.PRESTART_PATH]
    vault = run.outputs["keyVaultUri"].rstrip("/")
    assert f"'{vault}/secrets/model-hub-token?api-version=7.4'" in prestart
    identity = run.one("azure-native:managedidentity:UserAssignedIdentity", "id-team-t-dev-sdc-gpu")
    [given] = run.one(VMSS).inputs["identity"]["userAssignedIdentities"]
    assert given == mocks.arm_id(identity.type, identity.name, identity.inputs)  # what Azure will call it
    imds = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
    assert f"{imds}&resource=$1&msi_res_id={urllib.parse.quote(given, safe='')}" in prestart
    assert "HF_TOKEN=%s" in prestart and f"> {cloud_init.RUNTIME_DIR}/serving.env" in prestart


def test_prestart_never_exposes_tokens():
    prestart = files(cloud_init.render(boot(**MAXIMAL)))[cloud_init.PRESTART_PATH]
    commands = [ln.strip() for ln in prestart.splitlines() if not ln.lstrip().startswith("#")]
    assert not any(re.match(r"set .*-[a-z]*x", c) for c in commands)  # no command tracing
    assert "umask 077" in commands
    # Bearer tokens reach curl on stdin, never in argv (visible in `ps`).
    assert "--header @-" in prestart and "--data @-" in prestart
    assert not re.search(r"-H ['\"]?Authorization", prestart)
    assert "--password-stdin" in prestart
    # The token file and registry credentials live on tmpfs.
    assert cloud_init.RUNTIME_DIR.startswith("/run/")
    assert f"DOCKER_CONFIG={cloud_init.RUNTIME_DIR}/docker" in unit_of(cloud_init.render(boot(**MAXIMAL)))


def test_without_token_or_registry_nothing_is_fetched():
    prestart = files(cloud_init.render(boot()))[cloud_init.PRESTART_PATH]
    assert "vault.azure.net" not in prestart
    assert "docker login" not in prestart


# --- what the instance runs -------------------------------------------------------------------


def test_serving_unit_runs_the_model_and_restarts_forever():
    unit = unit_of(cloud_init.render(boot(**MAXIMAL)))
    assert "\nRestart=always\n" in unit
    assert "\nStartLimitIntervalSec=0\n" in unit  # never gives up retrying
    assert "\nWantedBy=multi-user.target\n" in unit
    command = exec_start(unit)
    assert command.startswith("ExecStart=/usr/bin/docker run --rm --name ai-serving --gpus all")
    assert " vllm/vllm-openai:v0.6.3 --model meta-llama/Llama-3.1-8B-Instruct " in command
    assert " --tensor-parallel-size 8 " in command
    assert " --max-model-len 17408 " in command
    assert command.endswith(" --host 0.0.0.0 --port 8000")
    assert " --publish 8000:8000 " in command


def test_unit_is_enabled_at_boot_without_blocking_cloud_init():
    document = yaml.safe_load(cloud_init.render(boot(**MAXIMAL)))
    assert ["systemctl", "enable", "--now", "--no-block", cloud_init.UNIT_NAME] in document["runcmd"]
    assert document["ssh_pwauth"] is False
    # No cloud-init `packages:` (its apt lock wait is 30 s): the prestart's install script installs
    # Docker and the toolkit with a lock wait that covers the NVIDIA driver extension.
    assert "packages" not in document and "package_update" not in document
    toolkit = next(f["content"] for f in document["write_files"] if f["path"] == cloud_init.TOOLKIT_PATH)
    assert f"DPkg::Lock::Timeout={cloud_init.APT_LOCK_TIMEOUT_SECONDS}" in toolkit
    assert "packages+=(docker.io)" in toolkit and "packages+=(nvidia-container-toolkit)" in toolkit


def test_ssh_daemon_is_masked_without_a_key_and_kept_with_one():
    mask = ["systemctl", "mask", "--now", "ssh.service", "ssh.socket"]
    assert mask in yaml.safe_load(cloud_init.render(boot()))["runcmd"]
    assert mask not in yaml.safe_load(cloud_init.render(boot(ssh_enabled=True)))["runcmd"]


def test_container_toolkit_comes_from_nvidia_with_a_pinned_key():
    toolkit = files(cloud_init.render(boot()))[cloud_init.TOOLKIT_PATH]
    assert cloud_init.NVIDIA_TOOLKIT_KEY_FINGERPRINT in toolkit
    assert "https://nvidia.github.io/libnvidia-container/gpgkey" in toolkit
    assert (f"apt-get -o DPkg::Lock::Timeout={cloud_init.APT_LOCK_TIMEOUT_SECONDS} install --yes "
            '"${packages[@]}"') in toolkit
    assert "command -v docker >/dev/null 2>&1 || packages+=(docker.io)" in toolkit
    assert "command -v nvidia-ctk >/dev/null 2>&1 || packages+=(nvidia-container-toolkit)" in toolkit
    assert "nvidia-ctk runtime configure --runtime=docker" in toolkit


@pytest.mark.parametrize("overrides", [{}, MAXIMAL], ids=["defaults", "maximal"])
def test_boot_scripts_are_valid_bash(tmp_path, overrides):
    for path, content in files(cloud_init.render(boot(**overrides))).items():
        if content.startswith("#!/bin/bash"):
            script = tmp_path / path.rsplit("/", 1)[-1]
            script.write_text(content, encoding="utf-8")
            result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
            assert result.returncode == 0, f"{path}: {result.stderr}"


def test_serving_unit_parses_cleanly_with_systemd(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    unit = tmp_path / cloud_init.UNIT_NAME
    unit.write_text(unit_of(cloud_init.render(boot(**MAXIMAL))), encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, check=False)
    # Missing docker / scripts are expected on this machine; syntax problems name a file line.
    problems = [ln for ln in (result.stdout + result.stderr).splitlines() if re.search(r"\.service:\d+:", ln)]
    assert problems == []


@pytest.mark.parametrize(("vm_sku", "model"), [
    ("Standard_NV36ads_A10_v5", "meta-llama/Llama-3.1-8B-Instruct"),
    ("Standard_NC48ads_A100_v4", "meta-llama/Llama-3.1-8B-Instruct"),
    ("Standard_NC96ads_A100_v4", "meta-llama/Llama-3.1-70B-Instruct"),
    ("Standard_ND96isr_H100_v5", "meta-llama/Llama-3.1-405B-Instruct-FP8"),
])
def test_tensor_parallel_size_is_the_skus_gpu_count(plan_stack, vm_sku, model):
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"].update(vmSku=vm_sku, model=model)
    cfg["ai-serving:modelHubToken"] = PLANTED_TOKEN  # the Llama models are gated
    run = plan_stack(cfg)
    assert run.exit_code == 0, run.errors
    command = exec_start(unit_of(custom_data_of(run)))
    gpus = catalogues.gpu_skus()[vm_sku]["gpus"]
    assert f" --tensor-parallel-size {gpus} " in command
    assert f" --model {model} " in command


def test_context_is_capped_where_a_full_context_does_not_fit(plan_stack):
    # Llama 3.1 8B (128k context) on one 24 GB A10: the KV cache for 131072 tokens does not fit.
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"].update(vmSku="Standard_NV36ads_A10_v5", model="meta-llama/Llama-3.1-8B-Instruct")
    cfg["ai-serving:modelHubToken"] = PLANTED_TOKEN  # gated
    command = exec_start(unit_of(custom_data_of(plan_stack(cfg))))
    assert " --max-model-len 17408 " in command
    # On an 80 GB A100 the model's own maximum fits.
    cfg["ai-serving:gpuPool"].update(vmSku="Standard_NC24ads_A100_v4")
    command = exec_start(unit_of(custom_data_of(plan_stack(cfg))))
    assert " --max-model-len 131072 " in command


def test_uncatalogued_model_uses_its_own_context(plan_stack):
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"].update(model="ibm-granite/granite-3.0-8b-instruct", sshPublicKey=SSH_KEY)
    command = exec_start(unit_of(custom_data_of(plan_stack(cfg))))
    assert "--max-model-len" not in command
    assert " --model ibm-granite/granite-3.0-8b-instruct " in command


@pytest.mark.parametrize(("field", "value", "message"), [
    ("model", "evil; rm -rf /", "not a Hugging Face model id"),
    ("model", "org/name%i", "not a Hugging Face model id"),  # % is a systemd specifier
    ("image", "vllm/vllm-openai:v0.6.3 --privileged", "not a container image reference"),
    ("identity_resource_id", "22222222-2222-2222-2222-222222222222", "a user-assigned identity's ARM id"),
    ("identity_resource_id", IDENTITY_ID + "\"; curl evil #", "a user-assigned identity's ARM id"),
    ("tenant_id", "not-a-uuid", "must be a UUID"),
    ("model_hub_secret_url", "http://kv.vault.azure.net/secrets/x", "must be https"),
    ("registry_login_server", "acr.azurecr.io; curl evil", "not a host name"),
])
def test_values_that_could_break_out_of_the_unit_or_a_shell_are_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        boot(**{field: value})

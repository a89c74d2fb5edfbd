"""The boot rehearsal: every GPU stack's VM would serve, and each audited blocker makes it fail.

Each rehearsal plans a stack under mocks and plays the planned custom data in a chroot with
recording fakes (ai_serving/rehearsal). The blocker tests put each defect the audit found back
(the old template line, the old health extension, a check switched off) and assert the rehearsal
names it, so the rehearsal cannot pass on a VM that would not serve.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest
import yaml

from ai_serving.engine.project import read_stack_config
from ai_serving.engine.runner import run_program
from ai_serving.org.new_team import pick_model
from ai_serving.rehearsal import rehearse_run, render
from ai_serving.rehearsal.boot import contracts
from ai_serving.rehearsal.sandbox import Sandbox
from infra import catalogues
from infra.components import cloud_init, gpu_pool
from infra.config import checks, raw_from_config_map, validate
from infra.config.model import DEFAULT_SERVING_IMAGE

from .cli_helpers import cli, write_stack
from .stackdata import as_decrypted, base_config, stack_name

ROOT = Path(__file__).resolve().parent.parent
GPU_STACKS = [p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
              if "ai-serving:gpuPool" in (yaml.safe_load(p.read_text()) or {}).get("config", {})]
TOKEN = "hf_PLANTEDtokenForTheRehearsal0123456789"
IDENTITY_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-team-t-dev-sdc/providers/"
               "Microsoft.ManagedIdentity/userAssignedIdentities/id-team-t-dev-sdc-gpu")
BOOT = cloud_init.ServingBoot(model="Qwen/Qwen2.5-7B-Instruct", image="vllm/vllm-openai:v0.34.0", port=8000,
                              tensor_parallel_size=1, identity_resource_id=IDENTITY_ID,
                              tenant_id="11111111-1111-1111-1111-111111111111")


@pytest.fixture
def rehearse_config(project, tmp_path):
    """Plan a ``config:`` mapping and rehearse its pool's boot; returns the Rehearsal."""

    def rehearse(config: dict, stack_dir: Path | None = None):
        stack = stack_name(config)
        path = (stack_dir or tmp_path) / f"Pulumi.{stack}.yaml"
        if stack_dir is None:
            path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
        stack_config = read_stack_config(project, stack, path)
        cfg = validate(raw_from_config_map(stack_config.values), stack_name=stack, source=path)
        run = run_program(project, stack, as_decrypted(stack_config))
        assert run.exit_code == 0, run.errors
        rehearsal = rehearse_run(run, cfg)
        assert rehearsal is not None
        return rehearsal

    return rehearse


def problems(rehearsal) -> str:
    return "\n".join(rehearsal.problems)


@pytest.mark.parametrize("stack", GPU_STACKS)
def test_every_example_gpu_stack_would_serve(project, rehearse_config, stack):
    assert GPU_STACKS, "no example stack has a gpuPool"
    config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    rehearsal = rehearse_config(config, stack_dir=ROOT / "stacks")
    assert rehearsal.ok, "\n".join(render(rehearsal))
    calls = [c for s in rehearsal.steps for c in s.calls]
    run = next(c for c in calls if c["tool"] == "docker" and c["argv"][0] == "run")
    image = config["ai-serving:gpuPool"].get("servingImage", DEFAULT_SERVING_IMAGE)
    # A private-supply pool runs the same reference from its private registry.
    assert image in run["argv"] or any(a.endswith("/" + image) and ".azurecr.io/" in a for a in run["argv"])
    assert {"apt-get", "nvidia-ctk", "nvidia-smi", "docker", "systemctl"} <= {c["tool"] for c in calls}


@pytest.mark.parametrize("vm_sku", list(catalogues.gpu_skus()))
def test_every_catalogued_size_serves_the_model_new_team_picks(rehearse_config, vm_sku):
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"].update(vmSku=vm_sku, model=pick_model(vm_sku), spot=False)
    rehearsal = rehearse_config(cfg)
    assert rehearsal.ok, "\n".join(render(rehearsal))
    [run] = [c for s in rehearsal.steps for c in s.calls if c["tool"] == "docker" and c["argv"][0] == "run"]
    gpus = catalogues.gpu_skus()[vm_sku]["gpus"]
    assert run["argv"][run["argv"].index("--tensor-parallel-size") + 1] == str(gpus)


def test_token_registry_path_calls_imds_key_vault_and_acr_with_their_contracts(rehearse_config, monkeypatch):
    shared = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shared/providers/"
              "Microsoft.ContainerRegistry/registries/acrshared")
    real = catalogues.load  # the platform shares the registry (infra/catalogues/shared_supply.yaml)
    monkeypatch.setattr(catalogues, "load", lambda name: {"registries": [shared], "storageAccounts": []}
                        if name == "shared_supply" else real(name))
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"].update(model="meta-llama/Llama-3.1-8B-Instruct",
                                     registryId="/subscriptions/00000000-0000-0000-0000-000000000000/"
                                                "resourceGroups/rg-shared/providers/Microsoft.ContainerRegistry/"
                                                "registries/acrshared",
                                     servingImage="acrshared.azurecr.io/vllm/vllm-openai:v0.34.0")
    cfg["ai-serving:modelHubToken"] = TOKEN  # the model is gated
    rehearsal = rehearse_config(cfg)
    assert rehearsal.ok, "\n".join(render(rehearsal))
    calls = [c for s in rehearsal.steps for c in s.calls]
    curls = [" ".join(c["argv"]) for c in calls if c["tool"] == "curl"]
    assert any("169.254.169.254" in u and "resource=https://vault.azure.net" in u for u in curls)
    assert any(".vault.azure.net/secrets/model-hub-token?api-version=" in u for u in curls)
    assert any("acrshared.azurecr.io/oauth2/exchange" in u for u in curls)
    assert any(c["tool"] == "docker" and c["argv"][0] == "login" for c in calls)
    # The planted token never reaches a command line or the fakes' log.
    assert TOKEN not in "\n".join(" ".join(c["argv"]) for c in calls)


def test_the_rehearsal_leaves_this_machine_untouched(rehearse_config):
    rehearse_config(a10_config())
    assert not Path("/etc/apt/sources.list.d/nvidia-container-toolkit.list").exists()
    assert not Path(cloud_init.PRESTART_PATH).exists()
    assert not Path("/etc/systemd/system/ai-serving.service").exists()


def test_a_second_start_installs_nothing_again():
    # The prestart runs before every start: once Docker and the toolkit are there it is a no-op.
    toolkit = next(f for f in cloud_init.cloud_config(BOOT)["write_files"] if f["path"] == cloud_init.TOOLKIT_PATH)
    installed = {"preinstalled": ["docker.io", "nvidia-container-toolkit"], "docker_runtimes": ["nvidia"]}
    with Sandbox(contracts(), {"gpus": 1, "gpu": "A10"}, installed) as box:
        box.path(cloud_init.TOOLKIT_PATH).write_text(toolkit["content"])
        box.path(cloud_init.TOOLKIT_PATH).chmod(0o755)
        result = box.run([cloud_init.TOOLKIT_PATH])
        calls = box.calls()
    assert result.status == 0, result.stderr
    assert calls == []  # no key download, no apt, no docker reload
    with Sandbox(contracts(), {"gpus": 1, "gpu": "A10"}) as box:  # a fresh image: everything happens
        box.path(cloud_init.TOOLKIT_PATH).write_text(toolkit["content"])
        box.path(cloud_init.TOOLKIT_PATH).chmod(0o755)
        assert box.run([cloud_init.TOOLKIT_PATH]).status == 0
        tools = [c["tool"] for c in box.calls()]
    assert tools == ["curl", "gpg", "gpg", "apt-get", "apt-get", "nvidia-ctk", "systemctl"]


# --- The four blockers of the audit, put back one at a time ------------------------------------

OLD_APT_LINE = 'echo "deb [signed-by={{ keyring }}] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /" > /etc/apt/sources.list.d/nvidia-container-toolkit.list\n'


def a10_config() -> dict:
    """A pool on plain Ubuntu + the driver extension: the install script installs everything itself."""
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"]["vmSku"] = "Standard_NV36ads_A10_v5"
    return cfg


def rehearse_with_template(rehearse_config, monkeypatch, tmp_path, name, edit, cfg):
    """Rehearse ``cfg`` with the template ``name`` changed by ``edit`` (text -> text), the others as shipped."""
    templates = tmp_path / "templates"
    templates.mkdir()
    for src in cloud_init.TEMPLATES_DIR.iterdir():
        text = src.read_text()
        (templates / src.name).write_text(edit(text) if src.name == name else text)
    monkeypatch.setattr(cloud_init, "TEMPLATES_DIR", templates)
    cloud_init._templates.cache_clear()
    try:
        return rehearse_config(cfg)
    finally:
        cloud_init._templates.cache_clear()


def _old_apt_line(text):
    lines = text.splitlines(keepends=True)
    i = next(n for n, ln in enumerate(lines) if ln.lstrip().startswith("printf '%s\\n' {{ source_line"))
    lines[i] = OLD_APT_LINE
    return "".join(lines)


def test_fails_on_the_double_quoted_arch_apt_line(rehearse_config, monkeypatch, tmp_path):
    rehearsal = rehearse_with_template(rehearse_config, monkeypatch, tmp_path, "install-container-toolkit.sh.j2",
                                       _old_apt_line, a10_config())
    assert not rehearsal.ok
    assert "ARCH: command not found" in problems(rehearsal)
    assert "stable/deb/ /' does not have a Release file" in problems(rehearsal)


def test_fails_on_the_rich_health_extension(rehearse_config, monkeypatch):
    monkeypatch.setattr(gpu_pool, "HEALTH_EXTENSION", ("Microsoft.ManagedServices", "ApplicationHealthLinux", "2.0"))
    rehearsal = rehearse_config(base_config("dev", openai=False))
    assert not rehearsal.ok
    assert "Rich Health States" in problems(rehearsal) and "empty body" in problems(rehearsal)


def test_fails_on_a_gated_model_without_a_token(rehearse_config, monkeypatch):
    monkeypatch.setattr(checks, "_gated_model", lambda cfg: iter(()))  # the config check, switched off
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"]["model"] = "meta-llama/Llama-3.1-8B-Instruct"
    rehearsal = rehearse_config(cfg)
    assert not rehearsal.ok
    assert "meta-llama/Llama-3.1-8B-Instruct is gated" in problems(rehearsal)


def test_fails_on_a_pool_that_starts_at_zero_with_metric_autoscale(rehearse_config, monkeypatch):
    monkeypatch.setattr(checks, "_zero_instances", lambda cfg: iter(()))  # the config check, switched off
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"]["minInstances"] = 0
    rehearsal = rehearse_config(cfg)
    assert not rehearsal.ok
    assert "no VM ever boots" in problems(rehearsal)


# --- Other contracts the fakes hold --------------------------------------------------------------

def test_fails_on_cloud_init_packages_with_its_30_second_apt_lock_wait(rehearse_config, monkeypatch):
    original = cloud_init.cloud_config
    monkeypatch.setattr(cloud_init, "cloud_config",
                        lambda boot: {**original(boot), "package_update": True, "packages": ["docker.io"]})
    rehearsal = rehearse_config(base_config("dev", openai=False))
    assert "no lock wait of at least 600 s" in problems(rehearsal)
    # With any lock wait, cloud-init's apt runs at first boot, before the driver extension is done.
    assert "apt-get -o DPkg::Lock::Timeout=30 runs before the NVIDIA driver is installed" in problems(rehearsal)


def test_fails_when_systemd_would_kill_the_prestart_during_the_apt_lock_wait(rehearse_config, monkeypatch):
    monkeypatch.setattr(cloud_init, "START_TIMEOUT_SECONDS", 20 * 60)  # the old TimeoutStartSec=20min
    rehearsal = rehearse_config(a10_config())
    assert "is shorter than the apt lock waits of this start (1800 s)" in problems(rehearsal)


def test_fails_on_a_flag_the_pinned_vllm_does_not_have(rehearse_config, monkeypatch, tmp_path):
    rehearsal = rehearse_with_template(
        rehearse_config, monkeypatch, tmp_path, "ai-serving.service.j2",
        lambda text: text.replace("    --host 0.0.0.0 \\\n", "    --disable-log-requests \\\n    --host 0.0.0.0 \\\n"),
        base_config("dev", openai=False))
    assert "unrecognized arguments: --disable-log-requests (not a flag of vLLM 0.34.0)" in problems(rehearsal)


def test_imds_call_without_the_metadata_header_is_rejected():
    expect = {"identity_resource_id": IDENTITY_ID, "gpus": 1, "gpu": "A10"}
    url = ("http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
           f"&resource=https://vault.azure.net&msi_res_id={urllib.parse.quote(IDENTITY_ID, safe='')}")
    with Sandbox(contracts(), expect) as box:
        bare = box.run(["curl", "--fail", "--max-time", "5", "--noproxy", "*", url])
        good = box.run(["curl", "--fail", "--max-time", "5", "--noproxy", "*", "--header", "Metadata:true", url])
        calls = box.calls()
    assert bare.status != 0 and "Metadata: true" in calls[0]["rejected"]
    assert good.status == 0 and calls[1]["rejected"] is None and "access_token" in good.stdout


def test_an_unknown_command_is_command_not_found():
    with Sandbox(contracts(), {"gpus": 1, "gpu": "A10"}) as box:
        result = box.run(["bash", "-c", "wget https://example.com/"])
    assert result.status == 127 and "wget: command not found" in result.stderr


def test_cli_rehearse_prints_the_steps_and_exits_0(capsys):
    assert cli("rehearse", "team-a-dev", "--project", ROOT) == 0
    out = capsys.readouterr().out
    assert "ExecStart=/usr/bin/docker run" in out and "ok: the VM would serve" in out


def test_cli_rehearse_of_a_bad_stack_is_one_clear_message_and_exit_2(tmp_path, capsys):
    cfg = base_config("dev", openai=False)
    cfg["ai-serving:gpuPool"]["model"] = "meta-llama/Llama-3.1-8B-Instruct"
    write_stack(tmp_path, stack_name(cfg), cfg)
    assert cli("rehearse", stack_name(cfg), "--project", ROOT, "--stack-dir", tmp_path) == 2
    err = capsys.readouterr().err
    assert "gpuPool.model" in err and "modelHubToken" in err and "Traceback" not in err


def test_health_settings_outside_the_versions_schema_are_named():
    from ai_serving.rehearsal.boot import _health_step

    def profile(version: str, **extra) -> dict:
        settings = {"protocol": "http", "port": 8000, "requestPath": "/health", **extra}
        return {"extensionProfile": {"extensions": [
            {"type": "ApplicationHealthLinux", "typeHandlerVersion": version, "settings": settings}]}}

    assert _health_step(profile("1.0"), 8000).problems == []
    assert "gracePeriod are not in the 1.0 schema" in " ".join(_health_step(profile("1.0", gracePeriod=600), 8000).problems)
    assert "probes '/v1/models'" in " ".join(_health_step(profile("1.0", requestPath="/v1/models"), 8000).problems)


def test_cli_rehearse_of_a_stack_without_a_pool_or_unknown_says_so(tmp_path, capsys):
    cfg = base_config("dev", gpu=False)
    write_stack(tmp_path, stack_name(cfg), cfg)
    assert cli("rehearse", stack_name(cfg), "--project", ROOT, "--stack-dir", tmp_path) == 2
    assert "has no gpuPool" in capsys.readouterr().err
    assert cli("rehearse", "team-zz-dev", "--project", ROOT, "--stack-dir", tmp_path) == 2
    assert "no stack 'team-zz-dev'" in capsys.readouterr().err


def test_fails_when_the_prestart_does_not_wait_for_the_driver(rehearse_config, monkeypatch, tmp_path):
    def drop_driver_wait(text):
        start = text.index("if ! nvidia-smi")
        return text[:start] + text[text.index("fi\n", start) + 3:]

    rehearsal = rehearse_with_template(rehearse_config, monkeypatch, tmp_path, "ai-serving-prestart.sh.j2",
                                       drop_driver_wait, a10_config())
    assert "the prestart succeeded without a GPU driver" in problems(rehearsal)



def test_fails_when_the_prestart_runs_apt_before_the_driver_is_installed(rehearse_config, monkeypatch, tmp_path):
    # The old order: the toolkit installer first, then the driver check. On first boot its apt calls
    # take the dpkg lock while the driver extension may need it, and the extension fails rather than
    # waits (MicrosoftDocs/azure-docs#111614).
    def toolkit_first(text):
        gate = text[text.index("if ! nvidia-smi"):text.index("fi\n", text.index("if ! nvidia-smi")) + 3]
        text = text.replace(gate, "")
        return text.replace("{{ toolkit_path }}\n", "{{ toolkit_path }}\n\n" + gate, 1)

    rehearsal = rehearse_with_template(rehearse_config, monkeypatch, tmp_path, "ai-serving-prestart.sh.j2",
                                       toolkit_first, a10_config())
    found = problems(rehearsal)
    assert "apt-get -o DPkg::Lock::Timeout=900 runs before the NVIDIA driver is installed" in found
    assert "MicrosoftDocs/azure-docs#111614" in found
    first = next(s for s in rehearsal.steps if s.what.startswith("first start"))
    assert [c["tool"] for c in first.calls if c["tool"] == "apt-get"]  # the calls it blames are that start's


def test_the_first_start_before_the_driver_calls_nothing_but_nvidia_smi(rehearse_config):
    rehearsal = rehearse_config(a10_config())
    assert rehearsal.ok, problems(rehearsal)
    first = next(s for s in rehearsal.steps if s.what.startswith("first start"))
    assert [c["tool"] for c in first.calls] == ["nvidia-smi"]

# --- Private supply (prod): image and weights only from the private endpoints, by identity ---------

def test_prod_fetches_image_and_weights_with_its_identity_from_private_endpoints_only(rehearse_config):
    rehearsal = rehearse_config(base_config("prod", openai=False))
    assert rehearsal.ok, "\n".join(render(rehearsal))
    # The first boot (the start after a killed download repeats some of it; it has its own test).
    calls = [c for s in rehearsal.steps if not s.what.startswith("a start after one killed") for c in s.calls]
    urls = [a for c in calls if c["tool"] == "curl" for a in c["argv"] if a.startswith(("http://", "https://"))]
    hosts = {u.split("/")[2] for u in urls}
    registry = next(h for h in hosts if h.endswith(".azurecr.io"))
    blob = next(h for h in hosts if h.endswith(".blob.core.windows.net"))
    # IMDS, the private registry and blob account, and NVIDIA's toolkit key (OS packages, not model supply).
    assert hosts == {"169.254.169.254", registry, blob, "nvidia.github.io"}
    assert any("resource=https://storage.azure.com/" in u for u in urls)
    assert any("comp=list" in u for u in urls) and sum("comp=list" in u for u in urls) == 2  # follows NextMarker
    assert [c for c in calls if c["tool"] == "docker" and c["argv"][0] == "login"]
    run = next(c for c in calls if c["tool"] == "docker" and c["argv"][0] == "run")
    assert any(a.startswith(registry + "/vllm/vllm-openai:v0.34.0@sha256:") for a in run["argv"])
    # Tokens travel on stdin only: never an Authorization header on a command line.
    assert not any("Authorization" in a or "Bearer" in a for c in calls for a in c["argv"])


def test_fails_when_a_prod_pool_pulls_its_image_from_docker_hub_again(rehearse_config, monkeypatch):
    monkeypatch.setattr(cloud_init, "image_in_registry", lambda image, server: image)  # the hub pull, back
    rehearsal = rehearse_config(base_config("prod", openai=False))
    assert not rehearsal.ok
    assert "comes from a public registry" in problems(rehearsal)


def test_fails_when_a_prod_pool_loads_its_model_from_the_hub_again(rehearse_config, monkeypatch, tmp_path):
    rehearsal = rehearse_with_template(
        rehearse_config, monkeypatch, tmp_path, "ai-serving.service.j2",
        lambda text: text.replace("--model {{ container_weights_dir }}/{{ weights.path }}", "--model {{ model }}"),
        base_config("prod", openai=False))
    assert not rehearsal.ok
    assert "makes vLLM fetch them from the model hub" in problems(rehearsal)


def test_fails_when_the_weights_download_is_not_made_with_the_identity(rehearse_config, monkeypatch, tmp_path):
    rehearsal = rehearse_with_template(
        rehearse_config, monkeypatch, tmp_path, "ai-serving-prestart.sh.j2",
        lambda text: text.replace("imds_token {{ storage_resource | sh }}", "imds_token https://vault.azure.net"),
        base_config("prod", openai=False))
    assert not rehearsal.ok
    assert "token for https://storage.azure.com/>' from the pool's managed identity" in problems(rehearsal)



def test_fails_when_a_start_after_a_killed_download_fetches_everything_again(rehearse_config, monkeypatch,
                                                                              tmp_path):
    # A large model's download can outlast TimeoutStartSec: each new start must go on where the last
    # one stopped, or a 400 GB model is never complete.
    def no_resume(text):
        start = text.index('            if [ -e "$target" ]; then')
        return text[:start] + text[text.index("            fi\n", start) + len("            fi\n"):]

    rehearsal = rehearse_with_template(rehearse_config, monkeypatch, tmp_path, "ai-serving-prestart.sh.j2",
                                       no_resume, base_config("prod", openai=False))
    assert "again; only ['Qwen/Qwen2.5-7B-Instruct/model.safetensors'] was missing" in problems(rehearsal)


def test_a_start_after_a_killed_download_fetches_only_the_missing_blob(rehearse_config):
    rehearsal = rehearse_config(base_config("prod", openai=False))
    assert rehearsal.ok, problems(rehearsal)
    [resumed] = [s for s in rehearsal.steps if s.what.startswith("a start after one killed mid-download")]
    assert [c["note"] for c in resumed.calls if c["note"].startswith("downloaded ")] == [
        "downloaded Qwen/Qwen2.5-7B-Instruct/model.safetensors"]

def test_fails_when_the_hub_is_not_switched_off(rehearse_config, monkeypatch, tmp_path):
    rehearsal = rehearse_with_template(
        rehearse_config, monkeypatch, tmp_path, "ai-serving.service.j2",
        lambda text: text.replace("    --env HF_HUB_OFFLINE=1 \\\n", ""), base_config("prod", openai=False))
    assert not rehearsal.ok
    assert "HF_HUB_OFFLINE=1 is not set" in problems(rehearsal)

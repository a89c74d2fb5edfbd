"""The scripts that fill the private supply run against recording fakes of `az` and `huggingface-cli`.

Each fake records its argv (and whether HF_TOKEN reached it through the environment) and answers as
the real tool does for the calls the scripts make; the tests assert the exact arguments: Entra ID
login only (--auth-mode login), no keys, no SAS, the hub token never on a command line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ai_serving import supply

ROOT = Path(__file__).resolve().parent.parent
DIGEST = "sha256:" + "ab" * 32
FAKE = r'''#!{python}
import json, os, sys
from pathlib import Path
argv = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as fh:
    fh.write(json.dumps({{"tool": Path(sys.argv[0]).name, "argv": argv,
                         "hf_token": os.environ.get("HF_TOKEN")}}) + "\n")
if Path(sys.argv[0]).name == "az" and argv[:3] == ["acr", "repository", "show"]:
    print(os.environ.get("FAKE_DIGEST", ""))
if Path(sys.argv[0]).name == "huggingface-cli":
    out = Path(argv[argv.index("--local-dir") + 1])
    (out / ".cache").mkdir(parents=True)
    (out / "config.json").write_text("{{}}")
'''


@pytest.fixture
def fakes(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("az", "huggingface-cli"):
        (bin_dir / tool).write_text(FAKE.format(python=sys.executable))
        (bin_dir / tool).chmod(0o755)
    log = tmp_path / "calls.jsonl"

    def run(script: str, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
        environ = {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_LOG": str(log), "FAKE_DIGEST": DIGEST, **env}
        proc = subprocess.run([str(ROOT / "scripts" / script), *args], capture_output=True, text=True,
                              env=environ, check=False)
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return proc, calls

    return run


def test_import_image_imports_the_pinned_upstream_reference_and_prints_the_digest(fakes):
    proc, calls = fakes("import-image.sh", "crteamap3620dc21", "vllm/vllm-openai:v0.34.0")
    assert proc.returncode == 0, proc.stderr
    assert [c["argv"] for c in calls] == [
        ["acr", "import", "--name", "crteamap3620dc21", "--source", "docker.io/vllm/vllm-openai:v0.34.0",
         "--image", "vllm/vllm-openai:v0.34.0"],
        ["acr", "repository", "show", "--name", "crteamap3620dc21", "--image", "vllm/vllm-openai:v0.34.0",
         "--query", "digest", "--output", "tsv"],
    ]
    assert f"servingImage: vllm/vllm-openai:v0.34.0@{DIGEST}" in proc.stdout


def test_import_image_by_digest_refuses_a_registry_that_holds_other_bytes(fakes):
    other = "sha256:" + "cd" * 32
    proc, calls = fakes("import-image.sh", "crx12345", f"ghcr.io/org/img:v1@{other}")
    assert proc.returncode == 1 and "differs from the pinned" in proc.stderr
    assert calls[0]["argv"][4:] == ["--source", f"ghcr.io/org/img:v1@{other}", "--image", "org/img:v1"]


def test_upload_weights_uses_entra_login_and_keeps_the_hub_token_off_the_command_line(fakes):
    token = "hf_PLANTEDtokenForTheUploadTest0123456789"
    proc, calls = fakes("upload-weights.sh", "stteamapweights975ebae8", "qwen-qwen2-5-7b-instruct",
                        "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "a09a3545", HF_TOKEN=token)
    assert proc.returncode == 0, proc.stderr
    download, upload = calls
    assert download["tool"] == "huggingface-cli" and download["hf_token"] == token
    assert download["argv"][:4] == ["download", "Qwen/Qwen2.5-7B-Instruct", "--revision", "a09a3545"]
    local = download["argv"][download["argv"].index("--local-dir") + 1]
    assert upload["argv"] == ["storage", "blob", "upload-batch", "--auth-mode", "login", "--account-name",
                              "stteamapweights975ebae8", "--destination", "qwen-qwen2-5-7b-instruct",
                              "--destination-path", "Qwen/Qwen2.5-7B-Instruct", "--source", local, "--overwrite",
                              "--only-show-errors"]
    argv_text = " ".join(a for c in calls for a in c["argv"])
    assert token not in argv_text and "--account-key" not in argv_text and "--sas-token" not in argv_text
    assert not Path(local).exists()  # the local copy is gone


@pytest.mark.parametrize("script", ["import-image.sh", "upload-weights.sh"])
def test_scripts_refuse_wrong_arguments_with_usage(fakes, script):
    proc, calls = fakes(script)
    assert proc.returncode == 2 and "usage:" in proc.stderr and calls == []


def test_scripts_are_shellcheck_clean():
    scripts = sorted(str(p) for p in (ROOT / "scripts").glob("*.sh"))
    assert subprocess.run(["shellcheck", *scripts], capture_output=True, text=True).returncode == 0


def test_supply_names_what_the_program_declares(plan_stack):
    import yaml

    values = supply.supply("team-a-prod")
    config = yaml.safe_load((ROOT / "stacks" / "Pulumi.team-a-prod.yaml").read_text())["config"]
    run = plan_stack(config)
    assert run.exit_code == 0, run.errors
    assert values["registry"] == run.one("azure-native:containerregistry:Registry").inputs["registryName"]
    assert values["account"] == run.one("azure-native:storage:StorageAccount").inputs["accountName"]
    assert values["container"] == run.one("azure-native:storage:BlobContainer").inputs["containerName"]
    assert values["path"] == "Qwen/Qwen2.5-7B-Instruct"
    assert "registry" not in supply.supply("team-a-dev") and "account" not in supply.supply("team-a-dev")


def test_supply_of_a_bad_stack_is_exit_2_without_traceback(capsys):
    assert supply.main(["no-such-stack"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no stack 'no-such-stack' in ") and "Traceback" not in err, err

"""Boot configuration of a GPU pool instance: a cloud-config document rendered from templates.

The document is built as a Python dict and dumped with PyYAML; the files it writes (the systemd
unit of the model server and two boot scripts) are Jinja2 templates under ``infra/templates/``.
Nothing is string-concatenated, and every value that reaches a shell is quoted by the template.

What an instance does at boot (the image and driver per GPU family are chosen in
``gpu_pool.py``):

1. cloud-init writes the files below and starts the unit; with no SSH key configured it also masks
   the SSH daemon. It installs no packages itself (its apt lock wait is 30 s, see ``TOOLS``).
2. ``ai-serving.service`` (``Restart=always``) runs the serving container. Before every start,
   ``ai-serving-prestart``: waits for the GPU driver (no apt call before it: the driver extension
   fails, rather than waits, when it finds the dpkg lock held), installs Docker and the NVIDIA
   container toolkit (once; apt waits for any other holder of the lock; NVIDIA's signing key must
   match a pinned fingerprint), fetches the model-hub token from Key Vault with the pool's managed
   identity (IMDS token -> vault REST call) and, with a registry, logs Docker in to it with the same
   identity.

Secrets never appear here: custom data holds only the vault's secret URL and the identity's client
id, both public identifiers. The token exists only in memory and in a root-only file on tmpfs.
"""

from __future__ import annotations

import base64
import re
import shlex
import urllib.parse
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from ..config.checks import MODEL_ID_RE
from ..config.model import IMAGE_RE as _IMAGE_RE
from ..config.model import UUID_RE as _UUID_RE
from ..config.patterns import full_match

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"

SERVING_HEALTH_PATH = "/health"
"""vLLM's OpenAI-compatible server answers 200 here once the model is loaded."""
MODEL_HUB_SECRET_NAME = "model-hub-token"
"""The Key Vault secret holding the model-hub (Hugging Face) token."""
KEY_VAULT_API_VERSION = "7.4"

NVIDIA_TOOLKIT_KEY_URL = "https://nvidia.github.io/libnvidia-container/gpgkey"
NVIDIA_TOOLKIT_KEY_FINGERPRINT = "C95B321B61E88C1809C4F759DDCAE044F796ECB0"
"""NVIDIA CORPORATION (Open Source Projects) <cudatools@nvidia.com>, the key that signs the
libnvidia-container apt repository. If NVIDIA rotates it, update this constant."""
NVIDIA_TOOLKIT_REPOSITORY = "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH)"
"""A flat repository with one directory per architecture (``stable/deb/amd64/InRelease``; there is no
``stable/deb/Release``). ``$(ARCH)`` is apt's variable, as in NVIDIA's ``nvidia-container-toolkit.list``:
it must reach the list file literally (the template single-quotes the line)."""
APT_LOCK_TIMEOUT_SECONDS = 900
"""How long each apt-get waits for the dpkg lock (the driver extension's work after its reboot, the image's
apt-daily and unattended-upgrades runs at first boot)."""
START_TIMEOUT_SECONDS = 2 * APT_LOCK_TIMEOUT_SECONDS + 15 * 60
"""The unit's ``TimeoutStartSec``: both apt-get lock waits (update, install) plus 15 minutes for the
downloads, so systemd never kills the prestart while apt is still legitimately waiting."""

UNIT_NAME = "ai-serving.service"
CONTAINER_NAME = "ai-serving"
PRESTART_PATH = "/usr/local/sbin/ai-serving-prestart"
TOOLKIT_PATH = "/usr/local/sbin/ai-serving-install-container-toolkit"
RUNTIME_DIR = "/run/ai-serving"
"""tmpfs: the token env file and registry credentials vanish at shutdown."""
CACHE_DIR = "/var/lib/ai-serving/huggingface"
"""Model weights cache on the OS disk, so a restart does not download the model again."""
WEIGHTS_DIR = "/var/lib/ai-serving/models"
"""Weights downloaded from Blob storage (host side), so a restart does not download them again."""
CONTAINER_WEIGHTS_DIR = "/models"
"""Where the container sees ``WEIGHTS_DIR`` (read-only); vLLM loads ``--model`` from here."""
STORAGE_RESOURCE = "https://storage.azure.com/"
"""The token audience of Blob storage data-plane calls with Entra ID (Authorize with Microsoft Entra ID)."""
STORAGE_API_VERSION = "2023-11-03"
"""``x-ms-version`` of the Blob REST calls; OAuth bearer tokens need 2017-11-09 or later."""
TOOLS = (("docker", "docker.io"), ("nvidia-ctk", "nvidia-container-toolkit"))
"""(command, package) the prestart's install script installs when the command is missing, with the lock
wait, not cloud-init's ``packages:``. curl, gnupg and ca-certificates are in the Ubuntu image already."""
KEYRING = "/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg"

_HOST_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_BLOB_HOST_RE = re.compile(r"^[a-z0-9]{3,24}\.blob\.core\.windows\.net$")
_CONTAINER_RE = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
_BLOB_PATH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


@dataclass(frozen=True)
class BlobWeights:
    """The model's files in a private blob container: ``https://<host>/<container>/<path>/...``."""

    host: str
    """``<account>.blob.core.windows.net``."""
    container: str
    path: str
    """The blob prefix (folder) of the model's files."""

    def __post_init__(self) -> None:
        # Values reach a URL and a shell: refuse anything but a blob host, a container and plain segments.
        if not full_match(_BLOB_HOST_RE, self.host):
            raise ValueError(f"weights host {self.host!r} is not <account>.blob.core.windows.net")
        if not full_match(_CONTAINER_RE, self.container):
            raise ValueError(f"weights container {self.container!r} is not a blob container name")
        if not full_match(_BLOB_PATH_RE, self.path):
            raise ValueError(f"weights path {self.path!r} is not a blob prefix of plain segments")


def image_in_registry(image: str, login_server: str) -> str:
    """``image`` as imported into the private registry ``login_server``.

    ``az acr import`` keeps the repository path without the source registry (``docker.io/vllm/x:t``
    -> ``vllm/x:t``) and the manifest digest, so ``repo:tag@sha256:...`` pulls the same bytes.
    """
    first, _, rest = image.partition("/")
    repository = rest if rest and ("." in first or ":" in first or first == "localhost") else image
    return f"{login_server}/{repository}"


@dataclass(frozen=True)
class ServingBoot:
    """Everything an instance needs to serve its model. Only public identifiers, never secrets."""

    model: str
    """Hugging Face model id, e.g. ``meta-llama/Llama-3.1-8B-Instruct``."""
    image: str
    """Serving container image (vLLM's OpenAI-compatible server)."""
    port: int
    tensor_parallel_size: int
    """The SKU's GPU count: vLLM shards the model over every GPU of the VM."""
    identity_resource_id: str
    """ARM id of the pool's user-assigned identity: IMDS picks that identity by it (``msi_res_id``). Not its
    client id, which Azure assigns when the identity is created: a boot document built from it could not be
    known in a new stack's first preview, so no policy could judge the scale set's custom data there, and
    ``pulumi up`` created most of a stack before VMSS-11 stopped it (found by review). The id is built from
    names the program already knows (``identity_resource_id``)."""
    tenant_id: str
    max_model_len: int | None = None
    """``--max-model-len``. Default: the model's own maximum context."""
    model_hub_secret_url: str | None = None
    """Key Vault secret URL of the model-hub token. Default: no token (public models only)."""
    registry_login_server: str | None = None
    """``<registry>.azurecr.io`` to log Docker in to with the identity. Default: no login."""
    ssh_enabled: bool = False
    """False: cloud-init masks the SSH daemon, so an instance has no SSH access at all."""
    weights: BlobWeights | None = None
    """Download the weights from this private container at boot. Default: vLLM fetches them from the hub."""

    def __post_init__(self) -> None:
        # These values end up in a systemd unit and shell scripts: refuse anything unexpected.
        if not full_match(MODEL_ID_RE, self.model):
            raise ValueError(f"model id {self.model!r} is not a Hugging Face model id")
        if not full_match(_IMAGE_RE, self.image):
            raise ValueError(f"image {self.image!r} is not a container image reference")
        if not full_match(_UUID_RE, self.tenant_id):
            raise ValueError(f"tenant_id must be a UUID, found {self.tenant_id!r}")
        if not full_match(_IDENTITY_ID_RE, self.identity_resource_id):
            raise ValueError("identity_resource_id must be a user-assigned identity's ARM id, found "
                             f"{self.identity_resource_id!r}")
        if not 1 <= self.tensor_parallel_size <= 16:
            raise ValueError(f"tensor_parallel_size must be 1-16, found {self.tensor_parallel_size}")
        if self.registry_login_server is not None and not full_match(_HOST_RE, self.registry_login_server):
            raise ValueError(f"registry login server {self.registry_login_server!r} is not a host name")
        if self.weights is not None and self.model_hub_secret_url is not None:
            raise ValueError("weights from Blob storage need no model-hub token at boot")
        if self.model_hub_secret_url is not None and not self.model_hub_secret_url.startswith("https://"):
            raise ValueError(f"secret URL must be https, found {self.model_hub_secret_url!r}")


def secret_url(vault_uri: str, secret_name: str = MODEL_HUB_SECRET_NAME) -> str:
    """The data-plane URL that reads the current version of ``secret_name`` in the vault."""
    return f"{vault_uri.rstrip('/')}/secrets/{secret_name}?api-version={KEY_VAULT_API_VERSION}"


def registry_login_server(registry_id: str) -> str:
    """``<name>.azurecr.io`` of an Azure Container Registry resource id (public cloud)."""
    return f"{registry_id.rstrip('/').rsplit('/', 1)[-1].lower()}.azurecr.io"


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,  # a missing value is an error, never an empty string
        autoescape=False,  # shell and systemd, not HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["sh"] = shlex.quote
    return env


_IDENTITY_ID_RE = re.compile(r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[A-Za-z0-9._()-]{1,90}/providers/"
                             r"Microsoft\.ManagedIdentity/userAssignedIdentities/[A-Za-z0-9_-]{3,128}")


def identity_resource_id(subscription_id: str, resource_group: str, name: str) -> str:
    """The ARM id of user-assigned identity ``name`` in ``resource_group``: what Azure returns as its ``id``
    (ARM's resource id format), known before the identity exists."""
    return (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}")


def _render(template: str, **values: Any) -> str:
    return _templates().get_template(template).render(**values)


def _files(boot: ServingBoot) -> list[dict[str, Any]]:
    common = {
        "runtime_dir": RUNTIME_DIR,
        "cache_dir": CACHE_DIR,
        "env_file": f"{RUNTIME_DIR}/serving.env",
        "weights_dir": WEIGHTS_DIR,
        "weights": boot.weights,
    }
    unit = _render(
        "ai-serving.service.j2",
        **common,
        model=boot.model,
        image=boot.image,
        port=boot.port,
        tensor_parallel_size=boot.tensor_parallel_size,
        max_model_len=boot.max_model_len,
        container=CONTAINER_NAME,
        container_weights_dir=CONTAINER_WEIGHTS_DIR,
        prestart_path=PRESTART_PATH,
        start_timeout=START_TIMEOUT_SECONDS,
    )
    prestart = _render(
        "ai-serving-prestart.sh.j2",
        **common,
        toolkit_path=TOOLKIT_PATH,
        # Percent-encoded as a query value, as the Azure SDKs send it (azure-identity's imdsMsi: URLSearchParams).
        identity=urllib.parse.quote(boot.identity_resource_id, safe=""),
        tenant_id=boot.tenant_id,
        secret_url=boot.model_hub_secret_url,
        registry=boot.registry_login_server,
        storage_resource=STORAGE_RESOURCE,
        storage_api_version=STORAGE_API_VERSION,
    )
    toolkit = _render(
        "install-container-toolkit.sh.j2",
        key_url=NVIDIA_TOOLKIT_KEY_URL,
        key_fingerprint=NVIDIA_TOOLKIT_KEY_FINGERPRINT,
        keyring=KEYRING,
        source_line=f"deb [signed-by={KEYRING}] {NVIDIA_TOOLKIT_REPOSITORY} /",
        lock_timeout=APT_LOCK_TIMEOUT_SECONDS,
        tools=TOOLS,
    )
    return [
        {"path": TOOLKIT_PATH, "owner": "root:root", "permissions": "0755", "content": toolkit},
        {"path": PRESTART_PATH, "owner": "root:root", "permissions": "0755", "content": prestart},
        {"path": f"/etc/systemd/system/{UNIT_NAME}", "owner": "root:root", "permissions": "0644", "content": unit},
    ]


def cloud_config(boot: ServingBoot) -> dict[str, Any]:
    """The cloud-config document as data (before it is dumped to YAML)."""
    runcmd: list[list[str]] = []
    if not boot.ssh_enabled:
        # No key configured: no SSH daemon at all (Azure still needs a key, see gpu_pool.py).
        runcmd.append(["systemctl", "mask", "--now", "ssh.service", "ssh.socket"])
    runcmd += [
        ["systemctl", "daemon-reload"],
        # --no-block: the first start installs the container toolkit; cloud-init must not wait.
        ["systemctl", "enable", "--now", "--no-block", UNIT_NAME],
    ]
    # No `packages:`: cloud-init's package step waits only 30 s for the apt lock the driver
    # extension holds; the prestart installs the packages with a long lock wait (and is retried).
    return {
        "ssh_pwauth": False,
        "disable_root": True,
        "write_files": _files(boot),
        "runcmd": runcmd,
    }


# libyaml's emitter when PyYAML was built with it (its wheels are): the same text as the pure-Python
# emitter for these documents (tests/test_cloud_init.py compares them), 25x faster; the pure-Python
# emitter was 4 ms of every GPU pool's program run.
_SAFE_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _LiteralDumper(_SAFE_DUMPER):  # type: ignore[valid-type,misc]
    """Safe dumper that writes multi-line strings (the embedded files) as readable ``|`` blocks."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str_representer)


def render(boot: ServingBoot) -> str:
    """The cloud-config document (``#cloud-config`` header + YAML)."""
    body = yaml.dump(cloud_config(boot), Dumper=_LiteralDumper, sort_keys=False, width=1000)
    return "#cloud-config\n" + body


def custom_data(boot: ServingBoot) -> str:
    """Base64 of the rendered document: the scale set's ``osProfile.customData``."""
    return base64.b64encode(render(boot).encode("utf-8")).decode("ascii")

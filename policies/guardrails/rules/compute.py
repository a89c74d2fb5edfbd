"""Virtual machine scale sets (the GPU serving pool): VMSS-01..11."""

from __future__ import annotations

import base64
import binascii
import re
import shlex
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import config as cfg
from .. import templates
from ..define import azure_policy, checkov, psrule, rule
from ..environment import is_prod
from ..graph import azure_name, parse_arm_id
from ..model import Context, Findings, NotApplicable, StackResource
from ..secret_patterns import LITERAL, SECRET_PATTERNS
from ..values import canonical_type, elements, flat, get, is_true, is_unknown, one_of, present, reveal, shown, shown_as
from .common import has_managed_identity

VMSS = "azure-native:compute:VirtualMachineScaleSet"
VM = "azure-native:compute:VirtualMachine"
NIC = "azure-native:network:NetworkInterface"
PROFILE = "virtualMachineProfile"


def _profile(ctx: Context) -> str:
    """Where the instance settings are: a scale set's ``virtualMachineProfile``, a standalone VM's top level.

    The program declares scale sets only; a standalone VM (password login, public IP) is judged by the
    same rules, so declaring one instead of a scale set does not slip past the pack."""
    return "" if canonical_type(ctx.resource_type) == VM else f"{PROFILE}."


@rule(
    "VMSS-01",
    "vmss-01-allowed-vm-size",
    title="Scale set uses an allowed GPU size",
    description="Scale sets must use a VM size from the GPU catalogue (quota and cost are planned per size).",
    severity="medium",
    category="cost",
    remediation=(
        "Pick `sku.name` from `gpuSkuAllowlist` (default: infra/catalogues/gpu_skus.yaml), or add the size "
        "to the catalogue with its quota family."
    ),
    link=azure_policy("cccc23c7-8427-4f53-ad12-b6a63eb452b3"),
    anchors=("Azure Policy cccc23c7-8427-4f53-ad12-b6a63eb452b3",),
    types=(VMSS,),
    config={
        "gpuSkuAllowlist": cfg.gpu_sku_allowlist(),
        "extraAllowedSkus": cfg.string_list("Further VM sizes allowed besides the GPU catalogue.", []),
    },
)
def vmss01(props: Any, ctx: Context) -> list[str]:
    sku = get(props, "sku.name")
    allowed = [*ctx.config["gpuSkuAllowlist"], *ctx.config["extraAllowedSkus"]]
    if not one_of(sku, allowed):
        return [f"sku.name {shown(sku) if sku is not None else '(unset)'} is not in the VM size allowlist"]
    return []


@rule(
    "VMSS-02",
    "vmss-02-ssh-keys-only",
    title="Scale set allows SSH keys only",
    description="Linux scale sets must disable password authentication and carry no admin password.",
    severity="high",
    category="security",
    remediation=(
        "Set `virtualMachineProfile.osProfile.linuxConfiguration.disablePasswordAuthentication: true`, give "
        "an SSH public key, and drop `adminPassword`."
    ),
    link=psrule("Azure.VMSS.PublicKey"),
    anchors=("PSRule Azure.VMSS.PublicKey", "CKV_AZURE_49"),
    types=(VMSS, VM),
)
def vmss02(props: Any, ctx: Context) -> Findings | NotApplicable:
    os_profile = get(props, f"{_profile(ctx)}osProfile")
    if os_profile is None:
        return NotApplicable("no osProfile: the scale set defines no instances")
    out = Findings()
    with out.check():
        if present(get(os_profile, "adminPassword")):
            out.add("osProfile.adminPassword is set; use SSH keys only")
    with out.check():
        linux = get(os_profile, "linuxConfiguration")
        if linux is None and get(os_profile, "windowsConfiguration") is not None:
            return NotApplicable("Windows scale set")
        if not is_true(get(os_profile, "linuxConfiguration.disablePasswordAuthentication")):
            out.add(
                "osProfile.linuxConfiguration.disablePasswordAuthentication is not true "
                "(unset means passwords are accepted)"
            )
    return out


def _ip_configurations(props: Any, profile: str = f"{PROFILE}.") -> Iterator[tuple[str, Any]]:
    for nic in elements(props, f"{profile}networkProfile.networkInterfaceConfigurations"):
        nic = flat(nic)
        nic_name = get(nic, "name") or "?"
        for ipc in elements(nic, "ipConfigurations"):
            ipc = flat(ipc)
            yield f"{nic_name}/{get(ipc, 'name') or '?'}", ipc


@rule(
    "VMSS-03",
    "vmss-03-no-public-ip",
    title="Scale set instances have no public IP",
    description="Scale set network interfaces must not get public IP addresses.",
    severity="high",
    category="security",
    remediation=(
        "Remove `publicIPAddressConfiguration` from every IP configuration; reach instances through the "
        "private network (Bastion, internal load balancer)."
    ),
    link=azure_policy("83a86a26-fd1f-447c-b59d-e51f44264114"),
    anchors=("Azure Policy 83a86a26-fd1f-447c-b59d-e51f44264114", "CKV_AZURE_* (public IP on VM)"),
    types=(VMSS, VM, NIC),
)
def vmss03(props: Any, ctx: Context) -> list[str]:
    if canonical_type(ctx.resource_type) == NIC:
        # A standalone VM's network interface is its own resource: its IP configurations name the public IP.
        return [
            f"ipConfigurations[{i}] has a publicIPAddress"
            for i, ipc in enumerate(elements(props, "ipConfigurations"))
            if present(get(flat(ipc), "publicIPAddress"))
        ]
    return [
        f"network interface {shown(where)} has a publicIPAddressConfiguration"
        for where, ipc in _ip_configurations(props, _profile(ctx))
        if present(get(ipc, "publicIPAddressConfiguration"))
    ]


@rule(
    "VMSS-04",
    "vmss-04-encryption-at-host",
    title="Scale set encrypts at host",
    description="Scale sets must enable encryption at host (temp disks and caches encrypted end to end).",
    severity="medium",
    category="security",
    remediation=(
        "Set `virtualMachineProfile.securityProfile.encryptionAtHost: true` (register the EncryptionAtHost "
        "feature on the subscription once)."
    ),
    link=azure_policy("fc4d8e41-e223-45ea-9bf5-eada37891d87"),
    anchors=("CKV_AZURE_97", "Azure Policy fc4d8e41-e223-45ea-9bf5-eada37891d87"),
    types=(VMSS,),
)
def vmss04(props: Any, ctx: Context) -> list[str]:
    if not is_true(get(props, f"{PROFILE}.securityProfile.encryptionAtHost")):
        return ["virtualMachineProfile.securityProfile.encryptionAtHost is not true (unset means off)"]
    return []


# A settings key that names a secret: matched on the key lower-cased without separators, at its end,
# so `hfToken` and `storageAccountKey` match but `tokenEndpoint` and `secretName` do not.
_SECRET_KEY = re.compile(
    r"(password|passwd|pwd|secret|token|apikey|accesskey|accountkey|connectionstring|sastoken|sas"
    r"|credential|credentials|privatekey|clientsecret)$"
)
_SECRET_TEXT = [
    # Every kind of secret the stack config also refuses (generated from infra/config/secret_patterns.py).
    *SECRET_PATTERNS,
    # What only a script or a settings value says: a secret's name assigned a literal value of 6+ characters
    # (`password: Hunter2`), not a reference to one (`token=$(az keyvault secret show ...)`).
    (
        "an inline credential",
        re.compile(rf"(?i)(password|passwd|secret|token|api[_-]?key)\s*[:=]\s*['\"]?{LITERAL}[^\s'\"]{{6,}}"),
    ),
]
_REFERENCE = re.compile(r"^(@Microsoft\.KeyVault\(|https://[^/]+\.vault\.azure\.net/)", re.I)


def secret_kinds(text: str) -> list[str]:
    """The kinds of secret found in ``text`` (never the secret itself)."""
    return [kind for kind, pattern in _SECRET_TEXT if pattern.search(text)]


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) for every leaf of a settings object."""
    value = reveal(value)
    if isinstance(value, Mapping):
        for key, child in value.items():
            child = reveal(child)
            if isinstance(child, (Mapping, list)):
                yield from _walk(child, f"{path}.{key}")
            else:
                yield f"{path}.{key}", str(key), child
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _walk(child, f"{path}[{i}]")


_MAX_BOOT_BYTES = 16 << 20
"""The most a compressed boot document may expand to before the pack refuses to read it (Azure takes 64 KiB of
base64 custom data; gzip can make that gigabytes)."""
_GZIP_MAGIC = b"\x1f\x8b"
# Base64 long enough to hide a token: cloud-init's write_files `encoding: b64 | gz+b64` and MIME parts with
# Content-Transfer-Encoding base64 carry content this way, on one line or wrapped over several (a YAML block, MIME's
# 76-character lines: the decoders ignore the line breaks; found by review), in either alphabet (URL-safe `-_`).
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
_BASE64_LINE = r"[ \t]*[A-Za-z0-9+/_-]{4,}={0,2}[ \t]*"
_BASE64_BLOCK = re.compile(rf"(?m)^{_BASE64_LINE}(?:\r?\n{_BASE64_LINE})+$")


class UnreadableBoot(Exception):  # noqa: N818 - a verdict, not an error
    """Compressed boot data the pack cannot read: corrupt, or larger than ``_MAX_BOOT_BYTES`` unpacked."""


def _gunzipped(raw: bytes) -> bytes:
    """``raw``, decompressed when it is gzip (cloud-init unpacks gzip user data before reading it)."""
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    unpack = zlib.decompressobj(wbits=31)
    try:
        out = unpack.decompress(raw, _MAX_BOOT_BYTES)
    except zlib.error as exc:
        raise UnreadableBoot("corrupt gzip data") from exc
    if unpack.unconsumed_tail:
        raise UnreadableBoot(f"gzip data unpacking to over {_MAX_BOOT_BYTES >> 20} MiB")
    return out


def _decoded(data: str) -> str:
    """Custom data / user data is base64; the decoded text, unpacked when gzip-compressed (or the raw text if
    it is not base64). Raises :class:`UnreadableBoot` for compressed data it cannot unpack."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return data
    return _gunzipped(raw).decode("utf-8", errors="replace")


def _with_embedded(text: str, depth: int = 0) -> str:
    """``text`` and what the base64 runs inside it decode to (unpacked when gzip), two levels deep: a token
    in a ``write_files`` entry with ``encoding: gz+b64`` passed a scan of the document's own text (found by
    review)."""
    parts = [text]
    if depth < 2:
        blocks = ["".join(block.split()) for block in _BASE64_BLOCK.findall(text)]
        for run in [*_BASE64_RUN.findall(text), *(b for b in blocks if len(b) >= 24)]:
            alphabet = (b"-_" if "-" in run or "_" in run else None)
            try:
                raw = base64.b64decode(run + "=" * (-len(run) % 4), altchars=alphabet, validate=True)
            except (binascii.Error, ValueError):
                continue
            inner = _gunzipped(raw)  # an embedded file the pack cannot unpack fails closed, as the document does
            if len(inner) < 8:
                continue
            parts.append(_with_embedded(inner.decode("utf-8", errors="replace"), depth + 1))
    return "\n".join(parts)


@rule(
    "VMSS-05",
    "vmss-05-no-secrets-in-settings",
    title="No secrets in extension settings or custom data",
    description=(
        "Scale set extension `settings`, custom data and user data must hold no secrets: they are readable "
        "by anyone who can read the resource."
    ),
    severity="critical",
    category="security",
    remediation=(
        "Move secrets to `protectedSettings` (encrypted) or, better, to Key Vault and read them at boot with "
        "the instance's managed identity."
    ),
    link=psrule("Azure.VMSS.ScriptExtensions"),
    anchors=("PSRule Azure.VMSS.ScriptExtensions",),
    types=(VMSS,),
)
def vmss05(props: Any, ctx: Context) -> Findings:
    out = Findings()
    with out.check():
        for ext in elements(props, f"{PROFILE}.extensionProfile.extensions"):
            ext = flat(ext)
            name = shown(get(ext, "name") or "?")
            for path, key, value in _walk(get(ext, "settings"), "settings"):
                if is_unknown(value) or value is None or value == "":
                    continue
                text = str(value)
                normalised = re.sub(r"[-_. ]", "", key.lower())
                if _SECRET_KEY.search(normalised) and not _REFERENCE.match(text):
                    out.add(
                        f"extension {name} {path} looks like a secret; move it to protectedSettings or Key "
                        f"Vault"
                    )
                elif kinds := secret_kinds(text):
                    out.add(
                        f"extension {name} {path} contains {', '.join(kinds)}; move it to protectedSettings "
                        "or Key Vault"
                    )
    for field in ("osProfile.customData", "userData"):
        with out.check():
            data = get(props, f"{PROFILE}.{field}")
            if not isinstance(data, str):
                continue
            try:
                text = _with_embedded(_decoded(data))
            except UnreadableBoot as exc:
                out.add(f"virtualMachineProfile.{field} holds {exc}, which the pack cannot read; send the boot "
                        "document uncompressed")
                continue
            if kinds := secret_kinds(text):
                out.add(
                    f"virtualMachineProfile.{field} contains {', '.join(kinds)}; read secrets from Key Vault "
                    "at boot instead"
                )
    return out


@rule(
    "VMSS-06",
    "vmss-06-automatic-repairs",
    title="Scale set repairs unhealthy instances",
    description="Scale sets must enable automatic instance repairs, fed by a health signal.",
    severity="low",
    category="hygiene",
    remediation=(
        "Set `automaticRepairsPolicy: {enabled: true, gracePeriod: PT30M+}` and add the "
        "ApplicationHealthLinux extension (or a load-balancer health probe)."
    ),
    link=psrule("Azure.VMSS.AutoInstanceRepairs"),
    anchors=("PSRule Azure.VMSS.AutoInstanceRepairs",),
    types=(VMSS,),
)
def vmss06(props: Any, ctx: Context) -> Findings:
    out = Findings()
    with out.check():
        if not is_true(get(props, "automaticRepairsPolicy.enabled")):
            out.add("automaticRepairsPolicy.enabled is not true (unset means off)")
            return out
    with out.check():
        types = [get(flat(e), "type") for e in elements(props, f"{PROFILE}.extensionProfile.extensions")]
        has_extension = any(isinstance(t, str) and t.lower().startswith("applicationhealth") for t in types)
        has_probe = present(get(props, f"{PROFILE}.networkProfile.healthProbe"))
        if not (has_extension or has_probe):
            out.add(
                "automatic repairs need a health signal: add the ApplicationHealthLinux extension or a "
                "health probe"
            )
    return out


@rule(
    "VMSS-07",
    "vmss-07-managed-identity",
    title="Scale set has a managed identity",
    description=(
        "Scale sets must have a managed identity so instances reach Key Vault, the registry and storage "
        "without stored credentials."
    ),
    severity="medium",
    category="security",
    remediation="Set `identity.type: UserAssigned` with the pool's identity (or SystemAssigned).",
    link="https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/overview",
    anchors=(),
    types=(VMSS,),
)
def vmss07(props: Any, ctx: Context) -> list[str]:
    if not has_managed_identity(props):
        return ["identity.type is unset or None; attach the pool's user-assigned identity"]
    return []


def _has_health_signal(props: Any) -> bool:
    types = [get(flat(e), "type") for e in elements(props, f"{PROFILE}.extensionProfile.extensions")]
    return any(isinstance(t, str) and t.lower().startswith("applicationhealth") for t in types) or present(
        get(props, f"{PROFILE}.networkProfile.healthProbe"))


@rule(
    "VMSS-08",
    "vmss-08-automatic-os-upgrades",
    title="Scale set upgrades its OS image automatically",
    description=(
        "Scale sets must enable automatic OS image upgrades, gated by a health signal, so instances get "
        "the publisher's patched images without anyone rolling them out."
    ),
    severity="medium",
    category="security",
    remediation=(
        "Set `upgradePolicy.automaticOSUpgradePolicy.enableAutomaticOSUpgrade: true` with a rolling "
        "upgrade policy (without `maxSurge` on a Flexible scale set: Azure does not support the two "
        "together), keep the ApplicationHealthLinux extension (or a health probe) and use image "
        "`version: latest`."
    ),
    link=checkov("terraform/checks/resource/azure/VMScaleSetsAutoOSImagePatchingEnabled.py"),
    anchors=("CKV_AZURE_95",),
    types=(VMSS,),
)
def vmss08(props: Any, ctx: Context) -> Findings:
    out = Findings()
    with out.check():
        if not is_true(get(props, "upgradePolicy.automaticOSUpgradePolicy.enableAutomaticOSUpgrade")):
            out.add("upgradePolicy.automaticOSUpgradePolicy.enableAutomaticOSUpgrade is not true "
                    "(unset means off: instances keep the image they were created from, unpatched)")
            return out
    with out.check():
        if not _has_health_signal(props):
            out.add("automatic OS upgrades need a health signal to stop a bad image: add the "
                    "ApplicationHealthLinux extension or a health probe")
    with out.check():
        version = get(props, f"{PROFILE}.storageProfile.imageReference.version")
        if version is not None and not is_unknown(version) and version != "latest":
            out.add(f"imageReference.version is {shown(version)}; automatic OS upgrades follow only `latest`")
    with out.check():
        # "For Virtual Machine Scale Sets with Flexible Orchestration, enabling automatic OS image
        # upgrades and MaxSurge together is not yet supported" (MicrosoftDocs/azure-compute-docs,
        # virtual-machine-scale-sets-maxsurge.md, 2026-05-19).
        mode = get(props, "orchestrationMode")
        if (isinstance(mode, str) and mode.lower() == "flexible"
                and is_true(get(props, "upgradePolicy.rollingUpgradePolicy.maxSurge"))):
            out.add("upgradePolicy.rollingUpgradePolicy.maxSurge is true on a Flexible scale set with automatic OS "
                    "upgrades, which Azure does not support together; set maxSurge: false (in-place batches)")
    return out


# --- Model supply: what the serving container pulls at boot -------------------------------------

_DOCKER_VALUE_OPTIONS = {"--name", "--gpus", "--publish", "-p", "--env-file", "--env", "-e", "--volume", "-v",
                         "--shm-size", "--pull", "--network", "--mount", "--entrypoint", "--user", "-u",
                         "--workdir", "-w", "--label", "-l", "--ipc", "--runtime", "--platform"}
"""``docker run`` options that take a value (docs.docker.com/reference/cli/docker/container/run/)."""
_PRIVATE_REGISTRY = re.compile(r"^[a-z0-9]{5,50}\.azurecr\.io/")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_BLOB_URL = re.compile(r"https://[a-z0-9]{3,24}\.blob\.core\.windows\.net/")


@dataclass(frozen=True)
class ServingContainer:
    """The ``docker run`` a scale set's custom data starts: image, options and the server's arguments."""

    image: str
    env: tuple[str, ...]
    args: tuple[str, ...]

    def arg(self, flag: str) -> str | None:
        """The value of the server argument ``flag`` (``--flag v`` or ``--flag=v``)."""
        for i, word in enumerate(self.args):
            if word == flag and i + 1 < len(self.args):
                return self.args[i + 1]
            if word.startswith(flag + "="):
                return word.split("=", 1)[1]
        return None


def serving_container(text: str) -> ServingContainer | None:
    """The first ``docker run`` in a systemd ``ExecStart=`` of ``text`` (custom data, decoded), if any."""
    lines = [ln.strip() for ln in text.splitlines()]
    for i, line in enumerate(lines):
        if not line.startswith("ExecStart=") or "docker" not in line:
            continue
        command = line[len("ExecStart="):]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command[:-1] + " " + lines[i]
        try:
            words = shlex.split(command)
        except ValueError:
            return None
        if "run" not in words:
            continue
        rest = words[words.index("run") + 1:]
        env: list[str] = []
        j = 0
        while j < len(rest) and rest[j].startswith("-"):
            name = rest[j].split("=", 1)[0]
            value = rest[j].split("=", 1)[1] if "=" in rest[j] else None
            if value is None and name in _DOCKER_VALUE_OPTIONS and j + 1 < len(rest):
                j += 1
                value = rest[j]
            if name in ("--env", "-e") and value:
                env.append(value)
            j += 1
        if j < len(rest):
            return ServingContainer(rest[j], tuple(env), tuple(rest[j + 1:]))
    return None


_IMAGE_TEXT = re.compile(r"[a-z0-9][a-z0-9._/:-]{0,150}(@sha256:[0-9a-f]{64})?")


def _image(value: str) -> str:
    """An image reference for a message: echoed only when it has an image's shape (it is not a secret)."""
    return shown_as(value, _IMAGE_TEXT)


_MODEL_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,150}")


def _model(value: str | None) -> str:
    return shown_as(value, _MODEL_TEXT)


def _container(props: Any) -> tuple[ServingContainer | None, str]:
    data = get(props, f"{PROFILE}.osProfile.customData")
    try:
        text = _decoded(data) if isinstance(data, str) else ""
    except UnreadableBoot:
        text = ""  # VMSS-05 fails the scale set (mandatory): nothing here can be judged
    return serving_container(text), text


_SUPPLY = dict(severity="high", category="security", types=(VMSS,),
               link="https://learn.microsoft.com/azure/container-registry/container-registry-private-link")


REGISTRY = "azure-native:containerregistry:Registry"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
_LOGIN_SERVER = "{}.azurecr.io"
"""An Azure Container Registry's login server (public cloud): its name, lower case, under azurecr.io."""


def image_host(image: str) -> str:
    """The registry host an image reference pulls from.

    Docker's rule (github.com/distribution/reference, normalize.go ``splitDockerDomain``): the first path
    segment is a host only when it holds a ``.`` or ``:`` or is ``localhost``; otherwise the image is on
    Docker Hub."""
    first, _, rest = image.partition("/")
    return first.lower() if rest and ("." in first or ":" in first or first == "localhost") else "docker.io"


def _registry_of_scope(scope: str) -> str | None:
    """The login server of the registry a role assignment scope names (None: the scope is not a registry)."""
    parsed = parse_arm_id(scope)
    if (parsed.get("namespace"), parsed.get("type")) == ("microsoft.containerregistry", "registries"):
        return _LOGIN_SERVER.format(parsed["name"])
    return None


def stack_registries(resources: Sequence[StackResource]) -> tuple[set[str], str | None]:
    """Login servers of the stack's own registries, and the first reference that could not be read.

    The stack's registries are the ones it declares (``containerregistry:Registry``, in a template too)
    and the ones it grants a role on (the program grants the pool AcrPull on ``gpuPool.registryId``):
    the only registries the pool has credentials for. Whether such a grant may reach another team's
    registry is the config check's and ``plan --all``'s question (see ai_serving/org/crossteam.py)."""
    hosts: set[str] = set()
    unknown: str | None = None
    for res in resources:
        if res.canonical_type == REGISTRY:
            name = azure_name(res)
            if name:
                hosts.add(_LOGIN_SERVER.format(name.lower()))
            else:
                unknown = unknown or f"{res.urn}:registryName"
        elif res.canonical_type == ROLE_ASSIGNMENT:
            scope = reveal(res.props.get("scope")) if isinstance(res.props, Mapping) else None
            if isinstance(scope, str) and not is_unknown(scope):
                hosts |= {h for h in (_registry_of_scope(scope),) if h}
            elif is_unknown(scope):
                unknown = unknown or f"{res.urn}:scope"
        elif templates.is_deployment(res.canonical_type):
            for label, token, _ in templates.template_resources(res.props):
                if token == REGISTRY:
                    hosts.add(_LOGIN_SERVER.format(label.rsplit("/", 1)[-1].lower()))
    return hosts, unknown


def _judge_image(image: str, registries: tuple[set[str], str | None], out: Findings, urn: str,
                 where: str = "") -> None:
    """Judge one serving image against the stack's registries."""
    hosts, unknown = registries
    expected = ", ".join(sorted(hosts)) or "none: the stack declares no registry and names none in gpuPool.registryId"
    host = image_host(image)
    if not is_unknown(image) and host in hosts:
        return
    if not is_unknown(image) and _PRIVATE_REGISTRY.match(image):
        if unknown:
            out.undetermined.append(unknown)  # an unread registry name may be this host
        else:
            out.add(f"{where}the serving container pulls {_image(image)} from {_image(host)}, which is not the "
                    f"stack's registry (expected {expected})", urn)
        return
    out.add(f"{where}the serving container pulls {_image(image)}, not from a private Azure Container Registry "
            f"(<name>.azurecr.io); expected the stack's registry ({expected})", urn)


def _prod_images(resources: Sequence[StackResource], ctx: Context) -> Iterator[tuple[str, str, str]]:
    """(image, urn to report against, message prefix) of every prod scale set that starts a container,
    declared or inside an ARM template deployment."""
    for res in resources:
        if res.canonical_type == VMSS:
            found = [("", res.props)]
        elif templates.is_deployment(res.canonical_type):
            found = [(f"template resource {label} (VirtualMachineScaleSet): ", props)
                     for label, token, props in templates.template_resources(res.props) if token == VMSS]
        else:
            continue
        for where, props in found:
            container = _container(props)[0] if is_prod(props, ctx) else None
            if container is not None:
                yield container.image, res.urn, where


@rule(
    "VMSS-09",
    "vmss-09-prod-image-from-private-registry",
    title="Prod pool pulls its image from the stack's private registry",
    description=(
        "A production GPU pool must pull its serving image from the stack's own Azure Container Registry (the "
        "one it declares, or the shared one `gpuPool.registryId` names and the pool is granted AcrPull on), "
        "reached through its private endpoint: never from a public registry such as Docker Hub, nor from "
        "another `*.azurecr.io` registry, which anyone can create with anonymous pull and which the pool "
        "reaches over the Internet."
    ),
    remediation=(
        "Set `gpuPool.imageSource: registry` (the prod default), import the image with "
        "`make import-image STACK=...`, and pull `<registry>.azurecr.io/<repository>@sha256:...`."
    ),
    anchors=("Azure AI landing zone: private container registry",),
    # A stack rule: which registries are the stack's own is known only from its other resources.
    scope="stack",
    **_SUPPLY,
)
def vmss09(resources: Sequence[StackResource], ctx: Context) -> Findings | NotApplicable:
    images = list(_prod_images(resources, ctx))
    if not images:
        # Nothing else is read then: a dev stack's preview never waits on its registry's unknowns.
        return NotApplicable("no production scale set starts a container")
    out = Findings()
    registries = stack_registries(resources)
    for image, urn, where in images:
        _judge_image(image, registries, out, urn, where)
    return out


@rule(
    "VMSS-10",
    "vmss-10-prod-image-by-digest",
    title="Prod pool pulls its image by digest",
    description="A production GPU pool must reference its serving image by digest (@sha256:...), not by a "
                "mutable tag, so every instance, repair and scale-out runs the same bytes.",
    remediation="Pin `gpuPool.servingImage: <repository>:<tag>@sha256:<digest>` (the digest "
                "`make import-image` prints).",
    anchors=("SLSA: pin dependencies by digest",),
    # Mandatory (a security rule), and also a config error (exit 2) unless waived: the waiver, the one
    # visible override, reaches the engine through the plan's deploy-policy-config.json, which runs a
    # waived mandatory policy advisory (ai_serving/deploy_policy.py).
    **_SUPPLY,
)
def vmss10(props: Any, ctx: Context) -> list[str] | NotApplicable:
    if not is_prod(props, ctx):
        return NotApplicable("not production")
    container, _ = _container(props)
    if container is None:
        return NotApplicable("the custom data starts no container")
    if not _DIGEST.search(container.image):
        return [f"the serving container pulls {_image(container.image)} by tag, not by @sha256 digest"]
    return []


@rule(
    "VMSS-11",
    "vmss-11-prod-weights-from-private-storage",
    title="Prod pool loads its weights from private storage",
    description=(
        "A production GPU pool must download its model weights from Blob storage behind a private endpoint "
        "(with its managed identity) and load them from local disk with the model hub switched off, never "
        "from Hugging Face over the Internet."
    ),
    remediation=(
        "Set `gpuPool.modelSource: {kind: blob}` (the prod default) and upload the model once with "
        "`make upload-weights STACK=...`."
    ),
    anchors=("Azure AI landing zone: private model storage", "KAITO: weights from Blob"),
    **_SUPPLY,
)
def vmss11(props: Any, ctx: Context) -> Findings | NotApplicable:
    if not is_prod(props, ctx):
        return NotApplicable("not production")
    container, text = _container(props)
    if container is None:
        return NotApplicable("the custom data starts no container")
    out = Findings()
    model = container.arg("--model") or next((a for a in container.args if not a.startswith("-")), None)
    with out.check():
        if model is None or not model.startswith("/"):
            out.add(f"vLLM loads --model {_model(model)} from the model hub (Hugging Face, public internet); "
                    "load a local copy downloaded from private Blob storage")
    with out.check():
        if "HF_HUB_OFFLINE=1" not in container.env:
            out.add("the serving container does not set HF_HUB_OFFLINE=1: vLLM may still call the model hub")
    with out.check():
        if not _BLOB_URL.search(text):
            out.add("the boot path downloads no weights from <account>.blob.core.windows.net")
    return out


RULES = (vmss01, vmss02, vmss03, vmss04, vmss05, vmss06, vmss07, vmss08, vmss09, vmss10, vmss11)

"""The typed stack configuration: one model that every component receives.

Shape, types and ranges are checked by pydantic as the YAML is read; rules that relate several
keys (catalogue look-ups, model fit, address-space size, environment policy) are checked in
``checks.py``. Both report key paths, so an error names exactly what to fix.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import unicodedata
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, StringConstraints
from pydantic.alias_generators import to_camel

from .errors import SECRETS, shown
from .patterns import full_match
from .profiles import PROFILES, Environment, EnvironmentProfile
from .public_suffix import shared_suffix
from .secret_patterns import PRIVATE_KEY

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$")
ARM_ID_RE = re.compile(
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/\s]+/providers/[^/\s]+/[^/\s]+/[^/\s]+(/[^/\s]+/[^/\s]+)*")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
IMAGE_RE = re.compile(r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?(@sha256:[a-f0-9]{64})?$")
"""A container image reference (``name[:tag][@sha256:digest]``); also checked again where it is rendered."""
DEFAULT_SERVING_IMAGE = "vllm/vllm-openai:v0.34.0"
"""vLLM 0.34.0, the current release on PyPI on 2026-12-02. Not pinned by digest: no source reachable
from here publishes the image's digest (Docker Hub is not); pin ``@sha256:...`` per stack once read
from the registry. The rehearsal checks the unit's flags against this release's flag list."""
SSH_KEY_RE = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( \S.*)?$")


# The fields after the key type in each public key blob (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4): ed25519 a
# 32-byte key; RSA the exponent and modulus; ECDSA the curve name and the point.
_SSH_KEY_FIELDS = {"ssh-ed25519": 1, "ssh-rsa": 2, "ecdsa-sha2-nistp256": 2, "ecdsa-sha2-nistp384": 2,
                   "ecdsa-sha2-nistp521": 2}


def _ssh_fields(blob: bytes) -> list[bytes] | None:
    """The length-prefixed strings (uint32 big-endian length, then the bytes) a blob consists of, or None when
    it is not exactly a sequence of them."""
    fields, at = [], 0
    while at < len(blob):
        if at + 4 > len(blob):
            return None
        size = int.from_bytes(blob[at:at + 4], "big")
        at += 4
        if at + size > len(blob):
            return None
        fields.append(blob[at:at + size])
        at += size
    return fields


def _ssh_public_key(value: str) -> str:
    """Accept only a real OpenSSH public key line: the base64 must decode to the key type's own public key
    blob (its first field names the same type, then exactly that type's fields). A private key disguised as a
    public key line (``ssh-ed25519 <base64 of an OpenSSH or PKCS#8 private key>``), which the line pattern
    alone accepted and the plan then carried into plan.json, is named as one and never echoed."""
    kind, _, rest = value.partition(" ")
    body = rest.split(" ", 1)[0]
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        blob = b""
    fields = _ssh_fields(blob)
    expected = _SSH_KEY_FIELDS.get(kind)
    valid = (fields is not None and expected is not None and len(fields) == 1 + expected
             and fields[0] == kind.encode() and (kind != "ssh-ed25519" or len(fields[1]) == 32)
             and (not kind.startswith("ecdsa-") or fields[1] == kind.rsplit("-", 1)[1].encode()))
    if valid:
        return value
    try:
        raw = base64.b64decode(body[: len(body) // 4 * 4])
    except (binascii.Error, ValueError):
        raw = b""
    # OpenSSH's private key format, or a PKCS#8 / PKCS#1 private key (DER: a SEQUENCE holding an INTEGER version).
    if b"openssh-key-v1" in raw or raw[:1] == b"\x30" and b"\x02\x01\x00" in raw[:8]:
        leaked = next(s for s in SECRETS if s.kind == PRIVATE_KEY)
        raise ValueError("expected an OpenSSH public key line (ssh-ed25519 AAAA... from the .pub file); found "
                         f"{leaked.kind} inside one (not shown; {leaked.advice})")
    raise ValueError(f"expected an OpenSSH public key line (ssh-ed25519 AAAA... from the .pub file); its base64 is "
                     f"not a {kind} public key (not shown)")


def _email(value: str) -> str:
    if not full_match(EMAIL_RE, value):
        raise ValueError(f"expected an email address like name@example.com, found {shown(value)}")
    return value


def _arm_id(value: str) -> str:
    # One spelling per id: a trailing "/" once hid a hub address overlap (ids compare as text).
    value = value.rstrip("/") if value.count("/") > 1 else value
    if not full_match(ARM_ID_RE, value):
        raise ValueError(
            "expected an Azure resource id like /subscriptions/<uuid>/resourceGroups/<rg>/providers/"
            f"<namespace>/<type>/<name>, found {shown(value)}"
        )
    return value


def _private_ipv4_network(value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    from .addressing import RFC1918

    if not any(value.subnet_of(block) for block in RFC1918):
        raise ValueError(f"expected a private (RFC 1918) range inside 10/8, 172.16/12 or 192.168/16, found {value}")
    return value


def _strict_network(value: object) -> object:
    # A CIDR with host bits set ("10.0.0.1/24") is almost always a typo: reject rather than mask.
    if isinstance(value, ipaddress.IPv4Network):
        return value
    if not isinstance(value, str):
        # ipaddress takes a number as an address (`addressSpace: true` was 0.0.0.1/32, `10` was 0.0.0.10/32),
        # and the message then named a range nobody wrote.
        raise ValueError(f"expected an IPv4 CIDR like 10.42.0.0/22 (text); found {shown(value)}")
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"expected an IPv4 CIDR like 10.42.0.0/22, found {shown(value)} ({exc})") from None


Email = Annotated[str, AfterValidator(_email)]
ArmId = Annotated[str, AfterValidator(_arm_id)]
Uuid = Annotated[str, StringConstraints(pattern=UUID_RE.pattern)]
TeamSlug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,11}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,23}$")]
IPv4Cidr = Annotated[
    ipaddress.IPv4Network,
    Field(strict=False),
    BeforeValidator(_strict_network),
    AfterValidator(_private_ipv4_network),
]
RESERVED_TAG_PREFIXES = ("microsoft", "azure", "windows")
"""Tag name prefixes Azure reserves for itself (case-insensitive); it rejects tags that use them."""
MAX_TEAM_TAGS = 50 - 4
"""Azure allows 50 tags per resource; ``naming.tags`` adds four of its own (team, environment, cost-center,
managed-by)."""


def _tag_key(value: str) -> str:
    if value.lower().startswith(RESERVED_TAG_PREFIXES):
        raise ValueError(f"tag names starting with {', '.join(RESERVED_TAG_PREFIXES)} are reserved by Azure; "
                         f"found {shown(value)}")
    return value


STACK_TAG_KEYS = ("team", "environment", "cost-center", "managed-by")
"""The tags the stack sets on every resource from its own keys (``naming.tags``); a team's ``tags`` cannot set them."""


def _tags(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_TEAM_TAGS:
        raise ValueError(f"at most {MAX_TEAM_TAGS} tags (Azure allows 50 per resource and the stack adds 4); "
                         f"found {len(value)}")
    # Azure's tag names are case-insensitive: `Team` beside the stack's `team` is one tag with two values (a
    # failed or wrongly attributed deployment), and an exact `team` was silently replaced (found by review).
    seen: dict[str, str] = {}
    for key in value:
        folded = key.casefold()
        if folded in STACK_TAG_KEYS:
            raise ValueError(f"tag {shown(key)} is set by the stack itself (from {_STACK_TAG_SOURCES[folded]}); "
                             "Azure's tag names ignore case, so remove it")
        if folded in seen:
            raise ValueError(f"tags {shown(seen[folded])} and {shown(key)} are one tag to Azure (tag names ignore "
                             "case); keep one")
        seen[folded] = key
    return value


_STACK_TAG_SOURCES = {"team": "ai-serving:team", "environment": "ai-serving:environment",
                      "cost-center": "ai-serving:costCenter", "managed-by": "the platform: always pulumi"}


_HOST_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
FQDN_RE = re.compile(rf"(\*\.)?{_HOST_LABEL}(\.{_HOST_LABEL})+")


def _fqdn(value: str) -> str:
    """An outbound allow-list entry: a host name, or ``*.`` + a domain of one owner (not at or above a shared
    domain: ``shared_suffix``)."""
    host = value.lower()
    # `*`, `*.com`, `*.blob.core.windows.net`, `*.vault.azure.net`: a wildcard over a shared domain opens the
    # exfiltration path to every tenant of it (anyone's storage account, key vault, web app or tunnel).
    shared = shared_suffix(host[2:]) if host.startswith("*.") else None
    if host == "*" or shared is not None:
        # The shared domain comes from the lists, not from the stack file: quoted as it is ({placeholders} too).
        covers = f"every tenant's hosts under '{shared.name}', {shared.listed_in}" if shared else "every host"
        raise ValueError(f"wildcard {shown(value)} is too broad: it covers {covers}; name the exact hosts (like "
                         f"myname.{shared.name if shared else 'example.com'}) or a wildcard below a domain of your "
                         "own (*.example.com)")
    if not full_match(FQDN_RE, host) or len(host) > 253:
        raise ValueError(f"expected a host name like api.example.com (or *.example.com); found {shown(value)}")
    return host


TagKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$"), AfterValidator(_tag_key)]
TagValue = Annotated[str, StringConstraints(max_length=256)]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _calendar_date(value: object) -> object:
    """A day written as YYYY-MM-DD (YAML's unquoted date arrives as that text): not a number, which
    pydantic would read as seconds since 1970 (``expires: 0`` was 1970-01-01), nor a timestamp."""
    if isinstance(value, date) or full_match(_ISO_DATE, value):
        return value
    raise ValueError(f"expected a date written as YYYY-MM-DD, like 2027-01-31; found {shown(value)}")


CalendarDate = Annotated[date, BeforeValidator(_calendar_date), Field(strict=False)]

MAX_MONTHLY_BUDGET = 10_000_000
"""The largest monthly budget a stack may declare, in the billing currency: a typo guard (one extra
zero, 1e300), far above any team's spend; Azure's own budget API sets no documented ceiling."""
Fqdn = Annotated[str, AfterValidator(_fqdn)]


class _Model(BaseModel):
    """Strict, closed, camelCase-keyed base: a typo anywhere is an error, never silently ignored."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        allow_inf_nan=False,  # `.inf` / `.nan` are YAML floats; no amount or size may be one
    )


DnsZoneKey = Literal["openai", "cognitiveservices", "aiservices", "keyvault", "blob", "acr"]


class NetworkConfig(_Model):
    """The stack's virtual network."""

    address_space: IPv4Cidr
    """One private IPv4 CIDR, /24 or larger; subnets are carved from it (see addressing.py)."""
    hub_vnet_id: ArmId | None = None
    """Optional hub VNet to peer with: one the platform lists in infra/catalogues/shared_network.yaml.
    Default: no peering."""
    private_dns_zone_ids: dict[DnsZoneKey, ArmId] = Field(default_factory=dict)
    """Central private DNS zones to use: ones the platform lists in infra/catalogues/shared_network.yaml.
    Default: the stack creates and links its own zones."""


DeploymentSku = Literal[
    "Standard",
    "GlobalStandard",
    "DataZoneStandard",
    "ProvisionedManaged",
    "GlobalProvisionedManaged",
    "DataZoneProvisionedManaged",
    "GlobalBatch",
    "DataZoneBatch",
    "Developer",
]


TokenCount = Annotated[int, Field(ge=0, le=10**15)]


class ExpectedTokens(_Model):
    """Tokens a deployment is expected to bill per month, for the cost estimate's *expected* figure."""

    input: TokenCount = 0
    cached_input: TokenCount = 0
    output: TokenCount = 0


class DeploymentConfig(_Model):
    """One Azure OpenAI model deployment."""

    name: Slug
    model: str
    version: str
    sku: DeploymentSku
    capacity: Annotated[int, Field(gt=0, le=100_000)]
    """Thousands of tokens per minute (standard types) or PTUs (provisioned types)."""
    content_filter: str = "default"
    """A profile from infra/catalogues/content_filters.yaml. Default: `default`."""
    existing_since: CalendarDate | None = None
    """For a version Microsoft has since closed to new customers (stage Deprecated): the day this
    subscription first deployed it. Existing customers may keep deploying it until retirement, so
    validation accepts a deprecated version only with this date (before the deprecation date, when
    known). Default: none (a new customer)."""
    spillover_deployment: Slug | None = None
    """A global / data-zone provisioned deployment only: the name of a standard deployment of the same
    model and version in this account (GlobalStandard for GlobalProvisionedManaged, DataZoneStandard
    for DataZoneProvisionedManaged), listed before it, that takes its overflow. Default: none."""
    expected_monthly_tokens: ExpectedTokens | None = None
    """Expected usage per month (``input``, ``cachedInput``, ``output`` tokens): adds an *expected* figure to
    the cost estimate. Default: none (the estimate shows committed and ceiling only)."""


class Consumer(_Model):
    """A principal that may call the OpenAI account (Cognitive Services OpenAI User)."""

    principal_id: Uuid
    principal_type: Literal["Group", "ServicePrincipal"]
    description: str | None = None


class OpenAIConfig(_Model):
    """Azure OpenAI / AI Services account and its deployments."""

    kind: Literal["OpenAI", "AIServices"] = "OpenAI"
    deployments: Annotated[list[DeploymentConfig], Field(min_length=1)]
    consumers: list[Consumer] = Field(default_factory=list)
    allowed_fqdns: list[Fqdn] = Field(default_factory=list)
    """Extra outbound FQDNs the account may reach: exact hosts (``mystorage.blob.core.windows.net``), or ``*.``
    and a domain of one owner (``*.example.com``), never at or above a public suffix or an Azure service domain
    (``*.com``, ``*.blob.core.windows.net``, ``*.vault.azure.net``, ``*.azure.net``; ``shared_suffix``).
    Default: none beyond the team vault."""
    customer_managed_key: bool | None = None
    """Encrypt with a key from the team vault. Default: the environment profile (prod: on)."""


CONTAINER_NAME_RE = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


def _container_name(value: str) -> str:
    if not full_match(CONTAINER_NAME_RE, value):
        raise ValueError("expected a blob container name: 3-63 lowercase letters, digits and single hyphens, "
                         f"starting and ending with a letter or digit; found {shown(value)}")
    return value


"""A blob container name: 3-63 lowercase letters, digits and single hyphens (Blob REST, "Naming and
Referencing Containers, Blobs, and Metadata")."""
BLOB_PATH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
"""A blob name prefix (a virtual folder): it reaches a shell and a URL, so only plain path segments."""


class ModelSourceConfig(_Model):
    """Where a pool's instances get the model weights at boot."""

    kind: Literal["hub", "blob"]
    """``hub``: vLLM downloads from Hugging Face (public internet). ``blob``: the instances download
    the weights from a storage account behind a private endpoint with their managed identity."""
    account_id: ArmId | None = None
    """``blob`` only: a shared storage account (ARM id). Default: the stack's own weights account."""
    container: Annotated[str, AfterValidator(_container_name)] | None = None
    """``blob`` only: the container holding the model. Default: derived from the model id."""
    path: Annotated[str, StringConstraints(pattern=BLOB_PATH_RE.pattern, max_length=200)] | None = None
    """``blob`` only: the blob prefix (folder) of the model's files. Default: the model id."""


def model_container(model: str) -> str:
    """The default blob container of a model id: ``Qwen/Qwen2.5-7B-Instruct`` -> ``qwen-qwen2-5-7b-instruct``."""
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")[:63].strip("-")
    return slug if len(slug) >= 3 else f"model-{slug}"


class GpuPoolConfig(_Model):
    """A self-hosted GPU inference pool (vLLM, OpenAI-compatible API)."""

    vm_sku: str
    min_instances: Annotated[int, Field(ge=0, le=100)] = 1
    max_instances: Annotated[int, Field(ge=1, le=100)] = 2
    spot: bool = False
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    serving_image: Annotated[str, StringConstraints(pattern=IMAGE_RE.pattern)] = DEFAULT_SERVING_IMAGE
    port: Annotated[int, Field(ge=1024, le=65535)] = 8000
    """Serving port; unprivileged so the container never needs root networking."""
    ssh_public_key: Annotated[str, StringConstraints(pattern=SSH_KEY_RE.pattern),
                              AfterValidator(_ssh_public_key)] | None = None
    """Admin SSH key. Default: none, and then there is no SSH access at all."""
    registry_id: ArmId | None = None
    """A shared Azure Container Registry the image comes from; the pool identity gets AcrPull on it.
    Default: with ``imageSource: registry``, the stack's own registry."""
    image_source: Literal["hub", "registry"] | None = None
    """``hub``: pull ``servingImage`` from its public registry. ``registry``: pull it from the private
    registry (``registryId`` or the stack's own), into which ``scripts/import-image.sh`` imported it.
    Default: the environment profile (prod: registry)."""
    model_source: ModelSourceConfig | None = None
    """Where the weights come from. Default: the environment profile (prod: blob, the stack's account)."""


class BudgetConfig(_Model):
    """Monthly cost budget on the team's resource group."""

    monthly_amount: Annotated[float, Field(gt=0, le=MAX_MONTHLY_BUDGET)]
    contact_emails: Annotated[list[Email], Field(min_length=1)]


PLACEHOLDER_RE = re.compile(r"(?i)(?<![a-z])(todo|tbd|fixme|xxx+)(?![a-z])")
"""A scaffolding placeholder word (``TODO``, ``TBD``, ``FIXME``, ``XXX``): the one check for cost centers,
owners and tags (``checks.placeholders``) and waiver reasons (``_reason``). A word, so ``Toddler`` or
``xxxl`` are not placeholders."""


def is_placeholder(text: str) -> bool:
    """Whether ``text`` carries a placeholder word (see ``PLACEHOLDER_RE``)."""
    return PLACEHOLDER_RE.search(text) is not None


MIN_REASON_CHARS = 10
MIN_REASON_LETTERS = 4
"""Different letters a reason must use: "aaaaaaaaaa" and "abababab ab" are not words; any sentence has more."""


def _reason(value: str) -> str:
    """A waiver's reason must say something: 10+ visible characters, in words, and not a placeholder.

    Whitespace, zero-width and other format/control characters (Unicode categories Z*, C*) do not
    count: 10 spaces or 10 zero-width spaces once waived a mandatory control. Words: a run of two or
    more letters, and at least ``MIN_REASON_LETTERS`` different letters overall (one letter repeated,
    "aaaaaaaaaa", once waived a mandatory control too). A placeholder word ("TODO: fixme") is refused
    as it is for cost centers, owners and tags.
    """
    # Invisible characters go, so "TO\u200bDO" is still a placeholder; separators stay word boundaries.
    text = "".join(" " if c.isspace() or unicodedata.category(c).startswith("Z")
                   else "" if unicodedata.category(c).startswith("C") else c for c in value)
    visible = "".join(text.split())
    letters = {c for c in visible.casefold() if c.isalpha()}
    expected = (f"expected a reason in words, at least {MIN_REASON_CHARS} visible characters (not counting spaces "
                f"or invisible characters) with at least {MIN_REASON_LETTERS} different letters, saying why the "
                "finding may stand until the expiry")
    if len(visible) < MIN_REASON_CHARS or len(letters) < MIN_REASON_LETTERS or not re.search(r"[^\W\d_]{2,}", text):
        raise ValueError(f"{expected}; found {len(visible)} visible character(s), {len(letters)} different letter(s)")
    if is_placeholder(text):
        raise ValueError(f"{expected}, not a placeholder (TODO, TBD, FIXME, XXX); found {shown(value)}")
    return value


def _cost_center(value: str) -> str:
    """A cost center is a visible code (``CC-1042``): blank, space-padded or invisible text (``"  "``, a
    no-break or zero-width space) was accepted and tagged every resource with a cost center nobody can read
    (found by review). Inner spaces stay allowed (``Cost Center 12``)."""
    invisible = [c for c in value if unicodedata.category(c)[0] in "CZ" and c != " "]
    if not value.strip() or value != value.strip() or invisible:
        hidden = len(invisible) + len(value) - len(value.strip())
        raise ValueError("expected a cost center like CC-1042: visible characters, no leading or trailing spaces "
                         f"and no invisible characters; found {hidden} space or invisible character(s) "
                         f"among {len(value)}")
    return value


class Suppression(_Model):
    """A waiver of one policy finding, with a reason and an expiry date."""

    rule: Annotated[str, StringConstraints(pattern=r"^[A-Z]+[0-9]*-[0-9]{2}$")]
    resource: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    """A resource name, or a glob pattern (fnmatch) over resource names."""
    reason: Annotated[str, StringConstraints(min_length=MIN_REASON_CHARS, max_length=1000), AfterValidator(_reason)]
    expires: CalendarDate


class StackConfig(_Model):
    """Everything one team stack declares. Components receive this, never raw config."""

    location: str
    team: TeamSlug
    environment: Environment
    cost_center: Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_cost_center)]
    owners: Annotated[list[Email], Field(min_length=1)]
    network: NetworkConfig
    openai: OpenAIConfig | None = None
    gpu_pool: GpuPoolConfig | None = None
    tags: Annotated[dict[TagKey, TagValue], AfterValidator(_tags)] = Field(default_factory=dict)
    budget: BudgetConfig | None = None
    suppressions: list[Suppression] = Field(default_factory=list)
    model_hub_token: SecretStr | None = None
    """A model-hub (e.g. Hugging Face) token, set with `pulumi config set --secret`. It is stored in
    the team vault and fetched there by the GPU pool at boot; it never enters custom data or logs."""

    @property
    def stack_name(self) -> str:
        """The Pulumi stack name this config belongs to: ``<team>-<environment>``."""
        return f"{self.team}-{self.environment}"

    @property
    def profile(self) -> EnvironmentProfile:
        """The environment profile holding every environment-dependent default."""
        return PROFILES[self.environment]

    @property
    def gpu_image_source(self) -> Literal["hub", "registry"]:
        """Where the GPU pool pulls its image: ``gpuPool.imageSource``, else the profile's default."""
        assert self.gpu_pool is not None
        return self.gpu_pool.image_source or self.profile.gpu_image_source

    @property
    def gpu_model_source(self) -> ModelSourceConfig:
        """Where the GPU pool gets its weights, with every default filled in (container, path)."""
        assert self.gpu_pool is not None
        given = self.gpu_pool.model_source or ModelSourceConfig(kind=self.profile.gpu_model_source)
        if given.kind == "hub":
            return given
        return given.model_copy(update={
            "container": given.container or model_container(self.gpu_pool.model),
            "path": given.path or self.gpu_pool.model,
        })

    @property
    def customer_managed_key(self) -> bool:
        """Whether the OpenAI account is encrypted with a team-vault key."""
        if self.openai is None:
            return False
        if self.openai.customer_managed_key is not None:
            return self.openai.customer_managed_key
        return self.profile.customer_managed_key

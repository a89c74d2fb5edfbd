"""Every Azure resource name and tag set comes from here.

Names follow the Cloud Adoption Framework abbreviations: ``<abbr>-<team>-<env>-<region>[-<suffix>]``.
Names Azure requires to be globally unique (Key Vault, Cognitive Services custom subdomain,
storage) carry a short hash of the stack identity: deterministic, so a re-run never renames
anything, and unique across teams, environments and regions.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .config.model import STACK_TAG_KEYS, StackConfig
from .config.patterns import full_match
from .config.regions import REGION_SHORT_CODES

ABBREVIATIONS: dict[str, str] = {
    "resource_group": "rg",
    "virtual_network": "vnet",
    "subnet": "snet",
    "network_security_group": "nsg",
    "nat_gateway": "ng",
    "public_ip": "pip",
    "private_endpoint": "pep",
    "private_dns_zone_group": "pdzg",
    "private_dns_zone": "pdnsz",
    "virtual_network_link": "vnetlink",
    "peering": "peer",
    "key_vault": "kv",
    "log_analytics": "log",
    "openai": "oai",
    "vmss": "vmss",
    "load_balancer_internal": "lbi",
    "managed_identity": "id",
    "autoscale": "as",
    "budget": "budget",
    "lock": "lock",
    "diagnostic_setting": "diag",
    "content_filter": "rai",
    "container_registry": "cr",
    "storage_account": "st",
}

# Azure's limits for the names we generate, and for the names an existing resource's id may carry
# (EXISTING_NAMES): (max length, allowed characters). Source: Microsoft's "Naming rules and restrictions for
# Azure resources", https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/resource-name-rules
# (MicrosoftDocs/azure-docs articles/azure-resource-manager/management/resource-name-rules.md).
LIMITS: dict[str, tuple[int, str]] = {
    # Microsoft.Resources/resourcegroups: 1-90, alphanumerics (and the Unicode letters the REST API's \w
    # takes), underscores, parentheses, hyphens, periods; can't end with a period.
    "resource_group": (90, r"^[-\w._()]*[-\w_()]$"),
    # Microsoft.Network/virtualNetworks: 2-64, alphanumerics (a-z, A-Z, 0-9: the page's word), underscores,
    # periods, hyphens; start with an alphanumeric, end with an alphanumeric or underscore.
    "virtual_network": (64, r"^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9_]$"),
    "subnet": (80, r"^[A-Za-z0-9][-\w.]*\w$"),
    "network_security_group": (80, r"^[A-Za-z0-9][-\w.]*\w$"),
    "key_vault": (24, r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$"),
    "openai": (64, r"^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$"),
    "custom_subdomain": (64, r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"),
    "storage": (24, r"^[a-z0-9]{3,24}$"),  # Microsoft.Storage/storageAccounts: 3-24 lowercase letters, numbers
    # Microsoft.ContainerRegistry/registries: 5-50 alphanumerics (ours lower case: the login server's spelling).
    "container_registry": (50, r"^[a-z0-9]{5,50}$"),
    # Microsoft.Network/privateDnsZones: 1-63 characters, 2 to 34 labels of alphanumerics, underscores and
    # hyphens, separated by periods (the program's own zones have Microsoft's fixed names, never checked here).
    "private_dns_zone_name": (63, r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){1,33}$"),
    "vmss": (64, r"^[A-Za-z0-9][-A-Za-z0-9.]*[A-Za-z0-9]$"),
    "computer_name_prefix": (9, r"^[a-z][a-z0-9-]*$"),
    "log_analytics": (63, r"^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$"),
}

EXISTING_NAMES: dict[str, tuple[str, str]] = {
    "microsoft.network/virtualnetworks": (
        "virtual_network", "2-64 letters, digits, '_', '.' and '-', starting with a letter or digit and ending "
                           "with one or '_'"),
    "microsoft.network/privatednszones": (
        "private_dns_zone_name", "2 to 34 labels of letters, digits, '_' and '-' joined by '.', 63 characters "
                                 "at most"),
    "microsoft.containerregistry/registries": ("container_registry", "5-50 letters and digits"),
    "microsoft.storage/storageaccounts": ("storage", "3-24 letters and digits"),
}
"""ARM type (lower case) of an existing resource a stack may name -> (``LIMITS`` kind its name obeys, that
rule in words), matched against the lower-cased name: Azure's names are case-insensitive (the page above)."""
RESOURCE_GROUP_RULE = "1-90 letters, digits, '_', '(', ')', '-' and '.', not ending with '.'"
"""``LIMITS["resource_group"]`` in words, for messages about an existing resource's group."""

MANAGED_BY = "pulumi"


def short_hash(text: str, length: int = 6) -> str:
    """A deterministic lowercase base-36-ish hash of ``text`` (hex digits)."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def fits(kind: str, name: str) -> bool:
    """Whether ``name`` satisfies Azure's rules for ``kind`` (``LIMITS``)."""
    max_len, pattern = LIMITS[kind]
    return len(name) <= max_len and full_match(pattern, name)


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it satisfies Azure's rules for ``kind``; raise ``ValueError`` otherwise."""
    if not fits(kind, name):
        max_len, pattern = LIMITS[kind]
        raise ValueError(f"generated {kind} name {name!r} breaks Azure's rules (max {max_len}, {pattern})")
    return name


@dataclass(frozen=True)
class Naming:
    """Names for one stack (team, environment, region)."""

    team: str
    environment: str
    location: str

    @classmethod
    def for_stack(cls, cfg: StackConfig) -> Naming:
        """Naming for a validated stack config."""
        return cls(cfg.team, cfg.environment, cfg.location)

    @property
    def region(self) -> str:
        """Short region code (e.g. ``sdc`` for swedencentral)."""
        return REGION_SHORT_CODES[self.location]

    @property
    def identity(self) -> str:
        """The string global names are hashed from: unique per team, environment and region."""
        return f"{self.team}/{self.environment}/{self.location}"

    def gpu_scale_set(self) -> str:
        """The GPU pool's name, which is its scale set's: what a VMSS waiver's ``resource`` pattern matches."""
        return self.name("vmss", "gpu")

    def name(self, kind: str, suffix: str | None = None) -> str:
        """``<abbr>-<team>-<env>-<region>[-<suffix>]``, checked against Azure's limits when known."""
        parts = [ABBREVIATIONS[kind], self.team, self.environment, self.region]
        if suffix:
            parts.append(suffix)
        name = "-".join(parts)
        return check_name(kind, name) if kind in LIMITS else name

    def key_vault(self) -> str:
        """Globally unique vault name, at most 24 characters: ``kv-<team>-<env>-<hash>``."""
        hashed = short_hash(self.identity)
        stem = f"kv-{self.team}-{self.environment[0]}"
        return check_name("key_vault", f"{stem}-{hashed}"[:24])

    def custom_subdomain(self) -> str:
        """Globally unique Cognitive Services subdomain (it is reserved for 48 h after deletion)."""
        name = f"oai-{self.team}-{self.environment}-{self.region}-{short_hash(self.identity)}"
        return check_name("custom_subdomain", name)

    def storage_account(self, purpose: str) -> str:
        """Globally unique storage account name: lowercase alphanumerics, at most 24."""
        stem = re.sub(r"[^a-z0-9]", "", f"st{self.team}{self.environment[0]}{purpose}")[:16]
        return check_name("storage", f"{stem}{short_hash(self.identity + purpose, 8)}")

    def container_registry(self) -> str:
        """Globally unique registry name (its login server ``<name>.azurecr.io``): 5-50 alphanumerics."""
        stem = re.sub(r"[^a-z0-9]", "", f"cr{self.team}{self.environment[0]}")
        return check_name("container_registry", f"{stem}{short_hash(self.identity + '/registry', 8)}")

    def computer_name_prefix(self) -> str:
        """VM host name prefix for scale-set instances (Linux allows up to 9 + instance suffix)."""
        return check_name("computer_name_prefix", re.sub(r"-+$", "", f"{self.team[:7]}{self.environment[0]}"))


def tags(cfg: StackConfig) -> dict[str, str]:
    """The tags every taggable resource of the stack carries (stack extras cannot override them)."""
    own = dict(zip(STACK_TAG_KEYS, (cfg.team, cfg.environment, cfg.cost_center, MANAGED_BY), strict=True))
    return {**cfg.tags, **own}

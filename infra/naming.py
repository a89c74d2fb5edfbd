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

from .config.model import StackConfig
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

# Azure's limits for the names we generate: (max length, allowed characters).
LIMITS: dict[str, tuple[int, str]] = {
    "resource_group": (90, r"^[-\w._()]+$"),
    "virtual_network": (64, r"^[A-Za-z0-9][-\w.]*\w$"),
    "subnet": (80, r"^[A-Za-z0-9][-\w.]*\w$"),
    "network_security_group": (80, r"^[A-Za-z0-9][-\w.]*\w$"),
    "key_vault": (24, r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$"),
    "openai": (64, r"^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$"),
    "custom_subdomain": (64, r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"),
    "storage": (24, r"^[a-z0-9]{3,24}$"),
    "container_registry": (50, r"^[a-z0-9]{5,50}$"),
    "vmss": (64, r"^[A-Za-z0-9][-A-Za-z0-9.]*[A-Za-z0-9]$"),
    "computer_name_prefix": (9, r"^[a-z][a-z0-9-]*$"),
    "log_analytics": (63, r"^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$"),
}

MANAGED_BY = "pulumi"


def short_hash(text: str, length: int = 6) -> str:
    """A deterministic lowercase base-36-ish hash of ``text`` (hex digits)."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it satisfies Azure's rules for ``kind``; raise ``ValueError`` otherwise."""
    max_len, pattern = LIMITS[kind]
    if len(name) > max_len or not full_match(pattern, name):
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
    return {
        **cfg.tags,
        "team": cfg.team,
        "environment": cfg.environment,
        "cost-center": cfg.cost_center,
        "managed-by": MANAGED_BY,
    }

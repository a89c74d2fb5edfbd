"""Data catalogues (YAML) the config model and components read: models, GPU sizes, filters."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

_DIR = Path(__file__).parent


@cache
def load(name: str) -> dict[str, Any]:
    """Return the parsed catalogue ``<name>.yaml`` (cached: catalogues never change at run time)."""
    with open(_DIR / f"{name}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def openai_models() -> dict[str, dict[str, Any]]:
    """Azure OpenAI model name -> {"family", "versions": {version: lifecycle and offers}}.

    Use ``infra.catalogues.lifecycle`` for the typed view (dates, regions, deployment types).
    """
    return load("openai_models")["models"]


def gpu_skus() -> dict[str, dict[str, Any]]:
    """GPU VM size -> {vcpus, gpu, gpus, gpu_memory_gb, family, zones, spot}."""
    return load("gpu_skus")["skus"]


def open_models() -> dict[str, dict[str, Any]]:
    """Open model id -> {parameters_b, bytes_per_parameter, default_context, attention_heads, layers,
    kv_heads, head_dim}."""
    return load("open_models")["models"]


def content_filter_profiles() -> dict[str, dict[str, Any]]:
    """Content-filter profile name -> RaiPolicy settings."""
    return load("content_filters")["profiles"]


def blocklists() -> dict[str, dict[str, Any]]:
    """Custom blocklist name -> {description, items: [{name, pattern, is_regex}]}."""
    return dict(load("content_filters").get("blocklists") or {})


def harm_categories() -> list[str]:
    """The four multi-level harm filters, named as the API names them (``Hate``, ``Selfharm``, ...)."""
    return list(load("content_filters")["harm_categories"])


def content_filter_names() -> dict[str, list[str]]:
    """Source (``prompt``/``completion``) -> the other filter names the API accepts there."""
    return {k: list(v) for k, v in load("content_filters")["filter_names"].items()}


def prices() -> dict[str, Any]:
    """The price catalogue (``prices.yaml``): as_of, currency, hours_per_month, sources and prices per
    kind of resource, each a price with its source or an ``unpriced`` reason. Dates become ISO strings."""
    import json

    return json.loads(json.dumps(load("prices"), default=str))


SHARED_SUPPLY_FILE = _DIR / "shared_supply.yaml"
"""The platform's shared registries and storage accounts: the one place they are listed."""
SHARED_SUPPLY_KINDS = {"registries": "Microsoft.ContainerRegistry/registries",
                       "storageAccounts": "Microsoft.Storage/storageAccounts"}
"""``shared_supply.yaml`` key -> the ARM type its ids name."""


def shared_supply() -> dict[str, frozenset[str]]:
    """``registries`` / ``storageAccounts`` -> the ARM ids (lower case) the platform shares with every stack.

    A ``ConfigError`` naming the file and the key when an entry is not an id of its kind: a pull request
    can change the file, and a malformed entry must not quietly share (or unshare) anything."""
    return _shared_ids(SHARED_SUPPLY_FILE, SHARED_SUPPLY_KINDS)


SHARED_NETWORK_FILE = _DIR / "shared_network.yaml"
"""The platform's shared hub VNets and central private DNS zones: the one place they are listed."""
SHARED_NETWORK_KINDS = {"hubVirtualNetworks": "Microsoft.Network/virtualNetworks",
                        "privateDnsZones": "Microsoft.Network/privateDnsZones"}
"""``shared_network.yaml`` key -> the ARM type its ids name."""


def shared_network() -> dict[str, frozenset[str]]:
    """``hubVirtualNetworks`` / ``privateDnsZones`` -> the ARM ids (lower case) of the only hubs and central
    zones a stack may peer with or register its endpoints in (its own zones it creates); checked as
    ``shared_supply`` is."""
    return _shared_ids(SHARED_NETWORK_FILE, SHARED_NETWORK_KINDS)


def _shared_ids(path: Path, kinds: dict[str, str]) -> dict[str, frozenset[str]]:
    """The catalogue at ``path``: a mapping of ``kinds``' keys -> lists of ARM ids of that key's type."""
    # Here: the config package imports this one. resource_id_problem is the config check's own test, so a
    # listed id and a stack's id are judged alike (a child id such as .../replications/weu is neither, nor
    # is a name Azure would refuse).
    from ..config.checks import resource_id_problem
    from ..config.errors import ConfigError, ConfigIssue

    doc = load(path.stem) or {}
    if not isinstance(doc, dict) or set(doc) - set(kinds):
        raise ConfigError(path, [ConfigIssue("(file)", f"expected a mapping with the keys {', '.join(kinds)} only")])
    out: dict[str, frozenset[str]] = {}
    for key, arm_type in kinds.items():
        entries = doc.get(key) or []
        problems = [(e, "not text") if not isinstance(e, str) else (e, resource_id_problem(e.rstrip("/"), arm_type))
                    for e in entries] if isinstance(entries, list) else [(entries, "not a list")]
        bad = [(e, why) for e, why in problems if why is not None]
        if bad:
            raise ConfigError(path, [ConfigIssue(key, f"expected a list of {arm_type} resource ids; "
                                                      f"found {str(bad[0][0])[:200]!r} ({bad[0][1]})")])
        out[key] = frozenset(e.rstrip("/").lower() for e in entries)
    return out


AZURE_SERVICE_DOMAINS_FILE = _DIR / "azure_service_domains.yaml"
"""Azure's multi-tenant service domains (Microsoft's private endpoint DNS zone table): the one place they are listed."""
AZURE_CLOUDS = ("commercial", "government", "china")
"""The clouds ``azure_service_domains.yaml`` lists zones for (the source page's three sections)."""
_ZONE_RE = re.compile(r"((?:[a-z0-9-]|\{[A-Za-z]+\})+\.)*[a-z0-9-]+\.[a-z0-9-]+")
"""A zone as Microsoft's table writes it: DNS labels, the leading ones possibly holding {placeholders}."""


def azure_service_domains() -> dict[str, str]:
    """Zone -> the Azure service(s) whose customers each get a host under it, every cloud's zones merged
    (``vault.azure.net`` -> ``Azure Key Vault``; ``{regionName}.batch.azure.com`` -> ``Azure Batch``).

    A ``ConfigError`` naming the file and the key when an entry is malformed: the list decides which egress
    wildcards are refused, so a broken entry must not quietly drop out of it."""
    from ..config.errors import ConfigError, ConfigIssue
    from ..config.patterns import full_match

    zones = (load("azure_service_domains") or {}).get("zones")
    if not isinstance(zones, dict) or set(zones) != set(AZURE_CLOUDS):
        raise ConfigError(AZURE_SERVICE_DOMAINS_FILE, [ConfigIssue("zones", "expected a mapping with the keys "
                                                                            f"{', '.join(AZURE_CLOUDS)}")])
    out: dict[str, str] = {}
    for cloud in AZURE_CLOUDS:
        entries = zones[cloud]
        bad = [(z, s) for z, s in entries.items() if not full_match(_ZONE_RE, z) or not isinstance(s, str)] \
            if isinstance(entries, dict) and entries else [(entries, None)]
        if bad:
            raise ConfigError(AZURE_SERVICE_DOMAINS_FILE, [ConfigIssue(
                f"zones.{cloud}", "expected a mapping of lower-case DNS zones ({placeholder} labels first) to "
                                  f"the service names; found {str(bad[0][0])[:200]!r}")])
        for zone, service in entries.items():
            out.setdefault(zone, service)
    return out

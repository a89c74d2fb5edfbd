"""Policy config: JSON-schema properties with defaults, built from the pack's own catalogue.

Pulumi configures each policy separately (``{"<policy-name>": {"<prop>": ...}}`` in the file
given to ``--policy-pack-config``), so each rule declares the properties it reads. Shared
settings (prod environments, for one) are declared by every rule that needs them, from the
fragments here, so their defaults stay identical.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_CATALOGUE = Path(__file__).with_name("catalogue.json")


@cache
def catalogue() -> dict[str, Any]:
    """The pack's defaults (a copy of the project's catalogues; see catalogue.json)."""
    return json.loads(_CATALOGUE.read_text(encoding="utf-8"))


def string_list(description: str, default: list[str]) -> dict[str, Any]:
    """Schema of a list of strings."""
    return {"type": "array", "items": {"type": "string"}, "description": description, "default": default}


def prod_environments() -> dict[str, Any]:
    """Which environment names count as production (see guardrails.environment)."""
    return string_list(
        "Environment names treated as production: a resource is prod when its `environment` tag, "
        "or the stack's environment, is one of these.",
        list(catalogue()["prodEnvironments"]),
    )


def allowed_regions() -> dict[str, Any]:
    return string_list(
        "Azure regions resources may be deployed to (lower-case names).", list(catalogue()["regions"])
    )


def gpu_sku_allowlist() -> dict[str, Any]:
    return string_list("VM sizes a scale set may use (the GPU catalogue).", list(catalogue()["gpuSkus"]))


def allowed_models() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "Azure OpenAI model name -> the versions that may be deployed.",
        "default": {k: list(v) for k, v in catalogue()["openaiModels"].items()},
    }


def allowed_deployment_types() -> dict[str, Any]:
    return string_list(
        "Deployment SKU names (deployment types) that may be used.", list(catalogue()["deploymentTypes"])
    )


def max_capacity() -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": 1,
        "description": "Largest `sku.capacity` of one deployment (thousands of tokens per minute for "
        "standard types, PTUs for provisioned ones).",
        "default": 1000,
    }


def required_tags() -> dict[str, Any]:
    return string_list("Tags every tracked resource must carry.", list(catalogue()["requiredTags"]))


def tag_patterns() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "Tag name -> regular expression its value must match (fully).",
        "default": dict(catalogue()["tagPatterns"]),
    }


def denied_roles() -> dict[str, Any]:
    return string_list(
        "Role definition GUIDs no assignment may grant (default: Owner, Contributor, User Access "
        "Administrator).",
        list(catalogue()["deniedRoles"]),
    )


def role_names() -> dict[str, str]:
    """GUID -> name of the roles the catalogue knows (for readable messages)."""
    return dict(catalogue()["deniedRoles"])


def min_retention_days(default: int, description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "description": description, "default": default}

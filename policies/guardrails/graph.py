"""Which resource a reference points to, for the stack rules.

A private endpoint names its target by ARM id (``privateLinkServiceConnections[].privateLinkServiceId``),
a diagnostic setting by ``resourceUri``, a lock by ``scope``. During a preview those ids are often
still unknown, and offline they are mock ids, so a reference is resolved from the strongest
evidence available, in order:

1. **Property dependencies**: the engine records which resources fed each input property. If the
   referencing property depends on the target's URN, it points at the target. If the property's
   value is unknown and its dependencies are known but do not include the target, it does not.
2. **The id itself**, when known: equal to the target's ``id`` property, or naming the target's
   ARM provider namespace, type and name (its explicit name input, e.g. ``accountName``, else its
   Pulumi name) in the same resource group when both are known.
3. Otherwise the answer is *unknown* (``None``): a stack rule then reports nothing definite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import arm_types
from .model import StackResource
from .values import is_unknown, reveal

ARM_TYPES = arm_types()
"""canonical azure-native token -> (ARM provider namespace, ARM type path, the input holding its name)."""


def _text(value: Any) -> str | None:
    value = reveal(value)
    return value if isinstance(value, str) and value and not is_unknown(value) else None


def azure_name(res: StackResource) -> str | None:
    """The Azure name of ``res``: its explicit name input, its ``name`` output, else its Pulumi name."""
    entry = ARM_TYPES.get(res.canonical_type)
    props = res.props if isinstance(res.props, Mapping) else {}
    explicit = _text(props.get(entry[2])) if entry else None
    if explicit:
        return explicit
    if entry and is_unknown(reveal(props.get(entry[2]))):
        return None
    return _text(props.get("name")) or res.name


def resource_group(res: StackResource) -> str | None:
    """The resource group ``res`` is declared in, when known."""
    props = res.props if isinstance(res.props, Mapping) else {}
    return _text(props.get("resourceGroupName"))


def parse_arm_id(arm_id: str) -> dict[str, str]:
    """Parts of an ARM id (lower case): subscription, resourceGroup; for a resource: namespace, type, name."""
    parts = [p for p in arm_id.strip().split("/") if p]
    lower = [p.lower() for p in parts]
    out: dict[str, str] = {}
    if "subscriptions" in lower and lower.index("subscriptions") + 1 < len(parts):
        out["subscription"] = lower[lower.index("subscriptions") + 1]
    if "resourcegroups" in lower and lower.index("resourcegroups") + 1 < len(parts):
        out["resourceGroup"] = lower[lower.index("resourcegroups") + 1]
    if "providers" in lower:
        i = len(lower) - 1 - lower[::-1].index("providers")
        rest = parts[i + 1 :]
        if len(rest) >= 3 and len(rest) % 2 == 1:
            out["namespace"] = rest[0].lower()
            out["type"] = "/".join(rest[1::2]).lower()
            out["name"] = rest[-1].lower()
    return out


def id_names(arm_id: str, target: StackResource) -> bool:
    """Whether a known ARM id designates ``target``."""
    own_id = _text(target.props.get("id")) if isinstance(target.props, Mapping) else None
    if own_id and own_id.rstrip("/").lower() == arm_id.rstrip("/").lower():
        return True
    entry = ARM_TYPES.get(target.canonical_type)
    if not entry:
        return False
    parsed = parse_arm_id(arm_id)
    name = azure_name(target)
    if not name or parsed.get("namespace") != entry[0].lower() or parsed.get("type") != entry[1].lower():
        return False
    if parsed.get("name") != name.lower():
        return False
    group = resource_group(target)
    return not (group and parsed.get("resourceGroup") and parsed["resourceGroup"] != group.lower())


def references(src: StackResource, prop: str, value: Any, target: StackResource) -> bool | None:
    """Whether ``value`` (``src``'s top-level input ``prop``) designates ``target``; None if unknowable."""
    deps = src.property_dependencies.get(prop)
    value = reveal(value)
    text = _text(value)
    if text is not None:
        if id_names(text, target):
            return True
        # An id we cannot parse (e.g. a mock placeholder) still points where its dependencies say.
        return bool(deps and target.urn in deps and "providers" not in text.lower())
    if deps is not None and len(deps) > 0:
        return target.urn in deps
    return None if is_unknown(value) else False


def scope_covers(scope: str, target: StackResource) -> bool:
    """Whether a known scope id (subscription, resource group or resource) contains ``target``."""
    parsed = parse_arm_id(scope)
    if "namespace" in parsed:
        return id_names(scope, target)
    group = resource_group(target)
    if "resourceGroup" in parsed:
        return group is not None and parsed["resourceGroup"] == group.lower()
    return "subscription" in parsed

"""Resources declared inside an ARM template deployment, seen the way the rules see the program's own.

A program can declare anything inside ``azure-native:resources:Deployment`` (``properties.template``):
a public, key-enabled OpenAI account there was invisible to every rule. Each resource rule therefore
also judges a deployment: ``Rule.evaluate`` runs it on every template resource of a type it judges,
converted from ARM's shape (``{type, apiVersion, name, properties: {...}}``) to azure-native's wire
shape, and reports "template resource <name>: ..." against the deployment. Template expressions
(``[parameters('x')]``) in a resource's settings are not evaluated: such a resource is opaque, like one
of a type the pack does not map. Nested
deployments are followed. What the pack cannot see into (``opaque_parts``: a linked template, a
resource type it does not map) fails the non-waivable rules (public AI access, local auth, management
ports from the Internet): those exposures could hide there, and nobody may waive them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .values import reveal

DEPLOYMENT_TYPES = frozenset({
    "azure-native:resources:Deployment",
    "azure-native:resources:DeploymentAtScope",
    "azure-native:resources:DeploymentAtSubscriptionScope",
    "azure-native:resources:DeploymentAtManagementGroupScope",
    "azure-native:resources:DeploymentAtTenantScope",
})

# ARM type (lower case) -> (azure-native type token, whether azure-native keeps `properties` nested).
ARM_TYPES: Mapping[str, tuple[str, bool]] = {
    "microsoft.cognitiveservices/accounts": ("azure-native:cognitiveservices:Account", True),
    "microsoft.cognitiveservices/accounts/deployments": ("azure-native:cognitiveservices:Deployment", True),
    "microsoft.keyvault/vaults": ("azure-native:keyvault:Vault", True),
    "microsoft.keyvault/vaults/secrets": ("azure-native:keyvault:Secret", True),
    "microsoft.storage/storageaccounts": ("azure-native:storage:StorageAccount", False),
    "microsoft.containerregistry/registries": ("azure-native:containerregistry:Registry", False),
    "microsoft.network/networksecuritygroups": ("azure-native:network:NetworkSecurityGroup", False),
    "microsoft.network/networksecuritygroups/securityrules": ("azure-native:network:SecurityRule", False),
    "microsoft.network/networkinterfaces": ("azure-native:network:NetworkInterface", False),
    "microsoft.network/loadbalancers": ("azure-native:network:LoadBalancer", False),
    "microsoft.compute/virtualmachines": ("azure-native:compute:VirtualMachine", False),
    "microsoft.compute/virtualmachinescalesets": ("azure-native:compute:VirtualMachineScaleSet", False),
    "microsoft.authorization/roledefinitions": ("azure-native:authorization:RoleDefinition", False),
    "microsoft.authorization/roleassignments": ("azure-native:authorization:RoleAssignment", False),
}
_NESTED = "microsoft.resources/deployments"
MAX_NESTING = 5


def is_deployment(token: str) -> bool:
    """Whether ``token`` (canonical) is an ARM template deployment."""
    return token in DEPLOYMENT_TYPES


def opaque_parts(props: Any, depth: int = 0) -> Iterator[str]:
    """What the pack cannot see into: a template given by link or as an unknown value, resources of
    ARM types it does not map, nesting deeper than ``MAX_NESTING``. The non-waivable rules report
    these (fail closed): such a part could carry exactly the exposures those rules forbid."""
    properties = reveal(_get(props, "properties"))
    template = reveal(_get(properties, "template"))
    if _get(properties, "templateLink") is not None or not isinstance(template, Mapping):
        yield "its template is not inline (templateLink, or a value unknown at preview)"
        return
    if depth > MAX_NESTING:
        yield f"templates are nested more than {MAX_NESTING} deep"
        return
    resources = reveal(template.get("resources"))
    items = list(resources.items()) if isinstance(resources, Mapping) else list(enumerate(resources or []))
    for key, resource in items:
        resource = reveal(resource)
        arm_type = str(reveal(_get(resource, "type")) or "").lower()
        label = str(reveal(_get(resource, "name")) or key)[:80]
        if arm_type == _NESTED:
            yield from (f"{label}/{part}" for part in opaque_parts(resource, depth + 1))
        elif arm_type not in ARM_TYPES:
            yield f"template resource {label} has type {arm_type[:80] or '(none)'!r}, which the pack does not judge"
        elif (path := first_expression(resource)) is not None:
            # The rules that deny a known-bad value (Owner's GUID, a `*` source, adminUserEnabled) read an
            # expression as an unknown string and passed it; ARM resolves it to any value at deploy time
            # (`[parameters('src')]` defaulting to `*`), found by review. The pack does not evaluate them.
            yield (f"template resource {label} sets {path[:80]} by a template expression, which the pack does "
                   "not evaluate")


# Keys of a template resource that name or order it (an expression there does not change what it is), and
# `location` and `tags`, which nearly every template sets by expression (`[resourceGroup().location]`): GEN-02
# and GEN-01 read an expression there as an unknown region or tag and fail it themselves.
_NAMING_KEYS = frozenset({"type", "apiVersion", "name", "dependsOn", "comments", "condition", "copy", "metadata",
                          "location", "tags"})


def is_expression(value: Any) -> bool:
    """Whether ``value`` is an ARM template expression: a string in brackets (``[[`` escapes a literal)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text.startswith("[") and not text.startswith("[[") and text.endswith("]")


def first_expression(resource: Any, path: str = "", depth: int = 0) -> str | None:
    """The path of the first template expression among ``resource``'s settings (not its naming keys)."""
    value = reveal(resource)
    if depth > 64:
        return path or "<resource>"  # deeper than any real resource: treat as unreadable
    if isinstance(value, Mapping):
        for key, item in value.items():
            if depth == 0 and key in _NAMING_KEYS:
                continue
            found = first_expression(item, f"{path}.{key}" if path else str(key), depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = first_expression(item, f"{path}[{i}]", depth + 1)
            if found is not None:
                return found
    elif is_expression(value):
        return path or "<resource>"
    return None


def template_resources(props: Any, depth: int = 0) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, azure-native type, wire-shaped props) of every resource the deployment's template declares."""
    template = reveal(_get(reveal(_get(props, "properties")), "template"))
    if not isinstance(template, Mapping) or depth > MAX_NESTING:
        return
    resources = reveal(template.get("resources"))
    # languageVersion 2.0 templates hold resources in a mapping of symbolic names.
    items = list(resources.items()) if isinstance(resources, Mapping) else list(enumerate(resources or []))
    for key, resource in items:
        resource = reveal(resource)
        if not isinstance(resource, Mapping):
            continue
        arm_type = str(reveal(resource.get("type")) or "").lower()
        label = str(reveal(resource.get("name")) or key)[:80]
        if arm_type == _NESTED:
            for nested_label, token, nested in template_resources(resource, depth + 1):
                yield f"{label}/{nested_label}", token, nested
            continue
        if arm_type not in ARM_TYPES:
            continue
        token, keep_nested = ARM_TYPES[arm_type]
        yield label, token, _to_wire(resource, keep_nested)


def _to_wire(resource: Mapping[str, Any], keep_nested: bool) -> dict[str, Any]:
    outer = {k: v for k, v in resource.items() if k not in ("type", "apiVersion", "properties", "dependsOn")}
    properties = reveal(resource.get("properties"))
    if keep_nested:
        return {**outer, "properties": properties if isinstance(properties, Mapping) else {}}
    return {**(dict(properties) if isinstance(properties, Mapping) else {}), **outer}


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None

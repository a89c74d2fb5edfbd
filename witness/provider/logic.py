"""What the stand-in azure-native provider answers, as plain functions over wire-form property maps.

The stand-in is what `pulumi up` talks to in the witness instead of Azure: the azure-native plugin
cannot be downloaded here, and no Azure subscription is reachable. It computes what the real provider
returns for the outputs the program reads back — ids in ARM form, names, vault/key/secret URIs,
endpoints, principal ids — from the same functions the offline runner's mocks use
(`ai_serving.engine.mocks.arm_id` / `computed_outputs`, over the one type table `ai_serving.arm`),
so the two runs cannot drift apart on them.

Where it differs from the mocks, it does so because the engine asks more than the mocks see:
- preview (`Create` with ``preview``): a new resource's id and every value Azure computes are unknown,
  as with the real provider; only the inputs are known.
- `Diff` compares the old inputs with the new ones, so a second preview after `up` is meaningful
  (no diff means the program is idempotent); a change to a resource's ARM path (its name, resource
  group, location or scope) replaces it, as Azure cannot rename or move resources in place.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from ai_serving import arm
from ai_serving.engine import mocks

# The engine's wire sentinel for a value not known until apply (pulumi/sdk: rpc.UNKNOWN).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# Inputs that are part of a resource's ARM path: Azure cannot change them in place.
_PATH_INPUTS = ("resourceGroupName", "location", "scope", "resourceUri")


def plugin_version() -> str:
    """The azure-native version the stand-in stands in for: the installed SDK's, one source of truth."""
    return metadata.version("pulumi_azure_native")


def replace_keys(token: str) -> set[str]:
    """Top-level inputs whose change forces a replacement for this resource type."""
    keys = set(_PATH_INPUTS)
    entry = arm.arm_type(token)
    if entry:
        keys.add(entry.name_input)
    return keys


def check(token: str, news: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Validate inputs: the stand-in refuses resource types it has no ARM form for (so no id is guessed)."""
    if token.startswith(f"{arm.PACKAGE}:") and arm.arm_type(token) is None:
        return news, [("", f"{token}: the witness's stand-in provider has no ARM type for this resource; "
                           "add it to ai_serving/arm.py, the table the offline mocks use")]
    return news, []


def _has_unknown(value: Any) -> bool:
    if isinstance(value, str):
        return UNKNOWN in value
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return False


def diff(token: str, old_inputs: dict[str, Any], news: dict[str, Any],
         ignore_changes: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Old inputs against new inputs: ``{"changed": [...], "replaces": [...]}``, keys sorted.

    A new value that is not yet known counts as a change (the real provider cannot rule one out).
    """
    ignored = {key.split(".")[0].split("[")[0] for key in ignore_changes}
    changed = sorted(
        key for key in set(old_inputs) | set(news)
        if key not in ignored and (old_inputs.get(key) != news.get(key) or _has_unknown(news.get(key)))
    )
    replaces = sorted(key for key in changed if key in replace_keys(token))
    return {"changed": changed, "replaces": replaces}


def _unknown_where_computed(inputs: Any, outputs: Any) -> Any:
    """Keep what the inputs already say; every value only Azure computes becomes unknown."""
    if isinstance(outputs, dict) and isinstance(inputs, dict):
        return {k: (_unknown_where_computed(inputs[k], v) if k in inputs else UNKNOWN) for k, v in outputs.items()}
    return inputs if inputs == outputs else UNKNOWN


def create(token: str, name: str, inputs: dict[str, Any], preview: bool) -> tuple[str, dict[str, Any]]:
    """The id and output properties of a new resource (unknown where Azure computes them, in preview)."""
    if _has_unknown(inputs) and not preview:
        raise ValueError(f"{token} {name}: an input is still unknown at create time")
    rid = mocks.arm_id(token, name, inputs)
    outputs = {**inputs, **mocks.computed_outputs(token, name, inputs, rid)}
    if preview:
        return "", _unknown_where_computed(inputs, outputs)
    return rid, outputs


def update(token: str, name: str, rid: str, news: dict[str, Any], preview: bool) -> dict[str, Any]:
    """The outputs after an in-place update: the new inputs plus what Azure computes, same id."""
    outputs = {**news, **mocks.computed_outputs(token, name, news, rid)}
    return _unknown_where_computed(news, outputs) if preview else outputs


def invoke(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Answer a data-source call; an invoke the stand-in does not know is an error, never an empty answer."""
    if token == "azure-native:authorization:getClientConfig":
        return {"clientId": mocks.CLIENT_ID, "objectId": mocks.OBJECT_ID,
                "subscriptionId": mocks.SUBSCRIPTION_ID, "tenantId": mocks.TENANT_ID}
    raise LookupError(f"{token}: not served by the witness's stand-in azure-native provider")

"""Read the stack's config (as the engine hands it over) into one validated ``StackConfig``."""

from __future__ import annotations

import difflib
import json
import os
import types
import typing
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from . import checks, screening
from .errors import ConfigError, ConfigIssue, pydantic_problem, shown
from .model import StackConfig
from .yaml_lines import PROJECT, KeyPath, line_index, nearest_line

LOCATION_KEY = "azure-native:location"
STRING_KEYS = frozenset({"team", "environment", "costCenter", "modelHubToken"})
"""Top-level keys whose value is a plain string; every other value arrives as JSON text."""
SECRET_KEYS = frozenset({"modelHubToken"})
"""Plain-string keys holding secrets: never decoded, never shown."""
STACK_FILE_ENV = "AI_SERVING_STACK_FILE"
"""Set by tools that read a stack file from a non-default place, so errors can cite its lines."""


ALLOWED_FOREIGN_KEYS = frozenset({LOCATION_KEY})
"""What a team's stack file may set outside the ``ai-serving:`` namespace: the region, nothing else.

Provider settings (``azure-native:subscriptionId``, ``clientId``, ``clientSecret``, ``tenantId``,
``environment``, ``useMsi`` ...) would redirect a deploy to another subscription or identity, and a
credential written there would be copied into the provider's inputs; those come from the deploy
job's environment (OIDC), never from a file a team edits."""
PROVIDER_NAMESPACES = frozenset({"azure-native", "azure", "azuread", "pulumi"})


def raw_from_config_map(config: Mapping[str, str]) -> dict[str, Any]:
    """The engine's flat ``{"ns:key": "string"}`` map -> a nested dict keyed like the model.

    Values are decoded the way ``pulumi.Config.get_object`` does (JSON), except plain-string keys.
    ``azure-native:location`` becomes ``location``; any other key outside ``ai-serving:`` (and
    ``ai-serving:location``, which would shadow the region) is kept under its full name, so the model
    rejects it as an unknown key naming exactly what was written. Values of rejected keys are never
    shown (they may be credentials).
    """
    raw: dict[str, Any] = {}
    for full_key, value in config.items():
        if full_key == LOCATION_KEY:
            raw["location"] = value
            continue
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT or not key or key == "location":
            raw[full_key] = None
            continue
        if key in STRING_KEYS:
            raw[key] = value if key in SECRET_KEYS else text_setting(value)
        else:
            raw[key] = _decode(value)
    return raw


def text_setting(value: str) -> Any:
    """How the config reads ``value``, handed over for a plain-string key (``STRING_KEYS``): the text itself,
    or what it decodes to (JSON) when that is null, a boolean, a list or a mapping.

    The engine hands every value over as text, so such a text was not text in the file as far as the program
    can tell (``costCenter: true`` and ``costCenter: "true"`` both arrive as "true"; `costCenter: null` must not
    become the tag "null"), and the model refuses it. ``new-team`` asks this before it writes a value here.
    """
    decoded = _decode(value)
    return decoded if decoded is None or isinstance(decoded, (list, dict, bool)) else value


def _decode(value: str) -> Any:
    try:
        # Infinity / NaN decode as floats; the model rejects them with their key path (allow_inf_nan).
        return json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return value


_VALIDATED: dict[tuple[str, str | None, str | None], StackConfig] = {}
"""The last few configs validated in this process, by (config JSON, stack, source)."""
_VALIDATED_KEEP = 8


def validate(raw: Mapping[str, Any], *, stack_name: str | None = None, source: Path | None = None) -> StackConfig:
    """Validate ``raw`` into a ``StackConfig`` or raise one ``ConfigError`` listing every problem.

    Validation is a pure function of its inputs and ``StackConfig`` is frozen, so the result is
    remembered for the same inputs: a tool that validated a stack (``ai_serving.stacks.load_stack``)
    and then runs its program in the same process (the offline runner) validates it once. Errors
    are not remembered.
    """
    key = (json.dumps(raw, sort_keys=True, default=str), stack_name, str(source) if source else None)
    cached = _VALIDATED.get(key)
    if cached is not None:
        return cached
    cfg = _validate(raw, stack_name=stack_name, source=source)
    if len(_VALIDATED) >= _VALIDATED_KEEP:
        _VALIDATED.pop(next(iter(_VALIDATED)))
    _VALIDATED[key] = cfg
    return cfg


def _validate(raw: Mapping[str, Any], *, stack_name: str | None, source: Path | None) -> StackConfig:
    # First, what may appear nowhere (key material, control characters, line breaks, huge strings):
    # alone, so that no model error or check below can quote such a value.
    refused = list(screening.refused(raw, skip=SECRET_KEYS))
    if refused:
        index = _line_index(source)
        raise ConfigError(source, [ConfigIssue(_format_path(_yaml_path(path)), message,
                                               nearest_line(index, _yaml_path(path))) for path, message in refused])
    try:
        cfg = StackConfig.model_validate(dict(raw))
    except ValidationError as exc:
        index = _line_index(source)
        raise ConfigError(source, [_issue_from_pydantic(err, index) for err in exc.errors()]) from None
    problems = checks.check(cfg, stack_name)
    if problems:
        index = _line_index(source)
        raise ConfigError(
            source,
            [ConfigIssue(_format_path(path), message, nearest_line(index, path)) for path, message in problems],
        )
    return cfg


def _line_index(source: Path | None) -> dict[KeyPath, int]:
    # Only for a config with problems: parsing the file again for its lines is the slow part of a valid one.
    return line_index(source) if source is not None and source.is_file() else {}


def plaintext_secrets(config: Mapping[str, str], secret_keys: Collection[str],
                      source: Path | None) -> ConfigError | None:
    """One ``ConfigError`` naming each secret key (:data:`SECRET_KEYS`) the stack file sets in plain text.

    The engine decrypts a ``secure:`` value and hands the program the same text as a plain one: only the list
    of secret keys tells them apart. A token written in plain text sits in git for anyone who can read the
    repository, whatever the program does with it (a list or a number there is plain text too).
    """
    plain = [k for k in sorted(SECRET_KEYS) if f"{PROJECT}:{k}" in config and f"{PROJECT}:{k}" not in secret_keys]
    if not plain:
        return None
    index = _line_index(source)
    return ConfigError(source, [ConfigIssue(
        f"{PROJECT}:{k}", "set in plain text, not encrypted (not shown): a token in the stack file is readable by "
        f"anyone with the repository; remove it, treat it as leaked, and set a new one with `pulumi config set "
        f"--secret {PROJECT}:{k} <token>` (the file then holds `secure: ...`)",
        nearest_line(index, (f"{PROJECT}:{k}",))) for k in plain])


def load_from_pulumi() -> StackConfig:
    """Read and validate this stack's config from the running Pulumi program's settings."""
    import pulumi

    from ..sdk import stack_config_map, stack_secret_keys

    stack = pulumi.get_stack()
    values = stack_config_map()
    source = stack_file(stack)
    # `pulumi up` with a token in plain text in the stack file: refused here too, not only by the tooling
    # (a team may deploy without ever running `ai-serving validate`), before anything is declared.
    plain = plaintext_secrets(values, stack_secret_keys(values), source)
    if plain is not None:
        raise plain
    return validate(raw_from_config_map(values), stack_name=stack, source=source)


def stack_file(stack: str) -> Path:
    """The YAML file this stack's config came from, for error messages.

    The one channel is ``AI_SERVING_STACK_FILE`` (``STACK_FILE_ENV``), set by the tool that runs the
    program (``ai-serving plan`` always sets it, so errors cite lines). The program does not re-read
    ``Pulumi.yaml`` to find ``stackConfigDir``: without the variable an error names the file by its
    conventional name, without line numbers.
    """
    override = os.environ.get(STACK_FILE_ENV)
    return Path(override) if override else Path(f"Pulumi.{stack}.yaml")


# --- pydantic errors -> key paths and plain words --------------------------------------------

_NOISE = {"int", "float", "str", "bool", "list", "dict", "[key]"}


def _yaml_path(loc: tuple[Any, ...]) -> KeyPath:
    parts: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(part, str) and (part in _NOISE or part.startswith(("function-", "lax-", "json-"))):
            continue
        if i == 0 and not (isinstance(part, str) and ":" in part):
            part = LOCATION_KEY if part == "location" else f"{PROJECT}:{part}"
        parts.append(part)
    return tuple(parts)


def _format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def error_message(err: Mapping[str, Any]) -> str:
    """One pydantic error in the words a stack file's issue uses (expected ...; found ...), without its key path:
    for a value checked against a type of the model outside a stack file (``new-team``'s options)."""
    return _issue_from_pydantic(err, {}).message


def _issue_from_pydantic(err: Mapping[str, Any], index: dict[KeyPath, int]) -> ConfigIssue:
    path = _yaml_path(tuple(err["loc"]))
    kind = err["type"]
    if kind == "extra_forbidden":
        unknown = str(path[-1]) if path else "?"
        allowed = _allowed_keys(tuple(err["loc"])[:-1])
        namespace = unknown.partition(":")[0] if ":" in unknown else None
        if len(path) == 1 and namespace in PROVIDER_NAMESPACES and unknown not in ALLOWED_FOREIGN_KEYS:
            return ConfigIssue(_format_path(path), (
                f"{unknown!r} may not be set in a team's stack file: outside {PROJECT}: only "
                f"{', '.join(sorted(ALLOWED_FOREIGN_KEYS))} is allowed; subscription, identity and credentials "
                "come from the deploy job, never from this file (the value is not shown)"),
                nearest_line(index, path))
        candidates = allowed + ([LOCATION_KEY] if len(path) == 1 else [])
        # Compare whole keys first (a typo'd namespace: `ai-servng:budget`), then the part after ':'.
        hint = difflib.get_close_matches(unknown, candidates, n=1) or difflib.get_close_matches(
            unknown.split(":")[-1], [c.split(":")[-1] for c in candidates], n=1)
        if hint and hint[0] not in candidates:
            hint = [next(c for c in candidates if c.split(":")[-1] == hint[0])]
        if unknown == f"{PROJECT}:location":
            hint = [LOCATION_KEY]
        msg = f"unknown key {shown(unknown)}; expected one of: {', '.join(allowed)}"
        if hint:
            msg += f" (did you mean {hint[0]!r}?)"
    else:
        msg = pydantic_problem(err)  # "required key is missing" included
        if kind == "string_pattern_mismatch" and path:
            msg = _pattern_message(path, err.get("input")) or msg
    return ConfigIssue(_format_path(path), msg, nearest_line(index, path))


_PATTERN_HINTS = {
    "team": "a lowercase slug: starts with a letter, then letters, digits or '-', at most 12 characters",
    "name": "a lowercase slug: starts with a letter, then letters, digits or '-', at most 24 characters",
    "principalId": "an object id (UUID) of a group or service principal",
    "sshPublicKey": "an OpenSSH public key line (ssh-ed25519 AAAA... or ssh-rsa AAAA...)",
    "servingImage": "a container image reference like vllm/vllm-openai:v0.34.0",
    "rule": "a policy rule id like CS-01",
}


def _pattern_message(path: KeyPath, found: Any) -> str | None:
    key = str(path[-1]).split(":")[-1]
    hint = _PATTERN_HINTS.get(key)
    return f"expected {hint}; found {shown(found)}" if hint else None


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The camelCase keys the model accepts at ``loc`` (for 'did you mean')."""
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        model = _unwrap(model)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = next((f for f in model.model_fields.values() if f.alias == part), None)
        if field is None:
            return []
        model = field.annotation
    model = _unwrap(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        keys = [f.alias or n for n, f in model.model_fields.items()]
        if model is StackConfig:
            return [LOCATION_KEY if k == "location" else f"{PROJECT}:{k}" for k in keys]
        return keys
    return []


def _unwrap(tp: Any) -> Any:
    """Strip Optional / list / Annotated down to the model class inside, if any."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else inner[0]
            if not models:
                return tp
        elif origin in (list, tuple):
            tp = typing.get_args(tp)[0]
        else:
            return tp

"""Read the stack's config (as the engine hands it over) into one validated ``StackConfig``."""

from __future__ import annotations

import difflib
import json
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from . import checks
from .errors import ConfigError, ConfigIssue
from .model import StackConfig
from .yaml_lines import KeyPath, line_index, nearest_line

PROJECT = "ai-serving"
LOCATION_KEY = "azure-native:location"
STRING_KEYS = frozenset({"team", "environment", "costCenter", "modelHubToken"})
"""Top-level keys whose value is a plain string; every other value arrives as JSON text."""
STACK_FILE_ENV = "AI_SERVING_STACK_FILE"
"""Set by tools that read a stack file from a non-default place, so errors can cite its lines."""


def raw_from_config_map(config: Mapping[str, str]) -> dict[str, Any]:
    """The engine's flat ``{"ns:key": "string"}`` map -> a nested dict keyed like the model.

    Values are decoded the way ``pulumi.Config.get_object`` does (JSON), except plain-string keys.
    Keys of other namespaces than ours are ignored, apart from ``azure-native:location``.
    """
    raw: dict[str, Any] = {}
    for full_key, value in config.items():
        if full_key == LOCATION_KEY:
            raw["location"] = value
            continue
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT or not key:
            continue
        raw[key] = value if key in STRING_KEYS else _decode(value)
    return raw


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
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
    index = line_index(source) if source is not None and source.is_file() else {}
    try:
        cfg = StackConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(source, [_issue_from_pydantic(err, index) for err in exc.errors()]) from None
    problems = checks.check(cfg, stack_name)
    if problems:
        raise ConfigError(
            source,
            [ConfigIssue(_format_path(path), message, nearest_line(index, path)) for path, message in problems],
        )
    return cfg


def load_from_pulumi() -> StackConfig:
    """Read and validate this stack's config from the running Pulumi program's settings."""
    import pulumi

    from ..sdk import stack_config_map

    stack = pulumi.get_stack()
    values = stack_config_map()
    return validate(raw_from_config_map(values), stack_name=stack, source=stack_file(stack))


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
        if i == 0:
            part = LOCATION_KEY if part == "location" else f"{PROJECT}:{part}"
        parts.append(part)
    return tuple(parts)


def _format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _issue_from_pydantic(err: Mapping[str, Any], index: dict[KeyPath, int]) -> ConfigIssue:
    path = _yaml_path(tuple(err["loc"]))
    kind = err["type"]
    if kind == "extra_forbidden":
        unknown = str(path[-1]) if path else "?"
        allowed = _allowed_keys(tuple(err["loc"])[:-1])
        hint = difflib.get_close_matches(unknown.split(":")[-1], allowed, n=1)
        msg = f"unknown key {unknown!r}; expected one of: {', '.join(allowed)}"
        if hint:
            msg += f" (did you mean {hint[0]!r}?)"
    elif kind == "missing":
        msg = "required key is missing"
    else:
        found = err.get("input")
        text = err["msg"]
        if text.startswith("Value error, "):
            text = text[len("Value error, "):]
        msg = text if "found" in text else f"{text}; found {found!r}"
        if kind == "string_pattern_mismatch" and path:
            msg = _pattern_message(path, found) or msg
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
    return f"expected {hint}; found {found!r}" if hint else None


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

"""Load a Pulumi project and a stack's config the way the Pulumi engine does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.config.errors import ConfigError, ConfigIssue
from infra.config.yaml_lines import line_index

from ..outcome import UsageError
from . import stack_yaml

SECRET_PLACEHOLDER = "offline-secret-placeholder"
"""What a ``secure:`` value becomes offline (it cannot be decrypted without the secrets provider)."""


@dataclass(frozen=True)
class Project:
    """The parts of ``Pulumi.yaml`` the runner needs."""

    root: Path
    name: str
    main: Path
    stack_config_dir: Path
    config_defaults: Mapping[str, Any] = field(default_factory=dict)

    def stack_file(self, stack: str) -> Path:
        """``<stackConfigDir>/Pulumi.<stack>.yaml``."""
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        """Names of every stack with a file in the stack config directory, sorted."""
        prefix, suffix = "Pulumi.", ".yaml"
        return sorted(
            p.name[len(prefix):-len(suffix)]
            for p in self.stack_config_dir.glob("Pulumi.*.yaml")
        )

    @property
    def program(self) -> Path:
        """The file the language host runs: ``main`` itself, or ``main/__main__.py``."""
        return self.main / "__main__.py" if self.main.is_dir() else self.main


def load_project(root: Path, stack_dir: Path | None = None) -> Project:
    """Read ``Pulumi.yaml`` under ``root``. ``stack_dir`` overrides ``stackConfigDir``."""
    path = root / "Pulumi.yaml"
    if not path.is_file():
        raise UsageError(f"{root}: no Pulumi.yaml (pass --project DIR pointing at a Pulumi project)")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: not UTF-8
        raise UsageError(f"{path}: not a readable YAML file: {str(exc)[:300]}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected a mapping (name, runtime, main, ...); found {type(doc).__name__}")
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise UsageError(f"{path}: runtime is {runtime_name!r}; the offline runner runs Python programs only")
    name = doc.get("name")
    if not name:
        raise UsageError(f"{path}: `name` is required")
    if not isinstance(name, str) or not isinstance(doc.get("main", "."), str) \
            or not isinstance(doc.get("stackConfigDir", "."), str) or not isinstance(doc.get("config") or {}, dict):
        raise UsageError(f"{path}: `name`, `main` and `stackConfigDir` must be strings and `config` a mapping")
    main = (root / doc.get("main", ".")).resolve()
    defaults: dict[str, Any] = {}
    for key, spec in (doc.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(spec, dict) and ("default" in spec or "value" in spec):
            defaults[full] = spec.get("value", spec.get("default"))
        elif isinstance(spec, dict):
            # A typed declaration with no default: the stack must set it (checked per stack).
            defaults[full] = _REQUIRED
        else:
            defaults[full] = spec
    config_dir = stack_dir if stack_dir is not None else root / doc.get("stackConfigDir", ".")
    return Project(root=root.resolve(), name=name, main=main, stack_config_dir=config_dir.resolve(),
                   config_defaults=defaults)


_REQUIRED = object()


@dataclass(frozen=True)
class StackConfigMap:
    """A stack's config as the engine hands it to the program: namespaced keys -> strings."""

    values: dict[str, str]
    secret_keys: list[str]
    source: Path


def marshal(value: Any) -> str:
    """Config values reach the program as strings: strings as is, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def read_stack_config(project: Project, stack: str, path: Path | None = None) -> StackConfigMap:
    """Read ``Pulumi.<stack>.yaml`` and merge project defaults, as ``pulumi preview`` would."""
    path = path or project.stack_file(stack)
    if not path.exists():
        raise ConfigError(path, [ConfigIssue("(file)", f"no stack file for stack {stack!r}; expected {path}")])
    doc = stack_yaml.load(path)
    if doc is None:
        raise ConfigError(path, [ConfigIssue("config", "the file is empty; expected a `config:` mapping")])
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise ConfigError(path, [ConfigIssue("config", "expected a mapping with a `config:` mapping inside; "
                                                       f"found {type(doc).__name__}")])
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in project.config_defaults.items():
        if value is not _REQUIRED:
            values[key] = marshal(value)
    written: dict[str, str] = {}
    for key, value in (doc.get("config") or {}).items():
        key = str(key)
        full = key if ":" in key else f"{project.name}:{key}"
        if full in written:
            # `costCenter` is `ai-serving:costCenter`: both in one file is one key set twice, and the last
            # one silently won (the YAML loader refuses a key written twice, but these are two spellings).
            lines = line_index(path)
            raise ConfigError(path, [ConfigIssue(full, f"set twice, as {written[full]!r} and as {key!r} (a key "
                                                       f"without a namespace is {project.name}:<key>); keep one",
                                                 lines.get((full,)))])
        written[full] = key
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full] = SECRET_PLACEHOLDER
            secret_keys.append(full)
        else:
            values[full] = marshal(value)
    missing = [k for k, v in project.config_defaults.items() if v is _REQUIRED and k not in values]
    if missing:
        raise ConfigError(path, [ConfigIssue(k, "required by Pulumi.yaml but not set in the stack file")
                                 for k in missing])
    return StackConfigMap(values=values, secret_keys=secret_keys, source=path)

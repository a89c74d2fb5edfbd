"""Load a Pulumi project and a stack's config the way the Pulumi engine does."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from infra.config.errors import ConfigError, ConfigIssue, shown
from infra.config.yaml_lines import PROJECT, line_index

from ..outcome import UsageError, bounded
from . import stack_yaml

STACK_NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")
"""What a stack may be called (``Pulumi.<name>.yaml``): a lowercase letter, then lowercase letters, digits
and '-'. A name is checked against it before it reaches a path, a terminal, a CI log or a report."""

PROJECT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
"""What the engine accepts as a project name (tokens.ValidateProjectName)."""
STACK_FILE_GLOB = "Pulumi.*.yaml"
"""A stack file's name in the stack config directory (``Pulumi.<stack>.yaml``): what ``stacks`` lists."""
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
        prefix, suffix = STACK_FILE_GLOB.split("*")
        return sorted(
            p.name[len(prefix):-len(suffix)]
            for p in self.stack_config_dir.glob(STACK_FILE_GLOB)
        )

    @property
    def program(self) -> Path:
        """The file the language host runs: ``main`` itself, or ``main/__main__.py``."""
        return self.main / "__main__.py" if self.main.is_dir() else self.main


def load_project(root: Path, stack_dir: Path | None = None) -> Project:
    """Read ``Pulumi.yaml`` under ``root``. ``stack_dir`` overrides ``stackConfigDir``.

    The file is read as strictly as a stack file (``stack_yaml``: a regular file of bounded size, no
    aliases, no duplicate keys, bounded nesting); every problem is one ``UsageError`` naming the file,
    the line, the key and what was expected instead of what was found.
    """
    path = root / "Pulumi.yaml"
    if not path.exists():
        raise UsageError(f"{root}: no Pulumi.yaml (pass --project DIR pointing at a Pulumi project)")
    try:
        doc, lines = stack_yaml.load_with_lines(path, what="Pulumi.yaml")
    except ConfigError as exc:
        issue = exc.issues[0]
        where = f"{path}:{issue.line}" if issue.line else str(path)
        if issue.path != "(yaml)":  # a problem with one value (a number too large) names its key
            where = f"{where}: {issue.path}"
        raise UsageError(f"{where}: {issue.message}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise _bad(path, lines, (), "a mapping (name, runtime, main, ...)", doc)
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        key = ("runtime", "name") if isinstance(runtime, dict) else ("runtime",)
        raise UsageError(f"{_at(path, lines, key)}: runtime is {shown(runtime_name)}; the offline runner runs "
                         "Python programs only")
    name = doc.get("name")
    if name is None or name == "":
        raise UsageError(f"{path}: `name` is required")
    if not isinstance(name, str):
        raise _bad(path, lines, ("name",), "a string", name)
    if not PROJECT_NAME.fullmatch(name):
        # The engine's rule (pulumi v3.274.0 sdk/go/common/tokens project.go ValidateProjectName): the name is in
        # every URN and state path, so `../evil` must not reach them (found by review: it was accepted).
        raise _bad(path, lines, ("name",), "a project name: up to 100 letters, digits, '-', '_' and '.'", name)
    for key in ("main", "stackConfigDir"):
        value = doc.get(key, ".")
        if not isinstance(value, str) or "\x00" in value:
            raise _bad(path, lines, (key,), "a path (a string without NUL characters)", value)
    config = doc.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise _bad(path, lines, ("config",), "a mapping of config key -> declaration", config)
    main = _resolved(root / doc.get("main", "."), path, lines, "main")
    defaults: dict[str, Any] = {}
    for key, spec in config.items():
        if not isinstance(key, str) or not key:
            raise _bad(path, lines, ("config", str(key)), "a config key (a string such as `gpuPool` or "
                       "`ai-serving:gpuPool`)", key)
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(spec, dict) and ("default" in spec or "value" in spec):
            defaults[full] = spec.get("value", spec.get("default"))
        elif isinstance(spec, dict):
            # A typed declaration with no default: the stack must set it (checked per stack).
            defaults[full] = _REQUIRED
        else:
            defaults[full] = spec
    entry = main / "__main__.py" if main.is_dir() else main
    if not entry.is_file():
        # Said here, with the key's line, not as a FileNotFoundError once the first stack runs (found by review).
        raise UsageError(f"{_at(path, lines, ('main',))}: main: {bounded(str(entry), 300)} is not a file; expected the "
                         "program's entry (a .py file, or a folder with __main__.py)")
    config_dir = stack_dir if stack_dir is not None else root / doc.get("stackConfigDir", ".")
    return Project(root=root.resolve(), name=name, main=main,
                   stack_config_dir=_resolved(config_dir, path, lines, "stackConfigDir"), config_defaults=defaults)


def _at(path: Path, lines: stack_yaml.KeyLines, key: tuple[str | int, ...]) -> str:
    """``path:line`` of ``key`` (or of its closest ancestor in the file), or ``path``."""
    for end in range(len(key), 0, -1):
        if key[:end] in lines:
            return f"{path}:{lines[key[:end]]}"
    return f"{path}:1" if not key and lines else str(path)


def _bad(path: Path, lines: stack_yaml.KeyLines, key: tuple[str | int, ...], expected: str, found: Any) -> UsageError:
    """The one message for a value of the wrong kind in ``Pulumi.yaml``."""
    shown_key = ".".join(map(str, key)) or "(top level)"
    return UsageError(f"{_at(path, lines, key)}: {bounded(shown_key, 200)}: expected {expected}; "
                      f"found {type(found).__name__} {shown(found)}")


def _resolved(target: Path, path: Path, lines: stack_yaml.KeyLines, key: str) -> Path:
    try:
        return target.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop
        raise UsageError(f"{_at(path, lines, (key,))}: {key}: cannot resolve {bounded(str(target), 300)}: "
                         f"{bounded(str(exc), 300)}") from None


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
    if isinstance(value, float) and math.isfinite(value):
        return go_json_float(value)
    return json.dumps(_json_keys(value), default=str)


def go_json_float(value: float) -> str:
    """``value`` as Go's encoding/json writes a float64, which is the text a top-level value reaches the program
    as (``costCenter: 0.00001`` arrives as "0.00001", where Python writes "1e-05"): the shortest digits, in
    positional notation from 1e-6 up to 1e21, else as an exponent without a leading zero (``1e-7``)."""
    if value == 0 or 1e-6 <= abs(value) < 1e21:
        text = format(Decimal(repr(value)), "f")
        return text[:-2] if text.endswith(".0") else text
    return re.sub(r"e([+-])0(\d)$", r"e\1\2", repr(value))


def _json_keys(value: Any) -> Any:
    """``value`` with mapping keys JSON can write: a date key (``2027-03-31:``) becomes a string, as the
    engine passes it. ``default=`` covers values only: json.dumps refused such a key with a TypeError."""
    if isinstance(value, dict):
        return {k if k is None or isinstance(k, str | int | float | bool) else str(k): _json_keys(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_json_keys(v) for v in value]
    return value


def _yaml_kind(value: Any) -> str:
    """What a YAML value is, in YAML's words (a list, not a Python ``list``)."""
    kinds = ((bool, "a boolean"), (dict, "a mapping"), (list, "a list"), (str, "a string"), (int, "a number"),
             (float, "a number"))
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


STACK_FILE_KEYS = ("config",)
"""The top-level keys a team's stack file may hold: ``config:`` only.

Pulumi's stack file (``ProjectStack`` in pulumi/pulumi sdk/go/common/workspace/project.go) has five keys:
``config``, ``secretsprovider``, ``encryptedkey``, ``encryptionsalt`` and ``environment``; yaml.v3 ignores
any other one silently (no ``KnownFields``). Only ``config`` belongs to the team. The secrets provider is
the deploy job's choice, per GitHub environment (``PULUMI_SECRETS_KEY_VAULT``/``PULUMI_SECRETS_KEY``, prod
its own key), recorded in the stack's state when CI creates the stack, and read back from there
(``PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER``, .github/workflows/deploy.yml). Pulumi prefers what the file
says (pkg/cmd/pulumi/stack/secrets.go, ``GetSecretsManager``: ``secretsprovider`` first, then
``encryptionsalt``, the state only when neither is set), so either key in a file a team edits would move
that choice out of the environment's protection; there is no legitimate value for this project.
``environment`` opens Pulumi ESC environments, whose ``pulumiConfig`` and environment variables reach the
program without being in the file, so the offline plan and the policy verdict never see them (and the
azblob backend has no ESC: ``pulumi up`` fails). A refused key is one message on its line
(``REFUSED_STACK_FILE_KEYS`` says what it does and what to write instead), exit 2."""

_SECRET_THE_PROJECT_WAY = (
    "set each secret on the stack's own key, the one the deploy job created it with: "
    "`PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER=true pulumi config set --secret ai-serving:<key> <value>` "
    "(README, 'A stack file'), then delete the `secretsprovider:`/`encryptedkey:` lines that command adds "
    "(the stack's state keeps both)")

REFUSED_STACK_FILE_KEYS: dict[str, str] = {
    "secretsprovider": (
        "selects the stack's secrets provider, ahead of the one in the stack's state: here the deploy job "
        "chooses it per environment and reads it from the state (PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER); "
        "remove the line (`pulumi config set --secret` writes it, with encryptedkey, when it reads the "
        "provider from the state: delete both)"),
    "encryptedkey": (
        "holds the stack's data key encrypted by a cloud secrets provider: it belongs with the provider, in the "
        "stack's state, not in this file; remove the line (`pulumi config set --secret` writes it, with "
        "secretsprovider, when it reads the provider from the state: delete both)"),
    "encryptionsalt": (
        "makes Pulumi use the passphrase secrets manager for this stack (written by `pulumi config set "
        "--secret` when the stack had no provider at hand): the deploy job has no PULUMI_CONFIG_PASSPHRASE and "
        "fails, and every `secure:` value in the file was encrypted with that passphrase; remove the line and "
        f"those values, and {_SECRET_THE_PROJECT_WAY}"),
    "environment": (
        "imports Pulumi ESC environments, whose config and environment variables reach the program without "
        "being in this file: the offline plan and the policy verdict never see them (and the deploy's azblob "
        "backend has no ESC); write each setting under `config:` instead"),
    "imports": (
        "is not a key of a Pulumi stack file (ESC imports go under `environment:`, which is refused too) and "
        "Pulumi ignores it; write each setting under `config:` instead"),
}
"""Top-level keys of a stack file that are refused -> what each does and what to write instead."""


def _refused_top_level_keys(path: Path, doc: Mapping[Any, Any]) -> ConfigError | None:
    """One ``ConfigError`` naming every top-level key other than ``STACK_FILE_KEYS``, on its line."""
    refused = [key for key in doc if key not in STACK_FILE_KEYS]
    if not refused:
        return None
    _, lines = stack_yaml.load_with_lines(path)  # only now: the lines cost a second parse of a refused file
    issues = []
    for key in refused:
        what = REFUSED_STACK_FILE_KEYS.get(key) if isinstance(key, str) else None
        if what is None:
            what = (f"is not a key of a Pulumi stack file, which Pulumi ignores; a stack file holds only "
                    f"{', '.join(f'`{k}:`' for k in STACK_FILE_KEYS)}: move the setting under `config:` or remove it")
        issues.append(ConfigIssue(key if key in REFUSED_STACK_FILE_KEYS else "(top level)",
                                  f"top-level key {shown(key)} {what}", lines.get((key,))))
    return ConfigError(path, issues)


def _check_secure(path: Path, project: Project, key: str, ciphertext: Any) -> None:
    """A ``secure:`` value offline: only the project's secret keys may be encrypted, and as ciphertext text.

    Offline a secure value is a placeholder, so every check of an encrypted `costCenter` judged the placeholder,
    not what deploy decrypts (found by review: a prod stack passed with its cost center hidden this way). Keys of
    other namespaces (a provider's client secret) are the engine's and pass through.
    """
    from infra.config.loader import SECRET_KEYS

    namespace, _, name = key.partition(":")
    problem = None
    if not isinstance(ciphertext, str) or not ciphertext.strip():
        problem = "`secure:` must hold the ciphertext text `pulumi config set --secret` writes"
    elif namespace == project.name and name not in SECRET_KEYS:
        problem = (f"is encrypted (`secure:`) but is not a secret (only {', '.join(sorted(SECRET_KEYS))} may be): "
                   "no check can read what deploy decrypts; write it in plain text")
    if problem is not None:
        raise ConfigError(path, [ConfigIssue(key, problem, line_index(path).get((key,)))])


def read_stack_config(project: Project, stack: str, path: Path | None = None) -> StackConfigMap:
    """Read ``Pulumi.<stack>.yaml`` and merge project defaults, as ``pulumi preview`` would."""
    path = path or project.stack_file(stack)
    if not path.exists():
        raise ConfigError(path, [ConfigIssue("(file)", f"no stack file for stack {stack!r}; expected {path}")])
    doc = stack_yaml.load(path)
    if doc is None:
        raise ConfigError(path, [ConfigIssue("config", "the file is empty; expected a `config:` mapping")])
    if not isinstance(doc, dict):
        raise ConfigError(path, [ConfigIssue("(file)", "expected a mapping with a `config:` mapping inside; "
                                                       f"found {_yaml_kind(doc)}")])
    refused = _refused_top_level_keys(path, doc)
    if refused is not None:
        raise refused
    if not isinstance(doc.get("config") or {}, dict):  # `config:` with nothing under it is an empty one
        raise ConfigError(path, [ConfigIssue("config", f"expected a mapping of key: value; found "
                                                       f"{_yaml_kind(doc['config'])}")])
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in project.config_defaults.items():
        if value is not _REQUIRED:
            values[key] = marshal(value)
    for key, value in (doc.get("config") or {}).items():
        key = str(key)
        if ":" not in key:
            # The engine reads `costCenter` as `ai-serving:costCenter` (pulumi 3.274.0, workspace/loaders.go,
            # stackConfigNamespacedWithProject). Two spellings of one key let a file set it twice (the last one
            # silently won) and hide it from whatever reads the file by the full name: the pull request's waiver
            # review (.github/actions/new-waivers) never saw an unprefixed `suppressions:`. One spelling only.
            lines = line_index(path)
            message = (f"key {shown(key)} has no namespace: Pulumi reads it as {project.name}:{key}; write it so "
                       "(one spelling per key, which every check and review reads)")
            # The line index records an unprefixed key under the project's namespace (yaml_lines.line_index).
            raise ConfigError(path, [ConfigIssue(key, message, lines.get((f"{PROJECT}:{key}",)))])
        full = key
        if isinstance(value, dict) and set(value) == {"secure"}:
            _check_secure(path, project, key, value["secure"])
            values[full] = SECRET_PLACEHOLDER
            secret_keys.append(full)
        elif value is None:
            # `key:` with no value (or `~`, `null`): the engine hands the program an empty string (and warns
            # that a future version will hand it null), not the JSON null a list item or mapping value is.
            values[full] = ""
        else:
            values[full] = marshal(value)
    missing = [k for k, v in project.config_defaults.items() if v is _REQUIRED and k not in values]
    if missing:
        raise ConfigError(path, [ConfigIssue(k, "required by Pulumi.yaml but not set in the stack file")
                                 for k in missing])
    return StackConfigMap(values=values, secret_keys=secret_keys, source=path)

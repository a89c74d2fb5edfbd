"""Read and validate a stack once, for every command (plan, plan --all, validate, new-team, rehearse, supply).

``load_stack`` reads ``Pulumi.<stack>.yaml`` the way the engine hands config to the program
(``engine/project.py``) and validates it into the program's own ``StackConfig`` (``infra.config``).
Every command works from the one ``LoadedStack`` it returns: ``plan`` runs the program with its
config map and judges waivers from ``config.suppressions``; ``plan --all`` returns ``config`` from the
worker for the cross-team checks. When the program then validates the same config map in the same
process (under the offline runner), ``infra.config.validate`` returns the result it already has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra.config import StackConfig, raw_from_config_map, validate
from infra.config.loader import plaintext_secrets

from .engine.project import Project, StackConfigMap, read_stack_config
from .outcome import UsageError


@dataclass(frozen=True)
class LoadedStack:
    """One stack's config, read and validated."""

    name: str
    config_map: StackConfigMap
    """As the engine hands it to the program: namespaced keys -> strings, secret keys, source file."""
    config: StackConfig
    """The validated, typed config (the same model the program builds from)."""

    @property
    def source(self) -> Path:
        """The stack file."""
        return self.config_map.source


def load_stack(project: Project, stack: str, path: Path | None = None) -> LoadedStack:
    """Read ``stack``'s file (or ``path``) and validate it; ``ConfigError`` names file, line and key path."""
    config_map = read_stack_config(project, stack, path)
    # Before validation, which never sees whether a value was encrypted: a plain-text token is refused in
    # the pull request that adds it (validate, plan), and never quoted.
    plain = plaintext_secrets(config_map.values, config_map.secret_keys, config_map.source)
    if plain is not None:
        raise plain
    config = validate(raw_from_config_map(config_map.values), stack_name=stack, source=config_map.source)
    return LoadedStack(stack, config_map, config)


def every_stack(project: Project) -> list[str]:
    """Every stack with a file in ``project``'s stack directory; a ``UsageError`` when there is none.

    ``validate`` without names and ``plan --all`` both take them from here: a stack directory that is missing,
    a file, or holds no stack file (a typo in ``--stack-dir``) is an error, not a run that checked nothing and
    passed.
    """
    folder = project.stack_config_dir
    stacks = project.stacks()
    if not stacks:
        why = ("does not exist" if not folder.exists() else "is not a folder" if not folder.is_dir()
               else "holds no stack file (Pulumi.<team>-<environment>.yaml)")
        raise UsageError(f"stack directory {folder} {why}: no stack to check")
    return stacks

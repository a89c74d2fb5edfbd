"""Config errors that name the file, the key path and the line, and say what to fix."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_CODE = 2
"""The exit code of a run stopped by bad config (the program's and the tooling's: ``ai_serving/outcome.py``)."""


MAX_SHOWN_CHARS = 120
"""The most of a bad value a message quotes (hostile input can be megabytes long)."""
MAX_MESSAGE_CHARS = 1000
"""The longest message one issue may carry."""
MAX_ISSUES = 50
"""Issues listed in one report; the rest are counted."""
_KEY_MATERIAL = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File|\bPRIVATE KEY\b")


def is_key_material(value: Any) -> bool:
    """Whether ``value`` looks like a private key, or holds one anywhere inside (a list, a mapping's keys
    or values): such a value must never be echoed anywhere."""
    if isinstance(value, str):
        return bool(_KEY_MATERIAL.search(value))
    if isinstance(value, dict):
        return any(is_key_material(k) or is_key_material(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(is_key_material(v) for v in value)
    return False


def shown(value: Any) -> str:
    """How a message quotes a bad value: never key material, never more than ``MAX_SHOWN_CHARS``."""
    if is_key_material(value):
        return "a PRIVATE key (not shown; use the public key line from the .pub file, and treat this key as leaked)"
    text = repr(value)
    if len(text) > MAX_SHOWN_CHARS:
        text = f"{text[:MAX_SHOWN_CHARS]}… ({len(text):,} characters)"
    return text


@dataclass(frozen=True)
class ConfigIssue:
    """One problem at one key path (e.g. ``ai-serving:gpuPool.maxInstances``)."""

    path: str
    message: str
    line: int | None = None


@dataclass
class ConfigError(Exception):
    """A stack config that cannot be used. ``str()`` is the report a person reads."""

    source: Path | str | None
    issues: list[ConfigIssue] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = _shown(self.source) if self.source is not None else "<stack config>"
        lines = [f"invalid stack config: {where} ({len(self.issues)} problem{'s' if len(self.issues) != 1 else ''})"]
        for issue in self.issues[:MAX_ISSUES]:
            at = f"{where}:{issue.line}" if issue.line else where
            message = issue.message
            if len(message) > MAX_MESSAGE_CHARS:
                message = f"{message[:MAX_MESSAGE_CHARS]}… ({len(message):,} characters)"
            lines.append(f"  {at}: {issue.path[:200]}: {message}")
        if len(self.issues) > MAX_ISSUES:
            lines.append(f"  … and {len(self.issues) - MAX_ISSUES} more problem(s)")
        return "\n".join(lines)


def _shown(source: Path | str) -> str:
    """``source`` relative to the working directory when it is under it: ``stacks/Pulumi.x.yaml``,
    not the CI runner's ``/home/runner/work/...`` (which means nothing to the person reading it)."""
    path = Path(source)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix() if path.is_absolute() else str(source)
    except (ValueError, OSError):
        return str(source)

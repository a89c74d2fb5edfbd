"""Config errors that name the file, the key path and the line, and say what to fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EXIT_CODE = 2
"""The exit code of a run stopped by bad config (the program's and the tooling's: ``ai_serving/outcome.py``)."""


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
        for issue in self.issues:
            at = f"{where}:{issue.line}" if issue.line else where
            lines.append(f"  {at}: {issue.path}: {issue.message}")
        return "\n".join(lines)


def _shown(source: Path | str) -> str:
    """``source`` relative to the working directory when it is under it: ``stacks/Pulumi.x.yaml``,
    not the CI runner's ``/home/runner/work/...`` (which means nothing to the person reading it)."""
    path = Path(source)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix() if path.is_absolute() else str(source)
    except (ValueError, OSError):
        return str(source)

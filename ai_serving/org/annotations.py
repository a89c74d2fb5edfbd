"""GitHub Actions annotations for ``plan --all``: problems shown on the stack file's lines in "Files changed".

Under ``GITHUB_ACTIONS=true`` each config error becomes ``::error file=…,line=…::``, each placeholder
left by ``new-team`` in a dev/test stack a ``::warning`` (prod rejects them as config errors), and
each policy finding an ``::error`` (mandatory) or ``::warning`` (advisory) on the line of the config
section that declares the resource (``SECTION_OF_TYPE``). Paths are relative to the working
directory (the repository root in CI). Values are escaped as GitHub's workflow-command rules say
(docs.github.com, "Workflow commands for GitHub Actions": ``%``, CR and LF in the message;
also ``:`` and ``,`` in properties), so a message cannot end the command or start another.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from infra.config import checks
from infra.config.errors import relative_path
from infra.config.yaml_lines import line_index, nearest_line

SECTION_OF_TYPE = {
    "cognitiveservices": ("ai-serving:openai",),
    "compute": ("ai-serving:gpuPool",),
    "network": ("ai-serving:network",),
    "consumption": ("ai-serving:budget",),
}
"""Azure provider module of a finding's resource -> the stack-file section that declares it. Other
resources (vault, workspace, identities) come from the stack as a whole and get no line."""


def enabled() -> bool:
    """Whether this process runs as a GitHub Actions step in the repository checkout.

    Not elsewhere on the runner: the PR workflow also plans the base commit in a worktree under
    $RUNNER_TEMP, whose stack files have the same relative paths; annotating from there would pin
    the base's problems on the PR's lines."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return False
    workspace = os.environ.get("GITHUB_WORKSPACE")
    return workspace is None or Path.cwd().resolve() == Path(workspace).resolve()


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, *, file: Path | str | None = None, line: int | None = None,
            title: str | None = None) -> str:
    """One workflow command line: ``::error file=stacks/x.yaml,line=3,title=…::message``."""
    props = []
    if file is not None:
        props.append(f"file={escape_property(relative(file))}")
    if line:
        props.append(f"line={int(line)}")
    if title:
        props.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(props)}::{escape_data(message)}" if props else f"::{level}::{escape_data(message)}"


relative = relative_path
"""``path`` relative to the working directory when under it (GitHub wants repository paths)."""


def for_outcome(outcome: dict[str, Any], stack_file: Path) -> Iterator[str]:
    """The annotations of one ``plan --all`` outcome (as the workers return them)."""
    stack = outcome["stack"]
    for issue in outcome.get("issues") or []:
        yield command("error", f"{stack}: {issue['path']}: {issue['message']}", file=issue.get("file") or stack_file,
                      line=issue.get("line"), title="invalid stack config")
    if not outcome.get("issues") and (outcome.get("errors") and not outcome.get("verdict")):
        first = str(outcome["errors"][0]).splitlines()[0]
        yield command("error", f"{stack}: {first}", file=stack_file, title="stack failed to plan")
    index = line_index(stack_file) if stack_file.is_file() else {}
    config = outcome.get("config")
    if config is not None and config.environment != "prod":  # prod: already config errors above
        for path, message in checks.placeholders(config):
            yield command("warning", f"{stack}: {message}", file=stack_file, line=nearest_line(index, path),
                          title="placeholder from new-team (rejected in prod)")
    for v in (outcome.get("verdict") or {}).get("violations") or []:
        level = "error" if v.get("level") == "mandatory" else "warning"
        yield command(level, f"{stack}: {v.get('message', '')}", file=stack_file,
                      line=_line_of(v.get("urn") or "", index), title=f"{v.get('policy', '')} ({v.get('level')})")


def _line_of(urn: str, index: dict[Any, int]) -> int | None:
    parts = urn.split("::")
    token = parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""
    module = token.split(":")[1] if token.startswith("azure-native:") and token.count(":") == 2 else ""
    section = SECTION_OF_TYPE.get(module)
    return nearest_line(index, section) if section else None


def emit(outcomes: Iterable[dict[str, Any]], stack_file_of: Any) -> None:
    """Print every outcome's annotations on stdout, where the Actions runner reads workflow commands."""
    for outcome in outcomes:
        for line in for_outcome(outcome, stack_file_of(outcome["stack"])):
            print(line, flush=True)

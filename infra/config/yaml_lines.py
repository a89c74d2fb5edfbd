"""Map key paths of a YAML stack file to line numbers, for error messages."""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT = "ai-serving"
"""The program's project name (Pulumi.yaml): the namespace of its own config keys."""

KeyPath = tuple[str | int, ...]
MAX_INDEXED_BYTES = 1024 * 1024
"""The largest file indexed for line numbers (stack files are at most 256 KB)."""


def line_index(path: Path) -> dict[KeyPath, int]:
    """Key path under ``config:`` -> 1-based line, for every key and list item in ``path``.

    Top-level keys are recorded with their namespace: as written (``ai-serving:team``), and an unprefixed one
    (``team``) under the project's (``PROJECT``), as the engine reads it.
    Returns an empty index when the file cannot be read or parsed.
    """
    try:
        # Only for a file already read (bounded) by the loader; still bounded here, in case it changed since.
        if not path.is_file() or path.stat().st_size > MAX_INDEXED_BYTES:
            return {}
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError, yaml.YAMLError):  # ValueError: not UTF-8
        return {}
    index: dict[KeyPath, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return index
    for key, value in root.value:
        if key.value == "config" and isinstance(value, yaml.MappingNode):
            for k, v in value.value:
                name = str(k.value)
                if ":" not in name:
                    name = f"{PROJECT}:{name}"
                index[(name,)] = k.start_mark.line + 1
                _walk(v, (name,), index)
    return index


def _walk(node: yaml.Node, prefix: KeyPath, index: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            path = prefix + (str(k.value),)
            index[path] = k.start_mark.line + 1
            _walk(v, path, index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = prefix + (i,)
            index[path] = item.start_mark.line + 1
            _walk(item, path, index)


def nearest_line(index: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path``, or of its closest ancestor present in the file."""
    for end in range(len(path), 0, -1):
        if path[:end] in index:
            return index[path[:end]]
    return None

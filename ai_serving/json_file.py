"""Read a JSON document from a file someone else may have written, in one place for every tool.

``policy-config.json`` and ``waivers.json`` (a pack may come from a pull request) and the plan documents
that ``diff`` and ``report`` read back (``plan.json``, ``summary.json``): each through
``read_regular_file`` (a regular file only, bounded), decoded, and every failure one ``UsageError``
naming the file: a FIFO or a link to ``/dev/zero`` under that name, bytes that are not UTF-8 or not
JSON, ``[[[[...`` nested past the decoder's recursion limit (a ``RecursionError`` traceback once), and a
document that decodes but nests deeper than its kind may (it would reach other recursive code: the schema
validator, the protobuf conversion, pydantic).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.config.errors import ConfigError

from .outcome import UsageError, bounded
from .regular_file import read_regular_file

MAX_REASON_CHARS = 300
"""How much of the decoder's own complaint is quoted (it can quote the document)."""


def read_json_file(path: Path, *, what: str, max_bytes: int, max_depth: int, hint: str = "") -> Any:
    """The JSON value in the regular file at ``path`` (at most ``max_bytes``).

    Anything else is ``UsageError("<path>: not a readable <what>: <why><hint>")``; ``max_depth`` is how deep
    a document of this kind may nest (objects and arrays), checked here for every kind; callers check the
    value's shape themselves.
    """
    try:
        data = read_regular_file(path, what=what, max_bytes=max_bytes)
    except ConfigError as exc:
        raise UsageError(bounded(f"{path}: not a readable {what}: {exc.issues[0].message}{hint}")) from None
    try:
        value = json.loads(data.decode("utf-8"))
    except RecursionError:  # the decoder recurses once per level
        raise UsageError(bounded(f"{path}: not a readable {what}: nested too deeply "
                                 f"(more than {max_depth} levels){hint}")) from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise UsageError(bounded(f"{path}: not a readable {what}: not valid JSON: "
                                 f"{str(exc)[:MAX_REASON_CHARS]}{hint}")) from None
    where = deeper_than(value, max_depth)
    if where is not None:
        raise UsageError(bounded(f"{path}: not a readable {what}: nested too deeply (more than {max_depth} "
                                 f"levels) at {key_path(where[:MAX_PATH_KEYS]) or '(the document)'}"
                                 f"{'…' if len(where) > MAX_PATH_KEYS else ''}{hint}"))
    return value


MAX_PATH_KEYS = 8
"""How many keys of a too-deep value's path a message names (the path can be as long as the limit)."""


def deeper_than(value: Any, max_depth: int) -> tuple[str | int, ...] | None:
    """The key path of the first object or array nested more than ``max_depth`` levels in ``value``
    (the document itself is level 1), or None when none is. Iterative: the value may be deep."""
    todo: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while todo:
        node, at = todo.pop()
        items: Iterator[tuple[str | int, Any]]
        if isinstance(node, dict):
            items = iter(node.items())
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        if len(at) + 1 > max_depth:
            return at
        todo.extend((child, (*at, key)) for key, child in items)
    return None


def key_path(loc: tuple[Any, ...]) -> str:
    """``("resources", 0, "urn")`` -> ``resources[0].urn`` (keys cut short: they are input too)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{str(part)[:80]}" if out else str(part)[:80])
    return bounded(out, 300)

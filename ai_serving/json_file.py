"""Read a JSON document from a file someone else may have written, in one place for every tool.

``policy-config.json`` and ``waivers.json`` (a pack may come from a pull request) and the plan documents
that ``diff`` and ``report`` read back (``plan.json``, ``summary.json``): each through
``read_regular_file`` (a regular file only, bounded), decoded, and every failure one ``UsageError``
naming the file: a FIFO or a link to ``/dev/zero`` under that name, bytes that are not UTF-8 or not
JSON, a key written twice in one object (``json.loads`` keeps the last silently: a policy configured
twice, a waiver's field overridden below where a reviewer read it), ``[[[[...`` nested past the
decoder's recursion limit (a ``RecursionError`` traceback once), and a document that decodes but nests
deeper than its kind may (it would reach other recursive code: the schema validator, the protobuf
conversion, pydantic).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.config.errors import ConfigError, is_key_material, shown

from .outcome import UsageError, bounded
from .regular_file import read_regular_file

MAX_REASON_CHARS = 300
"""How much of the decoder's own complaint is quoted (it can quote the document)."""


_Noted = dict[int, tuple[dict[str, Any], str]]
"""Objects that name a key twice, by id: the object (kept alive, so its id stays its own) and the key."""


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
    duplicates: _Noted = {}
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=lambda pairs: _object(pairs, duplicates))
    except RecursionError:  # the decoder recurses once per level
        raise UsageError(bounded(f"{path}: not a readable {what}: nested too deeply "
                                 f"(more than {max_depth} levels){hint}")) from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise UsageError(bounded(f"{path}: not a readable {what}: not valid JSON: "
                                 f"{str(exc)[:MAX_REASON_CHARS]}{hint}")) from None
    if duplicates:
        at, key = _first_duplicate(value, duplicates)
        raise UsageError(bounded(f"{path}: not a readable {what}: key {_quoted(key_path((*at, key)))} is written twice "
                                 f"in one object; expected each key once (JSON would keep the last one silently)"
                                 f"{hint}"))
    where = deeper_than(value, max_depth)
    if where is not None:
        raise UsageError(bounded(f"{path}: not a readable {what}: nested too deeply (more than {max_depth} "
                                 f"levels) at {key_path(where[:MAX_PATH_KEYS]) or '(the document)'}"
                                 f"{'…' if len(where) > MAX_PATH_KEYS else ''}{hint}"))
    return value


def _object(pairs: list[tuple[str, Any]], duplicates: _Noted) -> dict[str, Any]:
    """One decoded JSON object; one that names a key twice is noted in ``duplicates`` with that key.

    The decoder builds objects inside out, so where the object is in the document is found afterwards, by
    its id: it is kept in ``duplicates`` so that the id cannot be reused by a later object when this one is
    dropped (as the value of a key written twice itself).
    """
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                duplicates[id(obj)] = (obj, key)
                break
            seen.add(key)
    return obj


def _first_duplicate(value: Any, duplicates: _Noted) -> tuple[tuple[str | int, ...], str]:
    """The key path of the first object (outermost, then in document order) noted in ``duplicates``, and the
    key it names twice."""
    for node, at in containers(value):
        if isinstance(node, dict) and id(node) in duplicates:
            return at, duplicates[id(node)][1]
    # Every noted object that was dropped was the value of a key its parent names twice, and the parent is
    # noted and in the document: not reached. Said without a path rather than not at all.
    return (), next(iter(duplicates.values()))[1]


def _quoted(text: str) -> str:
    """A key path as a message quotes it: never key material (``shown``), else as it is."""
    return shown(text) if is_key_material(text) else repr(text)


MAX_PATH_KEYS = 8
"""How many keys of a too-deep value's path a message names (the path can be as long as the limit)."""


def deeper_than(value: Any, max_depth: int) -> tuple[str | int, ...] | None:
    """The key path of the first object or array nested more than ``max_depth`` levels in ``value``
    (the document itself is level 1), or None when none is."""
    for _, at in containers(value):
        if len(at) + 1 > max_depth:
            return at
    return None


def key_material_at(value: Any) -> tuple[tuple[str | int, ...], str] | None:
    """The key path of the first string in ``value`` (a key or a value, in document order) that looks like key
    material (``infra.config.errors.SECRETS``), and that string; None when there is none. A key is named by
    the path of the object that holds it."""
    if isinstance(value, str):
        return ((), value) if is_key_material(value) else None
    for node, at in containers(value):
        members = node.items() if isinstance(node, dict) else enumerate(node)
        for key, member in members:
            if isinstance(key, str) and is_key_material(key):
                return at, key
            if isinstance(member, str) and is_key_material(member):
                return (*at, key), member
    return None


def containers(value: Any) -> Iterator[tuple[dict[str, Any] | list[Any], tuple[str | int, ...]]]:
    """Every object and array in ``value`` (itself first) with its key path, in document order. Iterative,
    as the value may be deep; a container's members are looked at only when the caller asks for the next
    one after it (so a check that stops at the first too-deep one never walks below it)."""
    todo: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while todo:
        node, at = todo.pop()
        if isinstance(node, dict):
            yield node, at
            todo.extend((child, (*at, key)) for key, child in reversed(node.items())
                        if isinstance(child, (dict, list)))
        elif isinstance(node, list):
            yield node, at
            todo.extend((node[i], (*at, i)) for i in range(len(node) - 1, -1, -1)
                        if isinstance(node[i], (dict, list)))


def key_path(loc: tuple[Any, ...]) -> str:
    """``("resources", 0, "urn")`` -> ``resources[0].urn`` (keys cut short: they are input too)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{str(part)[:80]}" if out else str(part)[:80])
    return bounded(out, 300)

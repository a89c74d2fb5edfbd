"""Read a stack file strictly: UTF-8 only, no duplicate keys, no aliases, bounded size and depth.

PyYAML's ``safe_load`` is lenient in ways that hurt a team's config: a key written twice keeps the
last value silently (``maxInstances: 2`` then ``60``; a second ``config:`` block), aliases expand
without limit (a 1.6 KB "billion laughs" file ran out of memory), deep nesting overflows the
recursion limit, a non-UTF-8 byte or an impossible date (``2027-02-30``) surfaces as a traceback, and
so does an integer of thousands of digits (``maxInstances: 999...``, ``0xfff...``, base-60 ``59:59:...``):
Python refuses to convert one of more than 4,300 decimal digits to or from text, so it failed either here
or later when the value was written as JSON. Here each of those is one ``ConfigError`` naming the file
and line.

Stack files need no anchors or aliases (each is one short mapping), so they are refused outright
rather than expanded with a budget: that is simpler to explain and cannot be outgrown.

``read`` is the one way the tooling takes a stack file's bytes (``load`` here, ``new-team``'s scan of
the address ranges in use): a regular file only (a symlink is judged by what it points to) and at
most ``MAX_BYTES`` of it (``ai_serving.regular_file``, which the reports use for plan documents too),
so a symlink to ``/dev/zero`` or a named pipe committed in a pull request is one message, never a read
without end or a hang. ``Pulumi.yaml`` is read with the same rules
(``what`` names it in the messages).
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml

from infra.config.errors import ConfigError, ConfigIssue

from ..regular_file import read_regular_file

MAX_BYTES = 256 * 1024
"""A stack file is a few KB; anything this large is not one."""
MAX_DEPTH = 24
"""Nesting levels a stack file may use (the deepest real key is about 5 levels down)."""
MAX_INT_CHARS = 100
"""The longest integer a file may write (no setting needs more than a dozen digits). Bounding the text
bounds the value in every notation YAML has (decimal, 0x, 0o, 0b, base-60), far below the 4,300 decimal
digits past which Python refuses to parse it or write it as JSON."""
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"


STACK_FILE = "a stack file"
"""How messages name the file by default (``what``); ``Pulumi.yaml`` is read with its own name."""


class StackYamlError(Exception):
    """One problem with the file's YAML, at a 1-based line."""

    def __init__(self, message: str, line: int | None, key_path: str = "(yaml)") -> None:
        super().__init__(message)
        self.message, self.line, self.key_path = message, line, key_path


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases/anchors, duplicate keys, deep nesting and impossible dates."""

    def __init__(self, stream: str, what: str = STACK_FILE) -> None:
        super().__init__(stream)
        self._depth = 0
        self._path: list[str | int] = []
        """Keys and list positions down to the node being composed (for the key path of a message)."""
        self._no_aliases = f"anchors and aliases are not allowed in {what}; write the value out"
        self._what = what

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise StackYamlError(f"YAML alias *{event.anchor[:40]}: {self._no_aliases}", line)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise StackYamlError(f"YAML anchor &{anchor[:40]}: {self._no_aliases}", line)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise StackYamlError(f"nested more than {MAX_DEPTH} levels deep; {self._what} needs far fewer", line)
        # ``index`` is the key node for a mapping value, the position for a list item, None for a key.
        step = index.value if isinstance(index, yaml.ScalarNode) else index
        if step is not None:
            self._path.append(step)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if step is not None:
                self._path.pop()
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG and len(node.value) > MAX_INT_CHARS:
            at = [*self._path, step] if step is not None else self._path
            raise StackYamlError(f"this number is too large for any setting: expected an integer of at most "
                                 f"{MAX_INT_CHARS} characters, found {node.value[:20]}… ({len(node.value):,} "
                                 "characters)", line, _key_path(at))
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise StackYamlError("a mapping key must be a plain value, not a list or mapping",
                                     key_node.start_mark.line + 1) from None
            line = key_node.start_mark.line + 1
            if not isinstance(key, str) and isinstance(key_node, yaml.ScalarNode) and self._what == STACK_FILE:
                # `true:`, `~:`, `404:`, `2027-03-31:` are a boolean, null, a number and a date to YAML; a key
                # in a stack file's config is text to the engine, as written. Python's str() made the tags
                # "True" and "None". (Pulumi.yaml's checks name a key that is not text: project.py.)
                key_node.tag = _STR_TAG
                key = self.constructed_objects[key_node] = key_node.value  # what construct_mapping reuses
            if key in seen:
                raise StackYamlError(f"key {str(key)[:80]!r} appears twice (lines {seen[key]} and {line}); "
                                     "YAML would silently keep only the last one", line)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise StackYamlError(f"{str(node.value)[:40]!r} is not a valid date ({exc}); expected YYYY-MM-DD",
                                 node.start_mark.line + 1) from None


    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        # An explicit ``!!int`` tag reaches here with any text: ``!!int abc``, ``!!int ""``.
        try:
            return super().construct_yaml_int(node)
        except (ValueError, IndexError):
            raise StackYamlError(f"{str(node.value)[:40]!r} is not a valid integer; expected digits such as 2",
                                 node.start_mark.line + 1) from None


    def construct_not_config(self, node: yaml.Node) -> Any:
        # Binary data, sets, ordered maps, pairs: nothing the engine hands a program as config. PyYAML
        # built Python objects that reached tags and names as their repr ("b'hello'", "{'a', 'b'}").
        kind = node.tag.rsplit(":", 1)[-1]
        raise StackYamlError(f"a YAML !!{kind} value is not config: write a string, number, boolean, list "
                             "or mapping", node.start_mark.line + 1)


def _key_path(steps: list[str | int]) -> str:
    """``config.ai-serving:gpuPool.maxInstances``, ``...deployments[0].capacity``: the path a message names."""
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text[:200] or "(yaml)"


_StrictLoader.add_constructor(_INT_TAG, _StrictLoader.construct_yaml_int)
for _tag in ("binary", "set", "omap", "pairs"):
    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _StrictLoader.construct_not_config)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


def decode(data: bytes, what: str = STACK_FILE) -> str:
    """The file's text: UTF-8 (a UTF-8 BOM is allowed); anything else is a ``StackYamlError``."""
    if len(data) > MAX_BYTES:
        raise StackYamlError(f"the file is {len(data):,} bytes; {what} is at most {MAX_BYTES:,}", None)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise StackYamlError("the file is UTF-16 or UTF-32 encoded; save it as UTF-8", 1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise StackYamlError(f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                             "save it as UTF-8", line) from None


def read(path: Path, *, what: str = STACK_FILE) -> bytes:
    """The bytes of the regular file at ``path``, at most ``MAX_BYTES`` (``regular_file.read_regular_file``)."""
    return read_regular_file(path, what=what, max_bytes=MAX_BYTES)


KeyLines = dict[tuple[str | int, ...], int]
"""Key path (mapping keys as written, list positions) -> 1-based line."""


def load(path: Path, *, what: str = STACK_FILE) -> Any:
    """Parse ``path`` strictly; ``ConfigError`` naming the file and line for every kind of bad file."""
    return _parse(path, what, None)


def load_with_lines(path: Path, *, what: str = STACK_FILE) -> tuple[Any, KeyLines]:
    """``load``, and the line of every key and list item (for messages about the file's structure)."""
    lines: KeyLines = {}
    return _parse(path, what, lines), lines


def _parse(path: Path, what: str, lines: KeyLines | None) -> Any:
    data = read(path, what=what)
    try:
        text = decode(data, what)
        if "\x00" in text:
            raise StackYamlError("the file contains NUL characters; it is not a text file",
                                 text[: text.index("\x00")].count("\n") + 1)
        loader = _StrictLoader(text, what)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            if lines is not None:
                _index(node, (), lines)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except StackYamlError as exc:
        raise ConfigError(path, [ConfigIssue(exc.key_path, exc.message, exc.line)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [ConfigIssue("(yaml)", f"YAML syntax error: {str(problem)[:300]}", line)]) from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops nesting long before this
        raise ConfigError(path, [ConfigIssue("(yaml)", "nested too deeply")]) from None


def _index(node: yaml.Node, prefix: tuple[str | int, ...], lines: KeyLines) -> None:
    """Record the lines under ``node`` (no aliases and at most ``MAX_DEPTH`` levels: composed already)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                lines.setdefault((*prefix, key.value), key.start_mark.line + 1)
                _index(value, (*prefix, key.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*prefix, i)] = item.start_mark.line + 1
            _index(item, (*prefix, i), lines)

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

Two YAML readers read the same file, and they do not agree on every unquoted value: this one (PyYAML,
YAML 1.1) and the Pulumi engine's (gopkg.in/yaml.v3, mostly YAML 1.2), which hands each config value to the
program as text or JSON. ``spot: yes`` is a boolean here and the text "yes" there (which the program
refuses); ``expires: 2027-01-31`` a date here and the text "2027-01-31 00:00:00 +0000 UTC" there; ``1:30``
the number 90 here and text there; ``1e3`` and ``0o17`` text here and numbers there; ``.nan`` stops the
engine. A plain value (or key) the two read differently is refused, on its line, saying what each reads
and how to write it so both agree (``_disagreement``): a product team sees at review what the engine will
do, never a green check followed by a failed ``pulumi up``. Refusing is preferred to imitating the engine
because the other readers of the file (editors, linters, other tools) are split the same way, and
because a quoted "yes" or a plain ``true`` says the same thing to all of them. Explicit tags are refused
for the same reason, except ``!!str`` on a plain value (both read it as text). ``engine_scalar`` is a
port of yaml.v3's resolver; ``tests/fixtures/engine_yaml.json`` is what the real engine handed a program
for each form (``tests/engine_yaml_probe.py`` records it again), and the tests hold both to it.

``read`` is the one way the tooling takes a stack file's bytes (``load`` here, ``new-team``'s scan of
the address ranges in use): a regular file only (a symlink is judged by what it points to) and at
most ``MAX_BYTES`` of it (``ai_serving.regular_file``, which the reports use for plan documents too),
so a symlink to ``/dev/zero`` or a named pipe committed in a pull request is one message, never a read
without end or a hang. ``Pulumi.yaml`` is read with the same rules
(``what`` names it in the messages).
"""

from __future__ import annotations

import codecs
import math
import re
from pathlib import Path
from typing import Any

import yaml

from infra.config.errors import ConfigError, ConfigIssue, is_key_material, shown

from ..regular_file import read_regular_file

MAX_BYTES = 256 * 1024
"""A stack file is a few KB; anything this large is not one."""
MAX_DEPTH = 24
"""Nesting levels a stack file may use (the deepest real key is about 5 levels down)."""
MAX_INT_CHARS = 100
"""The longest integer a file may write (no setting needs more than a dozen digits). Bounding the text
bounds the value in every notation YAML has (decimal, 0x, 0o, 0b, base-60), far below the 4,300 decimal
digits past which Python refuses to parse it or write it as JSON."""
MAX_EXACT_INT = 2**53
"""The largest number a file may write (no setting needs more). Beyond it the readers part: the engine hands
over an integer above 64 bits inside a mapping as a float (9223372036854775808 arrives as ...6000), and a
float as Go writes it (1e20 as the integer 100000000000000000000, where Python writes 1e+20). Up to 2**53
every integer is exactly a float too, so there the engine and this reader hand over the same number."""
_CORE = "tag:yaml.org,2002:"
_INT_TAG = _CORE + "int"
_STR_TAG = _CORE + "str"


STACK_FILE = "a stack file"
"""How messages name the file by default (``what``); ``Pulumi.yaml`` is read with its own name."""


class StackYamlError(Exception):
    """One problem with the file's YAML, at a 1-based line."""

    def __init__(self, message: str, line: int | None, key_path: str = "(yaml)") -> None:
        super().__init__(message)
        self.message, self.line, self.key_path = message, line, key_path


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases/anchors, duplicate keys, deep nesting, explicit tags, and every plain
    value or key the engine's YAML reader reads differently (``_disagreement``, ``_key_disagreement``)."""

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
            raise StackYamlError(f"YAML alias {shown('*' + event.anchor)}: {self._no_aliases}", line)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise StackYamlError(f"YAML anchor {shown('&' + anchor)}: {self._no_aliases}", line)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise StackYamlError(f"nested more than {MAX_DEPTH} levels deep; {self._what} needs far fewer", line)
        # ``index`` is the key node for a mapping value, the position for a list item, None for a key.
        step = index.value if isinstance(index, yaml.ScalarNode) else index
        if step is not None:
            self._path.append(step)
        tag = getattr(event, "tag", None)  # None unless written: `!!int 5`, `!foo x`, `!!set {a}`
        try:
            if tag is not None and not (tag == _STR_TAG and isinstance(event, yaml.ScalarEvent)):
                raise StackYamlError(_explicit_tag(tag), line, _key_path(self._path))
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if step is not None:
                self._path.pop()
        if isinstance(node, yaml.ScalarNode) and tag is None and node.style is None:
            is_key = isinstance(parent, yaml.MappingNode) and index is None
            if is_key and node.value == "<<":
                # A merge key to both readers, but this one resolves keys of a stack file as text (above).
                raise StackYamlError(f"`<<` (a YAML merge key) is not allowed in {self._what}; write the keys out",
                                     line, _key_path([*self._path, "<<"]))
            self._check_plain(node, is_key, line, [*self._path, step] if step is not None else self._path)
        return node

    def _check_plain(self, node: yaml.ScalarNode, is_key: bool, line: int, at: list[str | int]) -> None:
        """Refuse a plain (unquoted, untagged) value or key that this reader and the engine's read differently."""
        if node.tag == _INT_TAG and len(node.value) > MAX_INT_CHARS:
            raise StackYamlError(f"this number is too large for any setting: expected an integer of at most "
                                 f"{MAX_INT_CHARS} characters, found {node.value[:20]}… ({len(node.value):,} "
                                 "characters)", line, _key_path(at))
        if is_key and self._what == STACK_FILE:
            # A key in a stack file is text here, as written (``construct_mapping`` must not see `2027-03-31:`
            # or `~:` as a date or null); the engine names a key that is not text by its own spelling of it.
            problem = _key_disagreement(node.value)
            node.tag = _STR_TAG
        else:
            problem = _disagreement(node.value, *self._offline_scalar(node))
        if problem is not None:
            raise StackYamlError(problem, line, _key_path([*at, node.value] if is_key else at))

    def _offline_scalar(self, node: yaml.ScalarNode) -> tuple[str, Any]:
        """What this reader makes of a plain scalar: the kind of its resolved tag and its value (or ``_UNREADABLE``)."""
        kind = node.tag[len(_CORE):] if node.tag.startswith(_CORE) else node.tag
        try:
            return kind, self.yaml_constructors[node.tag](self, node)
        except (KeyError, ValueError, IndexError, TypeError, yaml.YAMLError):
            # `0b_`, `0x_` (int("", 2)), `2027-02-30`, `<<` and `=` (merge and value: no constructor).
            return kind, _UNREADABLE

    def construct_yaml_float(self, node: yaml.ScalarNode) -> Any:
        # The engine writes a float as JSON the way Go does: `1.0`, `5.` and `2.0e+0` arrive as 1, 5 and 2 (an
        # integer to the program), so they are integers here too (larger numbers are refused: MAX_EXACT_INT).
        value = super().construct_yaml_float(node)
        negative_zero = value == 0 and math.copysign(1.0, value) < 0  # Go writes -0, which is not the integer 0
        return int(value) if value.is_integer() and abs(value) <= MAX_EXACT_INT and not negative_zero else value

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
            if key in seen:
                raise StackYamlError(f"key {shown(key)} appears twice (lines {seen[key]} and {line}); "
                                     "YAML would silently keep only the last one", line)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _key_path(steps: list[str | int]) -> str:
    """``config.ai-serving:gpuPool.maxInstances``, ``...deployments[0].capacity``: the path a message names."""
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text[:200] or "(yaml)"


_StrictLoader.add_constructor(_CORE + "float", _StrictLoader.construct_yaml_float)


def _explicit_tag(tag: str) -> str:
    """The message for a value with an explicit tag (every one but ``!!str`` on a plain value)."""
    written = "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag
    return (f"an explicit YAML tag, {shown(written)}: the engine reads tagged values by other rules than this "
            "tool (it ignores a tag it does not know, `!!bool yes` stops it, `!!float 1` is 1, `!!binary` is "
            "text), so a tag is not allowed; write the value without it (quote text: \"...\")")


# --- How the engine reads a plain value ------------------------------------------------------------------
# A port of gopkg.in/yaml.v3 resolve.go (`resolve`, for a plain scalar with no tag; branch v3, commit
# f6f7691 "The Billion Dollar Mistake") and of how Pulumi hands each kind to the program
# (github.com/pulumi/pulumi sdk/go/common/resource/config/object.go: `unmarshalObject` turns a time.Time
# into `v.String()`; `MarshalJSON` cannot write NaN or infinity, so the engine stops). The real engine's
# answers for each form are recorded in tests/fixtures/engine_yaml.json.

_UNREADABLE = object()
"""What ``_offline_scalar`` returns for a value this reader resolves to a kind but cannot construct."""
_ENGINE_WORDS: dict[str, tuple[str, Any]] = {
    **{w: ("bool", True) for w in ("true", "True", "TRUE")},
    **{w: ("bool", False) for w in ("false", "False", "FALSE")},
    **{w: ("null", None) for w in ("", "~", "null", "Null", "NULL")},
    **{w: ("float", math.nan) for w in (".nan", ".NaN", ".NAN")},
    **{w: ("float", math.inf) for w in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{w: ("float", -math.inf) for w in ("-.inf", "-.Inf", "-.INF")},
}
"""yaml.v3's ``resolveMap`` (``<<`` is there too, but only reached after a first character that is not ``<``)."""
_GO_INT = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)")
"""What Go's ``strconv.ParseInt(s, 0, 64)`` reads once yaml.v3 has removed every ``_``."""
_GO_BASE_DIGITS = {2: re.compile(r"([+-]?)([01]+)"), 8: re.compile(r"([+-]?)([0-7]+)")}
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
"""yaml.v3's ``yamlStyleFloat``."""
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")
"""What Go's ``strconv.ParseFloat`` reads of a text that starts with '.' (no '_' without a base prefix)."""
_GO_TIMESTAMP = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})"
                           r"(?:[.,][0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2}))|(?: ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})"
                           r"(?:[.,][0-9]+)?))?")
"""yaml.v3's ``allowedTimestampFormats`` as Go's ``time.Parse`` reads them: ``2006-1-2T15:4:5.999999999Z07:00``
(``T`` or ``t``), ``2006-1-2 15:4:5.999999999`` and ``2006-1-2``."""
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1


def engine_scalar(text: str) -> tuple[str, Any]:
    """How the engine reads the plain value ``text``: (kind, value), kind one of null, bool, int, float,
    timestamp (value: ``(year, month, day)`` and whether a time of day was written) or str."""
    if text in _ENGINE_WORDS:
        return _ENGINE_WORDS[text]
    first = text[:1]
    if first == ".":
        if _DOT_FLOAT.fullmatch(text) and math.isfinite(value := float(text)):
            return "float", value
    elif first and first in "+-0123456789":
        stamp = _go_timestamp(text)
        if stamp is not None:
            return "timestamp", stamp
        plain = text.replace("_", "")
        number = _go_int(plain, _GO_INT, 0)
        if number is not None:
            return "int", number
        if _YAML_STYLE_FLOAT.fullmatch(plain) and math.isfinite(value := float(plain)):  # Go: ErrRange
            return "float", value
        for prefix, base in (("0b", 2), ("0o", 8)):
            if plain.startswith(prefix):  # `0b-101` is -5: ParseInt(plain[2:], 2), then ParseUint
                number = _go_int(plain[2:], _GO_BASE_DIGITS[base], base)
            elif plain.startswith("-" + prefix):
                number = _go_int("-" + plain[3:], _GO_BASE_DIGITS[base], base, unsigned=False)
            if number is not None:
                return "int", number
    return "str", text


def _go_int(text: str, syntax: re.Pattern[str], base: int, *, unsigned: bool = True) -> int | None:
    """``strconv.ParseInt(text, base, 64)``, then (``unsigned``) ``ParseUint``: the value, or None."""
    match = syntax.fullmatch(text)
    if match is None:
        return None
    sign, digits = match.groups()
    if base == 0:
        base = {"x": 16, "b": 2, "o": 8}.get(digits[1:2].lower(), 8 if digits.startswith("0") else 10)
        digits = digits[2:] if base != 10 and digits[1:2].isalpha() else digits
    digits = digits.lstrip("0") or "0"
    if len(digits) > 64:  # at least 2**64 in every base; int() refuses 4,300 decimal digits
        return None
    value = -int(digits, base) if sign == "-" else int(digits, base)
    if _INT64[0] <= value <= _INT64[1] or (unsigned and not sign and value <= _UINT64_MAX):
        return value
    return None


def _go_timestamp(text: str) -> tuple[tuple[int, int, int], bool] | None:
    """yaml.v3's ``parseTimestamp``: the date (and whether a time was written) if ``time.Parse`` takes it."""
    match = _GO_TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day = (int(g) for g in match.groups()[:3])
    clock = [int(g) for g in match.groups()[3:] if g is not None]
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)  # Go's calendar has a year 0, a leap year
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not 1 <= month <= 12 or not 1 <= day <= days[month - 1]:
        return None
    if clock and not (clock[0] < 24 and clock[1] < 60 and clock[2] < 60):
        return None
    return (year, month, day), bool(clock)


def _reading(kind: str, value: Any, text: str) -> str:
    """How a message says what a reader makes of ``text``."""
    if value is _UNREADABLE:
        return f"no value it can use (it takes it for a malformed YAML !!{kind})"
    if kind == "str":
        return f"the text {shown(text)}"
    if kind == "bool":
        return f"the boolean {str(value).lower()}"
    if kind in ("int", "float"):
        return f"the number {_number(value)}"
    if kind == "null":
        return "null"
    return f"a YAML {kind}"


def _number(value: float) -> str:
    """A number as the program receives it (the engine writes 1000.0 as 1000)."""
    return str(int(value)) if float(value).is_integer() and abs(value) <= MAX_EXACT_INT else repr(value)


def _disagreement(text: str, kind: str, value: Any) -> str | None:
    """Why the plain value ``text`` (this reader's ``kind`` and ``value``) may not be written so, or None when
    the engine reads it the same way."""
    engine_kind, engine_value = engine_scalar(text)
    if "timestamp" in (kind, engine_kind):
        if engine_kind == "timestamp" and not engine_value[1]:
            (y, m, d), _ = engine_value
            handed = f"the text \"{y:04d}-{m:02d}-{d:02d} 00:00:00 +0000 UTC\""
        elif engine_kind == "timestamp":
            handed = "a text such as \"2027-01-31 10:00:00 +0000 UTC\""
        else:
            handed = f"the text {shown(text)}"
        valid = "" if value is not _UNREADABLE else " (and it is not a valid date)"
        return (f"{shown(text)} unquoted is a date to YAML{valid}: the engine hands the program {handed}, which "
                f"is not a date it reads; quote it as \"{text}\" (a date is written YYYY-MM-DD, quoted)")
    if engine_kind == "float" and not math.isfinite(engine_value):
        return (f"{shown(text)} is not a number the engine can pass (it stops: \"json: unsupported value: "
                f"{'NaN' if math.isnan(engine_value) else 'Inf'}\"); write a number")
    if kind == "bool" and engine_kind == "str" and value is not _UNREADABLE:
        return (f"{shown(text)} unquoted is the boolean {str(value).lower()} to this tool (YAML 1.1) but the text "
                f"{shown(text)} to the engine (YAML 1.2), which a boolean setting refuses; quote it as \"{text}\" "
                f"or write {str(value).lower()}")
    if kind == engine_kind and value is not _UNREADABLE and value == engine_value:
        if kind in ("int", "float") and abs(value) > MAX_EXACT_INT:
            return (f"this number is too large for any setting: expected at most {MAX_EXACT_INT:,}, above which "
                    f"the engine hands the program a rounded 64-bit float; found {text[:20]}")
        return None
    number = next((v for k, v in ((engine_kind, engine_value), (kind, value)) if k in ("int", "float")), None)
    fix = f"quote it as \"{text}\" for the text" + (f", or write {_number(number)} for the number" if number is not None
                                                      and value is not _UNREADABLE else "")
    return (f"{shown(text)} is read differently by the two YAML readers of this file: this tool (YAML 1.1) reads "
            f"{_reading(kind, value, text)}, the engine (YAML 1.2) {_reading(engine_kind, engine_value, text)}; "
            f"{fix}")


def _key_disagreement(text: str) -> str | None:
    """Why the plain stack-file key ``text`` may not be written so: the engine names a key that is not text by
    Go's spelling of its value (``fmt.Sprintf("%v")``: ``True`` is "true", ``0x1F`` "31", ``~`` "<nil>",
    ``2027-03-31`` "2027-03-31 00:00:00 +0000 UTC"); None when that is the text as written."""
    kind, value = engine_scalar(text)
    spelled = {"str": text, "null": "<nil>", "bool": str(value).lower(), "int": str(value)}.get(kind)
    if spelled == text:
        return None
    says = f"names it {shown(spelled)}" if spelled is not None else f"reads it as a {kind}, named by Go's spelling"
    return f"key {shown(text)} is not text to the engine, which {says}; quote it as \"{text}\""


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
        problem = str(getattr(exc, "problem", None) or exc)
        # A problem may quote what it found (an undefined tag handle `!ghp_…!`): never key material.
        problem = f"near {shown(problem)}" if is_key_material(problem) else problem[:300]
        raise ConfigError(path, [ConfigIssue("(yaml)", f"YAML syntax error: {problem}", line)]) from None
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

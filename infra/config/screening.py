"""Values refused anywhere in a stack file, before the model or any check sees them.

A stack file is edited in a pull request by anyone on the team, and what it holds ends up in error
messages, the terminal, CI logs, plan.json, the compliance files and Azure tags. Three kinds of value
are refused wherever they appear (a key or a value, at any depth), so that no later message, check
or report can echo them:

- **key material** (a private key block): never quoted, reported as leaked;
- **control characters** (ESC, BEL, CR, other C0 and C1 codes): they rewrite a terminal or a CI log
  line when echoed (an ``ESC [`` sequence, a ``\\r`` that overwrites the line);
- **line breaks**, outside the one free-text field (a waiver's ``reason``): a value that starts a new
  line in a log can forge one (GitHub Actions reads ``::error::`` at the start of any line);

and every string is bounded (``MAX_VALUE_CHARS``), so a 100,000-character value is one short error,
not 100 KB in every report that quotes it.

Plain-string secret keys (``SECRET_KEYS``) are skipped: their value is never decoded nor shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import Secret, secret_in, shown
from .yaml_lines import KeyPath

MAX_VALUE_CHARS = 4096
"""The longest string a stack file may hold (an RSA-4096 public key line is about 750)."""
MULTILINE_FIELDS = frozenset({("suppressions", "reason")})
"""(section, key) pairs whose value may span lines: free text a person wrote."""
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 controls except TAB and LF, DEL, and the C1 range."""
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Bidirectional controls ("Trojan Source", CVE-2021-42574), as a character-class body: a reviewer would read a
value other than the one the program gets. Refused in values here; escaped by the CLI's consoles."""
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")

def secret_message(secret: Secret) -> str:
    """The message for a value holding ``secret``: its kind and what to do, never the value."""
    return f"looks like {secret.kind} (not shown): a stack file holds public values only; remove it and {secret.advice}"


def refused(raw: Mapping[str, Any], *, skip: frozenset[str] = frozenset()) -> Iterator[tuple[KeyPath, str]]:
    """Each (key path, message) of a value ``raw`` may not hold; top-level keys in ``skip`` are not read."""
    for key, value in raw.items():
        if key in skip:
            continue
        yield from _refused((key,), key, value)


def _refused(path: KeyPath, key: Any, value: Any) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(key, str):
        problem = _problem(key, multiline=False)
        if problem:
            # Reported at the key's parent: a key path quoting the key would echo what is refused.
            yield path[:-1] or ("(file)",), f"a key in this mapping {problem}"
            return
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _refused(path + (k,), k, v)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _refused(path + (i,), key, item)
    elif isinstance(value, str):
        problem = _problem(value, multiline=_multiline(path))
        if problem:
            yield path, problem


def _multiline(path: KeyPath) -> bool:
    names = tuple(p for p in path if isinstance(p, str))
    return len(names) >= 2 and (names[0], names[-1]) in MULTILINE_FIELDS


def _problem(text: str, *, multiline: bool) -> str | None:
    secret = secret_in(text)
    if secret is not None:
        return secret_message(secret)
    if len(text) > MAX_VALUE_CHARS:
        return f"is {len(text):,} characters long; expected at most {MAX_VALUE_CHARS:,}"
    if _CONTROL.search(text):
        return f"holds control characters (escape codes, carriage returns); found {shown(text)}"
    if _BIDI.search(text):
        return ("holds invisible text-direction controls (they make it read differently than it is); "
                f"found {shown(text)}")
    if not multiline and ("\n" in text or "\u2028" in text or "\u2029" in text):
        return f"spans several lines; expected one line; found {shown(text)}"
    return None

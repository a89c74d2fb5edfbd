"""Config errors that name the file, the key path and the line, and say what to fix."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import secret_patterns as kinds

EXIT_CODE = 2
"""The exit code of a run stopped by bad config (the program's and the tooling's: ``ai_serving/outcome.py``)."""


MAX_SHOWN_CHARS = 120
"""The most of a bad value a message quotes (hostile input can be megabytes long)."""
MAX_MESSAGE_CHARS = 1000
"""The longest message one issue may carry."""
MAX_ISSUES = 50
"""Issues listed in one report; the rest are counted."""


@dataclass(frozen=True)
class Secret:
    """A kind of secret that must never be echoed: how to recognise it and what its owner should do."""

    kind: str
    """What it is, as a message names it ("a GitHub token"): the kind, never the value."""
    pattern: re.Pattern[str]
    advice: str
    """What to do about it (it has been committed, so it is leaked)."""
    shown_advice: str = ""
    """What ``shown`` says after the kind, when that differs from ``advice``."""


_ADVICE = {
    kinds.PRIVATE_KEY: ("treat this key as leaked",
                        "use the public key line from the .pub file, and treat this key as leaked"),
    kinds.AZURE_ACCOUNT_KEY: ("rotate it, as it is leaked; secrets belong in Key Vault, never in a stack file",),
    kinds.AZURE_SAS: ("revoke it (rotate the key or the access policy that signed it), as it is leaked; secrets "
                      "belong in Key Vault, never in a stack file",),
    kinds.HUGGING_FACE_TOKEN: ("revoke it, as it is leaked; the model-hub token belongs in "
                               "`pulumi config set --secret modelHubToken`",),
}
"""What the owner of each kind of secret should do, where that is more than revoking it."""

SECRETS = tuple(Secret(kind, pattern, *_ADVICE.get(kind, ("revoke it, as it is leaked",)))
                for kind, pattern in kinds.SECRET_PATTERNS)
"""Every kind of secret a message must not quote (``secret_patterns``, which the policy pack's VMSS-05 also
uses). A stack file holds public values only, so any of these in one is refused wherever it is
(``screening``), and never shown in any message (``shown``)."""


def secret_in(value: Any) -> Secret | None:
    """The kind of secret ``value`` looks like or holds anywhere inside (a list, a mapping's keys or
    values), or None."""
    if isinstance(value, str):
        return next((secret for secret in SECRETS if secret.pattern.search(value)), None)
    if isinstance(value, dict):
        return next((found for k, v in value.items() for found in (secret_in(k), secret_in(v)) if found), None)
    if isinstance(value, (list, tuple, set, frozenset)):
        return next((found for v in value if (found := secret_in(v))), None)
    return None


def redacted(text: str) -> str:
    """``text`` with every span that looks like key material replaced by its kind (``(a GitHub token: not
    shown)``): what the CLI prints passes through this, so a token that reaches a message by a way no check
    foresaw (a path argument named after one) is still not shown. Parentheses, not brackets: the consoles read
    ``[...]`` as markup."""
    for secret in SECRETS:
        if secret.pattern.search(text):
            text = secret.pattern.sub(f"({secret.kind}: not shown)", text)
    return text


def is_key_material(value: Any) -> bool:
    """Whether ``value`` looks like a private key or another secret (``SECRETS``), or holds one anywhere
    inside: such a value must never be echoed anywhere."""
    return secret_in(value) is not None


def shown(value: Any) -> str:
    """How a message quotes a bad value: never a secret (only its kind), never more than ``MAX_SHOWN_CHARS``."""
    secret = secret_in(value)
    if secret is not None:
        return f"{secret.kind} (not shown; {secret.shown_advice or secret.advice})"
    text = repr(value)
    if len(text) > MAX_SHOWN_CHARS:
        text = f"{text[:MAX_SHOWN_CHARS]}… ({len(text):,} characters)"
    return text


_TYPE_WORDS = {
    "model_type": None, "model_attributes_type": None, "dict_type": None,  # None: the caller's word for a mapping
    "list_type": "a list", "string_type": "a string", "bool_type": "true or false",
    "int_type": "a whole number", "float_type": "a number",
}
"""What a value of the wrong type should have been, for pydantic's type errors (its own words say "a valid
dictionary or instance of StackConfig", which names our class, not the file's notion)."""
_SUBJECTS = {"Input should be ": "", "String should have ": "text of ", "String should match ": "text matching ",
             "List should have ": "a list of ", "Dictionary should have ": "a mapping of "}
"""How pydantic's other messages begin -> the words after "expected"."""
_COMPARISONS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def pydantic_problem(err: Mapping[str, Any], *, mapping: str = "a mapping") -> str:
    """One pydantic error (an entry of ``ValidationError.errors()``) in the words of every other issue:
    ``expected ...; found ...``, the value quoted by :func:`shown` (``Input should be greater than 0`` ->
    ``expected a number greater than 0; found -1``). A validator's own message (``Value error, ...``) is
    already worded, and names what it found when it wants to. ``mapping`` is how the reader's format names
    a mapping: "a mapping" in YAML, "an object" in JSON. Used for stack files, CLI options and the
    tooling's own documents alike, so a problem reads the same wherever it is found."""
    kind = err.get("type", "")
    if kind == "missing":
        return "required key is missing"
    text = str(err.get("msg", kind))
    found = shown(err.get("input"))
    if text.startswith("Value error, "):
        text = text[len("Value error, "):]
        return text if "found" in text else f"{text}; found {found}"
    if kind in _TYPE_WORDS:
        expected = _TYPE_WORDS[kind] or mapping
    elif kind == "enum":
        expected = f"one of {(err.get('ctx') or {}).get('expected')}"
    else:
        subject = next((s for s in _SUBJECTS if text.startswith(s)), None)
        if subject is None:  # a message of another shape ("Assertion failed, ..."): its own words, then the value
            return f"{text}; found {found}"
        expected = _SUBJECTS[subject] + ("a number " if kind in _COMPARISONS else "") + text[len(subject):]
    return f"expected {expected}; found {found}"


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
        where = relative_path(self.source) if self.source is not None else "<stack config>"
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


def relative_path(source: Path | str) -> str:
    """``source`` relative to the working directory when it is under it: ``stacks/Pulumi.x.yaml``,
    not the CI runner's ``/home/runner/work/...`` (which means nothing to the person reading it)."""
    path = Path(source)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix() if path.is_absolute() else str(source)
    except (ValueError, OSError, RuntimeError):
        # RuntimeError: Python 3.11's resolve() on a symlink loop (a stack file linked to itself); the message
        # being built is about that file, so it names it as given (found by review: a traceback instead).
        return str(source)

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


API_KEY_PATTERN = r"\bsk-(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{20,}"
"""An OpenAI-style API key (``sk-``, ``sk-proj-``...); the policy pack's copy is in rules/compute.py."""

SECRETS = (
    # PEM and PuTTY headers; and the body of an OpenSSH private key without its header: base64 of
    # "openssh-key-v1\0" at each of the three alignments (b3Bl... when the body starts with it, as
    # it does; the other two when it is wrapped in other bytes, e.g. disguised as a public key line).
    Secret("a PRIVATE key",
           re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File|\bPRIVATE KEY\b"
                      r"|b3BlbnNzaC1rZXktdjE|ZW5zc2gta2V5LXYx|cGVuc3NoLWtleS12"),
           "treat this key as leaked", "use the public key line from the .pub file, and treat this key as leaked"),
    # A storage or Service Bus connection string's key, a SAS token's signature.
    Secret("an Azure account key or SAS signature",
           re.compile(r"(?i)\b(?:AccountKey|SharedAccessKey|SharedAccessSignature)\s*=|(?:^|[?&;])sig="),
           "rotate it, as it is leaked; secrets belong in Key Vault, never in a stack file"),
    # Personal, OAuth, user-to-server, server-to-server and refresh tokens; fine-grained tokens.
    Secret("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}"),
           "revoke it, as it is leaked"),
    # The model hub's user access tokens (hf_ + 34 letters and digits today), and the tokens the policy
    # pack also recognises in custom data (policies/guardrails/rules/compute.py, `_SECRET_TEXT`): OpenAI-style
    # API keys and AWS access key ids.
    Secret("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}"),
           "revoke it, as it is leaked; the model-hub token belongs in `pulumi config set --secret modelHubToken`"),
    # A key is random: its 20+ characters hold a digit and a capital letter, which kebab-case names
    # ("sk-learn-recommendations", "sk-platform-team") do not.
    Secret("an API key", re.compile(API_KEY_PATTERN), "revoke it, as it is leaked"),
    Secret("an AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "revoke it, as it is leaked"),
)
"""Every kind of secret a message must not quote. A stack file holds public values only, so any of
these in one is refused wherever it is (``screening``), and never shown in any message (``shown``)."""


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

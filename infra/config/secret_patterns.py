"""The kinds of secret the project recognises: each kind's name and the pattern that finds it in text.

The one source of these patterns: the stack config (``errors.py``) builds ``SECRETS`` from them, to refuse a
stack file that holds one and to never quote one in a message, and ``make generate`` copies this file into
the policy pack as ``policies/guardrails/secret_patterns.py``, where VMSS-05 finds them in scale set custom
data, user data and extension settings. It imports only the standard library, so the copy runs in the pack
unchanged. A pattern finds a secret's own form (a prefix, a header, a key's name and its literal value), so
each holds in a stack file and in a boot script alike; what only a boot script can say (``password: ...``)
stays in the pack.
"""

from __future__ import annotations

import re

LITERAL = r"(?![$%{<(])"
"""Where a value must start with itself, not a reference to one: ``$KEY``, ``${KEY}``, ``%KEY%``, ``{{ key }}``,
``<your-key>`` and ``$(az ...)`` name a secret kept elsewhere, which is what a boot script should do (the
pack's "inline credential" uses it too)."""

PRIVATE_KEY = "a PRIVATE key"
AZURE_ACCOUNT_KEY = "an Azure account key"
AZURE_SAS = "an Azure SAS signature"
GITHUB_TOKEN = "a GitHub token"
HUGGING_FACE_TOKEN = "a Hugging Face token"
API_KEY = "an API key"
AWS_ACCESS_KEY = "an AWS access key"

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # PEM and PuTTY headers, and the words a PEM header holds ("PRIVATE KEY" alone: a header cut short);
    # and the body of an OpenSSH private key without its header: base64 of "openssh-key-v1\0" at each of
    # the three alignments (b3Bl... when the body starts with it, as it does; the other two when it is
    # wrapped in other bytes, e.g. disguised as a public key line).
    (PRIVATE_KEY, re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File|\bPRIVATE KEY\b"
                             r"|b3BlbnNzaC1rZXktdjE|ZW5zc2gta2V5LXYx|cGVuc3NoLWtleS12")),
    # A storage connection string's `AccountKey=` (a 512-bit key, 88 base64 characters) or a Service Bus /
    # Event Hubs one's `SharedAccessKey=`, with a literal value: 8+ characters, not a reference (`$KEY`).
    # The key on its own, as the portal's "Show keys" copies it: a 512-bit key is 88 base64 characters ending
    # "==" (found by review: it was quoted in a length error and passed as a tag value into plan.json). Not after
    # a "-": `sha512-<88 characters>` is a package integrity hash, not a key. Any other 64-byte value in base64 (a
    # signature) reads as one too: refused from a stack file and VMSS-05, which is the safe side.
    (AZURE_ACCOUNT_KEY, re.compile(rf"(?i)\b(?:AccountKey|SharedAccessKey)\s*=\s*['\"]?{LITERAL}[^;&\s'\"]{{8,}}"
                                   r"|(?<![A-Za-z0-9+/-])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])")),
    # A SAS token's signature: `sig=` in a SAS URL or token (an HMAC-SHA256, base64 and URL-encoded: 44+
    # characters; learn.microsoft.com, Azure.Storage.Sas.SasQueryParameters.Signature), or a Service Bus
    # connection string's `SharedAccessSignature=`; 8+ characters of it, so `?signal=`, `sig figs` are not.
    (AZURE_SAS, re.compile(rf"(?i)\bSharedAccessSignature\s*=\s*['\"]?{LITERAL}[^;\s'\"]{{8,}}"
                           r"|(?:^|[?&;])sig=[A-Za-z0-9%+/=]{8,}")),
    # GitHub's prefixed tokens (github.blog/changelog/2021-03-31-authentication-token-format-updates-are-
    # generally-available): ghp_ personal, gho_ OAuth, ghu_ user-to-server, ghs_ server-to-server, ghr_
    # refresh; then [A-Za-z0-9_], 36 characters today (30 random, 6 a CRC32 checksum of them; github.blog,
    # "Behind GitHub's new authentication token formats", 2021-04-05), up to 255 later. 30 suffice: the 30
    # random characters are the whole secret, as the checksum is computed from them. Fine-grained personal
    # tokens: github_pat_, 22 characters, `_`, 59 characters (93 in all as issued; GitHub documents the
    # prefix, the lengths are those of issued tokens, e.g. docs.gitguardian.com's github_fine_grained_pat).
    (GITHUB_TOKEN, re.compile(r"\bgh[pousr]_[A-Za-z0-9_]{30,}|\bgithub_pat_[A-Za-z0-9_]{22,}")),
    # The model hub's user access tokens (hf_ + 34 letters and digits today).
    (HUGGING_FACE_TOKEN, re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    # OpenAI-style API keys (sk-, sk-proj-...). A key is random: its 20+ characters hold a digit and a
    # capital letter, which kebab-case names ("sk-learn-recommendations", "sk-platform-team") do not.
    (API_KEY, re.compile(r"\bsk-(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{20,}")),
    # AWS access key ids: AKIA + 16 capital letters and digits.
    (AWS_ACCESS_KEY, re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
)
"""(kind, pattern) for every kind of secret, as a message names it ("a GitHub token": the kind, never the
value); the first that matches names a value holding several."""

"""The one way config values are checked against a regular expression: the WHOLE value must match.

``re.match(r"^x$", "x\n")`` succeeds: ``$`` also matches before a final newline. A model id ending
in ``\n`` then split the GPU pool's systemd ``ExecStart=`` line, and owner e-mails with a trailing
newline passed. Every check in ``infra/`` goes through ``full_match`` (``re.fullmatch``), so a
pattern's anchors no longer decide whether trailing text slips through; ``tests/test_hostile_input``
fails if code under ``infra/`` calls ``.match``/``re.match`` directly.
"""

from __future__ import annotations

import re


def full_match(pattern: re.Pattern[str] | str, value: object) -> bool:
    """Whether ``value`` is a string that ``pattern`` matches from its first to its last character."""
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None

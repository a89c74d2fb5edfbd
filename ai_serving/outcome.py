"""How a command or a stack's plan ends: exit codes, a stack's status, usage errors.

Leaf module: imports nothing from ai_serving, so every part of the tooling (cli, plan, engine, reports,
org) names these facts from here.
"""

from __future__ import annotations

import enum
import signal

from infra.config.errors import EXIT_CODE as CONFIG_ERROR_EXIT_CODE


class ExitCode(enum.IntEnum):
    """Process exit codes (documented in the README)."""

    OK = 0
    FAILED = 1
    """A mandatory policy violation, or a program error."""
    USAGE = CONFIG_ERROR_EXIT_CODE
    """Invalid stack config or command line; the same code the program exits with on bad config."""


class Status(enum.StrEnum):
    """A stack's outcome in plan --all's summary, summary.json and the report."""

    OK = "ok"
    POLICY_FAILED = "policy-failed"
    INVALID_CONFIG = "invalid-config"
    ERROR = "error"


class UsageError(Exception):
    """A bad command line or project layout (exit code 2)."""


MAX_MESSAGE_CHARS = 2000
"""The longest error text the tooling prints or records for one problem."""


def bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out (hostile input can be huge)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters not shown]"


def exit_text(code: int | None, *, unknown: str = "no exit status") -> str:
    """A child process's exit status in words (``Popen.returncode`` / ``Process.exitcode``: negative
    means killed by that signal), for the one-line reason a stack failed."""
    if code is None:
        return unknown
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"

"""Read a file that someone else may have written: a regular file only, and bounded.

Stack files, ``Pulumi.yaml``, ``quotas.yaml`` and the plan documents that ``diff`` and ``report`` read
back all come from a pull request or a folder the command did not write. Under any of those names
there may be a symlink to ``/dev/zero``, a named pipe or a device, and reading one of those as a file
never ends, hangs, or fills the memory. ``read_regular_file`` is the one place that reads such a file:
one ``ConfigError`` naming the file for anything but a regular file of at most ``max_bytes``.

A leaf module (no other ai_serving import), so the engine and the reports both use it without
importing each other.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from infra.config.errors import ConfigError, ConfigIssue

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _not_regular(path: Path, mode: int, what: str) -> ConfigError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    via = " (through a symlink)" if path.is_symlink() else ""
    return ConfigError(path, [ConfigIssue("(file)", f"cannot read the file: it is {kind}{via}, not a regular "
                                                    f"file; {what} must be a plain file")])


def _too_large(path: Path, size: int | None, what: str, limit: int) -> ConfigError:
    told = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes"
    return ConfigError(path, [ConfigIssue("(file)", f"the file is {told}; {what} is at most {limit:,}")])


def read_regular_file(path: Path, *, what: str, max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes``; ``ConfigError`` for anything else.

    A symlink is judged by what it points to (inside the repository or not). Anything but a regular
    file is refused before it is opened (a device can act on open), and what was opened is checked
    again (the path may have been swapped in between): ``O_NONBLOCK`` keeps the open of a named pipe
    from waiting for a writer, and no more than ``max_bytes + 1`` bytes are ever read. ``what`` names
    the file in the messages ("a stack file", "plan.json").
    """
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode, what)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode):
                raise _not_regular(path, opened.st_mode, what)
            if opened.st_size > max_bytes:
                raise _too_large(path, opened.st_size, what, max_bytes)
            data = bytearray()
            while len(data) <= max_bytes:
                chunk = os.read(fd, max_bytes + 1 - len(data))
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(fd)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(path, [ConfigIssue("(file)", f"cannot read the file: {reason}")]) from None
    if len(data) > max_bytes:  # it grew while being read
        raise _too_large(path, None, what, max_bytes)
    return bytes(data)

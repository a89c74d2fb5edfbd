"""Read a JSON document from a file someone else may have written, in one place for every tool.

``policy-config.json`` and ``waivers.json`` (a pack may come from a pull request) and the plan documents
that ``diff`` and ``report`` read back (``plan.json``, ``summary.json``): each through
``read_regular_file`` (a regular file only, bounded), decoded, and every failure one ``UsageError``
naming the file: a FIFO or a link to ``/dev/zero`` under that name, bytes that are not UTF-8 or not
JSON, and ``[[[[...`` nested past the decoder's recursion limit (a ``RecursionError`` traceback once).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.config.errors import ConfigError

from .outcome import UsageError, bounded
from .regular_file import read_regular_file

MAX_REASON_CHARS = 300
"""How much of the decoder's own complaint is quoted (it can quote the document)."""


def read_json_file(path: Path, *, what: str, max_bytes: int, max_depth: int, hint: str = "") -> Any:
    """The JSON value in the regular file at ``path`` (at most ``max_bytes``).

    Anything else is ``UsageError("<path>: not a readable <what>: <why><hint>")``; ``max_depth`` is how deep
    a document of this kind may nest, named when the decoder gave up. Callers check the value's shape
    (and its depth, where deeper values would reach other recursive code) themselves.
    """
    try:
        data = read_regular_file(path, what=what, max_bytes=max_bytes)
    except ConfigError as exc:
        raise UsageError(bounded(f"{path}: not a readable {what}: {exc.issues[0].message}{hint}")) from None
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError:  # the decoder recurses once per level
        raise UsageError(bounded(f"{path}: not a readable {what}: nested too deeply "
                                 f"(more than {max_depth} levels){hint}")) from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise UsageError(bounded(f"{path}: not a readable {what}: not valid JSON: "
                                 f"{str(exc)[:MAX_REASON_CHARS]}{hint}")) from None

"""Reading wire-form resource properties safely: unknowns, secrets, type tokens.

Rules receive properties exactly as the Pulumi engine hands them to a policy pack: camelCase
keys, numbers as floats, values still unknown during preview as the engine's sentinel strings,
and (when the caller did not unwrap them) secrets as the secret-signature object. Everything
here works on plain ``dict``/``list`` data; :func:`to_plain` turns ``pulumi_policy``'s
unknown-checking proxies into that form without tripping over an unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

# The engine's sentinels for values not known until the update runs (pulumi_policy/proxy.py).
UNKNOWN_VALUES = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (also what the engine sends for any unknown)
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

# azure-native modules that are aliases of another (v3 keeps `insights` as an alias of `monitor`).
MODULE_ALIASES = {"insights": "monitor"}


class Undetermined(Exception):  # noqa: N818 - a verdict, not an error
    """A value the verdict depends on is unknown until the update runs (preview only)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def is_unknown(value: Any) -> bool:
    """Whether ``value`` is one of the engine's unknown sentinels."""
    return isinstance(value, str) and value in UNKNOWN_VALUES


def is_secret(value: Any) -> bool:
    """Whether ``value`` is a secret-wrapped wire value."""
    return isinstance(value, Mapping) and value.get(SIG_KEY) == SECRET_SIG


def reveal(value: Any) -> Any:
    """The value inside a secret wrapper (or ``value`` itself)."""
    while is_secret(value):
        value = value.get("value")
    return value


def known(value: Any, path: str) -> Any:
    """``value`` unwrapped; raises :class:`Undetermined` (naming ``path``) if it is unknown."""
    value = reveal(value)
    if is_unknown(value):
        raise Undetermined(path)
    return value


def get(obj: Any, path: str, default: Any = None) -> Any:
    """The value at dotted ``path`` in ``obj`` (secrets unwrapped), or ``default`` when absent/null.

    Raises :class:`Undetermined` when the value, or an object on the way to it, is unknown.
    """
    cur = obj
    walked: list[str] = []
    for part in path.split("."):
        cur = known(cur, ".".join(walked) or "<resource>")
        if not isinstance(cur, Mapping):
            return default
        walked.append(part)
        cur = cur.get(part)
        if cur is None:
            return default
    return known(cur, ".".join(walked))


def elements(obj: Any, path: str) -> list[Any]:
    """The list at ``path`` with each element's secret wrapper removed ([] when absent).

    An unknown list raises :class:`Undetermined`; unknown elements are kept as sentinels so the
    caller decides whether they matter (``get`` on one raises).
    """
    value = get(obj, path)
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return []
    return [reveal(v) for v in value]


def flat(item: Any) -> Any:
    """An ARM-style ``{name, properties: {...}}`` element flattened to azure-native's shape."""
    item = reveal(item)
    if isinstance(item, Mapping) and isinstance(reveal(item.get("properties")), Mapping):
        merged = dict(reveal(item["properties"]))
        merged.update({k: v for k, v in item.items() if k != "properties"})
        return merged
    return item


def present(value: Any) -> bool:
    """Set to something (an unknown counts: it will be set once known)."""
    value = reveal(value)
    if value is None:
        return False
    if isinstance(value, (str, list, tuple, dict)) and not is_unknown(value):
        return len(value) > 0
    return True


def eq(value: Any, expected: str) -> bool:
    """Case-insensitive string equality (Azure enum values are case-insensitive)."""
    return isinstance(value, str) and value.lower() == expected.lower()


def one_of(value: Any, options: Sequence[str]) -> bool:
    """Case-insensitive membership."""
    return isinstance(value, str) and value.lower() in {o.lower() for o in options}


def is_true(value: Any) -> bool:
    """Boolean true, also as the strings the engine may carry for provider config."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    """Boolean false, also as a string."""
    return value is False or (isinstance(value, str) and value.lower() == "false")


_SHOWABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,47}$")
_TOKENISH = re.compile(r"[A-Za-z0-9]{24,}")


def shown(value: Any) -> str:
    """A value as it may appear in a violation message, never a secret.

    Only short enum- or name-like strings and numbers are echoed; a secret-wrapped value, a long
    or token-like string, or anything structured is replaced by a placeholder. Call it only for
    properties that hold names or enumerations (location, SKU, kind, model...).
    """
    if is_secret(value):
        return "[secret]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}"
    if isinstance(value, str) and _SHOWABLE.match(value) and not _TOKENISH.search(value):
        return f"'{value}'"
    return "[value hidden]"


def shown_as(value: Any, shape: re.Pattern[str]) -> str:
    """``value`` quoted when the whole of it has ``shape`` (the form of a public value: an image reference, an
    action, a model id), else as :func:`shown` puts it."""
    return f"'{value}'" if isinstance(value, str) and shape.fullmatch(value) else shown(value)


def _raw(container: Any) -> Any:
    """The raw container behind a ``pulumi_policy`` proxy (the container itself otherwise)."""
    try:
        return container["__target"]
    except (KeyError, TypeError, IndexError):
        return container


_SCALARS = frozenset({str, bool, int, float, type(None)})
"""Exact types ``to_plain`` returns as they are (subclasses take the general path)."""


def to_plain(value: Any) -> Any:
    """Plain dicts/lists from ``pulumi_policy``'s unknown-checking proxies, unknowns kept as sentinels.

    The proxies raise on reading an unknown item; their ``["__target"]`` item is the raw container,
    which can be walked without tripping.
    """
    if type(value) in _SCALARS:  # most values: decided without the ABC checks below (a tenth of Analyze)
        return value
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in dict(_raw(value)).items()}
    if isinstance(value, Sequence):
        return [to_plain(v) for v in list(_raw(value))]
    if type(value).__name__ == "Secret" and hasattr(value, "value"):  # pulumi_policy.Secret
        return to_plain(value.value)
    return value


@lru_cache(maxsize=1024)  # a pure function of a type token, asked per rule per resource
def canonical_type(token: str) -> str:
    """``azure-native:<module>:<Type>`` without an API-version suffix or module alias."""
    package, _, rest = token.partition(":")
    if package != "azure-native" or ":" not in rest:
        return token
    module, _, name = rest.partition(":")
    module = module.split("/")[0]
    return f"azure-native:{MODULE_ALIASES.get(module, module)}:{name}"

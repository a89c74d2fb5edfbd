"""Whether a wildcard host name covers other tenants' hosts: the Public Suffix List's definition.

The one source of this definition: the stack config's check (``model.py``) imports it, and ``make generate``
copies this file into the policy pack as ``policies/guardrails/public_suffix.py`` for CS-06. It imports only
the standard library and ``publicsuffixlist``, so the copy runs in the pack unchanged.
"""

from __future__ import annotations

from functools import cache

from publicsuffixlist import PSLFILE, PublicSuffixList, encode_idn


@cache
def _public_suffix_list() -> tuple[PublicSuffixList, dict[str, str]]:
    """The Public Suffix List (publicsuffix.org; both its ICANN and PRIVATE sections) as bundled with the
    ``publicsuffixlist`` package pinned in requirements.lock (the file's VERSION and COMMIT lines say which
    list), and each domain ABOVE one of its entries, with that entry (``core.windows.net`` ->
    ``blob.core.windows.net``). Read once, on the first wildcard checked."""
    with open(PSLFILE, encoding="utf-8") as source:
        listed = {line.split()[0].lstrip("!*.") for line in source if line.strip() and not line.startswith("//")}
    above: dict[str, str] = {}
    for entry in sorted(listed | {encode_idn(e) for e in listed}):  # host names arrive punycoded (xn--)
        for i in range(1, entry.count(".") + 1):
            above.setdefault(entry.split(".", i)[-1], entry)
    return PublicSuffixList(), above


def shared_suffix(domain: str) -> str | None:
    """The public suffix that makes ``*.<domain>`` a wildcard over other tenants' hosts, or None.

    A public suffix is a name under which anyone may register their own (``com``, ``co.uk``), and the
    list's PRIVATE section holds the providers' multi-tenant domains, where every customer gets a host
    (``blob.core.windows.net``, ``azurewebsites.net``, ``ngrok-free.app``). ``*.<domain>`` covers every
    tenant's hosts when ``domain`` is such a suffix or lies above one (``*.core.windows.net`` covers
    ``<anyone>.blob.core.windows.net``). The stack config's ``allowedFqdns`` check uses it, and the policy
    pack's CS-06 uses a generated copy of this module (``policies/guardrails/public_suffix.py``, written by
    ``make generate``: the pack cannot import infra/).
    """
    psl, above = _public_suffix_list()
    domain = domain.lower()
    if "*" in domain:  # not a domain name (`*.*`): the host name check refuses it
        return None
    return domain if psl.is_public(domain) else above.get(domain)

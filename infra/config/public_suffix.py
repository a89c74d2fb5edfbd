"""Whether a wildcard host name covers other tenants' hosts: the Public Suffix List's definition, and Azure's
multi-tenant service domains, which that list lacks (``vault.azure.net``, ``openai.azure.com``, ``azurecr.io``).

The one source of this definition: the stack config's check (``model.py``) imports it, and ``make generate``
copies this file into the policy pack as ``policies/guardrails/public_suffix.py`` for CS-06. It imports only
the standard library, ``publicsuffixlist`` and its sibling module ``service_domains``, so the copy runs in the
pack unchanged: here that sibling reads ``infra/catalogues/azure_service_domains.yaml``, and in the pack it is
generated from that file with the list inline (``policies/guardrails/service_domains.py``), so both sides
judge with one list.
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

from publicsuffixlist import PSLFILE, PublicSuffixList, encode_idn

from .service_domains import azure_service_domains

_PLACEHOLDER = re.compile(r"\{[A-Za-z]+\}")


class SharedDomain(NamedTuple):
    """A domain under which every tenant of a provider gets hosts, and the list that says so."""

    name: str
    """The shared domain as its list writes it (``blob.core.windows.net``, ``{regionName}.batch.azure.com``)."""
    listed_in: str
    """What kind of shared domain it is and which list names it, for messages."""


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


@cache
def _azure_zones() -> tuple[dict[str, str], dict[str, list[tuple[str, tuple[re.Pattern[str], ...]]]]]:
    """Azure's service domains, indexed: every domain at or above a zone's fixed part (the labels after its
    last placeholder one; all of it when it has none) -> that zone, and for each zone with placeholders, its
    fixed part -> (the zone, one pattern per label before it). A placeholder stands for any one label, as a
    ``*`` label does in the Public Suffix List: ``{regionName}.batch.azure.com`` makes every
    ``<region>.batch.azure.com`` a shared zone."""
    at_or_above: dict[str, str] = {}
    patterned: dict[str, list[tuple[str, tuple[re.Pattern[str], ...]]]] = {}
    for zone in sorted(azure_service_domains()):
        labels = zone.split(".")
        n = max((i + 1 for i, label in enumerate(labels) if _PLACEHOLDER.search(label)), default=0)
        fixed = ".".join(labels[n:])
        for i in range(fixed.count(".") + 1):
            at_or_above.setdefault(fixed.split(".", i)[-1], zone)
        if n:
            pattern = tuple(re.compile("[a-z0-9-]+".join(re.escape(part) for part in _PLACEHOLDER.split(label)))
                            for label in labels[:n])
            patterned.setdefault(fixed, []).append((zone, pattern))
    return at_or_above, patterned


def _azure_zone(domain: str) -> str | None:
    """The Azure service zone at or below ``domain``, with its placeholders filled by any labels, or None."""
    at_or_above, patterned = _azure_zones()
    if domain in at_or_above:
        return at_or_above[domain]
    labels = domain.split(".")
    for i in range(1, len(labels)):
        prefix = labels[:i]
        for zone, pattern in patterned.get(".".join(labels[i:]), ()):
            # `domain` is at or above an instance of the zone: its labels match the zone's last ones.
            if len(prefix) <= len(pattern) and all(p.fullmatch(label) for p, label in
                                                   zip(pattern[len(pattern) - len(prefix):], prefix, strict=True)):
                return zone
    return None


def shared_suffix(domain: str) -> SharedDomain | None:
    """The shared domain that makes ``*.<domain>`` a wildcard over other tenants' hosts, or None.

    A public suffix is a name under which anyone may register their own (``com``, ``co.uk``), and the
    Public Suffix List's PRIVATE section holds providers' multi-tenant domains, where every customer gets a
    host (``blob.core.windows.net``, ``azurewebsites.net``, ``ngrok-free.app``). Azure's other service
    domains, missing from that list (``vault.azure.net``, ``openai.azure.com``, ``azurecr.io``,
    ``servicebus.windows.net``), come from Microsoft's private endpoint DNS zone table
    (``infra/catalogues/azure_service_domains.yaml``). ``*.<domain>`` covers every tenant's hosts when
    ``domain`` is such a domain or lies above one (``*.core.windows.net`` covers
    ``<anyone>.blob.core.windows.net``, ``*.azure.net`` covers ``<anyone>.vault.azure.net``). The stack
    config's ``allowedFqdns`` check uses it, and the policy pack's CS-06 uses a generated copy of this module
    (``policies/guardrails/public_suffix.py``, written by ``make generate``: the pack cannot import infra/).
    """
    psl, above = _public_suffix_list()
    domain = domain.lower()
    if "*" in domain:  # not a domain name (`*.*`): the host name check refuses it
        return None
    suffix = domain if psl.is_public(domain) else above.get(domain)
    if suffix is not None:
        return SharedDomain(suffix, "a public suffix (Public Suffix List)")
    zone = _azure_zone(domain)
    if zone is not None:
        return SharedDomain(zone, f"an Azure service domain ({azure_service_domains()[zone]}) in Microsoft's "
                                  "'Azure Private Endpoint private DNS zone values'")
    return None

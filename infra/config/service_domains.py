"""Azure's multi-tenant service domains for ``public_suffix``, read from the catalogue
``infra/catalogues/azure_service_domains.yaml``.

``public_suffix`` imports this sibling module by a relative import, so its generated copy in the policy pack
imports the pack's own ``policies/guardrails/service_domains.py`` instead: the same list, written inline by
``make generate`` (the pack cannot read infra/; tests/test_generated.py fails when that copy is stale).
"""

from __future__ import annotations

from ..catalogues import azure_service_domains

__all__ = ["azure_service_domains"]

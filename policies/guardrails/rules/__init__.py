"""The rule modules, one per rule id prefix (``ai`` holds the account's CS and its deployments' DEP)."""

from __future__ import annotations

from . import ai, compute, container_registry, cost, general, identity, keyvault, monitoring, network, storage

MODULES = (ai, compute, network, keyvault, monitoring, storage, container_registry, identity, general, cost)
"""Every module that defines rules, in catalogue order; each lists its rules in ``RULES``."""

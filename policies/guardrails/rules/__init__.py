"""The rule modules, one per Azure service area."""

from __future__ import annotations

from . import ai, compute, general, identity, keyvault, network, stack, storage

MODULES = (ai, compute, network, keyvault, general, storage, identity, stack)
"""Every module that defines rules, in catalogue order; each lists its rules in ``RULES``."""

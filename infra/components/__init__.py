"""Reusable ComponentResources, each owning the safety features of one logical thing.

Shared interface names (as in Azure Verified Modules) are the same on every component:
``placement`` (resource group, location, tags, naming, profile), ``lock``, ``role_assignments``,
``diagnostic_settings`` and ``private_endpoint``.
"""

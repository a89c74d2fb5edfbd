"""Role assignments by built-in role NAME; the name -> GUID table lives only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pulumi
import pulumi_azure_native.authorization as authorization

from .interfaces import RoleAssignmentSpec

BUILTIN_ROLES: dict[str, str] = {
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Cognitive Services OpenAI Contributor": "a001fd3d-188f-4b5d-821b-7da978bf7442",
    "Cognitive Services User": "a97b65f3-24c7-4388-baec-2e87135dc908",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
}
"""Roles the project grants. Owner / Contributor / User Access Administrator are deliberately absent.
Ids from learn.microsoft.com/azure/role-based-access-control/built-in-roles/ (Containers: AcrPull;
Storage: Storage Blob Data Reader; AI + machine learning; Security: the Key Vault roles)."""

_NAMESPACE = uuid.UUID("8f0e3e8c-5d0b-4f7e-9a43-0a1c2d3e4f50")


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """The subscription-scoped id of built-in ``role`` (raises KeyError for an unknown name)."""
    guid = BUILTIN_ROLES[role]
    return pulumi.Output.concat(
        "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", guid
    )


def assignment_guid(scope_key: str, spec: RoleAssignmentSpec) -> str:
    """Deterministic assignment name: the same scope, role and principal always give the same GUID."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope_key}|{spec.role}|{spec.key}"))


def assign_roles(
    name: str,
    scope: pulumi.Input[str],
    specs: Sequence[RoleAssignmentSpec],
    *,
    subscription_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> list[authorization.RoleAssignment]:
    """One ``RoleAssignment`` per spec on ``scope`` (a resource id), children of ``parent``.

    ``name`` is the owning resource's name; it prefixes the Pulumi names and keys the GUIDs.
    """
    out = []
    for spec in specs:
        if spec.role not in BUILTIN_ROLES:
            raise ValueError(f"unknown built-in role {spec.role!r}; known: {', '.join(BUILTIN_ROLES)}")
        slug = spec.role.lower().replace(" ", "-")
        out.append(
            authorization.RoleAssignment(
                f"{name}-{slug}-{spec.key}",
                role_assignment_name=assignment_guid(name, spec),
                scope=scope,
                role_definition_id=role_definition_id(subscription_id, spec.role),
                principal_id=spec.principal_id,
                principal_type=spec.principal_type,
                description=spec.description,
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
    return out

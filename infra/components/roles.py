"""Role assignments by built-in role NAME; the name -> GUID table lives only here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pulumi
import pulumi_azure_native.authorization as authorization

from .interfaces import RoleAssignmentSpec

BUILTIN_ROLES: dict[str, str] = {
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
}
"""The roles the project grants, and the only ones the policy pack lets a stack grant (RBAC-02's
`allowedRoles`, copied into policies/guardrails/catalogue.json by `make generate`): a role is added here
when a component needs it, not before (Key Vault Administrator and Reader once sat here unused, one edit away
from being granted). Ids from learn.microsoft.com/azure/role-based-access-control/built-in-roles/
(Containers: AcrPull; Storage: Storage Blob Data Reader; AI + machine learning; Security: the Key Vault
roles)."""

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

"""Role assignments and custom role definitions: RBAC-01..02."""

from __future__ import annotations

from typing import Any

from .. import config as cfg
from ..define import psrule, rule
from ..model import Context
from ..values import canonical_type, elements, eq, flat, get, shown

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
_WILDCARD_ACTIONS = {"*", "*/write", "*/action", "*/delete", "Microsoft.Authorization/*"}


@rule(
    "RBAC-01",
    "rbac-01-no-direct-user-assignment",
    title="Roles go to groups or identities, not users",
    description=(
        "Role assignments should name groups, service principals or managed identities, not individual users."
    ),
    severity="low",
    category="hygiene",
    remediation="Assign the role to an Entra ID group (`principalType: Group`) and manage membership there.",
    link=psrule("Azure.RBAC.UseGroups"),
    anchors=("PSRule Azure.RBAC.UseGroups",),
    types=(ROLE_ASSIGNMENT,),
)
def rbac01(props: Any, ctx: Context) -> list[str]:
    if eq(get(props, "principalType"), "User"):
        return ["principalType is User; assign the role to a group or a managed identity"]
    return []


def role_guid(role_definition_id: str) -> str:
    """The GUID at the end of a (scoped) role definition id."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


@rule(
    "RBAC-02",
    "rbac-02-no-privileged-roles",
    title="No Owner, Contributor or User Access Administrator",
    description=(
        "Role assignments must not grant the privileged roles in `deniedRoles` (default: Owner, Contributor, "
        "User Access Administrator): grant the narrowest data or service role instead."
    ),
    severity="critical",
    category="security",
    remediation=(
        "Use a narrow built-in role (e.g. Cognitive Services OpenAI User, Key Vault Secrets User, AcrPull)."
    ),
    link=psrule("Azure.RBAC.LimitOwner"),
    anchors=("PSRule Azure.RBAC.LimitOwner",),
    types=(ROLE_ASSIGNMENT, ROLE_DEFINITION),
    config={"deniedRoles": cfg.denied_roles()},
)
def rbac02(props: Any, ctx: Context) -> list[str]:
    if canonical_type(ctx.resource_type) == ROLE_DEFINITION:
        # A custom role with wildcard actions is Owner by another name: judge the definition itself.
        return [
            f"permissions[{i}].{field} contains {shown(action)}, as broad as Owner; list the actions needed"
            for i, perm in enumerate(elements(props, "permissions"))
            for field in ("actions", "dataActions")
            for action in elements(flat(perm), field)
            if isinstance(action, str) and action.strip() in _WILDCARD_ACTIONS
        ]
    role = get(props, "roleDefinitionId")
    if not isinstance(role, str):
        return []
    guid = role_guid(role)
    denied = {g.lower() for g in ctx.config["deniedRoles"]}
    if guid in denied:
        name = cfg.role_names().get(guid, guid)
        return [f"roleDefinitionId grants {name}; use a narrower role"]
    return []


RULES = (rbac01, rbac02)

"""Role assignments and custom role definitions: RBAC-01..02."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .. import config as cfg
from ..define import psrule, rule
from ..model import Context, Findings
from ..values import Undetermined, canonical_type, elements, eq, flat, get, known, shown, shown_as

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
_WILDCARD_ACTIONS = {"*", "*/write", "*/action", "*/delete", "Microsoft.Authorization/*"}
# Operations that hand out access: an action covering one of these is as strong as User Access Administrator
# (Role Based Access Control Administrator, Key Vault Data Access Administrator and a custom role with
# `Microsoft.Authorization/*/write` or `Microsoft.*` all carry one; found by review).
_ESCALATING = (
    "microsoft.authorization/roleassignments/write",
    "microsoft.authorization/roledefinitions/write",
    "microsoft.authorization/elevateaccess/action",
)


@cache
def _action_pattern(action: str) -> re.Pattern[str]:
    """An ARM action with `*` wildcards as a regular expression (case-insensitive, like ARM)."""
    return re.compile(".*".join(re.escape(part) for part in action.strip().lower().split("*")))


def escalates(action: Any) -> bool:
    """Whether a role definition action is a wildcard as broad as Owner or covers a way to hand out access."""
    if not isinstance(action, str):
        return False
    if action.strip() in _WILDCARD_ACTIONS:
        return True
    pattern = _action_pattern(action)
    return any(pattern.fullmatch(op) for op in _ESCALATING)


_ACTION_TEXT = re.compile(r"[A-Za-z0-9./*_-]{1,200}")
"""An action's shape: shown as it is in a message (it is no secret)."""


def scope_breadth(scope: str) -> str | None:
    """What a role assignment scope covers when it is broader than one resource (None for a resource)."""
    text = scope.strip().rstrip("/").lower()
    if not text:
        return "the whole tenant"
    if text.startswith("/providers/microsoft.management/managementgroups/"):
        return "a management group"
    if re.fullmatch(r"/subscriptions/[^/]+", text):
        return "a whole subscription"
    if re.fullmatch(r"/subscriptions/[^/]+/resourcegroups/[^/]+", text):
        return "a whole resource group"
    return None


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
    title="Only the platform's narrow roles, on one resource",
    description=(
        "Role assignments may grant only the roles in `allowedRoles` (default: the roles the platform's components "
        "grant), never one in `deniedRoles` (Owner, Contributor, User Access Administrator), and only on one "
        "resource, not a resource group, subscription or management group. Custom roles must not carry "
        "wildcard actions or actions that hand out access (role assignments or definitions, elevate access)."
    ),
    severity="critical",
    category="security",
    remediation=(
        "Grant a narrow built-in role (Cognitive Services OpenAI User, Key Vault Secrets User, AcrPull, ...) on "
        "the resource that needs it; a role the platform does not grant yet goes into "
        "`infra/components/roles.py` (then `make generate`), reviewed by the platform team."
    ),
    link=psrule("Azure.RBAC.LimitOwner"),
    anchors=("PSRule Azure.RBAC.LimitOwner",),
    types=(ROLE_ASSIGNMENT, ROLE_DEFINITION),
    config={"deniedRoles": cfg.denied_roles(), "allowedRoles": cfg.allowed_roles()},
)
def rbac02(props: Any, ctx: Context) -> Findings:
    out = Findings()
    if canonical_type(ctx.resource_type) == ROLE_DEFINITION:
        # A custom role with wildcard actions is Owner by another name: judge the definition itself.
        for i, perm in enumerate(elements(props, "permissions")):
            for field in ("actions", "dataActions"):
                with out.check():
                    for j, action in enumerate(elements(flat(perm), field)):
                        action = known(action, f"permissions[{i}].{field}[{j}]")  # unknown: undetermined, not passed
                        if escalates(action):
                            out.add(f"permissions[{i}].{field} contains {shown_as(action, _ACTION_TEXT)}, which can "
                                    "hand out access or is as broad as Owner; list the actions needed")
        return out
    with out.check():
        role = get(props, "roleDefinitionId")
        if isinstance(role, str):
            guid = role_guid(role)
            if guid in {g.lower() for g in ctx.config["deniedRoles"]}:
                out.add(f"roleDefinitionId grants {cfg.role_names().get(guid, guid)}; use a narrower role")
            elif guid not in {g.lower() for g in ctx.config["allowedRoles"]}:
                out.add(f"roleDefinitionId grants {shown(guid)}, not a role the platform grants (allowedRoles)")
    # An unknown scope is the id of something this stack creates, which `up` judges once it is known; a known one
    # is judged here.
    try:
        scope = get(props, "scope")
    except Undetermined:
        scope = None
    if isinstance(scope, str) and (breadth := scope_breadth(scope)):
        out.add(f"scope is {breadth}; assign the role on the one resource that needs it")
    return out


RULES = (rbac01, rbac02)

"""Deletion protection for stateful resources: a CanNotDelete lock plus Pulumi ``protect``."""

from __future__ import annotations

import pulumi
import pulumi_azure_native.authorization as authorization


def protect_opts(lock: bool, **kwargs) -> pulumi.ResourceOptions:
    """Resource options for a stateful resource: ``protect`` when ``lock`` is on."""
    return pulumi.ResourceOptions(protect=lock, **kwargs)


def delete_lock(name: str, scope: pulumi.Input[str], *, parent: pulumi.Resource) -> authorization.ManagementLockByScope:
    """A CanNotDelete management lock on ``scope``: Azure refuses deletes until it is removed."""
    return authorization.ManagementLockByScope(
        f"lock-{name}",
        lock_name=f"lock-{name}",
        scope=scope,
        level=authorization.LockLevel.CAN_NOT_DELETE,
        notes="Managed by ai-serving (prod profile). Remove deliberately before deleting.",
        opts=pulumi.ResourceOptions(parent=parent),
    )

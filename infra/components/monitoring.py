"""The stack's Log Analytics workspace: where every component's diagnostic settings send their logs."""

from __future__ import annotations

import pulumi
import pulumi_azure_native.operationalinsights as operationalinsights

from .interfaces import DiagnosticSettings, Placement
from .locks import delete_lock, protect_opts

WORKSPACE_SKU = "PerGB2018"
"""Pay-as-you-go per GB ingested: the only SKU offered to new workspaces."""


class Monitoring(pulumi.ComponentResource):
    """A Log Analytics workspace keeping logs ``retention_days``.

    Local (shared-key) auth is off: diagnostic settings and the Azure Monitor agent use Entra ID,
    and nobody needs the workspace keys. Public ingestion and query stay at Azure's default (on):
    diagnostic settings travel over the Azure backbone, and closing query access needs an Azure
    Monitor Private Link Scope, which belongs to the platform's hub rather than each team.
    """

    workspace_id: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    diagnostic_settings: DiagnosticSettings
    """Logs (all categories) and metrics to this workspace: what components receive by default."""

    def __init__(
        self,
        name: str,
        placement: Placement,
        *,
        retention_days: int,
        lock: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the workspace ``name``.

        ``retention_days``: how long logs are kept (interactive retention). ``lock``: a CanNotDelete
        lock plus Pulumi ``protect``. The environment maps both from its profile.
        """
        super().__init__("ai-serving:monitoring:Monitoring", name, None, opts)
        locked = lock
        workspace = operationalinsights.Workspace(
            name,
            workspace_name=name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            sku=operationalinsights.WorkspaceSkuArgs(name=WORKSPACE_SKU),
            retention_in_days=retention_days,
            features=operationalinsights.WorkspaceFeaturesArgs(
                disable_local_auth=True,
                enable_log_access_using_only_resource_permissions=True,
            ),
            tags=dict(placement.tags),
            opts=protect_opts(locked, parent=self),
        )
        if locked:
            delete_lock(name, workspace.id, parent=self)
        self.workspace_id = workspace.id
        self.workspace_name = workspace.name
        self.diagnostic_settings = DiagnosticSettings(workspace_id=workspace.id)
        self.register_outputs({"workspaceId": self.workspace_id, "workspaceName": self.workspace_name})

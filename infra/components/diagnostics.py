"""The one diagnostic-settings helper every component uses."""

from __future__ import annotations

import pulumi
import pulumi_azure_native.monitor as monitor

from .interfaces import DiagnosticSettings


def diagnostics(
    name: str,
    resource_id: pulumi.Input[str],
    settings: DiagnosticSettings,
    *,
    parent: pulumi.Resource,
) -> monitor.DiagnosticSetting:
    """Send ``resource_id``'s logs (category groups and/or categories) and metrics to the workspace."""
    logs = [monitor.DiagnosticsLogSettingsArgs(category_group=g, enabled=True) for g in settings.log_category_groups]
    logs += [monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in settings.log_categories]
    metrics = [monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)] if settings.metrics else None
    return monitor.DiagnosticSetting(
        f"diag-{name}",
        name=f"diag-{name}",
        resource_uri=resource_id,
        workspace_id=settings.workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=logs,
        metrics=metrics,
        opts=pulumi.ResourceOptions(parent=parent),
    )

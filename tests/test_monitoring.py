"""Monitoring: the stack's Log Analytics workspace and where diagnostic settings send their logs."""

from __future__ import annotations

import pytest

from infra.config.profiles import PROFILES

from .plancache import planned
from .stackdata import base_config

WORKSPACE = "azure-native:operationalinsights:Workspace"
DIAG = "azure-native:monitor:DiagnosticSetting"
LOCK = "azure-native:authorization:ManagementLockByScope"
COMPONENT = "ai-serving:monitoring:Monitoring"


def plan(plan_stack, environment):
    run = planned(plan_stack, base_config(environment, openai=False))
    assert run.exit_code == 0, run.errors
    return run


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_workspace_retention_comes_from_the_profile(plan_stack, environment):
    ws = plan(plan_stack, environment).one(WORKSPACE)
    assert ws.inputs["retentionInDays"] == PROFILES[environment].log_retention_days
    assert ws.inputs["sku"] == {"name": "PerGB2018"}
    assert ws.inputs["workspaceName"] == f"log-team-t-{environment}-sdc"
    # Entra ID only: nothing needs the workspace's shared keys.
    assert ws.inputs["features"]["disableLocalAuth"] is True


def test_retention_is_longer_in_prod():
    assert PROFILES["prod"].log_retention_days > PROFILES["dev"].log_retention_days


def test_dev_workspace_is_neither_locked_nor_protected(plan_stack):
    run = plan(plan_stack, "dev")
    assert run.one(WORKSPACE).protect is False
    assert [lock for lock in run.by_type(LOCK) if "/workspaces/" in lock.inputs["scope"]] == []


def test_prod_workspace_is_protected_and_locked_against_deletion(plan_stack):
    run = plan(plan_stack, "prod")
    ws = run.one(WORKSPACE)
    assert ws.protect is True
    lock = run.one(LOCK, "lock-log-team-t-prod-sdc")
    assert lock.inputs["level"] == "CanNotDelete"
    assert lock.inputs["scope"].endswith("/workspaces/log-team-t-prod-sdc")
    assert ws.parent == lock.parent == run.one(COMPONENT).urn


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_every_diagnostic_setting_sends_enabled_logs_to_the_stack_workspace(plan_stack, environment):
    run = plan(plan_stack, environment)
    workspace_id = run.outputs["workspaceId"]
    assert workspace_id.endswith(f"/workspaces/log-team-t-{environment}-sdc")
    settings = run.by_type(DIAG)
    # The vault's audit logs and the three NSGs' event logs, at least.
    assert len(settings) >= 4
    for diag in settings:
        assert diag.inputs["workspaceId"] == workspace_id, diag.name
        if diag.inputs["resourceUri"].split("/providers/")[-1].count("/") == 2 and \
                "/Microsoft.Storage/storageAccounts/" in diag.inputs["resourceUri"]:
            # A storage account itself has metrics only; its logs are on its blob service's setting.
            assert not diag.inputs["logs"] and diag.inputs["metrics"], diag.name
            continue
        if diag.inputs["resourceUri"].split("/providers/")[-1].startswith("Microsoft.Storage/storageAccounts/") and (
                "/blobServices/" not in diag.inputs["resourceUri"]):
            # A storage account has no log categories (its blob service has them): metrics only.
            assert diag.inputs["logs"] == [] and diag.inputs["metrics"][0]["enabled"] is True, diag.name
            continue
        assert diag.inputs["logs"] and all(log["enabled"] is True for log in diag.inputs["logs"]), diag.name
        assert run.one(WORKSPACE).urn in diag.dependencies

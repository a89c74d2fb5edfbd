"""Boot rehearsal: execute what a GPU pool VM would execute at boot, in a throwaway root.

``rehearse_run(run, cfg)`` takes a planned stack (the program's registrations under mocks) and its
validated config and returns a ``Rehearsal``: every step (cloud-init's write_files, packages and
runcmd; the serving unit's ExecStartPre/ExecStart; the health verdict), the calls the recording
fakes saw, and the problems found. ``ai-serving rehearse STACK`` prints it. See ``boot.py`` for
the steps, ``sandbox.py`` for the root, ``fake_tool.py`` for the fakes and ``facts/`` for the
contracts they check, with their sources.
"""

from __future__ import annotations

from typing import Any

from infra import catalogues
from infra.components import cloud_init
from infra.config.model import StackConfig

from ..engine.mocks import TENANT_ID, computed_outputs
from .boot import VMSS, Expectation, Rehearsal, find_pool, rehearse, render

__all__ = ["Rehearsal", "expectation", "rehearse_run", "render"]


def expectation(run: Any, cfg: StackConfig) -> Expectation:
    """What the pool of ``cfg`` must do at boot, from the config and the planned resources."""
    pool = cfg.gpu_pool
    assert pool is not None
    vmss = next(r for r in run.resources if r.type == VMSS)
    # The client id Azure reports for the pool identity (the mocks' deterministic value).
    identities = computed_outputs(VMSS, vmss.name, vmss.inputs, "")["identity"]["userAssignedIdentities"]
    client_id = next(iter(identities.values()))["clientId"]
    vault = next((r for r in run.resources if r.type == "azure-native:keyvault:Vault"), None)
    vault_host = None
    if vault is not None:
        uri = computed_outputs(vault.type, vault.name, vault.inputs, "")["properties"]["vaultUri"]
        vault_host = uri.split("/")[2]
    sku = catalogues.gpu_skus()[pool.vm_sku]
    return Expectation(
        image=pool.serving_image,
        model=pool.model,
        port=pool.port,
        gpus=sku["gpus"],
        gpu=sku["gpu"],
        client_id=client_id,
        tenant_id=TENANT_ID,
        vault_host=vault_host,
        registry=cloud_init.registry_login_server(pool.registry_id) if pool.registry_id else None,
        gated_models=sorted(m for m, e in catalogues.open_models().items() if e.get("gated")),
    )


def rehearse_run(run: Any, cfg: StackConfig) -> Rehearsal | None:
    """Rehearse the boot of the GPU pool planned in ``run``; None when the stack has no pool."""
    found = find_pool(run.resources)
    if found is None or cfg.gpu_pool is None:
        return None
    vmss, autoscale = found
    return rehearse(vmss, autoscale, expectation(run, cfg))

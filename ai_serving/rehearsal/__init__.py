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
from infra.components.container_registry import login_server
from infra.components.weights_storage import blob_host
from infra.config.model import StackConfig

from ..engine.mocks import TENANT_ID, computed_outputs
from .boot import VMSS, Expectation, Rehearsal, find_pool, rehearse, render

REGISTRY = "azure-native:containerregistry:Registry"
ACCOUNT = "azure-native:storage:StorageAccount"

__all__ = ["Rehearsal", "expectation", "rehearse_run", "render"]


def expectation(run: Any, cfg: StackConfig) -> Expectation:
    """What the pool of ``cfg`` must do at boot, from the config and the planned resources."""
    pool = cfg.gpu_pool
    assert pool is not None
    vmss = next(r for r in run.resources if r.type == VMSS)
    # The identity the scale set is given (its ARM id, as the plan declares it): the one IMDS must be asked for.
    [identity_id] = vmss.inputs["identity"]["userAssignedIdentities"]
    vault = next((r for r in run.resources if r.type == "azure-native:keyvault:Vault"), None)
    vault_host = None
    if vault is not None:
        uri = computed_outputs(vault.type, vault.name, vault.inputs, "")["properties"]["vaultUri"]
        vault_host = uri.split("/")[2]
    sku = catalogues.gpu_skus()[pool.vm_sku]
    registry, image = _registry(run, cfg)
    weights = _weights(run, cfg)
    return Expectation(
        image=image,
        model=pool.model,
        port=pool.port,
        gpus=sku["gpus"],
        gpu=sku["gpu"],
        identity_resource_id=identity_id,
        tenant_id=TENANT_ID,
        vault_host=vault_host,
        registry=registry,
        gated_models=sorted(m for m, e in catalogues.open_models().items() if e.get("gated")),
        weights=weights,
        weights_dir=cloud_init.WEIGHTS_DIR,
        container_weights_dir=cloud_init.CONTAINER_WEIGHTS_DIR,
        # Private supply: image and weights only from the private endpoints, nothing from a public host.
        private_only=cfg.gpu_image_source == "registry" and weights is not None,
    )


def _registry(run: Any, cfg: StackConfig) -> tuple[str | None, str]:
    """(login server the VM must log in to, image it must run), from the config and the planned registry."""
    pool = cfg.gpu_pool
    assert pool is not None
    if cfg.gpu_image_source != "registry":
        server = cloud_init.registry_login_server(pool.registry_id) if pool.registry_id else None
        return server, pool.serving_image
    if pool.registry_id:
        server = cloud_init.registry_login_server(pool.registry_id)
    else:
        registry = next(r for r in run.resources if r.type == REGISTRY)
        server = login_server(registry.inputs["registryName"])
    return server, cloud_init.image_in_registry(pool.serving_image, server)


def _weights(run: Any, cfg: StackConfig) -> dict[str, str] | None:
    """The blob host, container and prefix the VM must download from (None: the hub)."""
    source = cfg.gpu_model_source
    if source.kind != "blob":
        return None
    if source.account_id:
        account = source.account_id.rsplit("/", 1)[-1].lower()
    else:
        account = next(r for r in run.resources if r.type == ACCOUNT).inputs["accountName"]
    return {"host": blob_host(account), "container": str(source.container), "path": str(source.path)}


def rehearse_run(run: Any, cfg: StackConfig) -> Rehearsal | None:
    """Rehearse the boot of the GPU pool planned in ``run``; None when the stack has no pool."""
    found = find_pool(run.resources)
    if found is None or cfg.gpu_pool is None:
        return None
    vmss, autoscale = found
    return rehearse(vmss, autoscale, expectation(run, cfg))

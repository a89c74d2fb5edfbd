"""The serving environment: composes the components a team's stack config asks for.

This is the one place where the config and the environment profile meet the components: it maps
``StackConfig`` sections and ``cfg.profile`` values onto each foundation component's explicit,
documented inputs (retention, locks, zone redundancy, vault SKU, budget thresholds, which ports the
GPU subnet admits). Layers, in order: the resource group; the foundation (monitoring, network,
private DNS, Key Vault, budget), whose contract service components receive as ``Foundation``;
then the GPU pool and the OpenAI service when the stack declares them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_azure_native.resources as resources

from .components.budget import TeamBudget
from .components.cloud_init import registry_login_server
from .components.container_registry import ContainerRegistry
from .components.dns import ON_DEMAND_ZONES, PRIVATE_DNS_ZONES, PrivateDnsZones
from .components.gpu_pool import GpuInferencePool
from .components.interfaces import (
    BlobSource,
    Foundation,
    Placement,
    PrivateEndpointSpec,
    RegistrySource,
    RoleAssignmentSpec,
)
from .components.keyvault import TeamKeyVault
from .components.monitoring import Monitoring
from .components.network import ServingNetwork
from .components.openai import CONSUMER_ROLE, OpenAIService
from .components.weights_storage import WeightsStorage, blob_host, container_scope
from .config import StackConfig
from .naming import Naming, tags

KEY_VAULT_LOG_GROUPS = ("audit",)
"""The vault's audit trail (AuditEvent): who read or changed which secret or key."""


class ServingEnvironment(pulumi.ComponentResource):
    """Everything one team stack declares: resource group, foundation, and the configured services.

    ``outputs`` holds the stack exports (resource group, network, vault, workspace, service endpoints).
    """

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        *,
        subscription_id: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ai-serving:environment:ServingEnvironment", name, None, opts)
        naming = Naming.for_stack(cfg)
        rg_name = naming.name("resource_group")
        self.resource_group = resources.ResourceGroup(
            rg_name,
            resource_group_name=rg_name,
            location=cfg.location,
            tags=tags(cfg),
            opts=pulumi.ResourceOptions(parent=self),
        )
        placement = Placement(
            resource_group_name=self.resource_group.name,
            resource_group_id=self.resource_group.id,
            location=cfg.location,
            tags=tags(cfg),
            naming=naming,
            profile=cfg.profile,
            subscription_id=subscription_id,
            tenant_id=tenant_id,
        )
        self.outputs: dict[str, Any] = {"resourceGroupName": self.resource_group.name}
        foundation = self._foundation(cfg, placement)
        gpu_pool = self._gpu_pool(cfg, foundation) if cfg.gpu_pool is not None else None
        if cfg.openai is not None:
            self._openai(cfg, foundation, gpu_pool)
        self.register_outputs(self.outputs)

    def _foundation(self, cfg: StackConfig, placement: Placement) -> Foundation:
        """Monitoring, network, private DNS, Key Vault and (when configured) the budget."""
        naming, profile = placement.naming, cfg.profile
        child = pulumi.ResourceOptions(parent=self)
        monitoring = Monitoring(naming.name("log_analytics"), placement, retention_days=profile.log_retention_days,
                                lock=profile.protect_stateful, opts=child)
        pool = cfg.gpu_pool
        net = ServingNetwork(
            naming.name("virtual_network"),
            placement,
            address_space=cfg.network.address_space,
            # What the GPU subnet admits follows the pool the stack declares (none: it admits nothing).
            serving_port=pool.port if pool is not None else None,
            ssh_from_vnet=pool is not None and pool.ssh_public_key is not None,
            nat_gateway=pool is not None,  # only the GPU pool needs Internet egress
            # The environment decides, never the image or weights source: a prod pool waived onto the hub
            # (VMSS-09/VMSS-11) keeps the same outbound allow-list (its 443-to-Internet rule carries the
            # hub pulls), so choosing `hub` can never also drop the outbound restriction.
            restricted_egress=pool is not None and profile.gpu_private_egress,
            zone_redundant=profile.zone_redundant,
            hub_vnet_id=cfg.network.hub_vnet_id,
            diagnostic_settings=monitoring.diagnostic_settings,
            opts=child,
        )
        own_registry = pool is not None and cfg.gpu_image_source == "registry" and pool.registry_id is None
        dns = PrivateDnsZones(
            naming.name("private_dns_zone"),
            placement,
            virtual_network_id=net.vnet_id,
            central_zone_ids=cfg.network.private_dns_zone_ids,
            # privatelink.azurecr.io only where the stack has a registry endpoint of its own.
            zone_keys=[k for k in PRIVATE_DNS_ZONES if k not in ON_DEMAND_ZONES or own_registry],
            opts=child,
        )
        endpoints = PrivateEndpointSpec(subnet_id=net.subnet_ids["private-endpoints"], dns_zone_ids=dns.zone_ids)
        vault = TeamKeyVault(
            naming.key_vault(),
            placement,
            private_endpoint=endpoints,
            sku=profile.key_vault_sku,
            soft_delete_retention_days=profile.key_vault_soft_delete_days,
            lock=profile.protect_stateful,
            diagnostic_settings=dataclasses.replace(monitoring.diagnostic_settings,
                                                    log_category_groups=KEY_VAULT_LOG_GROUPS),
            opts=child,
        )
        if cfg.budget is not None:
            TeamBudget(
                naming.name("budget"),
                placement,
                scope=placement.resource_group_id,
                monthly_amount=cfg.budget.monthly_amount,
                contact_emails=cfg.budget.contact_emails,
                actual_thresholds=profile.budget_actual_thresholds,
                forecast_thresholds=profile.budget_forecast_thresholds,
                opts=child,
            )
        self.outputs.update({
            "vnetId": net.vnet_id,
            "subnetIds": net.subnet_ids,
            "keyVaultName": vault.vault_name,
            "keyVaultUri": vault.vault_uri,
            "workspaceId": monitoring.workspace_id,
        })
        return Foundation(
            placement=placement,
            private_endpoints=endpoints,
            gpu_subnet_id=net.subnet_ids["gpu"],
            gpu_subnet_cidr=str(net.subnets.gpu),
            key_vault_id=vault.vault_id,
            key_vault_name=vault.vault_name,
            key_vault_uri=vault.uri,
            diagnostic_settings=monitoring.diagnostic_settings,
        )

    def _gpu_pool(self, cfg: StackConfig, foundation: Foundation) -> GpuInferencePool:
        """The scale set serving ``gpuPool.model`` behind an internal load balancer."""
        assert cfg.gpu_pool is not None
        pool = GpuInferencePool(
            foundation.placement.naming.gpu_scale_set(),
            cfg.gpu_pool,
            foundation,
            model_hub_token=cfg.model_hub_token if cfg.gpu_model_source.kind == "hub" else None,
            registry=self._registry(cfg, foundation),
            weights=self._weights(cfg, foundation),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.outputs.update({
            "gpuFrontendIp": pool.frontend_ip,
            "gpuServingUrl": pool.serving_url,
            "gpuPrincipalId": pool.principal_id,
            "gpuScaleSetName": pool.scale_set_name,
        })
        return pool

    def _registry(self, cfg: StackConfig, foundation: Foundation) -> RegistrySource | None:
        """The private registry the pool pulls from: the shared one named in config, or the stack's own."""
        assert cfg.gpu_pool is not None
        if cfg.gpu_image_source != "registry":
            return None
        if cfg.gpu_pool.registry_id is not None:
            return RegistrySource(cfg.gpu_pool.registry_id, registry_login_server(cfg.gpu_pool.registry_id))
        placement, profile = foundation.placement, cfg.profile
        registry = ContainerRegistry(
            placement.naming.container_registry(),
            placement,
            private_endpoint=foundation.private_endpoints,
            zone_redundant=profile.zone_redundant,
            lock=profile.protect_stateful,
            diagnostic_settings=foundation.diagnostic_settings,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.outputs.update({"registryLoginServer": registry.login_server, "registryId": registry.registry_id})
        return RegistrySource(registry.registry_id, registry.login_server)

    def _weights(self, cfg: StackConfig, foundation: Foundation) -> BlobSource | None:
        """The private container the pool downloads its weights from: in a shared account or the stack's own."""
        source = cfg.gpu_model_source
        if source.kind != "blob":
            return None
        assert source.container is not None and source.path is not None
        if source.account_id is not None:
            name = source.account_id.rsplit("/", 1)[-1].lower()
            return BlobSource(blob_host(name), source.container, source.path,
                              container_scope(source.account_id, source.container))
        placement, profile = foundation.placement, cfg.profile
        store = WeightsStorage(
            placement.naming.storage_account("weights"),
            placement,
            containers=[source.container],
            private_endpoint=foundation.private_endpoints,
            zone_redundant=profile.zone_redundant,
            soft_delete_days=profile.weights_soft_delete_days,
            lock=profile.protect_stateful,
            diagnostic_settings=foundation.diagnostic_settings,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.outputs.update({"weightsAccountName": store.account_name, "weightsContainer": source.container})
        return BlobSource(store.host, source.container, source.path, store.container_ids[source.container])

    def _openai(self, cfg: StackConfig, foundation: Foundation, gpu_pool: GpuInferencePool | None) -> None:
        """The OpenAI account, its content filters and deployments.

        Consumers get Cognitive Services OpenAI User on the account: the GPU pool's identity when a
        pool exists, plus every ``openai.consumers`` entry.
        """
        assert cfg.openai is not None
        grants: list[RoleAssignmentSpec] = []
        if gpu_pool is not None:
            grants.append(RoleAssignmentSpec(CONSUMER_ROLE, gpu_pool.principal_id, "ServicePrincipal",
                                             key="gpu-pool", description="GPU inference pool identity"))
        grants += [
            RoleAssignmentSpec(CONSUMER_ROLE, c.principal_id, c.principal_type, key=c.principal_id,
                               description=c.description)
            for c in cfg.openai.consumers
        ]
        service = OpenAIService(
            foundation.placement.naming.name("openai"),
            cfg.openai,
            foundation,
            customer_managed_key=cfg.customer_managed_key,
            role_assignments=grants,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.outputs.update({
            "openaiEndpoint": service.endpoint,
            "openaiAccountName": service.account_name,
            "openaiAccountId": service.account_id,
            "openaiDeployments": service.deployment_names,
        })

"""Foundation layer: monitoring, network, private DNS, Key Vault and budget.

Every stack gets all of them (the budget only when ``budget`` is configured); service components
receive the ``Foundation`` contract, never the components themselves.
"""

from __future__ import annotations

import dataclasses

import pulumi

from ..components.budget import TeamBudget
from ..components.dns import PrivateDnsZones
from ..components.interfaces import Foundation, Placement, PrivateEndpointSpec
from ..components.keyvault import TeamKeyVault
from ..components.monitoring import Monitoring
from ..components.network import ServingNetwork
from ..config import StackConfig

KEY_VAULT_LOG_GROUPS = ("audit",)
"""The vault's audit trail (AuditEvent): who read or changed which secret or key."""


def build_foundation(
    cfg: StackConfig, placement: Placement, *, parent: pulumi.Resource
) -> tuple[Foundation, dict]:
    """Declare the stack's shared foundation and return its contract plus stack exports."""
    naming = placement.naming
    child = pulumi.ResourceOptions(parent=parent)

    monitoring = Monitoring(naming.name("log_analytics"), placement, opts=child)
    pool = cfg.gpu_pool
    net = ServingNetwork(
        naming.name("virtual_network"),
        placement,
        address_space=cfg.network.address_space,
        serving_port=pool.port if pool is not None else None,
        ssh_from_vnet=pool is not None and pool.ssh_public_key is not None,
        nat_gateway=pool is not None,  # only the GPU pool needs Internet egress
        hub_vnet_id=cfg.network.hub_vnet_id,
        diagnostic_settings=monitoring.diagnostic_settings,
        opts=child,
    )
    dns = PrivateDnsZones(
        naming.name("private_dns_zone"),
        placement,
        virtual_network_id=net.vnet_id,
        central_zone_ids=cfg.network.private_dns_zone_ids,
        opts=child,
    )
    endpoints = PrivateEndpointSpec(subnet_id=net.subnet_ids["private-endpoints"], dns_zone_ids=dns.zone_ids)
    vault = TeamKeyVault(
        naming.key_vault(),
        placement,
        private_endpoint=endpoints,
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
            opts=child,
        )

    foundation = Foundation(
        placement=placement,
        private_endpoints=endpoints,
        gpu_subnet_id=net.subnet_ids["gpu"],
        gpu_subnet_cidr=str(net.subnets.gpu),
        vnet_cidr=str(cfg.network.address_space),
        key_vault_id=vault.vault_id,
        key_vault_name=vault.vault_name,
        key_vault_uri=vault.vault_uri,
        diagnostic_settings=monitoring.diagnostic_settings,
    )
    exports = {
        "vnetId": net.vnet_id,
        "subnetIds": net.subnet_ids,
        "keyVaultName": vault.vault_name,
        "keyVaultUri": vault.vault_uri,
        "workspaceId": monitoring.workspace_id,
    }
    return foundation, exports

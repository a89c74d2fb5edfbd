"""The team's private container registry: the GPU pool pulls its serving image from here."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_azure_native.containerregistry as containerregistry
import pulumi_azure_native.network as network

from .diagnostics import diagnostics
from .interfaces import DiagnosticSettings, Placement, PrivateEndpointSpec, RoleAssignmentSpec
from .locks import delete_lock, protect_opts
from .private_endpoint import private_endpoint as add_private_endpoint
from .roles import assign_roles

PRIVATE_LINK_GROUP = "registry"
"""The registry's private-link sub-resource (its login server and its regional data endpoints)."""
DNS_ZONE_KEY = "acr"
SKU = containerregistry.SkuName.PREMIUM
"""Premium: the only tier with private endpoints and ``publicNetworkAccess: Disabled``."""


def login_server(registry_name: str) -> str:
    """``<name>.azurecr.io``: ACR's login server is the registry name, lower-cased (public cloud)."""
    return f"{registry_name.lower()}.azurecr.io"


class ContainerRegistry(pulumi.ComponentResource):
    """An Azure Container Registry reachable only through its private endpoint, pulled from by identity.

    - Premium SKU (private link needs it), ``publicNetworkAccess: Disabled`` and the firewall's
      default action Deny; ``networkRuleBypassOptions: AzureServices`` stays on so that
      ``az acr import`` (a trusted service pulling upstream into the registry) still works with the
      public endpoint off.
    - No admin user (a shared static credential) and no anonymous pull: pulls need an Entra ID
      identity with ``AcrPull`` (``role_assignments``).
    - The private endpoint registers both the login server and the regional data endpoint
      (``<name>.<region>.data.azurecr.io``) in the ``privatelink.azurecr.io`` zone through its zone
      group; a client resolving only the login server privately would still fetch layers publicly.
    - Zone redundancy when ``zone_redundant``; logs (repository and login events) and metrics to the
      workspace when ``diagnostic_settings`` is given.
    """

    registry_id: pulumi.Output[str]
    registry_name: pulumi.Output[str]
    login_server: str
    """``<name>.azurecr.io``, known at plan time (the name is deterministic)."""
    private_endpoint: network.PrivateEndpoint

    def __init__(
        self,
        name: str,
        placement: Placement,
        *,
        private_endpoint: PrivateEndpointSpec,
        zone_redundant: bool,
        lock: bool,
        diagnostic_settings: DiagnosticSettings | None = None,
        role_assignments: Sequence[RoleAssignmentSpec] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the registry ``name`` (globally unique, 5-50 alphanumerics: ``Naming.container_registry``).

        ``private_endpoint``: the endpoint subnet and DNS zone ids (needs the ``acr`` zone).
        ``zone_redundant``: spread over availability zones. ``lock``: a CanNotDelete lock plus
        Pulumi ``protect``. ``diagnostic_settings``: where logs and metrics go (default: none).
        ``role_assignments``: roles on the registry (default: none; the GPU pool grants its own AcrPull).
        """
        super().__init__("ai-serving:container_registry:ContainerRegistry", name, None, opts)
        registry = containerregistry.Registry(
            name,
            registry_name=name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            sku=containerregistry.SkuArgs(name=SKU),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access=containerregistry.PublicNetworkAccess.DISABLED,
            network_rule_set=containerregistry.NetworkRuleSetArgs(
                default_action=containerregistry.DefaultAction.DENY),
            # az acr import runs as the trusted ACR service: with the bypass off it fails on a
            # registry whose public network access is disabled.
            network_rule_bypass_options=containerregistry.NetworkRuleBypassOptions.AZURE_SERVICES,
            zone_redundancy=(containerregistry.ZoneRedundancy.ENABLED if zone_redundant
                             else containerregistry.ZoneRedundancy.DISABLED),
            tags=dict(placement.tags),
            opts=protect_opts(lock, parent=self),
        )
        if lock:
            delete_lock(name, registry.id, parent=self)
        self.private_endpoint, _ = add_private_endpoint(
            name, registry.id, [PRIVATE_LINK_GROUP], [DNS_ZONE_KEY], private_endpoint, placement, parent=self
        )
        if diagnostic_settings is not None:
            diagnostics(name, registry.id, diagnostic_settings, parent=self)
        assign_roles(name, registry.id, role_assignments, subscription_id=placement.subscription_id, parent=self)

        self.registry_id = registry.id
        self.registry_name = registry.name
        self.login_server = login_server(name)
        self.register_outputs({"registryId": self.registry_id, "loginServer": self.login_server})

"""The team's private model-weights store: one blob container per model, read by identity."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pulumi
import pulumi_azure_native.network as network
import pulumi_azure_native.storage as storage

from .diagnostics import diagnostics
from .interfaces import DiagnosticSettings, Placement, PrivateEndpointSpec
from .locks import delete_lock, protect_opts
from .private_endpoint import private_endpoint as add_private_endpoint

PRIVATE_LINK_GROUP = "blob"
DNS_ZONE_KEY = "blob"


def blob_host(account_name: str) -> str:
    """``<account>.blob.core.windows.net`` (public cloud); privately resolved through ``privatelink.blob``."""
    return f"{account_name}.blob.core.windows.net"


def container_scope(account_id: str, container: str) -> str:
    """The ARM id of a blob container: the narrowest scope a data role can be granted on."""
    return f"{account_id.rstrip('/')}/blobServices/default/containers/{container}"


class WeightsStorage(pulumi.ComponentResource):
    """A StorageV2 account for model weights, reachable only through its blob private endpoint.

    - ``publicNetworkAccess: Disabled`` and the firewall's default action Deny; no shared keys
      (``allowSharedKeyAccess: false``: no account keys, no SAS), so every read is Entra ID with a
      data role (the GPU pool grants ``Storage Blob Data Reader`` on its model's container only);
      ``defaultToOAuthAuthentication`` so the portal does not fall back to keys either.
    - No anonymous blob access, TLS 1.2 minimum, HTTPS only.
    - Blob and container soft delete (``soft_delete_days``): a deleted or overwritten model can be
      restored while instances still need it.
    - Zone-redundant storage (ZRS) when ``zone_redundant``, else LRS.
    - Diagnostics: a storage account's logs are on its blob service (``.../blobServices/default``),
      the account itself has metrics only.
    """

    account_id: pulumi.Output[str]
    account_name: str
    host: str
    """``<account>.blob.core.windows.net``, known at plan time (the name is deterministic)."""
    container_ids: dict[str, pulumi.Output[str]]
    """Container name -> container id (the scope of the pool's read role)."""
    private_endpoint: network.PrivateEndpoint

    def __init__(
        self,
        name: str,
        placement: Placement,
        *,
        containers: Sequence[str],
        private_endpoint: PrivateEndpointSpec,
        zone_redundant: bool,
        soft_delete_days: int,
        lock: bool,
        diagnostic_settings: DiagnosticSettings | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the account ``name`` (globally unique: ``Naming.storage_account("weights")``).

        ``containers``: one private container per model. ``private_endpoint``: the endpoint subnet
        and DNS zone ids (needs the ``blob`` zone). ``soft_delete_days``: blob and container soft
        delete (1-365). ``lock``: a CanNotDelete lock plus Pulumi ``protect``.
        ``diagnostic_settings``: where blob logs and metrics go (default: none).
        """
        super().__init__("ai-serving:weights_storage:WeightsStorage", name, None, opts)
        account = storage.StorageAccount(
            name,
            account_name=name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_ZRS if zone_redundant else storage.SkuName.STANDARD_LRS),
            access_tier=storage.AccessTier.HOT,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            # Local users (SFTP, and SMB keys of their own) sign in with passwords or SSH keys, not Entra ID:
            # off, whatever the API version's default (ST-04).
            is_local_user_enabled=False,
            is_sftp_enabled=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            public_network_access=storage.PublicNetworkAccess.DISABLED,
            network_rule_set=storage.NetworkRuleSetArgs(default_action=storage.DefaultAction.DENY,
                                                        bypass=storage.Bypass.NONE),
            tags=dict(placement.tags),
            opts=protect_opts(lock, parent=self),
        )
        if lock:
            delete_lock(name, account.id, parent=self)
        service = storage.BlobServiceProperties(
            f"{name}-blob",
            account_name=account.name,
            resource_group_name=placement.resource_group_name,
            blob_services_name="default",
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=soft_delete_days),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=soft_delete_days),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.container_ids = {}
        for container in containers:
            blob_container = storage.BlobContainer(
                f"{name}-{container}",
                account_name=account.name,
                resource_group_name=placement.resource_group_name,
                container_name=container,
                public_access=storage.PublicAccess.NONE,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[service]),
            )
            # The scope spelled out from the account id (ARM's nested form), carrying the container's
            # dependency: the role assignment must wait for the container to exist.
            self.container_ids[container] = pulumi.Output.all(account.id, blob_container.id).apply(
                lambda ids, c=container: container_scope(ids[0], c))
        self.private_endpoint, _ = add_private_endpoint(
            name, account.id, [PRIVATE_LINK_GROUP], [DNS_ZONE_KEY], private_endpoint, placement, parent=self
        )
        if diagnostic_settings is not None:
            diagnostics(f"{name}-account", account.id, dataclasses.replace(
                diagnostic_settings, log_category_groups=(), log_categories=(), metrics=True), parent=self)
            diagnostics(f"{name}-blob", pulumi.Output.concat(account.id, "/blobServices/default"),
                        diagnostic_settings, parent=self)

        self.account_id = account.id
        self.account_name = name
        self.host = blob_host(name)
        self.register_outputs({"accountId": self.account_id, "containerIds": self.container_ids})

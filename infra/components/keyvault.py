"""The team's Key Vault: RBAC only, private only, purge-protected, audited."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date

import pulumi
import pulumi_azure_native.keyvault as keyvault
import pulumi_azure_native.network as network

from .diagnostics import diagnostics
from .interfaces import DiagnosticSettings, Placement, PrivateEndpointSpec, RoleAssignmentSpec
from .locks import delete_lock, protect_opts
from .private_endpoint import private_endpoint as add_private_endpoint
from .roles import assign_roles

PRIVATE_LINK_GROUP = "vault"
DNS_ZONE_KEY = "keyvault"
VAULT_DNS_SUFFIX = "vault.azure.net"
"""A public-cloud vault's host is ``<name>.vault.azure.net`` (Key Vault REST reference: vaultBaseUrl; the program
is public-cloud only, as its private DNS zones are: components/dns.py)."""


def vault_uri(name: str) -> str:
    """The data-plane URI Azure gives vault ``name`` (its ``properties.vaultUri``), known before it exists."""
    return f"https://{name}.{VAULT_DNS_SUFFIX}/"


def epoch_seconds(day: date) -> int:
    """Midnight UTC at the start of ``day``, in seconds since 1970 (Key Vault's ``exp``)."""
    return calendar.timegm(day.timetuple())


def vault_secret(
    resource_name: str,
    *,
    secret_name: str,
    value: pulumi.Input[str],
    content_type: str,
    expires: date,
    vault_name: pulumi.Input[str],
    placement: Placement,
    opts: pulumi.ResourceOptions,
) -> keyvault.Secret:
    """A secret in the team vault, always with a content type and an expiry (policies KV-05, KV-06)."""
    return keyvault.Secret(
        resource_name,
        secret_name=secret_name,
        vault_name=vault_name,
        resource_group_name=placement.resource_group_name,
        properties=keyvault.SecretPropertiesArgs(
            value=value,
            content_type=content_type,
            attributes=keyvault.SecretAttributesArgs(enabled=True, expires=epoch_seconds(expires)),
        ),
        tags=dict(placement.tags),
        opts=opts,
    )


class TeamKeyVault(pulumi.ComponentResource):
    """A Key Vault reachable only through its private endpoint.

    - Access by Azure RBAC (no access policies); grant with ``role_assignments`` (built-in role names).
    - Purge protection on: it is always sent as ``true``. Azure rejects ``false`` (Azure/bicep 5223)
      and it can never be turned off again. Soft delete keeps deleted vaults and secrets for
      ``soft_delete_retention_days``.
    - Public network access disabled and the firewall's default action Deny; trusted Azure
      services (e.g. a Cognitive Services account fetching its encryption key) may bypass it.
    - Audit logs to the workspace when ``diagnostic_settings`` is given.
    A deleted vault keeps its globally unique name until it is purged, which purge protection
    forbids until the retention ends: re-creating a stack after deleting it needs
    ``az keyvault recover --name <vault>`` (the names are deterministic, see ``naming.py``).
    """

    vault_id: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    uri: str
    """The same URI built from the name: what the boot document and the account's FQDN allow-list embed, so
    that a new stack's first preview knows them and every policy reading them can run (found by review)."""
    private_endpoint: network.PrivateEndpoint

    def __init__(
        self,
        name: str,
        placement: Placement,
        *,
        private_endpoint: PrivateEndpointSpec,
        sku: str,
        soft_delete_retention_days: int,
        lock: bool,
        diagnostic_settings: DiagnosticSettings | None = None,
        role_assignments: Sequence[RoleAssignmentSpec] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the vault ``name`` (globally unique, from ``Naming.key_vault``).

        ``private_endpoint``: the endpoint subnet and DNS zone ids (needs the ``keyvault`` zone).
        ``sku``: ``standard`` or ``premium`` (HSM-backed keys). ``soft_delete_retention_days``: 7-90,
        fixed once the vault exists (Azure rejects a change). ``lock``: a CanNotDelete lock plus
        Pulumi ``protect``. The environment maps these three from its profile.
        ``diagnostic_settings``: where audit logs go (default: no diagnostic setting; pass the
        workspace's settings with ``log_category_groups=("audit",)``). ``role_assignments``: data-plane
        roles on the vault (default: none).
        """
        super().__init__("ai-serving:keyvault:TeamKeyVault", name, None, opts)
        locked = lock
        vault = keyvault.Vault(
            name,
            vault_name=name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=placement.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=sku),
                enable_rbac_authorization=True,
                enable_purge_protection=True,  # never False: Azure rejects it
                enable_soft_delete=True,
                soft_delete_retention_in_days=soft_delete_retention_days,
                public_network_access=keyvault.PublicNetworkAccess.DISABLED,
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action=keyvault.NetworkRuleAction.DENY,
                    bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                ),
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
            ),
            tags=dict(placement.tags),
            opts=protect_opts(locked, parent=self),
        )
        if locked:
            delete_lock(name, vault.id, parent=self)
        self.private_endpoint, _ = add_private_endpoint(
            name, vault.id, [PRIVATE_LINK_GROUP], [DNS_ZONE_KEY], private_endpoint, placement, parent=self
        )
        if diagnostic_settings is not None:
            diagnostics(name, vault.id, diagnostic_settings, parent=self)
        assign_roles(name, vault.id, role_assignments, subscription_id=placement.subscription_id, parent=self)

        self.vault_id = vault.id
        self.vault_name = vault.name
        self.vault_uri = vault.properties.apply(lambda p: p.vault_uri)
        self.uri = vault_uri(name)
        self.register_outputs(
            {"vaultId": self.vault_id, "vaultName": self.vault_name, "vaultUri": self.vault_uri}
        )

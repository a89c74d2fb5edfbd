"""Azure OpenAI (or AI Services) account: private, Entra-ID only, with filters and serialized deployments."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlparse

import pulumi
import pulumi_azure_native.cognitiveservices as cs
import pulumi_azure_native.keyvault as keyvault
import pulumi_azure_native.managedidentity as managedidentity

from .. import catalogues
from ..config.model import OpenAIConfig
from .diagnostics import diagnostics
from .interfaces import Foundation, Placement, RoleAssignmentSpec
from .keyvault import vault_secret
from .locks import delete_lock, protect_opts
from .private_endpoint import private_endpoint
from .roles import assign_roles

ZONE_KEYS: dict[str, tuple[str, ...]] = {
    # Gotcha 6: some built-in policies register a kind=OpenAI endpoint in the cognitiveservices
    # zone instead of the openai one; linking both resolves the name whichever zone holds it.
    "OpenAI": ("openai", "cognitiveservices"),
    "AIServices": ("cognitiveservices", "openai", "aiservices"),
}
"""Private DNS zones (keys of PrivateEndpointSpec.dns_zone_ids) the endpoint registers in, per kind."""

LOG_CATEGORIES = ("Audit", "RequestResponse", "AzureOpenAIRequestUsage")
"""Audit, per-request and token-usage logs. Trace is left out: verbose, and not needed to operate."""

HARM_CATEGORIES = tuple(catalogues.harm_categories())
"""Hate, Sexual, Violence, Selfharm: the API's own spelling (see content_filters.yaml), so the
service's answer equals what we send and previews stay empty."""
CONSUMER_ROLE = "Cognitive Services OpenAI User"
CMK_ROLE = "Key Vault Crypto Service Encryption User"
"""Read key metadata + wrap/unwrap only: the least a CMK identity needs (Crypto User may also
encrypt, decrypt and sign, which encryption at rest never uses)."""
ENDPOINT_SECRET_NAME = "openai-endpoint"
"""Applications read the endpoint URL from the team vault under this name (no keys exist)."""


def zone_keys(kind: str) -> tuple[str, ...]:
    """The DNS zone keys an account of ``kind`` needs; ValueError for an unknown kind."""
    if kind not in ZONE_KEYS:
        raise ValueError(f"unknown Cognitive Services kind {kind!r}; expected one of {', '.join(ZONE_KEYS)}")
    return ZONE_KEYS[kind]


def content_filters(profile: Mapping[str, Any]) -> list[cs.RaiPolicyContentFilterArgs]:
    """The RaiPolicy filters of one content-filter profile (see infra/catalogues/content_filters.yaml)."""
    threshold = cs.ContentLevel(profile["threshold"])
    filters = [
        cs.RaiPolicyContentFilterArgs(
            name=category, enabled=True, blocking=True, severity_threshold=threshold, source=source
        )
        for source in (cs.RaiPolicyContentSource.PROMPT, cs.RaiPolicyContentSource.COMPLETION)
        for category in HARM_CATEGORIES
    ]
    filters += [
        cs.RaiPolicyContentFilterArgs(name=n, enabled=True, blocking=True, source=cs.RaiPolicyContentSource.PROMPT)
        for n in profile.get("prompt_shields", [])
    ]
    filters += [
        cs.RaiPolicyContentFilterArgs(name=n, enabled=True, blocking=True, source=cs.RaiPolicyContentSource.COMPLETION)
        for n in profile.get("completion_filters", [])
    ]
    return filters


def _host(uri: str | None) -> str | None:
    return urlparse(uri).hostname if uri else None


def _last_segment(uri: str | None) -> str | None:
    """The version of a versioned key URI (``https://<vault>/keys/<name>/<version>``)."""
    return uri.rstrip("/").rsplit("/", 1)[-1] if uri else None


class OpenAIService(pulumi.ComponentResource):
    """An Azure OpenAI / AI Services account reachable only privately and only with Entra ID.

    Declares, as children: the account (S0, public access off, network ACL Deny, local auth off,
    outbound restricted to the team vault + ``config.allowed_fqdns``, managed identity), one
    ``RaiPolicy`` per content-filter profile the deployments use, the deployments (chained one
    after another), a private endpoint created after the last deployment, diagnostic settings,
    role assignments on the account, the endpoint URL as a team-vault secret, and in prod
    (``profile.protect_stateful``) a CanNotDelete lock plus ``protect``.

    With ``customer_managed_key`` the account is encrypted with an RSA-HSM key in the team vault
    that Key Vault rotates; the account pins the version current at deploy time (as the Azure
    Verified Module does), so after a rotation ``pulumi refresh`` + ``pulumi up`` moves it on.

    Args:
        name: Pulumi name of the component, and prefix of its children's Pulumi names.
        config: the stack's ``openai`` section.
        foundation: the shared foundation contract (placement, endpoint subnet and DNS zones,
            vault, workspace).
        customer_managed_key: encrypt with a team-vault key (``StackConfig.customer_managed_key``).
        role_assignments: extra grants on the account, e.g. Cognitive Services OpenAI User for
            consumers. Default: none.
    """

    endpoint: pulumi.Output[str]
    account_name: pulumi.Output[str]
    account_id: pulumi.Output[str]
    deployment_names: list[str]

    def __init__(
        self,
        name: str,
        config: OpenAIConfig,
        foundation: Foundation,
        *,
        customer_managed_key: bool = False,
        role_assignments: Sequence[RoleAssignmentSpec] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ai-serving:openai:OpenAIService", name, None, opts)
        placement = foundation.placement
        naming, profile = placement.naming, placement.profile
        lock = profile.protect_stateful
        account_name = naming.name("openai")

        identity = cs.IdentityArgs(type=cs.ResourceIdentityType.SYSTEM_ASSIGNED)
        encryption = None
        account_depends: list[pulumi.Resource] = []
        if customer_managed_key:
            key_name = naming.name("openai", "cmk")
            cmk_identity, key, key_grants = self._customer_managed_key(name, foundation, lock, key_name)
            identity = cs.IdentityArgs(
                type=cs.ResourceIdentityType.SYSTEM_ASSIGNED_USER_ASSIGNED,
                user_assigned_identities=[cmk_identity.id],
            )
            encryption = cs.EncryptionArgs(
                key_source=cs.KeySource.MICROSOFT_KEY_VAULT,
                key_vault_properties=cs.KeyVaultPropertiesArgs(
                    key_vault_uri=foundation.key_vault_uri,
                    # The name the key is created with, not its `name` output (known in a first preview, so CS-05
                    # judges it there); the account depends on the key below.
                    key_name=key_name,
                    key_version=key.key_uri_with_version.apply(_last_segment),
                    identity_client_id=cmk_identity.client_id,
                ),
            )
            # The account reads the key while it is being created: the grant must exist first.
            account_depends += [key, *key_grants]

        vault_host = pulumi.Output.from_input(foundation.key_vault_uri).apply(_host)
        allowed_fqdns = vault_host.apply(lambda h: list(dict.fromkeys([*([h] if h else []), *config.allowed_fqdns])))

        self.account = cs.Account(
            name,
            account_name=account_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            kind=config.kind,
            sku=cs.SkuArgs(name="S0"),
            identity=identity,
            properties=cs.AccountPropertiesArgs(
                custom_sub_domain_name=naming.custom_subdomain(),
                public_network_access=cs.PublicNetworkAccess.DISABLED,
                # Bypass None: every caller comes through the private endpoint; an AzureServices
                # exception would be a second, unreviewed way in for any "trusted" Azure service.
                network_acls=cs.NetworkRuleSetArgs(
                    default_action=cs.NetworkRuleAction.DENY, bypass=cs.ByPassSelection.NONE
                ),
                disable_local_auth=True,
                restrict_outbound_network_access=True,
                allowed_fqdn_list=allowed_fqdns,
                encryption=encryption,
            ),
            tags=dict(placement.tags),
            opts=protect_opts(lock, parent=self, depends_on=account_depends),
        )
        if lock:
            # Azure locks apply to child resources too: removing a deployment or filter in prod
            # fails with ScopeLocked until this lock is removed on purpose.
            delete_lock(account_name, self.account.id, parent=self)

        policies = self._content_filters(name, config, placement)
        deployments = self._deployments(name, config, placement, policies)

        # Gotcha 2: an account still provisioning (deployments in flight) rejects private endpoints.
        private_endpoint(
            account_name,
            self.account.id,
            ["account"],
            zone_keys(config.kind),
            foundation.private_endpoints,
            placement,
            parent=self,
            depends_on=[deployments[-1]],
        )
        diagnostics(
            account_name,
            self.account.id,
            dataclasses.replace(foundation.diagnostic_settings, log_category_groups=(), log_categories=LOG_CATEGORIES),
            parent=self,
        )
        assign_roles(
            account_name, self.account.id, role_assignments, subscription_id=placement.subscription_id, parent=self
        )

        self.endpoint = self.account.properties.apply(lambda p: p.endpoint)
        self._endpoint_secret(name, foundation, profile.openai_endpoint_secret_expires)

        self.account_name = self.account.name
        self.account_id = self.account.id
        self.deployment_names = [d.name for d in config.deployments]
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "accountName": self.account_name,
                "accountId": self.account_id,
                "deploymentNames": self.deployment_names,
            }
        )

    def _customer_managed_key(
        self, name: str, foundation: Foundation, lock: bool, key_name: str
    ) -> tuple[managedidentity.UserAssignedIdentity, keyvault.Key, list[pulumi.Resource]]:
        """A user-assigned identity that may use an RSA-HSM key in the team vault (RBAC vault).

        Supported design, checked against the sources (issue 12 found two revisions of Microsoft's page,
        both dated 2025-11-26, disagreeing): the newest revision available to the check,
        articles/ai-foundry/openai/encrypt-data-at-rest.md at MicrosoftDocs/azure-ai-docs commit
        8f2b68ee, grants "the system-assigned or user-assigned managed identity" and, for an Azure RBAC
        vault, the Key Vault Crypto Service Encryption User role; the Cognitive Services API carries
        the identity as ``encryption.keyVaultProperties.identityClientId`` (``identity_client_id`` in
        the installed SDK's ``KeyVaultPropertiesArgs``, generated from the REST spec). The same page
        requires soft delete + purge protection and, with the vault firewall on, the trusted-services
        bypass: the team vault has all three.

        Why a user-assigned identity: a system-assigned identity only exists once the account does,
        but Azure checks the key while creating the account; granting a system identity would need
        a second apply. The user-assigned identity and its grant exist before the account.
        """
        placement = foundation.placement
        cmk_identity = managedidentity.UserAssignedIdentity(
            f"{name}-cmk-identity",
            resource_name_=placement.naming.name("managed_identity", "oai-cmk"),
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            # Deleting it would lock the account out of its own data.
            opts=protect_opts(lock, parent=self),
        )
        key = keyvault.Key(
            f"{name}-cmk",
            key_name=key_name,
            vault_name=foundation.key_vault_name,
            resource_group_name=placement.resource_group_name,
            properties=keyvault.KeyPropertiesArgs(
                # HSM-backed (policy KV-07; needs a premium vault). Azure AI services CMK takes
                # RSA 2048 only, so the size is not raised.
                kty=keyvault.JsonWebKeyType.RS_A_HSM,
                key_size=2048,
                key_ops=[keyvault.JsonWebKeyOperation.WRAP_KEY, keyvault.JsonWebKeyOperation.UNWRAP_KEY],
                attributes=keyvault.KeyAttributesArgs(enabled=True),
                rotation_policy=keyvault.RotationPolicyArgs(
                    attributes=keyvault.KeyRotationPolicyAttributesArgs(
                        expiry_time=placement.profile.cmk_version_lifetime
                    ),
                    lifetime_actions=[
                        keyvault.LifetimeActionArgs(
                            action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE),
                            trigger=keyvault.TriggerArgs(time_after_create=placement.profile.cmk_rotate_after),
                        ),
                    ],
                ),
            ),
            tags=dict(placement.tags),
            opts=protect_opts(lock, parent=self),
        )
        grants = assign_roles(
            key_name,
            key.id,
            [RoleAssignmentSpec(CMK_ROLE, cmk_identity.principal_id, "ServicePrincipal", key="oai-cmk",
                                description="OpenAI account encryption at rest (customer-managed key)")],
            subscription_id=placement.subscription_id,
            parent=self,
        )
        return cmk_identity, key, list(grants)

    def _blocklists(
        self, name: str, profile_names: Sequence[str], placement: Placement
    ) -> tuple[dict[str, cs.RaiBlocklist], list[pulumi.Resource]]:
        """The custom blocklists the used profiles name, each followed by its items, all chained.

        Gotcha 1 applies to them too: a blocklist or item written while another operation runs on
        the account fails with 409 RequestConflict, so every one waits for the one before.
        Returns the blocklists by name and the last resource of the chain.
        """
        profiles = catalogues.content_filter_profiles()
        catalogue = catalogues.blocklists()
        used = dict.fromkeys(b for p in profile_names for b in profiles[p].get("blocklists", []))
        made: dict[str, cs.RaiBlocklist] = {}
        previous: list[pulumi.Resource] = []
        for list_name in used:
            spec = catalogue[list_name]
            blocklist = cs.RaiBlocklist(
                f"{name}-blocklist-{list_name}",
                rai_blocklist_name=list_name,
                account_name=self.account.name,
                resource_group_name=placement.resource_group_name,
                properties=cs.RaiBlocklistPropertiesArgs(description=spec.get("description")),
                tags=dict(placement.tags),
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            made[list_name] = blocklist
            previous = [blocklist]
            for item in spec["items"]:
                previous = [cs.RaiBlocklistItem(
                    f"{name}-blocklist-{list_name}-{item['name']}",
                    rai_blocklist_item_name=item["name"],
                    rai_blocklist_name=list_name,  # after the list: it is in depends_on
                    account_name=self.account.name,
                    resource_group_name=placement.resource_group_name,
                    properties=cs.RaiBlocklistItemPropertiesArgs(
                        pattern=item["pattern"], is_regex=bool(item.get("is_regex", False))
                    ),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
                )]
        return made, previous

    def _content_filters(self, name: str, config: OpenAIConfig, placement: Placement) -> dict[str, cs.RaiPolicy]:
        """One RaiPolicy per profile the deployments use, after the blocklists, all chained (one
        account operation at a time)."""
        catalogue = catalogues.content_filter_profiles()
        profile_names = list(dict.fromkeys(d.content_filter for d in config.deployments))
        _, previous = self._blocklists(name, profile_names, placement)
        policies: dict[str, cs.RaiPolicy] = {}
        for profile_name in profile_names:
            profile = catalogue[profile_name]
            policy = cs.RaiPolicy(
                f"{name}-rai-{profile_name}",
                rai_policy_name=placement.naming.name("content_filter", profile_name),
                account_name=self.account.name,
                resource_group_name=placement.resource_group_name,
                properties=cs.RaiPolicyPropertiesArgs(
                    base_policy_name=profile["base_policy"],
                    mode=cs.RaiPolicyMode(profile["mode"]),
                    content_filters=content_filters(profile),
                    custom_blocklists=[
                        # The name is known here; the policy already waits for the blocklist chain.
                        cs.CustomBlocklistConfigArgs(blocklist_name=b, blocking=True, source=source)
                        for b in profile.get("blocklists", [])
                        for source in (cs.RaiPolicyContentSource.PROMPT, cs.RaiPolicyContentSource.COMPLETION)
                    ] or None,
                ),
                tags=dict(placement.tags),
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            policies[profile_name] = policy
            previous = [policy]
        return policies

    def _deployments(
        self, name: str, config: OpenAIConfig, placement: Placement, policies: Mapping[str, cs.RaiPolicy]
    ) -> list[cs.Deployment]:
        """The model deployments, each after the previous one in config order.

        Gotcha 1: Azure rejects concurrent deployment operations on one account (409
        RequestConflict), so create, update and delete are serialized by the dependency chain.
        The first deployment waits for the last content filter for the same reason.
        """
        deployments: list[cs.Deployment] = []
        previous: pulumi.Resource = list(policies.values())[-1]
        for dep in config.deployments:
            policy = policies[dep.content_filter]
            deployment = cs.Deployment(
                f"{name}-{dep.name}",
                deployment_name=dep.name,
                account_name=self.account.name,
                resource_group_name=placement.resource_group_name,
                sku=cs.SkuArgs(name=dep.sku, capacity=dep.capacity),
                properties=cs.DeploymentPropertiesArgs(
                    model=cs.DeploymentModelArgs(format="OpenAI", name=dep.model, version=dep.version),
                    # The name the policy is created with, not its `name` output: known in a first preview, so DEP-02
                    # judges it there; `depends_on` below still orders the deployment after the policy.
                    rai_policy_name=placement.naming.name("content_filter", dep.content_filter),
                    version_upgrade_option=placement.profile.version_upgrade_option,
                    # Validated: a standard deployment of the same model listed (so created) earlier.
                    spillover_deployment_name=dep.spillover_deployment,
                ),
                tags=dict(placement.tags),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous, policy]),
            )
            deployments.append(deployment)
            previous = deployment
        return deployments

    def _endpoint_secret(self, name: str, foundation: Foundation, expires: date) -> keyvault.Secret:
        """The endpoint URL in the team vault, so applications find it with their identity alone."""
        return vault_secret(
            f"{name}-endpoint",
            secret_name=ENDPOINT_SECRET_NAME,
            value=self.endpoint,
            content_type="text/uri-list",
            expires=expires,
            vault_name=foundation.key_vault_name,
            placement=foundation.placement,
            opts=pulumi.ResourceOptions(parent=self),
        )

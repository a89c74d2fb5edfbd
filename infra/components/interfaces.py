"""The arguments every component shares, under the same names everywhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from ..config.profiles import EnvironmentProfile
from ..naming import Naming

PrincipalType = Literal["ServicePrincipal", "Group", "User"]


@dataclass(frozen=True)
class Placement:
    """Where and how a component declares its resources."""

    resource_group_name: pulumi.Input[str]
    resource_group_id: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    naming: Naming
    profile: EnvironmentProfile
    subscription_id: pulumi.Input[str]
    tenant_id: pulumi.Input[str]


@dataclass(frozen=True)
class RoleAssignmentSpec:
    """Grant a built-in role (by NAME, see roles.BUILTIN_ROLES) to a principal on the component's resource.

    ``key`` is a stable label for the principal (e.g. ``gpu-pool`` or a group object id); with the
    role and scope it makes the assignment's deterministic GUID name, which must be known even
    when ``principal_id`` is not (a managed identity not yet created).
    """

    role: str
    principal_id: pulumi.Input[str]
    principal_type: PrincipalType
    key: str
    description: str | None = None


@dataclass(frozen=True)
class DiagnosticSettings:
    """Send a resource's logs and metrics to a Log Analytics workspace."""

    workspace_id: pulumi.Input[str]
    log_category_groups: Sequence[str] = ("allLogs",)
    log_categories: Sequence[str] = ()
    metrics: bool = True


@dataclass(frozen=True)
class PrivateEndpointSpec:
    """Where a component's private endpoint goes and which DNS zones resolve it.

    ``dns_zone_ids`` maps a zone key (``openai``, ``cognitiveservices``, ``aiservices``,
    ``keyvault``, ``blob``) to the private DNS zone id; the component picks the keys it needs.
    """

    subnet_id: pulumi.Input[str]
    dns_zone_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Foundation:
    """What the stack's shared foundation (network, monitoring, vault) hands to service components.

    Service components (OpenAI, GPU pool) depend only on these fields, never on the foundation's
    components themselves: this is the contract between the two layers.
    """

    placement: Placement
    private_endpoints: PrivateEndpointSpec
    """The private-endpoint subnet and the DNS zone ids (created by the stack or central)."""
    gpu_subnet_id: pulumi.Input[str]
    gpu_subnet_cidr: str
    """The GPU subnet (the pool's NICs and load balancer frontend): the pool's constructor takes it here."""
    key_vault_id: pulumi.Input[str]
    key_vault_name: pulumi.Input[str]
    key_vault_uri: pulumi.Input[str]
    """Built from the vault's name (``TeamKeyVault.uri``): known in a first preview; depend on the vault (or
    its secrets and keys) explicitly where Azure must have created it first."""
    diagnostic_settings: DiagnosticSettings
    """Where every component sends its logs and metrics (the stack's workspace)."""


@dataclass(frozen=True)
class RegistrySource:
    """The private registry a GPU pool pulls its image from (the stack's own or a shared one)."""

    registry_id: pulumi.Input[str]
    """The scope of the pool identity's ``AcrPull``."""
    login_server: str
    """``<name>.azurecr.io``: where the instances log in and pull from."""


@dataclass(frozen=True)
class BlobSource:
    """The private blob container a GPU pool downloads its weights from at boot."""

    host: str
    """``<account>.blob.core.windows.net`` (resolved to the private endpoint inside the VNet)."""
    container: str
    path: str
    """The blob prefix holding the model's files."""
    scope: pulumi.Input[str]
    """The container's id: the pool identity's ``Storage Blob Data Reader`` is granted here only."""

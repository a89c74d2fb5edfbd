"""A private, self-healing, autoscaled pool of GPU VMs serving an open model (vLLM, OpenAI API)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import ipaddress
import math
import struct
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_azure_native.compute as compute
import pulumi_azure_native.managedidentity as managedidentity
import pulumi_azure_native.network as network
from pydantic import SecretStr

from .. import catalogues
from ..config.model import GpuPoolConfig
from ..sizing import max_context_tokens, os_disk_gb
from . import cloud_init
from .autoscale import pool_autoscale
from .diagnostics import diagnostics
from .interfaces import BlobSource, Foundation, RegistrySource, RoleAssignmentSpec
from .keyvault import vault_secret
from .roles import assign_roles

ADMIN_USERNAME = "azureuser"
"""Azure requires an admin user on Linux; it never has a password (password login is disabled)."""
IMAGE = compute.ImageReferenceArgs(
    publisher="Canonical",
    offer="0001-com-ubuntu-server-jammy",
    sku="22_04-lts-gen2",
    version="latest",
)
"""Ubuntu 22.04 LTS Gen2 + the NvidiaGpuDriverLinux extension, for every size. Chosen against two tables:

- automatic OS image upgrades (virtual-machine-scale-sets-automatic-upgrade.md, "Supported OS
  images") support ``0001-com-ubuntu-server-jammy`` / ``22_04-LTS-Gen2`` but, in that table, neither
  Ubuntu 24.04 on x64 (only ``server-arm64``) nor Azure's ``microsoft-dsvm:ubuntu-hpc`` image;
- the driver extension (hpccompute-gpu-linux.md, "Operating system") supports the GRID driver (NV
  A10) on Ubuntu 22.04 and 24.04, and lists its CUDA path (NC/ND) on Ubuntu 20.04 only, which is past
  its standard support. 22.04 is the one image in both tables for A10; for NC/ND it is the newest
  image automatic OS upgrades support, with the CUDA install on 22.04 outside the extension's table
  (the rehearsal cannot check that: it is the known residual risk, see the README).
``version: latest``: automatic OS upgrades follow it."""
DRIVER_EXTENSION = ("Microsoft.HpcCompute", "NvidiaGpuDriverLinux", "1.6")
GRID_DRIVER_VERSION = "535.161"
"""NV A10 sizes get the GRID driver, and the extension's latest (17.x) breaks CUDA on A10: its doc
(hpccompute-gpu-linux.md, Known issues 2 and 4) says to pass ``driverVersion: 535.161`` (GRID 16.5)."""
HEALTH_EXTENSION = ("Microsoft.ManagedServices", "ApplicationHealthLinux", "1.0")
"""Binary Health States (1.0): a 2xx is Healthy. vLLM's ``/health`` answers 200 with an *empty* body,
and its server listens only once the model is loaded (before, the probe's connection is refused:
Unhealthy, and repairs wait out the grace period). Version 2.0 (Rich Health States) would read the
empty body as Unknown, which counts as Unhealthy after the grace period, so repairs would replace
healthy VMs forever. 1.0 needs no extra component on the VM; the price is no "Initializing" state,
which the repair grace period covers (``gpu_repair_grace_period``)."""
SECURITY_TYPE = "Standard"
"""Pinned: without ``securityType`` Azure may default new scale sets to Trusted Launch with Secure
Boot, and then the NVIDIA driver (unsigned DKMS module) does not load (trusted-launch.md;
hpccompute-gpu-linux.md: "Secure Boot is not supported using Windows or Linux extensions")."""
HEALTH_PROBE_INTERVAL_SECONDS = 5
HEALTH_PROBE_THRESHOLD = 2
LB_IDLE_TIMEOUT_MINUTES = 30
"""Long generations can be silent for minutes (non-streaming): keep their TCP flows open."""
ZONES = ["1", "2", "3"]
_FRONTEND, _BACKEND, _PROBE, _RULE = "serving-frontend", "serving-backend", "serving-health", "serving"


def frontend_address(gpu_subnet_cidr: str) -> str:
    """The load balancer's static private IP: the subnet's last usable address.

    Deterministic, and as far as possible from the low addresses Azure hands to instance NICs.
    Azure reserves the subnet's last address (broadcast), so this is the one before it.
    """
    subnet = ipaddress.IPv4Network(gpu_subnet_cidr)
    return str(subnet.broadcast_address - 1)


# --- The SSH key Azure requires when the team configured none ---------------------------------

_P = 2**255 - 19
_D = (-121665 * pow(121666, -1, _P)) % _P


def _is_ed25519_point(encoded: bytes) -> bool:
    """Whether 32 bytes decode to a point of the Ed25519 curve (RFC 8032, 5.1.3)."""
    y = int.from_bytes(encoded, "little") & ((1 << 255) - 1)
    if y >= _P:
        return False
    x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
    return x2 == 0 or pow(x2, (_P - 1) // 2, _P) == 1


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def unusable_ssh_public_key(seed: str) -> str:
    """An Ed25519 public key that nobody holds the private key of.

    Azure rejects a Linux profile with password authentication disabled and no SSH key, so a pool
    without ``sshPublicKey`` still needs *a* key. This one is a curve point taken from a hash
    ("nothing up my sleeve"): finding its private key means solving a discrete logarithm. It is
    deterministic (no diff on every run), and the instances also mask the SSH daemon and the NSG
    has no SSH rule, so there is no SSH access at all.
    """
    counter = 0
    while True:
        candidate = hashlib.sha256(f"ai-serving/no-ssh/{seed}/{counter}".encode()).digest()
        if _is_ed25519_point(candidate):
            break
        counter += 1
    blob = _ssh_string(b"ssh-ed25519") + _ssh_string(candidate)
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} no-private-key-exists"


def driver_settings(sku: Mapping[str, Any]) -> dict[str, Any]:
    """NvidiaGpuDriverLinux settings for ``sku``: the A10's GRID driver pinned (see ``GRID_DRIVER_VERSION``)."""
    return {"driverVersion": GRID_DRIVER_VERSION} if sku["gpu"] == "A10" else {}


def small_pool_percent(percent: int, instances: int) -> int:
    """A rolling-upgrade "max unhealthy" percentage that one bad VM of a small pool cannot exceed.

    With 1-2 instances one unhealthy VM is 50-100 %, so a 20 % limit stops every rolling upgrade
    (and the automatic OS upgrades riding on it) at the first hiccup. The limit is raised to one
    instance's share. Upgrades are in place (no MaxSurge on a Flexible scale set with automatic OS
    upgrades), so a 1-instance pool is out of service while its VM is upgraded.
    """
    return max(percent, math.ceil(100 / max(1, instances)))


class GpuInferencePool(pulumi.ComponentResource):
    """GPU VMs in a Flexible scale set behind an internal Standard load balancer, serving one model.

    - **Image** (``IMAGE``, chosen against the automatic-OS-upgrade and driver-extension support
      tables): Ubuntu 22.04 LTS Gen2 + the ``NvidiaGpuDriverLinux`` extension, which installs the
      driver each family needs (CUDA for NC/ND, GRID for the NV A10 sizes, pinned there:
      ``GRID_DRIVER_VERSION``). The driver fails with Secure Boot / Trusted Launch (azure-facts
      gotcha 7), so the security profile pins ``securityType: Standard`` (``SECURITY_TYPE``), plus
      encryption at host.
    - **Patching**: automatic OS image upgrades, rolled out batch by batch behind the health
      extension, with rollback; the rolling limits are widened for 1-2 instance pools.
    - **Access**: no public IP anywhere; password authentication disabled; SSH only with the
      configured key (otherwise an unusable key, see ``unusable_ssh_public_key``, and the SSH
      daemon masked). The gpu subnet's NSG (foundation) admits the serving port from the VNet
      and the load-balancer probe, and SSH from the VNet only when a key is configured.
    - **Identity**: one user-assigned identity, ``Key Vault Secrets User`` on the team vault,
      ``AcrPull`` on the private registry (``registry``, or ``registry_id`` when set) and
      ``Storage Blob Data Reader`` on the model's blob container only (``weights``); the OpenAI
      component grants it OpenAI User.
      The model-hub token, when given, is stored as the vault secret ``model-hub-token`` and read
      at boot with that identity; custom data holds no secret (see ``cloud_init.py``).
    - **Health**: the ``ApplicationHealthLinux`` 1.0 extension probes ``http://localhost:<port>/health``
      and drives automatic repairs (after the profile's grace period, long enough for image pull
      and model load) and rolling upgrades (Flexible orchestration needs a health extension for
      them; Azure allows one health source, so the load balancer's own probe only routes traffic).
    - **Capacity**: the scale set starts at ``min_instances``; afterwards the autoscale setting owns
      the instance count, so ``sku.capacity`` is in ``ignore_changes`` (otherwise every deployment
      would reset a scaled-out pool to its minimum, under load). ``minInstances`` changes still
      apply, through the autoscale setting's minimum.
    - **Diagnostics**: boot diagnostics (managed storage) only. A scale set has no diagnostic-setting
      logs; guest metrics and logs (GPU use, container logs) need the Azure Monitor agent and a data
      collection rule, out of scope here. The load balancer has metrics but no logs, and its
      platform metrics (health-probe status, data path availability) stay in Azure Monitor without
      a diagnostic setting.
    - **Supply**: with ``registry`` the image is pulled from the private registry (imported there
      under the same repository and digest, ``cloud_init.image_in_registry``) after a Docker login
      by identity; with ``weights`` the boot downloads the model from the private container with a
      storage token and vLLM loads the local copy with the hub switched off (``HF_HUB_OFFLINE=1``).
    - **Outbound**: driver, OS and (without private supply) image and model downloads leave through
      the gpu subnet's NAT gateway (foundation); an internal load balancer gives its members none.
    """

    principal_id: pulumi.Output[str]
    """Object id of the pool's user-assigned identity (for role assignments elsewhere)."""
    client_id: pulumi.Output[str]
    identity_id: pulumi.Output[str]
    frontend_ip: pulumi.Output[str]
    """Static private IP of the internal load balancer."""
    serving_url: pulumi.Output[str]
    """OpenAI-compatible base URL, ``http://<frontend ip>:<port>/v1`` (inside the VNet only)."""
    scale_set_name: pulumi.Output[str]
    scale_set_id: pulumi.Output[str]
    load_balancer_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        pool: GpuPoolConfig,
        foundation: Foundation,
        *,
        model_hub_token: SecretStr | None = None,
        registry: RegistrySource | None = None,
        weights: BlobSource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the pool ``name`` (the scale set's name) in the foundation's gpu subnet.

        ``pool`` is the validated ``gpuPool`` config (its SKU is in the catalogue). ``model_hub_token``:
        stored in the team vault for the instances to read at boot (default: none, public models only).
        ``registry``: the private registry the image is pulled from, by the pool identity with
        ``AcrPull`` on it only (default: ``pool.registry_id`` for login only, else the image's own
        public registry). ``weights``: the private blob container the weights are downloaded from
        at boot, with ``Storage Blob Data Reader`` on that container only (default: the model hub).
        """
        super().__init__("ai-serving:gpu_pool:GpuInferencePool", name, None, opts)
        placement = foundation.placement
        naming, profile = placement.naming, placement.profile
        tags = dict(placement.tags)
        child = pulumi.ResourceOptions(parent=self)
        sku: Mapping[str, Any] = catalogues.gpu_skus()[pool.vm_sku]

        identity_name = naming.name("managed_identity", "gpu")
        identity = managedidentity.UserAssignedIdentity(
            identity_name,
            resource_name_=identity_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=tags,
            opts=child,
        )
        grants = assign_roles(
            identity_name,
            foundation.key_vault_id,
            [RoleAssignmentSpec("Key Vault Secrets User", identity.principal_id, "ServicePrincipal", key="gpu-pool",
                                description="GPU pool reads the model-hub token at boot")],
            subscription_id=placement.subscription_id,
            parent=self,
        )
        if registry is None and pool.registry_id:
            registry = RegistrySource(pool.registry_id, cloud_init.registry_login_server(pool.registry_id))
            image = pool.serving_image  # login only: the image names its registry itself
        else:
            image = cloud_init.image_in_registry(pool.serving_image, registry.login_server) if registry else (
                pool.serving_image)
        if registry is not None:
            grants += assign_roles(
                identity_name,
                registry.registry_id,
                [RoleAssignmentSpec("AcrPull", identity.principal_id, "ServicePrincipal", key="gpu-pool",
                                    description="GPU pool pulls its serving image")],
                subscription_id=placement.subscription_id,
                parent=self,
            )
        if weights is not None:
            # The container, not the account: the pool reads its own model and nothing else.
            grants += assign_roles(
                f"{identity_name}-weights",
                weights.scope,
                [RoleAssignmentSpec("Storage Blob Data Reader", identity.principal_id, "ServicePrincipal",
                                    key="gpu-pool", description="GPU pool downloads its model weights")],
                subscription_id=placement.subscription_id,
                parent=self,
            )

        secret_url: pulumi.Input[str | None] = None
        boot_dependencies: list[pulumi.Resource] = list(grants)
        if model_hub_token is not None:
            secret = vault_secret(
                f"{name}-{cloud_init.MODEL_HUB_SECRET_NAME}",
                secret_name=cloud_init.MODEL_HUB_SECRET_NAME,
                value=pulumi.Output.secret(model_hub_token.get_secret_value()),
                content_type="text/plain; model-hub access token",
                expires=profile.model_hub_token_expires,
                vault_name=foundation.key_vault_name,
                placement=placement,
                opts=child,
            )
            boot_dependencies.append(secret)
            secret_url = pulumi.Output.from_input(foundation.key_vault_uri).apply(cloud_init.secret_url)

        zonal = profile.zone_redundant and bool(sku["zones"])
        frontend_ip = frontend_address(foundation.gpu_subnet_cidr)
        lb, backend_pool_id = self._load_balancer(foundation, pool.port, frontend_ip, tags)

        # The identity by an id built from known names (not identity.client_id, which Azure assigns): the boot
        # document, and so every policy that reads it, is then known in a new stack's first preview.
        boot = pulumi.Output.all(
            subscription_id=placement.subscription_id,
            tenant_id=placement.tenant_id,
            secret_url=secret_url,
        ).apply(
            lambda v: cloud_init.custom_data(
                cloud_init.ServingBoot(
                    model=pool.model,
                    image=image,
                    port=pool.port,
                    tensor_parallel_size=sku["gpus"],
                    identity_resource_id=cloud_init.identity_resource_id(
                        v["subscription_id"], naming.name("resource_group"), identity_name),
                    tenant_id=v["tenant_id"],
                    max_model_len=self._max_model_len(pool, sku),
                    model_hub_secret_url=v["secret_url"],
                    registry_login_server=registry.login_server if registry else None,
                    weights=cloud_init.BlobWeights(weights.host, weights.container, weights.path) if weights else None,
                    ssh_enabled=pool.ssh_public_key is not None,
                )
            )
        )

        scale_set = compute.VirtualMachineScaleSet(
            name,
            vm_scale_set_name=name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            orchestration_mode=compute.OrchestrationMode.FLEXIBLE,
            platform_fault_domain_count=1,  # Flexible + zones: Azure spreads over zones, not fault domains
            sku=compute.SkuArgs(name=pool.vm_sku, tier="Standard", capacity=pool.min_instances),
            zones=ZONES if zonal else None,
            zone_balance=True if zonal else None,
            identity=compute.VirtualMachineScaleSetIdentityArgs(
                type=compute.ResourceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[identity.id],
            ),
            automatic_repairs_policy=compute.AutomaticRepairsPolicyArgs(
                enabled=True,
                grace_period=profile.gpu_repair_grace_period,
                repair_action=compute.RepairAction.REPLACE,
            ),
            upgrade_policy=compute.UpgradePolicyArgs(
                mode=compute.UpgradeMode.ROLLING,
                rolling_upgrade_policy=compute.RollingUpgradePolicyArgs(
                    max_batch_instance_percent=profile.rolling_max_batch_percent,
                    max_unhealthy_instance_percent=small_pool_percent(
                        profile.rolling_max_unhealthy_percent, pool.min_instances),
                    max_unhealthy_upgraded_instance_percent=small_pool_percent(
                        profile.rolling_max_unhealthy_upgraded_percent, pool.min_instances),
                    # In place, not MaxSurge: "For Virtual Machine Scale Sets with Flexible Orchestration,
                    # enabling automatic OS image upgrades and MaxSurge together is not yet supported"
                    # (MicrosoftDocs/azure-compute-docs, virtual-machine-scale-sets-maxsurge.md,
                    # 2026-05-19), and the OS upgrades below are the pool's patching (VMSS-08 refuses
                    # the pair). So an upgrade takes one batch out of service at a time; a surge would
                    # also have needed spare GPU quota, which Azure checks before each batch.
                    max_surge=False,
                    prioritize_unhealthy_instances=True,
                    # A new GPU instance is healthy only after driver install + reboot + image pull +
                    # weight download + load: give each batch that long before the next one starts.
                    pause_time_between_batches=profile.gpu_repair_grace_period,
                ),
                # OS patching (Checkov CKV_AZURE_95): Azure rolls each new image version of the
                # "latest" Ubuntu image out in batches, gated by the health extension. Safe because
                # health, automatic repairs and the rolling policy above exist; a new OS disk reruns
                # the extensions and custom data (and downloads the weights again).
                automatic_os_upgrade_policy=compute.AutomaticOSUpgradePolicyArgs(
                    enable_automatic_os_upgrade=True,
                    # Rollback off on purpose: the upgrade restores the old OS disk of an instance that
                    # is not healthy 5 minutes after its upgrade (automatic-upgrade doc, "Upgrading
                    # virtual machines in a scale set"), and a GPU instance needs far longer to serve
                    # again, so every upgrade would be undone. A batch that stays unhealthy stops the
                    # rollout (max unhealthy upgraded %) and automatic repairs replace its instances.
                    disable_automatic_rollback=True,
                    use_rolling_upgrade_policy=True,
                ),
            ),
            virtual_machine_profile=self._vm_profile(pool, foundation, boot, backend_pool_id),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=boot_dependencies,  # the identity can read the vault on first boot
                ignore_changes=["sku.capacity"],  # the autoscale setting owns it (see class docstring)
            ),
        )

        pool_autoscale(
            naming.name("autoscale", "gpu"),
            scale_set.id,
            placement,
            sku=sku,
            minimum=pool.min_instances,
            maximum=pool.max_instances,
            default=pool.min_instances,
            parent=self,
        )

        self.principal_id = identity.principal_id
        self.client_id = identity.client_id
        self.identity_id = identity.id
        self.frontend_ip = pulumi.Output.from_input(frontend_ip)
        self.serving_url = pulumi.Output.from_input(f"http://{frontend_ip}:{pool.port}/v1")
        self.scale_set_name = scale_set.name
        self.scale_set_id = scale_set.id
        self.load_balancer_id = lb.id
        self.register_outputs({
            "principalId": self.principal_id,
            "frontendIp": self.frontend_ip,
            "servingUrl": self.serving_url,
            "scaleSetName": self.scale_set_name,
        })

    @staticmethod
    def _max_model_len(pool: GpuPoolConfig, sku: Mapping[str, Any]) -> int | None:
        """``--max-model-len`` for a catalogued model (None: vLLM uses the model's own maximum)."""
        known = catalogues.open_models().get(pool.model)
        return max_context_tokens(known, sku) if known is not None else None

    def _load_balancer(
        self, foundation: Foundation, port: int, frontend_ip: str, tags: dict[str, str]
    ) -> tuple[network.LoadBalancer, pulumi.Output[str]]:
        """The internal Standard load balancer; returns it and its backend pool's id."""
        placement = foundation.placement
        lb_name = placement.naming.name("load_balancer_internal", "gpu")
        # Sub-resources of one load balancer reference each other by id, before it exists.
        lb_id = pulumi.Output.concat(
            "/subscriptions/", placement.subscription_id, "/resourceGroups/", placement.resource_group_name,
            "/providers/Microsoft.Network/loadBalancers/", lb_name,
        )
        lb = network.LoadBalancer(
            lb_name,
            load_balancer_name=lb_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            sku=network.LoadBalancerSkuArgs(name=network.LoadBalancerSkuName.STANDARD,
                                            tier=network.LoadBalancerSkuTier.REGIONAL),
            frontend_ip_configurations=[network.FrontendIPConfigurationArgs(
                name=_FRONTEND,
                # A plain reference: SubnetArgs would inject its subnet-policy defaults into it.
                subnet={"id": foundation.gpu_subnet_id},  # type: ignore[arg-type]
                private_ip_address=frontend_ip,
                private_ip_allocation_method=network.IPAllocationMethod.STATIC,
                private_ip_address_version=network.IPVersion.I_PV4,
                zones=ZONES if placement.profile.zone_redundant else None,
            )],
            backend_address_pools=[network.BackendAddressPoolArgs(name=_BACKEND)],
            probes=[network.ProbeArgs(
                name=_PROBE,
                protocol=network.ProbeProtocol.HTTP,
                port=port,
                request_path=cloud_init.SERVING_HEALTH_PATH,
                interval_in_seconds=HEALTH_PROBE_INTERVAL_SECONDS,
                probe_threshold=HEALTH_PROBE_THRESHOLD,
            )],
            load_balancing_rules=[network.LoadBalancingRuleArgs(
                name=_RULE,
                protocol=network.TransportProtocol.TCP,
                frontend_port=port,
                backend_port=port,
                frontend_ip_configuration=network.SubResourceArgs(
                    id=pulumi.Output.concat(lb_id, "/frontendIPConfigurations/", _FRONTEND)),
                backend_address_pool=network.SubResourceArgs(
                    id=pulumi.Output.concat(lb_id, "/backendAddressPools/", _BACKEND)),
                probe=network.SubResourceArgs(id=pulumi.Output.concat(lb_id, "/probes/", _PROBE)),
                idle_timeout_in_minutes=LB_IDLE_TIMEOUT_MINUTES,
                enable_tcp_reset=True,
                enable_floating_ip=False,
                disable_outbound_snat=True,  # egress goes through the subnet's NAT gateway
                load_distribution=network.LoadDistribution.DEFAULT,
            )],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # From lb.id (not lb_id): the scale set must wait for the load balancer to exist.
        # Its health events (frontend and backend availability, probe failures: LoadBalancerHealthEvent,
        # the type's one log category on Azure Monitor's supported-logs page for
        # Microsoft.Network/loadBalancers) go to the workspace; its metrics stay in Azure Monitor metrics.
        diagnostics(lb_name, lb.id, dataclasses.replace(
            foundation.diagnostic_settings, log_category_groups=(), log_categories=("LoadBalancerHealthEvent",),
            metrics=False), parent=self)
        return lb, pulumi.Output.concat(lb.id, "/backendAddressPools/", _BACKEND)

    @staticmethod
    def _vm_profile(
        pool: GpuPoolConfig, foundation: Foundation, custom_data: pulumi.Input[str],
        backend_pool_id: pulumi.Input[str],
    ) -> compute.VirtualMachineScaleSetVMProfileArgs:
        placement = foundation.placement
        profile = placement.profile
        sku = catalogues.gpu_skus()[pool.vm_sku]
        ssh_key = pool.ssh_public_key or unusable_ssh_public_key(placement.naming.identity)
        driver_publisher, driver_type, driver_version = DRIVER_EXTENSION
        health_publisher, health_type, health_version = HEALTH_EXTENSION
        spot = pool.spot
        return compute.VirtualMachineScaleSetVMProfileArgs(
            os_profile=compute.VirtualMachineScaleSetOSProfileArgs(
                computer_name_prefix=placement.naming.computer_name_prefix(),
                admin_username=ADMIN_USERNAME,
                custom_data=custom_data,
                linux_configuration=compute.LinuxConfigurationArgs(
                    disable_password_authentication=True,
                    provision_vm_agent=True,  # extensions (driver, health) need the agent
                    ssh=compute.SshConfigurationArgs(public_keys=[compute.SshPublicKeyArgs(
                        path=f"/home/{ADMIN_USERNAME}/.ssh/authorized_keys",
                        key_data=ssh_key,
                    )]),
                ),
            ),
            storage_profile=compute.VirtualMachineScaleSetStorageProfileArgs(
                image_reference=IMAGE,
                os_disk=compute.VirtualMachineScaleSetOSDiskArgs(
                    create_option=compute.DiskCreateOptionTypes.FROM_IMAGE,
                    caching=compute.CachingTypes.READ_WRITE,
                    disk_size_gb=os_disk_gb(catalogues.open_models().get(pool.model), profile.gpu_os_disk_size_gb),
                    os_type=compute.OperatingSystemTypes.LINUX,
                    delete_option=compute.DiskDeleteOptionTypes.DELETE,
                    managed_disk=compute.VirtualMachineScaleSetManagedDiskParametersArgs(
                        storage_account_type=compute.StorageAccountTypes.PREMIUM_LRS,
                    ),
                ),
            ),
            network_profile=compute.VirtualMachineScaleSetNetworkProfileArgs(
                network_api_version=compute.NetworkApiVersion.NETWORK_API_VERSION_2020_11_01,  # Flexible needs it
                network_interface_configurations=[compute.VirtualMachineScaleSetNetworkConfigurationArgs(
                    name="nic-serving",
                    primary=True,
                    enable_accelerated_networking=True,  # every catalogued GPU size supports it
                    delete_option=compute.DeleteOptions.DELETE,
                    ip_configurations=[compute.VirtualMachineScaleSetIPConfigurationArgs(
                        name="ipconfig-serving",
                        primary=True,
                        subnet=compute.ApiEntityReferenceArgs(id=foundation.gpu_subnet_id),
                        load_balancer_backend_address_pools=[compute.SubResourceArgs(id=backend_pool_id)],
                        # No public_ip_address_configuration: instances are private only.
                    )],
                )],
            ),
            # securityType pinned to Standard: Trusted Launch / Secure Boot stop the NVIDIA driver loading.
            security_profile=compute.SecurityProfileArgs(encryption_at_host=True, security_type=SECURITY_TYPE),
            diagnostics_profile=compute.DiagnosticsProfileArgs(
                boot_diagnostics=compute.BootDiagnosticsArgs(enabled=True),  # managed storage account
            ),
            extension_profile=compute.VirtualMachineScaleSetExtensionProfileArgs(extensions=[
                compute.VirtualMachineScaleSetExtensionArgs(
                    name=driver_type,
                    publisher=driver_publisher,
                    type=driver_type,
                    type_handler_version=driver_version,
                    auto_upgrade_minor_version=True,
                    settings=driver_settings(sku),
                ),
                compute.VirtualMachineScaleSetExtensionArgs(
                    name=health_type,
                    publisher=health_publisher,
                    type=health_type,
                    type_handler_version=health_version,
                    auto_upgrade_minor_version=True,
                    settings={
                        "protocol": "http",
                        "port": pool.port,
                        "requestPath": cloud_init.SERVING_HEALTH_PATH,
                        "intervalInSeconds": HEALTH_PROBE_INTERVAL_SECONDS,
                        "numberOfProbes": HEALTH_PROBE_THRESHOLD,
                        # No gracePeriod: a Rich Health (2.0) setting that 1.0's schema does not have.
                        # The automatic repairs policy's grace period covers image pull + model load.
                    },
                ),
            ]),
            priority=compute.VirtualMachinePriorityTypes.SPOT if spot else compute.VirtualMachinePriorityTypes.REGULAR,
            eviction_policy=compute.VirtualMachineEvictionPolicyTypes.DELETE if spot else None,
            billing_profile=compute.BillingProfileArgs(max_price=profile.spot_max_price) if spot else None,
        )

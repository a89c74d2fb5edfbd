"""Private DNS zones for the stack's private endpoints: created and linked, or central ones reused."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_azure_native.privatedns as privatedns

from .interfaces import Placement

PRIVATE_DNS_ZONES: dict[str, str] = {
    "openai": "privatelink.openai.azure.com",
    "cognitiveservices": "privatelink.cognitiveservices.azure.com",
    "aiservices": "privatelink.services.ai.azure.com",
    "keyvault": "privatelink.vaultcore.azure.net",
    "blob": "privatelink.blob.core.windows.net",
    "acr": "privatelink.azurecr.io",
}
"""Zone key (as in ``network.privateDnsZoneIds`` and ``PrivateEndpointSpec``) -> zone name (Azure's
"Azure Private Endpoint private DNS zone values": privatelink.azurecr.io holds a registry's login
server and its regional data endpoints)."""
ON_DEMAND_ZONES = ("acr",)
"""Zones a stack creates only when it has the service (a private registry)."""

ZONE_LOCATION = "global"
"""Private DNS zones and their links are global resources."""


class PrivateDnsZones(pulumi.ComponentResource):
    """One private DNS zone per key, each linked to the stack's VNet, unless a central zone is given.

    For a key in ``central_zone_ids`` nothing is created: the given zone id is used as is. Central
    zones live in the platform team's hub; the hub team links them to the networks that resolve
    through them (usually the hub, with spokes using the hub's DNS resolver), and grants the
    deploying identity ``Private DNS Zone Contributor`` on them so endpoint zone groups can
    register their records there.
    """

    zone_ids: dict[str, pulumi.Output[str]]
    """Zone key -> private DNS zone id (created here or central)."""

    def __init__(
        self,
        name: str,
        placement: Placement,
        *,
        virtual_network_id: pulumi.Input[str],
        central_zone_ids: Mapping[str, str] | None = None,
        zone_keys: Sequence[str] = tuple(PRIVATE_DNS_ZONES),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare the zones of ``zone_keys`` (default: every zone in ``PRIVATE_DNS_ZONES``).

        ``central_zone_ids``: zone key -> existing zone id to use instead of creating one
        (default: none, every zone is created and linked to ``virtual_network_id``).
        """
        super().__init__("ai-serving:dns:PrivateDnsZones", name, None, opts)
        central = dict(central_zone_ids or {})
        unknown = sorted(set(zone_keys) - set(PRIVATE_DNS_ZONES))
        if unknown:
            known = ", ".join(PRIVATE_DNS_ZONES)
            raise ValueError(f"unknown private DNS zone keys {unknown}; known: {known}")
        naming = placement.naming
        self.zone_ids = {}
        for key in zone_keys:
            if key in central:
                self.zone_ids[key] = pulumi.Output.from_input(central[key])
                continue
            zone = privatedns.PrivateZone(
                naming.name("private_dns_zone", key),
                private_zone_name=PRIVATE_DNS_ZONES[key],
                resource_group_name=placement.resource_group_name,
                location=ZONE_LOCATION,
                tags=dict(placement.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            link_name = naming.name("virtual_network_link", key)
            privatedns.VirtualNetworkLink(
                link_name,
                virtual_network_link_name=link_name,
                private_zone_name=zone.name,
                resource_group_name=placement.resource_group_name,
                location=ZONE_LOCATION,
                virtual_network=privatedns.SubResourceArgs(id=virtual_network_id),
                # Endpoint records come from zone groups; VMs must not auto-register here.
                registration_enabled=False,
                tags=dict(placement.tags),
                opts=pulumi.ResourceOptions(parent=zone),
            )
            self.zone_ids[key] = zone.id
        self.register_outputs({"zoneIds": self.zone_ids})

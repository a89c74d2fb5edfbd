"""The one private-endpoint helper every service uses: endpoint + DNS zone group."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_azure_native.network as network

from .interfaces import Placement, PrivateEndpointSpec


def private_endpoint(
    resource_name: str,
    target_id: pulumi.Input[str],
    group_ids: Sequence[str],
    zone_keys: Sequence[str],
    spec: PrivateEndpointSpec,
    placement: Placement,
    *,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> tuple[network.PrivateEndpoint, network.PrivateDnsZoneGroup]:
    """Private endpoint ``pep-<resource_name>`` for ``target_id`` in the endpoint subnet.

    Its DNS zone group registers the endpoint in every zone of ``zone_keys`` (looked up in
    ``spec.dns_zone_ids``). ``depends_on`` orders creation after other resources (an OpenAI account
    rejects private endpoints while its deployments are still provisioning).
    """
    missing = [k for k in zone_keys if k not in spec.dns_zone_ids]
    if missing:
        raise ValueError(f"no private DNS zone id for {missing} (have {sorted(spec.dns_zone_ids)})")
    name = f"pep-{resource_name}"
    endpoint = network.PrivateEndpoint(
        name,
        private_endpoint_name=name,
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        subnet=network.SubnetArgs(id=spec.subnet_id),
        custom_network_interface_name=f"nic-{name}",
        private_link_service_connections=[
            network.PrivateLinkServiceConnectionArgs(
                name=name,
                private_link_service_id=target_id,
                group_ids=list(group_ids),
            )
        ],
        tags=dict(placement.tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
    zone_group = network.PrivateDnsZoneGroup(
        f"{name}-dns",
        private_dns_zone_group_name="default",
        private_endpoint_name=endpoint.name,
        resource_group_name=placement.resource_group_name,
        private_dns_zone_configs=[
            network.PrivateDnsZoneConfigArgs(name=key, private_dns_zone_id=spec.dns_zone_ids[key])
            for key in zone_keys
        ],
        opts=pulumi.ResourceOptions(parent=endpoint),
    )
    return endpoint, zone_group

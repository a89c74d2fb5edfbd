"""Deterministic subnet layout carved from a stack's address space.

The layout depends only on the address space, never on what the stack declares, so adding a GPU
pool or a gateway later never moves (and so never replaces) an existing subnet:

    first half      -> gpu               (scale-set NICs and the internal load balancer frontend)
    third quarter   -> private-endpoints
    fourth quarter  -> gateway           (reserved for a future application gateway / API gateway)
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

AZURE_RESERVED_ADDRESSES_PER_SUBNET = 5
"""Azure keeps the first four and the last address of every subnet."""
LARGEST_ALLOWED_PREFIX = 24
"""A /24 is the smallest address space: it leaves a /26 (59 usable) for private endpoints."""
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

SUBNET_ROLES = ("gpu", "private-endpoints", "gateway")


@dataclass(frozen=True)
class SubnetLayout:
    """The CIDR of each subnet role."""

    gpu: ipaddress.IPv4Network
    private_endpoints: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Network

    def by_role(self) -> dict[str, ipaddress.IPv4Network]:
        """Role name (as in SUBNET_ROLES) -> CIDR."""
        return {"gpu": self.gpu, "private-endpoints": self.private_endpoints, "gateway": self.gateway}


def usable_addresses(subnet: ipaddress.IPv4Network) -> int:
    """Addresses Azure lets resources use in ``subnet``."""
    return subnet.num_addresses - AZURE_RESERVED_ADDRESSES_PER_SUBNET


def gpu_addresses_needed(max_instances: int, max_batch_percent: int) -> int:
    """NIC addresses the GPU subnet needs: every instance, one rolling batch spare, the LB frontend.

    The spare batch is headroom for MaxSurge (new VMs before old ones go), which the pool leaves off
    only because Azure does not yet support it with automatic OS upgrades on Flexible scale sets
    (``gpu_pool.py``): turning it on must not need a bigger subnet.
    """
    surge = math.ceil(max_instances * max_batch_percent / 100)
    return max_instances + surge + 1


def layout(address_space: ipaddress.IPv4Network) -> SubnetLayout:
    """Carve the fixed subnet layout out of ``address_space`` (prefix must be /24 or larger)."""
    if address_space.prefixlen > LARGEST_ALLOWED_PREFIX:
        raise ValueError(f"address space {address_space} is smaller than a /{LARGEST_ALLOWED_PREFIX}")
    gpu, upper = address_space.subnets(prefixlen_diff=1)
    private_endpoints, gateway = upper.subnets(prefixlen_diff=1)
    return SubnetLayout(gpu=gpu, private_endpoints=private_endpoints, gateway=gateway)

"""Azure OpenAI layer: the team's account, content filters and deployments (issue 4)."""

from __future__ import annotations

from typing import Any

import pulumi

from ..components.interfaces import Foundation, RoleAssignmentSpec
from ..components.openai import CONSUMER_ROLE, OpenAIService
from ..config import StackConfig


def build_openai(
    cfg: StackConfig, foundation: Foundation | None, *, gpu_pool: Any | None, parent: pulumi.Resource
) -> tuple[OpenAIService | None, dict[str, Any]]:
    """Declare the OpenAI service when the stack has an ``openai`` section.

    Consumers get Cognitive Services OpenAI User on the account: the GPU pool's identity when a
    pool exists (``gpu_pool.principal_id``), plus every ``openai.consumers`` entry. Returns the
    component and the stack exports ``openaiEndpoint``, ``openaiAccountName``, ``openaiAccountId``
    and ``openaiDeployments``; ``(None, {})`` without an ``openai`` section or foundation.
    """
    if cfg.openai is None or foundation is None:
        # No foundation means no private endpoint subnet or vault: never declare a half-secured account.
        return None, {}
    grants: list[RoleAssignmentSpec] = []
    if gpu_pool is not None:
        grants.append(RoleAssignmentSpec(CONSUMER_ROLE, gpu_pool.principal_id, "ServicePrincipal", key="gpu-pool",
                                         description="GPU inference pool identity"))
    grants += [
        RoleAssignmentSpec(CONSUMER_ROLE, c.principal_id, c.principal_type, key=c.principal_id,
                           description=c.description)
        for c in cfg.openai.consumers
    ]
    service = OpenAIService(
        foundation.placement.naming.name("openai"),
        cfg.openai,
        foundation,
        customer_managed_key=cfg.customer_managed_key,
        role_assignments=grants,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    exports = {
        "openaiEndpoint": service.endpoint,
        "openaiAccountName": service.account_name,
        "openaiAccountId": service.account_id,
        "openaiDeployments": service.deployment_names,
    }
    return service, exports

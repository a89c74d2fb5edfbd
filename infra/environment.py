"""The serving-environment pattern: composes the components a team's stack config asks for."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native.resources as resources

from .components.interfaces import Placement
from .config import StackConfig
from .naming import Naming, tags
from .patterns import build_foundation, build_gpu_pool, build_openai


class ServingEnvironment(pulumi.ComponentResource):
    """Everything one team stack declares: resource group, foundation, and the configured services.

    ``outputs`` holds the stack exports (resource group, network, vault, workspace, service endpoints).
    """

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        *,
        subscription_id: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ai-serving:environment:ServingEnvironment", name, None, opts)
        naming = Naming.for_stack(cfg)
        rg_name = naming.name("resource_group")
        self.resource_group = resources.ResourceGroup(
            rg_name,
            resource_group_name=rg_name,
            location=cfg.location,
            tags=tags(cfg),
            opts=pulumi.ResourceOptions(parent=self),
        )
        placement = Placement(
            resource_group_name=self.resource_group.name,
            resource_group_id=self.resource_group.id,
            location=cfg.location,
            tags=tags(cfg),
            naming=naming,
            profile=cfg.profile,
            subscription_id=subscription_id,
            tenant_id=tenant_id,
        )
        self.outputs: dict[str, Any] = {"resourceGroupName": self.resource_group.name}

        foundation, exports = build_foundation(cfg, placement, parent=self)
        self.outputs.update(exports)
        gpu_pool, exports = build_gpu_pool(cfg, foundation, parent=self)
        self.outputs.update(exports)
        _openai, exports = build_openai(cfg, foundation, gpu_pool=gpu_pool, parent=self)
        self.outputs.update(exports)

        self.register_outputs(self.outputs)

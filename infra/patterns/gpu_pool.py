"""GPU inference pool layer (issue 5): a scale set serving an open model behind an internal LB."""

from __future__ import annotations

from typing import Any

import pulumi

from ..components.gpu_pool import GpuInferencePool
from ..components.interfaces import Foundation
from ..config import StackConfig


def build_gpu_pool(
    cfg: StackConfig, foundation: Foundation | None, *, parent: pulumi.Resource
) -> tuple[GpuInferencePool | None, dict[str, Any]]:
    """Declare the GPU pool when the stack has a ``gpuPool`` section.

    Returns the component and the stack exports ``gpuFrontendIp``, ``gpuServingUrl``,
    ``gpuPrincipalId`` and ``gpuScaleSetName``; ``(None, {})`` without a ``gpuPool`` section or
    without a foundation (no subnet or vault: never declare a half-secured pool).
    """
    if cfg.gpu_pool is None or foundation is None:
        return None, {}
    pool = GpuInferencePool(
        foundation.placement.naming.name("vmss", "gpu"),
        cfg.gpu_pool,
        foundation,
        model_hub_token=cfg.model_hub_token,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    exports = {
        "gpuFrontendIp": pool.frontend_ip,
        "gpuServingUrl": pool.serving_url,
        "gpuPrincipalId": pool.principal_id,
        "gpuScaleSetName": pool.scale_set_name,
    }
    return pool, exports

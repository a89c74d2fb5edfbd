"""Whether an open model fits a GPU VM size, and the context a pool of it can serve.

One home for GPU sizing: the config checks (``config/checks.py``) turn ``fit_problems`` into
key-path errors, the GPU pool (``components/gpu_pool.py``) passes ``max_context_tokens`` to vLLM as
``--max-model-len``, and ``ai-serving new-team`` picks the largest catalogued model with no fit
problem. Models and sizes come from ``catalogues/open_models.yaml`` and ``catalogues/gpu_skus.yaml``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

GPU_MEMORY_UTILIZATION = 0.9
"""vLLM's default share of GPU memory it may use."""
KV_CACHE_HEADROOM = 1.2
"""Weights x 1.2 leaves room for activations and a minimal KV cache."""
KV_CACHE_BYTES_PER_VALUE = 2
"""vLLM's default KV cache dtype follows the model's (bf16/fp16): 2 bytes per cached value."""
MIN_CONTEXT_TOKENS = 4096
"""A pool must serve at least this many tokens per request (or the model's own maximum if smaller)."""
CONTEXT_STEP_TOKENS = 1024
"""The served context is rounded down to a multiple of this."""
DISK_RESERVE_GB = 100
"""OS disk room a pool VM needs besides one copy of the weights: Ubuntu (its image's disk is 30 GB),
the serving image (vllm/vllm-openai extracted was 28.6 GB in December 2025, vllm-project/vllm#22377,
and grows with each release), the GPU driver, Docker's layer downloads and the logs."""


def model_memory_needed_gb(parameters_b: float, bytes_per_parameter: float) -> float:
    """GPU memory (GB) a model needs to load and serve at least a short context."""
    return parameters_b * bytes_per_parameter * KV_CACHE_HEADROOM


def weights_gb(model: Mapping[str, Any]) -> float:
    """The size (GB) of catalogued ``model``'s weights on disk: parameters x bytes per parameter."""
    return model["parameters_b"] * model["bytes_per_parameter"]


def os_disk_gb(model: Mapping[str, Any] | None, minimum: int) -> int:
    """The OS disk (GB) of a pool VM serving ``model``: ``minimum``, or more when the weights need it.

    The weights land on the OS disk (the hub cache or the Blob download, one copy) next to
    ``DISK_RESERVE_GB``; a model too large for ``minimum`` would fill the disk mid-download and the
    start would fail forever. An uncatalogued model (``None``) gets ``minimum``.
    """
    if model is None:
        return minimum
    return max(minimum, math.ceil(weights_gb(model) + DISK_RESERVE_GB))


def usable_gpu_memory_gb(sku: Mapping[str, Any]) -> float:
    """GPU memory (GB) vLLM may use on one VM of ``sku`` (all its GPUs: tensor parallel)."""
    return sku["gpu_memory_gb"] * GPU_MEMORY_UTILIZATION


def kv_cache_bytes_per_token(model: Mapping[str, Any]) -> int:
    """Bytes of KV cache one token occupies: K and V for every layer and KV head."""
    return 2 * model["layers"] * model["kv_heads"] * model["head_dim"] * KV_CACHE_BYTES_PER_VALUE


def max_context_tokens(model: Mapping[str, Any], sku: Mapping[str, Any]) -> int:
    """The context (tokens) a pool of ``sku`` can serve for catalogued ``model``.

    vLLM refuses to start when one full-length sequence does not fit in the KV cache left next
    to the weights, so the pool passes ``--max-model-len`` = this value: the model's own
    maximum when it fits, otherwise what the memory left after ``model_memory_needed_gb``
    holds, rounded down to ``CONTEXT_STEP_TOKENS``. 0 when the weights alone do not fit.
    """
    spare_gb = usable_gpu_memory_gb(sku) - model_memory_needed_gb(model["parameters_b"], model["bytes_per_parameter"])
    if spare_gb <= 0:
        return 0
    fits = int(spare_gb * 1e9 // kv_cache_bytes_per_token(model))
    if fits >= model["default_context"]:
        return int(model["default_context"])
    return fits // CONTEXT_STEP_TOKENS * CONTEXT_STEP_TOKENS


def fit_problems(model_id: str, model: Mapping[str, Any], vm_sku: str, sku: Mapping[str, Any]) -> list[str]:
    """Why catalogued ``model`` cannot be served on ``sku`` (empty when it can).

    It must load (memory), leave room for a useful context (KV cache for ``MIN_CONTEXT_TOKENS``)
    and split evenly over the SKU's GPUs (vLLM's tensor parallel size is the GPU count and must
    divide the attention heads).
    """
    need = model_memory_needed_gb(model["parameters_b"], model["bytes_per_parameter"])
    have = usable_gpu_memory_gb(sku)
    gpus = f"{sku['gpus']} x {sku['gpu']} = {sku['gpu_memory_gb']} GB ({have:.0f} GB usable)"
    if need > have:
        return [f"{model_id} needs about {need:.0f} GB of GPU memory "
                f"({model['parameters_b']}B parameters x {model['bytes_per_parameter']} bytes "
                f"x {KV_CACHE_HEADROOM} headroom) but {vm_sku} has {gpus}; choose a larger vmSku"]
    problems = []
    context = max_context_tokens(model, sku)
    wanted = min(MIN_CONTEXT_TOKENS, model["default_context"])
    if context < wanted:
        per_token_kb = kv_cache_bytes_per_token(model) / 1024
        problems.append(f"{model_id} fits in {vm_sku} ({need:.0f} GB needed, {gpus}) but the memory left holds "
                        f"only {context} tokens of KV cache ({per_token_kb:.0f} KB per token) and at least "
                        f"{wanted} are needed; choose a larger vmSku")
    if model["attention_heads"] % sku["gpus"]:
        problems.append(f"{model_id} has {model['attention_heads']} attention heads, which cannot be split "
                        f"evenly over the {sku['gpus']} GPUs of {vm_sku} (tensor parallel size = GPU count); "
                        "choose a vmSku whose GPU count divides the head count")
    return problems

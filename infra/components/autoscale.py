"""Autoscale for the GPU pool: one ``monitor:AutoscaleSetting`` on its scale set.

The signal is the scale set's ``Percentage CPU``, scaled to what the serving stack can use.

Why CPU, and why scaled: the honest load signal for vLLM is its queue (``vllm:num_requests_waiting``
on ``/metrics``), but Azure Autoscale only reads Azure Monitor metrics, and a custom metric must
already exist when the autoscale setting is created (Azure validates it, so the first deployment
of a pool would fail before any instance has booted and emitted it) and needs an in-guest emitter
(Azure Monitor agent or a metrics publisher with ``Monitoring Metrics Publisher`` on the scale set),
which is out of scope here. ``Percentage CPU`` is a platform metric: it exists from the first
deployment and needs no agent.

GPU inference keeps only a few vCPUs busy, so "70 % of all vCPUs" would never be reached on a
24- or 96-vCPU GPU VM. vLLM's busy processes are the API server, the engine loop and one worker
per GPU (``SERVING_BUSY_VCPUS_BASE`` + GPU count); when they are all busy the VM shows about
``100 x (base + gpus) / vcpus`` percent CPU, the SKU's *serving CPU ceiling*. The profile's
``autoscale_scale_*_load_percent`` are percentages of that ceiling. It remains a proxy: busy
processes mean "serving", not "queueing", so the pool scales out a little early rather than late.

Scale-in is deliberately slower than scale-out: a longer window and cooldown (a new instance
spends minutes pulling the image and loading the model, so removing one is expensive to undo).
A pool at zero instances has no instance to measure and so would never scale out on its own, which is
why config validation refuses ``minInstances: 0`` (infra/config/checks.py, ``_zero_instances``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_azure_native.monitor as monitor

from .interfaces import Placement

METRIC_NAME = "Percentage CPU"
METRIC_NAMESPACE = "microsoft.compute/virtualmachinescalesets"
TIME_GRAIN = "PT1M"
SERVING_BUSY_VCPUS_BASE = 2
"""vLLM's API server and engine loop; each GPU adds one busy worker process."""
SCALE_STEP = 1
"""Instances added or removed per action: GPU quota is scarce and every instance is expensive."""


def serving_cpu_ceiling_percent(sku: Mapping[str, Any]) -> float:
    """Host CPU (percent of all vCPUs) when the serving stack on one VM of ``sku`` is fully busy."""
    return min(100.0, 100.0 * (SERVING_BUSY_VCPUS_BASE + sku["gpus"]) / sku["vcpus"])


def cpu_thresholds(
    sku: Mapping[str, Any], scale_out_load_percent: int, scale_in_load_percent: int
) -> tuple[float, float]:
    """(scale-out, scale-in) thresholds in ``Percentage CPU`` for ``sku``, rounded to 0.1."""
    if not 0 < scale_in_load_percent < scale_out_load_percent <= 100:
        raise ValueError(
            f"expected 0 < scale-in ({scale_in_load_percent}) < scale-out ({scale_out_load_percent}) <= 100"
        )
    ceiling = serving_cpu_ceiling_percent(sku)
    return round(ceiling * scale_out_load_percent / 100, 1), round(ceiling * scale_in_load_percent / 100, 1)


def _rule(target_id: pulumi.Input[str], *, operator: monitor.ComparisonOperationType, threshold: float,
          window: str, direction: monitor.ScaleDirection, cooldown: str) -> monitor.ScaleRuleArgs:
    return monitor.ScaleRuleArgs(
        metric_trigger=monitor.MetricTriggerArgs(
            metric_name=METRIC_NAME,
            metric_namespace=METRIC_NAMESPACE,
            metric_resource_uri=target_id,
            operator=operator,
            statistic=monitor.MetricStatisticType.AVERAGE,
            threshold=threshold,
            time_aggregation=monitor.TimeAggregationType.AVERAGE,
            time_grain=TIME_GRAIN,
            time_window=window,
        ),
        scale_action=monitor.ScaleActionArgs(
            direction=direction,
            type=monitor.ScaleType.CHANGE_COUNT,
            value=str(SCALE_STEP),
            cooldown=cooldown,
        ),
    )


def pool_autoscale(
    name: str,
    target_id: pulumi.Input[str],
    placement: Placement,
    *,
    sku: Mapping[str, Any],
    minimum: int,
    maximum: int,
    default: int,
    parent: pulumi.Resource,
) -> monitor.AutoscaleSetting:
    """An enabled autoscale setting ``name`` on scale set ``target_id``, bounds from the pool config.

    ``sku`` is the GPU catalogue entry (vCPUs, GPUs) the CPU thresholds are scaled to; windows and
    cooldowns come from the environment profile.
    """
    if not 0 <= minimum <= default <= maximum:
        raise ValueError(f"expected 0 <= minimum ({minimum}) <= default ({default}) <= maximum ({maximum})")
    profile = placement.profile
    scale_out, scale_in = cpu_thresholds(
        sku, profile.autoscale_scale_out_load_percent, profile.autoscale_scale_in_load_percent
    )
    return monitor.AutoscaleSetting(
        name,
        autoscale_setting_name=name,
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        target_resource_uri=target_id,
        enabled=True,
        profiles=[
            monitor.AutoscaleProfileArgs(
                name="serving-load",
                capacity=monitor.ScaleCapacityArgs(minimum=str(minimum), maximum=str(maximum), default=str(default)),
                rules=[
                    _rule(target_id, operator=monitor.ComparisonOperationType.GREATER_THAN, threshold=scale_out,
                          window=profile.autoscale_scale_out_window, direction=monitor.ScaleDirection.INCREASE,
                          cooldown=profile.autoscale_scale_out_cooldown),
                    _rule(target_id, operator=monitor.ComparisonOperationType.LESS_THAN, threshold=scale_in,
                          window=profile.autoscale_scale_in_window, direction=monitor.ScaleDirection.DECREASE,
                          cooldown=profile.autoscale_scale_in_cooldown),
                ],
            )
        ],
        tags=dict(placement.tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )

"""Environment profiles: every environment-dependent default, in exactly one place.

A stack names its environment (dev | test | prod); components read the matching profile and
never hard-code a value that could differ between environments. Values that are the same
everywhere are field defaults here, so they too live in one place.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Environment = Literal["dev", "test", "prod"]


class EnvironmentProfile(BaseModel):
    """Defaults for one environment. Field defaults apply to every environment."""

    model_config = ConfigDict(frozen=True)

    name: Environment
    # Monitoring
    log_retention_days: int
    # Resilience and protection
    zone_redundant: bool
    """GPU pool instances spread over availability zones 1-3 (where the SKU offers zones)."""
    protect_stateful: bool
    """Stateful resources (vault, account, workspace) get a CanNotDelete lock and Pulumi `protect`."""
    # Azure OpenAI
    version_upgrade_option: Literal["OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade"]
    customer_managed_key: bool
    """Encrypt the OpenAI account with a key from the team vault (opt-out per stack)."""
    # GPU pool
    spot_allowed: bool
    spot_max_price: float = -1.0
    """-1: pay up to the on-demand price, so instances are evicted only for capacity, never price."""
    gpu_os_disk_size_gb: int = 256
    """Room for the container image, the model weights cache and logs (a 70B model is ~140 GB)."""
    gpu_repair_grace_period: str = "PT45M"
    """Automatic repairs wait this long after boot: image pull + model download + load is slow."""
    rolling_max_batch_percent: int = 20
    rolling_max_unhealthy_percent: int = 20
    rolling_max_unhealthy_upgraded_percent: int = 20
    autoscale_scale_out_cpu_percent: int = 70
    autoscale_scale_in_cpu_percent: int = 25
    autoscale_scale_out_cooldown: str = "PT10M"
    autoscale_scale_in_cooldown: str = "PT30M"
    # Key Vault
    key_vault_soft_delete_days: int = 90
    # Budget alerts: percentages of the monthly amount
    budget_actual_thresholds: tuple[int, ...] = (80, 100)
    budget_forecast_thresholds: tuple[int, ...] = (100,)


PROFILES: dict[str, EnvironmentProfile] = {
    "dev": EnvironmentProfile(
        name="dev",
        log_retention_days=30,
        zone_redundant=False,
        protect_stateful=False,
        version_upgrade_option="OnceNewDefaultVersionAvailable",
        customer_managed_key=False,
        spot_allowed=True,
    ),
    "test": EnvironmentProfile(
        name="test",
        log_retention_days=30,
        zone_redundant=False,
        protect_stateful=False,
        version_upgrade_option="OnceCurrentVersionExpired",
        customer_managed_key=False,
        spot_allowed=True,
    ),
    "prod": EnvironmentProfile(
        name="prod",
        log_retention_days=90,
        zone_redundant=True,
        protect_stateful=True,
        version_upgrade_option="NoAutoUpgrade",
        customer_managed_key=True,
        spot_allowed=False,
    ),
}

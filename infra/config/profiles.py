"""Environment profiles: every environment-dependent default, in exactly one place.

A stack names its environment (dev | test | prod); components read the matching profile and
never hard-code a value that could differ between environments. Values that are the same
everywhere are field defaults here, so they too live in one place.
"""

from __future__ import annotations

from datetime import date
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
    cmk_rotate_after: str = "P180D"
    """Key Vault creates a new CMK version this long after each version is created (ISO 8601). This and
    ``cmk_version_lifetime`` apply when the key is created only (``Keys_CreateIfNotExist`` "does not update
    existing keys"): a deployed key's rotation policy changes on the data plane (README, customer-managed keys)."""
    cmk_version_lifetime: str = "P1Y"
    """Each rotated CMK version expires this long after creation: ~6 months to move the account on."""
    openai_endpoint_secret_expires: date = date(2030, 12, 31)
    """`expires` of the endpoint secret (policy KV-05). Fixed, never "now + n": plans stay stable.
    The URL is not sensitive and Key Vault still serves an expired secret; move the date on in time."""
    # GPU pool
    spot_allowed: bool
    spot_max_price: float = -1.0
    """-1: pay up to the on-demand price, so instances are evicted only for capacity, never price."""
    gpu_os_disk_size_gb: int = 256
    """The smallest OS disk of a pool VM: the image, the weights and logs of a model up to ~150 GB (a 70B
    model at 2 bytes is ~141 GB); a larger catalogued model gets its weights + ``sizing.DISK_RESERVE_GB``."""
    gpu_repair_grace_period: str = "PT45M"
    """Automatic repairs wait this long after boot: image pull + model download + load is slow."""
    rolling_max_batch_percent: int = 20
    rolling_max_unhealthy_percent: int = 20
    rolling_max_unhealthy_upgraded_percent: int = 20
    autoscale_scale_out_load_percent: int = 70
    """Scale out when the pool's CPU exceeds this share of what the serving stack can use (see
    infra/components/autoscale.py: a percentage of the SKU's serving CPU ceiling, not of all vCPUs)."""
    autoscale_scale_in_load_percent: int = 25
    autoscale_scale_out_window: str = "PT10M"
    """How long the load must stay high before scaling out."""
    autoscale_scale_in_window: str = "PT30M"
    """How long the load must stay low before scaling in: longer, since a new instance takes
    minutes to pull the image and load the model."""
    autoscale_scale_out_cooldown: str = "PT10M"
    autoscale_scale_in_cooldown: str = "PT30M"
    gpu_image_source: Literal["hub", "registry"] = "hub"
    """Where a pool pulls its serving image by default (``gpuPool.imageSource``)."""
    gpu_model_source: Literal["hub", "blob"] = "hub"
    """Where a pool gets its weights by default (``gpuPool.modelSource.kind``)."""
    gpu_private_egress: bool = False
    """The GPU subnet's NSG denies outbound traffic except what the driver extension and OS updates
    need (``EGRESS_ALLOWED``), whatever the pool's image and weights source."""
    weights_soft_delete_days: int = 7
    """Blob and container soft delete in the weights account: a deleted model can be restored."""
    model_hub_token_expires: date = date(2027, 12, 31)
    """`expires` of the model-hub token secret (policy KV-05). Fixed, never "now + n": plans stay
    stable. Rotate the token before then (`pulumi config set --secret modelHubToken`) and move it on."""
    # Key Vault
    key_vault_soft_delete_days: int = 90
    key_vault_sku: Literal["standard", "premium"] = "premium"
    """Premium: customer-managed keys must be HSM-backed (RSA-HSM); the vault itself costs the same."""
    # Budget alerts: percentages of the monthly amount
    budget_actual_thresholds: tuple[int, ...] = (80, 100)
    budget_forecast_thresholds: tuple[int, ...] = (100,)
    """Azure allows at most five notifications per budget (actual + forecast together)."""


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
        gpu_image_source="registry",
        gpu_model_source="blob",
        gpu_private_egress=True,
    ),
}

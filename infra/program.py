"""The Pulumi program: load and validate config -> build the team's environment -> export."""

from __future__ import annotations

import pulumi
import pulumi_azure_native.authorization as authorization

from .config import ConfigError, load_from_pulumi
from .config.errors import EXIT_CODE as CONFIG_ERROR_EXIT_CODE
from .environment import ServingEnvironment


def main() -> None:
    """Run the program for the current stack. Bad config: one clear error, exit 2, nothing declared."""
    try:
        cfg = load_from_pulumi()
    except ConfigError as exc:
        pulumi.log.error(str(exc))
        raise SystemExit(CONFIG_ERROR_EXIT_CODE) from None
    client = authorization.get_client_config()
    env = ServingEnvironment(cfg.stack_name, cfg, subscription_id=client.subscription_id, tenant_id=client.tenant_id)
    for key, value in env.outputs.items():
        pulumi.export(key, value)

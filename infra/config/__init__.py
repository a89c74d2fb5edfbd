"""Stack configuration: YAML -> one typed, validated ``StackConfig`` (see model.py)."""

from .errors import ConfigError, ConfigIssue
from .loader import load_from_pulumi, raw_from_config_map, validate
from .model import StackConfig
from .profiles import PROFILES, EnvironmentProfile

__all__ = [
    "PROFILES",
    "ConfigError",
    "ConfigIssue",
    "EnvironmentProfile",
    "StackConfig",
    "load_from_pulumi",
    "raw_from_config_map",
    "validate",
]

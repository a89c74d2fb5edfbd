"""Where a stack's private model supply lives: what `make import-image` / `make upload-weights` need.

``python -m ai_serving.supply STACK`` prints shell assignments (quoted) of the registry name, the
upstream image, the weights account, container and blob prefix and the model id, from the validated
stack config and the program's own naming (the same names the program declares). Exit 2 with the
config error for a bad stack, or when the stack has no private supply to fill.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from infra.config.errors import ConfigError
from infra.naming import Naming

from .engine.project import load_project
from .stacks import load_stack

ROOT = Path(__file__).resolve().parent.parent


def supply(stack: str, project_dir: Path = ROOT) -> dict[str, str]:
    """The private registry and weights container of ``stack`` (raises ``ConfigError`` / ``ValueError``)."""
    cfg = load_stack(load_project(project_dir), stack).config
    pool = cfg.gpu_pool
    if pool is None:
        raise ValueError(f"{stack} has no gpuPool: there is no model supply to fill")
    naming = Naming.for_stack(cfg)
    values = {"model": pool.model, "image": pool.serving_image}
    if cfg.gpu_image_source == "registry":
        values["registry"] = (pool.registry_id.rsplit("/", 1)[-1] if pool.registry_id
                              else naming.container_registry())
    source = cfg.gpu_model_source
    if source.kind == "blob":
        values["account"] = (source.account_id.rsplit("/", 1)[-1] if source.account_id
                             else naming.storage_account("weights"))
        values.update(container=str(source.container), path=str(source.path))
    return values


def main(argv: list[str]) -> int:
    """Print ``name=value`` lines for ``argv[0]``'s stack; exit 2 on a bad stack."""
    if len(argv) != 1:
        print("usage: python -m ai_serving.supply STACK", file=sys.stderr)
        return 2
    try:
        values = supply(argv[0])
    except (ConfigError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for key, value in values.items():
        print(f"{key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

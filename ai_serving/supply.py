"""Where a stack's private model supply lives: what `make import-image` / `make upload-weights` need.

``python -m ai_serving.supply STACK`` prints shell assignments (quoted) of the registry name, the
upstream image, the weights account, container and blob prefix and the model id, from the validated
stack config and the program's own naming (the same names the program declares). Exit 2 with the
config error for a bad stack, or when the stack has no private supply to fill: the same checks (the stack
name: ``cli.known_stack``) and the same one-message errors (``cli.guarded``) as every ``ai-serving`` command.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from infra.naming import Naming

from .cli import guarded, known_stack, run
from .engine.project import load_project
from .outcome import UsageError
from .stacks import load_stack

ROOT = Path(__file__).resolve().parent.parent


def supply(stack: str, project_dir: Path | None = None) -> dict[str, str]:
    """The private registry and weights container of ``stack`` in ``project_dir`` (default: this repository);
    raises ``ConfigError`` / ``UsageError``."""
    project = load_project(project_dir or ROOT)
    cfg = load_stack(project, known_stack(project, stack)).config
    pool = cfg.gpu_pool
    if pool is None:
        raise UsageError(f"{stack} has no gpuPool: there is no model supply to fill")
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
    """Print ``name=value`` lines for ``argv[0]``'s stack; exit 2 on a bad stack or command line."""
    def command() -> int:
        if len(argv) != 1:
            raise UsageError("usage: python -m ai_serving.supply STACK")
        for key, value in supply(argv[0]).items():
            print(f"{key}={shlex.quote(value)}")
        return 0

    return guarded(command)


if __name__ == "__main__":
    sys.exit(run(lambda: main(sys.argv[1:])))

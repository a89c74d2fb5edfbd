"""``ai-serving rehearse STACK``: print what a GPU pool VM of the stack would do at boot, step by step."""

from __future__ import annotations

from typing import Any

from infra.config import raw_from_config_map, validate

from ..engine.project import Project, read_stack_config
from ..engine.runner import run_program
from ..outcome import UsageError
from . import rehearse_run, render

EXIT_OK, EXIT_FAILED = 0, 1


def run(project: Project, stack: str, console: Any, err: Any) -> int:
    """Plan ``stack`` offline, rehearse its pool's boot, print the steps; 0 when it would serve.

    A bad stack file raises ``ConfigError`` (the CLI prints it and exits 2) before anything runs.
    """
    if stack not in project.stacks():
        raise UsageError(f"no stack {stack!r} in {project.stack_config_dir}; "
                         f"known: {', '.join(project.stacks()) or '(none)'}")
    config = read_stack_config(project, stack)
    cfg = validate(raw_from_config_map(config.values), stack_name=stack, source=config.source)
    if cfg.gpu_pool is None:
        raise UsageError(f"stack {stack!r} has no gpuPool: nothing boots")
    planned = run_program(project, stack, config)
    if planned.exit_code != 0:
        for message in planned.errors:
            err.print(message, markup=False)
        return EXIT_FAILED
    rehearsal = rehearse_run(planned, cfg)
    assert rehearsal is not None
    console.print(f"boot rehearsal of {stack}: {cfg.gpu_pool.vm_sku} serving {cfg.gpu_pool.model} "
                  f"with {cfg.gpu_pool.serving_image}", markup=False)
    for line in render(rehearsal):
        console.print(line, markup=False)
    if rehearsal.ok:
        console.print("ok: the VM would serve (after the driver extension's reboot)", markup=False)
        return EXIT_OK
    console.print(f"FAILED: {len(rehearsal.problems)} problem(s); the VM would not serve", markup=False)
    return EXIT_FAILED

"""``ai-serving rehearse STACK``: print what a GPU pool VM of the stack would do at boot, step by step."""

from __future__ import annotations

from typing import Any

from ..engine.project import Project
from ..engine.runner import run_program
from ..outcome import ExitCode, UsageError
from ..stacks import load_stack
from . import rehearse_run, render

EXIT_OK, EXIT_FAILED = ExitCode.OK, ExitCode.FAILED


def run(project: Project, stack: str, console: Any, err: Any) -> int:
    """Plan ``stack`` offline, rehearse its pool's boot, print the steps; 0 when it would serve.

    ``stack`` is a known stack's name (the CLI checks it: ``cli.known_stack``). A bad stack file raises
    ``ConfigError`` from ``load_stack``, as for every command (a plain-text secret included; the CLI prints it
    and exits 2) before anything runs; a program that stops on bad config exits 2 here too.
    """
    loaded = load_stack(project, stack)
    cfg = loaded.config
    if cfg.gpu_pool is None:
        raise UsageError(f"stack {stack!r} has no gpuPool: nothing boots")
    planned = run_program(project, stack, loaded.config_map)
    if planned.exit_code != 0:
        for message in planned.errors:
            err.print(message, markup=False)
        return ExitCode.USAGE if planned.exit_code == ExitCode.USAGE else EXIT_FAILED
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

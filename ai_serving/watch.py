"""``ai-serving plan --watch STACK``: re-plan one stack each time its file is saved, in one warm process.

The first plan loads what every plan needs (the SDK's types, the program's modules) and a warm pack
zygote (as a ``plan --all`` worker has): later plans fork the pack from it and re-run the program
in-process, so a re-plan costs the program run and the pack's Analyze, not the imports. The stack
file is polled (its mtime, size and inode, so an editor's write-and-rename counts as a save);
standard library only. A bad file prints its message and the watch goes on; Ctrl-C ends it with
exit 0.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from rich.console import Console

from .engine.analyzer import PackZygote
from .engine.project import Project
from .plan import plan_stack
from .reports.terminal import print_outcome

POLL_S = 0.2
"""How often the stack file is looked at (a re-plan starts at most this long after a save)."""


def _signature(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is saved; None while it does not exist (mid-rename)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def watch(project: Project, stack: str, *, pack_dir: Path | None, policy_config: dict | None,
          out: Path | None, quiet: bool, console: Console, err: Console,
          sleep: Callable[[float], None] = time.sleep) -> int:
    """Plan ``stack`` now and after every save of its file, until interrupted; returns 0 on Ctrl-C."""
    path = project.stack_file(stack)
    gc.enable()  # a long-lived process: it collects (the `ai-serving` command turns collection off)
    zygote: PackZygote | None = None
    try:
        seen = _signature(path)
        planned = 0
        while True:
            if zygote is not None and not zygote.alive:
                zygote.close()  # a killed zygote failed one plan; the next gets a new one
                zygote = None
            if zygote is None and pack_dir is not None:
                zygote = PackZygote(pack_dir)
            started = time.perf_counter()
            outcome = plan_stack(project, stack, pack_dir=pack_dir, policy_config=policy_config,
                                 out_dir=out.resolve() if out else None, today=date.today(), zygote=zygote)
            code = print_outcome(outcome, console, err, quiet=quiet)
            planned += 1
            if planned == 1:
                gc.collect()
                gc.freeze()  # what the first plan loaded lives as long as the watch: later collections skip it
            err.print(f"plan {planned} of {stack}: exit {code} in {time.perf_counter() - started:.2f} s; "
                      f"watching {path} (Ctrl-C to stop)", markup=False, highlight=False)
            while True:
                sleep(POLL_S)
                now = _signature(path)
                if now is not None and now != seen:
                    seen = now
                    break
    except KeyboardInterrupt:
        err.print(f"stopped watching {path}", markup=False, highlight=False)
        return 0
    finally:
        if zygote is not None:
            zygote.close()

"""Static checks of the rendered boot files with the real linters: shellcheck and systemd-analyze.

``shellcheck`` (Debian package ``shellcheck``) reads every written script with a shell shebang and
the ``runcmd`` commands as cloud-init runs them (one ``sh`` script). ``systemd-analyze verify``
(package ``systemd``) runs *inside* the rehearsal root, so the executables a unit names resolve to
the files cloud-init wrote and to the fakes, never to this machine's programs.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from typing import Any

from .sandbox import Sandbox

SHELLS = {"#!/bin/bash": "bash", "#!/usr/bin/env bash": "bash", "#!/bin/sh": "sh"}


def shellcheck(name: str, text: str, shell: str) -> list[str]:
    """shellcheck's findings (every severity) for script ``text``; empty when clean."""
    exe = shutil.which("shellcheck")
    if exe is None:
        return ["shellcheck is not installed (make system-deps installs it)"]
    proc = subprocess.run([exe, f"--shell={shell}", "--severity=style", "--format=gcc", "-"],
                          input=text, capture_output=True, text=True, check=False)
    return [f"{name}:{line.removeprefix('-:')}" for line in proc.stdout.splitlines()] + (
        [proc.stderr.strip()] if proc.returncode not in (0, 1) else [])


def scripts(config: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, text, shell) of every shell script the document carries, runcmd included."""
    found = []
    for item in config.get("write_files") or []:
        first = (item.get("content") or "").split("\n", 1)[0].strip()
        if first in SHELLS:
            found.append((item["path"], item["content"], SHELLS[first]))
    runcmd = config.get("runcmd") or []
    if runcmd:
        lines = [c if isinstance(c, str) else shlex.join(c) for c in runcmd]
        found.append(("runcmd", "#!/bin/sh\n" + "\n".join(lines) + "\n", "sh"))
    return found


def verify_units(box: Sandbox, units: list[str]) -> list[str]:
    """``systemd-analyze verify`` of ``units`` (paths inside ``box``): every line it prints is a finding."""
    exe = shutil.which("systemd-analyze")
    if exe is None:
        return ["systemd-analyze is not installed (make system-deps installs the systemd package)"]
    target = box.path("/usr/bin/systemd-analyze")
    if not target.exists():
        shutil.copy2(exe, target)
    result = box.run(["systemd-analyze", "verify", *units])
    findings = [ln for ln in (result.stdout + result.stderr).splitlines() if ln.strip()]
    if result.status != 0 and not findings:
        findings.append(f"systemd-analyze verify exited {result.status}")
    return findings

"""A throwaway root to run a VM's boot scripts in, without touching the machine running them.

Why a chroot inside a private mount namespace (``unshare --mount`` + ``chroot``), not an overlay of
``/``: the scripts write to absolute paths (``/etc/apt``, ``/run``, ``/usr/local/sbin``), and an
*unexpected* command must fail as it would on a VM that lacks it, so the root holds only a short
list of real tools (bash, coreutils, awk, grep, python3: what an Ubuntu image has and the scripts
may use) plus the recording fakes (``fake_tool.py``) under the real tools' names. Anything else is
"command not found". The host's libraries are bind-mounted read-only (the copied binaries need
them); the mounts live in the namespace and vanish with it, and the root's files are a temporary
directory. As root this needs only util-linux's ``unshare`` and coreutils' ``chroot``; as another
user it adds a user namespace (``--user --map-root-user``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FAKE_TOOLS = ("apt-get", "curl", "gpg", "docker", "nvidia-smi", "nvidia-ctk", "systemctl")
"""Commands that would reach the network, the GPU, apt, Docker or systemd: recording fakes. Those a
package provides (docker, nvidia-ctk: ``apt.provides`` in the contracts) exist only once the image
has the package or the fake apt-get installed it, so ``command -v`` tells the truth."""
REAL_TOOLS = (
    "bash", "sh", "env", "install", "mkdir", "mktemp", "rm", "cat", "awk", "grep", "sed", "chmod",
    "chown", "cp", "mv", "ls", "ln", "touch", "head", "tail", "tr", "cut", "tee", "sleep", "true",
    "false", "id", "stat", "date", "dirname", "basename", "python3",
)
"""Real programs of an Ubuntu image the boot scripts may use; they run for real in the root."""
LIBRARY_DIRS = ("/usr/lib", "/usr/lib64", "/usr/libexec")
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The PATH systemd gives services (and cloud-init's runcmd sees the same directories)."""
HOME_IN_ROOT = "/opt/rehearsal"

_ENTER = r"""
set -eu
root=$1; shift
for dir in {dirs}; do
    if [ -d "$dir" ] && [ ! -L "$dir" ]; then
        mkdir -p "$root$dir"
        mount --rbind "$dir" "$root$dir"
        mount -o remount,bind,ro "$root$dir" 2>/dev/null || true
    fi
done
touch "$root/dev/null"
mount --bind /dev/null "$root/dev/null"
exec chroot "$root" /usr/bin/env -i "$@"
"""


@dataclass
class Result:
    """One command's outcome inside the root."""

    argv: list[str]
    status: int
    stdout: str
    stderr: str


class Sandbox:
    """A temporary root with real basic tools and recording fakes; ``run`` executes inside it."""

    def __init__(self, contracts: dict, expect: dict, os_image: dict | None = None) -> None:
        """``os_image``: the image's entry in the contracts (what it has preinstalled). Default: nothing."""
        self._tmp = tempfile.TemporaryDirectory(prefix="ai-serving-rehearsal-")
        self.root = Path(self._tmp.name)
        self._build(contracts, expect)
        image = os_image or {"preinstalled": [], "docker_runtimes": []}
        home = self.root / HOME_IN_ROOT.lstrip("/")
        (home / "state.json").write_text(json.dumps({"installed": list(image["preinstalled"])}))
        for package in image["preinstalled"]:
            for tool in contracts["apt"]["provides"].get(package, []):
                self.link_fake(tool)
        if image["docker_runtimes"]:
            (self.root / "etc/docker").mkdir(parents=True, exist_ok=True)
            runtimes = {name: {"path": f"{name}-container-runtime", "args": []} for name in image["docker_runtimes"]}
            (self.root / "etc/docker/daemon.json").write_text(json.dumps({"runtimes": runtimes}, indent=4))

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the root (nothing is mounted outside the namespace, so this is a plain rm -r)."""
        self._tmp.cleanup()

    def path(self, inside: str) -> Path:
        """The host path of ``inside`` (an absolute path in the root)."""
        return self.root / inside.lstrip("/")

    def _build(self, contracts: dict, expect: dict) -> None:
        r = self.root
        for d in ("usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin", "etc/apt/sources.list.d",
                  "etc/systemd/system", "usr/share/keyrings", "run", "tmp", "var/lib", "var/log", "dev",
                  "root", HOME_IN_ROOT.lstrip("/")):
            (r / d).mkdir(parents=True, exist_ok=True)
        (r / "tmp").chmod(0o1777)
        for link, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
            (r / link).symlink_to(target)
        (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
        (r / "etc/group").write_text("root:x:0:\n")
        if Path("/etc/ld.so.cache").exists():
            shutil.copy2("/etc/ld.so.cache", r / "etc/ld.so.cache")
        for tool in REAL_TOOLS:
            found = shutil.which(tool, path="/usr/bin:/bin:/usr/sbin:/sbin")
            if found is None:
                raise RuntimeError(f"the rehearsal needs {tool!r} on this machine")
            shutil.copy2(os.path.realpath(found), r / "usr/bin" / tool)
        home = r / HOME_IN_ROOT.lstrip("/")
        shutil.copy2(Path(__file__).with_name("fake_tool.py"), home / "fake_tool.py")
        (home / "fake_tool.py").chmod(0o755)
        (home / "contracts.json").write_text(json.dumps(contracts))
        (home / "expect.json").write_text(json.dumps(expect))
        (home / "log.jsonl").write_text("")
        packaged = {t for tools in contracts["apt"]["provides"].values() for t in tools}
        for tool in FAKE_TOOLS:
            if tool not in packaged:
                self.link_fake(tool)

    def link_fake(self, tool: str) -> None:
        """Put the fake ``tool`` on PATH (``/usr/bin``)."""
        link = self.root / "usr/bin" / tool
        if not link.is_symlink():
            link.symlink_to(f"{HOME_IN_ROOT}/fake_tool.py")

    def calls(self) -> list[dict]:
        """Every call the fakes recorded so far, in order."""
        text = self.path(f"{HOME_IN_ROOT}/log.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines() if line]

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        """Run ``argv`` in the root with a clean environment (``env`` plus systemd's PATH)."""
        unshare = ["unshare", "--mount", "--fork"]
        if os.geteuid() != 0:
            unshare[1:1] = ["--user", "--map-root-user"]
        assignments = [f"{k}={v}" for k, v in {"PATH": SYSTEMD_PATH, **(env or {})}.items()]
        script = _ENTER.format(dirs=" ".join(LIBRARY_DIRS))
        cmd = [*unshare, "/bin/sh", "-c", script, "enter", str(self.root), *assignments, *argv]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        return Result(argv, proc.returncode, proc.stdout, proc.stderr)

"""``ai-serving plan --watch``: a save re-plans in the same process; a bad save says why and the watch goes on."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ai_serving.cli import main

ROOT = Path(__file__).resolve().parent.parent
STACK = "team-a-dev"
SAFETY_TIMEOUT_S = 300  # only so a broken watch cannot hang the suite; nothing here is timed


class _Lines:
    """The watch's stderr, line by line, read on a thread."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put("")  # end of stream

    def drain(self) -> None:
        while line := self.lines.get(timeout=SAFETY_TIMEOUT_S):
            self.seen.append(line)

    def until(self, text: str) -> str:
        while True:
            line = self.lines.get(timeout=SAFETY_TIMEOUT_S)
            self.seen.append(line)
            if not line:
                raise AssertionError(f"the watch ended before {text!r}:\n{''.join(self.seen)}")
            if text in line:
                return line


def test_a_save_replans_a_bad_save_is_reported_and_ctrl_c_exits_0(tmp_path: Path) -> None:
    stack_dir = tmp_path / "stacks"
    stack_dir.mkdir()
    stack_file = stack_dir / f"Pulumi.{STACK}.yaml"
    shutil.copy(ROOT / "stacks" / stack_file.name, stack_file)
    good = stack_file.read_text(encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ai_serving.cli", "plan", STACK, "--watch", "--quiet",
         "--project", str(ROOT), "--stack-dir", str(stack_dir), "--out", str(tmp_path / "out")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1"}, start_new_session=True,
    )
    try:
        err = _Lines(proc.stderr)
        assert "exit 0" in err.until(f"plan 1 of {STACK}:")
        first = (tmp_path / "out" / "plan.json").read_bytes()

        # A bad save: the message (file, key, what was expected), the watch goes on.
        stack_file.write_text(good.replace("ai-serving:environment: dev", "ai-serving:environment: staging"),
                              encoding="utf-8")
        assert "exit 2" in err.until(f"plan 2 of {STACK}:")
        said = "".join(err.seen)
        assert f"{stack_file}" in said and "ai-serving:environment" in said and "staging" in said
        assert "Traceback" not in said

        # The bad save's plan failed: no plan.json of the earlier save passes for its plan.
        assert not (tmp_path / "out" / "plan.json").exists()

        # The fix saved: planned again, by the same warm process, to the same plan.json as the first time.
        stack_file.write_text(good, encoding="utf-8")
        assert "exit 0" in err.until(f"plan 3 of {STACK}:")
        assert (tmp_path / "out" / "plan.json").read_bytes() == first

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group (the pack zygote too)
        err.until("stopped watching")
        assert proc.wait(timeout=SAFETY_TIMEOUT_S) == 0
        err.drain()  # whatever the zygote and the packs wrote, until the last of them closed stderr
        assert "Traceback" not in "".join(err.seen) and "KeyboardInterrupt" not in "".join(err.seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_watch_is_for_one_stack_on_a_terminal(capsys) -> None:
    assert main(["plan", "--all", "--watch", "--project", str(ROOT)]) == 2
    assert main(["plan", STACK, "--watch", "--output", "json", "--project", str(ROOT)]) == 2
    assert "--watch re-plans one stack" in capsys.readouterr().err

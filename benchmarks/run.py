"""Benchmarks: plan latency and org-scale throughput; writes benchmarks/RESULTS.md.

Run from the repository root with the project's venv:

    .venv/bin/python benchmarks/run.py            # full run (≥ 5 cold runs, N = 1, 10, 50, 100)
    .venv/bin/python benchmarks/run.py --quick    # fewer repetitions, N = 1, 10, 50

Plain Python, standard library only (pyinstrument is used for the optional ``--profile`` section
when it is installed). Every measurement runs the real CLI or the real pipeline functions in a
fresh process; nothing here changes the code under test.

Peak memory: ``os.wait4`` returns the rusage of the waited-for child, whose ``ru_maxrss`` is the
largest resident set of that child *or any descendant it waited for* (Linux semantics), i.e. the
single biggest process of the tree (the CLI, a ``--all`` worker or a policy-pack process).
For ``--all`` a /proc poller also records, per worker, the worker's RSS plus its policy pack's
(sampled every 100 ms, so short peaks can be missed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CLI = str(VENV_BIN / "ai-serving")
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
COLD_STACK = "team-a-prod"
ANALYSIS_START, ANALYSIS_END = "<!-- analysis -->", "<!-- /analysis -->"

# Issue 18's targets (2 cores). The cold plan is judged against the floor measured in the same run.
TARGETS = {
    "cold_vs_floor": 1.3,
    "all100_total_s": 12.0,
    "marginal_s": 0.12,
    "worker_mb": 400.0,
    "tests_s": 180.0,
}
FLOOR_CASE = "import pulumi + the SDK types infra/ uses + import pulumi_policy (the cold-plan floor)"
ENGINE = ROOT / "build" / "engine"
WARM_STACKS = 30  # warm stacks whose CPU is broken down (bench_warm), after one that warms the worker
ENGINE_SAMPLE = 2  # generated stacks previewed by the real engine beside the example stacks


# --------------------------------------------------------------------------------------------- measuring


def _proc_tree_rss(root_pid: int) -> dict[int, tuple[int, int]]:
    """{pid: (ppid, rss_kb)} for ``root_pid`` and all its descendants (from /proc)."""
    procs: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            rss_pages = int(stat.rsplit(")", 1)[1].split()[21])
        except (OSError, IndexError, ValueError):
            continue
        procs[int(entry)] = (ppid, rss_pages * os.sysconf("SC_PAGE_SIZE") // 1024)
    tree = {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in procs.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return {pid: procs[pid] for pid in tree if pid in procs}


class TreePoller(threading.Thread):
    """Samples the process tree under ``pid``: peak of (each direct child + its descendants)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop = threading.Event()
        self.peak_subtree_kb = 0  # largest (direct child + its descendants), e.g. a worker + its policy pack
        self.peak_total_kb = 0  # whole tree

    def run(self) -> None:
        while not self.stop.is_set():
            tree = _proc_tree_rss(self.pid)
            if tree:
                self.peak_total_kb = max(self.peak_total_kb, sum(rss for _, rss in tree.values()))
                children = [p for p, (pp, _) in tree.items() if pp == self.pid]
                for child in children:
                    sub = {child} | {p for p, (pp, _) in tree.items() if pp == child}
                    self.peak_subtree_kb = max(self.peak_subtree_kb, sum(tree[p][1] for p in sub))
            self.stop.wait(self.interval)


def timed(cmd: list[str], *, poll: bool = False, cwd: Path = ROOT, env: dict | None = None) -> dict:
    """Run ``cmd``; wall time (process start to exit), exit code, ru_maxrss of the tree, stdout."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, after the child has written to it
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
    poller = TreePoller(proc.pid) if poll else None
    if poller:
        poller.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if poller:
        poller.stop.set()
        poller.join()
    out.seek(0)
    text = out.read().decode(errors="replace")
    out.close()
    result = {
        "wall_s": wall,
        "rc": proc.returncode,
        "maxrss_mb": usage.ru_maxrss / 1024,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "stdout": text,
    }
    if poller:
        result["worker_tree_mb"] = poller.peak_subtree_kb / 1024
        result["tree_total_mb"] = poller.peak_total_kb / 1024
    return result


def stats(values: list[float]) -> dict:
    """median, min, max, IQR (when ≥ 4 values) and n."""
    values = sorted(values)
    s = {"n": len(values), "median": statistics.median(values), "min": values[0], "max": values[-1]}
    if len(values) >= 4:
        q = statistics.quantiles(values, n=4)
        s["iqr"] = q[2] - q[0]
    return s


def fmt(s: dict, unit: str = "s", digits: int = 2) -> str:
    spread = f"min {s['min']:.{digits}f}, max {s['max']:.{digits}f}"
    if "iqr" in s:
        spread += f", IQR {s['iqr']:.{digits}f}"
    return f"**{s['median']:.{digits}f} {unit}** (n={s['n']}; {spread})"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------- context


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "mem_gb": mem_kb / 1024 / 1024,
        "kernel": platform.release(),
    }


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("pulumi", "pulumi_azure_native", "pulumi_policy", "grpcio", "protobuf", "pydantic"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    try:
        out["git"] = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True, check=False
        ).stdout.strip()
        out["git"] += " (working tree has uncommitted changes)" if dirty else ""
    except OSError:
        out["git"] = "unknown"
    return out


def sdk_modules() -> list[str]:
    """The pulumi_azure_native submodules the program imports (grep of infra/)."""
    mods = set()
    for path in (ROOT / "infra").rglob("*.py"):
        for m in re.finditer(r"(?:import|from)\s+(pulumi_azure_native\.[a-z0-9_]+)", path.read_text()):
            mods.add(m.group(1))
    return sorted(mods)


def sdk_names() -> dict[str, set[str]]:
    """SDK module -> the classes/enums infra/ uses from it (``network.SubnetArgs`` ...).

    pulumi_azure_native loads a module's types lazily, on first attribute access, and that is where
    its cost is (network's _inputs/outputs are ~3.8 MB of class definitions), so a fair floor touches them.
    """
    used: dict[str, set[str]] = {}
    for path in (ROOT / "infra").rglob("*.py"):
        text = path.read_text()
        for m in re.finditer(r"import\s+(pulumi_azure_native\.[a-z0-9_]+)\s+as\s+(\w+)", text):
            module, alias = m.groups()
            used.setdefault(module, set()).update(re.findall(rf"\b{alias}\.([A-Z]\w*)", text))
    return used


def _sdk_types_code() -> str:
    """Python source: import pulumi and touch every SDK class/enum infra/ uses."""
    return "import importlib, pulumi\n" + "\n".join(
        f"m = importlib.import_module({mod!r}); [getattr(m, n) for n in {sorted(names)!r}]"
        for mod, names in sorted(sdk_names().items())
    )


# --------------------------------------------------------------------------------------------- benchmarks


def bench_floor(reps: int) -> dict:
    mods = sdk_modules()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import pulumi": [sys.executable, "-c", "import pulumi"],
        f"import pulumi + {len(mods)} azure-native modules": [
            sys.executable,
            "-c",
            "import pulumi\n" + "\n".join(f"import {m}" for m in mods),
        ],
        "import pulumi + load the SDK types infra/ uses": [sys.executable, "-c", _sdk_types_code()],
        "import pulumi_policy (the pack's floor)": [sys.executable, "-c", "import pulumi_policy"],
        FLOOR_CASE: [sys.executable, "-c", _sdk_types_code() + "\nimport pulumi_policy"],
    }
    out = {}
    for name, cmd in cases.items():
        runs = [timed(cmd) for _ in range(reps)]
        out[name] = {"wall": stats([r["wall_s"] for r in runs]), "rss": stats([r["maxrss_mb"] for r in runs])}
        log(f"floor {name}: {out[name]['wall']['median']:.2f}s")
    out["_modules"] = mods
    return out


def bench_cold(reps: int, tmp: Path) -> dict:
    runs = []
    for i in range(reps):
        r = timed([CLI, "plan", COLD_STACK, "--out", str(tmp / f"cold{i}"), "--quiet"], poll=True)
        if r["rc"] not in (0, 1):
            raise SystemExit(f"cold plan failed (exit {r['rc']}):\n{r['stdout']}")
        runs.append(r)
        log(f"cold plan {i + 1}/{reps}: {r['wall_s']:.2f}s, maxrss {r['maxrss_mb']:.0f} MB, load {loadavg()}")
    return {
        "wall": stats([r["wall_s"] for r in runs]),
        "cpu": stats([r["user_s"] + r["sys_s"] for r in runs]),
        "maxrss": stats([r["maxrss_mb"] for r in runs]),
        "tree": stats([r["tree_total_mb"] for r in runs]),
        "rc": sorted({r["rc"] for r in runs}),
    }


def generate_stacks(n: int, dest: Path) -> str:
    """``n`` stack files made with ``ai-serving new-team`` (in one process: the CLI's own function)."""
    code = f"""
import sys
from pathlib import Path
from ai_serving.engine.project import load_project
from ai_serving.org.new_team import new_team
project = load_project(Path({str(ROOT)!r}), Path({str(dest)!r}))
for i in range({n}):
    env = ("dev", "prod", "test")[i % 3]
    gpu = "Standard_NC24ads_A100_v4" if i % 2 else None
    # Real owners and cost center: prod refuses new-team's placeholders.
    new_team(project, f"bench{{i:03d}}", env, openai=True, gpu=gpu, location="swedencentral",
             owners=[f"bench{{i:03d}}-lead@example.com"], cost_center=f"CC-{{1000 + i}}",
             budget=50000.0 if env == "prod" else None)  # prod needs one (COST-03)
"""
    dest.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"new-team generation failed:\n{r.stderr}")
    return "ai-serving new-team (ai_serving.org.new_team.new_team, called in one process)"


def bench_all(sizes: list[int], reps: dict[int, int], tmp: Path, checkpoint=lambda: None) -> dict:
    gen = tmp / "generated"
    how = generate_stacks(max(sizes), gen)
    files = sorted(gen.glob("Pulumi.*.yaml"))
    out: dict = {"generator": how, "sizes": {}}
    ctx_all = out
    for n in sizes:
        d = tmp / f"stacks{n}"
        d.mkdir()
        for f in files[:n]:
            shutil.copy(f, d / f.name)
        runs = []
        for i in range(reps[n]):
            r = timed(
                [
                    CLI,
                    "plan",
                    "--all",
                    "--quiet",
                    "--out",
                    str(tmp / f"out{n}-{i}"),
                    "--project",
                    str(ROOT),
                    "--stack-dir",
                    str(d),
                ],
                poll=True,
            )
            m = re.search(r"planned (\d+) stacks with (\d+) worker\(s\) in ([\d.]+)s", r["stdout"])
            if not m:
                raise SystemExit(f"plan --all N={n} failed (exit {r['rc']}):\n{r['stdout'][-3000:]}")
            r["workers"], r["inner_s"] = int(m.group(2)), float(m.group(3))
            statuses = re.findall(r"\] \S+: (\S+)", r["stdout"])
            r["statuses"] = {s: statuses.count(s) for s in set(statuses)}
            runs.append(r)
            log(
                f"--all N={n} {i + 1}/{reps[n]}: {r['wall_s']:.1f}s (rc {r['rc']}, {r['statuses']}), "
                f"worker+pack {r['worker_tree_mb']:.0f} MB, load {loadavg()}"
            )
        out["sizes"][n] = {
            "wall": stats([r["wall_s"] for r in runs]),
            "inner": stats([r["inner_s"] for r in runs]),
            "cpu": stats([r["user_s"] + r["sys_s"] for r in runs]),
            "maxrss": stats([r["maxrss_mb"] for r in runs]),
            "worker_tree": stats([r["worker_tree_mb"] for r in runs]),
            "tree": stats([r["tree_total_mb"] for r in runs]),
            "workers": runs[0]["workers"],
            "rc": sorted({r["rc"] for r in runs}),
            "statuses": runs[-1]["statuses"],
        }
        checkpoint_all(ctx_all, checkpoint)
    return out


def bench_engine(reps: int, tmp: Path) -> dict | None:
    """The same stacks under the real engine, beside ``ai-serving plan``, in one scratch project.

    The witness's own set-up (``witness.run.Witness``: scratch copy of the project, file backend,
    passphrase secrets, the stand-in azure-native provider installed as the plugin) runs
    ``pulumi preview --policy-pack policies --policy-pack-config <the plan's deploy-policy-config.json>`` for
    the example stacks and a sample of the generated ones; ``ai-serving plan STACK --out DIR --quiet`` runs
    on the same stack file (as committed: ``Witness.committed_stack_dir``) in the same project and
    environment, alternating with the preview. None when ``make engine`` has not built the engine.
    """
    if not all((ENGINE / b).is_file() for b in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec")):
        log(f"engine: {ENGINE} is not built (make engine): real-engine comparison skipped")
        return None
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from ai_serving.output_folders import DEPLOY_POLICY_CONFIG_FILE
    from witness.run import PACK, PROJECT, Witness, example_stacks

    gen = tmp / "generated"
    if not gen.is_dir():
        generate_stacks(ENGINE_SAMPLE + 1, gen)
    # bench001 (prod, A100 pool) and bench002 (test, no pool): the generated shapes not among the examples.
    sample = sorted(gen.glob("Pulumi.*.yaml"))[1 : 1 + ENGINE_SAMPLE]
    scratch, logs = tmp / "engine", tmp / "engine-logs"
    logs.mkdir(parents=True)
    witness = Witness(ENGINE.resolve(), scratch, logs)
    witness.prepare()
    for f in sample:
        shutil.copy(f, witness.project / "stacks" / f.name)
    stacks = example_stacks() + [f.name.removeprefix("Pulumi.").removesuffix(".yaml") for f in sample]
    version = subprocess.run([str(ENGINE / "pulumi"), "version"], capture_output=True, text=True, check=False)
    out: dict = {"pulumi": version.stdout.strip(), "stacks": {}}
    for stack in stacks:
        witness.pulumi("stack", "init", stack, "--secrets-provider", "passphrase", log=f"{stack}-init")
        # A throw-away token in the scratch stack (GPU stacks require the secret; witness does the same).
        witness.pulumi("config", "set", "--secret", f"{PROJECT}:modelHubToken", "hf_bench_" + os.urandom(8).hex(),
                       "--stack", stack, log=f"{stack}-config")
        # The plan reads the stack file as CI commits it: without the `encryptionsalt:` line the passphrase
        # provider wrote (the plan refuses it, as it must in a repository), the encrypted secret kept.
        committed = witness.committed_stack_dir(stack, tmp / f"engine-work-{stack}")
        previews, plans = [], []
        for i in range(reps):
            plan_out = tmp / f"engine-plan-{stack}-{i}"
            plans.append(timed([CLI, "plan", stack, "--out", str(plan_out), "--quiet",
                                "--stack-dir", str(committed)], cwd=witness.project, env=witness.env))
            # With the plan's deploy-policy-config.json, as CI previews (README "Policies and waivers"): a stack
            # with a waived mandatory finding (team-a-prod's VMSS-10) fails a preview under the project's config
            # once the rule can run in a first preview.
            pack_args = [*PACK, "--policy-pack-config", str(plan_out / DEPLOY_POLICY_CONFIG_FILE)]
            previews.append(timed([str(ENGINE / "pulumi"), "preview", "--stack", stack, *pack_args,
                                   "--non-interactive"], cwd=witness.project, env=witness.env))
            # Both must have done the work: the plan exits 0 (clean) or 1 (a mandatory violation), and
            # the preview passes exactly when the plan does (a refusal is a finished preview too).
            plan_rc, preview_rc = plans[-1]["rc"], previews[-1]["rc"]
            if plan_rc not in (0, 1) or (preview_rc == 0) != (plan_rc == 0):
                raise SystemExit(f"engine comparison {stack}: `ai-serving plan` exited {plan_rc}, `pulumi preview` "
                                 f"exited {preview_rc}:\n{plans[-1]['stdout'][-1500:]}\n"
                                 f"{previews[-1]['stdout'][-3000:]}")
            log(f"engine {stack} {i + 1}/{reps}: plan {plans[-1]['wall_s']:.2f}s (rc {plans[-1]['rc']}), "
                f"preview {previews[-1]['wall_s']:.2f}s (rc {previews[-1]['rc']}), load {loadavg()}")
        out["stacks"][stack] = {
            "plan": stats([r["wall_s"] for r in plans]),
            "preview": stats([r["wall_s"] for r in previews]),
            "plan_rc": sorted({r["rc"] for r in plans}),
            "preview_rc": sorted({r["rc"] for r in previews}),
        }
    plan_sum = sum(s["plan"]["median"] for s in out["stacks"].values())
    preview_sum = sum(s["preview"]["median"] for s in out["stacks"].values())
    out["ratio"] = preview_sum / plan_sum
    return out


def bench_watch(reps: int, tmp: Path) -> dict:
    """``plan --watch COLD_STACK``: the time of each re-plan after a save, as the watch itself reports it."""
    stack_dir = tmp / "watch-stacks"
    stack_dir.mkdir()
    stack_file = stack_dir / f"Pulumi.{COLD_STACK}.yaml"
    shutil.copy(ROOT / "stacks" / stack_file.name, stack_file)
    proc = subprocess.Popen(
        [CLI, "plan", COLD_STACK, "--watch", "--quiet", "--out", str(tmp / "watch-out"), "--project", str(ROOT),
         "--stack-dir", str(stack_dir)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    pattern = re.compile(rf"^plan (\d+) of {re.escape(COLD_STACK)}: exit (\d+) in ([\d.]+) s")
    times: list[float] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            m = pattern.match(line)
            if not m:
                continue
            if int(m.group(2)) not in (0, 1):
                raise SystemExit(f"plan --watch: plan {m.group(1)} exited {m.group(2)}")
            if int(m.group(1)) > 1:
                times.append(float(m.group(3)))
                log(f"watch re-plan {len(times)}/{reps}: {times[-1]:.2f}s, load {loadavg()}")
            if len(times) == reps:
                break
            os.utime(stack_file)  # a save
        else:
            raise SystemExit(f"plan --watch ended (exit {proc.wait()}) before {reps} re-plans")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"replan": stats(times)}


PHASES_CODE = r"""
import json, sys, time
t_first = time.time()
marks = {}
p = time.perf_counter
t = p()
import ai_serving.plan
from rich.console import Console
marks["tool imports (ai_serving, pulumi runtime, grpc, rich)"] = p() - t
t = p()
sys.path.insert(0, ROOT)
import infra.program
marks["program imports (infra.*, azure-native SDK modules)"] = p() - t
from datetime import date
from pathlib import Path
from ai_serving.engine.project import load_project
from ai_serving.plan import plan_stack
t = p()
project = load_project(Path(ROOT))
marks["project read (Pulumi.yaml)"] = p() - t
pack_dir = Path(ROOT) / "policies"
policy_config = json.loads((pack_dir / "policy-config.json").read_text())
outcome = plan_stack(project, STACK, pack_dir=pack_dir, policy_config=policy_config, out_dir=Path(OUT),
                     today=date.today(), phases=marks)
assert outcome.exit_code == 0, outcome.errors
t = p()
plan_stack(project, STACK, pack_dir=pack_dir, policy_config=policy_config, out_dir=None, today=date.today())
marks["(second plan_stack in the same process, warm)"] = p() - t
print("PHASES" + json.dumps({"t_first": t_first, "marks": marks, "resources": len(outcome.run.resources)}))
"""


def bench_phases(reps: int, tmp: Path) -> dict:
    all_marks: dict[str, list[float]] = {}
    resources = 0
    for i in range(reps):
        out = tmp / f"phases{i}"
        out.mkdir()
        code = f"ROOT={str(ROOT)!r}\nSTACK={COLD_STACK!r}\nOUT={str(out)!r}\n" + PHASES_CODE
        t0 = time.time()
        r = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
        )
        line = next((ln for ln in r.stdout.splitlines() if ln.startswith("PHASES")), None)
        if line is None:
            raise SystemExit(f"phase breakdown failed:\n{r.stdout}\n{r.stderr}")
        data = json.loads(line[len("PHASES") :])
        resources = data["resources"]
        marks = {"interpreter start-up (spawn to first line)": data["t_first"] - t0, **data["marks"]}
        for k, v in marks.items():
            all_marks.setdefault(k, []).append(v)
        log(f"phases {i + 1}/{reps}: " + ", ".join(f"{k.split(' (')[0]} {v:.2f}" for k, v in marks.items()))
    return {"phases": {k: stats(v) for k, v in all_marks.items()}, "resources": resources}


WARM_PACK_MAIN = r"""
# The real pack (REAL, below), with the CPU each analyzer call takes recorded: written by benchmarks/run.py.
import json, os, runpy, sys, time
import pulumi_policy.policy as _policy
from pulumi.runtime.proto import analyzer_pb2_grpc as _grpc

_spent = [0.0]
_register = _grpc.add_AnalyzerServicer_to_server


def _timed(name, method):
    def call(request, context):
        started = time.thread_time()
        try:
            return method(request, context)
        finally:
            _spent[0] += time.thread_time() - started
            if name == "AnalyzeStack":  # the stack's last call: what this process spent, all threads
                with open(LOG, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"handlers": _spent[0], "process": time.process_time()}) + "\n")
    return call


def _register_timed(servicer, server):
    # The instance's methods, as the SDK hands them to gRPC: whatever the pack wraps around them included.
    for name in ("GetAnalyzerInfo", "GetPluginInfo", "Configure", "ConfigureStack", "Analyze", "AnalyzeStack"):
        if hasattr(servicer, name):
            setattr(servicer, name, _timed(name, getattr(servicer, name)))
    return _register(servicer, server)


_policy.analyzer_pb2_grpc.add_AnalyzerServicer_to_server = _register_timed
sys.path.insert(0, REAL)
runpy.run_path(os.path.join(REAL, "__main__.py"), run_name="__main__")
"""

WARM_CODE = r"""
import json, sys, time
from datetime import date
from pathlib import Path
sys.path.insert(0, ROOT)
from ai_serving import plan as plan_module
from ai_serving.engine.project import load_project
from ai_serving.org import plan_all
project = load_project(Path(ROOT), Path(STACK_DIR))
stacks = project.stacks()
program = []
run_program = plan_module.run_program
def measured(*args, **kwargs):  # the same call, its CPU (every thread of this process) recorded
    started = time.process_time()
    try:
        return run_program(*args, **kwargs)
    finally:
        program.append(time.process_time() - started)
plan_module.run_program = measured
policy_config = json.loads((Path(ROOT) / "policies" / "policy-config.json").read_text())
plan_all._init_worker(project, Path(PACK), policy_config, Path(OUT), date.today())
worker = []
for stack in stacks:
    started = time.process_time()
    outcome = plan_all._plan_in_worker(stack)
    worker.append(time.process_time() - started)
    assert outcome["status"] in ("ok", "policy-failed"), outcome
plan_all._close_worker()
print("WARM" + json.dumps({"worker": worker, "program": program}))
"""


def bench_warm(n: int, tmp: Path) -> dict:
    """Where a warm stack's CPU goes, in one process that plans ``n`` generated stacks as a ``plan --all``
    worker does (the first one warms it and is left out).

    The worker's CPU (all its threads) per stack, and of that the program under mocks; the pack
    process's CPU per stack (fork to the end of AnalyzeStack, all threads), and of that its analyzer
    calls (the thread time of each gRPC handler: pulumi_policy's decoding and the rules). The pack
    runs from a copy of ``policies/`` whose ``__main__.py`` records those times around the real one.
    """
    gen = tmp / "warm-stacks"
    generate_stacks(n, gen)
    pack = tmp / "warm-pack"
    pack.mkdir()
    real = ROOT / "policies"
    for entry in real.iterdir():
        if entry.name != "__main__.py":
            (pack / entry.name).symlink_to(entry)
    log_file = tmp / "warm-pack-cpu.jsonl"
    (pack / "__main__.py").write_text(f"REAL = {str(real)!r}\nLOG = {str(log_file)!r}\n" + WARM_PACK_MAIN,
                                      encoding="utf-8")
    code = (f"ROOT={str(ROOT)!r}\nSTACK_DIR={str(gen)!r}\nPACK={str(pack)!r}\nOUT={str(tmp / 'warm-out')!r}\n"
            + WARM_CODE)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("WARM")), None)
    if line is None:
        raise SystemExit(f"warm breakdown failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    data = json.loads(line[len("WARM"):])
    packs = [json.loads(x) for x in log_file.read_text(encoding="utf-8").splitlines()]
    if len(packs) != len(data["worker"]):
        raise SystemExit(f"warm breakdown: {len(packs)} pack records for {len(data['worker'])} stacks")
    series = {
        "worker": data["worker"][1:],
        "program": data["program"][1:],
        "pack": [p["process"] for p in packs[1:]],
        "handlers": [p["handlers"] for p in packs[1:]],
    }
    # Means, not medians, for the totals: the stacks differ (a GPU pool or not, prod or not), and
    # 100 stacks cost the sum of theirs.
    out = {"stacks": n - 1, **{k: {**stats(v), "mean": statistics.fmean(v)} for k, v in series.items()}}
    log("warm stack CPU (mean): " + ", ".join(f"{k} {v['mean']:.3f}s" for k, v in out.items() if k != "stacks"))
    return out


def warm_floor(ctx: dict, n: int = 100) -> dict | None:
    """The least wall time ``n`` stacks can take on this machine's cores, from this run's measurements.

    Every design that runs this program under the SDK's mocks and this pack's rules pays the cold-plan
    floor once per core (in parallel) and, per stack, at least the program's CPU and the pack's analyzer
    calls, spread over the cores; everything else (processes, gRPC, recording, reports) is left out.
    """
    warm, floor = ctx.get("warm"), (ctx.get("floor") or {}).get(FLOOR_CASE)
    if not warm or not floor:
        return None
    cores = ctx["machine"]["affinity"]
    start = floor["wall"]["median"]
    program = warm["program"]["mean"]
    rules = warm["handlers"]["mean"]
    whole = warm["worker"]["mean"] + warm["pack"]["mean"]
    return {
        "n": n, "cores": cores, "start": start,
        "program_only": start + n * program / cores,
        "program_and_rules": start + n * (program + rules) / cores,
        "today": start + n * whole / cores,
        "per_stack_floor": program + rules, "per_stack_today": whole,
    }


def bench_tests() -> dict:
    r = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "--no-header"])
    tail = [ln for ln in r["stdout"].splitlines() if ln.strip()][-1:] or [""]
    log(f"test suite: {r['wall_s']:.1f}s ({tail[0]})")
    return {"wall_s": r["wall_s"], "rc": r["rc"], "summary": tail[0]}


def profile_cold(tmp: Path) -> str | None:
    """pyinstrument over one in-process plan (program + policy), if pyinstrument is installed."""
    code = (
        "import sys\nfrom pyinstrument import Profiler\nprof = Profiler(interval=0.001)\nprof.start()\n"
        "from ai_serving.cli import main\n"
        f"rc = main(['plan', {COLD_STACK!r}, '--out', {str(tmp / 'prof')!r}, '--quiet'])\n"
        "prof.stop()\nprint(prof.output_text(unicode=False, color=False, show_all=False))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    if r.returncode != 0 or "ModuleNotFoundError: No module named 'pyinstrument'" in r.stderr:
        return None
    lines = r.stdout.splitlines()
    start = next((i for i, ln in enumerate(lines) if "Recorded:" in ln), 0)
    return "\n".join(lines[start : start + 70])


# --------------------------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def write_results(ctx: dict) -> None:
    m, v = ctx["machine"], ctx["versions"]
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
    analysis = ""
    if ANALYSIS_START in old and ANALYSIS_END in old:
        analysis = old[old.index(ANALYSIS_START) : old.index(ANALYSIS_END) + len(ANALYSIS_END)]
    L: list[str] = []
    a = L.append
    a("# Benchmark results\n")
    a(
        f"Written by `benchmarks/run.py{' --quick' if ctx['quick'] else ''}` on {ctx['date']} "
        f"(total benchmark time {ctx['elapsed_s'] / 60:.1f} min). Re-run with `make bench`.\n"
    )
    a("## Machine and versions\n")
    a(
        f"- CPU: {m['cpu']}; `nproc` {m['nproc']} (usable by this process: {m['affinity']}); "
        f"memory {m['mem_gb']:.1f} GB; Linux {m['kernel']}"
    )
    a(
        f"- load average (1/5/15 min) at start: {ctx['load_start']}; at end: {ctx['load_end']}"
        + (
            " — **the machine was shared with other work during this run, so absolute times are pessimistic "
            "and noisy; compare the ratios**"
            if float(ctx["load_start"].split()[0]) > m["affinity"] * 0.75
            else ""
        )
    )
    a("- " + ", ".join(f"{k} {val}" for k, val in v.items()))
    a("")
    a("## Targets (2-core machine)\n")
    a("| target | limit | measured | result |")
    a("|---|---|---|---|")
    for row in ctx["target_rows"]:
        a("| " + " | ".join(row) + " |")
    a("")

    cold = ctx.get("cold")
    if cold:
        a(f"## Cold `ai-serving plan {COLD_STACK}` (process start to exit, policy pack included)\n")
        a(f"- wall: {fmt(cold['wall'])}")
        a(f"- CPU (user+sys of the process tree): {fmt(cold['cpu'])}")
        a(f"- peak RSS of the biggest single process (wait4 ru_maxrss): {fmt(cold['maxrss'], 'MB', 0)}")
        a(f"- peak RSS of the whole tree (CLI + policy pack, /proc sampled): {fmt(cold['tree'], 'MB', 0)}")
        a(f"- exit codes: {cold['rc']}\n")

    ph = ctx.get("phases")
    if ph:
        a(
            f"## Breakdown of one plan ({COLD_STACK}, {ph['resources']} registrations), "
            "fresh process each run\n"
        )
        a("| phase | median s | min | max |")
        a("|---|---|---|---|")
        total = 0.0
        for k, s in ph["phases"].items():
            if not k.startswith("("):
                total += s["median"]
            a(f"| {k} | {s['median']:.3f} | {s['min']:.3f} | {s['max']:.3f} |")
        a(f"| **sum of phases (excl. parenthesised)** | **{total:.3f}** | | |")
        a("")

    fl = ctx.get("floor")
    if fl:
        a("## Floor (same run)\n")
        a(
            "Azure SDK modules imported under `infra/`: "
            f"{', '.join(x.split('.')[-1] for x in fl['_modules'])}.\n"
        )
        a("| command | wall | peak RSS |")
        a("|---|---|---|")
        for k, s in fl.items():
            if not k.startswith("_"):
                a(f"| `{k}` | {fmt(s['wall'])} | {s['rss']['median']:.0f} MB |")
        a("")

    al = ctx.get("all")
    if al:
        a("## `ai-serving plan --all` over N generated stacks\n")
        a(
            f"Stacks generated in a temporary directory with {al['generator']}: teams `bench000`…, "
            "environments "
            "cycling dev/prod/test, every team with an OpenAI deployment, "
            "every second one with an A100 GPU pool. "
            "Output to a temporary `--out`, `--quiet`, default workers.\n"
        )
        a(
            "| N | workers | total wall | inside plan_all | CPU (tree) | peak worker + its policy pack "
            "| biggest process | whole tree | exit | stack statuses |"
        )
        a("|---|---|---|---|---|---|---|---|---|---|")
        for n, s in al["sizes"].items():
            cpu = f"{s['cpu']['median']:.1f} s" if "cpu" in s else "n/a"
            a(
                f"| {n} | {s['workers']} | {fmt(s['wall'], 's', 1)} | {s['inner']['median']:.1f} s | {cpu} "
                f"| {s['worker_tree']['median']:.0f} MB | {s['maxrss']['median']:.0f} MB "
                f"| {s['tree']['median']:.0f} MB "
                f"| {s['rc']} | {s['statuses']} |"
            )
        a("")
        ns = sorted(al["sizes"])
        slopes = []
        for lo, hi in zip(ns, ns[1:], strict=False):
            d = (al["sizes"][hi]["wall"]["median"] - al["sizes"][lo]["wall"]["median"]) / (hi - lo)
            slopes.append(f"N {lo}→{hi}: {d:.3f} s/stack")
        a("Marginal time per stack (slope of median wall between N values): " + "; ".join(slopes) + ".\n")

    warm = ctx.get("warm")
    if warm:
        a(f"## Where a warm stack's CPU goes ({warm['stacks']} generated stacks, one warm worker)\n")
        a(
            "One process plans generated stacks (as above) the way a `plan --all` worker does; the first warms "
            "it and is left out. CPU seconds of all threads; the pack's analyzer calls are the gRPC handlers' "
            "thread time (pulumi_policy decoding the resources and the rules), measured by a copy of "
            "`policies/` whose `__main__.py` times the real pack's calls.\n"
        )
        a("| per stack | mean CPU s | median | min | max |")
        a("|---|---|---|---|---|")
        for key, label in (("worker", "worker process (all its work for the stack)"),
                           ("program", "  of which: the program under mocks (the Pulumi SDK's registrations)"),
                           ("pack", "policy pack process (fork to the end of AnalyzeStack)"),
                           ("handlers", "  of which: its analyzer calls (decoding + rules)")):
            st = warm[key]
            a(f"| {label} | **{st['mean']:.3f}** | {st['median']:.3f} | {st['min']:.3f} | {st['max']:.3f} |")
        a("")
        fl = warm_floor(ctx)
        if fl:
            a(
                f"The least time {fl['n']} stacks can take on {fl['cores']} cores, from these figures: the cold-plan "
                f"floor ({fl['start']:.2f} s, paid once per core, in parallel) plus each stack's CPU spread over the "
                "cores, and nothing else (no process start, no gRPC, no recording, no report):\n"
            )
            a("| what each stack costs | per stack | 100 stacks, at least |")
            a("|---|---|---|")
            a(f"| the program under mocks only | {warm['program']['mean']:.3f} s | **{fl['program_only']:.1f} s** |")
            a(f"| + the pack's analyzer calls | {fl['per_stack_floor']:.3f} s | **{fl['program_and_rules']:.1f} s** |")
            a(f"| everything measured (worker + pack process) | {fl['per_stack_today']:.3f} s "
              f"| **{fl['today']:.1f} s** |")
            a("")

    eng = ctx.get("engine")
    if eng:
        a("## Offline plan beside the real engine (same stacks, same run)\n")
        a(
            f"`pulumi preview --policy-pack policies --policy-pack-config DIR/deploy-policy-config.json` (the "
            f"plan's, as CI previews; pulumi {eng['pulumi']}, built by `make engine`, with the witness's stand-in "
            "azure-native provider, file backend, in the witness's scratch project) against `ai-serving plan STACK "
            "--out DIR --quiet` on the same stack file, alternating, each process start to exit.\n"
        )
        a("| stack | ai-serving plan | pulumi preview | preview / plan | exit (plan, preview) |")
        a("|---|---|---|---|---|")
        for stack, st in eng["stacks"].items():
            a(
                f"| {stack} | {fmt(st['plan'])} | {fmt(st['preview'])} "
                f"| {st['preview']['median'] / st['plan']['median']:.1f} × | {st['plan_rc']}, {st['preview_rc']} |"
            )
        a(f"\nSum of medians: the real preview takes **{eng['ratio']:.1f} ×** as long as the offline plan.\n")

    if ctx.get("watch"):
        a(f"## `ai-serving plan {COLD_STACK} --watch`: re-plan after a save\n")
        a(f"- each re-plan, as the watch reports it (a save to the reported line): {fmt(ctx['watch']['replan'])}\n")

    if ctx.get("tests"):
        t = ctx["tests"]
        a("## Test suite\n")
        a(f"`python -m pytest -q -x`: {t['wall_s']:.1f} s, exit {t['rc']} ({t['summary']}); one run.\n")

    if ctx.get("profile"):
        a("## Profile of one in-process plan (pyinstrument, top of the call tree)\n")
        a("```text\n" + ctx["profile"] + "\n```\n")

    a("## Analysis\n")
    a(analysis or f"{ANALYSIS_START}\n(no analysis written yet)\n{ANALYSIS_END}")
    a("")
    RESULTS.write_text("\n".join(L), encoding="utf-8")


def target_rows(ctx: dict) -> list[list[str]]:
    rows = []
    if ctx.get("cold"):
        med = ctx["cold"]["wall"]["median"]
        floor = (ctx.get("floor") or {}).get(FLOOR_CASE)
        if floor:
            ratio = med / floor["wall"]["median"]
            rows.append(
                [
                    f"one stack cold, plan + policy (median) / floor `{FLOOR_CASE.split(' (')[0]}`",
                    f"≤ {TARGETS['cold_vs_floor']} ×",
                    f"{med:.2f} s / {floor['wall']['median']:.2f} s = {ratio:.2f} ×",
                    verdict(ratio <= TARGETS["cold_vs_floor"]),
                ]
            )
        else:
            rows.append(["one stack cold, plan + policy (median)", "floor not measured", f"{med:.2f} s", "n/a"])
    al = ctx.get("all")
    if al:
        sizes = al["sizes"]
        big = max(sizes)
        tot = sizes[big]["wall"]["median"]
        label = f"{big} stacks --all, total" + ("" if big == 100 else " (N = 100 not run; limit scaled to N)")
        rows.append(
            [
                label,
                f"≤ {TARGETS['all100_total_s'] * big / 100:g} s"
                + ("" if big == 100 else f" ({TARGETS['all100_total_s']:.0f} s for 100)"),
                f"{tot:.1f} s",
                verdict(tot <= TARGETS["all100_total_s"] * big / 100),
            ]
        )
        lo = min(n for n in sizes if n >= 10) if any(n >= 10 for n in sizes) else min(sizes)
        if big > lo:
            slope = (sizes[big]["wall"]["median"] - sizes[lo]["wall"]["median"]) / (big - lo)
            rows.append(
                [
                    f"marginal per stack (N {lo}→{big})",
                    f"≤ {TARGETS['marginal_s']} s",
                    f"{slope:.3f} s",
                    verdict(slope <= TARGETS["marginal_s"]),
                ]
            )
        peak = max(s["worker_tree"]["max"] for s in sizes.values())
        rows.append(
            [
                "peak memory per worker (worker + its policy pack)",
                f"≤ {TARGETS['worker_mb']:.0f} MB",
                f"{peak:.0f} MB",
                verdict(peak <= TARGETS["worker_mb"]),
            ]
        )
    fl = warm_floor(ctx)
    if fl:
        rows.append(
            [
                f"least possible for {fl['n']} stacks --all: cold-plan floor + {fl['n']} × (program under mocks + "
                f"the pack's analyzer calls) / {fl['cores']} cores",
                f"≤ {TARGETS['all100_total_s']:.0f} s (the target above)",
                f"{fl['program_and_rules']:.1f} s",
                "the target is below this floor" if fl["program_and_rules"] > TARGETS["all100_total_s"]
                else "the floor allows the target",
            ]
        )
    if ctx.get("watch"):
        med = ctx["watch"]["replan"]["median"]
        rows.append([f"`plan {COLD_STACK} --watch`, re-plan after a save (median)", "well under 1 s",
                     f"{med:.2f} s", verdict(med < 1.0)])
    eng = ctx.get("engine")
    if eng:
        rows.append(
            [
                f"offline plan vs real `pulumi preview --policy-pack` ({len(eng['stacks'])} stacks, same run)",
                "stated, no limit",
                f"preview / plan = {eng['ratio']:.1f} ×",
                "measured",
            ]
        )
    if ctx.get("tests"):
        w = ctx["tests"]["wall_s"]
        rows.append(
            ["test suite", f"≤ {TARGETS['tests_s']:.0f} s", f"{w:.1f} s", verdict(w <= TARGETS["tests_s"])]
        )
    return rows


def checkpoint_all(partial: dict, checkpoint) -> None:
    """Publish the --all sizes measured so far (so an interrupted run still leaves results)."""
    _PARTIAL["all"] = partial
    checkpoint()


_PARTIAL: dict = {}


def checkpoint(ctx: dict, started: float) -> None:
    """(Re)write RESULTS.md with everything measured so far."""
    if "all" in _PARTIAL and "all" not in ctx:
        ctx = {**ctx, "all": _PARTIAL["all"]}
    ctx["load_end"] = loadavg()
    ctx["elapsed_s"] = time.perf_counter() - started
    ctx["target_rows"] = target_rows(ctx)
    write_results(ctx)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 cold runs, N = 1, 10, 50 once each")
    ap.add_argument("--cold-reps", type=int)
    ap.add_argument("--sizes", help="comma-separated N values (default 1,10,50,100)")
    ap.add_argument("--small-reps", type=int, help="runs for N ≤ 10 (default 3)")
    ap.add_argument("--large-reps", type=int, help="runs for N > 10 (default 2)")
    ap.add_argument("--engine-reps", type=int, help="real-engine previews per stack (default 2; --quick 1)")
    ap.add_argument("--skip", default="", help="comma-separated: floor,cold,phases,warm,all,watch,engine,tests,profile")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    cold_reps = args.cold_reps or (3 if args.quick else 5)
    sizes = [int(x) for x in (args.sizes or ("1,10,50" if args.quick else "1,10,50,100")).split(",")]
    small, large = args.small_reps or (1 if args.quick else 3), args.large_reps or (1 if args.quick else 2)
    started = time.perf_counter()
    ctx: dict = {
        "quick": args.quick,
        "machine": machine(),
        "versions": versions(),
        "load_start": loadavg(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    log(f"machine {ctx['machine']}, load {ctx['load_start']}")
    with tempfile.TemporaryDirectory(prefix="ai-serving-bench-") as tmpdir:
        tmp = Path(tmpdir)
        if "floor" not in skip:
            ctx["floor"] = bench_floor(cold_reps)
            checkpoint(ctx, started)
        if "cold" not in skip:
            ctx["cold"] = bench_cold(cold_reps, tmp)
            checkpoint(ctx, started)
        if "phases" not in skip:
            ctx["phases"] = bench_phases(min(cold_reps, 3), tmp)
            checkpoint(ctx, started)
        if "warm" not in skip:
            ctx["warm"] = bench_warm(WARM_STACKS + 1, tmp)
            checkpoint(ctx, started)
        if "all" not in skip:
            ctx["all"] = bench_all(
                sizes, {n: small if n <= 10 else large for n in sizes}, tmp, lambda: checkpoint(ctx, started)
            )
        if "watch" not in skip:
            ctx["watch"] = bench_watch(cold_reps, tmp)
            checkpoint(ctx, started)
        if "engine" not in skip:
            ctx["engine"] = bench_engine(args.engine_reps or (1 if args.quick else 2), tmp)
            checkpoint(ctx, started)
        if "tests" not in skip:
            ctx["tests"] = bench_tests()
            checkpoint(ctx, started)
        if "profile" not in skip:
            ctx["profile"] = profile_cold(tmp)
    checkpoint(ctx, started)
    log(f"wrote {RESULTS.relative_to(ROOT)}")
    for row in ctx["target_rows"]:
        print("  " + " | ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Play a GPU pool instance's boot from the plan: cloud-init's part, then the serving unit's start.

Input: the planned scale set (decoded custom data, extensions, capacity) and its autoscale
setting. Steps, in the order a VM runs them:

1. **instances**: will Azure ever create a VM (capacity, or an autoscale profile that can leave 0)?
   The OS image's preinstalled software (``facts/contracts.yaml``, ``images``) is the starting state.
2. **write_files**: the files cloud-init writes, with their modes, into the sandbox root.
3. **packages** (only if the document has cloud-init's ``packages:``): cloud-init's apt call,
   which waits 30 s for the apt lock (``APT_LOCK_WAIT_TIMEOUT``, cloudinit/distros/debian.py).
4. **runcmd**: each command, as cloud-init's ``runcmd`` script does (``sh``).
5. **unit**: for every unit runcmd started (``systemctl enable --now``): each ``ExecStartPre`` and
   the ``ExecStart``, as systemd runs them (no shell, ``Environment=``, systemd's PATH; a ``-``
   prefix ignores a failure).
6. **health**: the health extension's protocol against what the server answers.

The unit is started twice: first before the NVIDIA driver extension's reboot (no driver: the
prestart must fail cleanly, and systemd retries every ``RestartSec``), then after it (``nvidia-smi``
answers), when it must serve. Nothing before the reboot (cloud-init's packages and runcmd, the first
start) may call apt: the extension fails when it finds the dpkg lock held. A step *fails* on a non-zero
exit (unless ignored), "command not found", an unbound variable, or any call a fake rejected, even when
the script carried on.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .lint import scripts, shellcheck, verify_units
from .sandbox import Result, Sandbox

FACTS_DIR = Path(__file__).parent / "facts"
VMSS = "azure-native:compute:VirtualMachineScaleSet"
AUTOSCALE = "azure-native:monitor:AutoscaleSetting"
HEALTH_EXTENSION_TYPE = "ApplicationHealthLinux"
CLOUD_INIT_LOCK_WAIT_SECONDS = 30
"""cloud-init's own wait for the apt lock (cloudinit/distros/debian.py, APT_LOCK_WAIT_TIMEOUT)."""
KNOWN_MODULES = {"write_files", "runcmd", "packages", "package_update", "package_upgrade", "ssh_pwauth",
                 "disable_root"}
"""cloud-config keys the rehearsal plays; any other key is a failure (it would go unrehearsed)."""
_SHELL_FAILURES = ("command not found", "unbound variable", "No such file or directory", "syntax error")
APT_TOOLS = ("apt-get", "apt", "dpkg")
"""Tools that take the dpkg lock: none may run before the driver extension has installed the driver."""


@cache
def contracts() -> dict[str, Any]:
    """The tool and service contracts the fakes check (``facts/contracts.yaml``)."""
    return yaml.safe_load((FACTS_DIR / "contracts.yaml").read_text(encoding="utf-8"))


def vllm_flags(version: str) -> list[str] | None:
    """``vllm serve`` flags of ``version`` (``facts/vllm-<version>-flags.txt``), None if not recorded."""
    path = FACTS_DIR / f"vllm-{version}-flags.txt"
    if not path.is_file():
        return None
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]


def image_version(image: str) -> str:
    """The vLLM release of an image reference ``vllm/vllm-openai:v0.34.0[@sha256:...]`` ('0.34.0')."""
    tag = image.split("@", 1)[0].rsplit(":", 1)[-1] if ":" in image.split("@", 1)[0].rsplit("/", 1)[-1] else ""
    return tag.removeprefix("v")


@dataclass
class Expectation:
    """What this pool's VM must do: from the stack config and the plan, never from the custom data."""

    image: str
    model: str
    port: int
    gpus: int
    gpu: str
    identity_resource_id: str
    """The ARM id of the user-assigned identity the scale set is given."""
    tenant_id: str
    vault_host: str | None
    registry: str | None
    gated_models: list[str]
    weights: dict[str, str] | None = None
    """``{host, container, path}`` of the private blob container the weights come from (None: the hub)."""
    weights_dir: str = ""
    container_weights_dir: str = ""
    private_only: bool = False
    """Image and weights must come from the private registry and blob container only: any pull from a
    public registry or the model hub is a failure."""

    def as_json(self) -> dict[str, Any]:
        version = image_version(self.image)
        return {**self.__dict__, "vllm_version": version, "vllm_flags": vllm_flags(version) or []}


@dataclass
class Step:
    """One thing the VM does, what the fakes saw, and what went wrong."""

    stage: str
    what: str
    calls: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    output: str = ""


@dataclass
class Rehearsal:
    """The steps of one boot; ``ok`` when none had a problem."""

    steps: list[Step] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"{s.stage}: {s.what}: {p}" for s in self.steps for p in s.problems]

    @property
    def ok(self) -> bool:
        return not self.problems


def _settings_by_type(vm_profile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    extensions = (vm_profile.get("extensionProfile") or {}).get("extensions") or []
    return {e.get("type"): e for e in extensions}


def _instances_step(vmss: dict[str, Any], autoscale: dict[str, Any] | None) -> Step:
    step = Step("instances", "how many VMs Azure creates")
    capacity = int((vmss.get("sku") or {}).get("capacity") or 0)
    profiles = (autoscale or {}).get("profiles") or []
    # At zero instances a metric rule has no data (no VM emits it), so autoscale holds the profile's
    # default; only a profile that starts by itself (a schedule) or a default/minimum >= 1 brings a VM.
    starts = [p for p in profiles
              if int(p["capacity"]["minimum"]) >= 1 or int(p["capacity"]["default"]) >= 1
              or p.get("recurrence") or p.get("fixedDate")]
    step.output = f"capacity {capacity}; autoscale profiles: " + ", ".join(
        f"{p.get('name')} (min {p['capacity']['minimum']}, default {p['capacity']['default']})" for p in profiles)
    if capacity < 1 and not starts:
        step.problems.append("the scale set starts with 0 instances and no autoscale profile can leave 0 "
                             "(metric rules need a running VM to measure): no VM ever boots")
    return step


def _check(step: Step, result: Result, sandbox: Sandbox, seen: int, *, ignore_status: bool = False) -> int:
    calls = sandbox.calls()
    step.calls = calls[seen:]
    step.output = (result.stdout + result.stderr).strip()
    for call in step.calls:
        if call["rejected"]:
            step.problems.append(f"{call['tool']} rejected: {call['rejected']}")
    for marker in _SHELL_FAILURES:
        for line in result.stderr.splitlines():
            if marker in line and "REJECTED" not in line:
                step.problems.append(line.strip())
    if result.status != 0 and not ignore_status and not step.problems or result.status != 0 and not ignore_status:
        step.problems.append(f"exit status {result.status}")
    return len(calls)


def _no_apt_before_driver(step: Step) -> None:
    """A problem for every apt call of ``step``, which runs before the NVIDIA driver is installed.

    The NvidiaGpuDriverLinux extension does not wait for the dpkg lock: finding it held, it fails
    ("DPKG frontend (/var/lib/dpkg/lock-frontend) is locked by another process",
    MicrosoftDocs/azure-docs#111614), the instance's provisioning fails, and automatic repairs do not
    replace an instance whose provisioning failed. So first boot leaves apt to the extension.
    """
    for call in step.calls:
        if call["tool"] in APT_TOOLS:
            step.problems.append(
                f"{call['tool']} {' '.join(call['argv'][:2])} runs before the NVIDIA driver is installed: the driver "
                "extension fails instead of waiting when it finds the dpkg lock held (MicrosoftDocs/azure-docs#111614)")


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit file as {section: [(key, value), ...]} (continuation lines joined)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    logical = ""
    for raw in text.splitlines():
        if not logical and raw.lstrip().startswith(("#", ";")):
            continue
        if raw.endswith("\\"):
            logical += raw[:-1] + " "
            continue
        line, logical = (logical + raw).strip(), ""
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif current is not None and "=" in line:
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
    return sections


def _set_driver_loaded(sandbox: Sandbox, loaded: bool) -> None:
    path = sandbox.path("/opt/rehearsal/state.json")
    state = json.loads(path.read_text()) if path.exists() else {}
    state["driver_loaded"] = loaded
    path.write_text(json.dumps(state))


def _service(sandbox: Sandbox, unit: str) -> tuple[dict[str, str], list[tuple[str, str]], str]:
    """(Environment=, [(ExecStartPre|ExecStart, command)], TimeoutStartSec) of ``unit`` in the root."""
    sections = parse_unit(sandbox.path(f"/etc/systemd/system/{unit}").read_text(encoding="utf-8")).get("Service", [])
    env: dict[str, str] = {}
    for key, value in sections:
        if key == "Environment":
            for assignment in shlex.split(value):
                name, _, val = assignment.partition("=")
                env[name] = val
    commands = [(k, v) for k, v in sections if k in ("ExecStartPre", "ExecStart")]
    timeout = dict(sections).get("TimeoutStartSec", "90s")  # systemd's DefaultTimeoutStartSec
    return env, commands, timeout


def _before_reboot_step(sandbox: Sandbox, unit: str, seen: int) -> tuple[Step, int]:
    """The unit's first start, before the driver extension rebooted the VM: it must fail cleanly.

    The prestart finds no driver and exits non-zero, so systemd retries; it must not start a
    container without a GPU, nor touch apt while the driver extension may need it.
    """
    step = Step(f"unit {unit}", "first start, before the driver extension's reboot (expected to fail)")
    env, commands, timeout = _service(sandbox, unit)
    _set_driver_loaded(sandbox, False)
    result = None
    for key, value in commands:
        if key != "ExecStartPre" or value.startswith("-"):
            continue
        result = sandbox.run(shlex.split(value.lstrip("@+!")), env=env)
        if result.status != 0:
            break
    _set_driver_loaded(sandbox, True)
    if result is None or result.status == 0:
        step.problems.append("the prestart succeeded without a GPU driver: the container would start without a GPU")
        return step, seen
    seen = _check(step, result, sandbox, seen, ignore_status=True)
    _no_apt_before_driver(step)
    if "not ready" not in result.stderr:
        step.problems.append("the prestart failed for another reason than the missing driver: "
                             + result.stderr.strip()[-300:])
    _outlived(step, timeout)
    return step, seen


def _unit_steps(sandbox: Sandbox, unit: str, seen: int) -> tuple[list[Step], int]:
    env, commands, timeout = _service(sandbox, unit)
    steps: list[Step] = []
    for key, value in commands:
        ignore = value.startswith("-")
        argv = shlex.split(value.lstrip("-@+!"))
        step = Step(f"unit {unit}", f"{key}={' '.join(argv)}")
        result = sandbox.run(argv, env=env)
        seen = _check(step, result, sandbox, seen, ignore_status=ignore)
        steps.append(step)
        if step.problems:
            step.problems.append("the start fails; systemd retries it every RestartSec, forever")
            break
        if _outlived(step, timeout):
            break
    return steps, seen


def _resumed_download_step(sandbox: Sandbox, unit: str, expect: Expectation, seen: int) -> tuple[Step, int]:
    """A start after one that systemd killed mid-download: it fetches only the blobs still missing.

    A large model's download can outlast ``TimeoutStartSec``; a prestart that started again from zero
    every time would never finish.
    """
    step = Step(f"unit {unit}", "a start after one killed mid-download (fetches only the missing blob)")
    assert expect.weights is not None
    folder = sandbox.path(f"{expect.weights_dir}/{expect.weights['path']}")
    marker = folder / ".ai-serving-complete"
    blobs = sorted(p for p in folder.rglob("*") if p.is_file() and p != marker)
    if not marker.is_file() or not blobs:
        step.problems.append(f"the first start left no completed download in {expect.weights_dir}")
        return step, seen
    marker.unlink()
    missing = blobs[-1]
    missing.unlink()
    env, commands, _ = _service(sandbox, unit)
    prestart = next(v for k, v in commands if k == "ExecStartPre" and not v.startswith("-"))
    seen = _check(step, sandbox.run(shlex.split(prestart.lstrip("@+!")), env=env), sandbox, seen)
    fetched = [c["note"].removeprefix("downloaded ") for c in step.calls if c["note"].startswith("downloaded ")]
    wanted = [str(missing.relative_to(sandbox.path(expect.weights_dir)))]
    if fetched != wanted:
        step.problems.append(f"the start downloaded {fetched} again; only {wanted} was missing")
    if not marker.is_file() or not missing.is_file():
        step.problems.append("the resumed download did not complete the weights")
    return step, seen


def _outlived(step: Step, timeout: str) -> bool:
    """Whether the apt lock waits of ``step`` could outlast the unit's ``TimeoutStartSec`` (a problem)."""
    waits = sum(_lock_wait(c["argv"]) for c in step.calls if c["tool"] == "apt-get")
    if waits and waits >= _seconds(timeout):
        step.problems.append(
            f"TimeoutStartSec={timeout} is shorter than the apt lock waits of this start ({waits} s): "
            "systemd would kill the prestart while apt is still waiting for the driver extension")
        return True
    return False


def _lock_wait(argv: list[str]) -> int:
    """The ``DPkg::Lock::Timeout`` of an apt-get call, in seconds (0 when it sets none)."""
    for i, arg in enumerate(argv):
        option = argv[i + 1] if arg in ("-o", "--option") and i + 1 < len(argv) else arg.removeprefix("--option=")
        key, _, value = option.partition("=")
        if key.lower() == "dpkg::lock::timeout" and value.isdigit():
            return int(value)
    return 0


def _seconds(span: str) -> float:
    """A systemd time span (``90s``, ``20min``, ``1h 30min``, ``infinity``) in seconds."""
    if span.strip() == "infinity":
        return float("inf")
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", span):
        total += float(number) * units.get(unit or "s", 1)
    return total


def _health_step(vm_profile: dict[str, Any], port: int) -> Step:
    facts = contracts()
    step = Step("health", "the health extension's verdict once the model is loaded")
    ext = _settings_by_type(vm_profile).get(HEALTH_EXTENSION_TYPE)
    if ext is None:
        step.problems.append("no ApplicationHealthLinux extension: repairs and upgrades have no health signal")
        return step
    version, settings = str(ext.get("typeHandlerVersion")), ext.get("settings") or {}
    path = settings.get("requestPath")
    probe_port = int(settings.get("port", 0))
    step.output = f"ApplicationHealthLinux {version}: {settings.get('protocol')}://localhost:{probe_port}{path}"
    if settings.get("protocol") != "http" or probe_port != port:
        step.problems.append(f"probes {settings.get('protocol')} port {probe_port}, the server is http :{port}")
    documented = facts["health_extension"]["settings"].get(version, [])
    undocumented = sorted(set(settings) - set(documented))
    if undocumented:
        step.problems.append(f"settings {', '.join(undocumented)} are not in the {version} schema")
    if path != facts["vllm"]["health_path"]:
        step.problems.append(f"probes {path!r}; vLLM answers {facts['vllm']['health_path']!r}")
    if version in facts["health_extension"]["rich_versions"] and facts["vllm"]["health_body"] == "":
        step.problems.append(
            f"version {version} is Rich Health States: Healthy needs the body "
            '{"ApplicationHealthState": "Healthy"}, vLLM answers 200 with an empty body, which is Unknown, '
            "and Unknown after the grace period is Unhealthy: repairs replace the VM again and again")
    elif version not in facts["health_extension"]["binary_versions"] + facts["health_extension"]["rich_versions"]:
        step.problems.append(f"unknown ApplicationHealthLinux version {version}")
    return step


def rehearse(vmss: dict[str, Any], autoscale: dict[str, Any] | None, expect: Expectation) -> Rehearsal:
    """Play the boot of one instance of the planned scale set ``vmss`` (wire-form inputs)."""
    rehearsal = Rehearsal()
    rehearsal.steps.append(_instances_step(vmss, autoscale))
    profile = vmss["virtualMachineProfile"]
    document = base64.b64decode(profile["osProfile"]["customData"]).decode("utf-8")
    config = yaml.safe_load(document)
    head = Step("cloud-config", "the custom data document")
    if not document.startswith("#cloud-config\n") or not isinstance(config, dict):
        head.problems.append("custom data is not a #cloud-config document")
        rehearsal.steps.append(head)
        return rehearsal
    unknown = sorted(set(config) - KNOWN_MODULES)
    if unknown:
        head.problems.append(f"cloud-config keys the rehearsal does not play: {', '.join(unknown)}")
    if expect.as_json()["vllm_flags"] == []:
        head.problems.append(f"no vLLM flag list for image {expect.image} (facts/vllm-<version>-flags.txt): "
                             "its flags cannot be checked")
    ref = (profile.get("storageProfile") or {}).get("imageReference") or {}
    image_key = f"{ref.get('publisher')}:{ref.get('offer')}:{ref.get('sku')}"
    os_image = contracts()["images"].get(image_key)
    if os_image is None:
        head.problems.append(f"OS image {image_key} is not in facts/contracts.yaml (what it has preinstalled)")
    rehearsal.steps.append(head)
    if head.problems:
        return rehearsal
    with Sandbox(contracts(), expect.as_json(), os_image) as box:
        seen = 0
        for item in config.get("write_files") or []:
            mode, owner = item.get("permissions", "0644"), item.get("owner", "root:root")
            step = Step("write_files", f"{item['path']} ({mode} {owner})")
            target = box.path(item["path"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.get("content", ""), encoding="utf-8")
            target.chmod(int(str(item.get("permissions", "0644")), 8))
            rehearsal.steps.append(step)
        for name, text, shell in scripts(config):
            rehearsal.steps.append(Step("lint", f"shellcheck {name}", problems=shellcheck(name, text, shell)))
        if config.get("packages") or config.get("package_update"):
            # cloud-init's package module: apt-get with its own 30 s lock wait.
            for words in (["update"], ["install", *(config.get("packages") or [])]):
                step = Step("packages", f"cloud-init: apt-get {' '.join(words)}")
                argv = ["apt-get", "-o", f"DPkg::Lock::Timeout={CLOUD_INIT_LOCK_WAIT_SECONDS}", "--assume-yes",
                        "--quiet", *words]
                seen = _check(step, box.run(argv, env={"DEBIAN_FRONTEND": "noninteractive"}), box, seen)
                _no_apt_before_driver(step)
                rehearsal.steps.append(step)
        for command in config.get("runcmd") or []:
            line = command if isinstance(command, str) else shlex.join(command)
            step = Step("runcmd", line)
            seen = _check(step, box.run(["sh", "-c", line]), box, seen)
            _no_apt_before_driver(step)
            rehearsal.steps.append(step)
        started = [u for c in box.calls() if c["tool"] == "systemctl" and c["argv"][:1] == ["enable"]
                   for u in c["argv"][1:] if not u.startswith("--") and box.path(f"/etc/systemd/system/{u}").is_file()]
        if not started:
            rehearsal.steps.append(Step("unit", "start the serving unit",
                                        problems=["runcmd starts no unit of its own: nothing serves"]))
        for unit in started:
            first, seen = _before_reboot_step(box, unit, seen)
            rehearsal.steps.append(first)
            if first.problems:
                return rehearsal
            steps, seen = _unit_steps(box, unit, seen)
            rehearsal.steps.extend(steps)
            if not steps or steps[-1].problems:
                return rehearsal
            if expect.weights is not None:
                resumed, seen = _resumed_download_step(box, unit, expect, seen)
                rehearsal.steps.append(resumed)
        # After the start: the commands a unit names (/usr/bin/docker) exist only once the prestart
        # installed them, and systemd-analyze verify checks that they do.
        units = [item["path"] for item in config.get("write_files") or [] if item["path"].endswith(".service")]
        if units:
            rehearsal.steps.append(Step("lint", f"systemd-analyze verify {' '.join(units)}",
                                        problems=verify_units(box, units)))
    rehearsal.steps.append(_health_step(profile, expect.port))
    return rehearsal


def find_pool(resources: Iterable[Any]) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """(scale set inputs, its autoscale setting's inputs) in a plan's registrations, None without a pool."""
    resources = list(resources)
    vmss = next((r for r in resources if r.type == VMSS), None)
    if vmss is None:
        return None
    autoscale = next((r for r in resources if r.type == AUTOSCALE), None)
    return vmss.inputs, (autoscale.inputs if autoscale is not None else None)


def render(rehearsal: Rehearsal) -> Iterable[str]:
    """Human-readable lines: each step, the fakes' calls under it, and problems marked FAIL."""
    for n, step in enumerate(rehearsal.steps, 1):
        yield f"{n:2}. [{step.stage}] {step.what}" + ("" if step.problems else "  ok")
        if step.output and step.stage in ("instances", "health"):
            yield f"      {step.output}"
        for call in step.calls:
            mark = "REJECTED" if call["rejected"] else "->"
            yield f"      {mark} {call['tool']} {shlex.join(call['argv'])[:160]}"
            yield f"         {call['rejected'] or call['note']}"
        for problem in step.problems:
            yield f"      FAIL {problem}"

"""Drive a CrossGuard policy pack over its gRPC analyzer protocol, as ``pulumi preview`` does.

The pack runs as its own process (``python -u -m pulumi.policy <engine> <pack-dir>``, working
directory = the pack), prints its port, and answers GetAnalyzerInfo, Configure, ConfigureStack,
Analyze (per registration) and AnalyzeStack (once, with every resource). One process can serve
many stacks: each stack is configured afresh before it is analysed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc

from infra.config.errors import is_key_material, shown

from ..outcome import UsageError, bounded, exit_text
from .runner import ROOT_STACK_TYPE, ProgramRun, Registration

LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
          analyzer_pb2.DISABLED: "disabled", analyzer_pb2.REMEDIATE: "remediate"}
LEVEL_VALUES = {v: k for k, v in LEVELS.items()}
START_TIMEOUT_S = 60
DEATH_GRACE_POLLS = 30
MAX_PORT_LINE_BYTES = 100
"""The pack's first line of output is its port; a longer one is not."""
MAX_STDERR_BYTES = 64 * 1024
"""How much of a pack's stderr is read when it did not start (its last line says why)."""
MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class PolicyMeta:
    """What GetAnalyzerInfo says about one policy."""

    name: str
    description: str
    level: str
    severity: int
    config_schema: dict[str, Any]
    required: list[str]
    tags: tuple[str, ...]
    remediation: str
    url: str
    stack_policy: bool


@dataclass
class Diagnostic:
    """One violation reported by the pack."""

    policy: str
    level: str
    urn: str
    message: str
    description: str


@dataclass
class Analysis:
    """Everything the pack said about one stack."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    not_applicable: dict[str, set[str]] = field(default_factory=dict)
    """urn -> names of policies that declared themselves not applicable to it."""
    analyzed: list[str] = field(default_factory=list)
    """URNs sent to Analyze, in order."""
    stack_urn: str = ""
    """The URN of the stack resource (``pulumi:pulumi:Stack``): what a stack policy judged as a whole.
    AnalyzeStack's not-applicable answers are under ``not_applicable[""]``."""


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    """The engine endpoint the pack may log to."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:  # noqa: N802
        self.messages.append(request.message)
        return empty_pb2.Empty()


class PackDied(RuntimeError):
    """The policy pack process ended (or stopped answering) before the stack was judged.

    Carries only text, so it crosses process boundaries (a gRPC error object holds locks and cannot
    be pickled back to ``plan --all``'s parent).
    """



class PackConfigError(UsageError):
    """The policy pack or its config is unusable (not a pack; a config the pack's schemas refuse): the same for
    every stack, so ``plan --all`` stops on it (exit 2, nothing written) instead of failing each stack."""


class PackDidNotStart(UsageError):
    """The policy pack process ended (or said something other than its port) before it listened.

    A broken pack (a syntax error, a missing ``__main__.py``, a bad PulumiPolicy.yaml) is bad input, as
    a bad stack file is: one line with the pack's own last error line, exit code 2.
    """


class _GuardedStub:
    """The analyzer stub, turning a failed call into ``PackDied`` naming the call and the process state."""

    def __init__(self, stub: Any, owner: PolicyPackProcess) -> None:
        self._stub, self._owner = stub, owner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._stub, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except grpc.RpcError as exc:
                raise self._owner.died_during(name, exc) from None

        return call


class PackZygote:
    """A warm process that forks policy-pack processes (see ``pack_zygote.py``); one per worker."""

    def __init__(self, pack_dir: Path) -> None:
        self.pack_dir = pack_dir.resolve()
        self._proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "ai_serving.engine.pack_zygote", str(self.pack_dir), str(os.getpid())],
            cwd=self.pack_dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def request(self, engine: str, env: Mapping[str, str]) -> None:
        """Ask for a pack process with ``env``, without waiting for it (:meth:`reply` says where it is).

        The zygote answers requests in order; each request must be followed by its ``reply``.
        """
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps({"engine": engine, "env": dict(env)}) + "\n")
            self._proc.stdin.flush()
        except OSError:  # BrokenPipeError: the zygote is gone
            raise PackDied(f"policy pack {self.pack_dir}: the pack zygote exited "
                           f"({exit_text(self._proc.poll(), unknown='still running')})") from None

    def reply(self) -> tuple[int, str]:
        """The pid and analyzer port of the pack process the oldest unanswered request started."""
        assert self._proc.stdout is not None
        reply = json.loads(self._proc.stdout.readline() or '{"error": "the pack zygote exited"}')
        if "error" in reply:
            raise RuntimeError(f"policy pack {self.pack_dir}: {reply['error']}")
        return int(reply["pid"]), str(reply["port"])

    @property
    def alive(self) -> bool:
        """Whether the zygote can still fork (a killed one is replaced by the worker)."""
        return self._proc.poll() is None

    def close(self) -> None:
        """Stop the zygote (its stdin closing ends it)."""
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        if self._proc.stdout:
            self._proc.stdout.close()


class PolicyPackProcess:
    """A running policy pack, and the engine side of the analyzer protocol.

    The pack runs as its own process, launched as the engine launches it, or forked with the same
    environment from a warm ``zygote`` when one is given (``plan --all``). With ``connect=False`` the
    constructor only launches it: the pack imports its modules (on another core) while the caller
    runs the program, and :meth:`connect` then waits for it and asks for its policies.
    """

    info: Any = None
    """GetAnalyzerInfo's answer (None until connected)."""

    def __init__(self, pack_dir: Path, *, project: str, stack: str, config: Mapping[str, str],
                 dry_run: bool = True, zygote: PackZygote | None = None, connect: bool = True) -> None:
        self.pack_dir = pack_dir.resolve()
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file():
            raise PackConfigError(f"{self.pack_dir}: not a policy pack (no PulumiPolicy.yaml)")
        self._engine = _EngineServicer()
        self._engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine, self._engine_server)
        engine_port = self._engine_server.add_insecure_port("127.0.0.1:0")
        self._engine_server.start()
        env = dict(os.environ)
        env.update(
            PULUMI_PROJECT=project,
            PULUMI_STACK=stack,
            PULUMI_ORGANIZATION="organization",
            PULUMI_DRY_RUN="true" if dry_run else "false",
            PULUMI_CONFIG=json.dumps(dict(config)),
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self._port: str | None = None
        self._channel: grpc.Channel | None = None
        self._zygote: PackZygote | None = None
        """The zygote whose reply (this pack's pid and port) is still to be read."""
        if zygote is not None:
            # Only asked for: the fork and the pack's start-up run while the caller runs the program.
            zygote.request(f"127.0.0.1:{engine_port}", env)
            self._zygote = zygote
        else:
            # Like the engine: the pack's own directory is the working directory and on sys.path.
            self._proc = subprocess.Popen(
                [sys.executable, "-u", "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", str(self.pack_dir)],
                cwd=self.pack_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
        if connect:
            self.connect()

    def connect(self) -> None:
        """Wait until the pack listens, then GetAnalyzerInfo (once; later calls return at once)."""
        if self.info is not None:
            return
        self._await_fork()
        if self._port is None and self._proc is not None:
            out = self._proc.stdout.readline(MAX_PORT_LINE_BYTES) if self._proc.stdout else b""
            port_line = out.decode(errors="replace").strip()
            if not port_line.isdigit():
                raise self._did_not_start(port_line)
            self._port = port_line
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self._port}")
        self.stub = _GuardedStub(analyzer_pb2_grpc.AnalyzerStub(self._channel), self)
        # wait_for_ready rather than grpc.channel_ready_future: the future's connectivity-polling thread
        # made every close() wait for it to notice (30-60 ms per stack in `plan --all`).
        self.info = self.stub.GetAnalyzerInfo(empty_pb2.Empty(), wait_for_ready=True, timeout=START_TIMEOUT_S)
        self.policies = {p.name: _meta(p) for p in self.info.policies}

    def _did_not_start(self, port_line: str) -> PackDidNotStart:
        """Stop the pack that did not start and say why in one line: the last line of its stderr (Python's
        error line after a traceback), else what it printed instead of its port, else how it ended."""
        assert self._proc is not None
        if self._proc.poll() is None:  # it printed something else and runs on: its stderr would never end
            self._proc.kill()
        code = self._proc.wait()
        err = b""
        if self._proc.stderr is not None:
            # What the ended process wrote is in the pipe; a read that would block (a process it started
            # still holding the pipe open) ends the read.
            fd = self._proc.stderr.fileno()
            os.set_blocking(fd, False)
            with contextlib.suppress(BlockingIOError):
                while len(err) < MAX_STDERR_BYTES and (chunk := os.read(fd, MAX_STDERR_BYTES - len(err))):
                    err += chunk
        self.close()
        lines = [line.strip() for line in err.decode(errors="replace").splitlines() if line.strip()]
        reason = lines[-1] if lines else (f"it printed {port_line!r} instead of its port" if port_line
                                          else f"it ended ({exit_text(code)}) without a word")
        return PackDidNotStart(f"policy pack {self.pack_dir} did not start: {bounded(reason, MAX_REASON_CHARS)}")

    def _await_fork(self) -> None:
        """Read the zygote's reply to this pack's request (once): its pid and port."""
        zygote, self._zygote = self._zygote, None
        if zygote is not None:
            self._pid, self._port = zygote.reply()

    def died_during(self, call: str, exc: grpc.RpcError) -> PackDied:
        """What to report when ``call`` failed: whether the pack process is gone, else the gRPC status."""
        pid = self._pid if self._pid is not None else (self._proc.pid if self._proc else None)
        state: str | None = None
        # The connection drops while the dying process is still being torn down: give it a moment.
        for _ in range(DEATH_GRACE_POLLS):
            state = self._exit_state()
            if state is not None:
                break
            time.sleep(0.1)
        if state is not None:
            return PackDied(f"the policy pack process (pid {pid}) died during {call}: {state}")
        code = exc.code().name if hasattr(exc, "code") else "UNKNOWN"
        details = exc.details() if hasattr(exc, "details") else str(exc)
        return PackDied(f"the policy pack failed during {call}: {code}: {str(details)[:500]}")

    def _exit_state(self) -> str | None:
        """How the pack process ended, or None while it runs."""
        if self._proc is not None:
            return exit_text(self._proc.returncode) if self._proc.poll() is not None else None
        if self._pid is not None:
            try:
                os.kill(self._pid, 0)
            except ProcessLookupError:
                return "gone (killed or crashed)"  # forked by the zygote, which reaps it
        return None

    @property
    def name(self) -> str:
        """The pack's name (from PolicyPack(name=...))."""
        return self.info.name

    @property
    def version(self) -> str:
        """The pack's version: PulumiPolicy.yaml's, as the CLI reports it, else the pack's own."""
        path = self.pack_dir / "PulumiPolicy.yaml"
        try:
            stat = path.stat()
        except OSError:
            return self.info.version
        return _declared_version(str(path), stat.st_mtime_ns, stat.st_size) or self.info.version

    def describe(self) -> dict[str, Any]:
        """The pack's name, version and each policy's rule id, text, level, remediation and link."""
        from ..verdict import rule_id

        return {
            "name": self.name,
            "version": self.version,
            "policies": {n: {"rule": rule_id(n), "description": m.description, "level": m.level,
                             "remediation": m.remediation, "url": m.url} for n, m in self.policies.items()},
        }

    def configure(self, user_config: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """Reconcile config (schema defaults, initial config, user file) and send Configure.

        Returns the effective ``{policy: {"enforcementLevel": ..., **properties}}``; a value that
        breaks a policy's JSON schema is a ``UsageError``, as it is for the CLI. The reconciliation is a
        pure function of the pack's policies (GetAnalyzerInfo) and the user's config, the same for every
        stack of ``plan --all``: it is worked out once per process for each pair (``_reconciled``).
        """
        key = json.dumps(dict(user_config or {}), sort_keys=True, default=str)
        effective, request = _reconciled(self.info.SerializeToString(deterministic=True), key)
        self.stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest.FromString(request))
        return json.loads(effective)

    def configure_stack(self, run: ProgramRun, config: Mapping[str, str], secret_keys: list[str],
                        *, dry_run: bool = True) -> None:
        """Send ConfigureStack: the stack's identity, config and tags."""
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=run.stack, project=run.project, organization="organization", dry_run=dry_run,
            config_secret_keys=list(secret_keys),
        )
        for k, v in config.items():
            request.config[k] = v
        for k, v in {"pulumi:project": run.project, "pulumi:runtime": "python"}.items():
            request.tags[k] = v
        self.stub.ConfigureStack(request)

    def analyze(self, run: ProgramRun) -> Analysis:
        """Analyze every registration in order (reads excluded), then AnalyzeStack with all of them."""
        out = Analysis()
        by_urn = {r.urn: r for r in run.resources}
        for reg in run.resources:
            if reg.type == ROOT_STACK_TYPE:
                out.stack_urn = reg.urn
            if reg.read:
                continue
            response = self.stub.Analyze(analyzer_pb2.AnalyzeRequest(
                type=reg.type, properties=reg.properties, urn=reg.urn, name=reg.name,
                options=_options(reg), provider=_provider(reg, by_urn),
            ))
            out.analyzed.append(reg.urn)
            self._collect(response, reg.urn, out)
        stack_request = analyzer_pb2.AnalyzeStackRequest()
        for reg in run.resources:
            resource = analyzer_pb2.AnalyzerResource(
                type=reg.type, properties=reg.properties, urn=reg.urn, name=reg.name,
                options=_options(reg), provider=_provider(reg, by_urn), parent=reg.parent or "",
                dependencies=reg.dependencies,
            )
            for prop, urns in reg.property_dependencies.items():
                resource.propertyDependencies[prop].urns.extend(urns)
            stack_request.resources.append(resource)
        self._collect(self.stub.AnalyzeStack(stack_request), "", out)
        return out

    def _collect(self, response: Any, urn: str, out: Analysis) -> None:
        for d in response.diagnostics:
            out.diagnostics.append(Diagnostic(
                policy=d.policyName, level=LEVELS.get(d.enforcementLevel, "advisory"), urn=d.urn or urn,
                message=d.message, description=d.description,
            ))
        for na in response.not_applicable:
            out.not_applicable.setdefault(urn, set()).add(na.policy_name)

    def close(self) -> None:
        """Stop the pack process and the engine endpoint."""
        if getattr(self, "_channel", None) is not None:
            self._channel.close()
            self._channel = None
        with contextlib.suppress(RuntimeError, PackDied, ValueError):
            self._await_fork()  # never connected (the program failed): the pack still has to go
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGTERM)  # the zygote reaps it
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
            for stream in (self._proc.stdout, self._proc.stderr):
                if stream:
                    stream.close()
        self._engine_server.stop(0)

    def __enter__(self) -> PolicyPackProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@functools.lru_cache(maxsize=16)
def _declared_version(path: str, mtime_ns: int, size: int) -> str | None:
    """``version:`` of the PulumiPolicy.yaml at ``path`` as it was at (``mtime_ns``, ``size``): read once,
    not for every stack of ``plan --all``. None when it has none or cannot be read."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except (OSError, ValueError, yaml.YAMLError):
        return None
    version = doc.get("version") if isinstance(doc, dict) else None
    return str(version) if version else None


@functools.lru_cache(maxsize=16)
def _reconciled(info_bytes: bytes, user_config_json: str) -> tuple[str, bytes]:
    """The effective policy config (as JSON) and the Configure request (serialised) for a pack whose
    GetAnalyzerInfo answer is ``info_bytes`` and the user's config ``user_config_json``.

    Both are returned serialised, so that no caller can change what the cache holds.
    """
    info = analyzer_pb2.AnalyzerInfo.FromString(info_bytes)
    policies = {p.name: _meta(p) for p in info.policies}
    user = json.loads(user_config_json)
    all_level = user.pop("all", None)
    effective: dict[str, dict[str, Any]] = {}
    for name, meta in policies.items():
        props = {k: v["default"] for k, v in meta.config_schema.items() if isinstance(v, dict) and "default" in v}
        level = meta.level
        initial = info.initialConfig.get(name) if name in info.initialConfig else None
        if initial is not None:
            props.update(_struct_to_dict(initial.properties))
            if initial.enforcementLevel in LEVELS and initial.enforcementLevel != analyzer_pb2.ADVISORY:
                level = LEVELS[initial.enforcementLevel]
        if isinstance(all_level, str):
            level = all_level
        mine = user.get(name)
        if isinstance(mine, str):
            level = mine
        elif isinstance(mine, dict):
            mine = dict(mine)
            level = mine.pop("enforcementLevel", level)
            props.update(mine)
        if level not in LEVEL_VALUES:
            raise PackConfigError(f"policy config: {name}: unknown enforcement level {shown(level)}; expected one of: "
                             f"{', '.join(LEVEL_VALUES)}")
        schema = {"type": "object", "properties": meta.config_schema, "required": meta.required}
        exc = jsonschema.exceptions.best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(props))
        if exc is not None:
            where = ".".join(str(p) for p in exc.absolute_path) or "(root)"
            raise PackConfigError(f"policy config: {name}.{where}: {_schema_message(exc)}") from None
        effective[name] = {"enforcementLevel": level, **props}
    unknown = sorted(set(user) - set(policies))
    if unknown:
        raise PackConfigError(f"policy config names unknown policies: {', '.join(map(shown, unknown))}; expected "
                         "policy names (`ai-serving policies` lists them) or \"all\"")
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, values in effective.items():
        pc = analyzer_pb2.PolicyConfig(enforcementLevel=LEVEL_VALUES[values["enforcementLevel"]])
        pc.properties.update({k: v for k, v in values.items() if k != "enforcementLevel"})
        request.policyConfig[name].CopyFrom(pc)
    return json.dumps(effective), request.SerializeToString(deterministic=True)


def _schema_message(exc: jsonschema.exceptions.ValidationError) -> str:
    """The schema validator's complaint, quoting the value it found as ``shown`` does: never key material,
    never more than a short excerpt (jsonschema's own message holds the value's whole ``repr``)."""
    message = exc.message.replace(repr(exc.instance), shown(exc.instance))
    if is_key_material(message):  # quoted some other way (inside a larger value, a key)
        message = f"does not satisfy the schema's {exc.validator!r} rule; found {shown(exc.instance)}"
    return message


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    """A checked validator for one policy's config schema (as JSON), built once per process.

    ``jsonschema.validate`` checks the schema against its metaschema on every call: 48 policies per
    stack made that most of Configure's time, for schemas that are the same for every stack.
    """
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _meta(p: Any) -> PolicyMeta:
    schema = _struct_to_dict(p.configSchema.properties)
    return PolicyMeta(
        name=p.name, description=p.description, level=LEVELS.get(p.enforcementLevel, "advisory"),
        severity=p.severity, config_schema=schema, required=list(p.configSchema.required), tags=tuple(p.tags),
        remediation=p.remediation_steps, url=p.url,
        stack_policy=p.policy_type == analyzer_pb2.PolicyType.POLICY_TYPE_STACK,
    )


def _struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    from google.protobuf import json_format

    return json_format.MessageToDict(struct)


def _options(reg: Registration) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=reg.protect,
        ignoreChanges=reg.options.get("ignoreChanges", []),
        deleteBeforeReplace=reg.options.get("deleteBeforeReplace", False),
        additionalSecretOutputs=reg.options.get("additionalSecretOutputs", []),
        aliases=reg.options.get("aliases", []),
        parent=reg.parent or "",
    )


def _provider(reg: Registration, by_urn: Mapping[str, Registration]) -> analyzer_pb2.AnalyzerProviderResource | None:
    if not reg.provider:
        return None
    urn = reg.provider.rsplit("::", 1)[0]
    prov = by_urn.get(urn)
    if prov is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(type=prov.type, properties=prov.properties, urn=prov.urn,
                                                 name=prov.name)



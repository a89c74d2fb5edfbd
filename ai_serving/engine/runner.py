"""Run a Pulumi Python program in-process under mocks and capture what the engine would see.

Follows the engine closely: config is handed over as strings, URNs are formed the engine's way
(the root stack's type is not part of a child's type chain), default providers are synthesised as
``pulumi:providers:<pkg>::default_<version>``, and every registration keeps its parent,
dependencies, protect flag, provider and wire inputs.
"""

from __future__ import annotations

import contextlib
import heapq
import importlib.metadata
import logging
import os
import runpy
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.proto import engine_pb2, resource_pb2

from infra.config.loader import STACK_FILE_ENV

from ..outcome import ExitCode
from ..wire import SECRET_SIG, UNKNOWN
from . import sdk
from .mocks import AzureMocks
from .project import Project, StackConfigMap

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def _drop_provider_type_aliases(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """Drop the provider SDK's own type aliases (up to ~60 per resource).

    azure-native declares, for every resource, an alias per earlier API version and per module the type
    lived in before (``azure-native:network/v20230501:VirtualNetwork``, ``azure-native:insights:
    DiagnosticSetting``): type-only aliases the engine uses only to match resources already in state. An
    offline plan has no state, and computing them dominated the program's CPU time (~70%, see
    benchmarks/RESULTS.md); the module-move ones alone were ~19 alias URNs a stack. Aliases a component
    declares itself (a rename: a name, a parent, or a type that is not the provider's) are kept and recorded.
    """
    aliases = args.opts.aliases
    if not aliases:
        return None
    keep = [a for a in aliases if not _provider_type_alias(a)]
    if len(keep) == len(aliases):
        return None
    opts = sdk.copy_options(args.opts)
    opts.aliases = keep
    return pulumi.ResourceTransformationResult(args.props, opts)


def _provider_type_alias(alias: object) -> bool:
    """Whether ``alias`` is one the azure-native SDK declares: only ``type_`` set, to an azure-native token."""
    return (isinstance(alias, pulumi.Alias) and isinstance(alias.type_, str) and alias.type_.startswith("azure-native:")
            and alias.name is ... and alias.parent is ... and alias.stack is ... and alias.project is ...)


def _run_path(program: str) -> None:
    pulumi.runtime.register_stack_transformation(_drop_provider_type_aliases)
    runpy.run_path(program, run_name="__main__")


@dataclass
class Registration:
    """One resource registration, as the engine records it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    provider: str
    inputs: dict[str, Any]
    """Wire form: camelCase keys, numbers as floats, secrets wrapped in the secret signature object."""
    properties: struct_pb2.Struct = field(repr=False, default_factory=struct_pb2.Struct)
    """The raw wire object, forwarded as is to the policy analyzer."""
    options: dict[str, Any] = field(default_factory=dict)
    read: bool = False
    """A read (``get``) rather than a registration: analysed only at stack level."""

    @property
    def package(self) -> str:
        return self.type.split(":")[0]


@dataclass
class ProgramRun:
    """What one program run under mocks declared."""

    project: str
    stack: str
    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def by_type(self, token: str) -> list[Registration]:
        """Registrations of one type token, in registration order."""
        return [r for r in self.resources if r.type == token]

    def one(self, token: str, name: str | None = None) -> Registration:
        """The single registration of ``token`` (and ``name``); AssertionError if not exactly one."""
        found = [r for r in self.by_type(token) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {token} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def get(self, urn: str) -> Registration:
        """The registration with ``urn`` (KeyError if absent)."""
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children_of(self, urn: str) -> list[Registration]:
        """Direct children of ``urn``."""
        return [r for r in self.resources if r.parent == urn]

    def descendants_of(self, urn: str) -> Iterator[Registration]:
        """All resources below ``urn`` in the parent tree."""
        for child in self.children_of(urn):
            yield child
            yield from self.descendants_of(child.urn)


class _CapturingEngine:
    """Receives the program's log messages (errors become the run's errors)."""

    def __init__(self, run: ProgramRun) -> None:
        self.run = run

    def Log(self, request: Any) -> None:  # noqa: N802 - gRPC method name
        if request.severity == engine_pb2.ERROR:
            self.run.errors.append(request.message)
        elif request.severity == engine_pb2.WARNING:
            self.run.warnings.append(request.message)


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that records every registration the way the engine sees it."""

    def __init__(self, run: ProgramRun, stack: str, project: str, provider_config: dict[str, str]) -> None:
        super().__init__(AzureMocks())
        self.run = run
        self.stack = stack
        self.project = project
        self.provider_config = provider_config
        self.default_providers: dict[str, str] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != ROOT_STACK_TYPE:
                qualified = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{qualified}::{name}"

    def _default_provider(self, package: str, version: str) -> str:
        """Synthesise ``pulumi:providers:<package>::default_<version>`` once, as the engine does."""
        if package in self.default_providers:
            return self.default_providers[package]
        if not version:
            try:
                version = importlib.metadata.version(f"pulumi_{package.replace('-', '_')}")
            except importlib.metadata.PackageNotFoundError:
                version = ""
        name = f"default_{version.replace('.', '_')}" if version else "default"
        token = f"pulumi:providers:{package}"
        urn = self.make_urn("", token, name)
        inputs = {k.split(":", 1)[1]: v for k, v in self.provider_config.items() if k.startswith(f"{package}:")}
        if version:
            inputs["version"] = version
        props = struct_pb2.Struct()
        props.update(inputs)
        pid = str(uuid.uuid5(uuid.NAMESPACE_URL, urn))
        ref = f"{urn}::{pid}"
        self.run.resources.append(
            Registration(urn=urn, type=token, name=name, custom=True, parent=None, dependencies=[],
                         property_dependencies={}, protect=False, provider="", inputs=inputs, properties=props)
        )
        self.default_providers[package] = ref
        return ref

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802
        urn = self.make_urn(request.parent, request.type, request.name)
        provider = request.provider
        if request.custom and not provider and not request.type.startswith("pulumi:providers:"):
            provider = self._default_provider(request.type.split(":")[0], request.version)
        props = struct_pb2.Struct()
        props.CopyFrom(request.object)
        inputs = json_format.MessageToDict(request.object)
        self.run.resources.append(
            Registration(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                # Sorted: the SDK gathers them from sets, so their order differs between runs.
                dependencies=sorted(request.dependencies),
                property_dependencies={k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items())},
                protect=bool(request.protect),
                provider=provider,
                inputs=inputs,
                properties=props,
                options={
                    "ignoreChanges": list(request.ignoreChanges),
                    "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                    "additionalSecretOutputs": list(request.additionalSecretOutputs),
                    "aliases": [a.urn for a in request.aliases if a.urn] + list(request.aliasURNs),
                    "retainOnDelete": bool(request.retainOnDelete),
                    "deletedWith": request.deletedWith,
                },
            )
        )
        if request.type != ROOT_STACK_TYPE and not request.transforms and is_plain(inputs):
            answer = self._register_plain(request, urn, inputs)
            if answer is not None:
                return answer
        return super().RegisterResource(request)

    def _register_plain(self, request: Any, urn: str, inputs: dict[str, Any]) -> Any:
        """The SDK mock monitor's answer to a registration whose inputs are plain data, without its round trip.

        ``MockMonitor.RegisterResource`` decodes the request (``rpc.deserialize_properties``), asks the mocks,
        and encodes their state again with the SDK's asynchronous serialiser on an event loop of its own:
        about a tenth of a program's run under mocks, for values that are plain JSON in and out. For plain
        data (no secret, asset, resource or output signature, no unknown, no null in an object) the decoded
        inputs are exactly the wire object as JSON, which the recording already made (``inputs``), and the
        encoded state is exactly ``Struct.update(state)``; the answer is then the same message. Anything else
        (and a state that is not plain) returns None and takes the SDK's path; tests/test_runner.py compares
        the two paths for every example stack. The mocks must not change ``args.inputs`` (``AzureMocks``
        copies what it edits): it is also the registration's recorded inputs.
        """
        args = pulumi_mocks.MockResourceArgs(typ=request.type, name=request.name, inputs=inputs,
                                             provider=request.provider, resource_id=request.importId,
                                             custom=request.custom or False, transforms=[])
        id_, state = self.mocks.new_resource(args)
        if not is_plain(state):
            return None
        obj = struct_pb2.Struct()
        obj.update(state)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj)

    def ReadResource(self, request: Any) -> Any:  # noqa: N802
        response = super().ReadResource(request)
        self.run.resources.append(
            Registration(urn=response.urn, type=request.type, name=request.name, custom=True,
                         parent=request.parent or None, dependencies=sorted(request.dependencies),
                         property_dependencies={}, protect=False, provider=request.provider,
                         inputs=json_format.MessageToDict(request.properties), read=True)
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        if request.urn.split("::")[2] == ROOT_STACK_TYPE:
            self.run.outputs = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


def is_plain(value: Any) -> bool:
    """Whether a wire value is plain JSON that the SDK decodes and encodes unchanged: objects without the
    signature key (secrets, assets, resources, output values) and without null members, lists, strings
    other than the unknown sentinel, numbers and booleans."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if SECRET_SIG in item:
                return False
            for member in item.values():
                if member is None:
                    return False  # the SDK drops a null member when it decodes an object
                if isinstance(member, (dict, list, str)):
                    pending.append(member)
                elif not isinstance(member, (bool, int, float)):
                    return False
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if item == UNKNOWN:
                return False
        elif item is not None and not isinstance(item, (bool, int, float)):
            return False
    return True


def stable_order(resources: list[Registration]) -> list[Registration]:
    """The registrations in a deterministic topological order: a resource after its parent, its
    provider and its dependencies; among those ready at the same time, by URN.

    The SDK registers resources as their inputs resolve (asyncio), so registration order differs
    between two runs of the same program; this order does not, so a plan can be diffed, cached and
    committed, and the policy pack sees the same sequence every time. Read resources keep their place
    by the same rule.
    """
    by_urn = {r.urn: r for r in resources}
    if len(by_urn) != len(resources):  # the engine would reject a duplicate URN; keep both, by URN
        return sorted(resources, key=lambda r: r.urn)
    provider_urn = {r.urn: r.provider.rsplit("::", 1)[0] for r in resources if r.provider}
    waits: dict[str, set[str]] = {}
    for r in resources:
        before = {r.parent, provider_urn.get(r.urn), *r.dependencies,
                  *(u for urns in r.property_dependencies.values() for u in urns)}
        waits[r.urn] = {u for u in before if u and u in by_urn and u != r.urn}
    dependents: dict[str, list[str]] = {}
    for urn, before in waits.items():
        for u in before:
            dependents.setdefault(u, []).append(urn)
    ready = [urn for urn, before in waits.items() if not before]
    heapq.heapify(ready)
    ordered: list[Registration] = []
    while ready:
        urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for d in dependents.get(urn, ()):
            waits[d].discard(urn)
            if not waits[d]:
                heapq.heappush(ready, d)
    # A cycle cannot come from the SDK (it awaits dependencies); if one did, keep the rest by URN.
    placed = {r.urn for r in ordered}
    ordered += sorted((r for r in resources if r.urn not in placed), key=lambda r: r.urn)
    return ordered


def run_program(project: Project, stack: str, config: StackConfigMap, *, preview: bool = True) -> ProgramRun:
    """Run ``project``'s program for ``stack`` with ``config`` under mocks; never raises for program errors.

    A program that exits (``SystemExit``) or raises is reported through ``exit_code`` and ``errors``.
    """
    run = ProgramRun(project=project.name, stack=stack)
    monitor = _RecordingMonitor(run, stack, project.name, config.values)
    sdk.configure_runtime(monitor=monitor, engine=_CapturingEngine(run), project=project.name, stack=stack,
                          config=config.values, secret_keys=config.secret_keys, dry_run=preview,
                          root_directory=str(project.root))
    program = str(project.program)
    try:
        with _environment({STACK_FILE_ENV: str(config.source), **sdk.language_host_environment(config.values,
                                                                                             config.secret_keys)}):
            sdk.run_stack_program(lambda: _run_path(program))
    except SystemExit as exc:
        run.exit_code = exc.code if isinstance(exc.code, int) else ExitCode.FAILED
    except Exception as exc:  # noqa: BLE001 - a program bug is reported, not raised
        logging.getLogger(__name__).debug("program failed", exc_info=True)
        run.exit_code = ExitCode.FAILED
        run.errors.append(f"program failed: {type(exc).__name__}: {exc}")
    finally:
        run.resources = stable_order(run.resources)
        sdk.reset_root_resource()
        sys.stdout.flush()
    return run


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` set in the process environment while the program runs; what was there before restored after
    (one process plans many stacks: ``plan --all`` workers, ``--watch``)."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

"""The stand-in azure-native provider as a gRPC ResourceProvider server (the engine's plugin protocol).

Started by the engine as `pulumi-resource-azure-native <engine address>`: it prints its port on the
first line of stdout, then serves until the engine ends it. Answers GetPluginInfo, CheckConfig,
DiffConfig, Configure, Check, Diff, Create, Read, Update, Delete and Invoke; everything else is
UNIMPLEMENTED, which the engine treats as "not supported" (Handshake, GetSchema, Construct, ...).
The answers themselves are in `witness.provider.logic`.
"""

from __future__ import annotations

import sys
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from . import logic


def to_dict(message: struct_pb2.Struct | None) -> dict[str, Any]:
    """A protobuf Struct as a plain dict (numbers arrive as floats, as on the wire)."""
    return json_format.MessageToDict(message) if message is not None else {}


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    """A plain dict as a protobuf Struct."""
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


class StandInAzureNative(provider_pb2_grpc.ResourceProviderServicer):
    """ResourceProvider answers for azure-native, computed without Azure."""

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=logic.plugin_version())

    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        same = to_dict(request.old_inputs or request.olds) == to_dict(request.news)
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_NONE if same else provider_pb2.DiffResponse.DIFF_SOME)

    def Configure(self, request, context):
        # Secrets arrive in plain text and the engine re-marks outputs of secret inputs as secret;
        # previews call Create with preview=true so new resources' computed outputs show as unknown.
        return provider_pb2.ConfigureResponse(acceptSecrets=False, supportsPreview=True,
                                              acceptResources=False, acceptOutputs=False)

    def Invoke(self, request, context):
        try:
            result = logic.invoke(request.tok, to_dict(request.args))
        except LookupError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        return provider_pb2.InvokeResponse(**{"return": to_struct(result)})

    def Check(self, request, context):
        inputs, failures = logic.check(request.type or _type_of(request.urn), to_dict(request.news))
        return provider_pb2.CheckResponse(
            inputs=to_struct(inputs),
            failures=[provider_pb2.CheckFailure(property=p, reason=r) for p, r in failures])

    def Diff(self, request, context):
        old_inputs = to_dict(request.old_inputs) if request.HasField("old_inputs") else to_dict(request.olds)
        result = logic.diff(request.type or _type_of(request.urn), old_inputs, to_dict(request.news),
                            list(request.ignoreChanges))
        kind = provider_pb2.PropertyDiff
        detailed = {
            key: kind(kind=kind.UPDATE_REPLACE if key in result["replaces"] else kind.UPDATE, inputDiff=True)
            for key in result["changed"]
        }
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if result["changed"] else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=result["changed"], replaces=result["replaces"],
            detailedDiff=detailed, hasDetailedDiff=True)

    def Create(self, request, context):
        rid, outputs = logic.create(request.type or _type_of(request.urn), request.name or _name_of(request.urn),
                                    to_dict(request.properties), request.preview)
        return provider_pb2.CreateResponse(id=rid, properties=to_struct(outputs))

    def Read(self, request, context):
        # Nothing drifts outside the witness: the resource is what the state says it is.
        return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)

    def Update(self, request, context):
        outputs = logic.update(request.type or _type_of(request.urn), request.name or _name_of(request.urn),
                               request.id, to_dict(request.news), request.preview)
        return provider_pb2.UpdateResponse(properties=to_struct(outputs))

    def Delete(self, request, context):
        return empty_pb2.Empty()

    def Cancel(self, request, context):
        return empty_pb2.Empty()


def _type_of(urn: str) -> str:
    """The resource type from a URN (`urn:pulumi:stack::project::parent$type::name`)."""
    return urn.split("::")[2].split("$")[-1]


def _name_of(urn: str) -> str:
    return urn.split("::", 3)[3]


def serve(address: str = "127.0.0.1:0") -> tuple[grpc.Server, int]:
    """Start the server on loopback; returns it and its port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(StandInAzureNative(), server)
    port = server.add_insecure_port(address)
    server.start()
    return server, port


def main() -> None:
    """Plugin entry point: print the port for the engine, then serve until ended."""
    server, port = serve()
    print(port, flush=True)
    sys.stdout.flush()
    server.wait_for_termination()

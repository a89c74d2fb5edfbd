"""Packs forked from a warm zygote behave like freshly launched ones: each sees its own stack."""

from __future__ import annotations

import json
import textwrap

from google.protobuf import struct_pb2

from ai_serving.engine.analyzer import PackZygote, PolicyPackProcess
from ai_serving.engine.runner import ProgramRun, Registration

PACK = textwrap.dedent('''
    import os
    from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

    def echo(args, report):
        report(os.environ["PULUMI_STACK"] + "|" + os.environ["PULUMI_CONFIG"] + "|" + os.getcwd())

    PolicyPack("echo-pack", [ResourceValidationPolicy(name="echo-stack", description="echo",
               enforcement_level=EnforcementLevel.MANDATORY, validate=echo)])
''')


def _run(stack: str) -> ProgramRun:
    props = struct_pb2.Struct()
    props.update({"name": "x"})
    reg = Registration(urn=f"urn:pulumi:{stack}::p::test:index:Thing::x", type="test:index:Thing", name="x",
                       custom=True, parent=None, dependencies=[], property_dependencies={}, protect=False,
                       provider="", inputs={"name": "x"}, properties=props)
    return ProgramRun(project="p", stack=stack, resources=[reg])


def test_each_forked_pack_sees_its_own_stack_and_config(tmp_path):
    pack_dir = tmp_path / "pack"
    pack_dir.mkdir()
    (pack_dir / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (pack_dir / "__main__.py").write_text(PACK)
    zygote = PackZygote(pack_dir)
    try:
        seen = []
        for stack, env in (("a-dev", "dev"), ("b-prod", "prod")):
            config = {"p:environment": env}
            with PolicyPackProcess(pack_dir, project="p", stack=stack, config=config, zygote=zygote) as pack:
                pack.configure({})
                run = _run(stack)
                pack.configure_stack(run, config, [])
                [diag] = pack.analyze(run).diagnostics
                seen.append(diag.message.split("\n", 1)[1])
    finally:
        zygote.close()
    (a_stack, a_config, a_cwd), (b_stack, b_config, b_cwd) = (s.split("|") for s in seen)
    assert (a_stack, json.loads(a_config)) == ("a-dev", {"p:environment": "dev"})
    assert (b_stack, json.loads(b_config)) == ("b-prod", {"p:environment": "prod"})
    assert a_cwd == b_cwd == str(pack_dir)

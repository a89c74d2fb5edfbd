"""Packs forked from a warm zygote behave like freshly launched ones: each sees its own stack."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
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


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    """A one-policy pack that reports the stack, config and working directory it runs with."""
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (pack / "__main__.py").write_text(PACK)
    return pack


def test_each_forked_pack_sees_its_own_stack_and_config(pack_dir):
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


def test_a_pack_never_connected_is_still_stopped_and_the_next_one_gets_its_own_reply(pack_dir):
    """The zygote is only asked for a pack when the stack starts (its fork overlaps the program); a stack
    whose program fails never connects. Its pack must still be stopped, and the zygote's reply to it
    must not be taken by the next stack's pack."""
    import os
    import time

    zygote = PackZygote(pack_dir)
    try:
        abandoned = PolicyPackProcess(pack_dir, project="p", stack="a-dev", config={}, zygote=zygote, connect=False)
        abandoned.close()
        assert abandoned._pid is not None
        for _ in range(50):  # SIGTERM, then the zygote reaps it
            try:
                os.kill(abandoned._pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"pack {abandoned._pid} still runs after close()")
        with PolicyPackProcess(pack_dir, project="p", stack="b-dev", config={}, zygote=zygote) as pack:
            assert pack._pid != abandoned._pid
            pack.configure({})
            run = _run("b-dev")
            pack.configure_stack(run, {}, [])
            [diag] = pack.analyze(run).diagnostics
            assert diag.message.split("\n", 1)[1].startswith("b-dev|")
    finally:
        zygote.close()


def test_the_zygote_preimports_what_the_packs_main_imports(tmp_path):
    from ai_serving.engine.pack_zygote import _imports_of

    main = tmp_path / "__main__.py"
    main.write_text("import os\nfrom guardrails.pack import policies\nfrom . import local\nfrom pulumi_policy import X\n")
    assert _imports_of(main) == ["os", "guardrails.pack", "pulumi_policy"]
    main.write_text("def broken(:\n")
    assert _imports_of(main) == []  # the pack process reports it, as a fresh one would


def test_the_packs_declared_version_is_read_once_per_file_state(tmp_path):
    from ai_serving.engine.analyzer import _declared_version

    path = tmp_path / "PulumiPolicy.yaml"
    for text, expected in (("runtime: python\nversion: 1.2.3\n", "1.2.3"), ("runtime: python\n", None),
                           ("version: [unclosed\n", None), ("- a list\n", None)):
        path.write_text(text)
        stat = path.stat()
        assert _declared_version(str(path), stat.st_mtime_ns, stat.st_size) == expected, text


def test_no_pack_outlives_its_zygote(pack_dir):
    """A zygote that ends stops and reaps the packs it forked, even ones their owner never stopped."""
    import os

    zygote = PackZygote(pack_dir)
    packs = [PolicyPackProcess(pack_dir, project="p", stack=f"s{i}-dev", config={}, zygote=zygote) for i in range(2)]
    pids = [pack._pid for pack in packs]
    assert all(pids)
    zygote.close()  # the packs' owner never closed them
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"pack {pid} (or its zombie) is still there after its zygote ended")
    for pack in packs:
        pack.close()

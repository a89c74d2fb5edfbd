"""The tooling's rooms: which part of ai_serving may import which (and no import cycle).

- ``arm``, ``wire``, ``outcome``, ``atomic``, ``regular_file``: leaf modules, importing no other ai_serving module;
- ``engine`` (Pulumi runtime, mocks, analyzer): imports neither ``reports`` nor ``org`` nor the commands;
- ``reports`` (reads plan documents): imports neither ``engine`` nor ``org`` nor the commands, so a
  report or a diff never loads the Pulumi runtime or gRPC;
- ``org`` and the commands (``plan``, ``stacks``, ``cli``) may use everything below them.

Imports under ``if TYPE_CHECKING:`` are annotations only and are not counted.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ai_serving"
LEAVES = {"ai_serving.arm", "ai_serving.wire", "ai_serving.outcome", "ai_serving.atomic", "ai_serving.regular_file"}
COMMANDS = ("ai_serving.plan", "ai_serving.stacks", "ai_serving.cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path) -> set[str]:
    """The ai_serving modules ``path`` imports at run time (anywhere in the file)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from . import diagram` imports a module, not a name
            found.update(f"{target}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _in(module: str, *rooms: str) -> bool:
    return any(module == r or module.startswith(r + ".") for r in rooms)


def test_the_rooms_exist():
    for room in ("engine", "reports", "org"):
        assert (PACKAGE / room / "__init__.py").is_file(), room
    graph = _graph()
    assert {"ai_serving.engine.runner", "ai_serving.reports.diagram", "ai_serving.org.plan_all",
            "ai_serving.stacks", "ai_serving.plan"} <= set(graph)


def test_leaf_modules_import_no_tooling():
    graph = _graph()
    for leaf in LEAVES:
        assert graph[leaf] == set(), leaf


def test_engine_imports_neither_reports_nor_org():
    for module, imports in _graph().items():
        if _in(module, "ai_serving.engine"):
            bad = {m for m in imports if _in(m, "ai_serving.reports", "ai_serving.org", *COMMANDS)}
            assert not bad, f"{module} imports {bad}"


def test_reports_import_neither_engine_nor_org():
    for module, imports in _graph().items():
        if _in(module, "ai_serving.reports"):
            bad = {m for m in imports if _in(m, "ai_serving.engine", "ai_serving.org", *COMMANDS)}
            assert not bad, f"{module} imports {bad}"


def test_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}

    def walk(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph.get(module, ())):
            # a module's package __init__ is imported with it; it is not a dependency edge of its own
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                walk(dep, path + [dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])


def test_reports_load_no_pulumi_runtime_or_grpc():
    """Rendering a report or a diff imports no engine: it works from plan.json alone."""
    code = ("import sys\n"
            "import ai_serving.reports.markdown, ai_serving.reports.diff, ai_serving.reports.terminal\n"
            "import ai_serving.reports.planfile, ai_serving.reports.diagram\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'grpc')\n"
            "                or m.startswith('ai_serving.engine'))\n"
            "print(','.join(loaded))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_secret_signatures_are_the_sdks():
    """The wire's secret marker has one definition per side (tooling, pack), both the SDK's own."""
    from guardrails import values
    from pulumi.runtime import rpc

    from ai_serving import wire

    assert (rpc._special_sig_key, rpc._special_secret_sig) == (wire.SECRET_SIG, wire.SECRET_VALUE_SIG)
    assert rpc.UNKNOWN == wire.UNKNOWN
    assert (rpc._special_sig_key, rpc._special_secret_sig) == (values.SIG_KEY, values.SECRET_SIG)


def test_every_azure_type_the_stacks_declare_is_in_the_type_table(project):
    """A type added to a component must get its row in ai_serving/arm.py (mock ids, diagram, pack, names)."""
    from ai_serving import arm
    from ai_serving.engine.project import read_stack_config
    from ai_serving.engine.runner import run_program

    declared: set[str] = set()
    for stack in project.stacks():
        run = run_program(project, stack, read_stack_config(project, stack))
        assert run.exit_code == 0, run.errors
        declared |= {r.type for r in run.resources if r.type.startswith(arm.PACKAGE + ":")}
    missing = sorted(declared - set(arm.ARM_TYPES))
    assert missing == [], f"add these types to ai_serving/arm.py (then `make generate`): {missing}"


def test_every_role_the_platform_may_grant_is_granted_by_an_example_stack(project):
    """RBAC-02 lets a stack grant exactly infra/components/roles.py's roles: one nobody grants is an unused
    privilege a single edit away from being granted (Key Vault Administrator once sat there)."""
    from ai_serving.engine.project import read_stack_config
    from ai_serving.engine.runner import run_program
    from infra.components.roles import BUILTIN_ROLES

    granted: set[str] = set()
    for stack in project.stacks():
        run = run_program(project, stack, read_stack_config(project, stack))
        assert run.exit_code == 0, run.errors
        granted |= {str(r.inputs["roleDefinitionId"]).rsplit("/", 1)[-1] for r in run.resources
                    if r.type == "azure-native:authorization:RoleAssignment"}
    assert granted == set(BUILTIN_ROLES.values())

"""Extract the command-line flags of ``vllm serve`` from vLLM's own source (one release).

The rehearsal checks every flag the unit passes to the serving container against the list this
writes (``facts/vllm-<version>-flags.txt``), so a flag that vLLM renamed or dropped fails before
deploy time instead of crash-looping the container. vLLM builds its parser from
``EngineArgs.add_cli_args`` / ``AsyncEngineArgs.add_cli_args`` (explicit ``add_argument("--x")``
calls in ``vllm/engine/arg_utils.py``), ``make_arg_parser`` (explicit calls) and the frontend
dataclasses ``BaseFrontendArgs`` / ``FrontendArgs`` in ``vllm/entrypoints/common/cli_args.py``,
whose fields become ``--field-name`` (booleans also ``--no-field-name``, argparse's
``BooleanOptionalAction``). Importing vLLM would need torch and a GPU; reading the source with
``ast`` needs neither.

Usage (from an unpacked vLLM wheel or checkout)::

    python -m ai_serving.rehearsal.vllm_flags SRC_DIR VERSION SOURCE_NOTE > facts/vllm-VERSION-flags.txt
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ENGINE_ARGS = "vllm/engine/arg_utils.py"
FRONTEND_ARGS = "vllm/entrypoints/common/cli_args.py"
FRONTEND_CLASSES = ("BaseFrontendArgs", "FrontendArgs")


def _explicit_flags(tree: ast.AST) -> set[str]:
    flags: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("--"):
                    flags.add(arg.value)
    return flags


def _dataclass_flags(tree: ast.Module, classes: tuple[str, ...]) -> set[str]:
    flags: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in classes:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    flag = "--" + item.target.id.replace("_", "-")
                    flags.add(flag)
                    if isinstance(item.annotation, ast.Name) and item.annotation.id == "bool":
                        flags.add("--no-" + flag[2:])
    return flags


def serve_flags(src: Path) -> list[str]:
    """Every long flag ``vllm serve`` accepts, from the source tree ``src``."""
    engine = ast.parse((src / ENGINE_ARGS).read_text(encoding="utf-8"))
    frontend = ast.parse((src / FRONTEND_ARGS).read_text(encoding="utf-8"))
    return sorted(_explicit_flags(engine) | _explicit_flags(frontend) | _dataclass_flags(frontend, FRONTEND_CLASSES))


def main(argv: list[str]) -> int:
    """Print the flag file for ``argv = [SRC_DIR, VERSION, SOURCE_NOTE]``."""
    src, version, note = Path(argv[0]), argv[1], argv[2]
    print(f"# vLLM {version}: long flags of `vllm serve` (the vllm/vllm-openai image's entrypoint).")
    print(f"# Source: {note}; files {ENGINE_ARGS} and {FRONTEND_ARGS}.")
    print("# Written by python -m ai_serving.rehearsal.vllm_flags; do not edit by hand.")
    for flag in serve_flags(src):
        print(flag)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

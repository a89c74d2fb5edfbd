"""Pulumi entry point (``main: infra/`` in Pulumi.yaml): kept thin on purpose."""

import sys
from pathlib import Path

# The language host runs this file by path; make the project root importable so `infra` is a package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.program import main  # noqa: E402

main()

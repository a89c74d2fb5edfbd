"""Which stacks a change touches, as a JSON list for a GitHub Actions matrix.

A stack is affected when its own file (``stacks/Pulumi.<stack>.yaml``) changed, or when something every
stack shares changed (the program, the policy pack, the project file, the dependency pins): then all of
them are. Deleted stack files are not deployable (their config is gone; removing a team's resources is a
deliberate ``pulumi destroy``), so only stacks whose file exists at the head commit are listed.

Standard library only: it runs on the bare runner before any virtualenv exists.

    python3 changed_stacks.py --base SHA --head SHA      # stacks changed between the two commits
    python3 changed_stacks.py --stacks "team-a-dev team-b-dev"   # an explicit list (checked)
    python3 changed_stacks.py --stacks all                # every stack
    python3 changed_stacks.py --mode gate --base SHA      # the stacks a pull request's plan --all gates on

Writes ``stacks=<json list>``, ``count=<n>`` and ``every-stack=true|false`` to ``$GITHUB_OUTPUT`` when that
is set, else to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

#: Paths whose change affects every stack. Directories end with "/". The deploy workflow's `paths:`
#: filter lists the same set (tests/test_workflows.py keeps the two in step).
SHARED_PATHS: tuple[str, ...] = (
    "infra/",
    "policies/",
    "Pulumi.yaml",
    "requirements.lock",
    "requirements.txt",
    "pyproject.toml",
)

#: GitHub refuses a matrix of more than this many jobs per workflow run.
MAX_MATRIX_JOBS = 256

_NULL_SHA = re.compile(r"^0*$")
_STACK_FILE = re.compile(r"Pulumi\.([A-Za-z0-9_.-]+)\.yaml")


def stack_of(path: str, stack_dir: str = "stacks") -> str | None:
    """The stack whose config file `path` is, else None (`stacks/Pulumi.team-a-dev.yaml` -> `team-a-dev`)."""
    folder, _, name = path.rpartition("/")
    m = _STACK_FILE.fullmatch(name)
    return m.group(1) if m and folder == os.path.normpath(stack_dir) else None


def touches_shared(path: str) -> bool:
    """True when a change to ``path`` can alter every stack's plan."""
    return any(path.startswith(p) if p.endswith("/") else path == p for p in SHARED_PATHS)


def affected_stacks(changed_paths: list[str], existing: list[str], stack_dir: str = "stacks") -> list[str]:
    """The existing stacks a set of changed paths affects, sorted."""
    if any(touches_shared(p) for p in changed_paths):
        return sorted(existing)
    named = {s for p in changed_paths if (s := stack_of(p, stack_dir))}
    return sorted(named & set(existing))


#: Paths no verdict reads, left out when judging whether a pull request changes only stack files: the line a new
#: team's stack file needs in CODEOWNERS comes in the same pull request (README "How a team adds a stack"), and
#: the change to CODEOWNERS is the platform team's to review (CODEOWNERS owns itself to them).
NOT_GATING_PATHS: tuple[str, ...] = (".github/CODEOWNERS",)


def only_stack_files(changed_paths: list[str], stack_dir: str = "stacks") -> bool:
    """True when the change is stack files and nothing any verdict reads besides (``NOT_GATING_PATHS``)."""
    judged = [p for p in changed_paths if p not in NOT_GATING_PATHS]
    return bool(judged) and all(stack_of(p, stack_dir) for p in judged)


def gated_stacks(changed_paths: list[str], existing: list[str], stack_dir: str = "stacks") -> list[str]:
    """The stacks a pull request's ``plan --all`` takes its exit code from (``--gate``), sorted: the changed
    stack files' stacks when the change is nothing but stack files (``only_stack_files``), else every stack.
    Anything else (the program, the pack, the tooling, ``quotas.yaml``, the workflows) can change any stack's
    verdict, so another team's failing stack fails the pull request only then; otherwise it is reported, not
    gating."""
    named = [stack_of(p, stack_dir) for p in changed_paths]
    if only_stack_files(changed_paths, stack_dir):
        # Only deleted stack files: nothing of theirs is planned, so every stack gates (as with no --gate).
        return sorted({n for n in named if n} & set(existing)) or sorted(existing)
    return sorted(existing)


def existing_stacks(stack_dir: Path) -> list[str]:
    """Stacks that have a config file in ``stack_dir`` (the working tree is the head commit)."""
    return sorted(m.group(1) for p in stack_dir.glob("Pulumi.*") if (m := _STACK_FILE.fullmatch(p.name)))


def changed_paths(base: str, head: str) -> list[str] | None:
    """Paths changed on ``head`` since it forked from ``base``; None when ``base`` is unusable.

    ``base`` is unusable on a branch's first push (all zeros) or when it is not in the clone (a
    force-push dropped it, or the checkout was too shallow); the caller then treats every stack as changed.
    """
    if not base or _NULL_SHA.match(base):
        return None
    probe = subprocess.run(["git", "cat-file", "-e", f"{base}^{{commit}}"], capture_output=True)
    if probe.returncode != 0:
        return None
    out = subprocess.run(["git", "diff", "--name-only", "--no-renames", f"{base}...{head}"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


def _explicit(spec: str, existing: list[str]) -> list[str]:
    names = [n for n in re.split(r"[\s,]+", spec.strip()) if n]
    if names == ["all"]:
        return sorted(existing)
    unknown = sorted(set(names) - set(existing))
    if unknown:
        raise SystemExit(f"unknown stack(s): {', '.join(unknown)}; known: {', '.join(existing) or '(none)'}")
    return sorted(set(names))


def main(argv: list[str] | None = None) -> int:
    """Compute the stack list and write it as step outputs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="", help="commit the change is measured from")
    ap.add_argument("--head", default="HEAD", help="commit the change is measured to (default: HEAD)")
    ap.add_argument("--stacks", default="", help="explicit stack names (space/comma separated) or 'all'")
    ap.add_argument("--stack-dir", default="stacks", help="stack config directory (default: stacks)")
    ap.add_argument("--mode", choices=("deploy", "gate"), default="deploy",
                    help="deploy: the stacks the change affects; gate: those a pull request's plan --all gates on")
    args = ap.parse_args(argv)

    existing = existing_stacks(Path(args.stack_dir))
    if args.stacks.strip():
        stacks, why = _explicit(args.stacks, existing), "requested"
    else:
        paths = changed_paths(args.base, args.head)
        if paths is None:
            stacks, why = existing, f"base {args.base or '(none)'} unavailable: every stack"
        elif args.mode == "gate":
            stacks = gated_stacks(paths, existing, args.stack_dir)
            why = "only stack files changed" if only_stack_files(paths, args.stack_dir) \
                else "more than stack files changed: every stack"
        else:
            stacks = affected_stacks(paths, existing, args.stack_dir)
            shared = any(map(touches_shared, paths))
            why = "shared code changed: every stack" if shared else "changed stack files"
    if len(stacks) > MAX_MATRIX_JOBS:
        raise SystemExit(f"{len(stacks)} stacks exceed GitHub's {MAX_MATRIX_JOBS}-job matrix limit; "
                         "deploy them in batches with workflow_dispatch (input `stacks`)")

    print(f"{len(stacks)} stack(s) ({why}): {' '.join(stacks) or '(none)'}", file=sys.stderr)
    write_outputs(stacks, every=stacks == existing)
    return 0


def write_outputs(stacks: list[str], every: bool | None = None) -> None:
    """``stacks=<json list>`` and ``count=<n>`` as step outputs (``$GITHUB_OUTPUT``), else on stdout; with
    ``every``, also ``every-stack=true|false`` (``stacks`` is every stack file at the head commit: the PR comment
    says "every stack" only then). new-waivers writes its list with this too, without ``every``."""
    lines = [f"stacks={json.dumps(stacks, separators=(',', ':'))}", f"count={len(stacks)}",
             *([f"every-stack={json.dumps(every)}"] if every is not None else [])]
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())

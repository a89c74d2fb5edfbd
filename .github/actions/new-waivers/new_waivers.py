"""Which stacks a pull request gives a new or changed policy waiver (``ai-serving:suppressions``).

A team owns its stack file (CODEOWNERS), waivers included, so a team could approve its own waivers. The
pull request workflow therefore sends every new or changed waiver to the platform team: when this lists a
stack, the job `waiver approval` runs in the `waiver-review` environment, whose required reviewers are the
platform team, and the pull request cannot merge until one of them approves it (README "CI identities").

A waiver is new when the head's list has an entry (rule, resource, reason, expires, ...) that the base's list
of the same stack file does not have: an added entry, any edit of one (a later expiry, a wider glob) and a new
stack file with waivers all count; removing waivers does not. Both versions are read with the tooling's strict
stack-file reader; a version it refuses counts as changed (the plan fails on it anyway), so a file the
check cannot read never passes unreviewed.

    .venv/bin/python new_waivers.py --base SHA --head SHA

Runs from the repository root in a checkout with both commits (fetch-depth: 0). Writes ``stacks=<json
list>`` and ``count=<n>`` to ``$GITHUB_OUTPUT`` when that is set, else to stdout, and a table of the new
waivers to ``$GITHUB_STEP_SUMMARY`` when that is set.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ai_serving.engine import stack_yaml
from infra.config.errors import ConfigError
from infra.config.loader import PROJECT

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "changed-stacks"))
from changed_stacks import stack_of, write_outputs  # noqa: E402  (the sibling action's; one writer, one name rule)

SUPPRESSIONS = f"{PROJECT}:suppressions"
UNREADABLE = "(the file cannot be read: every waiver in it counts as new)"


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], capture_output=True, check=False)


def _stack_files(commit: str) -> list[str]:
    """Stack file paths at ``commit``."""
    out = _git("ls-tree", "-r", "--name-only", commit, "--", "stacks/")
    if out.returncode != 0:
        raise SystemExit(f"git ls-tree {commit}: {out.stderr.decode(errors='replace').strip()}")
    return sorted(p for p in out.stdout.decode().splitlines() if stack_of(p))


REGULAR_BLOBS = ("100644", "100755")
"""Git's modes of a regular file; a symlink (120000) or a submodule (160000) is no stack file to read."""


def waivers_at(commit: str, path: str) -> list[Any] | None:
    """The waivers of ``path`` at ``commit`` ([] when the file or the key is absent); None if unreadable.

    Unreadable too: a stack file that is not a regular file in git (``git show`` of a symlink gives the link's
    text, while the plan reads what it points to), and one with a key the tooling refuses for having no
    namespace (the engine reads `suppressions:` as ``ai-serving:suppressions``)."""
    listed = _git("ls-tree", commit, "--", path)
    if listed.returncode != 0 or not listed.stdout.strip():
        return []
    if listed.stdout.split(b" ", 1)[0].decode() not in REGULAR_BLOBS:
        return None
    shown = _git("show", f"{commit}:{path}")
    if shown.returncode != 0:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / Path(path).name
        copy.write_bytes(shown.stdout)
        try:
            doc = stack_yaml.load(copy)
        except ConfigError:
            return None
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        return []
    if any(":" not in str(key) for key in config):
        return None
    waivers = config.get(SUPPRESSIONS)
    if waivers is None:
        return []
    return waivers if isinstance(waivers, list) else None


def _key(waiver: Any) -> str:
    return json.dumps(waiver, sort_keys=True, default=str)


def new_waivers(base: list[Any] | None, head: list[Any] | None) -> list[Any]:
    """Entries of ``head`` that ``base`` lacks; an unreadable head is all new (one placeholder entry)."""
    if head is None:
        return [UNREADABLE]
    known = {_key(w) for w in base or []}
    return [w for w in head if _key(w) not in known]


def main(argv: list[str] | None = None) -> int:
    """Compare the waivers of every stack file at head with base; write the stacks with new ones."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the pull request's base commit")
    ap.add_argument("--head", required=True, help="the commit that would be merged")
    args = ap.parse_args(argv)
    if _git("cat-file", "-e", f"{args.base}^{{commit}}").returncode != 0:
        raise SystemExit(f"base commit {args.base!r} is not in the clone (fetch-depth: 0?)")

    found: dict[str, list[Any]] = {}
    for path in _stack_files(args.head):
        added = new_waivers(waivers_at(args.base, path), waivers_at(args.head, path))
        if added:
            found[stack_of(path)] = added
    stacks = sorted(found)

    print(f"{len(stacks)} stack(s) with new or changed waivers: {' '.join(stacks) or '(none)'}", file=sys.stderr)
    write_outputs(stacks)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write("### New or changed waivers\n\n")
            rows = [f"- `{s}`: `{_key(w)}`" for s in stacks for w in found[s]]
            fh.write("\n".join(rows) + "\n\nThe `waiver approval` job waits for the platform team.\n" if rows
                     else "_none_\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

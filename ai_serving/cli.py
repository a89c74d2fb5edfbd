"""``ai-serving``: plan stacks offline, validate config, list policies, report."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from infra.config.errors import ConfigError

from .project import Project, UsageError, load_project

if TYPE_CHECKING:
    from .pipeline import StackResult

# Exit codes (documented in the README); the heavy modules are imported by the commands that need them.
EXIT_OK, EXIT_USAGE = 0, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ai-serving", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--project", type=Path, default=Path("."), help="Pulumi project directory (default: .)")
        sp.add_argument("--stack-dir", type=Path, help="read stack files from here instead of stackConfigDir")

    plan = sub.add_parser("plan", help="run a stack's program offline under mocks and evaluate the policy pack")
    plan.add_argument("stack", nargs="?", help="stack name, e.g. team-a-dev")
    plan.add_argument("--all", action="store_true", help="plan every stack in the stack directory")
    plan.add_argument("--out", type=Path, help="write plan.json and the compliance report here")
    plan.add_argument("--policy-pack", type=Path, help="policy pack directory (default: <project>/policies)")
    plan.add_argument("--policy-pack-config", type=Path,
                      help="policy config JSON (default: the pack's policy-config.json)")
    plan.add_argument("--no-policy", action="store_true", help="skip the policy pack")
    plan.add_argument("--workers", type=int, help="worker processes for --all (default: the machine's cores)")
    plan.add_argument("--quiet", action="store_true", help="no resource tree")
    plan.add_argument("--base", type=Path, help="with --all --out: a base plan output dir for the report's diff")
    common(plan)

    val = sub.add_parser("validate", help="check stack config only (fast); all stacks when none is named")
    val.add_argument("stacks", nargs="*")
    common(val)

    pol = sub.add_parser("policies", help="list the policy pack's rules")
    pol.add_argument("--policy-pack", type=Path, default=Path("policies"))

    rep = sub.add_parser("report", help="write the pull-request report (Markdown, Mermaid diagrams)")
    rep.add_argument("--out", type=Path, required=True, help="plan output dir (of `plan --all --out`)")
    rep.add_argument("--base", type=Path, help="the base branch's plan output dir: adds what the PR changes")

    dif = sub.add_parser("diff", help="resources added, removed and changed between two plan output dirs")
    dif.add_argument("base", type=Path)
    dif.add_argument("head", type=Path)
    dif.add_argument("--json", action="store_true", help="machine-readable output")

    new = sub.add_parser("new-team", help="scaffold a valid stack file with a free address range")
    new.add_argument("name", help="team slug, e.g. team-c")
    new.add_argument("--env", required=True, help="dev, test or prod")
    new.add_argument("--openai", action="store_true", help="add a gpt-4o-mini deployment (default w/o --gpu)")
    new.add_argument("--gpu", metavar="SKU", help="add a GPU pool of this VM size (catalogues/gpu_skus.yaml)")
    new.add_argument("--location", help="Azure region (default: swedencentral)")
    new.add_argument("--owner", action="append", help="owner email (repeatable; default: a placeholder)")
    new.add_argument("--cost-center", help="cost center (default: a placeholder)")
    common(new)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 policy failure, 2 bad config or usage)."""
    args = _parser().parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        if args.command == "validate":
            return _validate(args, console, err)
        if args.command == "plan":
            return _plan(args, console, err)
        if args.command == "policies":
            return _policies(args, console)
        if args.command == "report":
            from .report import run as run_report

            return run_report(args.out.resolve(), args.base.resolve() if args.base else None, console)
        if args.command == "diff":
            from .diff import run as run_diff

            return run_diff(args.base, args.head, as_json=args.json, console=console)
        if args.command == "new-team":
            from .scaffold import run as run_new_team

            return run_new_team(_project(args), args, console, err)
    except UsageError as exc:
        err.print(f"[red]error:[/] {exc}", markup=True)
        return EXIT_USAGE
    except ConfigError as exc:
        err.print(str(exc), markup=False)
        return EXIT_USAGE
    return EXIT_USAGE


def _project(args: argparse.Namespace) -> Project:
    return load_project(args.project.resolve(), args.stack_dir.resolve() if args.stack_dir else None)


def _validate(args: argparse.Namespace, console: Console, err: Console) -> int:
    from infra.config import raw_from_config_map, validate

    from .project import read_stack_config

    project = _project(args)
    stacks = args.stacks or project.stacks()
    worst = EXIT_OK
    for stack in stacks:
        try:
            cfg = read_stack_config(project, stack)
            validate(raw_from_config_map(cfg.values), stack_name=stack, source=cfg.source)
            console.print(f"ok       {stack}")
        except ConfigError as exc:
            err.print(str(exc), markup=False)
            worst = EXIT_USAGE
    return worst


def _pack_dir(args: argparse.Namespace, project: Project) -> Path | None:
    if args.no_policy:
        return None
    pack = args.policy_pack or project.root / "policies"
    if args.policy_pack is None and not (pack / "PulumiPolicy.yaml").is_file():
        return None
    return pack


def _policy_config(args: argparse.Namespace, pack: Path | None) -> dict | None:
    path = args.policy_pack_config or (pack / "policy-config.json" if pack else None)
    if path is None or not path.is_file():
        if args.policy_pack_config:
            raise UsageError(f"{path}: no such policy config file")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UsageError(f"{path}: not valid JSON: {exc}") from None


def _plan(args: argparse.Namespace, console: Console, err: Console) -> int:
    project = _project(args)
    pack_dir = _pack_dir(args, project)
    policy_config = _policy_config(args, pack_dir)
    if args.all:
        from .orgscale import plan_all

        return plan_all(project, pack_dir=pack_dir, policy_config=policy_config, out=args.out,
                        workers=args.workers, console=console, err=err, base=args.base)
    if not args.stack:
        raise UsageError("name a stack (e.g. `ai-serving plan team-a-dev`) or pass --all")
    if args.stack not in project.stacks():
        raise UsageError(f"no stack {args.stack!r} in {project.stack_config_dir}; "
                         f"known: {', '.join(project.stacks()) or '(none)'}")
    from .pipeline import plan_stack

    result = plan_stack(project, args.stack, pack_dir=pack_dir, policy_config=policy_config,
                        out_dir=args.out.resolve() if args.out else None, today=date.today())
    return report_stack(result, console, err, quiet=args.quiet)


def report_stack(result: StackResult, console: Console, err: Console, *, quiet: bool = False) -> int:
    """Print one stack's plan, findings and files; return its exit code."""
    from .render import print_plan

    for message in result.errors:
        err.print(message, markup=False)
    if result.run is not None and result.run.exit_code == 0 and not quiet:
        print_plan(console, result.run)
    v = result.verdict
    if v is not None:
        for title, items, style in (("mandatory", v.mandatory, "red"), ("advisory", v.advisory, "yellow")):
            if items:
                console.print(f"[bold {style}]{len(items)} {title} violation(s)[/]")
                for item in items:
                    first, _, rest = item["message"].partition("\n")
                    console.print(f"  [{style}]{item['rule']}[/] {item['urn'] or '(stack)'}\n    {first}"
                                  + (f"\n    {rest}" if rest else ""), markup=True)
        if v.suppressed:
            console.print(f"[bold]{len(v.suppressed)} waived finding(s)[/]")
            for s in v.suppressed:
                console.print(f"  {s['rule']} {s['urn']} (until {s['expires']}): {s['reason']}", markup=False)
        for w in v.unused_waivers:
            console.print(f"  note: waiver {w['rule']} for {w['resource']!r} matched nothing", markup=False)
        console.print(f"policy pack {v.pack}: {len(v.mandatory)} mandatory, {len(v.advisory)} advisory, "
                      f"{len(v.suppressed)} waived", markup=False)
    for path in result.files:
        console.print(f"wrote {path}", markup=False)
    return result.exit_code


def _policies(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from .analyzer import PolicyPackProcess

    with PolicyPackProcess(args.policy_pack, project="ai-serving", stack="policies", config={}) as pack:
        table = Table(title=f"{pack.name} {pack.version}: {len(pack.policies)} policies")
        for col in ("policy", "level", "kind", "description"):
            table.add_column(col)
        for meta in pack.policies.values():
            table.add_row(meta.name, meta.level, "stack" if meta.stack_policy else "resource", meta.description)
        console.print(table)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

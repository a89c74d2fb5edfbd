"""``ai-serving``: plan stacks offline, validate config, list policies, report."""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from infra.config.errors import ConfigError, redacted, shown
from infra.config.screening import BIDI_CONTROLS

from .engine.project import STACK_NAME, Project, load_project
from .json_file import key_material_at, key_path, read_json_file
from .outcome import ExitCode, UsageError, bounded

# The heavy modules are imported by the commands that need them (a `validate` never loads gRPC).


"""A stack name on the command line: ``<team>-<environment>``, so the team slug's characters
(``infra/config/model.TeamSlug``: a lowercase letter, then lowercase letters, digits and '-'). Checked
before the name is used in a path or printed: ``../`` cannot reach a file outside the stack directory, and
a newline or escape sequence cannot start a line of its own in a terminal or a CI log."""

_CONTROL = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}]")
"""Control characters other than newline: C0 (ESC, BEL, CR, tab, ...), DEL and C1; and the invisible
bidirectional controls and line separators, which reorder or break what a terminal shows."""


def printable(text: str) -> str:
    """``text`` with every control character other than newline shown as its escape (``\\x1b``, ``\\r``), and
    key material named by its kind, never shown (``infra.config.errors.redacted``; found by review: a token as
    a ``--stack-dir`` was printed).

    What the CLI prints quotes input (stack names, paths, file contents); raw, an ESC could recolour or
    rewrite the terminal, a CR overwrite the line before it. Both consoles print through this.
    """
    return redacted(_CONTROL.sub(lambda m: repr(m.group())[1:-1], text))


MIN_COLUMNS = 40
"""Below this a `COLUMNS` setting is not a terminal's width; the output is laid out for 80 columns instead."""


def _narrow_width() -> int | None:
    """80 when `COLUMNS` asks for fewer than ``MIN_COLUMNS`` (else None: rich reads it). rich prints nothing at
    all at width 0, errors included (found by review: `COLUMNS=0 ai-serving validate` was silent)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return None
    return 80 if columns < MIN_COLUMNS else None


class _Console(Console):
    """A rich console that prints text verbatim: no emoji codes (``ai-serving:new:`` stays as it is, not
    "ai-serving🆕"), no highlighting, no wrapping of long lines, control characters escaped."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, highlight=False, soft_wrap=True, emoji=False, width=_narrow_width())

    def print(self, *objects: object, **kwargs: object) -> None:  # type: ignore[override]
        super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)  # type: ignore[arg-type]


class _Parser(argparse.ArgumentParser):
    """argparse, whose own error messages quote the command line escaped and bounded."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(int(ExitCode.USAGE), f"{self.prog}: error: {printable(bounded(message, 500))}\n")


def known_stack(project: Project, name: str) -> str:
    """``name`` when it is a stack of ``project`` (a file in its stack directory); else a ``UsageError``.

    Every command that takes a stack name checks it here, before the name reaches a path or the terminal.
    """
    if STACK_NAME.fullmatch(name) is None:
        raise UsageError(f"no stack {shown(name)}: not a stack name; expected <team>-<environment> (e.g. "
                         "team-a-dev): a lowercase letter, then lowercase letters, digits and '-'")
    known = project.stacks()
    if not known:  # say why there is none (a --stack-dir that does not exist or is a file), as validate does
        from .stacks import every_stack

        every_stack(project)
    if name not in known:
        listed = ", ".join(k if STACK_NAME.fullmatch(k) else shown(k) for k in known)
        raise UsageError(f"no stack {name!r} in {project.stack_config_dir}; known: {bounded(listed, 1000) or '(none)'}")
    return name


def _path(text: str) -> Path:
    """A path argument; an empty one (``--out ""``, an unset shell variable) is refused: as a ``Path`` it is
    ``.``, the working directory, which the user did not name. So is one with a line break: every message and
    ``wrote ...`` line quotes the path, and printed, ``--out $'x\n::error::forged'`` started a line of its own
    (a forged annotation in a CI log); no path a team uses holds one."""
    if not text:
        raise argparse.ArgumentTypeError("expected a path; found an empty string")
    if "\n" in text:
        raise argparse.ArgumentTypeError(f"expected a path on one line; found a line break in {shown(text)}")
    return Path(text)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more; found {text[:40]!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more; found {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ai-serving", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--project", type=_path, default=Path("."), help="Pulumi project directory (default: .)")
        sp.add_argument("--stack-dir", type=_path, help="read stack files from here instead of stackConfigDir")

    plan = sub.add_parser("plan", help="run a stack's program offline under mocks and evaluate the policy pack")
    plan.add_argument("stack", nargs="?", help="stack name, e.g. team-a-dev")
    plan.add_argument("--all", action="store_true", help="plan every stack in the stack directory")
    plan.add_argument("--out", type=_path, help="write plan.json and the compliance report here")
    plan.add_argument("--policy-pack", type=_path, help="policy pack directory (default: <project>/policies)")
    plan.add_argument("--policy-pack-config", type=_path,
                      help="policy config JSON (default: the pack's policy-config.json)")
    plan.add_argument("--no-policy", action="store_true", help="skip the policy pack")
    plan.add_argument("--workers", type=_positive_int, help="worker processes for --all (default: the machine's cores)")
    plan.add_argument("--quiet", action="store_true", help="no resource tree")
    plan.add_argument("--output", choices=("text", "json"), default="text",
                      help="json: one JSON document on stdout (status, findings with remediation, files)")
    plan.add_argument("--base", type=_path, help="with --all --out: a base plan output dir for the report's diff")
    plan.add_argument("--gate", action="append", metavar="STACK",
                      help="with --all (repeatable): the exit code comes from these stacks and the cross-team findings "
                           "naming them; every stack is still planned and reported (a PR that changes only stack "
                           "files gates on those)")
    plan.add_argument("--watch", action="store_true",
                      help="re-plan the stack each time its file is saved, in one warm process (Ctrl-C stops)")
    common(plan)

    cst = sub.add_parser("cost", help="explain a stack's monthly cost estimate line by line (quantity x unit price)")
    cst.add_argument("stack", help="stack name, e.g. team-a-dev")
    cst.add_argument("--json", action="store_true", help="the estimate as JSON (plan.json's `cost`)")
    common(cst)

    val = sub.add_parser("validate", help="check stack config only (fast); all stacks when none is named")
    val.add_argument("stacks", nargs="*")
    common(val)

    pol = sub.add_parser("policies", help="list the policy pack's rules")
    pol.add_argument("--policy-pack", type=_path, default=Path("policies"))

    rep = sub.add_parser("report", help="write the pull-request report (Markdown, Mermaid diagrams)")
    rep.add_argument("--out", type=_path, required=True, help="plan output dir (of `plan --all --out`)")
    rep.add_argument("--base", type=_path, help="the base branch's plan output dir: adds what the PR changes")

    dif = sub.add_parser("diff", help="resources added, removed and changed between two plan output dirs")
    dif.add_argument("base", type=_path)
    dif.add_argument("head", type=_path)
    dif.add_argument("--json", action="store_true", help="machine-readable output")

    reh = sub.add_parser("rehearse", help="play a GPU pool VM's boot (custom data, unit) in a sandbox, step by step")
    reh.add_argument("stack", help="stack name, e.g. team-a-dev")
    common(reh)

    mod = sub.add_parser("models", help="Azure OpenAI models a team can deploy, where, and their lifecycle dates")
    mod.add_argument("--region", help="only what this region offers, e.g. swedencentral")
    mod.add_argument("--type", dest="sku", metavar="TYPE", help="only this deployment type, e.g. GlobalStandard")
    mod.add_argument("--all", action="store_true", help="also list retired versions")

    gh = sub.add_parser("github-settings",
                        help="check (read-only, through `gh api`) the repository settings the workflows rely on")
    gh.add_argument("repo", help="OWNER/NAME of the GitHub repository")

    new = sub.add_parser("new-team", help="scaffold a valid stack file with a free address range")
    new.add_argument("name", help="team slug, e.g. team-c")
    new.add_argument("--env", required=True, help="dev, test or prod")
    new.add_argument("--openai", action="store_true", help="add a chat deployment the region offers (default w/o GPU)")
    new.add_argument("--gpu", metavar="SKU", help="add a GPU pool of this VM size (catalogues/gpu_skus.yaml)")
    new.add_argument("--location", help="Azure region (default: swedencentral)")
    new.add_argument("--owner", action="append", help="owner email (repeatable; default: a placeholder)")
    new.add_argument("--cost-center", help="cost center (default: a placeholder)")
    new.add_argument("--budget", type=float, metavar="AMOUNT",
                     help="monthly budget, alerts to the owners (required for prod: COST-03)")
    common(new)
    return p


def _check_paths(args: argparse.Namespace) -> None:
    """Every path argument can be followed: a symlink loop is one usage error here, not a RuntimeError
    (pathlib's, on Python 3.11) from wherever the command first resolves it."""
    for name, value in vars(args).items():
        if isinstance(value, Path):
            try:
                value.resolve()
            except (OSError, RuntimeError) as exc:
                raise UsageError(f"{name.replace('_', '-')} {shown(str(value))}: cannot follow the path: "
                                 f"{bounded(str(exc))}") from None


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 1 policy failure, 2 bad config or usage)."""
    args = _parser().parse_args(argv)
    console, err = _Console(), _Console(stderr=True)

    def command() -> int:
        _check_paths(args)
        return int(_COMMANDS[args.command](args, console, err))

    return guarded(command, err)


def guarded(command: Callable[[], int], err: Console | None = None) -> int:
    """``command()``'s exit code; bad input it raises is one message on ``err`` (stderr) and exit code 2.

    Every entry point runs its command through this (``main``; ``python -m ai_serving.supply``), so a bad
    stack file, project or argument reads the same everywhere, never as a traceback.
    """
    err = err or _Console(stderr=True)
    try:
        return command()
    # Every message is bounded here, once for all commands: it may quote an argument or a file of any size
    # (a 100,000-character path, a team name, a thousand unknown keys).
    except UsageError as exc:
        # escape: the text may quote input with [brackets]
        err.print(f"[red]error:[/] {escape(bounded(str(exc), MAX_ERROR_CHARS))}", markup=True)
        return int(ExitCode.USAGE)
    except ConfigError as exc:
        err.print(bounded(str(exc), MAX_ERROR_CHARS), markup=False)
        return int(ExitCode.USAGE)
    except OSError as exc:
        # A file the command was pointed at cannot be read or written (missing, a folder, no permission,
        # a full disk): one line naming it, not a traceback.
        where = f"{bounded(str(exc.filename), MAX_PATH_CHARS)}: " if exc.filename else ""
        err.print(f"error: {where}{exc.strerror or exc}", markup=False)
        return int(ExitCode.USAGE)


def _project(args: argparse.Namespace) -> Project:
    return load_project(args.project.resolve(), args.stack_dir.resolve() if args.stack_dir else None)


def _validate(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .stacks import every_stack, load_stack

    project = _project(args)
    stacks = [known_stack(project, s) for s in args.stacks] or every_stack(project)
    worst = ExitCode.OK
    for stack in stacks:
        if STACK_NAME.fullmatch(stack) is None:  # a file found in the stack directory, named by anyone
            err.print(f"error: {project.stack_config_dir}: stack file for {shown(stack)}: not a stack name "
                      "(<team>-<environment>, e.g. Pulumi.team-a-dev.yaml)", markup=False)
            worst = ExitCode.USAGE
            continue
        try:
            load_stack(project, stack)
            console.print(f"ok       {stack}")
        except ConfigError as exc:
            err.print(str(exc), markup=False)
            worst = ExitCode.USAGE
    return worst


def _pack_dir(args: argparse.Namespace, project: Project) -> Path | None:
    if args.no_policy:
        return None
    pack = args.policy_pack or project.root / "policies"
    if not (pack / "PulumiPolicy.yaml").is_file():
        if args.policy_pack is None:
            return None
        # Said once, before any stack runs (plan --all would fail every stack on it).
        raise UsageError(f"--policy-pack {shown(str(pack))}: not a policy pack (no PulumiPolicy.yaml)")
    return pack


MAX_ERROR_CHARS = 8000
"""The longest error message printed (a longer one is cut, saying how much was left out)."""
MAX_PATH_CHARS = 500
"""The longest path quoted in an error about a file."""
MAX_POLICY_CONFIG_BYTES = 1024 * 1024
"""The largest policy config read (the pack's own is about 14 KB)."""
MAX_POLICY_CONFIG_DEPTH = 32
"""How deep a policy config may nest (policy -> setting -> value: three levels; the rest is headroom). Deeper
ones would reach the schema validator and the protobuf conversion, which recurse per level."""


def _policy_config(args: argparse.Namespace, pack: Path | None) -> dict | None:
    path = args.policy_pack_config or (pack / "policy-config.json" if pack else None)
    # lexists, not is_file: the pack's own policy-config.json that is a FIFO or a device link is refused by
    # read_json_file, not silently ignored (the pack would then run with its defaults).
    if path is None or not (args.policy_pack_config or os.path.lexists(path)):
        return None  # the pack has no config file of its own
    if not path.exists():
        raise UsageError(f"{path}: no such policy config file")
    config = read_json_file(path, what="policy config file", max_bytes=MAX_POLICY_CONFIG_BYTES,
                            max_depth=MAX_POLICY_CONFIG_DEPTH)
    if not isinstance(config, dict):
        raise UsageError(f"{path}: expected a JSON object of policy name -> settings; found {type(config).__name__}")
    # A setting is public (it is committed, and a rule may quote it in a finding): key material in one is
    # refused here, before the pack could echo it into the terminal, plan.json and the report.
    found = key_material_at(config)
    if found is not None:
        raise UsageError(f"{path}: {key_path(found[0]) or '(top level)'}: expected public policy settings; found "
                         f"{shown(found[1])}")
    return config


def _plan(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .verdict import WaiverRules

    _plan_options(args)
    project = _project(args)
    pack_dir = _pack_dir(args, project)
    policy_config = _policy_config(args, pack_dir)
    WaiverRules.from_pack(pack_dir)  # a malformed waivers.json is one usage error, before any stack runs
    if args.all and args.output == "json":
        raise UsageError("--output json is for one stack; `plan --all --out DIR` writes summary.json")
    if args.watch and (args.all or args.output == "json"):
        raise UsageError("--watch re-plans one stack for a terminal: not with --all or --output json")
    if args.base is not None and not (args.all and args.out):
        raise UsageError("--base is for `plan --all --out DIR` (the report written there compares with it); "
                         "or run `ai-serving report --out DIR --base BASE`")
    _base_apart_from_out(args)
    if args.out is not None:
        from .output_folders import outside_stack_dir

        outside_stack_dir(args.out, project.stack_config_dir)  # for one stack and for --all alike
    if args.all:
        from .org.plan_all import plan_all

        return plan_all(project, pack_dir=pack_dir, policy_config=policy_config, out=args.out,
                        workers=args.workers, console=console, err=err, base=args.base, gate=args.gate)
    if not args.stack:
        raise UsageError("name a stack (e.g. `ai-serving plan team-a-dev`) or pass --all")
    known_stack(project, args.stack)
    from .engine.analyzer import PackDied
    from .output_folders import check_out_folder
    from .plan import plan_stack
    from .reports.terminal import PhaseProgress, outcome_json, print_outcome

    out = check_out_folder(args.out.resolve()) if args.out else None
    if args.watch:
        from .watch import watch

        return watch(project, args.stack, pack_dir=pack_dir, policy_config=policy_config, out=out,
                     quiet=args.quiet, console=console, err=err)

    as_json = args.output == "json"
    # Progress goes to stderr: a spinner on a terminal, plain step lines otherwise (not with
    # --output json unless on a terminal, so a script's stderr stays for real errors).
    with PhaseProgress(err, args.stack) as progress:
        on_phase = progress.phase if (err.is_terminal or not as_json) else None
        try:
            outcome = plan_stack(project, args.stack, pack_dir=pack_dir, policy_config=policy_config,
                                 out_dir=out, today=date.today(), on_phase=on_phase)
        except PackDied as exc:  # it started, then died or stopped answering: a failed plan, as in plan --all
            err.print(f"error: {bounded(str(exc))}", markup=False)
            return int(ExitCode.FAILED)
    if as_json:
        print(json.dumps(outcome_json(outcome), indent=2, default=str))
        return int(outcome.exit_code)
    return print_outcome(outcome, console, err, quiet=args.quiet)


def _base_apart_from_out(args: argparse.Namespace) -> None:
    """A ``UsageError`` when ``--base`` is the ``--out`` folder (of ``plan --all`` or ``report``): compared with
    itself every stack reads as unchanged, and ``plan --all`` even rewrites it before the report compares."""
    if args.base is not None and args.out is not None and args.base.resolve() == args.out.resolve():
        raise UsageError(f"--base {shown(str(args.base))} is the --out folder: compared with itself every stack "
                         "would read as unchanged; name the base branch's plan output folder")


def _plan_options(args: argparse.Namespace) -> None:
    """Options of ``plan`` that contradict each other, or one that only another gives a meaning to: a
    ``UsageError``, not one of them quietly dropped (a stack name beside --all was never even checked)."""
    if args.all and args.stack is not None:
        raise UsageError(f"name a stack or pass --all, not both (found the stack {shown(args.stack)} and --all)")
    if args.no_policy:
        given = [o for o, v in (("--policy-pack", args.policy_pack), ("--policy-pack-config", args.policy_pack_config))
                 if v is not None]
        if given:
            raise UsageError(f"--no-policy skips the policy pack: not with {' or '.join(given)}")
    if args.workers is not None and not args.all:
        raise UsageError("--workers is for `plan --all` (one stack is planned in this process)")
    if args.gate and not args.all:
        raise UsageError("--gate is for `plan --all` (a single plan's exit code is its stack's)")


def _cost(args: argparse.Namespace, console: Console, err: Console) -> int:
    project = _project(args)
    known_stack(project, args.stack)
    from .cost import sources
    from .plan import plan_stack
    from .reports.costs import explain

    outcome = plan_stack(project, args.stack, pack_dir=None, policy_config=None, out_dir=None, today=date.today())
    for message in outcome.errors:
        err.print(message, markup=False)
    if outcome.cost is None:
        return int(outcome.exit_code)
    if args.json:
        print(json.dumps(outcome.cost, indent=2))
    else:
        explain(console, args.stack, outcome.cost, sources())
    return int(outcome.exit_code)


def _policies(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .engine.analyzer import PolicyPackProcess
    from .reports.terminal import print_policies

    with PolicyPackProcess(args.policy_pack, project="ai-serving", stack="policies", config={}) as pack:
        print_policies(console, pack.describe(), {n: m.stack_policy for n, m in pack.policies.items()})
    return ExitCode.OK


def _report(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .output_folders import check_report_folder
    from .reports.markdown import run as run_report

    _base_apart_from_out(args)
    out = check_report_folder(args.out.resolve())
    return run_report(out, args.base.resolve() if args.base else None, console)


def _diff(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .reports.diff import run as run_diff

    return run_diff(args.base, args.head, as_json=args.json, console=console)


def _rehearse(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .rehearsal.command import run as run_rehearsal

    project = _project(args)
    return run_rehearsal(project, known_stack(project, args.stack), console, err)


def _new_team(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .org.new_team import run as run_new_team

    return run_new_team(_project(args), args, console, err)


def _models(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .models import run as run_models

    return run_models(args, console, err)


def _github_settings(args: argparse.Namespace, console: Console, err: Console) -> int:
    from .github_settings import run as run_github_settings

    return run_github_settings(args, console, err)


def run(command: Callable[[], int] = main) -> int:
    """The ``ai-serving`` console script: :func:`main` (or another entry point's ``command``, run through
    :func:`guarded`) as a short-lived process.

    The cyclic garbage collector is off for the command and the interpreter's final collection is
    skipped (``gc.freeze``). Loading the Azure SDK's types leaves about 280,000 long-lived objects,
    and each full collection walks them all: measured on ``plan team-a-prod``, 0.4-0.5 s of a 2.3 s
    plan in collections and 0.7 s after the last output in the exit's collection, for 1 MB less peak
    memory (the command's own cyclic garbage). ``plan --all`` workers, which live for many stacks,
    collect as usual (``ai_serving.org.plan_all``). Callers of :func:`main` in-process are unaffected.
    """
    gc.disable()
    try:
        return command()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()


_COMMANDS = {"validate": _validate, "plan": _plan, "cost": _cost, "policies": _policies, "report": _report,
             "diff": _diff, "rehearse": _rehearse, "models": _models, "new-team": _new_team,
             "github-settings": _github_settings}
"""Sub-command -> handler(args, console, err) returning the exit code."""


if __name__ == "__main__":
    sys.exit(run())

"""``ai-serving new-team``: scaffold a valid stack file with a free address range.

The address space comes from ``ADDRESS_POOL`` (10.64.0.0/10: 4,096 /22 blocks, kept apart from the
hand-picked 10.0.0.0/10 ranges of the example stacks and hub networks): the first /22 that overlaps
no ``network.addressSpace`` of any stack file in the stack directory, or the first free /24 when
no /22 is left. The directory is locked while it is scanned and the file written, so concurrent
runs never pick the same range, and an existing file is never overwritten.

The written file is then validated exactly as ``ai-serving validate`` would; an invalid result is
deleted again and reported (exit 2). Every text value is written so that both YAML readers of a stack file
(this tooling's and the engine's, ``engine.stack_yaml``) read it as that text (``_Dumper``). A prod stack is
also estimated the way ``ai-serving plan`` estimates it, and refused (deleted, exit 2) when the price
catalogue cannot price part of its committed cost: the prod budget rule COST-01 fails closed on that, so
the scaffold could never pass the plan. Last it prints the CODEOWNERS line the new file needs
(``codeowners_line``): without it only the platform team may approve the file.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import re
import tempfile
import typing
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from infra.config import screening
from infra.config.addressing import LARGEST_ALLOWED_PREFIX
from infra.config.checks import DIGEST_RULE, PLACEHOLDER_COST_CENTER, placeholder_owner
from infra.config.errors import ConfigError, shown

from ..engine import stack_yaml
from ..engine.project import Project
from ..generate import SCHEMA_FILE
from ..outcome import ExitCode, UsageError
from ..stacks import LoadedStack, load_stack

ADDRESS_POOL = ipaddress.IPv4Network("10.64.0.0/10")
"""Where scaffolded stacks get their address space from (see the module docstring)."""
PREFERRED_PREFIX = 22
"""A /22: gpu /23 (507 usable addresses), private endpoints /24, gateway /24."""
FALLBACK_PREFIX = LARGEST_ALLOWED_PREFIX
"""The smallest address space a stack may have."""
DEFAULT_LOCATION = "swedencentral"
OPENAI_DEPLOYMENT = {"name": "chat", "capacity": 10, "contentFilter": "default"}
"""The one deployment ``--openai`` adds (10K TPM); model, version and type come from ``pick_openai``."""
OPENAI_SKU_PREFERENCE = ("GlobalStandard", "DataZoneStandard", "Standard")
"""Pay-per-token types, cheapest commitment first: no reserved capacity for a new team."""
_ADDRESS_RE = re.compile(r"addressSpace\s*:\s*[\"']?([0-9]{1,3}(?:\.[0-9]{1,3}){3}/[0-9]{1,2})")


def used_ranges(stack_dir: Path) -> list[ipaddress.IPv4Network]:
    """Every ``addressSpace`` in the stack files of ``stack_dir``.

    Read with a pattern, not a YAML parser: fast for hundreds of files, and a file that does not
    parse (someone's work in progress) still reserves its range. Read as every stack file is
    (``stack_yaml.read``): what is not a regular file, or is larger than any stack file may be, holds
    no stack's range and is skipped (``validate`` reports it), never read without end or waited on.
    """
    ranges = []
    for path in stack_dir.glob("Pulumi.*.yaml"):
        try:
            data = stack_yaml.read(path)
        except ConfigError:
            continue
        for match in _ADDRESS_RE.finditer(data.decode("utf-8", errors="replace")):
            try:
                ranges.append(ipaddress.IPv4Network(match.group(1), strict=False))
            except ValueError:
                continue
    return ranges


def free_range(used: Iterable[ipaddress.IPv4Network], pool: ipaddress.IPv4Network = ADDRESS_POOL,
               prefixes: tuple[int, ...] = (PREFERRED_PREFIX, FALLBACK_PREFIX)) -> ipaddress.IPv4Network:
    """The first block of the first prefix length in ``prefixes`` inside ``pool`` that overlaps nothing."""
    spans = [(int(n.network_address), int(n.broadcast_address)) for n in used]
    start, end = int(pool.network_address), int(pool.broadcast_address)
    for prefix in prefixes:
        size = 1 << (32 - prefix)
        candidate = start
        while candidate + size - 1 <= end:
            last = candidate + size - 1
            overlapping = [s_end for s_start, s_end in spans if s_start <= last and s_end >= candidate]
            if not overlapping:
                return ipaddress.IPv4Network((candidate, prefix))
            # Jump to the first aligned block after everything that overlaps this one.
            candidate = (max(overlapping) // size + 1) * size
    raise UsageError(f"no free /{prefixes[-1]} left in {pool}; extend ADDRESS_POOL in ai_serving/org/new_team.py")


def pick_model(vm_sku: str) -> str:
    """The largest open model in the catalogue that ``vm_sku`` can serve (no ``sizing.fit_problems``:
    memory, context length and head split, exactly as ``ai-serving validate`` will judge it).

    Gated models are skipped: a new stack has no ``modelHubToken``, and a gated model without one
    is a config error (the download would be refused)."""
    from infra import catalogues, sizing

    skus = catalogues.gpu_skus()
    if vm_sku not in skus:
        raise UsageError(f"unknown GPU VM size {shown(vm_sku)}; expected one of: {', '.join(skus)} "
                         "(sizes live in infra/catalogues/gpu_skus.yaml)")
    sku = skus[vm_sku]
    fitting = [(sizing.model_memory_needed_gb(m["parameters_b"], m["bytes_per_parameter"]), name)
               for name, m in catalogues.open_models().items()
               if not m.get("gated") and not sizing.fit_problems(name, m, vm_sku, sku)]
    if not fitting:
        raise UsageError(f"no model in infra/catalogues/open_models.yaml fits {vm_sku} "
                         f"({sku['gpu_memory_gb']} GB); choose a larger --gpu size")
    return max(fitting)[1]


def pick_openai(location: str, today: date | None = None) -> dict[str, Any]:
    """The chat deployment ``--openai`` adds in ``location``: a catalogued chat model open to new
    deployments there today (infra/catalogues/openai_models.yaml), in the first type of
    ``OPENAI_SKU_PREFERENCE`` the region offers it as; UsageError when there is none."""
    from infra.catalogues import lifecycle

    today = today or date.today()
    for sku in OPENAI_SKU_PREFERENCE:
        # The one that stays longest, so a new team does not start with a migration.
        chat = sorted((mv for mv in lifecycle.open_for_new(today, location, sku) if mv.family == "chat"),
                      key=lambda mv: mv.retires_earliest(sku)[0] or date.max, reverse=True)
        if chat:
            return {**OPENAI_DEPLOYMENT, "model": chat[0].model, "version": chat[0].version, "sku": sku}
    raise UsageError(f"no catalogued chat model is open to new deployments in {location} today; choose another "
                     "--location (`ai-serving models --region R` lists what each region offers) or --gpu")


DIGEST_WAIVER_DAYS = 30
"""How long a scaffolded prod stack may pull its image by tag before the digest must be pinned."""


def stack_config(name: str, env: str, *, location: str, address_space: ipaddress.IPv4Network,
                 openai: bool, gpu: str | None, owners: list[str], cost_center: str,
                 budget: float | None = None) -> dict[str, Any]:
    """The ``config:`` mapping of a new stack (keys of infra/config/model.py only)."""
    config: dict[str, Any] = {
        "azure-native:location": location,
        "ai-serving:team": name,
        "ai-serving:environment": env,
        "ai-serving:costCenter": cost_center,
        "ai-serving:owners": owners,
        "ai-serving:network": {"addressSpace": str(address_space)},
    }
    if budget is not None:  # alerts go to the owners (the alert thresholds are the budget component's)
        config["ai-serving:budget"] = {"monthlyAmount": int(budget) if budget.is_integer() else budget,
                                     "contactEmails": list(owners)}  # a copy: a shared list dumps as a YAML alias
    if openai or gpu is None:
        config["ai-serving:openai"] = {"kind": "OpenAI", "deployments": [pick_openai(location)]}
    if gpu is not None:
        config["ai-serving:gpuPool"] = {"vmSku": gpu, "minInstances": 1, "maxInstances": 2,
                                        "model": pick_model(gpu)}
        if env == "prod":
            # Prod pulls by digest, and the digest exists only once scripts/import-image.sh has imported
            # the image into the team's registry (after the first deploy): a visible, expiring waiver
            # until then, never a made-up digest.
            config["ai-serving:suppressions"] = [{
                "rule": DIGEST_RULE,
                "resource": f"vmss-{name}-{env}-*-gpu",
                "reason": "new stack: pin servingImage to the digest the first scripts/import-image.sh run prints",
                "expires": (date.today() + timedelta(days=DIGEST_WAIVER_DAYS)).isoformat(),
            }]
    return config


class _Dumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` that double-quotes every text the engine's YAML reader would not read as that text.

    PyYAML quotes by its own (YAML 1.1) rules only, so ``1e3`` or ``0o17`` (text to YAML 1.1) were written
    plain, which the engine (YAML 1.2) reads as a number and the strict reader of stack files refuses.
    Whether a plain text is text to the engine is ``stack_yaml.engine_scalar``'s decision.
    """


def _represent_str(dumper: _Dumper, value: str) -> yaml.ScalarNode:
    if stack_yaml.engine_scalar(value)[0] != "str":
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def render(config: dict[str, Any]) -> str:
    """The stack file's text: a header comment (with a TODO naming the placeholders the config holds) and the
    config."""
    team, env = config["ai-serving:team"], config["ai-serving:environment"]
    # The editor (yaml-language-server: VS Code, neovim, ...) completes and checks keys against the schema
    # generated from the config model; the path is relative, next to the stack files.
    lines = [f"# yaml-language-server: $schema=./{SCHEMA_FILE}",
             f"# {team}, {env}: scaffolded by `ai-serving new-team` on {date.today().isoformat()}.",
             "# Address space taken from the new-team pool (ai_serving/org/new_team.py): reuse it nowhere else."]
    todo = [(key, value) for key, value, placeholder in (
        ("ai-serving:owners", placeholder_owner(team), config.get("ai-serving:owners") == [placeholder_owner(team)]),
        ("ai-serving:costCenter", PLACEHOLDER_COST_CENTER,
         config.get("ai-serving:costCenter") == PLACEHOLDER_COST_CENTER)) if placeholder]
    if todo:
        lines.append(f"# TODO: set the real {' and '.join(k for k, _ in todo)} (placeholder"
                     f"{'s' if len(todo) > 1 else ''}: {', '.join(v for _, v in todo)}).")
    body = yaml.dump({"config": config}, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    return "\n".join(lines) + "\n" + body


def new_team(project: Project, name: str, env: str, *, openai: bool, gpu: str | None, location: str,
             owners: list[str] | None = None, cost_center: str | None = None,
             budget: float | None = None) -> tuple[Path, dict[str, Any]]:
    """Write and validate ``Pulumi.<name>-<env>.yaml``; returns its path and config.

    Raises ``UsageError`` for a bad name, environment, location, cost center, budget or GPU size, a prod stack
    without a budget, or an existing file, and ``ConfigError`` (after deleting the file) when the result does not
    validate.
    """
    from pydantic import TypeAdapter, ValidationError

    from infra.config.model import BudgetConfig, Email, Environment, StackConfig, TeamSlug
    from infra.config.regions import location_problem

    try:
        TypeAdapter(TeamSlug).validate_python(name)
    except ValidationError:
        raise UsageError(f"team name {shown(name)}: expected a lowercase slug (a letter, then letters, digits "
                         "or '-', at most 12 characters)") from None
    _check_text("team name", name)
    envs = typing.get_args(Environment)
    if env not in envs:
        raise UsageError(f"environment {shown(env)}: expected one of {', '.join(envs)}")
    # What the options give, checked as the stack config will check it, before anything is written: a
    # refusal names the option, not a key of a scaffolded file that is then removed.
    problem = location_problem(location)
    if problem is not None:
        raise UsageError(f"--location: {problem}")
    if cost_center is not None:
        _check_option("--cost-center", typing.get_type_hints(StackConfig, include_extras=True)["cost_center"],
                      cost_center)
        _check_text("--cost-center", cost_center)
    for owner in owners or []:
        _check_option("--owner", Email, owner)
    if budget is not None:
        _check_option("--budget", typing.get_type_hints(BudgetConfig, include_extras=True)["monthly_amount"], budget)
    if env == "prod" and budget is None:
        # COST-03 blocks a prod stack without a budget: a scaffold the pack refuses helps nobody.
        raise UsageError("a prod stack needs --budget AMOUNT (its monthly budget in the billing currency; the "
                         "policy pack blocks a prod stack without one, COST-03)")
    if env == "prod":
        _check_prod_contacts(name, owners or [], cost_center)
    stack = f"{name}-{env}"
    stack_dir = project.stack_config_dir
    if not stack_dir.is_dir():
        raise UsageError(f"{stack_dir}: no such stack directory")
    path = project.stack_file(stack)
    fd = os.open(stack_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # scan + write as one step for concurrent scaffolds
        if path.exists():
            raise UsageError(f"{path} already exists; not overwriting it")
        config = stack_config(name, env, location=location, address_space=free_range(used_ranges(stack_dir)),
                              openai=openai, gpu=gpu, owners=owners or [placeholder_owner(name)],
                              cost_center=cost_center or PLACEHOLDER_COST_CENTER, budget=budget)
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(render(config))
    finally:
        os.close(fd)
    loaded = _validate(project, stack, path)
    if env == "prod":
        try:
            problem = _unpriced_problem(project, stack, loaded, config)
            if problem is not None:
                raise UsageError(problem)
        except UsageError:
            path.unlink(missing_ok=True)  # a stack the plan would fail is not written
            raise
    return path, config


def _check_prod_contacts(name: str, owners: list[str], cost_center: str | None) -> None:
    """A ``UsageError`` naming the options when a prod stack would hold a placeholder owner or cost center: left
    out, new-team writes ``placeholder_owner`` and ``PLACEHOLDER_COST_CENTER``, and the config check refuses
    those (and any TODO-like value, ``is_placeholder``) in prod (``infra.config.checks.placeholders``)."""
    from infra.config.model import is_placeholder

    missing = [(option, placeholder) for option, placeholder, absent in (
        ("--owner EMAIL", placeholder_owner(name), not owners),
        ("--cost-center CODE", PLACEHOLDER_COST_CENTER, cost_center is None)) if absent]
    if missing:
        raise UsageError(f"a prod stack needs {' and '.join(o for o, _ in missing)}: placeholders are refused in prod "
                         f"(left out, new-team writes {' and '.join(shown(p) for _, p in missing)})")
    for option, value in [*(("--owner", owner) for owner in owners), ("--cost-center", cost_center or "")]:
        if is_placeholder(value) or value == placeholder_owner(name):
            raise UsageError(f"{option}: expected the real value for a prod stack; found the placeholder "
                             f"{shown(value)} (placeholders are refused in prod)")


def _check_option(option: str, kind: Any, value: Any) -> None:
    """A ``UsageError`` naming ``option`` when ``value`` is not what ``kind``, a type of the stack config's model,
    accepts (in the words the config's own message uses)."""
    from pydantic import TypeAdapter, ValidationError

    from infra.config.loader import error_message
    from infra.config.model import StackConfig

    try:
        TypeAdapter(kind, config=StackConfig.model_config).validate_python(value)
    except ValidationError as exc:
        raise UsageError(f"{option}: {error_message(exc.errors()[0])}") from None


_NOT_TEXT = {type(None): "a YAML null", bool: "a YAML boolean", list: "a YAML list", dict: "a YAML mapping"}
"""What the stack config takes a text setting for when it decodes as JSON (``text_setting``)."""


def _check_text(option: str, value: str) -> None:
    """A ``UsageError`` naming ``option`` when the stack config would not read ``value`` as text: the engine
    hands a setting over as text, and one that decodes (JSON) to null, a boolean, a list or a mapping is
    refused, however the scaffold quotes it (``infra.config.loader.text_setting``)."""
    from infra.config.loader import text_setting

    read = text_setting(value)
    if not isinstance(read, str):
        raise UsageError(f"{option}: expected text; found {shown(value)}, which the stack config reads as "
                         f"{_NOT_TEXT[type(read)]} (the engine hands every setting to the program as text, so the two "
                         "cannot be told apart) and refuses; choose another")


def _validate(project: Project, stack: str, path: Path) -> LoadedStack:
    from infra.config import ConfigError

    try:
        return load_stack(project, stack, path)
    except ConfigError:
        path.unlink(missing_ok=True)
        raise


PRICES_FILE = "infra/catalogues/prices.yaml"
"""Where a missing price is added (the message names it)."""
_GPU_POOL_TYPE = "compute:VirtualMachineScaleSet"
"""The GPU pool's type as the cost estimate names it: ``--gpu`` sizes it."""


def unpriced_committed(project: Project, loaded: LoadedStack) -> list[dict[str, Any]]:
    """The sized items of ``loaded``'s committed cost that the price catalogue cannot price: the program run
    under mocks and estimated exactly as ``ai-serving plan`` does (``ai_serving.cost.estimate``), keeping the
    not-included items the budget rules fail closed on (``Estimate.unpriced(COMMITTED)``: ``sized`` and
    ``figure`` committed). UsageError when the program does not run to the end."""
    from ..cost import unpriced_committed as unpriced
    from ..engine.runner import run_program
    from ..plan import outcome_resources

    run = run_program(project, loaded.name, loaded.config_map)
    if run.exit_code != 0:
        raise UsageError(f"{loaded.source}: the program failed on the scaffolded stack; "
                         f"{'; '.join(run.errors) or f'exit code {run.exit_code}'}")
    return unpriced(outcome_resources(run), loaded.config)


def _unpriced_problem(project: Project, stack: str, loaded: LoadedStack, config: dict[str, Any]) -> str | None:
    """Why the prod stack ``loaded`` (scaffolded as ``config``) cannot pass COST-01, or None when it can: COST-01
    fails on every committed item the catalogue cannot price (``unpriced_committed``), whatever the budget."""
    gaps = unpriced_committed(project, loaded)
    if not gaps:
        return None
    location = config["azure-native:location"]
    gpu = (config.get("ai-serving:gpuPool") or {}).get("vmSku")
    missing: dict[str, list[str]] = {}  # the option (or resource) -> what of it has no price, and why
    for gap in gaps:
        option = f"--gpu {gpu}" if gap["type"] == _GPU_POOL_TYPE else f"{gap['resource']} ({gap['type']})"
        missing.setdefault(option, []).append(f"{gap['item']}: {gap['reason']}")
    options = [f"{option} in {location}: the price catalogue ({PRICES_FILE}) has no price for it "
               f"({'; '.join(items)})" for option, items in missing.items()]
    if any(gap["type"] == _GPU_POOL_TYPE for gap in gaps):
        priced = _priced_gpu_sizes(project, stack, config)
        fix = (f"choose a priced size ({', '.join(priced)})" if priced
               else f"no GPU size is priced in {location}: choose another --location") + " or add a sourced price"
    else:
        fix = "choose another --location or add a sourced price"
    return (f"{'; '.join(options)}, so the prod budget rule COST-01 would fail (it fails closed on committed "
            f"cost it cannot price); {fix}")


def _priced_gpu_sizes(project: Project, stack: str, config: dict[str, Any]) -> list[str]:
    """The catalogued GPU sizes whose stack, scaffolded as ``config`` otherwise is, has all its committed cost
    priced: each candidate is written, validated and estimated as the real one was (in a scratch directory)."""
    from infra import catalogues

    priced = []
    with tempfile.TemporaryDirectory(prefix="new-team-") as scratch:
        path = Path(scratch) / project.stack_file(stack).name
        for sku in catalogues.gpu_skus():
            try:
                model = pick_model(sku)
            except UsageError:
                continue  # nothing to serve on it: new-team refuses it anyway
            candidate = {**config, "ai-serving:gpuPool": {**config["ai-serving:gpuPool"], "vmSku": sku,
                                                          "model": model}}
            path.write_text(render(candidate), encoding="utf-8")
            try:
                if not unpriced_committed(project, load_stack(project, stack, path)):
                    priced.append(sku)
            except (ConfigError, UsageError):
                continue  # not a stack new-team could write with this size
    return priced


CODEOWNERS_PLACES = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
"""Where GitHub reads a repository's CODEOWNERS, in the order it looks: "in the .github/, root, or docs/
directory ... GitHub will search for them in that order and use the first one it finds" (docs.github.com,
repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners
#codeowners-file-location)."""
_ORG_HANDLE = re.compile(r"@([A-Za-z0-9][A-Za-z0-9-]*)/")
"""A team handle's organisation (``@your-org/platform-team`` -> ``your-org``)."""


def codeowners_line(root: Path, path: Path, team: str) -> tuple[Path, str] | None:
    """The CODEOWNERS file of the repository at ``root`` and the line that makes ``team`` the owner of its new
    stack file ``path``: ``/stacks/Pulumi.<stack>.yaml @<org>/<team>``, one line per file and the handle named
    as the team, under the organisation of the file's first owner line (``*  @your-org/platform-team``), as the
    example stacks' lines are. None when there is no CODEOWNERS or no owner line in it, ``path`` is outside
    ``root``, or a line already names the file.

    A stack file without its line is the platform team's alone to approve, and tests/test_codeowners.py fails
    for it: the line belongs in the same pull request as the file (README "How a team adds a stack")."""
    found = next((root / place for place in CODEOWNERS_PLACES if (root / place).is_file()), None)
    try:
        pattern = "/" + path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
    if found is None:
        return None
    rules = [line.split() for line in found.read_text(encoding="utf-8", errors="replace").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    orgs = [m.group(1) for _, *owners in rules for owner in owners if (m := _ORG_HANDLE.match(owner))]
    if not orgs or any(pattern_ == pattern for pattern_, *_ in rules):
        return None
    return found, f"{pattern} @{orgs[0]}/{team}"


_UNDECODABLE = re.compile("[\udc80-\udcff]")
"""A byte of the command line that is not UTF-8, as Python decodes argv (``surrogateescape``)."""


def run(project: Project, args: Any, console: Any, err: Any = None) -> int:
    """``ai-serving new-team``: scaffold, validate, say what was written."""
    from infra.config import ConfigError

    # An option given but empty (`--location ""`, often an unset shell variable) is not the option left out:
    # it is refused, not quietly replaced by the default.
    given = [("--location", args.location), ("--cost-center", args.cost_center), ("--gpu", args.gpu),
             *(("--owner", owner) for owner in args.owner or [])]
    for option, value in given:
        if value is None:
            continue
        if not value.strip():
            raise UsageError(f"{option} {shown(value)}: expected a value; leave the option out for its default")
        if _UNDECODABLE.search(value):
            # Bytes of the command line that are not UTF-8 (Python keeps them as lone surrogates): no stack
            # file can hold them (it is UTF-8), so the scaffold would fail on a value the user never saw.
            raise UsageError(f"{option}: expected UTF-8 text; found bytes that are not UTF-8 in {shown(value)}")
        # What no stack file may hold anywhere (key material, control characters, line breaks, huge text):
        # refused here, before it is written into the stack directory (then validated and removed).
        for _, problem in screening.refused({option: value}):
            raise UsageError(f"{option}: {problem}")
    try:
        path, config = new_team(project, args.name, args.env, openai=args.openai, gpu=args.gpu,
                                location=args.location or DEFAULT_LOCATION, owners=args.owner,
                                cost_center=args.cost_center, budget=args.budget)
    except ConfigError as exc:
        err = err or console
        err.print(str(exc), markup=False)
        err.print("the scaffolded file did not validate and was removed", markup=False)
        return ExitCode.USAGE
    what = []
    if "ai-serving:openai" in config:
        d = config["ai-serving:openai"]["deployments"][0]
        what.append(f"openai {d['name']} ({d['model']} {d['sku']} x {d['capacity']})")
    if "ai-serving:gpuPool" in config:
        g = config["ai-serving:gpuPool"]
        what.append(f"gpuPool {g['vmSku']} serving {g['model']}")
    try:
        written = path.relative_to(Path.cwd())
    except ValueError:
        written = path
    console.print(f"wrote {written}: {config['ai-serving:network']['addressSpace']}, {', '.join(what)}; "
                  "valid", markup=False)
    owners = codeowners_line(project.root, path, args.name)
    if owners is not None:
        codeowners, line = owners
        console.print(f"next: add this line to {codeowners.relative_to(project.root)} in the same pull request, so "
                      f"that {args.name} owns its stack file (until then only the platform team may approve it, "
                      f"and `make test` fails):\n  {line}", markup=False)
    return ExitCode.OK

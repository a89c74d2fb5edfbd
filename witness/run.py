"""`make witness`: the real Pulumi engine runs every example stack, offline, and judges `ai-serving plan`.

For every `stacks/Pulumi.*.yaml`, in a scratch copy of the project (its own PULUMI_HOME, a file://
backend, the passphrase secrets provider, no update checks, no plugin downloads):

1. `pulumi stack init --secrets-provider passphrase`, and `pulumi config set --secret modelHubToken`
   with a fresh random token: it must stay ciphertext in the stack file and in `pulumi stack export`;
2. with the token set in plain text instead, `pulumi preview` must stop in the program, naming the key and
   not showing the token (then the encrypted one is set again);
3. `pulumi preview --policy-pack policies --policy-pack-config <plan out>/deploy-policy-config.json`, the
   config `ai-serving plan --out` writes for the deploy (the project's, the stack's waived policies
   advisory), as CI passes it;
4. `pulumi up --yes` with the same pack and config;
5. `pulumi preview --expect-no-changes` (the program is idempotent) with the pack;
6. `pulumi destroy --yes`: it must succeed where nothing is protected, and fail, leaving every
   protected resource in place, where something is (prod);
7. the differential check (`witness.compare`) of the export after `up` and of the policy events of
   both previews and of `up` against `ai-serving plan --out` for the same stack file (as CI commits it:
   without the passphrase provider's `encryptionsalt:`, see `committed_stack_dir`);
8. the same verdict check under a stricter policy config (`strict_policy_config`): the example stacks
   pass the real config cleanly, so this one makes the pack report hundreds of violations, advisory and
   mandatory, and both runs must report the same ones at the same levels, and both must refuse.

The engine comes from `make engine` (build/engine/); the azure-native provider is the stand-in in
`witness/provider`, installed with `pulumi plugin install resource azure-native <version> --file`.
Exit 0 when every stack passes, 1 when one fails, 2 for an unknown stack, 3 when the engine is not built.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ai_serving.deploy_policy import advisory_at_deploy  # noqa: E402
from ai_serving.engine.project import STACK_FILE_KEYS  # noqa: E402
from ai_serving.output_folders import DEPLOY_POLICY_CONFIG_FILE  # noqa: E402
from infra.components.cloud_init import MODEL_HUB_SECRET_NAME as MODEL_HUB_SECRET  # noqa: E402
from witness import compare  # noqa: E402
from witness.provider import logic  # noqa: E402

PROJECT = "ai-serving"
PACK = ["--policy-pack", "policies"]
PACK_ARGS = [*PACK, "--policy-pack-config", "policies/policy-config.json"]
# Copied into the scratch project: what `pulumi` and `ai-serving plan` read, nothing generated.
PROJECT_FILES = ["Pulumi.yaml", "pyproject.toml", "infra", "policies", "stacks", "ai_serving", "witness"]
PASSPHRASE = "witness-scratch-passphrase"  # protects a throw-away scratch stack, nothing real
DEFAULT_OUT = ROOT / "build" / "witness"
"""Where the logs and results.json go: under build/ (generated, ignored), not in the plans' out/, which
`make plan-all` replaces whole and therefore refuses while it holds anything a plan did not write."""
PROVIDER_KEYS = {"encryptionsalt", "secretsprovider", "encryptedkey"}
"""The top-level keys the engine writes into a stack file for its secrets provider (pulumi's ProjectStack)."""


@dataclass
class StackResult:
    """What the witness found for one stack."""

    stack: str
    timings: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    explained: list[str] = field(default_factory=list)
    resources: int = 0
    verdicts: int = 0
    strict_verdicts: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


class Witness:
    """One scratch project, one engine, one PULUMI_HOME; runs stacks one after the other."""

    def __init__(self, engine: Path, scratch: Path, log_dir: Path) -> None:
        self.engine = engine
        self.scratch = scratch
        self.project = scratch / "project"
        self.logs = log_dir
        venv = ROOT / ".venv"
        self.python = venv / "bin" / "python"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")},
            "PATH": f"{engine}{os.pathsep}{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(scratch / "pulumi-home"),
            "PULUMI_BACKEND_URL": f"file://{scratch / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            # Enables `--event-log` (engine events as JSON lines, policy violations included).
            "PULUMI_DEBUG_COMMANDS": "true",
            # The scratch copy's packages come first (the .venv's editable install points at the checkout).
            "PYTHONPATH": str(self.project),
            "NO_COLOR": "1",
        }

    # --- set-up -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Copy the project, link its virtualenv, and install the stand-in provider as azure-native."""
        self.project.mkdir(parents=True)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
        for name in PROJECT_FILES:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, self.project / name, ignore=ignore)
            elif src.exists():
                shutil.copy2(src, self.project / name)
        (self.project / ".venv").symlink_to(ROOT / ".venv")
        (self.scratch / "state").mkdir()
        plugin = self.scratch / "pulumi-resource-azure-native"
        plugin.write_text(
            "#!/bin/sh\n# The witness's stand-in azure-native provider (witness/provider).\n"
            f"PYTHONPATH='{self.project}' exec '{self.python}' -m witness.provider \"$@\"\n",
            encoding="utf-8")
        plugin.chmod(0o755)
        self.pulumi("plugin", "install", "resource", "azure-native", logic.plugin_version(), "--file", str(plugin),
                    log="plugin-install")

    def pulumi(self, *args: str, log: str, check: bool = True, stdout_file: Path | None = None,
               ) -> subprocess.CompletedProcess[str]:
        """Run the built CLI in the scratch project; output goes to logs/<log>.log."""
        cmd = [str(self.engine / "pulumi"), *args, "--non-interactive"]
        proc = subprocess.run(cmd, cwd=self.project, env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=1200)
        (self.logs / f"{log}.log").write_text(
            f"$ {' '.join(['pulumi', *args])}\n# exit {proc.returncode}\n--- stdout\n{proc.stdout}\n"
            f"--- stderr\n{proc.stderr}", encoding="utf-8")
        if stdout_file is not None:
            stdout_file.write_text(proc.stdout, encoding="utf-8")
        if check and proc.returncode != 0:
            raise StepFailed(f"`pulumi {' '.join(args)}` exited {proc.returncode}: "
                             f"{_tail(proc.stdout + proc.stderr)} (log: {self.logs / (log + '.log')})")
        return proc

    # --- one stack --------------------------------------------------------------------------------
    def run_stack(self, stack: str) -> StackResult:
        result = StackResult(stack)
        work = self.logs / stack
        work.mkdir(parents=True, exist_ok=True)
        s = ["--stack", stack]

        def step(name: str, fn: Any) -> Any:
            start = time.monotonic()
            try:
                return fn()
            finally:
                result.timings[name] = round(time.monotonic() - start, 1)

        try:
            token = "hf_witness_" + secrets.token_hex(16)
            step("init", lambda: (
                self.pulumi("stack", "init", stack, "--secrets-provider", "passphrase", log=f"{stack}/init"),
                self.pulumi("config", "set", "--secret", f"{PROJECT}:modelHubToken", token, *s,
                            log=f"{stack}/config-secret")))
            if not self.only_ciphertext(stack, token):
                result.failures.append(f"Pulumi.{stack}.yaml: the secret is not stored as ciphertext")
            step("plain token refused", lambda: self.plain_token_refused(result, stack, token))

            plan = step("ai-serving plan", lambda: self.offline_plan(stack, work))
            # The engine runs with the config the plan wrote for the deploy, as CI passes it to `pulumi up`.
            config = work / "ai-serving-plan" / DEPLOY_POLICY_CONFIG_FILE
            pack_args = ["--policy-pack", "policies", "--policy-pack-config", str(config)]
            if advisory_at_deploy(plan.get("policy")):
                # It runs the waived policies advisory, so the engine reports their findings at that level:
                # the offline side is planned again with the same config, and the comparison stays exact.
                plan = step("ai-serving plan, waived advisory", lambda: self.offline_plan(
                    stack, work, config=config, name="ai-serving-plan-waived"))
            expect_refusal = any(v["level"] == "mandatory" for v in (plan.get("policy") or {}).get("violations", []))

            first = step("preview", lambda: self.pulumi(
                "preview", *s, *pack_args, "--json", "--event-log", str(work / "preview.events.jsonl"),
                log=f"{stack}/preview", check=False, stdout_file=work / "preview.json"))
            if expect_refusal:
                # A mandatory violation must stop the real engine too; then there is nothing to deploy.
                if first.returncode == 0:
                    result.failures.append("plan.json has mandatory violations but `pulumi preview` passed")
                self.check_verdicts(result, work / "preview.events.jsonl", plan, "preview")
                return result
            if first.returncode != 0:
                raise StepFailed(f"`pulumi preview` exited {first.returncode}: {_tail(first.stdout + first.stderr)}")
            self._judge(result, compare.compare_preview(json.loads(first.stdout), plan),
                        {r["urn"]: r["type"] for r in plan.get("resources", [])}, "preview --json")

            step("up", lambda: self.pulumi("up", "--yes", "--skip-preview", *s, *pack_args, "--event-log",
                                           str(work / "up.events.jsonl"), log=f"{stack}/up"))
            # Policy verdicts of all three runs: the first preview (new resources' ids unknown), `up`
            # (every input known when it registers) and the second preview (everything known).
            step("preview --expect-no-changes", lambda: self.pulumi(
                "preview", "--expect-no-changes", *s, *pack_args, "--json", "--event-log",
                str(work / "preview2.events.jsonl"), log=f"{stack}/preview-no-changes",
                stdout_file=work / "preview2.json"))
            step("stack export", lambda: self.pulumi("stack", "export", *s, "--file", str(work / "export.json"),
                                                     log=f"{stack}/export"))
            export_text = (work / "export.json").read_text(encoding="utf-8")
            export = json.loads(export_text)
            result.resources = len(export["deployment"].get("resources", []))
            if token in export_text:
                result.failures.append("stack export holds the secret in plain text")
            if stores_hub_token(plan) and '"ciphertext"' not in export_text:
                result.failures.append("stack export holds no ciphertext: the model-hub token secret is missing")

            step("differential check", lambda: [
                self.check_registrations(result, export, plan),
                *(self.check_verdicts(result, work / f"{run}.events.jsonl", plan, run)
                  for run in ("preview", "up", "preview2"))])
            step("strict verdicts", lambda: self.strict_verdicts(result, stack, work))
            step("destroy", lambda: self.destroy(result, stack, export, work))
        except StepFailed as err:
            result.failures.append(str(err))
        return result

    def plain_token_refused(self, result: StackResult, stack: str, token: str) -> None:
        """The token set in plain text (no `--secret`): `pulumi preview` itself must stop in the program, with
        the key named and the token not shown; then the encrypted one is set again for the rest."""
        plain = "hf_witness_plain_" + secrets.token_hex(8)
        key = f"{PROJECT}:modelHubToken"
        self.pulumi("config", "set", key, plain, "--stack", stack, log=f"{stack}/config-plain")
        try:
            proc = self.pulumi("preview", "--stack", stack, *PACK_ARGS, log=f"{stack}/preview-plain-token",
                               check=False)
            said = proc.stdout + proc.stderr
            if proc.returncode == 0:
                result.failures.append("`pulumi preview` ran with the model-hub token in plain text in the stack file")
            elif f"{key}: set in plain text" not in said:
                result.failures.append(f"`pulumi preview` with a plain-text token failed without saying why: "
                                       f"{_tail(said)}")
            if plain in said:
                result.failures.append("`pulumi preview` showed the plain-text token")
        finally:
            self.pulumi("config", "set", "--secret", key, token, "--stack", stack, log=f"{stack}/config-secret-again")
        if not self.only_ciphertext(stack, token, plain):
            result.failures.append("the model-hub token is not ciphertext again after the plain-text check")

    def only_ciphertext(self, stack: str, *tokens: str) -> bool:
        """Whether the stack file holds a `secure:` value and none of ``tokens`` in clear."""
        text = (self.project / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
        return "secure:" in text and not any(t in text for t in tokens)

    def strict_verdicts(self, result: StackResult, stack: str, work: Path) -> None:
        """Preview (all values known after `up`) and plan under the strict config: same violations, same refusal."""
        config = self.project / "witness-strict-policy-config.json"
        if not config.exists():
            base = json.loads((self.project / "policies" / "policy-config.json").read_text(encoding="utf-8"))
            config.write_text(json.dumps(strict_policy_config(base), indent=2), encoding="utf-8")
        plan = self.offline_plan(stack, work, config=config, name="ai-serving-plan-strict")
        proc = self.pulumi("preview", "--stack", stack, "--policy-pack", "policies", "--policy-pack-config",
                           str(config), "--json", "--event-log", str(work / "preview-strict.events.jsonl"),
                           log=f"{stack}/preview-strict", check=False)
        events_file = work / "preview-strict.events.jsonl"
        events = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        found = compare.engine_verdicts(events)
        levels = {level for _, _, level in found}
        if not {"advisory", "mandatory"} <= levels:
            result.failures.append(f"strict config: the engine reported levels {sorted(levels)}, "
                                   "expected advisory and mandatory violations (the check would be vacuous)")
        if proc.returncode == 0:
            result.failures.append("strict config: `pulumi preview` passed despite mandatory violations")
        result.strict_verdicts = len(found)
        type_of = {r["urn"]: r["type"] for r in plan.get("resources", [])}
        self._judge(result, compare.compare_verdicts(events, plan), type_of, "strict preview")

    def committed_stack_dir(self, stack: str, work: Path) -> Path:
        """The scratch stack file as CI commits it: the same config, the encrypted secret included, without
        the passphrase provider's ``encryptionsalt:`` line `pulumi stack init` wrote for this offline backend.

        A committed stack file holds ``config:`` only (``STACK_FILE_KEYS``; the plan refuses anything else): CI
        reads the Key Vault provider from the stack's state. The witness has no Key Vault, so its engine keeps
        the passphrase provider, whose salt lives in the file; the plan reads the file without it."""
        text = (self.project / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
        extra = [k for k in yaml.safe_load(text) if k not in STACK_FILE_KEYS]
        if set(extra) - PROVIDER_KEYS:
            raise StepFailed(f"Pulumi.{stack}.yaml: the engine wrote top-level keys {sorted(extra)}; expected only "
                             f"{sorted(PROVIDER_KEYS)} beside config")
        kept = [line for line in text.splitlines(keepends=True) if line.split(":", 1)[0] not in PROVIDER_KEYS]
        folder = work / "stack-as-committed"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"Pulumi.{stack}.yaml").write_text("".join(kept), encoding="utf-8")
        return folder

    def offline_plan(self, stack: str, work: Path, config: Path | None = None,
                     name: str = "ai-serving-plan") -> dict[str, Any]:
        """`ai-serving plan <stack> --out` in the same scratch project, on the same stack file (secret included)
        as CI commits it (``committed_stack_dir``)."""
        out = work / name
        extra = ["--policy-pack-config", str(config)] if config else []
        extra += ["--stack-dir", str(self.committed_stack_dir(stack, work))]
        proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ai-serving"), "plan", stack, "--out", str(out), *extra],
                              cwd=self.project, env=self.env, capture_output=True, text=True, timeout=600)
        (self.logs / stack / f"{name}.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
        if proc.returncode not in (0, 1) or not (out / "plan.json").is_file():
            raise StepFailed(f"`ai-serving plan {stack}` exited {proc.returncode}: {_tail(proc.stdout + proc.stderr)}")
        return json.loads((out / "plan.json").read_text(encoding="utf-8"))

    def check_registrations(self, result: StackResult, export: dict[str, Any], plan: dict[str, Any]) -> None:
        type_of = {r["urn"]: r["type"] for r in [*plan.get("resources", []),
                                                   *export["deployment"].get("resources", [])]}
        self._judge(result, compare.compare_registrations(export, plan), type_of)

    def check_verdicts(self, result: StackResult, events_file: Path, plan: dict[str, Any], run: str) -> None:
        events = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        result.verdicts = max(result.verdicts, len(compare.engine_verdicts(events)))
        type_of = {r["urn"]: r["type"] for r in plan.get("resources", [])}
        self._judge(result, compare.compare_verdicts(events, plan), type_of, run)

    def _judge(self, result: StackResult, diffs: list[compare.Difference], type_of: dict[str, str],
               run: str = "stack export") -> None:
        bad, ok = compare.split(diffs, compare.load_allowlist(), type_of)
        result.failures += [f"{run}: differs: {d}" for d in bad]
        result.explained += [f"{run}: {d} -- allowed: {a.reason}" for d, a in ok]

    def destroy(self, result: StackResult, stack: str, export: dict[str, Any], work: Path) -> None:
        protected = sorted(r["urn"] for r in export["deployment"].get("resources", []) if r.get("protect"))
        proc = self.pulumi("destroy", "--yes", "--stack", stack, log=f"{stack}/destroy", check=False)
        self.pulumi("stack", "export", "--stack", stack, "--file", str(work / "export-after-destroy.json"),
                    log=f"{stack}/export-after-destroy")
        after = json.loads((work / "export-after-destroy.json").read_text(encoding="utf-8"))
        left = {r["urn"] for r in after["deployment"].get("resources", [])}
        if protected:
            if proc.returncode == 0:
                result.failures.append("`pulumi destroy` succeeded although resources are protected")
            elif "protected" not in proc.stdout + proc.stderr:
                result.failures.append(f"`pulumi destroy` failed, but not for protection: {_tail(proc.stdout)}")
            missing = [u for u in protected if u not in left]
            if missing:
                result.failures.append(f"protected resources were deleted: {missing}")
        else:
            if proc.returncode != 0:
                result.failures.append(f"`pulumi destroy` exited {proc.returncode}: {_tail(proc.stdout + proc.stderr)}")
            elif left:
                result.failures.append(f"`pulumi destroy` left {len(left)} resources")


class StepFailed(Exception):
    """A pulumi command failed; the message says which and where its log is."""


def strict_policy_config(base: dict[str, Any]) -> dict[str, Any]:
    """The project's policy config made stricter, so that the example stacks violate it.

    An extra required tag (advisory: every tagged resource), one allowed region no example uses
    (mandatory: every regional resource) and customer-managed keys outside prod too.
    """
    cfg = json.loads(json.dumps(base))
    tags = cfg.setdefault("gen-01-required-tags", {})
    tags["requiredTags"] = [*tags.get("requiredTags", []), "witness-required-tag"]
    tags["enforcementLevel"] = "advisory"
    regions = cfg.setdefault("gen-02-allowed-regions", {})
    regions["allowedRegions"] = ["brazilsouth"]
    regions["enforcementLevel"] = "mandatory"
    cfg.setdefault("cs-05-ai-account-customer-managed-key", {})["prodOnly"] = False
    return cfg


def stores_hub_token(plan: dict[str, Any]) -> bool:
    """Whether the stack stores the model-hub token in its vault (a GPU pool whose weights come from the
    hub; a pool with weights from private Blob storage needs no token at boot and stores none)."""
    return any(r["type"] == "azure-native:keyvault:Secret" and r.get("inputs", {}).get("secretName") == MODEL_HUB_SECRET
               for r in plan.get("resources", []))


def _tail(text: str, lines: int = 12) -> str:
    return "\n    ".join(["", *text.strip().splitlines()[-lines:]])


def example_stacks(root: Path = ROOT) -> list[str]:
    """Every example stack: whatever `stacks/Pulumi.*.yaml` holds."""
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (root / "stacks").glob("Pulumi.*.yaml"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="witness", description=__doc__.splitlines()[0])
    parser.add_argument("--engine", type=Path, default=ROOT / "build" / "engine", help="where `make engine` built")
    parser.add_argument("--stack", action="append", help="stack name (default: every stacks/Pulumi.*.yaml)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="logs and results")
    parser.add_argument("--keep", action="store_true", help="keep the scratch project (its path is printed)")
    args = parser.parse_args(argv)

    for binary in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec"):
        if not (args.engine / binary).is_file():
            print(f"witness: {args.engine / binary} is missing: run `make engine` first", file=sys.stderr)
            return 3
    known = example_stacks()
    unknown = sorted(set(args.stack or []) - set(known))
    if unknown:
        print(f"witness: no stack file stacks/Pulumi.{unknown[0]}.yaml (stacks: {', '.join(known)})", file=sys.stderr)
        return 2
    stacks = args.stack or known
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    scratch = Path(tempfile.mkdtemp(prefix="ai-serving-witness-"))
    started = time.monotonic()
    results: list[StackResult] = []
    try:
        witness = Witness(args.engine.resolve(), scratch, args.out)
        version = subprocess.run([str(args.engine / "pulumi"), "version"], capture_output=True, text=True).stdout
        print(f"witness: pulumi {version.strip()}, stand-in azure-native {logic.plugin_version()}, "
              f"stacks: {', '.join(stacks)}")
        witness.prepare()
        for stack in stacks:
            result = witness.run_stack(stack)
            results.append(result)
            _print_result(result)
    finally:
        if args.keep:
            print(f"witness: scratch project kept at {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    total = round(time.monotonic() - started, 1)
    (args.out / "results.json").write_text(json.dumps({
        "total_seconds": total,
        "stacks": [{"stack": r.stack, "ok": r.ok, "resources": r.resources, "policy_violations": r.verdicts,
                    "strict_policy_violations": r.strict_verdicts,
                    "timings": r.timings, "failures": r.failures, "explained": r.explained} for r in results],
    }, indent=2) + "\n", encoding="utf-8")
    failed = [r.stack for r in results if not r.ok]
    print(f"witness: {total} s in all; logs and results.json in {args.out}")
    print(f"witness: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _print_result(r: StackResult) -> None:
    status = "ok" if r.ok else "FAILED"
    times = ", ".join(f"{k} {v} s" for k, v in r.timings.items())
    print(f"  {r.stack}: {status} — {r.resources} resources, {r.verdicts} policy violations "
          f"({r.strict_verdicts} under the strict config, all matched); {times}")
    if r.explained:
        kinds = sorted({line.split(": ", 1)[1].split(" ", 1)[0] for line in r.explained})
        print(f"    {len(r.explained)} known differences ({', '.join(kinds)}), each explained by "
              "witness/allowlist.yaml: see results.json")
    for line in r.failures:
        print(f"    FAIL: {line}")


if __name__ == "__main__":
    sys.exit(main())

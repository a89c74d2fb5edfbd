"""The differential check: the real engine's registrations and verdicts against `ai-serving plan`'s plan.json.

Compared per URN: type, parent, dependencies, protect, provider reference and inputs (`pulumi stack
export` after `up`), and the policy verdicts (the engine's policy events against the pack's findings
in plan.json). Each difference is a `Difference`; `witness/allowlist.yaml` lists the ones that are
known and why (`load_allowlist`), and everything else fails the witness.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ai_serving.verdict import WAIVER_BOOKKEEPING
from ai_serving.wire import MASK, SECRET_SIG

ALLOWLIST = Path(__file__).resolve().parent / "allowlist.yaml"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
# Verdicts the offline tooling adds itself (waiver bookkeeping); the pack never reports them. All of them: the
# review found too-long, too-broad and outlives-model reported as unexplained differences.
SYNTHETIC_POLICIES = WAIVER_BOOKKEEPING
UNKNOWN_IN_PREVIEW = "can't run policy"
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's sentinel for a value not yet known


@dataclass(frozen=True, order=True)
class Difference:
    """One way the engine and the offline plan disagree."""

    kind: str  # missing-in-engine, missing-in-plan, type, parent, dependencies, protect, provider, input,
    # output, preview-op, policy, policy-not-run
    urn: str
    path: str = ""
    engine: Any = None
    plan: Any = None

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.kind}{where} of {self.urn or '(stack)'}: engine={self.engine!r} plan={self.plan!r}"


@dataclass(frozen=True)
class Allowed:
    """An allow-list entry: differences of ``kind`` on resources of type ``type`` at ``path`` (globs)."""

    kind: str
    type: str
    path: str
    reason: str

    def matches(self, diff: Difference, type_of: dict[str, str]) -> bool:
        return (diff.kind == self.kind and fnmatch.fnmatchcase(type_of.get(diff.urn, ""), self.type)
                and fnmatch.fnmatchcase(diff.path, self.path))


def load_allowlist(path: Path = ALLOWLIST) -> list[Allowed]:
    """The allow-list entries; each must say what it allows and why."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not str(e.get("reason", "")).strip() or not e.get("kind"):
            raise ValueError(f"{path}: entry {i + 1} needs a kind and a reason")
        out.append(Allowed(kind=e["kind"], type=e.get("type", "*"), path=e.get("path", "*"), reason=e["reason"]))
    return out


def normalise(value: Any) -> Any:
    """One form for both sides: secrets (ciphertext or wrapped plaintext) masked, integral floats as ints."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return MASK
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def provider_urn(ref: str) -> str:
    """The URN part of a provider reference `<urn>::<id>` (the id is the engine's own random UUID)."""
    return ref.rsplit("::", 1)[0] if ref else ""


def _input_diffs(urn: str, engine: Any, plan: Any, path: str = "") -> list[Difference]:
    if isinstance(engine, dict) and isinstance(plan, dict):
        out: list[Difference] = []
        for key in sorted(set(engine) | set(plan)):
            sub = f"{path}.{key}" if path else key
            if key not in engine:
                out.append(Difference("input", urn, sub, None, plan[key]))
            elif key not in plan:
                out.append(Difference("input", urn, sub, engine[key], None))
            else:
                out.extend(_input_diffs(urn, engine[key], plan[key], sub))
        return out
    if engine != plan:
        return [Difference("input", urn, path, engine, plan)]
    return []


def compare_registrations(export: dict[str, Any], plan: dict[str, Any]) -> list[Difference]:
    """Every difference between `pulumi stack export` (after `up`) and plan.json's resources."""
    engine = {r["urn"]: r for r in export.get("deployment", {}).get("resources", [])}
    offline = {r["urn"]: r for r in plan.get("resources", [])}
    diffs: list[Difference] = []
    for urn in sorted(set(offline) - set(engine)):
        diffs.append(Difference("missing-in-engine", urn, "", None, offline[urn]["type"]))
    for urn in sorted(set(engine) - set(offline)):
        diffs.append(Difference("missing-in-plan", urn, "", engine[urn]["type"], None))
    for urn in sorted(set(engine) & set(offline)):
        e, p = engine[urn], offline[urn]
        pairs = {
            "type": (e.get("type"), p.get("type")),
            "parent": (e.get("parent") or None, p.get("parent") or None),
            "dependencies": (sorted(set(e.get("dependencies") or [])), sorted(set(p.get("dependencies") or []))),
            "protect": (bool(e.get("protect")), bool(p.get("protect"))),
            "provider": (provider_urn(e.get("provider", "")), provider_urn(p.get("provider", ""))),
        }
        for kind, (ev, pv) in pairs.items():
            if ev != pv:
                diffs.append(Difference(kind, urn, "", ev, pv))
        if e.get("type") != ROOT_STACK_TYPE:
            diffs.extend(_input_diffs(urn, normalise(e.get("inputs") or {}), normalise(p.get("inputs") or {})))
        elif "outputs" in plan and "outputs" in e:
            # The stack's outputs: what the program exports, computed from the provider's answers.
            diffs.extend(Difference("output", d.urn, d.path, d.engine, d.plan)
                         for d in _input_diffs(urn, normalise(e["outputs"]), normalise(plan["outputs"])))
    return diffs


def _policy_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [ev["policyEvent"] for ev in events if ev.get("policyEvent")]


def not_run_in_preview(event: dict[str, Any]) -> bool:
    """Whether a policy event says the policy could not run because a value is unknown during preview.

    pulumi_policy reports this as an advisory event instead of a verdict; the offline plan, whose mocks
    know every id, always runs the policy.
    """
    return UNKNOWN_IN_PREVIEW in event.get("message", "")


def _has_unknown(value: Any) -> bool:
    if isinstance(value, str):
        return UNKNOWN_VALUE in value
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return False


def compare_preview(preview: dict[str, Any], plan: dict[str, Any]) -> list[Difference]:
    """A first preview's steps (`pulumi preview --json`) against plan.json.

    Every resource of the plan must be a `create` step with the same URN, type, parent, dependencies,
    protect, provider and inputs; an input the engine does not know yet (an output of a resource not
    created yet) is not a difference: the offline plan's mocks know it, a preview cannot. Default
    providers are not steps in the preview's JSON, so they are left out on both sides.
    """
    steps = preview.get("steps", [])
    diffs = [Difference("preview-op", s["urn"], "", s.get("op"), "create") for s in steps if s.get("op") != "create"]
    engine = {"deployment": {"resources": [s["newState"] for s in steps if s.get("newState")]}}
    offline = {**plan, "resources": [r for r in plan.get("resources", [])
                                     if not r["type"].startswith("pulumi:providers:")]}
    diffs += [d for d in compare_registrations(engine, offline) if not _has_unknown(d.engine)]
    return diffs


def engine_verdicts(events: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(policy, urn, level) of every policy violation in an engine event log."""
    return {(pe.get("policyName", ""), pe.get("resourceUrn", ""), pe.get("enforcementLevel", ""))
            for pe in _policy_events(events) if not not_run_in_preview(pe)}


def plan_verdicts(plan: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(policy, urn, level) of every finding of the pack in plan.json, waived or not.

    Waivers are the offline tooling's own layer over the pack (the engine has none), so a waived
    finding is still a finding the engine reports; it keeps the level the pack gave it.
    """
    policy = plan.get("policy") or {}
    out = {(v["policy"], v["urn"], v["level"]) for v in policy.get("violations", [])
           if v["policy"] not in SYNTHETIC_POLICIES}
    out |= {(s["policy"], s["urn"], s.get("level", "")) for s in policy.get("suppressed", [])}
    return out


def compare_verdicts(events: list[dict[str, Any]], plan: dict[str, Any]) -> list[Difference]:
    """Violations the engine reported that plan.json lacks, and the reverse."""
    engine, offline = engine_verdicts(events), plan_verdicts(plan)
    not_run = {(pe.get("policyName", ""), pe.get("resourceUrn", ""))
               for pe in _policy_events(events) if not_run_in_preview(pe)}
    diffs = [Difference("policy", urn, f"{name}/{level}", "reported", None)
             for name, urn, level in sorted(engine - offline)]
    # A policy the engine could not run on a resource has no engine verdict there to compare (a waived
    # finding of plan.json, say): the not-run itself is the difference, below, and must be explained.
    diffs += [Difference("policy", urn, f"{name}/{level}", None, "reported")
              for name, urn, level in sorted(offline - engine) if (name, urn) not in not_run]
    diffs += sorted(Difference("policy-not-run", urn, name, "unknown during preview", "ran")
                    for name, urn in not_run)
    return diffs


def split(diffs: list[Difference], allow: list[Allowed], type_of: dict[str, str],
          ) -> tuple[list[Difference], list[tuple[Difference, Allowed]]]:
    """(unexplained differences, explained ones with the entry that explains each)."""
    bad: list[Difference] = []
    ok: list[tuple[Difference, Allowed]] = []
    for d in diffs:
        entry = next((a for a in allow if a.matches(d, type_of)), None)
        if entry is None:
            bad.append(d)
        else:
            ok.append((d, entry))
    return bad, ok

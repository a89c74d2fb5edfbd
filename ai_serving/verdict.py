"""Turn the pack's diagnostics and the stack's waivers into one verdict (and compliance rows)."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.config.errors import shown
from infra.config.model import Suppression

if TYPE_CHECKING:  # types only: reports use rule_id without loading the engine
    from .engine.analyzer import Analysis, Diagnostic, PolicyMeta

NON_WAIVABLE_TAG = "non-waivable"
WAIVER_EXPIRED = "waiver-expired"
WAIVER_NOT_ALLOWED = "waiver-not-allowed"
WAIVER_TOO_LONG = "waiver-too-long"
WAIVER_TOO_BROAD = "waiver-too-broad"
WAIVER_OUTLIVES_MODEL = "waiver-outlives-model"
WAIVER_BOOKKEEPING = frozenset({WAIVER_EXPIRED, WAIVER_NOT_ALLOWED, WAIVER_TOO_LONG, WAIVER_TOO_BROAD,
                                WAIVER_OUTLIVES_MODEL})
"""The findings the tooling adds about waivers themselves: the engine knows nothing of waivers, so no pack reports
them (the witness leaves them out of its comparison)."""
WAIVERS_FILE = "waivers.json"
"""The platform team's waiver rules, beside the pack's policy-config.json (``WaiverRules``).

Not an entry of policy-config.json: the Pulumi CLI reads every entry there as a policy's config and
rejects one without an enforcement level (found by ``make witness`` under the real engine)."""
MAX_WAIVERS_BYTES = 256 * 1024
"""waivers.json is a few hundred bytes; anything this large is not one."""
WAIVERS_DEPTH = 3
"""How deep waivers.json nests: the settings object, its allowance list, an entry."""


@dataclass(frozen=True)
class WaiverRules:
    """What the platform team allows in waivers; the one place is ``policies/waivers.json``.

    ``maxDays``: the latest expiry a waiver may have, counted from the day of the plan (default 365).
    ``broadResourceAllowances``: ``{"stack", "rule", "resource"}`` entries allowing a waiver whose
    resource pattern names no resources (``too_broad``: ``*``, ``[!Z]*``, ``*-prod``...), which is otherwise
    refused.
    """

    max_days: int = 365
    broad_allowances: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def from_pack(cls, pack_dir: Path | None) -> WaiverRules:
        """Read ``<pack>/waivers.json`` (the defaults without one); ``UsageError`` naming what is wrong.

        The pack may come from a pull request, like policy-config.json, and is read the same way
        (``read_json_file``: a FIFO or a link to ``/dev/zero`` under that name is one message, not a hang
        or a read without end; lexists, so it is not silently taken for no file).
        """
        from .json_file import read_json_file

        path = pack_dir / WAIVERS_FILE if pack_dir is not None else None
        if path is None or not os.path.lexists(path):
            return cls()
        raw = read_json_file(path, what=WAIVERS_FILE, max_bytes=MAX_WAIVERS_BYTES, max_depth=WAIVERS_DEPTH)
        return cls.from_settings(raw, str(path))

    @classmethod
    def from_settings(cls, raw: Any, where: str = WAIVERS_FILE) -> WaiverRules:
        """Check and read the settings object; ``UsageError`` naming what is wrong when malformed (the
        bad value quoted by ``shown``: bounded, as a hostile file can hold megabytes)."""
        from .outcome import UsageError

        if not isinstance(raw, Mapping) or set(raw) - {"maxDays", "broadResourceAllowances"}:
            raise UsageError(f"{where}: expected an object with maxDays and broadResourceAllowances")
        assert isinstance(raw, Mapping)
        max_days = raw.get("maxDays", cls.max_days)
        if not isinstance(max_days, int) or isinstance(max_days, bool) or not 1 <= max_days <= 3650:
            raise UsageError(f"{where}.maxDays: expected a whole number of days from 1 to 3650; "
                             f"found {type(max_days).__name__} {shown(max_days)}")
        entries = raw.get("broadResourceAllowances") or []
        if not isinstance(entries, list):  # enumerate() of a number was a TypeError; of a string, its letters
            raise UsageError(f"{where}.broadResourceAllowances: expected a list of {{stack, rule, resource}} "
                             f"entries; found {type(entries).__name__} {shown(entries)}")
        allowances = []
        for i, entry in enumerate(entries):
            if not (isinstance(entry, Mapping) and set(entry) == {"stack", "rule", "resource"}
                    and all(isinstance(v, str) for v in entry.values())):
                raise UsageError(f"{where}.broadResourceAllowances[{i}]: expected {{stack, rule, resource}} strings")
            allowances.append((entry["stack"], entry["rule"], entry["resource"]))
        return cls(max_days, tuple(allowances))


GLOB_WILDCARDS = "*?["
"""What starts a wildcard in a waiver's fnmatch pattern: ``*``, ``?`` and a ``[...]`` class (``[!Z]``)."""
MIN_NAMED_PREFIX = 2
"""Literal characters a wildcard pattern must start with: the shortest resource kind prefix (``rg-``,
``kv-``, ``st``; ``infra/naming.py``), so a pattern names at least one kind of resource."""


def too_broad(glob: str) -> bool:
    """Whether a waiver's resource pattern names no resources: it has a wildcard and fewer than
    ``MIN_NAMED_PREFIX`` literal characters before it.

    Every resource name starts with its kind and then carries the stack's own team and environment
    (``oai-team-a-prod-sdc``). A pattern that may begin with anything matches every resource as soon as
    the rest of it is in every name: class syntax needs no letter at all (``[!Z]*``, ``[a-z]*``,
    ``*[!#]*``), and the stack's own name is in all of them (``*-prod-*``, ``*team-a*``). A literal start
    confines the matches to names that begin with it, whatever follows. ``[`` counts as a wildcard even
    where fnmatch reads it literally (no closing ``]``), which only ever refuses more.
    """
    first = next((i for i, c in enumerate(glob) if c in GLOB_WILDCARDS), None)
    return first is not None and first < MIN_NAMED_PREFIX


_RULE_ID = re.compile(r"^([a-z]+)-(\d{2})")


def rule_id(policy: str, meta: PolicyMeta | None = None) -> str:
    """The catalogue id of a policy (``cs-01-...`` -> ``CS-01``), else the policy name."""
    m = _RULE_ID.match(policy)
    return f"{m.group(1).upper()}-{m.group(2)}" if m else policy


def resource_name(urn: str) -> str:
    """The resource name part of a URN (what a waiver's ``resource`` pattern matches)."""
    return urn.rsplit("::", 1)[-1] if urn else ""


@dataclass
class Verdict:
    """The policy outcome for one stack."""

    pack: str
    violations: list[dict[str, Any]] = field(default_factory=list)
    suppressed: list[dict[str, Any]] = field(default_factory=list)
    compliance: list[dict[str, Any]] = field(default_factory=list)
    unused_waivers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mandatory(self) -> list[dict[str, Any]]:
        return [v for v in self.violations if v["level"] == "mandatory"]

    @property
    def advisory(self) -> list[dict[str, Any]]:
        return [v for v in self.violations if v["level"] != "mandatory"]

    def to_json(self) -> dict[str, Any]:
        """The ``policy`` section of plan.json."""
        return {
            "pack": self.pack,
            "violations": [{k: v[k] for k in ("policy", "level", "urn", "message")} for v in self.violations],
            "suppressed": [{k: v[k] for k in ("policy", "level", "urn", "reason", "expires")} for v in self.suppressed],
        }


def decide(pack: str, policies: Mapping[str, PolicyMeta], analysis: Analysis, suppressions: list[Suppression],
           *, today: date, stack: str = "", rules: WaiverRules | None = None) -> Verdict:
    """Apply waivers to the pack's diagnostics; expired, forbidden, too long or too broad waivers are
    violations themselves (and waive nothing)."""
    rules = rules or WaiverRules()
    verdict = Verdict(pack=pack)
    used: set[int] = set()
    latest = date.fromordinal(today.toordinal() + rules.max_days)
    refused: set[int] = set()
    for i, s in enumerate(suppressions):
        meta = next((m for n, m in policies.items() if rule_id(n) == s.rule), None)
        if s.expires > latest:
            refused.add(i)
            verdict.violations.append(_synthetic(WAIVER_TOO_LONG, f"the waiver of {s.rule} for {s.resource!r} runs "
                                                 f"to {s.expires.isoformat()}, past the {rules.max_days}-day limit "
                                                 f"({latest.isoformat()}); choose an earlier expiry"))
        if too_broad(s.resource) and (stack, s.rule, s.resource) not in rules.broad_allowances:
            refused.add(i)
            verdict.violations.append(_synthetic(WAIVER_TOO_BROAD, f"the waiver of {s.rule} for {s.resource!r} "
                                                 "names no resources: a pattern must start with at least "
                                                 f"{MIN_NAMED_PREFIX} characters of the resource names before any "
                                                 "*, ? or [ (like oai-* or vmss-team-a-prod-sdc-gpu); name the "
                                                 "resources, or ask the platform team for an allowance in "
                                                 "policies/waivers.json"))
        if i in refused:
            used.add(i)
            continue
        if meta is not None and NON_WAIVABLE_TAG in meta.tags:
            used.add(i)
            verdict.violations.append(_synthetic(WAIVER_NOT_ALLOWED, f"{s.rule} cannot be waived (waiver for "
                                                 f"{s.resource!r}); fix the resource instead"))
        elif s.expires < today:
            used.add(i)
            verdict.violations.append(_synthetic(WAIVER_EXPIRED, f"the waiver of {s.rule} for {s.resource!r} expired "
                                                 f"on {s.expires.isoformat()}; renew it with a new reason or fix "
                                                 "the finding"))
    usable = [s for i, s in enumerate(suppressions) if i not in refused]
    for d in analysis.diagnostics:
        waiver = _matching_waiver(d, usable, policies, today)
        entry = _entry(d)
        if waiver is not None:
            used.add(suppressions.index(waiver))
            verdict.suppressed.append({**entry, "reason": waiver.reason, "expires": waiver.expires.isoformat()})
        else:
            verdict.violations.append(entry)
    verdict.unused_waivers = [
        {"rule": s.rule, "resource": s.resource} for i, s in enumerate(suppressions) if i not in used
    ]
    verdict.compliance = _compliance(policies, analysis, verdict)
    return verdict


def _entry(d: Diagnostic) -> dict[str, Any]:
    return {"policy": d.policy, "rule": rule_id(d.policy), "level": d.level, "urn": d.urn, "message": d.message}


def _synthetic(policy: str, message: str) -> dict[str, Any]:
    return {"policy": policy, "rule": policy, "level": "mandatory", "urn": "", "message": message}


def _matching_waiver(d: Diagnostic, suppressions: list[Suppression], policies: Mapping[str, PolicyMeta],
                     today: date) -> Suppression | None:
    meta = policies.get(d.policy)
    if meta is not None and NON_WAIVABLE_TAG in meta.tags:
        return None
    name = resource_name(d.urn)
    for s in suppressions:
        if s.rule == rule_id(d.policy) and s.expires >= today and fnmatch.fnmatchcase(name, s.resource):
            return s
    return None


def _compliance(policies: Mapping[str, PolicyMeta], analysis: Analysis, verdict: Verdict) -> list[dict[str, Any]]:
    """cdk-nag style rows: one per (rule, resource) the pack judged; a stack policy without findings has one
    row for the stack (``analysis.stack_urn``)."""
    rows: list[dict[str, Any]] = []
    flagged = {(v["policy"], v["urn"]) for v in verdict.violations}
    waived = {(s["policy"], s["urn"]): s for s in verdict.suppressed}
    for urn in analysis.analyzed:
        skipped = analysis.not_applicable.get(urn, set())
        for name, meta in policies.items():
            if meta.stack_policy or name in skipped or meta.level == "disabled":
                continue
            rows.append(_row(name, meta, urn, flagged, waived))
    judged_stack = set()
    for key in sorted(flagged | set(waived)):
        name, urn = key
        meta = policies.get(name)
        if meta is not None and meta.stack_policy:
            judged_stack.add(name)
            rows.append(_row(name, meta, urn, flagged, waived))
    # A stack policy that judged the stack and found nothing gets one Compliant row for the stack as a whole
    # (its findings name the resources at fault). One that declared itself not applicable (e.g. VMSS-09 in a
    # stack without a scale set) or is disabled judged nothing, so it has no row, as a resource policy has none.
    skipped = analysis.not_applicable.get("", set())
    for name, meta in policies.items():
        if meta.stack_policy and meta.level != "disabled" and name not in skipped and name not in judged_stack:
            rows.append(_row(name, meta, analysis.stack_urn, flagged, waived))
    return rows


def _row(name: str, meta: PolicyMeta, urn: str, flagged: set, waived: dict) -> dict[str, Any]:
    if (name, urn) in waived:
        compliance, reason = "Suppressed", waived[(name, urn)]["reason"]
    elif (name, urn) in flagged:
        compliance, reason = "Non-Compliant", ""
    else:
        compliance, reason = "Compliant", ""
    return {"Rule ID": rule_id(name), "Resource ID": urn, "Compliance": compliance, "Exception Reason": reason,
            "Rule Level": meta.level, "Rule Info": meta.description}

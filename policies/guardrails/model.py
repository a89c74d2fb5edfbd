"""The shapes every rule shares: the rule record, its context, its verdict, stack resources."""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from . import templates
from .values import Undetermined, canonical_type

Severity = Literal["low", "medium", "high", "critical"]
Category = Literal["security", "hygiene", "cost"]
Level = Literal["mandatory", "advisory"]
Scope = Literal["resource", "stack"]

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
CATEGORY_LEVEL: dict[str, Level] = {"security": "mandatory", "hygiene": "advisory", "cost": "advisory"}
"""Security rules block a deployment; hygiene and cost rules advise."""


@dataclass(frozen=True)
class NotApplicable:
    """A rule's answer when the resource is outside what the rule judges (e.g. a prod-only rule in dev)."""

    reason: str = "not applicable"


NOT_APPLICABLE = NotApplicable()


@dataclass(frozen=True)
class Violation:
    """One finding. ``urn`` is set by stack rules to name the resource at fault."""

    message: str
    urn: str | None = None


class Findings(list):
    """A rule's violation messages, plus the checks it could not finish because a value is unknown.

    ``with findings.check(): ...`` runs one independent check: an :class:`Undetermined` raised
    inside is recorded and the remaining checks still run.
    """

    def __init__(self) -> None:
        super().__init__()
        self.undetermined: list[str] = []

    def add(self, message: str, urn: str | None = None) -> None:
        """Record a violation."""
        self.append(Violation(message, urn) if urn else message)

    @contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except Undetermined as exc:
            self.undetermined.append(exc.path)


@dataclass(frozen=True)
class StackResource:
    """One resource as a stack rule sees it (built from ``pulumi_policy.PolicyResource``).

    ``props`` are plain wire-form properties; ``parent``, ``dependencies`` and
    ``property_dependencies`` hold URNs.
    """

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    protect: bool = False

    @property
    def canonical_type(self) -> str:
        return canonical_type(self.type)


@dataclass(frozen=True)
class Context:
    """What a rule may know besides the properties: its config and where the resource sits."""

    config: Mapping[str, Any] = field(default_factory=dict)
    resource_type: str = ""
    name: str = ""
    urn: str = ""
    stack_environment: str | None = None
    """The stack's environment (from the stack config or the stack name); see guardrails.environment."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one rule on one resource (or stack)."""

    violations: tuple[Violation, ...] = ()
    not_applicable: str | None = None
    undetermined: tuple[str, ...] = ()

    @property
    def messages(self) -> list[str]:
        return [v.message for v in self.violations]

    @property
    def compliant(self) -> bool:
        """No violation, applicable, and nothing left unknown."""
        return not self.violations and self.not_applicable is None and not self.undetermined


RuleFn = Callable[[Any, Context], Any]


@dataclass(frozen=True)
class Rule:
    """One guardrail: metadata plus a pure validation function.

    Resource rules: ``fn(props, ctx)`` with wire-form properties. Stack rules:
    ``fn(resources, ctx)`` with a list of :class:`StackResource`. Either returns a list of
    messages (or :class:`Violation`), :data:`NOT_APPLICABLE`, or raises
    :class:`~guardrails.values.Undetermined`.
    """

    id: str
    policy_name: str
    title: str
    description: str
    severity: Severity
    category: Category
    remediation: str
    link: str
    anchors: tuple[str, ...]
    resource_types: tuple[str, ...]
    fn: RuleFn = field(repr=False, compare=False)
    scope: Scope = "resource"
    waivable: bool = True
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON-schema properties of the rule's config, each with a ``default``."""
    enforcement: Level | None = None
    """Explicit enforcement level, for a rule whose level is not its category's (e.g. a prod-only
    hygiene rule that must block). Default: from the category."""
    _types: re.Pattern[str] = field(init=False, repr=False, compare=False)
    """``resource_types`` as one compiled pattern (see ``__post_init__``)."""

    def __post_init__(self) -> None:
        # Compiled when the rule is defined (at import), not at its first use: a pack process forked from
        # a warm parent (`plan --all`'s zygote) inherits it rather than compiling it again for each stack.
        # fnmatch.translate gives the pattern fnmatchcase matches with; "(?!)" matches nothing.
        patterns = "|".join(fnmatch.translate(p) for p in self.resource_types) or "(?!)"
        object.__setattr__(self, "_types", re.compile(patterns))

    @property
    def level(self) -> Level:
        """Enforcement level: security rules are mandatory, hygiene and cost rules advisory (unless set)."""
        return self.enforcement or CATEGORY_LEVEL[self.category]

    def applies_to(self, resource_type: str) -> bool:
        """Whether this rule judges resources of ``resource_type`` (a stack rule: reports against them).

        A resource of a type the rule judges and that received no violation (nor a not-applicable
        answer) is compliant with the rule: reports can list Compliant rows from this.
        """
        token = canonical_type(resource_type)
        if self.scope == "resource" and templates.is_deployment(token):
            return True  # the template's resources of this rule's types (see guardrails.templates)
        return self._judges(token)

    def _judges(self, token: str) -> bool:
        """Whether canonical ``token`` matches one of ``resource_types`` (fnmatchcase's match)."""
        return self._types.match(token) is not None

    @property
    def config_schema(self) -> dict[str, Any]:
        """The JSON schema of this rule's config object (what Pulumi validates a config file against)."""
        return {"type": "object", "properties": copy.deepcopy(dict(self.config))}

    def defaults(self) -> dict[str, Any]:
        """The config with every schema default."""
        return {k: copy.deepcopy(v["default"]) for k, v in self.config.items() if "default" in v}

    def settings(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Schema defaults overlaid with ``overrides`` (the pack's configured values)."""
        merged = self.defaults()
        merged.update({k: v for k, v in (overrides or {}).items() if k != "enforcementLevel"})
        return merged

    def evaluate(self, subject: Any, ctx: Context | None = None) -> Verdict:
        """Run the rule on ``subject`` (props, or stack resources) and normalise its answer."""
        ctx = ctx or Context()
        ctx = Context(self.settings(ctx.config), ctx.resource_type, ctx.name, ctx.urn, ctx.stack_environment)
        token = canonical_type(ctx.resource_type)
        if self.scope == "resource" and templates.is_deployment(token) \
                and not self._judges(token):
            return self._evaluate_template(subject, ctx)
        try:
            result = self.fn(subject, ctx)
        except Undetermined as exc:
            return Verdict(undetermined=(exc.path,))
        if isinstance(result, NotApplicable):
            return Verdict(not_applicable=result.reason)
        violations = tuple(v if isinstance(v, Violation) else Violation(str(v)) for v in result or ())
        return Verdict(violations, undetermined=tuple(getattr(result, "undetermined", ())))

    def _evaluate_template(self, props: Any, ctx: Context) -> Verdict:
        """Judge the resources an ARM template deployment declares (those of this rule's types)."""
        violations: list[Violation] = []
        undetermined: list[str] = []
        judged = False
        if not self.waivable:
            violations += [Violation(f"the pack cannot see what this deployment declares: {part}; declare the "
                                     "resources with the provider instead") for part in templates.opaque_parts(props)]
            judged = bool(violations)
        for label, token, resource in templates.template_resources(props):
            if not self._judges(token):
                continue
            judged = True
            inner = self.evaluate(resource, Context(ctx.config, token, label, ctx.urn, ctx.stack_environment))
            violations += [Violation(f"template resource {label} ({token.rsplit(':', 1)[-1]}): {v.message}")
                           for v in inner.violations]
            undetermined += [f"template resource {label}: {u}" for u in inner.undetermined]
        if not judged:
            return Verdict(not_applicable=f"the template declares no resource {self.id} judges")
        return Verdict(tuple(violations), undetermined=tuple(undetermined))

    def check(
        self,
        subject: Any,
        *,
        environment: str | None = None,
        resource_type: str | None = None,
        name: str = "",
        **config: Any,
    ) -> Verdict:
        """Convenience for tests and tools: evaluate with config overrides as keyword arguments."""
        rtype = resource_type or (self.resource_types[0] if self.scope == "resource" else "")
        return self.evaluate(subject, Context(config, rtype, name, "", environment))


def of_types(resources: Sequence[StackResource], *types: str) -> list[StackResource]:
    """The stack resources whose (canonical) type is one of ``types``."""
    wanted = set(types)
    return [r for r in resources if r.canonical_type in wanted]

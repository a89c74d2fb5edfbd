"""Rules that relate several keys of a stack config (run after the shape is valid).

Each check returns ``(key path, message)`` pairs; the loader turns them into one error report.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Iterator
from pathlib import PurePath
from typing import TYPE_CHECKING

from .. import catalogues, sizing
from . import openai_checks
from .addressing import LARGEST_ALLOWED_PREFIX, gpu_addresses_needed, layout, usable_addresses
from .errors import shown
from .model import ARM_ID_RE, UUID_RE, StackConfig, is_placeholder
from .patterns import full_match
from .regions import REGION_SHORT_CODES, location_problem

if TYPE_CHECKING:
    from ..naming import Naming

Path = tuple[str | int, ...]
Issue = tuple[Path, str]

MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
"""A Hugging Face model id (``org/name``) or a plain name: it goes into a systemd unit and a shell."""


PLACEHOLDER_COST_CENTER = "CC-TODO"
"""What ``ai-serving new-team`` writes until a team names its real cost center."""


def placeholder_owner(team: str) -> str:
    """The owner ``ai-serving new-team`` writes until a team names its real owners."""
    return f"{team}-owners@example.com"


def placeholders(cfg: StackConfig) -> list[Issue]:
    """Scaffolding placeholders left in ``cfg`` (``CC-TODO``, a ``TODO``-like word, new-team's default owner).

    A config-level check rather than a pack rule on the tags: the values are config keys, so the
    finding points at the exact line of the stack file, and a prod stack stops before anything is
    declared. Prod rejects them (see ``check``); dev and test only get a warning from the tooling."""
    found: list[Issue] = []
    if is_placeholder(cfg.cost_center):
        found.append((("ai-serving:costCenter",),
                      f"placeholder cost center {shown(cfg.cost_center)}: set the real one"))
    for i, owner in enumerate(cfg.owners):
        if is_placeholder(owner) or owner == placeholder_owner(cfg.team):
            found.append((("ai-serving:owners", i), f"placeholder owner {shown(owner)}: name the real owners"))
    for key, value in cfg.tags.items():
        if is_placeholder(value):
            found.append((("ai-serving:tags", key), f"placeholder tag value {shown(value)}: set the real one"))
    return found


def check(cfg: StackConfig, stack_name: str | None) -> list[Issue]:
    """Every cross-key problem in ``cfg``; empty when the config is sound."""
    return [
        # Nobody can be charged or paged for a prod stack that still carries new-team's placeholders.
        *(placeholders(cfg) if cfg.environment == "prod" else []),
        *_stack_identity(cfg, stack_name),
        *_location(cfg),
        *_network(cfg),
        *openai_checks.check(cfg),
        *_gpu_pool(cfg),
        *_gated_model(cfg),
        *_supply(cfg),
        *_shared_networks(cfg),
        *_waivers(cfg),
        *_zero_instances(cfg),
    ]


def _stack_identity(cfg: StackConfig, stack_name: str | None) -> Iterator[Issue]:
    if cfg.openai is None and cfg.gpu_pool is None:
        yield (("ai-serving:openai",), "a stack declares at least one of `openai` and `gpuPool`; found neither")
    if stack_name is not None and stack_name != cfg.stack_name:
        yield (
            ("ai-serving:team",),
            f"the stack is named {shown(stack_name)} but team/environment say {shown(cfg.stack_name)}; "
            "rename the file to Pulumi.<team>-<environment>.yaml or fix the keys",
        )


def _location(cfg: StackConfig) -> Iterator[Issue]:
    problem = location_problem(cfg.location)
    if problem is not None:
        yield (("azure-native:location",), problem)


def _network(cfg: StackConfig) -> Iterator[Issue]:
    space = cfg.network.address_space
    path: Path = ("ai-serving:network", "addressSpace")
    if space.prefixlen > LARGEST_ALLOWED_PREFIX:
        yield (path, f"address space {space} is too small: expected /{LARGEST_ALLOWED_PREFIX} or larger "
                     "(gpu, private-endpoint and gateway subnets are carved from it)")
        return
    if cfg.gpu_pool is not None:
        gpu = layout(space).gpu
        needed = gpu_addresses_needed(cfg.gpu_pool.max_instances, cfg.profile.rolling_max_batch_percent)
        if usable_addresses(gpu) < needed:
            want = 32 - math.ceil(math.log2(needed + 5)) - 1
            yield (path, f"address space {space} is too small for gpuPool.maxInstances="
                         f"{cfg.gpu_pool.max_instances}: the gpu subnet {gpu} has {usable_addresses(gpu)} "
                         f"usable addresses, {needed} are needed (instances + a spare rolling-upgrade batch + "
                         f"load balancer); use a /{want} or larger")


def _gpu_pool(cfg: StackConfig) -> Iterator[Issue]:
    pool = cfg.gpu_pool
    if pool is None:
        return
    base: Path = ("ai-serving:gpuPool",)
    skus = catalogues.gpu_skus()
    sku = skus.get(pool.vm_sku)
    if sku is None:
        yield (base + ("vmSku",), f"unknown GPU VM size {shown(pool.vm_sku)}; expected one of: {', '.join(skus)} "
                                  "(add sizes to infra/catalogues/gpu_skus.yaml)")
    if pool.min_instances > pool.max_instances:
        yield (base + ("minInstances",), f"minInstances ({pool.min_instances}) must not exceed "
                                         f"maxInstances ({pool.max_instances})")
    if pool.spot and not cfg.profile.spot_allowed:
        yield (base + ("spot",), f"spot instances are not allowed in {cfg.environment} "
                                 "(evictions would take the serving endpoint down); set spot: false")
    if pool.spot and sku is not None and not sku["spot"]:
        yield (base + ("spot",), f"{pool.vm_sku} is not offered as Spot; set spot: false")
    if not full_match(MODEL_ID_RE, pool.model):
        yield (base + ("model",), f"expected a Hugging Face model id like meta-llama/Llama-3.1-8B-Instruct "
                                  f"(letters, digits, '.', '_', '-' and one '/'), found {shown(pool.model)}")
        return
    known = catalogues.open_models().get(pool.model)
    if sku is None or known is None:
        return
    # Memory, context length and head split: one definition, shared with the pool and new-team.
    for problem in sizing.fit_problems(pool.model, known, pool.vm_sku, sku):
        yield (base + ("model",), problem)


def _gated_model(cfg: StackConfig) -> Iterator[Issue]:
    """A gated Hub model downloads only with a token: without one vLLM exits and restarts forever."""
    pool = cfg.gpu_pool
    if pool is None or cfg.model_hub_token is not None:
        return
    if (catalogues.open_models().get(pool.model) or {}).get("gated"):
        yield (("ai-serving:gpuPool", "model"),
               f"{pool.model} is gated on Hugging Face: the download is refused without a token; set one with "
               "`pulumi config set --secret ai-serving:modelHubToken <token>` (an account that was granted "
               "access), or choose a model that is not gated (e.g. Qwen/Qwen2.5-7B-Instruct)")


def _zero_instances(cfg: StackConfig) -> Iterator[Issue]:
    """``minInstances: 0`` only with a mechanism that leaves zero: the pool has none (metric rules
    need a running VM to measure, so a pool at zero stays at zero)."""
    pool = cfg.gpu_pool
    if pool is not None and pool.min_instances == 0:
        yield (("ai-serving:gpuPool", "minInstances"),
               "minInstances: 0 would never start: autoscale scales on a metric of running VMs, and at zero "
               "instances there is none, so the pool stays at zero; set minInstances: 1 or more")



DIGEST_RULE = "VMSS-10"
"""The pack rule a prod pool's unpinned image is waived under (the one visible override)."""
REGISTRY_RULE = "VMSS-09"
"""The pack rule a prod pool's image from outside the stack's registry (e.g. ``imageSource: hub``) is waived
under: the visible override for a pool that must pull from a public registry."""


DEFERRED_RULES = (REGISTRY_RULE, DIGEST_RULE)
"""The pack rules whose waiver defers a config check: each judges the GPU pool's scale set alone."""


def _scale_set(cfg: StackConfig) -> str:
    """The name of the GPU pool's scale set: the resource name a VMSS waiver's ``resource`` pattern matches."""
    return _naming(cfg).gpu_scale_set()


def _waived(cfg: StackConfig, rule: str) -> bool:
    """Whether the stack waives pack rule ``rule`` for its GPU pool's scale set, matched as the verdict
    matches (``fnmatch.fnmatchcase`` on the resource name, ai_serving/verdict.py); the pack judges the
    rest of the waiver itself (reason, expiry, breadth). A waiver for another resource waives nothing
    there, so it must not defer the config check either."""
    # Without a known region there is no scale-set name (_location reports it): a waiver of the rule still
    # counts, so the one message is the region's, not a digest or host error the waiver answers.
    name = _scale_set(cfg) if cfg.location in REGION_SHORT_CODES else None
    return any(s.rule == rule and (name is None or fnmatch.fnmatchcase(name, s.resource)) for s in cfg.suppressions)


def _waivers(cfg: StackConfig) -> Iterator[Issue]:
    """A waiver of a scale-set rule (``DEFERRED_RULES``) whose pattern names no scale set of this stack, e.g.
    one copied from another team's file: it waives nothing, and the plan fails on the finding it seemed to
    cover, so it is reported on its own line before anything runs."""
    # Without a known region there is no scale-set name to compare with (_location reports it).
    located = cfg.location in REGION_SHORT_CODES
    for i, s in enumerate(cfg.suppressions):
        if s.rule not in DEFERRED_RULES or not located:
            continue
        if cfg.gpu_pool is None:
            yield (("ai-serving:suppressions", i, "resource"),
                   f"waives {s.rule} for {shown(s.resource)}, which this stack does not have: it declares no "
                   "gpuPool, so no scale set; remove the waiver")
        elif not fnmatch.fnmatchcase(name := _scale_set(cfg), s.resource):
            yield (("ai-serving:suppressions", i, "resource"),
                   f"waives {s.rule} for {shown(s.resource)}, which this stack does not have; its scale set is "
                   f"{shown(name)}")


def _naming(cfg: StackConfig) -> Naming:
    """The stack's Azure names, the program's own (imported here: infra.naming imports this package)."""
    from ..naming import Naming

    return Naming.for_stack(cfg)


def is_resource_of(arm_id: str, arm_type: str) -> bool:
    """Whether ``arm_id`` is exactly the id of a resource of ``arm_type`` (``resource_id_problem`` finds none)."""
    return resource_id_problem(arm_id, arm_type) is None


def resource_id_problem(arm_id: str, arm_type: str) -> str | None:
    """Why ``arm_id`` is not exactly the id of a resource of ``arm_type``; None when it is.

    An ARM id with no child segments, since the program takes the last segment as the registry, account,
    hub or zone name (a child id would name one resource, grant another), whose subscription is a UUID and
    whose resource group and name are ones Azure allows (``infra.naming.EXISTING_NAMES``): ``..``, ``?``,
    ``%``, ``#`` or an empty segment would be read by ARM as another path, a query or nothing at all. The one
    test for both a stack's ids and the shared lists' (infra.catalogues)."""
    # Imported here: infra.naming imports this package.
    from ..naming import EXISTING_NAMES, RESOURCE_GROUP_RULE, fits

    parts = arm_id.split("/")  # ARM_ID_RE: "", subscriptions, <id>, resourceGroups, <group>, providers, ...
    # ARM ids are case-insensitive (the shared list may hold one as the portal or the CLI spelt it).
    if (re.fullmatch(ARM_ID_RE.pattern, arm_id, re.IGNORECASE) is None or len(parts) != 9
            or f"{parts[6]}/{parts[7]}".lower() != arm_type.lower() or not full_match(UUID_RE, parts[2])):
        return f"expected the id of a {arm_type} resource, found {shown(arm_id)}"
    kind, rule = EXISTING_NAMES[arm_type.lower()]
    group, name = parts[4], parts[8]
    for what, value, ok, allowed in (("resource group", group, fits("resource_group", group), RESOURCE_GROUP_RULE),
                                     ("name", name, fits(kind, name.lower()), rule)):
        if not ok:
            return (f"expected the id of a {arm_type} resource whose {what} Azure allows ({allowed}), found "
                    f"{what} {shown(value)}")
    return None


def _unlisted(cfg: StackConfig, arm_id: str, arm_type: str, shared: frozenset[str], listed_in: str,
              own_group: bool) -> str | None:
    """Why the stack may not reference ``arm_id``, a resource of ``arm_type``; None when it may.

    A stack references an existing resource only from a platform list (``listed_in``, whose ids are
    ``shared``, lower case) or, where ``own_group``, in its own resource group: the pool identity is granted
    read access to a registry or account, a hub is peered with, a zone gets the endpoints' records; any other
    id would give this team another team's images or weights, or reach into its network. Another team's
    resource group is any but the stack's own (``infra.naming``: ``rg-<team>-<env>-<region>``, one per stack),
    compared by name only: the stack's subscription is the deploy job's (``get_client_config``), not
    known to a check that runs offline."""
    if arm_id.rstrip("/").lower() in shared:
        return None
    allowed = ", ".join(sorted(shared)) or "none yet"
    group = arm_id.split("/")[4]  # ARM_ID_RE: /subscriptions/<id>/resourceGroups/<group>/providers/...
    if not own_group:
        return (f"expected a {arm_type} resource the platform shares ({listed_in}: {allowed}); found "
                f"{shown(arm_id)}, which it does not list (the program creates the stack's own VNet and zones "
                "itself, so a hub or a central zone is only ever one the platform lists)")
    own = _naming(cfg).name("resource_group")
    if group.lower() == own.lower():
        return None
    return (f"expected a {arm_type} resource in the stack's own resource group {own} or one the platform "
            f"shares ({listed_in}: {allowed}); found {shown(arm_id)} in resource group {shown(group)}")


def _existing(cfg: StackConfig, refs: list[tuple[Path, str | None, str]], kinds: dict[str, str],
              shared: Callable[[], dict[str, frozenset[str]]], listed_in: PurePath,
              own_group: bool) -> Iterator[Issue]:
    """Each ``(key path, ARM id or None, catalogue key)`` of ``refs``: an id of the key's type (``kinds``),
    listed under that key in the platform's list (``shared()``, read from ``listed_in`` only when the stack
    names an id: a stack naming none does not depend on the list) or, where ``own_group``, in the stack's
    own resource group."""
    # Without a known region there is no own resource group to compare with (_location reports it).
    located = cfg.location in REGION_SHORT_CODES or not own_group
    listed: dict[str, frozenset[str]] | None = None
    for path, arm_id, key in refs:
        if arm_id is None:
            continue
        if problem := resource_id_problem(arm_id, kinds[key]):
            yield (path, problem)
        elif located:
            listed = shared() if listed is None else listed
            if problem := _unlisted(cfg, arm_id, kinds[key], listed[key], f"infra/catalogues/{listed_in.name}",
                                    own_group):
                yield (path, problem)


def _shared_networks(cfg: StackConfig) -> Iterator[Issue]:
    """The hub to peer with and the central DNS zones: only the platform's (shared_network.yaml).

    The program peers the stack's VNet into ``hubVnetId`` and writes its private endpoints' records into each
    ``privateDnsZoneIds`` zone (a PrivateDnsZoneGroup), so another team's VNet or zone there would join that
    team's network or rewrite the names its endpoints resolve; ``plan --all`` checks the plan for the same.
    The stack's own resource group is no allowance here: the program creates that group and the stack's
    zones in it, so an id "in" it names a group of that name in whatever subscription the id says."""
    base: Path = ("ai-serving:network",)
    network = cfg.network
    refs = [(base + ("hubVnetId",), network.hub_vnet_id, "hubVirtualNetworks")]
    refs += [(base + ("privateDnsZoneIds", key), arm_id, "privateDnsZones")
             for key, arm_id in network.private_dns_zone_ids.items()]
    yield from _existing(cfg, refs, catalogues.SHARED_NETWORK_KINDS, catalogues.shared_network,
                         catalogues.SHARED_NETWORK_FILE, own_group=False)


def _supply(cfg: StackConfig) -> Iterator[Issue]:
    """Image and weights supply: hub keys only where they mean something; existing registries and accounts
    only the stack's own or shared ones; prod images from the stack's registry, by digest."""
    pool = cfg.gpu_pool
    if pool is None:
        return
    base: Path = ("ai-serving:gpuPool",)
    source = pool.model_source
    if source is not None and source.kind == "hub":
        for key, value in (("accountId", source.account_id), ("container", source.container),
                           ("path", source.path)):
            if value is not None:
                yield (base + ("modelSource", key), f"`{key}` applies to kind: blob only; "
                                                    "found it with kind: hub (remove it or set kind: blob)")
    refs = [(base + ("registryId",), pool.registry_id, "registries"),
            (base + ("modelSource", "accountId"), source and source.account_id, "storageAccounts")]
    # The own group stays an allowance here: a team may bring an existing registry or account of its own.
    yield from _existing(cfg, refs, catalogues.SHARED_SUPPLY_KINDS, catalogues.shared_supply,
                         catalogues.SHARED_SUPPLY_FILE, own_group=True)
    located = cfg.location in REGION_SHORT_CODES
    if cfg.environment != "prod":
        return
    if located and not _waived(cfg, REGISTRY_RULE) and (problem := _foreign_image(cfg)):
        yield (base + ("servingImage",), problem)
    if "@sha256:" not in pool.serving_image and not _waived(cfg, DIGEST_RULE):
        yield (base + ("servingImage",),
               f"a prod pool pulls its image by digest: expected {pool.serving_image.split('@')[0]}@sha256:<64 hex> "
               f"(scripts/import-image.sh prints the digest it imported), found {shown(pool.serving_image)}; "
               f"or waive {DIGEST_RULE} in ai-serving:suppressions with a reason and an expiry")


def _foreign_image(cfg: StackConfig) -> str | None:
    """Why a prod pool's image does not come from the stack's registry; None when it does.

    With ``imageSource: registry`` the program rewrites the image into the stack's registry, so only
    ``hub`` can name another host: any ``*.azurecr.io`` is not enough (anyone can create a public one).
    With ``hub`` the stack's registry is ``registryId``'s or none: the program creates a registry of its
    own only for ``imageSource: registry``, so without ``registryId`` every host is foreign (as VMSS-09 says)."""
    # Imported here: cloud_init imports this module (MODEL_ID_RE), and it owns how an image maps into a registry.
    from ..components.cloud_init import image_in_registry, registry_login_server

    pool = cfg.gpu_pool
    assert pool is not None
    if cfg.gpu_image_source == "registry":
        return None
    repository = image_in_registry(pool.serving_image, "")[1:]  # the image without its registry host
    registry = registry_login_server(pool.registry_id) if pool.registry_id is not None else None
    if registry is not None and f"{registry}/{repository}" == pool.serving_image:
        return None  # `hub` with `registryId`: the image names that registry itself
    host = pool.serving_image[:-len(repository) - 1] if repository != pool.serving_image else "docker.io"
    expected = registry or "none: the stack declares no registry and names none in gpuPool.registryId"
    return (f"a prod pool pulls its image from the stack's registry: expected {expected}, found {shown(host)} "
            f"(servingImage {shown(pool.serving_image)} with imageSource: hub); set imageSource: registry (the "
            f"prod default: `make import-image` copies {repository.split('@')[0]} in), name the registry the "
            f"image is in with gpuPool.registryId, or waive {REGISTRY_RULE} in ai-serving:suppressions with a "
            "reason and an expiry")

"""Stack rules (NET-05..07, MON-01..02, GEN-03): a compliant prod stack, then one change per way to fail.

References between resources are resolved from property dependencies or from known ARM ids
(see policies/guardrails/graph.py); both routes are exercised, and an unresolvable reference
leaves the check undetermined rather than failing it.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest
from guardrails import StackResource, lookup

from tests.fixtures.policy import DELETE, UNKNOWN, baseline, mutate

RG = "rg-team-t-prod-sdc"
RG_ID = f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{RG}"
ZONE = f"{RG_ID}/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"


def urn(token: str, name: str) -> str:
    return f"urn:pulumi:team-t-prod::ai-serving::azure-native:{token}::{name}"


def arm_id(provider: str, name: str) -> str:
    return f"{RG_ID}/providers/{provider}/{name}"


ACCOUNT_ID = arm_id("Microsoft.CognitiveServices/accounts", "oai-team-t-prod-sdc")
VAULT_ID = arm_id("Microsoft.KeyVault/vaults", "kv-team-t-p-abc123")
STORAGE_ID = arm_id("Microsoft.Storage/storageAccounts", "stteamtpmodels1a2b3c4d")
REGISTRY_ID = arm_id("Microsoft.ContainerRegistry/registries", "crteamtprod")


def res(token: str, name: str, props: dict[str, Any], **kw: Any) -> StackResource:
    deps = {k: tuple(v) for k, v in kw.pop("property_dependencies", {}).items()}
    return StackResource(
        type=f"azure-native:{token}",
        urn=urn(token, name),
        name=name,
        props=props,
        property_dependencies=deps,
        **kw,
    )


def endpoint(name: str, target_id: Any, group: str, **kw: Any) -> StackResource:
    props = mutate(
        baseline("private-endpoint"),
        {
            "privateEndpointName": name,
            "privateLinkServiceConnections": [
                {"name": name, "privateLinkServiceId": target_id, "groupIds": [group]}
            ],
        },
    )
    return res("network:PrivateEndpoint", name, props, **kw)


def zone_group(pe: StackResource, **kw: Any) -> StackResource:
    props = mutate(
        baseline("private-dns-zone-group"), {"privateEndpointName": pe.props["privateEndpointName"]}
    )
    return res("network:PrivateDnsZoneGroup", f"{pe.name}-dns", props, **kw)


def compliant_stack() -> list[StackResource]:
    """A production stack where every stack rule passes, using every matching route once."""
    account = res("cognitiveservices:Account", "account", baseline("account"), protect=True)
    vault = res("keyvault:Vault", "vault", baseline("vault"))
    storage = res("storage:StorageAccount", "storage", baseline("storage-account"), protect=True)
    registry = res("containerregistry:Registry", "registry", baseline("registry"))
    workspace = res(
        "operationalinsights:Workspace",
        "workspace",
        mutate(baseline("workspace"), {"resourceGroupName": "rg-team-t-prod-sdc-monitor"}),
    )
    pe_account = endpoint("pep-oai", ACCOUNT_ID, "account")  # by ARM id
    pe_vault = endpoint(
        "pep-kv",
        UNKNOWN,
        "vault",  # by property dependency
        property_dependencies={"privateLinkServiceConnections": [vault.urn]},
    )
    pe_storage = endpoint("pep-st", STORAGE_ID, "blob")
    pe_registry = endpoint("pep-cr", REGISTRY_ID, "registry")
    return [
        account,
        vault,
        storage,
        registry,
        workspace,
        pe_account,
        zone_group(pe_account, parent=pe_account.urn),  # by parent
        pe_vault,
        zone_group(pe_vault, property_dependencies={"privateEndpointName": [pe_vault.urn]}),
        pe_storage,
        zone_group(pe_storage),  # by name
        pe_registry,
        zone_group(pe_registry),
        res("monitor:DiagnosticSetting", "diag-oai", baseline("diagnostic-setting")),
        res(
            "monitor:DiagnosticSetting",
            "diag-kv",
            mutate(
                baseline("diagnostic-setting"),
                {"resourceUri": UNKNOWN, "logs": [{"categoryGroup": "audit", "enabled": True}]},
            ),
            property_dependencies={"resourceUri": [vault.urn]},
        ),
        res("authorization:ManagementLockByScope", "lock-kv", baseline("lock")),  # lock by scope id
        res(
            "authorization:ManagementLockByScope",
            "lock-cr",
            mutate(baseline("lock"), {"scope": UNKNOWN}),
            property_dependencies={"scope": [registry.urn]},
        ),
        res(
            "authorization:ManagementLockAtResourceGroupLevel",
            "lock-rg",  # covers the workspace
            {
                "lockName": "lock-rg",
                "level": "CanNotDelete",
                "resourceGroupName": "rg-team-t-prod-sdc-monitor",
            },
        ),
    ]


STACK_RULES = ["NET-05", "NET-06", "NET-07", "MON-01", "MON-02", "GEN-03"]


def check(rule_id: str, resources: list[StackResource], environment: str | None = "prod"):
    return lookup(rule_id).check(resources, environment=environment)


def named(resources: list[StackResource], name: str) -> StackResource:
    return next(r for r in resources if r.name == name)


def without(resources: list[StackResource], *names: str) -> list[StackResource]:
    return [r for r in resources if r.name not in names]


def replace(resources: list[StackResource], name: str, **changes: Any) -> list[StackResource]:
    return [dataclasses.replace(r, **changes) if r.name == name else r for r in resources]


@pytest.mark.parametrize("rule_id", STACK_RULES)
def test_compliant_stack_passes(rule_id: str) -> None:
    verdict = check(rule_id, compliant_stack())
    assert verdict.violations == ()
    assert verdict.undetermined == ()


def _pe_props(stack: list[StackResource], name: str, changes: dict[str, Any]) -> dict[str, Any]:
    return mutate(dict(named(stack, name).props), changes)


def failing_cases() -> list[tuple[str, str, Any, str]]:
    stack = compliant_stack()
    return [
        ("NET-05", "pep-oai", without(stack, "pep-oai-dns"), "no DNS zone group"),
        (
            "NET-05",
            "pep-st",
            replace(
                stack,
                "pep-st-dns",
                props=mutate(dict(named(stack, "pep-st-dns").props), {"privateDnsZoneConfigs": []}),
            ),
            "no DNS zone group",
        ),
        (
            "NET-05",
            "pep-st",
            replace(
                stack,
                "pep-st-dns",
                props=mutate(dict(named(stack, "pep-st-dns").props), {"privateEndpointName": "pep-other"}),
            ),
            "no DNS zone group",
        ),
        ("NET-06", "account", without(stack, "pep-oai"), "no private endpoint"),
        (
            "NET-06",
            "account",
            replace(
                stack,
                "pep-oai",
                props=_pe_props(stack, "pep-oai", {"privateLinkServiceConnections.0.groupIds": ["vault"]}),
            ),
            "groupIds [account]",
        ),
        (
            "NET-06",
            "account",
            replace(
                stack,
                "pep-oai",
                props=_pe_props(
                    stack,
                    "pep-oai",
                    {
                        "privateLinkServiceConnections.0.privateLinkServiceId": arm_id(
                            "Microsoft.CognitiveServices/accounts", "another-account"
                        )
                    },
                ),
            ),
            "no private endpoint",
        ),
        ("NET-07", "storage", without(stack, "pep-st"), "no private endpoint"),
        ("NET-07", "vault", without(stack, "pep-kv"), "no private endpoint"),
        (
            "NET-07",
            "registry",
            replace(
                stack,
                "pep-cr",
                props=_pe_props(
                    stack,
                    "pep-cr",
                    {
                        "privateLinkServiceConnections": DELETE,
                        "manualPrivateLinkServiceConnections": [{"privateLinkServiceId": STORAGE_ID}],
                    },
                ),
            ),
            "no private endpoint",
        ),
        ("MON-01", "account", without(stack, "diag-oai"), "no diagnostic setting"),
        (
            "MON-01",
            "account",
            replace(
                stack, "diag-oai", props=mutate(dict(named(stack, "diag-oai").props), {"workspaceId": DELETE})
            ),
            "no diagnostic setting",
        ),
        (
            "MON-01",
            "account",
            replace(
                stack,
                "diag-oai",
                props=mutate(dict(named(stack, "diag-oai").props), {"logs.0.enabled": False}),
            ),
            "no diagnostic setting",
        ),
        ("MON-02", "vault", without(stack, "diag-kv"), "AuditEvent"),
        (
            "MON-02",
            "vault",
            replace(
                stack,
                "diag-kv",
                props=mutate(
                    dict(named(stack, "diag-kv").props),
                    {"logs": [{"category": "AzurePolicyEvaluationDetails", "enabled": True}]},
                ),
            ),
            "AuditEvent",
        ),
        ("GEN-03", "vault", without(stack, "lock-kv"), "neither protected nor locked"),
        ("GEN-03", "account", replace(stack, "account", protect=False), "neither protected nor locked"),
        ("GEN-03", "workspace", without(stack, "lock-rg"), "neither protected nor locked"),
        (
            "GEN-03",
            "vault",
            replace(
                stack, "lock-kv", props=mutate(dict(named(stack, "lock-kv").props), {"level": "NotSpecified"})
            ),
            "neither protected nor locked",
        ),
    ]


@pytest.mark.parametrize(
    ("rule_id", "culprit", "resources", "expected"),
    failing_cases(),
    ids=[f"{c[0]}-{i}" for i, c in enumerate(failing_cases())],
)
def test_each_way_of_failing_names_the_resource(
    rule_id: str, culprit: str, resources: list[StackResource], expected: str
) -> None:
    verdict = check(rule_id, resources)
    assert [v.urn for v in verdict.violations] == [named(resources, culprit).urn]
    assert expected in verdict.messages[0]


@pytest.mark.parametrize("rule_id", STACK_RULES)
def test_every_stack_rule_has_failing_cases(rule_id: str) -> None:
    assert any(c[0] == rule_id for c in failing_cases())


def test_unresolvable_reference_is_undetermined_not_a_violation() -> None:
    stack = compliant_stack()
    # The account's endpoint id is unknown and the engine gave no property dependencies.
    stack = replace(
        stack,
        "pep-oai",
        props=_pe_props(stack, "pep-oai", {"privateLinkServiceConnections.0.privateLinkServiceId": UNKNOWN}),
    )
    verdict = check("NET-06", stack)
    assert verdict.violations == ()
    assert verdict.undetermined


def test_known_dependencies_settle_an_unknown_id() -> None:
    stack = compliant_stack()
    vault_urn = named(stack, "vault").urn
    stack = replace(
        stack,
        "pep-oai",
        props=_pe_props(stack, "pep-oai", {"privateLinkServiceConnections.0.privateLinkServiceId": UNKNOWN}),
        property_dependencies={"privateLinkServiceConnections": (vault_urn,)},
    )
    assert check("NET-06", stack).messages == ["account has no private endpoint with groupIds [account]"]


def test_mock_ids_and_output_ids_resolve() -> None:
    """Offline, ids are mock strings; an id equal to the target's `id` output also counts."""
    stack = compliant_stack()
    custom_id = "/subscriptions/x/resourceGroups/y/providers/Microsoft.CognitiveServices/accounts/z"
    stack = replace(stack, "account", props={**named(stack, "account").props, "id": custom_id})
    stack = replace(
        stack,
        "pep-oai",
        props=_pe_props(
            stack, "pep-oai", {"privateLinkServiceConnections.0.privateLinkServiceId": custom_id}
        ),
    )
    assert check("NET-06", stack).compliant


def test_an_account_named_only_by_its_pulumi_name_resolves() -> None:
    stack = compliant_stack()
    stack = replace(
        stack, "account", props=mutate(dict(named(stack, "account").props), {"accountName": DELETE})
    )
    stack = replace(
        stack,
        "pep-oai",
        props=_pe_props(
            stack,
            "pep-oai",
            {
                "privateLinkServiceConnections.0.privateLinkServiceId": arm_id(
                    "Microsoft.CognitiveServices/accounts", "account"
                )
            },
        ),
    )
    assert check("NET-06", stack).compliant


def test_deletion_protection_is_prod_only() -> None:
    stack = [
        dataclasses.replace(r, props=mutate(dict(r.props), {"tags.environment": "dev"}))
        if "tags" in r.props
        else r
        for r in without(compliant_stack(), "lock-kv")
    ]
    assert check("GEN-03", stack, environment="dev").compliant
    assert check("GEN-03", stack, environment="prod").messages  # the stack says prod


def test_a_readonly_lock_and_a_subscription_lock_count() -> None:
    stack = replace(compliant_stack(), "lock-kv", props=mutate(baseline("lock"), {"level": "ReadOnly"}))
    assert check("GEN-03", stack).compliant
    stack = replace(
        compliant_stack(),
        "lock-kv",
        props=mutate(baseline("lock"), {"scope": "/subscriptions/00000000-0000-0000-0000-000000000000"}),
    )
    assert check("GEN-03", stack).compliant


def test_an_empty_stack_is_compliant() -> None:
    for rule_id in STACK_RULES:
        assert check(rule_id, []).compliant


# --- VMSS-09: a prod pool's image comes from the stack's own registry --------------------------------

CUSTOM_DATA = "virtualMachineProfile.osProfile.customData"
OWN_HOST = "crteamtp0123abcd.azurecr.io"
"""The registry the scale set fixture's boot pulls from (tests/fixtures/policy/generate.py)."""
SHARED_ID = ("/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-platform/providers/"
             "Microsoft.ContainerRegistry/registries/crplatformshared")


def _boot(image_host: str) -> str:
    """The fixture's private-supply boot with the image pulled from ``image_host`` instead."""
    text = base64.b64decode(baseline("vmss")["virtualMachineProfile"]["osProfile"]["customData"]).decode()
    assert f"{OWN_HOST}/" in text
    return base64.b64encode(text.replace(f"{OWN_HOST}/", f"{image_host}/" if image_host else "").encode()).decode()


def pool_stack(image_host: str = OWN_HOST, *, registry: str | None = "crteamtp0123abcd",
               grant: str | None = None) -> list[StackResource]:
    """A prod scale set pulling from ``image_host``, the registry the stack declares, a grant on ``grant``."""
    stack = [res("compute:VirtualMachineScaleSet", "vmss-gpu", mutate(baseline("vmss"), {CUSTOM_DATA: _boot(image_host)}))]
    if registry is not None:
        stack.append(res("containerregistry:Registry", "registry", mutate(baseline("registry"), {"registryName": registry})))
    if grant is not None:
        stack.append(res("authorization:RoleAssignment", "acrpull", mutate(baseline("role-assignment"), {"scope": grant})))
    return stack


@pytest.mark.parametrize(("stack", "why"), [
    (pool_stack(), "the registry the stack declares"),
    (pool_stack("crplatformshared.azurecr.io", registry=None, grant=SHARED_ID), "the registry it grants AcrPull on"),
    (pool_stack("CRteamtp0123abcd.azurecr.io"), "host names are case-insensitive"),
])
def test_vmss09_accepts_the_stacks_own_registry(stack: list[StackResource], why: str) -> None:
    assert check("VMSS-09", stack).compliant, why


@pytest.mark.parametrize(("stack", "message"), [
    # Any *.azurecr.io host was once enough: anyone can create a public registry with anonymous pull.
    (pool_stack("attackerpublic.azurecr.io"), "from 'attackerpublic.azurecr.io', which is not the stack's registry "
                                              f"(expected {OWN_HOST})"),
    (pool_stack("attackerpublic.azurecr.io", registry=None), "expected none: the stack declares no registry"),
    # A grant on something that is not a registry names no registry.
    (pool_stack("crplatformshared.azurecr.io", registry=None, grant=SHARED_ID.replace(
        "Microsoft.ContainerRegistry/registries", "Microsoft.Storage/storageAccounts")), "not the stack's registry"),
    (pool_stack("docker.io"), "not from a private Azure Container Registry (<name>.azurecr.io); expected the "
                              f"stack's registry ({OWN_HOST})"),
    (pool_stack(""), "pulls 'vllm/vllm-openai:v0.34.0@sha256:"),
])
def test_vmss09_fails_an_image_from_any_other_registry_naming_host_and_expected(
    stack: list[StackResource], message: str
) -> None:
    verdict = check("VMSS-09", stack)
    assert len(verdict.violations) == 1 and message in verdict.messages[0], verdict.messages
    assert verdict.violations[0].urn == named(stack, "vmss-gpu").urn


def test_vmss09_an_unread_registry_name_is_undetermined_not_a_pass_or_a_failure() -> None:
    stack = pool_stack("crsomeother0000.azurecr.io", registry=None, grant=UNKNOWN)
    verdict = check("VMSS-09", stack)
    assert verdict.violations == () and verdict.undetermined
    # Docker Hub is no registry any unknown could name: it still fails.
    assert check("VMSS-09", pool_stack("docker.io", registry=None, grant=UNKNOWN)).violations


def test_vmss09_is_prod_only_and_needs_a_container() -> None:
    dev = [dataclasses.replace(r, props=mutate(dict(r.props), {"tags.environment": "dev"}))
           for r in pool_stack("attackerpublic.azurecr.io")]
    assert check("VMSS-09", dev, environment="dev").not_applicable
    no_container = replace(pool_stack("attackerpublic.azurecr.io"), "vmss-gpu", props=mutate(
        baseline("vmss"), {CUSTOM_DATA: base64.b64encode(b"#cloud-config\nruncmd: [[true]]\n").decode()}))
    assert check("VMSS-09", no_container).not_applicable


def test_vmss09_judges_a_scale_set_inside_an_arm_template() -> None:
    vmss = named(pool_stack("attackerpublic.azurecr.io"), "vmss-gpu").props
    template = {"resources": [{"type": "Microsoft.Compute/virtualMachineScaleSets", "name": "hidden",
                               "apiVersion": "2024-07-01", **{k: v for k, v in vmss.items() if k != "name"}}]}
    deployment = res("resources:Deployment", "arm", {"deploymentName": "arm", "resourceGroupName": RG,
                                                     "properties": {"mode": "Incremental", "template": template}})
    verdict = check("VMSS-09", [deployment, *pool_stack()[1:]])
    assert [v.urn for v in verdict.violations] == [deployment.urn]
    assert verdict.messages[0].startswith("template resource hidden (VirtualMachineScaleSet): ")


def test_vmss09_counts_a_registry_declared_in_an_arm_template() -> None:
    template = {"resources": [{"type": "Microsoft.ContainerRegistry/registries", "name": "crhidden0000",
                               "apiVersion": "2023-07-01", "properties": {}}]}
    deployment = res("resources:Deployment", "arm", {"deploymentName": "arm", "resourceGroupName": RG,
                                                     "properties": {"mode": "Incremental", "template": template}})
    stack = pool_stack("crhidden0000.azurecr.io", registry=None)
    assert not check("VMSS-09", stack).compliant
    assert check("VMSS-09", [*stack, deployment]).compliant

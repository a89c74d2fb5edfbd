"""The runner captures what the engine would: URNs, parents, providers, outputs."""

from .stackdata import base_config


def test_resource_group_is_tagged_and_parented(plan_stack):
    run = plan_stack(base_config("dev"))
    assert run.exit_code == 0, run.errors
    rg = run.one("azure-native:resources:ResourceGroup")
    assert rg.inputs["tags"]["team"] == "team-t"
    assert rg.inputs["tags"]["managed-by"] == "pulumi"
    env = run.one("ai-serving:environment:ServingEnvironment")
    assert rg.parent == env.urn
    assert rg.urn == ("urn:pulumi:team-t-dev::ai-serving::ai-serving:environment:ServingEnvironment"
                      "$azure-native:resources:ResourceGroup::rg-team-t-dev-sdc")

"""Names: CAF abbreviations, Azure's length/character rules, deterministic global names."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from infra.config.regions import REGION_SHORT_CODES
from infra.naming import Naming, check_name, tags

from .stackdata import base_config
from .test_config import raw

TEAMS = st.from_regex(r"^[a-z][a-z0-9-]{0,11}$", fullmatch=True)
ENVS = st.sampled_from(["dev", "test", "prod"])
REGIONS = st.sampled_from(sorted(REGION_SHORT_CODES))


def test_resource_names_follow_the_convention():
    n = Naming("team-a", "prod", "swedencentral")
    assert n.name("resource_group") == "rg-team-a-prod-sdc"
    assert n.name("load_balancer_internal") == "lbi-team-a-prod-sdc"
    assert n.name("subnet", "gpu") == "snet-team-a-prod-sdc-gpu"


@given(TEAMS, ENVS, REGIONS)
def test_global_names_respect_azure_limits(team, env, region):
    n = Naming(team, env, region)
    vault = n.key_vault()
    assert 3 <= len(vault) <= 24 and re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", vault)
    sub = n.custom_subdomain()
    assert len(sub) <= 64 and re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", sub)
    st_name = n.storage_account("logs")
    assert 3 <= len(st_name) <= 24 and st_name.isalnum() and st_name.islower()
    assert len(n.computer_name_prefix()) <= 9


@given(TEAMS, ENVS, REGIONS, TEAMS)
def test_global_names_are_deterministic_and_unique_per_stack(team, env, region, other):
    a, b = Naming(team, env, region), Naming(team, env, region)
    assert a.key_vault() == b.key_vault() and a.custom_subdomain() == b.custom_subdomain()
    if other != team:
        assert Naming(other, env, region).custom_subdomain() != a.custom_subdomain()


def test_check_name_rejects_a_too_long_vault_name():
    try:
        check_name("key_vault", "kv-" + "a" * 30)
    except ValueError as exc:
        assert "key_vault" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_required_tags_cannot_be_overridden_by_extra_tags():
    """A team's `team` tag is refused (it was once silently replaced), and the stack's own tags come last."""
    import pytest

    from infra.config import ConfigError, validate

    cfg = base_config("dev")
    cfg["ai-serving:tags"] = {"team": "someone-else", "product": "search"}
    with pytest.raises(ConfigError, match="tag 'team' is set by the stack itself"):
        validate(raw(cfg), stack_name="team-t-dev")
    cfg["ai-serving:tags"] = {"product": "search"}
    t = tags(validate(raw(cfg), stack_name="team-t-dev"))
    assert t["team"] == "team-t" and t["product"] == "search"
    assert t["managed-by"] == "pulumi" and t["cost-center"] == "CC-0001" and t["environment"] == "dev"

"""The ai-serving-guardrails policy pack: built from the registry, nothing else.

pulumi preview --policy-pack policies --policy-pack-config policies/policy-config.json
"""

from guardrails import PACK_NAME
from guardrails.pack import PACK_DESCRIPTION, policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    description=PACK_DESCRIPTION,
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=policies(),
)

"""Valid stack configs (a stack file's ``config:`` mapping) for tests to copy and mutate."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

from ai_serving.engine.project import StackConfigMap
from infra.config.loader import PROJECT, SECRET_KEYS

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC2rV3gJqX0s6m8m6Y5n0ZkP1Qq8xN3d4b5c6d7e8f9g test"


TEST_IMAGE_BY_DIGEST = "vllm/vllm-openai:v0.34.0@sha256:" + "d1" * 32
"""A digest-pinned reference for prod test stacks (a made-up digest: the fakes never fetch it)."""


def base_config(environment: str = "dev", *, openai: bool = True, gpu: bool = True, team: str = "team-t") -> dict[str, Any]:
    """A valid config for ``<team>-<environment>`` with the sections asked for."""
    cfg: dict[str, Any] = {
        "azure-native:location": "swedencentral",
        "ai-serving:team": team,
        "ai-serving:environment": environment,
        "ai-serving:costCenter": "CC-0001",
        "ai-serving:owners": ["owner@example.com"],
        "ai-serving:network": {"addressSpace": "10.50.0.0/22"},
    }
    if openai:
        cfg["ai-serving:openai"] = {
            "kind": "OpenAI",
            "deployments": [
                {"name": "chat", "model": "gpt-5.5", "version": "2026-04-24", "sku": "GlobalStandard",
                 "capacity": 30, "contentFilter": "strict"},
            ],
        }
    if gpu:
        cfg["ai-serving:gpuPool"] = {
            "vmSku": "Standard_NC24ads_A100_v4",
            "minInstances": 1,
            "maxInstances": 3,
            "model": "Qwen/Qwen2.5-7B-Instruct",
        }
        if environment == "prod":
            # Prod pulls by digest (config check); test data, not a real image's digest.
            cfg["ai-serving:gpuPool"]["servingImage"] = TEST_IMAGE_BY_DIGEST
    return copy.deepcopy(cfg)


def stack_name(cfg: dict[str, Any]) -> str:
    """``<team>-<environment>`` of a config mapping."""
    return f"{cfg['ai-serving:team']}-{cfg['ai-serving:environment']}"


def as_decrypted(config_map: StackConfigMap) -> StackConfigMap:
    """``config_map`` as the engine hands it over when its plain-text tokens had been ``secure:`` values.

    A token a test plants (to prove it never leaks) stands for one the engine decrypted: the program gets
    its text, and its key among the secret keys; a token not so marked is refused by the program.
    """
    planted = [k for k in (f"{PROJECT}:{key}" for key in sorted(SECRET_KEYS))
               if k in config_map.values and k not in config_map.secret_keys]
    return dataclasses.replace(config_map, secret_keys=[*config_map.secret_keys, *planted])


def share_networks(monkeypatch: Any, hubs: Sequence[str] = (), zones: Sequence[str] = ()) -> None:
    """Make the platform share ``hubs`` and ``zones`` (infra/catalogues/shared_network.yaml) for one test, as it
    must for a hub or central zone outside the stack's resource group."""
    from infra import catalogues

    real = catalogues.load
    listed = {"hubVirtualNetworks": list(hubs), "privateDnsZones": list(zones)}
    monkeypatch.setattr(catalogues, "load", lambda name: listed if name == "shared_network" else real(name))

"""Context-path conflicts at reconcile time (issue 17, item 1): the API created later is refused
with upstream's message, and recovers when the conflict goes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from controller.config import Settings, WebhookSettings
from controller.kube.kinds import API_DEFINITIONS, API_V4_DEFINITIONS
from controller.kube.rest import KubeApiError, request_json
from sim.apim.testing import RunningSimulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.harness import Env, context, operator_env, v2_api, v4_api

HINT = (
    ". Change the path of one of them: this API is reconciled again as soon as the other one's "
    "path changes or it is deleted"
)


def conflict(path: str, winner: str) -> str:
    return (
        f"invalid API context path [{path}]. API [{winner}] is already defined with the same "
        "path" + HINT
    )


async def test_later_local_v4_api_with_the_same_path_is_refused_until_the_first_goes(env: Env):
    await env.create(context("apim", env.apim))
    local: dict[str, Any] = {"definitionContext": {"syncFrom": "KUBERNETES"}}
    await env.create(v4_api("a-first", path="/shop", **local))
    await env.wait_condition(API_V4_DEFINITIONS, "a-first")
    await env.create(v4_api("b-second", path="/shop/", **local))

    refused = await env.wait_condition(API_V4_DEFINITIONS, "b-second", "False")
    assert refused["reason"] == "IllegalStateError"
    assert refused["message"] == conflict("/shop", "team/a-first")
    assert env.apim.state.api_by_hrid("team-b-second") is None
    first = await env.condition(API_V4_DEFINITIONS, "a-first")
    assert first is not None
    assert first["status"] == "True"

    await env.delete(API_V4_DEFINITIONS, "a-first")
    await env.wait_condition(API_V4_DEFINITIONS, "b-second", timeout=15)
    assert env.apim.state.api_by_hrid("team-b-second") is not None


async def test_v2_and_v4_apis_conflict_and_a_path_change_resolves_it(env: Env):
    await env.create(v2_api("a-legacy", context_ref=None, local=True, path="/pets"))
    await env.wait_condition(API_DEFINITIONS, "a-legacy")
    await env.create(
        v4_api("b-modern", context_ref=None, path="/pets",
               definitionContext={"syncFrom": "KUBERNETES"})
    )
    refused = await env.wait_condition(API_V4_DEFINITIONS, "b-modern", "False")
    assert refused["message"] == conflict("/pets", "team/a-legacy")

    legacy = await env.get(API_DEFINITIONS, "a-legacy")
    legacy["spec"]["proxy"]["virtual_hosts"][0]["path"] = "/old-pets"
    await request_json(env.api, "PUT", API_DEFINITIONS.object_path("team", "a-legacy"),
                       body=legacy)
    await env.wait_condition(API_V4_DEFINITIONS, "b-modern", timeout=15)


async def test_apis_in_other_namespaces_do_not_conflict_by_default(env: Env):
    await _namespace(env, "other")
    await env.create(v4_api("a-here", context_ref=None, path="/same",
                            definitionContext={"syncFrom": "KUBERNETES"}))
    there = v4_api("b-there", context_ref=None, path="/same",
                   definitionContext={"syncFrom": "KUBERNETES"})
    there["metadata"]["namespace"] = "other"
    await env.create(there)
    await env.wait_condition(API_V4_DEFINITIONS, "a-here")
    await env.wait_condition(API_V4_DEFINITIONS, "b-there", namespace="other")


@pytest_asyncio.fixture
async def cluster_env(kubeapi: RunningEmulator, apim: RunningSimulator) -> AsyncIterator[Env]:
    settings = Settings(
        probes_port=0, metrics_port=0, max_concurrent_reconciles=4,
        webhook=WebhookSettings(check_api_context_path_conflict_in_cluster=True),
    )
    async with operator_env(kubeapi, apim, settings=settings) as running:
        yield running


async def test_cluster_wide_check_finds_conflicts_across_namespaces(cluster_env: Env):
    env = cluster_env
    # Created in the same second, the APIs are ordered by namespace then name: "z-other" comes
    # after "team", so the second API is the later one either way.
    await _namespace(env, "z-other")
    await env.create(v4_api("a-here", context_ref=None, path="/same",
                            definitionContext={"syncFrom": "KUBERNETES"}))
    await env.wait_condition(API_V4_DEFINITIONS, "a-here")
    there = v4_api("b-there", context_ref=None, path="/same",
                   definitionContext={"syncFrom": "KUBERNETES"})
    there["metadata"]["namespace"] = "z-other"
    await env.create(there)
    refused = await env.wait_condition(
        API_V4_DEFINITIONS, "b-there", "False", namespace="z-other"
    )
    assert refused["message"] == conflict("/same", "team/a-here")


async def _namespace(env: Env, name: str) -> None:
    with contextlib.suppress(KubeApiError):
        await request_json(env.api, "POST", "/api/v1/namespaces", body={"metadata": {"name": name}})



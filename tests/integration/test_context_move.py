"""Moving an API to another context (issue 17, item 3): the copy left in the previous context's
APIM environment is removed once the API is synced to the new one; nothing is removed when both
contexts lead to the same environment; a previous context that no longer exists is said in a
Warning Event and does not block the move."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from controller.kube.kinds import API_DEFINITIONS, API_V4_DEFINITIONS, MANAGEMENT_CONTEXTS
from controller.kube.resources import ResourceKind
from sim.apim.testing import RunningSimulator, start_simulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.api_v2_helpers import v2
from tests.integration.harness import Env, context, operator_env, v4_api, wait_for


@pytest.fixture
async def two_envs() -> AsyncIterator[RunningSimulator]:
    sim = await start_simulator(orgs_envs={"DEFAULT": ["DEFAULT", "OTHER"]})
    try:
        yield sim
    finally:
        await sim.close()


async def _contexts(env: Env, sim: RunningSimulator) -> None:
    await env.create(context("first", sim))
    await env.create(context("second", sim, environmentId="OTHER"))
    await env.create(context("first-again", sim))  # same APIM environment as "first"
    for name in ("first", "second", "first-again"):
        await env.wait_condition(MANAGEMENT_CONTEXTS, name)


async def _moved(env: Env, kind: ResourceKind, name: str, to: str) -> None:
    patched = await env.patch(kind, name, {"spec": {"contextRef": {"name": to}}})
    generation = patched["metadata"]["generation"]

    async def accepted_at_new_generation() -> bool:
        found = await env.condition(kind, name, "Accepted")
        return bool(found and found["status"] == "True"
                    and found.get("observedGeneration") == generation)

    await wait_for(accepted_at_new_generation, what=f"{name} Accepted after the move")


async def test_a_v4_api_moved_to_another_environment_leaves_the_first_one(
    kubeapi: RunningEmulator, two_envs: RunningSimulator
):
    async with operator_env(kubeapi, two_envs) as env:
        await _contexts(env, two_envs)
        await env.create(v4_api("mover", context_ref="first"))
        await env.wait_condition(API_V4_DEFINITIONS, "mover")
        state = two_envs.state
        assert [a.hrid for a in state.apis_in()] == ["team-mover"]

        await _moved(env, API_V4_DEFINITIONS, "mover", "second")
        await wait_for(lambda: _empty(state.apis_in()), what="the copy in the first env removed")
        assert [a.hrid for a in state.apis_in(env="OTHER")] == ["team-mover"]
        annotations = (await env.get(API_V4_DEFINITIONS, "mover"))["metadata"]["annotations"]
        assert annotations["gravitee.io/last-context-ref"] == "team/second"


async def test_a_move_within_one_environment_deletes_nothing(
    kubeapi: RunningEmulator, two_envs: RunningSimulator
):
    async with operator_env(kubeapi, two_envs) as env:
        await _contexts(env, two_envs)
        await env.create(v4_api("stayer", context_ref="first"))
        await env.wait_condition(API_V4_DEFINITIONS, "stayer")
        mark = two_envs.requests.mark()
        await _moved(env, API_V4_DEFINITIONS, "stayer", "first-again")
        assert [a.hrid for a in two_envs.state.apis_in()] == ["team-stayer"]
        assert two_envs.requests.find(method="DELETE", since=mark) == []


async def test_a_v2_api_moved_to_another_environment_leaves_the_first_one(
    kubeapi: RunningEmulator, two_envs: RunningSimulator
):
    async with operator_env(kubeapi, two_envs) as env:
        await _contexts(env, two_envs)
        await env.create(v2("mover-v2", context_ref="first"))
        await env.wait_condition(API_DEFINITIONS, "mover-v2")
        state = two_envs.state
        assert len(state.apis_in()) == 1
        await _moved(env, API_DEFINITIONS, "mover-v2", "second")
        await wait_for(lambda: _empty(state.apis_in()), what="the copy in the first env removed")
        assert len(state.apis_in(env="OTHER")) == 1


async def test_a_previous_context_that_is_gone_is_reported_not_blocking(
    kubeapi: RunningEmulator, two_envs: RunningSimulator
):
    async with operator_env(kubeapi, two_envs) as env:
        await _contexts(env, two_envs)
        await env.create(v4_api("orphan", context_ref="first"))
        await env.wait_condition(API_V4_DEFINITIONS, "orphan")
        # The first context is forced out (an admin removed its finalizer).
        await env.delete(MANAGEMENT_CONTEXTS, "first")
        await env.patch(MANAGEMENT_CONTEXTS, "first", {"metadata": {"finalizers": None}})
        await env.wait_gone(MANAGEMENT_CONTEXTS, "first")

        await _moved(env, API_V4_DEFINITIONS, "orphan", "second")
        assert [a.hrid for a in two_envs.state.apis_in(env="OTHER")] == ["team-orphan"]

        async def warned() -> bool:
            events = await env.events("orphan")
            return any(e["type"] == "Warning" and "team/first" in e["message"] for e in events)

        await wait_for(warned, what="a Warning Event naming the previous context")


async def _empty(items: Sequence[object]) -> bool:
    return not items

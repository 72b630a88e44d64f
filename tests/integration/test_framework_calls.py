"""Acceptance test of issue 13, "Wasted calls": deleting APIs costs no call for their context.

Today every API delete re-queues its ManagementContext (the context's deletion guard counts its
referrers), and each of those reconciles probes APIM with ``GET {V2}`` (the environment).
"""

from __future__ import annotations

import asyncio

from controller.kube.kinds import API_V4_DEFINITIONS, MANAGEMENT_CONTEXTS
from tests.integration.context_app_helpers import V2_ENV_PATH
from tests.integration.harness import Env, context, v4_api, wait_for, wait_idle

COUNT = 100


async def test_deleting_100_apis_makes_no_environment_call_for_their_context(env: Env):
    """Issue 13, "Wasted calls": one APIM environment ``GET`` per deleted API."""
    await env.create(context("apim", env.apim))
    names = [f"bulk-{index:03d}" for index in range(COUNT)]
    for name in names:
        await env.create(v4_api(name))

    async def all_stored() -> bool:
        return len(env.apim.state.apis_in()) == COUNT

    await wait_for(all_stored, timeout=120, what=f"{COUNT} APIs in APIM")
    for name in names:
        await env.wait_condition(API_V4_DEFINITIONS, name, timeout=60)
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await wait_idle(env, timeout=30)

    mark = env.apim.requests.mark()
    await asyncio.gather(*(env.delete(API_V4_DEFINITIONS, name) for name in names))

    async def all_gone() -> bool:
        return len(env.apim.state.apis_in()) == 0

    await wait_for(all_gone, timeout=120, what="every API deleted from APIM")
    for name in names:
        await env.wait_gone(API_V4_DEFINITIONS, name, timeout=60)
    await wait_idle(env, timeout=30)

    probes = len(env.apim.requests.find(method="GET", path=V2_ENV_PATH, since=mark))
    assert probes == 0, f"{probes} environment GETs while deleting {COUNT} APIs"
    # The context itself is untouched: still there, still Accepted.
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")

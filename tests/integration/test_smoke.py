"""First end-to-end path: a context and a v4 API reach Accepted and land in APIM."""

from controller.kube.kinds import API_V4_DEFINITIONS, MANAGEMENT_CONTEXTS
from tests.integration.harness import Env, context, v4_api


async def test_context_and_v4_api_are_accepted_and_land_in_apim(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v4_api("petstore"))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    accepted = await env.wait_condition(API_V4_DEFINITIONS, "petstore")
    assert accepted["reason"] == "Accepted"
    api = await env.get(API_V4_DEFINITIONS, "petstore")
    record = env.apim.state.api_by_hrid("team-petstore")
    assert record is not None
    assert api["status"]["id"] == record.id

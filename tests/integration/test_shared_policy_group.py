"""SharedPolicyGroup end to end: Automation API upsert/delete, HRID and legacy modes, v4 flow
steps resolved against the group, propagation of edits, and the guarded deletion
(docs/behavior/shared-policy-group.md).
"""

from __future__ import annotations

from typing import Any

from controller.kube.kinds import API_V4_DEFINITIONS, SHARED_POLICY_GROUPS
from sim.apim.state import SharedPolicyGroupRecord
from tests.integration.api_v2_helpers import event_messages
from tests.integration.context_app_helpers import condition, seed
from tests.integration.harness import (
    Env,
    context,
    operator_env,
    shared_policy_group,
    v4_api,
    wait_for,
)

SPG_PATH = "/automation/organizations/DEFAULT/environments/DEFAULT/shared-policy-groups"
LEGACY_CROSS_ID = "5f0c8d7e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"


def spg_puts(env: Env, *, since: int = 0) -> list[Any]:
    return env.apim.requests.find(method="PUT", path_contains=SPG_PATH, since=since)


def using(name: str, *groups: str, **spec: Any) -> dict[str, Any]:
    """A v4 API whose API-level flow runs ``groups`` in its request phase."""
    steps = [{"sharedPolicyGroupRef": {"name": group}} for group in groups]
    return v4_api(name, flows=[{"name": "all", "request": steps}], **spec)


def v4_puts(env: Env, name: str, *, since: int = 0) -> list[Any]:
    return [
        r for r in env.apim.requests.find(method="PUT", since=since)
        if r.path.endswith("/apis") and r.body.get("name") == name
    ]


async def test_group_is_upserted_in_hrid_mode_and_deleted(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(shared_policy_group("limits"))
    accepted = await env.wait_condition(SHARED_POLICY_GROUPS, "limits")
    assert accepted["message"] == "Successfully reconciled"
    [put] = spg_puts(env)
    assert put.query == {"dryRun": "false"}
    assert put.body["hrid"] == "team-limits"
    assert put.body["steps"][0]["policy"] == "rate-limit"
    assert "contextRef" not in put.body
    obj = await env.get(SHARED_POLICY_GROUPS, "limits")
    status = obj["status"]
    assert status["crossId"]
    assert status["processingStatus"] == "Completed"
    assert (condition(obj, "AutomationAPIManaged") or {}).get("status") == "True"
    assert env.apim.state.shared_policy_group(status["id"]) is not None
    assert {e["source"]["component"] for e in await env.events("limits")} == {
        "sharedpolicygroups-controller"
    }

    mark = env.apim.requests.mark()
    await env.delete(SHARED_POLICY_GROUPS, "limits")
    await env.wait_gone(SHARED_POLICY_GROUPS, "limits")
    [delete] = env.apim.requests.find(method="DELETE", since=mark)
    assert delete.path == f"{SPG_PATH}/team-limits"
    assert delete.query == {"hridContainsUUID": "false"}
    assert not env.apim.state.shared_policy_groups


async def test_v4_flow_step_is_resolved_to_the_group_and_follows_its_edits(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(shared_policy_group("limits"))
    await env.create(using("limited", "limits"))
    await env.wait_condition(API_V4_DEFINITIONS, "limited")
    cross_id = (await env.get(SHARED_POLICY_GROUPS, "limits"))["status"]["crossId"]
    step = v4_puts(env, "limited")[-1].body["flows"][0]["request"][0]
    assert step["policy"] == "shared-policy-group-policy"
    assert step["name"] == "limits"
    assert step["configuration"] == {"sharedPolicyGroupId": cross_id}
    assert step["sharedPolicyGroupRef"] == {"name": "limits"}
    # The live spec keeps the reference only.
    live = await env.get(API_V4_DEFINITIONS, "limited")
    assert "policy" not in live["spec"]["flows"][0]["request"][0]

    mark = env.apim.requests.mark()
    await env.patch(SHARED_POLICY_GROUPS, "limits", {"spec": {"description": "edited"}})
    await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and r.path.endswith("/apis")
        and r.body.get("name") == "limited",
        since=mark,
    )


async def test_api_waits_for_a_group_that_appears_later(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(using("early", "later"))
    failed = await env.wait_message(API_V4_DEFINITIONS, "early", "ResolvedRefs",
                                    'sharedpolicygroups.gravitee.io "later" not found')
    assert failed["status"] == "False"
    await env.create(shared_policy_group("later"))
    await env.wait_condition(API_V4_DEFINITIONS, "early", timeout=15)
    step = v4_puts(env, "early")[-1].body["flows"][0]["request"][0]
    assert step["policy"] == "shared-policy-group-policy"


async def test_a_group_of_another_context_is_refused(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(context("other", env.apim))
    await env.create(shared_policy_group("elsewhere", context_ref="other"))
    await env.wait_condition(SHARED_POLICY_GROUPS, "elsewhere")
    await env.create(using("mixed", "elsewhere"))
    failed = await env.wait_message(
        API_V4_DEFINITIONS, "mixed", "Accepted",
        "shared policy group [team/elsewhere] belongs to context [team/other], not to the "
        "API's context [team/apim]",
    )
    assert failed["reason"] == "IllegalStateError"
    assert v4_puts(env, "mixed") == []


async def test_deleting_a_used_group_waits_names_the_apis_and_completes(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(shared_policy_group("limits"))
    await env.create(using("one", "limits"))
    plan_flow = {"name": "plan", "request": [{"sharedPolicyGroupRef": {"name": "limits"}}]}
    await env.create(
        v4_api("two", plans={"key-less": {"name": "Free", "security": {"type": "KEY_LESS"},
                                          "flows": [plan_flow]}})
    )
    await env.wait_condition(API_V4_DEFINITIONS, "one")
    await env.wait_condition(API_V4_DEFINITIONS, "two")
    mark = env.apim.requests.mark()
    await env.delete(SHARED_POLICY_GROUPS, "limits")

    async def blocked() -> list[str]:
        return event_messages(await env.events("limits"), "DeleteFailed")

    [message, *_] = await wait_for(blocked, what="the blocked deletion")
    assert message == (
        "[limits] cannot be deleted because 2 APIs are relying on this Shared Policy Group: "
        "[team/one team/two]"
    )
    assert env.apim.requests.find(method="DELETE", path_contains=SPG_PATH, since=mark) == []
    await env.delete(API_V4_DEFINITIONS, "one")
    await env.patch(API_V4_DEFINITIONS, "two", {"spec": {"plans": {"key-less": {"flows": []}}}})
    await env.wait_gone(SHARED_POLICY_GROUPS, "limits", timeout=15)
    assert not env.apim.state.shared_policy_groups


async def test_legacy_group_is_addressed_by_its_cross_id(kubeapi, apim):
    apim.state.shared_policy_groups[("DEFAULT", "DEFAULT", LEGACY_CROSS_ID)] = (
        SharedPolicyGroupRecord(
            org="DEFAULT", env="DEFAULT", id=LEGACY_CROSS_ID, cross_id=LEGACY_CROSS_ID,
            hrid=None, name="limits", spec={"name": "limits"},
            errors={"severe": [], "warning": []},
        )
    )
    await seed(
        kubeapi,
        [context("apim", apim), shared_policy_group("limits")],
        statuses={"limits": {"id": LEGACY_CROSS_ID, "crossId": LEGACY_CROSS_ID}},
    )
    async with operator_env(kubeapi, apim) as env:
        await env.wait_condition(SHARED_POLICY_GROUPS, "limits")
        [put] = spg_puts(env)
        assert put.query == {"dryRun": "false", "hridContainsUUID": "true"}
        assert (put.body["hrid"], put.body["crossId"]) == (LEGACY_CROSS_ID, LEGACY_CROSS_ID)
        assert condition(await env.get(SHARED_POLICY_GROUPS, "limits"),
                         "AutomationAPIManaged") is None
        assert len(apim.state.shared_policy_groups) == 1

        mark = apim.requests.mark()
        await env.delete(SHARED_POLICY_GROUPS, "limits")
        await env.wait_gone(SHARED_POLICY_GROUPS, "limits")
        [delete] = apim.requests.find(method="DELETE", since=mark)
        assert delete.path == f"{SPG_PATH}/{LEGACY_CROSS_ID}"
        assert delete.query == {"hridContainsUUID": "true"}

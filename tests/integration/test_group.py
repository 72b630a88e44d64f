"""Group end to end: Automation API upsert with members and roles, HRID and legacy modes, the
group names APIs send, propagation of edits, and the guarded deletion
(docs/behavior/group.md).
"""

from __future__ import annotations

from typing import Any

from controller.kube.kinds import API_DEFINITIONS, API_V4_DEFINITIONS, GROUPS
from sim.apim.state import GroupRecord
from tests.integration.api_v2_helpers import event_messages, v2
from tests.integration.context_app_helpers import condition, seed
from tests.integration.harness import (
    Env,
    context,
    group,
    notification,
    operator_env,
    v4_api,
    wait_for,
)

GROUPS_PATH = "/automation/organizations/DEFAULT/environments/DEFAULT/groups"
FINALIZER = "finalizers.gravitee.io/groups"
MEMBERS = [
    {"source": "memory", "sourceId": "api1", "roles": {"API": "OWNER", "APPLICATION": "USER"}},
    {"source": "memory", "sourceId": "nobody", "roles": {}},
]
LEGACY_ID = "0b1c7a1e-5d5c-4f38-9a44-5e64c2b9f001"


def group_puts(env: Env, *, since: int = 0) -> list[Any]:
    return env.apim.requests.find(method="PUT", path_contains=GROUPS_PATH, since=since)


async def test_group_is_upserted_with_members_roles_and_notify_flag(env: Env):
    env.apim.state.add_user("api1")
    await env.create(context("apim", env.apim))
    await env.create(group("devs", "developers", notifyMembers=False, members=MEMBERS))
    accepted = await env.wait_condition(GROUPS, "devs")
    assert accepted["message"] == "Successfully reconciled"
    [put] = group_puts(env)
    assert put.query == {"dryRun": "false"}
    assert put.body["hrid"] == "team-devs"
    assert put.body["name"] == "developers"
    assert put.body["notifyMembers"] is False
    assert put.body["members"] == MEMBERS
    assert "contextRef" not in put.body
    obj = await env.get(GROUPS, "devs")
    assert FINALIZER in obj["metadata"]["finalizers"]
    status = obj["status"]
    # Only known users count as members (the unknown one is a warning from APIM).
    assert status["members"] == 1
    assert (status["organizationId"], status["environmentId"]) == ("DEFAULT", "DEFAULT")
    assert status["processingStatus"] == "Completed"
    assert (condition(obj, "AutomationAPIManaged") or {}).get("status") == "True"
    record = env.apim.state.group(status["id"])
    assert record is not None
    assert record.name == "developers"
    reasons = await env.event_reasons("devs")
    assert "UpdateSucceeded" in reasons
    assert {e["source"]["component"] for e in await env.events("devs")} == {"group-controller"}


async def test_deleting_a_group_deletes_it_in_apim(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(group("devs", "developers"))
    status = (await env.wait_condition(GROUPS, "devs")) and (await env.get(GROUPS, "devs"))
    mark = env.apim.requests.mark()
    await env.delete(GROUPS, "devs")
    await env.wait_gone(GROUPS, "devs")
    [delete] = env.apim.requests.find(method="DELETE", since=mark)
    assert delete.path == f"{GROUPS_PATH}/team-devs"
    assert delete.query == {"hridContainsUUID": "false"}
    assert env.apim.state.group(status["status"]["id"]) is None


async def test_group_without_context_says_so(env: Env):
    await env.create(group("orphan", context_ref=None))
    failed = await env.wait_condition(GROUPS, "orphan", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"] == "a context is required to reconcile a group"


async def test_v4_group_refs_send_the_group_name_and_follow_edits(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(group("devs", "developers"))
    await env.create(v4_api("grouped", groups=["product"], groupRefs=[{"name": "devs"}]))
    await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and r.path.endswith("/apis")
        and r.body.get("groups") == ["product", "developers"]
    )
    refs = await env.wait_condition(API_V4_DEFINITIONS, "grouped", type_="ResolvedRefs")
    assert refs["reason"] == "ResolvedRefs"

    # Renaming the group re-reconciles the API, which sends the new name.
    await env.patch(GROUPS, "devs", {"spec": {"name": "builders"}})
    await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and r.path.endswith("/apis")
        and r.body.get("groups") == ["product", "builders"]
    )


async def test_v4_missing_group_is_a_soft_failure(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v4_api("lonely", groupRefs=[{"name": "ghost"}]))
    refs = await env.wait_message(API_V4_DEFINITIONS, "lonely", "ResolvedRefs",
                                  "Group team/ghost could not be found")
    assert refs["reason"] == "GroupNotFound"
    accepted = await env.condition(API_V4_DEFINITIONS, "lonely")
    assert accepted is not None
    assert accepted["status"] == "True"


async def test_v4_console_notification_is_sent_in_the_v4_shape(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(group("devs", "developers"))
    await env.create(
        notification("notify", apiEvents=["API_STARTED"], groups=["ops"],
                     groupRefs=[{"name": "devs"}])
    )
    await env.create(v4_api("notified", notificationsRefs=[{"name": "notify"}]))
    expected = {"events": ["API_STARTED"], "groups": ["ops", "developers"]}
    await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and r.path.endswith("/apis")
        and r.body.get("consoleNotification") == expected
    )


async def test_deleting_a_referenced_group_waits_names_its_users_and_completes(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(group("devs", "developers"))
    await env.create(v2("grouped", groupRefs=[{"name": "devs"}]))
    await env.create(v4_api("grouped4", groupRefs=[{"name": "devs"}]))
    await env.wait_condition(API_DEFINITIONS, "grouped")
    await env.wait_condition(API_V4_DEFINITIONS, "grouped4")
    await env.wait_condition(GROUPS, "devs")
    mark = env.apim.requests.mark()
    await env.delete(GROUPS, "devs")

    async def blocked() -> str | None:
        messages = event_messages(await env.events("devs"), "DeleteFailed")
        return messages[-1] if messages else None

    message = await wait_for(blocked, what="the blocked deletion's Event")
    assert "ApiDefinition [team/grouped]" in message
    assert "ApiV4Definition [team/grouped4]" in message
    failed = await env.wait_condition(GROUPS, "devs", "False")
    assert failed["message"] == message
    assert env.apim.requests.find(method="DELETE", since=mark) == []

    await env.patch(API_DEFINITIONS, "grouped", {"spec": {"groupRefs": None}})
    await env.delete(API_V4_DEFINITIONS, "grouped4")
    await env.wait_gone(GROUPS, "devs", timeout=15)
    deletes = env.apim.requests.find(method="DELETE", path_contains=GROUPS_PATH, since=mark)
    # Two referrers letting go may both enqueue it: a second pass finds it already gone.
    assert [d.status for d in deletes][:1] == [204]
    assert {d.status for d in deletes} <= {204, 404}


async def test_legacy_group_keeps_its_uuid(kubeapi, apim):
    """A group an older operator created (UUID in status, no AutomationAPIManaged) is
    addressed by UUID with hridContainsUUID=true, now and when deleted."""
    apim.state.groups[("DEFAULT", "DEFAULT", LEGACY_ID)] = GroupRecord(
        org="DEFAULT", env="DEFAULT", id=LEGACY_ID, hrid=None, name="developers",
        member_count=0, spec={"name": "developers"}, errors={"severe": [], "warning": []},
    )
    await seed(
        kubeapi,
        [context("apim", apim), group("devs", "developers")],
        statuses={"devs": {"id": LEGACY_ID, "members": 0}},
    )
    async with operator_env(kubeapi, apim) as env:
        await env.wait_condition(GROUPS, "devs")
        [put] = group_puts(env)
        assert put.query == {"dryRun": "false", "hridContainsUUID": "true"}
        assert (put.body["hrid"], put.body["id"]) == (LEGACY_ID, LEGACY_ID)
        obj = await env.get(GROUPS, "devs")
        assert condition(obj, "AutomationAPIManaged") is None
        assert len(apim.state.groups) == 1

        mark = apim.requests.mark()
        await env.delete(GROUPS, "devs")
        await env.wait_gone(GROUPS, "devs")
        [delete] = apim.requests.find(method="DELETE", since=mark)
        assert delete.path == f"{GROUPS_PATH}/{LEGACY_ID}"
        assert delete.query == {"hridContainsUUID": "true"}
        assert not apim.state.groups

"""Notification end to end: validation, the Groups it names, how APIs consume it, propagation
of edits and the guarded deletion (docs/behavior/notification.md).
"""

from __future__ import annotations

from controller.kube.kinds import API_DEFINITIONS, API_V4_DEFINITIONS, GROUPS, NOTIFICATIONS
from tests.integration.api_v2_helpers import event_messages, v2
from tests.integration.harness import (
    Env,
    context,
    group,
    notification,
    v4_api,
    wait_for,
)

FINALIZER = "finalizers.gravitee.io/notification"


async def test_notification_is_accepted_with_finalizer_and_events(env: Env):
    await env.create(notification("notify", apiEvents=["API_STARTED"]))
    accepted = await env.wait_condition(NOTIFICATIONS, "notify")
    assert accepted["message"] == "Successfully reconciled"
    obj = await env.get(NOTIFICATIONS, "notify")
    assert FINALIZER in obj["metadata"]["finalizers"]
    assert "processingStatus" not in obj["status"]
    events = await env.events("notify")
    assert {e["source"]["component"] for e in events} == {"notification-controller"}
    assert len(env.apim.requests) == 0


async def test_missing_group_is_reported_and_resolved_when_it_appears(env: Env):
    await env.create(notification("notify", groupRefs=[{"name": "devs"}]))
    refs = await env.wait_condition(NOTIFICATIONS, "notify", "False", type_="ResolvedRefs")
    assert refs["reason"] == "GroupNotFound"
    assert refs["message"] == "Group team/devs could not  be found"
    accepted = await env.condition(NOTIFICATIONS, "notify")
    assert accepted is not None
    assert accepted["status"] == "True"
    await env.create(group("devs", context_ref=None))
    await env.wait_condition(NOTIFICATIONS, "notify", type_="ResolvedRefs")


async def test_editing_a_notification_reaches_v4_apis(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(notification("notify", apiEvents=["API_STARTED"]))
    await env.create(v4_api("notified", notificationsRefs=[{"name": "notify"}]))
    await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and r.path.endswith("/apis")
        and (r.body.get("consoleNotification") or {}).get("events") == ["API_STARTED"]
    )
    await env.patch(NOTIFICATIONS, "notify", {"spec": {"console": {"apiEvents": ["API_STOPPED"]}}})
    await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and r.path.endswith("/apis")
        and (r.body.get("consoleNotification") or {}).get("events") == ["API_STOPPED"]
    )


async def test_missing_notification_fails_the_api_until_it_appears(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v4_api("waiting", notificationsRefs=[{"name": "later"}]))
    failed = await env.wait_message(API_V4_DEFINITIONS, "waiting", "Accepted",
                                    'notifications.gravitee.io "later" not found')
    assert failed["status"] == "False"
    await env.create(notification("later", apiEvents=["API_STARTED"]))
    await env.wait_condition(API_V4_DEFINITIONS, "waiting", timeout=15)


async def test_deleting_a_referenced_notification_waits_with_upstreams_messages(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(notification("notify", apiEvents=["API_STARTED"]))
    await env.create(v2("notified", notificationsRefs=[{"name": "notify"}]))
    await env.create(v4_api("notified4", notificationsRefs=[{"name": "notify"}]))
    await env.wait_condition(API_DEFINITIONS, "notified")
    await env.wait_condition(API_V4_DEFINITIONS, "notified4")
    await env.wait_condition(NOTIFICATIONS, "notify")
    await env.delete(NOTIFICATIONS, "notify")

    async def blocked(expected: str) -> bool:
        return expected in event_messages(await env.events("notify"), "DeleteFailed")

    v2_message = (
        "notification is referenced by APIs: [team/notified] and will remain until those are "
        "removed"
    )
    await wait_for(lambda: blocked(v2_message), what="the v2 message")
    await env.patch(API_DEFINITIONS, "notified", {"spec": {"notificationsRefs": None}})
    v4_message = (
        "notification is referenced by V4 APIs: [team/notified4] and will remain until those "
        "are removed"
    )
    await wait_for(lambda: blocked(v4_message), what="the v4 message", timeout=15)
    await env.delete(API_V4_DEFINITIONS, "notified4")
    await env.wait_gone(NOTIFICATIONS, "notify", timeout=15)


async def test_a_group_named_by_a_notification_cannot_be_deleted(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(group("devs"))
    await env.create(notification("notify", groupRefs=[{"name": "devs"}]))
    await env.wait_condition(NOTIFICATIONS, "notify", type_="ResolvedRefs")
    await env.wait_condition(GROUPS, "devs")
    await env.delete(GROUPS, "devs")

    async def blocked() -> list[str]:
        return event_messages(await env.events("devs"), "DeleteFailed")

    [message, *_] = await wait_for(blocked, what="the group's blocked deletion")
    assert "Notification [team/notify]" in message
    await env.delete(NOTIFICATIONS, "notify")
    await env.wait_gone(GROUPS, "devs", timeout=15)

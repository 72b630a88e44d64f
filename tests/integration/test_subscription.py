"""Subscription end to end: v4 and v2 APIs, API keys and their rotation, missing references
that appear later, guarded deletion of what a subscription uses, and the legacy identity modes
(docs/behavior/subscription.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from controller.kube.kinds import API_DEFINITIONS, API_V4_DEFINITIONS, APPLICATIONS, SUBSCRIPTIONS
from tests.integration.api_v2_helpers import event_messages, production_logging, v2
from tests.integration.context_app_helpers import condition, seed
from tests.integration.harness import (
    Env,
    application,
    context,
    operator_env,
    subscription,
    v4_api,
    wait_for,
)

SUBS = "/subscriptions"
KEY_1 = "k" * 40
KEY_2 = "z" * 40
PLANS = {
    "api-key": {"name": "Key", "security": {"type": "API_KEY"}},
    "jwt": {"name": "JWT", "security": {"type": "JWT", "configuration": {}}},
    "key-less": {"name": "Free", "security": {"type": "KEY_LESS"}},
}


@pytest.fixture(autouse=True)
def operator_logs():
    with production_logging() as buffer:
        yield buffer


def sub_puts(env: Env, *, since: int = 0) -> list[Any]:
    return [
        r for r in env.apim.requests.find(method="PUT", since=since)
        if r.path.endswith(SUBS)
    ]


async def world(env: Env, *, api: bool = True, app: bool = True) -> None:
    await env.create(context("apim", env.apim))
    if api:
        await env.create(v4_api("echo", plans=PLANS))
    if app:
        await env.create(application("consumer", settings={"app": {"type": "web",
                                                                    "clientId": "c-1"}}))


async def test_subscription_to_an_api_key_plan_with_keys_and_rotation(env: Env, operator_logs):
    await world(env)
    await env.create(
        subscription("sub", api="echo", application="consumer", plan="api-key",
                     apiKeys=[{"key": KEY_1, "expireAt": "2040-01-01T00:00:00Z"}],
                     metadata={"team": "core"}, endingAt="2040-12-25T09:12:28Z")
    )
    accepted = await env.wait_condition(SUBSCRIPTIONS, "sub", timeout=15)
    assert accepted["message"] == "Successfully reconciled"
    [put, *_] = sub_puts(env)
    assert put.path.endswith("/apis/team-echo/subscriptions")
    assert put.query == {"hridContainsUUID": "false", "hridContainsApiUUID": "false",
                         "hridContainsAppUUID": "false"}
    assert put.body["hrid"] == "team-sub"
    assert put.body["applicationHrid"] == "team-consumer"
    assert put.body["planHrid"] == "api-key"
    assert put.body["metadata"] == {"team": "core"}
    assert put.body["endingAt"] == "2040-12-25T09:12:28Z"
    obj = await env.get(SUBSCRIPTIONS, "sub")
    status = obj["status"]
    assert status["startedAt"].endswith("Z")
    assert status["endingAt"] == "2040-12-25T09:12:28Z"
    assert status["processingStatus"] == "Completed"
    assert (condition(obj, "AutomationAPIManaged") or {}).get("status") == "True"
    record = env.apim.state.subscription(status["id"])
    assert record is not None
    assert record.status == "ACCEPTED"
    assert [(k.key, k.revoked) for k in record.api_keys] == [(KEY_1, False)]

    # Rotation: the new key is created, the removed one revoked, expiry kept.
    await env.patch(SUBSCRIPTIONS, "sub", {"spec": {"apiKeys": [
        {"key": KEY_2, "expireAt": "2041-01-01T00:00:00Z"}]}})

    def stored() -> Any:
        found = env.apim.state.subscription(status["id"])
        assert found is not None
        return found

    async def rotated() -> bool:
        keys = {k.key: k for k in stored().api_keys}
        return KEY_2 in keys and keys[KEY_1].revoked and not keys[KEY_2].revoked

    await wait_for(rotated, what="key rotation")
    keys = {k.key: k for k in stored().api_keys}
    assert keys[KEY_2].expire_at == "2041-01-01T00:00:00Z"
    # Keys are credentials: never in logs, Events or status.
    for key in (KEY_1, KEY_2):
        assert key not in operator_logs.getvalue()
        assert all(key not in str(e.get("message")) for e in await env.events("sub"))
        assert key not in str((await env.get(SUBSCRIPTIONS, "sub"))["status"])

    mark = env.apim.requests.mark()
    await env.delete(SUBSCRIPTIONS, "sub")
    await env.wait_gone(SUBSCRIPTIONS, "sub")
    [delete] = env.apim.requests.find(method="DELETE", since=mark)
    assert delete.path.endswith("/apis/team-echo/subscriptions/team-sub")
    assert stored().status == "CLOSED"


async def test_missing_api_and_application_are_waited_for_through_the_index(env: Env):
    await world(env, api=False, app=False)
    await env.create(subscription("early", api="echo", application="consumer", plan="jwt"))
    refs = await env.wait_condition(SUBSCRIPTIONS, "early", "False", type_="ResolvedRefs")
    assert refs["message"] == "unable to resolve API [team/echo]"
    await env.create(v4_api("echo", plans=PLANS))

    async def app_missing() -> bool:
        found = await env.condition(SUBSCRIPTIONS, "early", "ResolvedRefs")
        return bool(found and found["message"] == "unable to resolve application [team/consumer]")

    await wait_for(app_missing, what="the application to be the missing piece", timeout=15)
    await env.create(application("consumer", settings={"app": {"type": "web",
                                                                "clientId": "c-1"}}))
    await env.wait_condition(SUBSCRIPTIONS, "early", timeout=15)


async def test_unknown_plan_is_reported_and_a_plan_added_later_resolves_it(env: Env):
    await world(env)
    await env.create(subscription("sub", api="echo", application="consumer", plan="gold"))
    refs = await env.wait_message(SUBSCRIPTIONS, "sub", "ResolvedRefs", "plan gold not found")
    assert refs["status"] == "False"
    plans = {**PLANS, "gold": {"name": "Gold", "security": {"type": "JWT", "configuration": {}}}}
    await env.patch(API_V4_DEFINITIONS, "echo", {"spec": {"plans": plans}})
    await env.wait_condition(SUBSCRIPTIONS, "sub", timeout=15)


async def test_keyless_plans_cannot_be_subscribed(env: Env):
    await world(env)
    await env.create(subscription("free", api="echo", application="consumer", plan="key-less"))
    failed = await env.wait_message(
        SUBSCRIPTIONS, "free", "Accepted",
        "unable to subscribe to plan [key-less] because security type is not one of "
        "[API_KEY,JWT,OAUTH2,MTLS]",
    )
    assert (failed["status"], failed["reason"]) == ("False", "IllegalStateError")


async def test_deleting_an_api_or_application_with_subscriptions_waits_and_explains(env: Env):
    await world(env)
    await env.create(subscription("sub", api="echo", application="consumer", plan="jwt"))
    await env.wait_condition(SUBSCRIPTIONS, "sub", timeout=15)
    mark = env.apim.requests.mark()
    await env.delete(API_V4_DEFINITIONS, "echo")
    await env.delete(APPLICATIONS, "consumer")
    expected = {
        "echo": "cannot delete [team/echo] because it is referenced in 1 subscriptions. "
        "Subscriptions must be deleted before the API definition. Subscriptions: [team/sub]",
        "consumer": "cannot delete [team/consumer] because it is referenced in 1 subscriptions. "
        "Subscriptions must be deleted before the application. Subscriptions: [team/sub]",
    }
    for name in ("echo", "consumer"):
        async def blocked(name: str = name) -> bool:
            return expected[name] in event_messages(await env.events(name), "DeleteFailed")

        await wait_for(blocked, what=f"{name}'s blocked deletion")
    assert env.apim.requests.find(method="DELETE", since=mark) == []

    await env.delete(SUBSCRIPTIONS, "sub")
    for kind, name in ((SUBSCRIPTIONS, "sub"), (API_V4_DEFINITIONS, "echo"),
                       (APPLICATIONS, "consumer")):
        await env.wait_gone(kind, name, timeout=15)


async def test_a_subscription_whose_api_is_gone_can_be_deleted(env: Env):
    await world(env)
    await env.create(subscription("sub", api="echo", application="consumer", plan="jwt"))
    await env.wait_condition(SUBSCRIPTIONS, "sub", timeout=15)
    # Forced: the API's finalizer removed by hand, as an impatient user would.
    await env.patch(API_V4_DEFINITIONS, "echo", {"metadata": {"finalizers": None}})
    await env.delete(API_V4_DEFINITIONS, "echo")
    await env.wait_gone(API_V4_DEFINITIONS, "echo")
    await env.delete(SUBSCRIPTIONS, "sub")
    await env.wait_gone(SUBSCRIPTIONS, "sub", timeout=15)


async def test_v2_api_subscription_uses_uuids(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v2("legacy", plans=[{"name": "keys", "description": "k",
                                          "security": "API_KEY"}]))
    await env.create(application("consumer"))
    manifest = subscription("sub", api="legacy", application="consumer", plan="keys")
    manifest["spec"]["api"]["kind"] = "ApiDefinition"
    await env.create(manifest)
    await env.wait_condition(SUBSCRIPTIONS, "sub", timeout=15)
    api = await env.get(API_DEFINITIONS, "legacy")
    [put, *_] = sub_puts(env)
    assert put.path.endswith(f"/apis/{api['status']['id']}/subscriptions")
    assert put.query["hridContainsApiUUID"] == "true"
    assert put.body["planHrid"] in api["status"]["plans"].values()




async def test_legacy_subscription_keeps_its_uuid(kubeapi, apim):
    """A subscription an older operator created (UUID in status, no AutomationAPIManaged) is
    addressed by that UUID with hridContainsUUID=true, now and when deleted."""
    legacy_id = "8d6f0a52-3c1e-4b7a-9f21-6b0e5c4d3a21"
    await seed(
        kubeapi,
        [context("apim", apim), v4_api("echo", plans=PLANS),
         application("consumer", settings={"app": {"type": "web", "clientId": "c-1"}}),
         subscription("old", api="echo", application="consumer", plan="jwt")],
        statuses={"old": {"id": legacy_id, "processingStatus": "Completed"}},
    )
    async with operator_env(kubeapi, apim) as env:
        await env.wait_condition(SUBSCRIPTIONS, "old", timeout=15)
        [put, *_] = sub_puts(env)
        assert put.query["hridContainsUUID"] == "true"
        assert put.body["hrid"] == legacy_id
        obj = await env.get(SUBSCRIPTIONS, "old")
        assert obj["status"]["id"] == legacy_id
        assert condition(obj, "AutomationAPIManaged") is None

        mark = apim.requests.mark()
        await env.delete(SUBSCRIPTIONS, "old")
        await env.wait_gone(SUBSCRIPTIONS, "old")
        [delete] = apim.requests.find(method="DELETE", since=mark)
        assert delete.path.endswith(f"/subscriptions/{legacy_id}")
        assert delete.query["hridContainsUUID"] == "true"


async def test_subscription_counts_are_derived_and_kept_without_reconciling_the_api(env: Env):
    """Upstream's ``status.subscriptions`` on the API and the Application: the number of
    Subscriptions referencing them now, from the indexes, rewritten by the derived-status
    keeper alone (no APIM call for the API or the Application) when one comes or goes."""
    await world(env)
    for kind, name in ((API_V4_DEFINITIONS, "echo"), (APPLICATIONS, "consumer")):
        await env.wait_condition(kind, name, timeout=15)

    async def counts(expected: int) -> bool:
        found = [((await env.get(kind, name)).get("status") or {}).get("subscriptions")
                 for kind, name in ((API_V4_DEFINITIONS, "echo"), (APPLICATIONS, "consumer"))]
        return found == [expected, expected]

    await wait_for(lambda: counts(0), what="counts of 0 written with the first status")
    mark = env.apim.requests.mark()
    await env.create(subscription("sub-a", api="echo", application="consumer", plan="api-key",
                                  apiKeys=[{"key": KEY_1}]))
    await env.create(subscription("sub-b", api="echo", application="consumer", plan="jwt"))
    await wait_for(lambda: counts(2), what="2 subscriptions counted on both", timeout=15)
    for name in ("sub-a", "sub-b"):
        await env.wait_condition(SUBSCRIPTIONS, name, timeout=15)
    await env.delete(SUBSCRIPTIONS, "sub-a")
    await env.wait_gone(SUBSCRIPTIONS, "sub-a", timeout=15)
    await wait_for(lambda: counts(1), what="1 subscription counted on both", timeout=15)
    others = [r for r in env.apim.requests.find(since=mark) if "/subscriptions" not in r.path]
    assert [r.path for r in others if "/apis" in r.path or "/applications" in r.path] == []

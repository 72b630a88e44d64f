"""Automation API applications, subscriptions, groups, shared policy groups, dictionaries."""

from sim.apim import ids

from . import bodies

APP_ID = "dae6b635-631a-3989-8315-1b4fc8c060d8"
SUB_ID = "e253d0bc-58f2-34f7-8939-bcebd620f793"


async def put(http, url, body, **query):
    params = {k: str(v).lower() for k, v in query.items()}
    async with http.put(url, json=body, params=params) as r:
        return r.status, await r.json()


async def setup_api_and_app(http, apim):
    api = bodies.v4_api(plans=[bodies.v4_api()["plans"][0], bodies.api_key_plan()])
    status, _ = await put(http, apim.automation_url() + "/apis", api)
    assert status == 200
    status, _ = await put(http, apim.automation_url() + "/applications", bodies.application())
    assert status == 200


async def test_application_upsert_get_and_archive(apim, http):
    status, state = await put(http, apim.automation_url() + "/applications",
                              bodies.application(), dryRun=False)
    assert status == 200
    assert state["id"] == APP_ID
    assert state["organizationId"] == "DEFAULT"
    assert state["hrid"] == "default-my-app"
    assert "contextRef" not in state
    _, again = await put(http, apim.automation_url() + "/applications", bodies.application())
    assert again == state
    async with http.get(apim.automation_url() + "/applications/default-my-app") as r:
        assert r.status == 200
    async with http.delete(apim.automation_url() + "/applications/default-my-app") as r:
        assert r.status == 204
    assert apim.state.application(APP_ID).status == "ARCHIVED"
    async with http.delete(apim.automation_url() + "/applications/default-my-app") as r:
        assert r.status == 404


async def test_application_dry_run_and_warnings(apim, http):
    body = bodies.application(groups=["nope"])
    status, state = await put(http, apim.automation_url() + "/applications", body, dryRun=True)
    assert status == 200
    assert state["errors"]["warning"] == [
        "Group [nope] could not be found in environment [DEFAULT]"
    ]
    assert apim.state.applications == {}


async def test_application_legacy_uuid_mode(apim, http):
    legacy = "6f1c2d3e-4a5b-4c6d-8e7f-8a9b0c1d2e3f"
    _, state = await put(http, apim.automation_url() + "/applications",
                         bodies.application(hrid=legacy), hridContainsUUID=True)
    assert state["id"] == legacy
    async with http.delete(apim.automation_url() + f"/applications/{legacy}",
                           params={"hridContainsUUID": "true"}) as r:
        assert r.status == 204


async def test_subscription_upsert_is_auto_accepted_with_rfc3339_starting_at(apim, http):
    await setup_api_and_app(http, apim)
    status, state = await put(http, apim.automation_url() + "/apis/default-my-api/subscriptions",
                              bodies.subscription(), hridContainsUUID=False,
                              hridContainsApiUUID=False, hridContainsAppUUID=False)
    assert status == 200
    assert state["id"] == SUB_ID
    assert state["startingAt"].endswith("Z")
    assert state["apiHrid"] == "default-my-api"
    assert "endingAt" not in state  # GKO sent "" for an unset end
    sub = apim.state.subscription(SUB_ID)
    assert sub.status == "ACCEPTED"
    assert sub.application_id == APP_ID
    assert sub.plan_id == ids.child_id("DEFAULT", "DEFAULT", "default-my-api", "api-key")
    assert len(sub.api_keys) == 1  # APIM generates a key for API_KEY plans
    _, again = await put(http, apim.automation_url() + "/apis/default-my-api/subscriptions",
                         bodies.subscription())
    assert again["startingAt"] == state["startingAt"]


async def test_subscription_custom_api_keys_are_rotated(apim, http):
    await setup_api_and_app(http, apim)
    url = apim.automation_url() + "/apis/default-my-api/subscriptions"
    key1, key2 = "k" * 32, "q" * 32
    await put(http, url, bodies.subscription(apiKeys=[{"key": key1}]))
    await put(http, url, bodies.subscription(apiKeys=[{"key": key2}]))
    keys = {k.key: k.revoked for k in apim.state.subscription(SUB_ID).api_keys}
    assert keys == {key1: True, key2: False}


async def test_subscription_by_uuids_and_unknown_references(apim, http):
    await setup_api_and_app(http, apim)
    api_id = ids.top_level_id("DEFAULT", "DEFAULT", "default-my-api")
    plan_id = ids.child_id("DEFAULT", "DEFAULT", "default-my-api", "api-key")
    legacy_sub = "12345678-1234-4234-8234-123456789012"
    status, state = await put(
        http, apim.automation_url() + f"/apis/{api_id}/subscriptions",
        bodies.subscription(hrid=legacy_sub, app=APP_ID, plan=plan_id),
        hridContainsUUID=True, hridContainsApiUUID=True, hridContainsAppUUID=True,
    )
    assert status == 200
    assert state["id"] == legacy_sub
    for body in (bodies.subscription(app="nope"), bodies.subscription(plan="nope")):
        status, error = await put(http, apim.automation_url()
                                  + "/apis/default-my-api/subscriptions", body)
        assert status == 404
        assert error["technicalCode"] == "hrid.notFound"
    status, error = await put(http, apim.automation_url() + "/apis/nope/subscriptions",
                              bodies.subscription())
    assert status == 404


async def test_subscription_delete_closes_and_second_delete_is_404(apim, http):
    await setup_api_and_app(http, apim)
    url = apim.automation_url() + "/apis/default-my-api/subscriptions"
    await put(http, url, bodies.subscription())
    async with http.get(url + "/default-my-sub") as r:
        assert r.status == 200
    async with http.delete(url + "/default-my-sub",
                           params={"hridContainsUUID": "false",
                                   "hridContainsApiUUID": "false"}) as r:
        assert r.status == 204
    assert apim.state.subscription(SUB_ID).status == "CLOSED"
    assert all(k.revoked for k in apim.state.subscription(SUB_ID).api_keys)
    async with http.delete(url + "/default-my-sub") as r:
        assert r.status == 404


async def test_api_delete_closes_plans_and_subscriptions(apim, http):
    await setup_api_and_app(http, apim)
    await put(http, apim.automation_url() + "/apis/default-my-api/subscriptions",
              bodies.subscription())
    async with http.delete(apim.automation_url() + "/apis/default-my-api") as r:
        assert r.status == 204
    assert apim.state.subscription(SUB_ID).status == "CLOSED"
    assert all(p.status == "CLOSED" for p in apim.state.plans.values())


async def test_application_archive_closes_its_subscriptions(apim, http):
    await setup_api_and_app(http, apim)
    await put(http, apim.automation_url() + "/apis/default-my-api/subscriptions",
              bodies.subscription())
    async with http.delete(apim.automation_url() + "/applications/default-my-app") as r:
        assert r.status == 204
    assert apim.state.subscription(SUB_ID).status == "CLOSED"


async def test_group_upsert_counts_known_members_and_delete_404s_when_gone(apim, http):
    body = {"hrid": "default-devs", "name": "developers", "notifyMembers": True,
            "members": [{"source": "memory", "sourceId": "admin", "roles": {"API": "USER"}},
                        {"source": "memory", "sourceId": "ghost", "roles": {"API": "USER"}}]}
    status, state = await put(http, apim.automation_url() + "/groups", body)
    assert status == 200
    assert state["id"] == ids.top_level_id("DEFAULT", "DEFAULT", "default-devs")
    assert state["memberCount"] == 1
    assert state["errors"]["warning"] == [
        "member [ghost] of source [memory] could not be found in organization [DEFAULT]"
    ]
    # Now APIs referencing the group by name get no warning.
    _, api = await put(http, apim.automation_url() + "/apis", bodies.v4_api(groups=["developers"]))
    assert api["errors"]["warning"] == []
    async with http.delete(apim.automation_url() + "/groups/default-devs") as r:
        assert r.status == 204
    async with http.delete(apim.automation_url() + "/groups/default-devs") as r:
        assert r.status == 404


async def test_shared_policy_group_hrid_and_legacy_modes(apim, http):
    body = {"hrid": "default-spg", "name": "spg", "apiType": "PROXY", "phase": "REQUEST",
            "steps": [{"name": "rate", "policy": "rate-limit", "enabled": True}]}
    status, state = await put(http, apim.automation_url() + "/shared-policy-groups", body)
    assert status == 200
    assert state["crossId"] == ids.cross_id("DEFAULT", "default-spg")
    assert state["id"] == ids.top_level_id("DEFAULT", "DEFAULT", "default-spg")
    async with http.get(apim.automation_url() + "/shared-policy-groups/default-spg") as r:
        assert r.status == 200
    legacy = dict(body, hrid="0a0a0a0a-1111-4111-8111-222222222222")
    _, state = await put(http, apim.automation_url() + "/shared-policy-groups", legacy,
                         hridContainsUUID=True)
    assert state["id"] == "0a0a0a0a-1111-4111-8111-222222222222"
    async with http.delete(apim.automation_url()
                           + "/shared-policy-groups/0a0a0a0a-1111-4111-8111-222222222222",
                           params={"hridContainsUUID": "true"}) as r:
        assert r.status == 204
    async with http.delete(apim.automation_url() + "/shared-policy-groups/default-spg") as r:
        assert r.status == 204
    assert apim.state.shared_policy_groups == {}


async def test_dry_runs_store_nothing_for_every_kind(apim, http):
    spg = {"hrid": "default-spg", "name": "spg", "apiType": "PROXY", "phase": "REQUEST"}
    for path, body in (("/groups", {"hrid": "default-g", "name": "g"}),
                       ("/shared-policy-groups", spg),
                       ("/dictionaries", {"hrid": "default-d", "name": "d", "type": "MANUAL",
                                          "deployed": False, "manual": {"properties": {}}}),
                       ("/applications", bodies.application()),
                       ("/apis", bodies.v4_api())):
        status, _ = await put(http, apim.automation_url() + path, body, dryRun=True)
        assert status == 200, path
    assert all(v == 0 for v in apim.state.counts().values())


async def test_dictionary_round_trip(apim, http):
    body = {"hrid": "default-dict", "name": "dict", "type": "MANUAL", "deployed": True,
            "manual": {"properties": {"k": "v"}}}
    status, state = await put(http, apim.automation_url() + "/dictionaries", body)
    assert status == 200
    assert state["id"] == ids.top_level_id("DEFAULT", "DEFAULT", "default-dict")
    async with http.get(apim.automation_url() + "/dictionaries/default-dict") as r:
        assert (await r.json())["manual"] == {"properties": {"k": "v"}}
    async with http.delete(apim.automation_url() + "/dictionaries/default-dict") as r:
        assert r.status == 204
    async with http.delete(apim.automation_url() + "/dictionaries/default-dict") as r:
        assert r.status == 404


async def test_missing_hrid_or_non_object_body_is_400(apim, http):
    status, error = await put(http, apim.automation_url() + "/applications", {"name": "x"})
    assert status == 400
    assert error["httpStatus"] == 400
    async with http.put(apim.automation_url() + "/apis", data=b"not json",
                        headers={"Content-Type": "application/json"}) as r:
        assert r.status == 400
    async with http.put(apim.automation_url() + "/apis", json=[1, 2]) as r:
        assert r.status == 400


async def test_keyless_plans_are_not_subscribable(apim, http):
    await setup_api_and_app(http, apim)
    status, error = await put(http, apim.automation_url() + "/apis/default-my-api/subscriptions",
                              bodies.subscription(plan="key-less"))
    assert status == 400
    assert error["message"] == "A key_less plan is not subscribable !"
    assert apim.state.subscriptions == {}


async def test_subscription_plan_is_immutable_and_closed_one_is_restored(apim, http):
    api = bodies.v4_api(plans=[bodies.api_key_plan("key-a"), bodies.api_key_plan("key-b")])
    await put(http, apim.automation_url() + "/apis", api)
    await put(http, apim.automation_url() + "/applications", bodies.application())
    url = apim.automation_url() + "/apis/default-my-api/subscriptions"
    status, _ = await put(http, url, bodies.subscription(plan="key-a"))
    assert status == 200
    status, error = await put(http, url, bodies.subscription(plan="key-b"))
    assert status == 400
    assert "plan" in error["message"]
    async with http.delete(url + "/default-my-sub") as r:
        assert r.status == 204
    status, restored = await put(http, url, bodies.subscription(plan="key-a"))
    assert status == 200
    assert apim.state.subscription(restored["id"]).status == "ACCEPTED"

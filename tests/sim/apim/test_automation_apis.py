"""Automation API v4 APIs: HRID ids, idempotent upserts, dry runs, plans, deploys, deletes."""

import pytest

from sim.apim import ids

from . import bodies

API_ID = "cd9b2bb0-fc3e-34cc-ba08-62ac149e3434"
API_CROSS_ID = "b54c45d2-1e4f-3330-aa2d-9c931c795b92"
KEYLESS_PLAN_ID = "92dc3efa-4f70-33bb-a3f7-bd79e35922d0"


async def put_api(http, apim, body, **query):
    params = {k: str(v).lower() for k, v in query.items()}
    async with http.put(apim.automation_url() + "/apis", json=body, params=params) as r:
        return r.status, await r.json()


async def test_hrid_mode_upsert_derives_ids_and_returns_state(apim, http):
    status, state = await put_api(http, apim, bodies.v4_api(), dryRun=False)
    assert status == 200
    assert state["id"] == API_ID
    assert state["crossId"] == API_CROSS_ID
    assert state["organizationId"] == "DEFAULT"
    assert state["environmentId"] == "DEFAULT"
    assert state["hrid"] == "default-my-api"
    assert state["state"] == "STARTED"
    assert state["errors"] == {"severe": [], "warning": []}
    assert [(p["hrid"], p["id"]) for p in state["plans"]] == [("key-less", KEYLESS_PLAN_ID)]
    stored = apim.state.api(API_ID)
    assert stored is not None
    assert stored.hrid == "default-my-api"
    assert stored.definition_version == "V4"


async def test_upsert_is_idempotent(apim, http):
    _, first = await put_api(http, apim, bodies.v4_api())
    _, second = await put_api(http, apim, bodies.v4_api())
    assert first == second
    assert len(apim.state.apis) == 1
    assert apim.state.api(API_ID).imports == 2
    assert apim.state.counts()["plans"] == 1


async def test_dry_run_never_stores_anything(apim, http):
    status, state = await put_api(http, apim, bodies.v4_api(), dryRun=True)
    assert status == 200
    assert state["id"] == API_ID
    assert apim.state.apis == {}
    assert apim.state.plans == {}


async def test_dry_run_reports_severe_errors_with_200_and_real_import_refuses_with_400(apim, http):
    # A resource without a type cannot be checked against any resource plugin's schema.
    body = bodies.v4_api(resources=[{"name": "cache", "type": "", "configuration": {}}])
    status, state = await put_api(http, apim, body, dryRun=True)
    assert status == 200
    assert state["errors"]["severe"] == ["Resource [cache] configuration is not valid"]
    status, error = await put_api(http, apim, body, dryRun=False)
    assert status == 400
    assert error["technicalCode"] == "invalid"
    assert error["message"] == (
        "Unable to import because of errors [Resource [cache] configuration is not valid]"
    )
    assert error["httpStatus"] == 400
    assert apim.state.apis == {}


async def test_warnings_are_sorted_and_do_not_block(apim, http):
    body = bodies.v4_api(categories=["zeta", "alpha"], groups=["devs"],
                         members=[{"source": "gravitee", "sourceId": "ghost", "role": "USER"}])
    status, state = await put_api(http, apim, body)
    assert status == 200
    assert state["errors"]["severe"] == []
    assert state["errors"]["warning"] == sorted([
        "category [zeta] is not defined in environment [DEFAULT]",
        "category [alpha] is not defined in environment [DEFAULT]",
        "Group [devs] could not be found in environment [DEFAULT]",
        "member [ghost] of source [gravitee] could not be found in organization [DEFAULT]",
    ])
    assert apim.state.api(API_ID) is not None
    apim.state.add_category("alpha")
    apim.state.add_category("zeta")
    _, state = await put_api(http, apim, body)
    assert not any("category" in w for w in state["errors"]["warning"])


async def test_duplicate_plan_or_page_hrids_are_400(apim, http):
    plan = bodies.v4_api()["plans"][0]
    status, error = await put_api(http, apim, bodies.v4_api(plans=[plan, plan]))
    assert status == 400
    assert error["message"] == "Duplicate hrid found in plans"
    page = {"hrid": "doc", "name": "doc", "type": "MARKDOWN", "content": "# hi"}
    status, error = await put_api(http, apim, bodies.v4_api(pages=[page, page]))
    assert status == 400
    assert error["message"] == "Duplicate hrid found in pages"
    assert apim.state.apis == {}


async def test_deploy_only_when_management_started_and_a_published_plan(apim, http):
    await put_api(http, apim, bodies.v4_api())
    assert apim.state.api(API_ID).deployments == 1
    kubernetes = bodies.v4_api(definitionContext={"origin": "KUBERNETES",
                                                  "syncFrom": "KUBERNETES"})
    await put_api(http, apim, kubernetes)
    assert apim.state.api(API_ID).deployments == 1
    assert apim.state.api(API_ID).sync_from == "KUBERNETES"
    await put_api(http, apim, bodies.v4_api(state="STOPPED"))
    assert apim.state.api(API_ID).deployments == 1
    staging = bodies.v4_api()
    staging["plans"][0]["status"] = "STAGING"
    await put_api(http, apim, staging)
    assert apim.state.api(API_ID).deployments == 1
    await put_api(http, apim, bodies.v4_api())
    assert apim.state.api(API_ID).deployments == 2


# Lower-case "stopped" is off the file's enum: APIM matches enums case-insensitively.
@pytest.mark.no_contract_check
async def test_state_started_and_stopped_is_recorded(apim, http):
    _, state = await put_api(http, apim, bodies.v4_api(state="stopped"))
    assert state["state"] == "STOPPED"
    assert apim.state.api(API_ID).state == "STOPPED"
    _, state = await put_api(http, apim, bodies.v4_api(state="STARTED"))
    assert apim.state.api(API_ID).state == "STARTED"


async def test_removed_plan_is_closed_after_its_subscriptions(apim, http):
    body = bodies.v4_api(plans=[bodies.v4_api()["plans"][0], bodies.api_key_plan()])
    await put_api(http, apim, body)
    async with http.put(apim.automation_url() + "/applications", json=bodies.application()) as r:
        assert r.status == 200
    async with http.put(apim.automation_url() + "/apis/default-my-api/subscriptions",
                        json=bodies.subscription()) as r:
        assert r.status == 200
        sub_id = (await r.json())["id"]
    plan_id = ids.child_id("DEFAULT", "DEFAULT", "default-my-api", "api-key")
    _, state = await put_api(http, apim, bodies.v4_api())
    assert [p["hrid"] for p in state["plans"]] == ["key-less"]
    assert apim.state.plan(plan_id).status == "CLOSED"
    assert apim.state.subscription(sub_id).status == "CLOSED"
    assert apim.state.plan(KEYLESS_PLAN_ID).status == "PUBLISHED"


async def test_user_cross_id_is_matched_for_updates(apim, http):
    body = bodies.v4_api(crossId="11111111-2222-3333-4444-555555555555")
    _, first = await put_api(http, apim, body)
    assert first["crossId"] == "11111111-2222-3333-4444-555555555555"
    _, second = await put_api(http, apim, body)
    assert first["id"] == second["id"]
    assert len(apim.state.apis) == 1


async def test_legacy_uuid_mode_uses_hrid_as_id_and_clears_it(apim, http):
    legacy_id = "0b5a3c1e-9d7f-4e2a-8b6c-1d3e5f7a9b0c"
    body = bodies.v4_api(hrid=legacy_id, crossId="a1b2c3d4-0000-4000-8000-000000000001")
    body["plans"][0]["id"] = "f0f0f0f0-0000-4000-8000-000000000002"
    status, state = await put_api(http, apim, body, hridContainsUUID=True)
    assert status == 200
    assert state["id"] == legacy_id
    assert state["crossId"] == "a1b2c3d4-0000-4000-8000-000000000001"
    assert "hrid" not in state
    assert state["plans"][0]["id"] == "f0f0f0f0-0000-4000-8000-000000000002"
    async with http.get(apim.automation_url() + f"/apis/{legacy_id}",
                        params={"hridContainsUUID": "true"}) as r:
        assert r.status == 200
    async with http.delete(apim.automation_url() + f"/apis/{legacy_id}",
                           params={"hridContainsUUID": "true"}) as r:
        assert r.status == 204
    assert apim.state.apis == {}


async def test_get_and_delete_by_hrid_and_404_hrid_not_found(apim, http):
    await put_api(http, apim, bodies.v4_api())
    async with http.get(apim.automation_url() + "/apis/default-my-api") as r:
        assert r.status == 200
        assert (await r.json())["id"] == API_ID
    async with http.delete(apim.automation_url() + "/apis/default-my-api",
                           params={"hridContainsUUID": "false"}) as r:
        assert r.status == 204
    assert apim.state.plan(KEYLESS_PLAN_ID).status == "CLOSED"
    for method in ("GET", "DELETE"):
        async with http.request(method, apim.automation_url() + "/apis/default-my-api") as r:
            assert r.status == 404
            assert await r.json() == {
                "httpStatus": 404,
                "technicalCode": "hrid.notFound",
                "message": "HRID [default-my-api] cannot be found.",
                "parameters": {"hrid": "default-my-api"},
            }


async def test_pages_get_derived_ids_and_removed_pages_are_deleted(apim, http):
    page = {"hrid": "readme", "name": "Readme", "type": "MARKDOWN", "content": "# hi",
            "visibility": "PUBLIC"}
    _, state = await put_api(http, apim, bodies.v4_api(pages=[page]))
    page_id = ids.child_id("DEFAULT", "DEFAULT", "default-my-api", "readme")
    assert state["pages"][0]["id"] == page_id
    assert apim.state.pages[("DEFAULT", "DEFAULT", page_id)].name == "Readme"
    await put_api(http, apim, bodies.v4_api())
    assert ("DEFAULT", "DEFAULT", page_id) not in apim.state.pages


async def test_v2_read_back_and_export(apim, http):
    await put_api(http, apim, bodies.v4_api())
    async with http.get(apim.v2_url() + f"/apis/{API_ID}") as r:
        assert r.status == 200
        api = await r.json()
    assert api["definitionVersion"] == "V4"
    assert api["crossId"] == API_CROSS_ID
    assert api["state"] == "STARTED"
    assert api["definitionContext"]["syncFrom"] == "MANAGEMENT"
    assert api["deployedAt"].endswith("Z")
    async with http.get(apim.v2_url() + f"/apis/{API_ID}/_export/crd") as r:
        assert r.status == 200
        assert r.content_type == "application/x-yaml"
        import yaml

        manifest = yaml.safe_load(await r.text())
    assert manifest["kind"] == "ApiV4Definition"
    assert manifest["metadata"]["name"] == "my api"
    assert manifest["spec"]["plans"]["key-less"]["id"] == KEYLESS_PLAN_ID
    assert manifest["spec"]["id"] == API_ID
    async with http.get(apim.v2_url() + "/apis/nope") as r:
        assert r.status == 404
        assert (await r.json())["httpStatus"] == 404


async def test_v2_plan_read_back_lists_closed_plans_on_request(apim, http):
    body = bodies.v4_api(plans=[bodies.v4_api()["plans"][0], bodies.api_key_plan()])
    await put_api(http, apim, body)
    await put_api(http, apim, bodies.v4_api())  # the api-key plan leaves the spec
    async with http.get(apim.v2_url() + f"/apis/{API_ID}/plans") as r:
        published = (await r.json())["data"]
    assert [(p["id"], p["status"]) for p in published] == [(KEYLESS_PLAN_ID, "PUBLISHED")]
    assert published[0]["security"] == {"type": "KEY_LESS"}
    async with http.get(apim.v2_url() + f"/apis/{API_ID}/plans",
                        params={"statuses": "CLOSED"}) as r:
        closed = (await r.json())["data"]
    assert [p["status"] for p in closed] == ["CLOSED"]
    assert closed[0]["closedAt"].endswith("Z")
    async with http.get(apim.v2_url() + f"/apis/{API_ID}/plans/{KEYLESS_PLAN_ID}") as r:
        assert (await r.json())["apiId"] == API_ID
    async with http.get(apim.v2_url() + f"/apis/{API_ID}/plans/unknown") as r:
        assert r.status == 404

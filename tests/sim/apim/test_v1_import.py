"""v1 ``import-crd`` for v2 APIs, with its read-backs, export and delete."""

import yaml

from . import bodies

CROSS_ID = "5fb2ddf1-9f4c-4bfa-b2dd-f19f4c6bfa11"
API_ID = "e0e9d3d6-4f0a-4a8f-a9d3-d64f0a5a8f11"
PLAN_CROSS_ID = "3c7f0a52-1b7e-4b0c-bf0a-521b7e8b0c11"
PLAN_ID = "8b1d7a0e-37a4-4c8e-9d7a-0e37a4bc8e11"


async def import_crd(http, apim, body, dry_run=False):
    async with http.put(apim.v1_url() + "/apis/import-crd", json=body,
                        params={"dryRun": str(dry_run).lower()}) as r:
        return r.status, await r.json()


async def test_import_creates_with_body_ids_and_keys_plans_by_cross_id(apim, http):
    status, result = await import_crd(http, apim, bodies.v2_api())
    assert status == 200
    assert result == {
        "id": API_ID,
        "crossId": CROSS_ID,
        "organizationId": "DEFAULT",
        "environmentId": "DEFAULT",
        "state": "STARTED",
        "plans": {PLAN_CROSS_ID: PLAN_ID},
        "errors": {"severe": [], "warning": []},
    }
    api = apim.state.api(API_ID)
    assert api.definition_version == "V2"
    assert api.deployments == 1


async def test_import_matches_by_cross_id_and_keeps_the_stored_ids(apim, http):
    await import_crd(http, apim, bodies.v2_api())
    # Another cluster sends the same crossId with a different id (e.g. metadata.uid).
    other = bodies.v2_api(api_id="99999999-9999-4999-8999-999999999999", name="renamed")
    other["plans"][0]["id"] = "77777777-7777-4777-8777-777777777777"
    _, result = await import_crd(http, apim, other)
    assert result["id"] == API_ID
    assert result["plans"] == {PLAN_CROSS_ID: PLAN_ID}
    assert len(apim.state.apis) == 1
    assert apim.state.api(API_ID).name == "renamed"


async def test_import_is_idempotent(apim, http):
    first = await import_crd(http, apim, bodies.v2_api())
    second = await import_crd(http, apim, bodies.v2_api())
    assert first == second
    assert apim.state.counts()["apis"] == 1
    assert apim.state.counts()["plans"] == 1


async def test_dry_run_stores_nothing_and_returns_empty_plans(apim, http):
    status, result = await import_crd(http, apim, bodies.v2_api(), dry_run=True)
    assert status == 200
    assert result["plans"] == {}
    assert result["id"] == API_ID
    assert apim.state.apis == {}


async def test_severe_errors_are_400_with_the_validation_result_as_body(apim, http):
    body = bodies.v2_api(resources=[{"name": "r", "type": "cache", "configuration": 3}],
                         categories=["nope"])
    status, result = await import_crd(http, apim, body, dry_run=True)
    assert status == 200
    assert result["errors"] == {
        "severe": ["Resource [r] configuration is not valid"],
        "warning": ["category [nope] is not defined in environment [DEFAULT]"],
    }
    status, result = await import_crd(http, apim, body)
    assert status == 400
    assert result == {
        "severe": ["Resource [r] configuration is not valid"],
        "warning": ["category [nope] is not defined in environment [DEFAULT]"],
    }
    assert apim.state.apis == {}


async def test_deploy_only_when_sync_from_management(apim, http):
    local = bodies.v2_api(definition_context={"origin": "kubernetes", "mode": "fully_managed",
                                              "syncFrom": "kubernetes"})
    await import_crd(http, apim, local)
    assert apim.state.api(API_ID).deployments == 0
    assert apim.state.api(API_ID).sync_from == "KUBERNETES"
    await import_crd(http, apim, bodies.v2_api())
    assert apim.state.api(API_ID).deployments == 1


async def test_state_is_recorded(apim, http):
    _, result = await import_crd(http, apim, bodies.v2_api(state="STOPPED"))
    assert result["state"] == "STOPPED"
    async with http.get(apim.v1_url() + f"/apis/{API_ID}") as r:
        entity = await r.json()
    assert entity["state"] == "STOPPED"
    assert entity["definition_context"] == {"origin": "kubernetes", "mode": "fully_managed",
                                            "syncFrom": "MANAGEMENT"}
    assert isinstance(entity["deployed_at"], int)  # v1 writes epoch milliseconds
    assert entity["plans"][0]["id"] == PLAN_ID


async def test_list_by_cross_id(apim, http):
    await import_crd(http, apim, bodies.v2_api())
    async with http.get(apim.v1_url() + "/apis", params={"crossId": CROSS_ID}) as r:
        items = await r.json()
    assert [i["id"] for i in items] == [API_ID]
    async with http.get(apim.v1_url() + "/apis", params={"crossId": "unknown"}) as r:
        assert await r.json() == []


async def test_removed_plan_is_closed(apim, http):
    body = bodies.v2_api()
    extra = dict(body["plans"][0], id="aaaaaaaa-0000-4000-8000-000000000001",
                 crossId="bbbbbbbb-0000-4000-8000-000000000001", name="second")
    body["plans"].append(extra)
    await import_crd(http, apim, body)
    _, result = await import_crd(http, apim, bodies.v2_api())
    assert list(result["plans"]) == [PLAN_CROSS_ID]
    assert apim.state.plan("aaaaaaaa-0000-4000-8000-000000000001").status == "CLOSED"


async def test_delete_closes_plans_and_404_afterwards(apim, http):
    await import_crd(http, apim, bodies.v2_api())
    async with http.delete(apim.v1_url() + f"/apis/{API_ID}") as r:
        assert r.status == 400  # plans still open and closePlans not asked
    async with http.delete(apim.v1_url() + f"/apis/{API_ID}",
                           params={"closePlans": "true"}) as r:
        assert r.status == 204
    assert apim.state.plan(PLAN_ID).status == "CLOSED"
    async with http.get(apim.v1_url() + f"/apis/{API_ID}") as r:
        assert r.status == 404
        body = await r.json()
    assert body["http_status"] == 404
    assert "status" not in body
    async with http.delete(apim.v1_url() + f"/apis/{API_ID}",
                           params={"closePlans": "true"}) as r:
        assert r.status == 404


async def test_export_crd_yaml(apim, http):
    await import_crd(http, apim, bodies.v2_api())
    async with http.get(apim.v1_url() + f"/apis/{API_ID}/crd",
                        params={"managementContextName": "dev-ctx"}) as r:
        assert r.status == 200
        assert r.content_type == "application/yaml"
        manifest = yaml.safe_load(await r.text())
    assert manifest["apiVersion"] == "gravitee.io/v1alpha1"
    assert manifest["kind"] == "ApiDefinition"
    assert manifest["spec"]["crossId"] == CROSS_ID
    assert manifest["spec"]["plans"][0]["id"] == PLAN_ID
    assert manifest["spec"]["contextRef"] == {"name": "dev-ctx", "namespace": "default"}
    async with http.get(apim.v1_url() + f"/apis/{API_ID}/crd",
                        params={"removeIds": "true"}) as r:
        manifest = yaml.safe_load(await r.text())
    assert "id" not in manifest["spec"]
    assert "id" not in manifest["spec"]["plans"][0]


async def test_console_setup_calls_make_references_known(apim, http):
    async with http.post(apim.v1_url() + "/configuration/categories", json={"name": "cat"}) as r:
        assert r.status == 201
    async with http.post(apim.v1_url() + "/configuration/groups", json={"name": "devs"}) as r:
        assert r.status == 201
    _, result = await import_crd(http, apim, bodies.v2_api(categories=["cat"], groups=["devs"]))
    assert result["errors"]["warning"] == []


async def test_created_users_are_known_members(apim, http):
    member = {"source": "gravitee", "sourceId": "jane@example.com", "role": "USER"}
    _, result = await import_crd(http, apim, bodies.v2_api(members=[member]))
    assert result["errors"]["warning"] == [
        "member [jane@example.com] of source [gravitee] could not be found in "
        "organization [DEFAULT]"
    ]
    async with http.post(apim.url + "/management/organizations/DEFAULT/users",
                         json={"firstname": "Jane", "lastname": "Doe",
                               "email": "jane@example.com", "service": False}) as r:
        assert r.status == 201
        user = await r.json()
    _, result = await import_crd(http, apim, bodies.v2_api(members=[member]))
    assert result["errors"]["warning"] == []
    by_id = dict(member, sourceId=user["id"])
    _, result = await import_crd(http, apim, bodies.v2_api(members=[by_id]))
    assert result["errors"]["warning"] == []
    async with http.post(apim.url + "/management/organizations/NOPE/users",
                         json={"email": "x@example.com"}) as r:
        assert r.status == 400


async def test_each_export_endpoint_only_exports_its_definition_version(apim, http):
    await import_crd(http, apim, bodies.v2_api())
    async with http.put(apim.automation_url() + "/apis", json=bodies.v4_api()) as r:
        v4_id = (await r.json())["id"]
    async with http.get(apim.v1_url() + f"/apis/{v4_id}/crd") as r:
        assert r.status == 400
        assert (await r.json())["http_status"] == 400
    async with http.get(apim.v2_url() + f"/apis/{API_ID}/_export/crd") as r:
        assert r.status == 400
        assert (await r.json())["httpStatus"] == 400

"""Typed calls per APIM resource family, against the simulator over loopback."""

import datetime

import pytest
import yaml

from controller.apim import (
    apis_v2,
    apis_v4,
    applications,
    dictionaries,
    groups,
    ids,
    portals,
    shared_policy_groups,
    subscriptions,
)
from controller.apim.errors import ApimError, ErrorKind

from .helpers import client_for, v2_api, v4_api

V1 = "/management/organizations/DEFAULT/environments/DEFAULT"
AUTO = "/automation/organizations/DEFAULT/environments/DEFAULT"


def _app(hrid: str) -> dict[str, object]:
    return {
        "hrid": hrid,
        "name": hrid,
        "description": "an application",
        "settings": {"app": {"type": "simple", "clientId": f"client-{hrid}"}},
    }


# --- v2 APIs -----------------------------------------------------------------------------------


async def test_v2_import_dry_run_then_real_then_read_back_and_delete(apim):
    api_id = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
    cross_id = ids.default_cross_id("default", "my-api")
    plan_cross_id = ids.v2_plan_cross_id(api_id, "free")
    plan_id = ids.v2_plan_id(plan_cross_id, "free")
    body = v2_api(
        api_id,
        cross_id,
        plans=[
            {
                "id": plan_id,
                "crossId": plan_cross_id,
                "name": "free",
                "security": "KEY_LESS",
                "status": "PUBLISHED",
            }
        ],
    )
    async with client_for(apim.url) as client:
        dry = await apis_v2.import_api(client, body, dry_run=True)
        assert dry.id == api_id
        assert dry.plans == {}
        assert await apis_v2.find_apis_by_cross_id(client, cross_id) == []

        status = await apis_v2.import_api(client, body)
        assert (status.id, status.cross_id, status.state) == (api_id, cross_id, "STARTED")
        assert (status.organization_id, status.environment_id) == ("DEFAULT", "DEFAULT")
        assert status.plans == {plan_cross_id: plan_id}
        assert not status.errors

        assert (await apis_v2.get_api(client, api_id))["id"] == api_id
        found = await apis_v2.find_apis_by_cross_id(client, cross_id)
        assert [item["id"] for item in found] == [api_id]
        manifest = yaml.safe_load(await apis_v2.export_api_crd(client, api_id))
        assert manifest["kind"] == "ApiDefinition"

        # A YAML success body asked for as JSON is a clean, recoverable response error.
        with pytest.raises(ApimError) as info:
            await client.get_json(f"{client.urls.v1}/apis/{api_id}/crd")
        assert info.value.kind is ErrorKind.RESPONSE
        assert info.value.recoverable is True

        assert await apis_v2.delete_api(client, api_id) is True
        assert await apis_v2.delete_api(client, api_id) is False  # 404 on delete is success
    queries = [(e.method, e.path, e.query) for e in apim.requests.entries]
    assert ("PUT", f"{V1}/apis/import-crd", {"dryRun": "true"}) in queries
    assert ("PUT", f"{V1}/apis/import-crd", {"dryRun": "false"}) in queries
    assert ("DELETE", f"{V1}/apis/{api_id}", {"closePlans": "true"}) in queries


async def test_v2_import_with_severe_errors(apim):
    api_id = "6f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
    body = v2_api(api_id, ids.uuid_from_strings("x"), resources=[{"name": "cache"}])
    async with client_for(apim.url) as client:
        dry = await apis_v2.import_api(client, body, dry_run=True)
        assert dry.errors.severe == ("Resource [cache] configuration is not valid",)
        with pytest.raises(ApimError) as info:
            await apis_v2.import_api(client, body)
    assert info.value.status == 400
    assert info.value.recoverable is False
    assert info.value.severe_errors == ("Resource [cache] configuration is not valid",)


async def test_v2_warnings_do_not_block(apim):
    body = v2_api("7f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "c", categories=["nope"])
    async with client_for(apim.url) as client:
        status = await apis_v2.import_api(client, body)
    assert status.errors.warning == ("category [nope] is not defined in environment [DEFAULT]",)


# --- v4 APIs -----------------------------------------------------------------------------------


async def test_v4_hrid_mode_upsert_get_export_delete(apim):
    hrid = ids.hrid("default", "my-api")
    async with client_for(apim.url) as client:
        dry = await apis_v4.upsert_api(client, v4_api(hrid), dry_run=True)
        assert dry.hrid == hrid
        state = await apis_v4.upsert_api(client, v4_api(hrid))
        assert state.id == ids.apim_id("DEFAULT", "DEFAULT", hrid)
        assert state.cross_id == ids.apim_cross_id("DEFAULT", hrid)
        assert (state.organization_id, state.environment_id) == ("DEFAULT", "DEFAULT")
        assert state.state == "STARTED"
        assert set(state.plans) == {"key-less"}
        again = await apis_v4.get_api(client, hrid)
        assert again.id == state.id
        assert (await apis_v4.get_api_by_id(client, state.id))["id"] == state.id
        manifest = yaml.safe_load(await apis_v4.export_api_crd(client, state.id))
        assert manifest["kind"] == "ApiV4Definition"
        assert await apis_v4.delete_api(client, hrid) is True
        assert await apis_v4.delete_api(client, hrid) is False
        with pytest.raises(ApimError) as info:
            await apis_v4.get_api(client, hrid)
        assert info.value.is_not_found
        assert info.value.recoverable is True
    puts = apim.requests.find(method="PUT")
    assert [e.query for e in puts] == [{"dryRun": "true"}, {"dryRun": "false"}]
    deletes = apim.requests.find(method="DELETE")
    assert [(e.path, e.query) for e in deletes] == [
        (f"{AUTO}/apis/{hrid}", {"hridContainsUUID": "false"}),
    ] * 2


async def test_v4_legacy_uuid_mode(apim):
    api_id = "8a0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
    body = v4_api(api_id, crossId=ids.default_cross_id("default", "old-api"))
    async with client_for(apim.url) as client:
        state = await apis_v4.upsert_api(client, body, hrid_contains_uuid=True)
        assert state.id == api_id
        assert (await apis_v4.get_api(client, api_id, hrid_contains_uuid=True)).id == api_id
        assert await apis_v4.delete_api(client, api_id, hrid_contains_uuid=True) is True
    put = apim.requests.find(method="PUT")[0]
    assert put.query == {"dryRun": "false", "hridContainsUUID": "true"}
    delete = apim.requests.find(method="DELETE")[0]
    assert delete.query == {"hridContainsUUID": "true"}


async def test_v4_duplicate_plan_hrids_are_a_terminal_400(apim):
    plan = {"hrid": "p", "name": "p", "security": {"type": "KEY_LESS"}, "status": "PUBLISHED"}
    async with client_for(apim.url) as client:
        with pytest.raises(ApimError) as info:
            await apis_v4.upsert_api(client, v4_api("default-dup", plans=[plan, plan]))
    assert info.value.status == 400
    assert info.value.message == "Duplicate hrid found in plans"
    assert info.value.recoverable is False


# --- applications, subscriptions ---------------------------------------------------------------


async def test_applications_and_subscriptions(apim):
    api_hrid = ids.hrid("default", "sub-api")
    app_hrid = ids.hrid("default", "my-app")
    sub_hrid = ids.hrid("default", "my-sub")
    async with client_for(apim.url) as client:
        # Subscriptions need a plan with security: APIM refuses KEY_LESS ones.
        keyed_plan = {
            "hrid": "api-key",
            "name": "keyed",
            "security": {"type": "API_KEY"},
            "status": "PUBLISHED",
            "type": "API",
            "validation": "AUTO",
        }
        api = v4_api(api_hrid)
        api["plans"] = [*api["plans"], keyed_plan]
        await apis_v4.upsert_api(client, api)
        app = await applications.upsert_application(client, _app(app_hrid))
        assert app.id == ids.apim_id("DEFAULT", "DEFAULT", app_hrid)
        assert (await applications.get_application(client, app_hrid)).id == app.id

        sub = await subscriptions.upsert_subscription(
            client,
            api_hrid,
            {
                "hrid": sub_hrid,
                "applicationHrid": app_hrid,
                "planHrid": "api-key",
                "apiHrid": api_hrid,
                "status": "",
                "startingAt": "",
                "endingAt": "2030-01-01T00:00:00Z",
            },
        )
        assert sub.id == ids.apim_child_id("DEFAULT", "DEFAULT", api_hrid, sub_hrid)
        assert isinstance(sub.starting_at, datetime.datetime)
        assert sub.starting_at.tzinfo is not None
        assert sub.ending_at == datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
        read = await subscriptions.get_subscription(client, api_hrid, sub_hrid)
        assert read.id == sub.id
        assert await subscriptions.delete_subscription(client, api_hrid, sub_hrid) is True
        assert await applications.delete_application(client, app_hrid) is True
        assert await applications.delete_application(client, app_hrid) is False
    put_sub = apim.requests.find(method="PUT", path_prefix=f"{AUTO}/apis/{api_hrid}/subs")[0]
    assert put_sub.query == {
        "hridContainsApiUUID": "false",
        "hridContainsAppUUID": "false",
        "hridContainsUUID": "false",
    }
    delete_sub = apim.requests.find(method="DELETE", path_prefix=f"{AUTO}/apis/")[0]
    assert delete_sub.query == {"hridContainsApiUUID": "false", "hridContainsUUID": "false"}


async def test_subscription_delete_of_a_missing_subscription_is_success(apim):
    api_hrid = "default-lonely-api"
    async with client_for(apim.url) as client:
        await apis_v4.upsert_api(client, v4_api(api_hrid))
        assert await subscriptions.delete_subscription(client, api_hrid, "default-gone") is False


async def test_application_legacy_mode(apim):
    app_id = "9b0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
    async with client_for(apim.url) as client:
        app = await applications.upsert_application(client, _app(app_id), hrid_contains_uuid=True)
        assert app.id == app_id
        assert await applications.delete_application(client, app_id, hrid_contains_uuid=True)
    assert apim.requests.find(method="PUT")[0].query == {
        "dryRun": "false",
        "hridContainsUUID": "true",
    }


def test_rfc3339_parsing():
    assert subscriptions.parse_rfc3339("2026-11-21T06:00:00.123Z").microsecond == 123000
    with pytest.raises(ValueError, match="timezone"):
        subscriptions.parse_rfc3339("2026-11-21T06:00:00")
    with pytest.raises(ValueError):
        subscriptions.parse_rfc3339("")


# --- groups, shared policy groups, dictionaries ------------------------------------------------


async def test_groups(apim):
    hrid = ids.hrid("default", "devs")
    members = [{"source": "memory", "sourceId": "admin", "roles": {"API": "USER"}}]
    async with client_for(apim.url) as client:
        group = await groups.upsert_group(
            client, {"hrid": hrid, "name": "devs", "members": members}
        )
        assert group.id == ids.apim_id("DEFAULT", "DEFAULT", hrid)
        assert group.member_count == 1
        assert (await groups.get_group(client, hrid)).id == group.id
        assert await groups.delete_group(client, hrid) is True
        assert await groups.delete_group(client, hrid) is False


async def test_shared_policy_groups(apim):
    hrid = ids.hrid("default", "spg")
    spec = {"hrid": hrid, "name": "spg", "apiType": "PROXY", "phase": "REQUEST", "steps": []}
    async with client_for(apim.url) as client:
        spg = await shared_policy_groups.upsert_shared_policy_group(client, spec)
        assert spg.id == ids.apim_id("DEFAULT", "DEFAULT", hrid)
        assert spg.cross_id == ids.apim_cross_id("DEFAULT", hrid)
        read = await shared_policy_groups.get_shared_policy_group(client, hrid)
        assert read.id == spg.id
        assert await shared_policy_groups.delete_shared_policy_group(client, hrid) is True
        assert await shared_policy_groups.delete_shared_policy_group(client, hrid) is False


async def test_dictionaries(apim):
    spec = {"hrid": "default-dict", "name": "d", "type": "MANUAL", "properties": {"k": "v"}}
    async with client_for(apim.url) as client:
        record = await dictionaries.upsert_dictionary(client, spec)
        assert record.id == ids.apim_id("DEFAULT", "DEFAULT", "default-dict")
        assert (await dictionaries.get_dictionary(client, "default-dict")).id == record.id
        assert await dictionaries.delete_dictionary(client, "default-dict") is True
        assert await dictionaries.delete_dictionary(client, "default-dict") is False


async def test_portal_objects_under_their_parents(apim):
    Parent = portals.Parent
    async with client_for(apim.url) as client:
        await apis_v4.upsert_api(client, v4_api("default-my-api"))
        portal = await portals.upsert(client, Parent.environment(),
                                      {"hrid": "default-p", "name": "P"})
        assert portal.id == ids.apim_id("DEFAULT", "DEFAULT", "default-p")
        link = Parent.portal("default-p", "links")
        state = await portals.upsert(client, link, {"hrid": "l", "name": "L", "href": "https://x"},
                                     dry_run=True)
        assert state.hrid == "l"
        with pytest.raises(ApimError):  # the dry run stored nothing
            await portals.get(client, link, "l")
        await portals.upsert(client, link, {"hrid": "l", "name": "L", "href": "https://x"})
        assert (await portals.get(client, link, "l")).raw["portalHrid"] == "default-p"
        page = Parent.api("default-my-api")
        await portals.upsert(client, page, {"hrid": "d", "name": "D", "type": "OPENAPI",
                                            "content": "{}"})
        assert (await portals.get(client, page, "d")).raw["apiHrid"] == "default-my-api"
        assert await portals.delete(client, page, "d") is True
        assert await portals.delete(client, page, "d") is False
        assert await portals.delete(client, Parent.environment(), "default-p") is True
        # The portal took its link along; a child of a gone portal counts as deleted.
        assert await portals.delete(client, link, "l") is False


@pytest.mark.parametrize("path", ["portals", "portals/p/listings", "portals/p/documentations",
                                  "portals/p/links", "apis/a/documentations"])
def test_portal_parent_paths_round_trip(path):
    assert portals.Parent.parse(path).path == path


@pytest.mark.parametrize("path", ["", "apis", "portals/p", "portals//links", "apis/a/links",
                                  "portals/p/pages"])
def test_portal_parent_parse_refuses_other_paths(path):
    with pytest.raises(ValueError):
        portals.Parent.parse(path)

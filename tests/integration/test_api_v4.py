"""ApiV4Definition end to end (docs/behavior/api-v4.md; upstream's v4 controller scenarios).

The operator runs in-process against the Kubernetes API emulator and the APIM simulator; every
assertion reads what a user or a gateway would see: conditions, events, ConfigMaps, and what
APIM stored and was asked (the simulator's state and request log).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from controller.kube.kinds import (
    API_RESOURCES,
    API_V4_DEFINITIONS,
    CONFIG_MAPS,
    MANAGEMENT_CONTEXTS,
)
from controller.kube.rest import request_json
from sim.apim.testing import RunningSimulator, start_simulator
from sim.kubeapi.testing import RunningEmulator, start_emulator
from tests.integration.harness import (
    Env,
    api_resource,
    configmap,
    context,
    missing_ref,
    operator_env,
    secret,
    v4_api,
    wait_for,
    wait_idle,
)
from tests.integration.v4_helpers import (
    RESOURCE_EXAMPLES,
    V4_EXAMPLES,
    conditions_by_type,
    get_configmap,
    last_upsert,
    load_yaml,
    seed,
    upserts_of,
    upstream_uuid,
    wait_configmap,
    wait_events,
)

NS = "team"
TWO_PLANS = {
    "free": {"name": "Free", "security": {"type": "KEY_LESS"}},
    "keyed": {"name": "Keyed", "security": {"type": "API_KEY"}},
}


async def accepted_api(env: Env, name: str, **spec: Any) -> dict[str, Any]:
    """Create a context (once) and a v4 API, wait for Accepted=True, return the live object."""
    if await env.get(MANAGEMENT_CONTEXTS, "apim") is None:
        await env.create(context("apim", env.apim))
        # Settled first, so the context's own events cannot re-trigger the API.
        await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(v4_api(name, **spec))
    await env.wait_condition(API_V4_DEFINITIONS, name)
    obj: dict[str, Any] = await env.get(API_V4_DEFINITIONS, name)
    return obj


def local(**extra: Any) -> dict[str, Any]:
    return {"definitionContext": {"origin": "KUBERNETES", "syncFrom": "KUBERNETES"}, **extra}


# -- HRID mode ------------------------------------------------------------------------------------


async def test_hrid_mode_upsert_sends_hrids_and_fills_status(env: Env):
    plans = {
        "key-less": {"name": "Free", "security": {"type": "KEY_LESS"}},
        "Gold Plan.v2": {"name": "Gold", "security": {"type": "API_KEY"}},
    }
    obj = await accepted_api(env, "petstore", plans=plans)

    record = env.apim.state.api_by_hrid("team-petstore")
    assert record is not None
    assert record.hrid == "team-petstore"
    status = obj["status"]
    assert status["id"] == record.id
    assert status["crossId"] == record.cross_id
    assert status["organizationId"] == "DEFAULT"
    assert status["environmentId"] == "DEFAULT"
    assert status["state"] == "STARTED"
    assert status["processingStatus"] == "Completed"
    apim_plans = {p.hrid: p.id for p in env.apim.state.plans_of(record)}
    # Plan map keys become HRIDs with spaces and dots replaced by dashes (docs/behavior/ids.md).
    assert set(apim_plans) == {"key-less", "Gold-Plan-v2"}
    assert status["plans"] == apim_plans

    conditions = conditions_by_type(obj)
    managed = conditions["AutomationAPIManaged"]
    assert (managed["status"], managed["reason"], managed["message"]) == (
        "True",
        "AutomationAPIManaged",
        "",
    )
    assert managed["observedGeneration"] == obj["metadata"]["generation"]
    accepted = conditions["Accepted"]
    assert (accepted["status"], accepted["reason"], accepted["message"]) == (
        "True",
        "Accepted",
        "Successfully reconciled",
    )
    resolved = conditions["ResolvedRefs"]
    assert (resolved["status"], resolved["reason"], resolved["message"]) == (
        "True",
        "ResolvedRefs",
        "All References successfully resolved",
    )

    put = last_upsert(env, "team-petstore")
    assert put.path == "/automation/organizations/DEFAULT/environments/DEFAULT/apis"
    assert put.query.get("dryRun") == "false"
    assert put.query.get("hridContainsUUID", "false") == "false"
    body = put.body
    assert "contextRef" not in body
    assert isinstance(body["plans"], list)
    assert sorted(p["hrid"] for p in body["plans"]) == ["Gold-Plan-v2", "key-less"]
    # HRID mode sends no generated UUIDs (docs/behavior/ids.md#v4-apis).
    assert "id" not in body
    assert all("id" not in p for p in body["plans"])
    assert body["definitionContext"] == {"origin": "KUBERNETES", "syncFrom": "MANAGEMENT"}


async def test_update_keeps_identity_and_closes_removed_plans(env: Env):
    obj = await accepted_api(env, "orders", plans=TWO_PLANS)
    first_id = obj["status"]["id"]
    keyed_id = obj["status"]["plans"]["keyed"]
    mark = env.apim.requests.mark()
    await env.patch(
        API_V4_DEFINITIONS, "orders", {"spec": {"description": "v2", "plans": {"keyed": None}}}
    )
    await env.wait_condition(API_V4_DEFINITIONS, "orders")
    obj = await env.get(API_V4_DEFINITIONS, "orders")
    assert obj["metadata"]["generation"] == 2
    assert conditions_by_type(obj)["Accepted"]["observedGeneration"] == 2
    assert obj["status"]["id"] == first_id
    put = last_upsert(env, "team-orders", since=mark)
    assert put.body["description"] == "v2"
    assert [p["hrid"] for p in put.body["plans"]] == ["free"]
    record = env.apim.state.api(first_id)
    assert record is not None
    assert record.spec["description"] == "v2"
    closed = env.apim.state.plan(keyed_id)
    assert closed is not None
    assert closed.status == "CLOSED"
    assert len(env.apim.state.apis_in()) == 1


async def test_removed_plan_leaves_status_plans_too(env: Env):
    await accepted_api(env, "orders", plans=TWO_PLANS)
    await env.patch(API_V4_DEFINITIONS, "orders", {"spec": {"plans": {"keyed": None}}})
    await env.wait_condition(API_V4_DEFINITIONS, "orders")
    obj = await env.get(API_V4_DEFINITIONS, "orders")
    assert set(obj["status"]["plans"]) == {"free"}


# -- legacy UUID mode -----------------------------------------------------------------------------


async def test_legacy_uuid_mode_for_objects_with_status_id_and_no_condition(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    legacy_id = "5d1f1b6e-7a42-4c1e-9d7b-00000000beef"
    legacy_plan_id = "9a0c3e55-1f2b-4c3d-8e9f-00000000cafe"
    manifest = v4_api("legacy")
    # Upgrade path: a pre-4.12 operator left a UUID in status and no AutomationAPIManaged, and
    # the API it created in APIM (with its plan) is known by that UUID only.
    basic = {"Authorization": aiohttp.encode_basic_auth("admin", "admin")}
    async with aiohttp.ClientSession(headers=basic) as http:
        body = {
            "hrid": legacy_id,
            "name": "legacy",
            "version": "1.0",
            "type": "PROXY",
            "crossId": upstream_uuid("team/legacy"),
            "plans": [
                {
                    "hrid": "key-less",
                    "id": legacy_plan_id,
                    "name": "Free",
                    "security": {"type": "KEY_LESS"},
                }
            ],
        }
        async with http.put(
            apim.automation_url() + "/apis",
            params={"dryRun": "false", "hridContainsUUID": "true"},
            json=body,
        ) as response:
            assert response.status == 200
    await seed(kubeapi, context("apim", apim), namespace=NS)
    await seed(
        kubeapi,
        manifest,
        namespace=NS,
        status={
            "id": legacy_id,
            "processingStatus": "Completed",
            "plans": {"key-less": legacy_plan_id},
        },
    )
    mark = apim.requests.mark()
    async with operator_env(kubeapi, apim) as env:
        await env.wait_condition(API_V4_DEFINITIONS, "legacy")
        obj = await env.get(API_V4_DEFINITIONS, "legacy")
        put = last_upsert(env, legacy_id, since=mark)
        assert put.query["hridContainsUUID"] == "true"
        assert put.query["dryRun"] == "false"
        assert put.body["id"] == legacy_id
        # Legacy ids: crossId = uuid("<ns>/<name>"), plan ids from status.plans
        # (docs/behavior/ids.md#v4-apis).
        assert put.body["crossId"] == upstream_uuid("team/legacy")
        (plan,) = put.body["plans"]
        assert plan["hrid"] == "key-less"
        assert plan["id"] == legacy_plan_id
        # The same record was updated: no duplicate API, no closed-and-recreated plan.
        (record,) = env.apim.state.apis_in()
        assert record.id == legacy_id
        assert record.hrid is None
        assert [p.id for p in env.apim.state.plans_of(record)] == [legacy_plan_id]
        assert env.apim.state.api_by_hrid("team-legacy") is None
        assert obj["status"]["id"] == legacy_id
        assert obj["status"]["plans"] == {"key-less": legacy_plan_id}
        assert "AutomationAPIManaged" not in conditions_by_type(obj)

        # Still UUID-addressed on the next change, and deleted by UUID.
        mark = env.apim.requests.mark()
        await env.patch(API_V4_DEFINITIONS, "legacy", {"spec": {"description": "again"}})
        await env.wait_condition(API_V4_DEFINITIONS, "legacy")
        again = last_upsert(env, legacy_id, since=mark)
        assert again.query["hridContainsUUID"] == "true"
        assert "AutomationAPIManaged" not in conditions_by_type(
            await env.get(API_V4_DEFINITIONS, "legacy")
        )

        mark = env.apim.requests.mark()
        await env.delete(API_V4_DEFINITIONS, "legacy")
        await env.wait_gone(API_V4_DEFINITIONS, "legacy")
        delete, *repeats = env.apim.requests.find(method="DELETE", since=mark)
        assert {r.status for r in repeats} <= {404}
        assert delete.path.endswith(f"/apis/{legacy_id}")
        assert delete.query["hridContainsUUID"] == "true"
        assert delete.status == 204
        assert env.apim.state.api(legacy_id) is None


async def test_spec_id_selects_uuid_mode(env: Env):
    given = "0b9d3f0e-1111-4222-8333-444455556666"
    obj = await accepted_api(env, "exported", id=given)
    put = last_upsert(env, given)
    assert put.query["hridContainsUUID"] == "true"
    assert obj["status"]["id"] == given
    assert "AutomationAPIManaged" not in conditions_by_type(obj)
    assert env.apim.state.api(given) is not None


async def test_automation_api_managed_is_sticky_across_a_failure(env: Env):
    await accepted_api(env, "sticky")
    env.apim.faults.fail_next(1, method="PUT", path_prefix="/automation/", status=400)
    before = env.apim.requests.mark()
    await env.patch(API_V4_DEFINITIONS, "sticky", {"spec": {"description": "boom"}})
    failed = await env.wait_condition(API_V4_DEFINITIONS, "sticky", "False")
    # A 400 is not retried (docs/behavior/conditions-and-events.md#errors-and-retries): one
    # attempt, nothing parked for later.
    await wait_idle(env)
    assert [r.status for r in upserts_of(env, "team-sticky", since=before)] == [400]
    assert failed["reason"] == "ControlPlaneError"
    url = env.apim.automation_url() + "/apis"
    assert failed["message"].startswith(f"request [PUT] {url}?")
    assert "failed with status 400" in failed["message"]
    obj = await env.get(API_V4_DEFINITIONS, "sticky")
    conditions = conditions_by_type(obj)
    assert conditions["AutomationAPIManaged"]["status"] == "True"
    assert conditions["ResolvedRefs"]["status"] == "True"
    assert obj["status"]["processingStatus"] == "Failed"
    events = await wait_events(env, "sticky", ["UpdateFailed"])
    (warning,) = [e for e in events if e["reason"] == "UpdateFailed"]
    assert warning["type"] == "Warning"
    assert warning["message"] == failed["message"]

    # The next spec change goes out in HRID mode again.
    mark = env.apim.requests.mark()
    await env.patch(API_V4_DEFINITIONS, "sticky", {"spec": {"description": "fixed"}})
    await env.wait_condition(API_V4_DEFINITIONS, "sticky")
    put = last_upsert(env, "team-sticky", since=mark)
    assert put.query.get("hridContainsUUID", "false") == "false"
    obj = await env.get(API_V4_DEFINITIONS, "sticky")
    assert obj["status"]["processingStatus"] == "Completed"
    assert len(env.apim.state.apis_in()) == 1


# -- state, lifecycle -----------------------------------------------------------------------------


async def test_state_stopped_then_started_in_apim(env: Env):
    obj = await accepted_api(env, "toggle", state="STOPPED")
    record = env.apim.state.api_by_hrid("team-toggle")
    assert record is not None
    assert record.state == "STOPPED"
    assert obj["status"]["state"] == "STOPPED"
    assert not record.deployed
    put = last_upsert(env, "team-toggle")
    assert put.body["state"] == "STOPPED"

    await env.patch(API_V4_DEFINITIONS, "toggle", {"spec": {"state": "STARTED"}})

    async def started() -> Any:
        obj = await env.get(API_V4_DEFINITIONS, "toggle")
        return obj if (obj.get("status") or {}).get("state") == "STARTED" else None

    obj = await wait_for(started, what="status.state STARTED")
    record = env.apim.state.api_by_hrid("team-toggle")
    assert record is not None
    assert record.state == "STARTED"
    assert record.deployed
    # No separate start/deploy call exists for v4: the state travels in the upsert (7.4.5).
    assert not [r for r in env.apim.requests if "/deploy" in r.path or "action=" in r.path]


async def test_lifecycle_state_is_passed_to_apim(env: Env):
    await accepted_api(env, "published", lifecycleState="PUBLISHED")
    record = env.apim.state.api_by_hrid("team-published")
    assert record is not None
    assert record.lifecycle_state == "PUBLISHED"
    await env.patch(API_V4_DEFINITIONS, "published", {"spec": {"lifecycleState": "DEPRECATED"}})

    async def deprecated() -> bool:
        found = env.apim.state.api_by_hrid("team-published")
        return found is not None and found.lifecycle_state == "DEPRECATED"

    await wait_for(deprecated, what="lifecycleState DEPRECATED in APIM")


async def test_lifecycle_state_defaults_to_unpublished(env: Env):
    await accepted_api(env, "fresh")
    put = last_upsert(env, "team-fresh")
    assert put.body["lifecycleState"] == "UNPUBLISHED"
    assert put.body["state"] == "STARTED"


# -- syncFrom KUBERNETES: the gateway ConfigMap ---------------------------------------------------


def assert_gateway_configmap(
    configmap: dict[str, Any], *, name: str, uid: str, org: str, env_id: str
) -> dict[str, Any]:
    """The exact layout a gateway's Kubernetes sync reads (docs/behavior/local-configmaps.md);
    returns the definition."""
    metadata = configmap["metadata"]
    assert metadata["labels"]["managed-by"] == "gravitee.io"
    assert metadata["labels"]["gio-type"] == "apidefinitions.gravitee.io"
    assert metadata["ownerReferences"] == [
        {"apiVersion": "gravitee.io/v1alpha1", "kind": "ApiV4Definition", "name": name, "uid": uid}
    ]
    data = configmap["data"]
    assert set(data) == {"definition", "organizationId", "environmentId", "apiDefinitionVersion"}
    assert data["apiDefinitionVersion"] == "4.0.0"
    assert data["organizationId"] == org
    assert data["environmentId"] == env_id
    definition: dict[str, Any] = json.loads(data["definition"])
    return definition


async def test_sync_from_kubernetes_with_context_writes_configmap_and_apim(env: Env):
    obj = await accepted_api(
        env,
        "gw",
        plans={"Key Less": {"name": "Free", "security": {"type": "KEY_LESS"}}},
        flowExecution={"mode": "BEST_MATCH", "matchRequired": False},
        **local(),
    )
    status = obj["status"]
    configmap = await wait_configmap(env, "gw")
    definition = assert_gateway_configmap(
        configmap, name="gw", uid=obj["metadata"]["uid"], org="DEFAULT", env_id="DEFAULT"
    )
    # Gateway style: lowercase enums with dashes, plans as a list named by their key
    # (docs/behavior/local-configmaps.md#the-v4-gateway-definition).
    assert definition["definitionVersion"] == "4.0.0"
    assert definition["apiVersion"] == "1.0"
    assert definition["id"] == status["id"]
    assert definition["type"] == "proxy"
    assert definition["listeners"][0]["type"] == "http"
    assert definition["flowExecution"]["mode"] == "best-match"
    (plan,) = definition["plans"]
    assert plan["name"] == "Key Less"
    assert plan["security"]["type"] == "key-less"
    assert plan["id"] == status["plans"]["Key-Less"]
    assert definition["definitionContext"]["syncFrom"] == "KUBERNETES"

    record = env.apim.state.api_by_hrid("team-gw")
    assert record is not None
    assert record.id == status["id"]
    assert record.sync_from == "KUBERNETES"
    assert conditions_by_type(obj)["AutomationAPIManaged"]["status"] == "True"


async def test_sync_from_kubernetes_without_context_needs_no_apim(env: Env):
    await env.create(v4_api("solo", context_ref=None, **local()))
    await env.wait_condition(API_V4_DEFINITIONS, "solo")
    obj = await env.get(API_V4_DEFINITIONS, "solo")
    configmap = await wait_configmap(env, "solo")
    definition = assert_gateway_configmap(
        configmap, name="solo", uid=obj["metadata"]["uid"], org="DEFAULT", env_id="DEFAULT"
    )
    # Without a context: id = uuid(hrid), plan ids as in legacy mode (docs/behavior/ids.md#v4-apis).
    api_id = upstream_uuid("team-solo")
    assert definition["id"] == api_id
    (plan,) = definition["plans"]
    assert plan["id"] == upstream_uuid(api_id, "key-less")
    status = obj["status"]
    assert status["processingStatus"] == "Completed"
    assert "id" not in status
    assert "organizationId" not in status
    assert "AutomationAPIManaged" not in conditions_by_type(obj)
    assert len(env.apim.requests) == 0


async def test_stopped_local_api_has_no_configmap_until_started(env: Env):
    await env.create(v4_api("sleepy", context_ref=None, state="STOPPED", **local()))
    await env.wait_condition(API_V4_DEFINITIONS, "sleepy")
    await wait_idle(env)
    assert await get_configmap(env, "sleepy") is None

    await env.patch(API_V4_DEFINITIONS, "sleepy", {"spec": {"state": "STARTED"}})
    await wait_configmap(env, "sleepy")

    # Stopping a local API is deleting its ConfigMap (docs/behavior/local-configmaps.md).
    await env.patch(API_V4_DEFINITIONS, "sleepy", {"spec": {"state": "STOPPED"}})
    await env.wait_gone(CONFIG_MAPS, "sleepy")

    async def stopped() -> bool:
        obj = await env.get(API_V4_DEFINITIONS, "sleepy")
        return bool(obj["status"].get("state") == "STOPPED")

    await wait_for(stopped, what="status.state STOPPED")


async def test_switching_sync_from_to_management_deletes_the_configmap(env: Env):
    await accepted_api(env, "moving", **local())
    await wait_configmap(env, "moving")
    await env.patch(
        API_V4_DEFINITIONS,
        "moving",
        {"spec": {"definitionContext": {"origin": "KUBERNETES", "syncFrom": "MANAGEMENT"}}},
    )
    await env.wait_gone(CONFIG_MAPS, "moving")
    await env.wait_condition(API_V4_DEFINITIONS, "moving")

    async def synced_from_management() -> bool:
        record = env.apim.state.api_by_hrid("team-moving")
        return record is not None and record.sync_from == "MANAGEMENT"

    await wait_for(synced_from_management, what="APIM record synced from MANAGEMENT")


async def test_user_configmap_with_the_api_name_is_never_overwritten(env: Env):
    await env.create(configmap("mine", {"keep": "me"}))
    await env.create(v4_api("mine", context_ref=None, **local()))
    failed = await env.wait_condition(API_V4_DEFINITIONS, "mine", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"] == "configmap [team/mine] exists and is not managed by the operator"
    live = await get_configmap(env, "mine")
    assert live["data"] == {"keep": "me"}


# -- nowhere to go, illegal specs -----------------------------------------------------------------


async def test_no_context_and_sync_from_management_says_why(env: Env):
    await env.create(v4_api("lost", context_ref=None))
    failed = await env.wait_condition(API_V4_DEFINITIONS, "lost", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"] == (
        "the API has no contextRef and definitionContext.syncFrom is MANAGEMENT: it is neither "
        "synced to APIM nor deployed to a gateway ConfigMap"
    )
    events = await wait_events(env, "lost", ["UpdateStarted", "UpdateFailed"])
    (warning,) = [e for e in events if e["reason"] == "UpdateFailed"]
    assert warning["type"] == "Warning"
    assert warning["message"] == failed["message"]
    assert "UpdateSucceeded" not in [e["reason"] for e in events]
    obj = await env.get(API_V4_DEFINITIONS, "lost")
    assert obj["status"]["processingStatus"] == "Failed"
    assert len(env.apim.requests) == 0
    assert await get_configmap(env, "lost") is None


NO_PLANS = (
    "cannot apply API [{name}]. Its state is set to STARTED, but the API has no plans. "
    "APIs must have at least one plan in order to be deployed."
)


@pytest.mark.parametrize("sync_from", ["MANAGEMENT", "KUBERNETES"])
async def test_started_without_plans_is_illegal_and_nothing_is_sent(env: Env, sync_from: str):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    mark = env.apim.requests.mark()
    manifest = v4_api("planless", definitionContext={"origin": "KUBERNETES", "syncFrom": sync_from})
    del manifest["spec"]["plans"]
    await env.create(manifest)
    failed = await env.wait_condition(API_V4_DEFINITIONS, "planless", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"] == NO_PLANS.format(name="planless")
    resolved = await env.condition(API_V4_DEFINITIONS, "planless", "ResolvedRefs")
    assert resolved is not None
    assert resolved["status"] == "True"
    await wait_idle(env)
    assert env.apim.requests.since(mark) == []
    assert await get_configmap(env, "planless") is None


async def test_stopped_without_plans_is_legal(env: Env):
    manifest = v4_api("resting", state="STOPPED")
    del manifest["spec"]["plans"]
    await env.create(context("apim", env.apim))
    await env.create(manifest)
    await env.wait_condition(API_V4_DEFINITIONS, "resting")
    record = env.apim.state.api_by_hrid("team-resting")
    assert record is not None
    assert record.state == "STOPPED"


async def test_duplicated_listener_paths_are_illegal_and_nothing_is_sent(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    mark = env.apim.requests.mark()
    manifest = v4_api("twice")
    manifest["spec"]["listeners"][0]["paths"] = [{"path": "/twice"}, {"path": "/twice/"}]
    await env.create(manifest)
    failed = await env.wait_condition(API_V4_DEFINITIONS, "twice", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"].startswith("invalid API context path [/twice]")
    assert "[twice]" in failed["message"]
    await wait_idle(env)
    assert env.apim.requests.since(mark) == []

    listener = manifest["spec"]["listeners"][0]
    # Fixing the spec is what makes it go out (an illegal state is not retried by itself).
    await env.patch(
        API_V4_DEFINITIONS,
        "twice",
        {"spec": {"listeners": [{**listener, "paths": [{"path": "/twice"}]}]}},
    )
    await env.wait_condition(API_V4_DEFINITIONS, "twice")
    assert upserts_of(env, "team-twice", since=mark)


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (
            {"flows": [{"name": "f", "connect": [{"name": "s", "policy": "p"}]}]},
            "Connect Flow is not supported in V4 API [flows]",
        ),
        (
            {"flows": [{"name": "f", "interact": [{"name": "s", "policy": "p"}]}]},
            "Interact Flow is not supported in V4 API [flows]",
        ),
    ],
)
async def test_flow_phase_not_supported_by_api_type_is_illegal(
    env: Env, mutation: dict[str, Any], message: str
):
    await env.create(context("apim", env.apim))
    await env.create(v4_api("flows", **mutation))
    failed = await env.wait_condition(API_V4_DEFINITIONS, "flows", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"] == message
    assert upserts_of(env, "team-flows") == []


# -- references -----------------------------------------------------------------------------------


async def test_missing_context_is_a_resolve_ref_failure_fixed_by_creating_it(env: Env):
    await env.create(v4_api("early"))
    failed = await env.wait_condition(API_V4_DEFINITIONS, "early", "False")
    assert failed["reason"] == "ReconcileFailed"
    missing = (
        "resource [early] references management context [team/apim] that doesn't exist in the "
        "cluster"
    )
    assert failed["message"] == missing_ref(missing)
    resolved = await env.condition(API_V4_DEFINITIONS, "early", "ResolvedRefs")
    assert resolved is not None
    assert resolved["status"] == "False"
    assert resolved["reason"] == "ResolvedRefs"
    assert resolved["message"] == missing

    await env.create(context("apim", env.apim))
    await env.wait_condition(API_V4_DEFINITIONS, "early", timeout=15)
    assert env.apim.state.api_by_hrid("team-early") is not None


async def test_resource_ref_is_inlined_in_the_upsert(env: Env):
    await env.create(api_resource("shared-cache"))
    await accepted_api(env, "cached", resources=[{"ref": {"name": "shared-cache"}}])
    put = last_upsert(env, "team-cached")
    (resource,) = put.body["resources"]
    assert resource["name"] == "shared-cache"
    assert resource["type"] == "cache"
    assert resource["configuration"] == {"timeToIdleSeconds": 0, "maxEntriesLocalHeap": 1000}
    assert "ref" not in resource


# -- delete ---------------------------------------------------------------------------------------


async def test_delete_in_hrid_mode_removes_api_and_configmap(env: Env):
    await accepted_api(env, "doomed", **local())
    await wait_configmap(env, "doomed")
    mark = env.apim.requests.mark()
    await env.delete(API_V4_DEFINITIONS, "doomed")
    await env.wait_gone(API_V4_DEFINITIONS, "doomed")
    delete, *repeats = env.apim.requests.find(method="DELETE", since=mark)
    assert {r.status for r in repeats} <= {404}
    assert delete.path == (
        "/automation/organizations/DEFAULT/environments/DEFAULT/apis/team-doomed"
    )
    assert delete.query["hridContainsUUID"] == "false"
    assert env.apim.state.api_by_hrid("team-doomed") is None
    await env.wait_gone(CONFIG_MAPS, "doomed")
    events = await wait_events(env, "doomed", ["DeleteStarted", "DeleteSucceeded"])
    by_reason = {e["reason"]: e for e in events}
    assert by_reason["DeleteStarted"]["message"] == "Delete started"
    assert by_reason["DeleteSucceeded"]["message"] == "Delete succeeded"
    assert by_reason["DeleteSucceeded"]["type"] == "Normal"


async def test_delete_when_apim_already_forgot_the_api_succeeds(env: Env):
    await accepted_api(env, "ghost")
    record = env.apim.state.api_by_hrid("team-ghost")
    assert record is not None
    env.apim.state.delete_api(record)
    await env.delete(API_V4_DEFINITIONS, "ghost")
    await env.wait_gone(API_V4_DEFINITIONS, "ghost")
    deletes = env.apim.requests.find(method="DELETE")
    assert deletes
    assert {r.status for r in deletes} == {404}
    assert "DeleteFailed" not in await env.event_reasons("ghost")


async def test_delete_retries_until_apim_answers(env: Env):
    await accepted_api(env, "stubborn")
    env.apim.faults.fail_next(2, method="DELETE", status=503)
    await env.delete(API_V4_DEFINITIONS, "stubborn")
    await env.wait_gone(API_V4_DEFINITIONS, "stubborn", timeout=15)
    statuses = [r.status for r in env.apim.requests.find(method="DELETE")]
    assert statuses[:3] == [503, 503, 204]
    # A retry already queued may repeat the DELETE before the cache sees the finalizer gone;
    # APIM's 404 then counts as success (docs/behavior/apim-calls.md#deletes).
    assert set(statuses[3:]) <= {404}
    assert env.apim.state.api_by_hrid("team-stubborn") is None


async def test_delete_without_context_only_removes_the_configmap(env: Env):
    await env.create(v4_api("local-only", context_ref=None, **local()))
    await env.wait_condition(API_V4_DEFINITIONS, "local-only")
    await wait_configmap(env, "local-only")
    await env.delete(API_V4_DEFINITIONS, "local-only")
    await env.wait_gone(API_V4_DEFINITIONS, "local-only")
    await env.wait_gone(CONFIG_MAPS, "local-only")
    assert len(env.apim.requests) == 0


# -- every upstream v4 example --------------------------------------------------------------------


def _example_files() -> list[Path]:
    return sorted(V4_EXAMPLES.glob("*.yml")) if V4_EXAMPLES.is_dir() else []


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def examples_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    """One operator for all examples (namespace ``default``, as their resource refs say), with
    what they reference: the ``dev-ctx`` context and the reusable ApiResources."""
    kube = await start_emulator(
        kubeconfig_path=tmp_path_factory.mktemp("v4-examples") / "kubeconfig"
    )
    sim = await start_simulator()
    try:
        async with operator_env(kube, sim, namespace="default") as env:
            await env.create(context("dev-ctx", sim))
            for resource_file in sorted(RESOURCE_EXAMPLES.glob("*.yml")):
                await env.create(load_yaml(resource_file))
            yield env
    finally:
        await sim.close()
        await kube.close()


@pytest.mark.skipif(not V4_EXAMPLES.is_dir(), reason=f"upstream examples absent: {V4_EXAMPLES}")
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.stem)
async def test_upstream_example_is_accepted(examples_env: Env, path: Path):
    env = examples_env
    manifest = load_yaml(path)
    name = manifest["metadata"]["name"]
    await env.create(manifest)
    await env.wait_condition(API_V4_DEFINITIONS, name, timeout=15)
    obj = await env.get(API_V4_DEFINITIONS, name)
    assert obj["status"]["processingStatus"] == "Completed"
    record = env.apim.state.api_by_hrid(f"default-{name}")
    assert record is not None
    assert obj["status"]["id"] == record.id
    assert record.name == manifest["spec"]["name"]
    assert record.state == manifest["spec"].get("state", "STARTED")
    assert sorted(obj["status"]["plans"]) == sorted(
        key.replace(" ", "-").replace(".", "-") for key in manifest["spec"].get("plans", {})
    )
    for ref in manifest["spec"].get("resources") or []:
        if "ref" in ref:
            sent = last_upsert(env, f"default-{name}").body["resources"]
            assert ref["ref"]["name"] not in json.dumps(sent)
            assert all("ref" not in resource for resource in sent)
    await env.delete(API_V4_DEFINITIONS, name)
    await env.wait_gone(API_V4_DEFINITIONS, name)
    assert env.apim.state.api_by_hrid(f"default-{name}") is None


# -- what APIM reports, transient failures --------------------------------------------------------


async def test_apim_warnings_are_kept_in_status_errors(env: Env):
    obj = await accepted_api(
        env,
        "warned",
        categories=["unknown-category"],
        groups=["ghosts"],
        members=[{"source": "gravitee", "sourceId": "nobody", "role": "USER"}],
    )
    assert obj["status"]["errors"] == {
        "severe": [],
        "warning": [
            "Group [ghosts] could not be found in environment [DEFAULT]",
            "category [unknown-category] is not defined in environment [DEFAULT]",
            "member [nobody] of source [gravitee] could not be found in organization [DEFAULT]",
        ],
    }
    env.apim.state.add_category("unknown-category")
    await env.patch(API_V4_DEFINITIONS, "warned", {"spec": {"groups": None, "members": None}})
    await env.wait_condition(API_V4_DEFINITIONS, "warned")
    obj = await env.get(API_V4_DEFINITIONS, "warned")
    assert obj["status"]["errors"] == {"severe": [], "warning": []}


async def test_transient_apim_failures_are_retried_until_accepted(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    env.apim.faults.fail_next(2, method="PUT", path_prefix="/automation/", status=503)
    await env.create(v4_api("flaky"))
    await env.wait_condition(API_V4_DEFINITIONS, "flaky", timeout=15)
    assert [r.status for r in upserts_of(env, "team-flaky")] == [503, 503, 200]
    reasons = await env.event_reasons("flaky")
    assert reasons.count("UpdateFailed") >= 1
    assert "UpdateSucceeded" in reasons


# -- identity details: pages and general conditions -----------------------------------------------


async def test_pages_and_general_conditions_are_sent_by_hrid(env: Env):
    pages = {
        "docs root": {"name": "Docs", "type": "FOLDER"},
        "intro.md": {
            "name": "Intro",
            "type": "MARKDOWN",
            "content": "# Hello",
            "parent": "docs root",
        },
    }
    plans = {
        "free": {
            "name": "Free",
            "security": {"type": "KEY_LESS"},
            "generalConditions": "intro.md",
        }
    }
    await accepted_api(env, "documented", pages=pages, plans=plans)
    put = last_upsert(env, "team-documented")
    sent_pages = {p["hrid"]: p for p in put.body["pages"]}
    assert set(sent_pages) == {"docs-root", "intro-md"}
    assert sent_pages["intro-md"]["parentHrid"] == "docs-root"
    assert sent_pages["intro-md"]["api"] == "team-documented"
    (plan,) = put.body["plans"]
    assert plan["generalConditionsHrid"] == "intro-md"
    assert "generalConditions" not in plan
    record = env.apim.state.api_by_hrid("team-documented")
    assert record is not None
    assert sorted(p.hrid or "" for p in env.apim.state.pages_of(record)) == [
        "docs-root",
        "intro-md",
    ]


# -- dependency propagation (docs/behavior/references.md) -----------------------------------------


async def test_context_change_reimports_its_apis(env: Env):
    await accepted_api(env, "follower")
    mark = env.apim.requests.mark()
    # The same environment, named by its hrid: only the URL the API is pushed to changes.
    await env.patch(MANAGEMENT_CONTEXTS, "apim", {"spec": {"environmentId": "default"}})

    async def reimported() -> bool:
        return any(
            r.path == "/automation/organizations/DEFAULT/environments/default/apis"
            and r.status == 200
            for r in upserts_of(env, "team-follower", since=mark)
        )

    await wait_for(reimported, what="API re-imported through the changed context")
    assert len(env.apim.state.apis_in()) == 1


async def test_api_resource_change_reimports_its_apis(env: Env):
    await env.create(api_resource("shared-cache"))
    await env.wait_condition(API_RESOURCES, "shared-cache")
    await accepted_api(env, "cached", resources=[{"ref": {"name": "shared-cache"}}])
    mark = env.apim.requests.mark()
    await env.patch(
        API_RESOURCES, "shared-cache", {"spec": {"configuration": {"timeToIdleSeconds": 60}}}
    )

    async def reimported() -> Any:
        found = upserts_of(env, "team-cached", since=mark)
        return found[-1] if found else None

    put = await wait_for(reimported, what="API re-imported after its resource changed")
    (resource,) = put.body["resources"]
    assert resource["configuration"]["timeToIdleSeconds"] == 60


async def test_template_source_change_reimports_and_is_booked_on_the_source(env: Env):
    await env.create(configmap("backend", {"url": "https://one.example"}))
    endpoint_groups = [
        {
            "name": "default",
            "type": "http-proxy",
            "endpoints": [
                {
                    "name": "default",
                    "type": "http-proxy",
                    "inheritConfiguration": False,
                    "configuration": {"target": "[[ configmap `backend/url` ]]"},
                }
            ],
        }
    ]
    await accepted_api(env, "templated", endpointGroups=endpoint_groups)
    put = last_upsert(env, "team-templated")
    target = put.body["endpointGroups"][0]["endpoints"][0]["configuration"]["target"]
    assert target == "https://one.example"
    # The live spec keeps the template: only the copy sent to APIM is compiled.
    live = await env.get(API_V4_DEFINITIONS, "templated")
    live_target = live["spec"]["endpointGroups"][0]["endpoints"][0]["configuration"]["target"]
    assert live_target == "[[ configmap `backend/url` ]]"
    source = await get_configmap(env, "backend")
    assert "finalizers.gravitee.io/templating" in source["metadata"]["finalizers"]
    assert json.loads(source["metadata"]["annotations"]["gravitee.io/apiv4definitions"]) == [
        "team/templated"
    ]
    assert source["metadata"]["annotations"]["gravitee.io/references"] == "1"

    mark = env.apim.requests.mark()
    await env.patch(CONFIG_MAPS, "backend", {"data": {"url": "https://two.example"}})

    async def retargeted() -> bool:
        return any(
            r.body["endpointGroups"][0]["endpoints"][0]["configuration"]["target"]
            == "https://two.example"
            for r in upserts_of(env, "team-templated", since=mark)
        )

    await wait_for(retargeted, what="API re-imported with the new ConfigMap value")

    # Deleting the API releases the source.
    await env.delete(API_V4_DEFINITIONS, "templated")
    await env.wait_gone(API_V4_DEFINITIONS, "templated")
    source = await get_configmap(env, "backend")
    assert "finalizers.gravitee.io/templating" not in (source["metadata"].get("finalizers") or [])
    assert source["metadata"]["annotations"]["gravitee.io/references"] == "0"


async def test_blocked_delete_says_why_and_completes_by_itself(env: Env):
    await accepted_api(env, "blocked")
    env.apim.faults.set_credentials(users={"someone-else": "x"})
    await env.delete(API_V4_DEFINITIONS, "blocked")
    events = await wait_events(env, "blocked", ["DeleteStarted", "DeleteFailed"])
    failure = next(e for e in events if e["reason"] == "DeleteFailed")
    assert failure["type"] == "Warning"
    url = env.apim.automation_url() + "/apis/team-blocked"
    assert failure["message"].startswith(f"request [DELETE] {url}?")
    assert "failed with status 401" in failure["message"]
    obj = await env.get(API_V4_DEFINITIONS, "blocked")
    assert obj is not None
    assert obj["metadata"]["deletionTimestamp"]
    accepted = conditions_by_type(obj)["Accepted"]
    assert accepted["status"] == "False"
    assert accepted["reason"] == "ControlPlaneError"
    assert env.apim.state.api_by_hrid("team-blocked") is not None

    # Even a 401 is retried for a deletion: it must finish once APIM lets it.
    env.apim.faults.restore_credentials()
    await env.wait_gone(API_V4_DEFINITIONS, "blocked", timeout=20)
    assert env.apim.state.api_by_hrid("team-blocked") is None


# -- local-mode conversions, names that are not HRIDs ---------------------------------------------


async def test_gateway_definition_converts_every_api_type(env: Env):
    types = {
        "PROXY": "proxy",
        "MESSAGE": "message",
        "LLM_PROXY": "llm-proxy",
        "MCP_PROXY": "mcp-proxy",
        "A2A_PROXY": "a2a-proxy",
    }
    for api_type in types:
        name = f"t-{api_type.lower().replace('_', '-')}"
        await env.create(v4_api(name, context_ref=None, type=api_type, **local()))
    for api_type, gateway_type in types.items():
        name = f"t-{api_type.lower().replace('_', '-')}"
        await env.wait_condition(API_V4_DEFINITIONS, name)
        definition = json.loads((await wait_configmap(env, name))["data"]["definition"])
        assert definition["type"] == gateway_type


async def test_non_hrid_plan_keys_and_lowercase_enums_are_accepted_locally(env: Env):
    key = "JWT Plan. With A Non-Hrid Names"
    plans = {key: {"name": "JWT", "security": {"type": "key_less"}, "mode": "standard"}}
    await env.create(v4_api("odd-names", context_ref=None, plans=plans, **local()))
    await env.wait_condition(API_V4_DEFINITIONS, "odd-names")
    definition = json.loads((await wait_configmap(env, "odd-names"))["data"]["definition"])
    (plan,) = definition["plans"]
    assert plan["name"] == key
    assert plan["security"]["type"] == "key-less"
    assert plan["mode"] == "standard"
    assert plan["hrid"] == "JWT-Plan--With-A-Non-Hrid-Names"


async def test_context_in_another_namespace(env: Env):
    await request_json(env.api, "POST", "/api/v1/namespaces", body={"metadata": {"name": "ops"}})
    shared = context("shared", env.apim)
    shared["metadata"]["namespace"] = "ops"
    await env.create(shared)
    await env.create(
        v4_api("remote", context_ref=None, contextRef={"name": "shared", "namespace": "ops"})
    )
    await env.wait_condition(API_V4_DEFINITIONS, "remote")
    assert env.apim.state.api_by_hrid("team-remote") is not None


# -- templates ------------------------------------------------------------------------------------


async def test_missing_template_secret_is_a_resolve_ref_failure_without_events(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v4_api("secretive", description="[[ secret `creds/motto` ]]"))
    failed = await env.wait_condition(API_V4_DEFINITIONS, "secretive", "False")
    assert failed["reason"] == "ReconcileFailed"
    resolved = await env.condition(API_V4_DEFINITIONS, "secretive", "ResolvedRefs")
    assert resolved is not None
    assert resolved["status"] == "False"
    assert resolved["message"] == "secret [team/creds] not found"
    # Templates are compiled before the Event pair (2, 3.7).
    assert "UpdateStarted" not in await env.event_reasons("secretive")

    await env.create(secret("creds", {"motto": "keep calm"}))
    await env.wait_condition(API_V4_DEFINITIONS, "secretive", timeout=20)
    assert last_upsert(env, "team-secretive").body["description"] == "keep calm"


async def test_missing_template_key_is_a_compile_error(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(secret("creds", {"motto": "keep calm"}))
    await env.create(v4_api("keyless-template", description="[[ secret `creds/nokey` ]]"))
    failed = await env.wait_condition(API_V4_DEFINITIONS, "keyless-template", "False")
    assert failed["reason"] == "CompileTemplateError"
    assert failed["message"] == "key [nokey] not found in secret [team/creds]"
    assert upserts_of(env, "team-keyless-template") == []


async def test_portal_navigation_round_trips_in_list_order(env: Env):
    navigation = [
        {"path": "/zeta", "displayName": "Zeta", "order": 2},
        {"path": "/alpha", "displayName": "Alpha", "order": 1},
    ]
    await accepted_api(env, "navigable", portalNavigation=navigation)
    record = env.apim.state.api_by_hrid("team-navigable")
    assert record is not None
    assert record.spec["portalNavigation"] == navigation


async def test_local_listener_path_change_rewrites_the_configmap(env: Env):
    await env.create(v4_api("mover", context_ref=None, path="/before", **local()))
    await env.wait_condition(API_V4_DEFINITIONS, "mover")
    before = await wait_configmap(env, "mover")
    assert json.loads(before["data"]["definition"])["listeners"][0]["paths"] == [
        {"path": "/before"}
    ]
    listener = (await env.get(API_V4_DEFINITIONS, "mover"))["spec"]["listeners"][0]
    await env.patch(
        API_V4_DEFINITIONS,
        "mover",
        {"spec": {"listeners": [{**listener, "paths": [{"path": "/after"}]}]}},
    )
    await env.wait_condition(API_V4_DEFINITIONS, "mover")

    async def moved() -> bool:
        live = await get_configmap(env, "mover")
        paths = json.loads(live["data"]["definition"])["listeners"][0]["paths"]
        return bool(paths == [{"path": "/after"}])

    await wait_for(moved, what="ConfigMap definition on the new path")
    # Repeated Events are aggregated, as client-go's recorder does: one Event, count 2.
    (succeeded,) = [e for e in await env.events("mover") if e["reason"] == "UpdateSucceeded"]
    assert succeeded["count"] == 2


async def test_switching_a_context_less_api_to_management_still_deletes_its_configmap(env: Env):
    await env.create(v4_api("stranded", context_ref=None, **local()))
    await env.wait_condition(API_V4_DEFINITIONS, "stranded")
    await wait_configmap(env, "stranded")
    await env.patch(
        API_V4_DEFINITIONS,
        "stranded",
        {"spec": {"definitionContext": {"origin": "KUBERNETES", "syncFrom": "MANAGEMENT"}}},
    )
    failed = await env.wait_condition(API_V4_DEFINITIONS, "stranded", "False")
    assert failed["reason"] == "IllegalStateError"
    # The API left the gateway (docs/behavior/local-configmaps.md): no stale ConfigMap keeps
    # serving it.
    await env.wait_gone(CONFIG_MAPS, "stranded")


async def test_missing_api_resource_is_resolved_once_created(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v4_api("needy", resources=[{"ref": {"name": "later-cache"}}]))
    failed = await env.wait_condition(API_V4_DEFINITIONS, "needy", "False")
    assert failed["reason"] == "ReconcileFailed"
    resolved = await env.condition(API_V4_DEFINITIONS, "needy", "ResolvedRefs")
    assert resolved is not None
    assert resolved["status"] == "False"
    assert resolved["message"] == 'apiresources.gravitee.io "later-cache" not found'
    assert upserts_of(env, "team-needy") == []

    await env.create(api_resource("later-cache"))
    await env.wait_condition(API_V4_DEFINITIONS, "needy", timeout=20)
    (resource,) = last_upsert(env, "team-needy").body["resources"]
    assert resource["name"] == "later-cache"

"""ApiDefinition (v2): import-crd, ids, status, local ConfigMaps, deletion, failures, examples.

``docs/behavior/api-v2.md`` and ``docs/behavior/conditions-and-events.md``, and upstream's
controller scenarios for v2 APIs, with our fixes (ConfigMap removed by the reconciler when
``local`` is switched off, an API with nowhere to go says so, APIM 404 on delete is success).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest
import pytest_asyncio

from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.kinds import API_DEFINITIONS, API_RESOURCES, MANAGEMENT_CONTEXTS
from controller.kube.kinds import CONFIG_MAPS as CONFIG_MAPS_KIND
from controller.kube.kinds import SECRETS as SECRETS_KIND
from controller.kube.rest import MERGE_PATCH, KubeApiError, request_json
from controller.reconcilers.framework.errors import IllegalStateError
from controller.reconcilers.support.gateway_configmaps import GatewayConfigMaps
from controller.reconcilers.support.local_configmap import api_configmap
from sim.apim.testing import RunningSimulator, start_simulator
from sim.kubeapi.testing import RunningEmulator, start_emulator
from tests.integration.api_v2_helpers import (
    EXAMPLES,
    IMPORT_CRD,
    NOTIFICATIONS_PATH,
    V2_EXAMPLES,
    apim_delete_api,
    configmap,
    create_group,
    create_notification,
    definition_of,
    event_messages,
    imports,
    load_manifests,
    production_logging,
    stored_api,
    stored_plan,
    v2,
    wait_configmap,
    with_namespace,
    xxh_uuid,
)
from tests.integration.harness import (
    Env,
    api_resource,
    context,
    missing_ref,
    operator_env,
    secret,
    wait_for,
    wait_idle,
)
from tests.integration.harness import configmap as configmap_manifest

FINALIZER = "finalizers.gravitee.io/apidefinitiondeletion"
HASH_ANNOTATION = "gravitee.io/last-spec-hash"
NO_CONTEXT = "a context is required when setting local to false"


@pytest.fixture(autouse=True)
def operator_logs():
    with production_logging() as buffer:
        yield buffer


async def accepted_api(
    env: Env, manifest: dict[str, Any], *, with_context: bool = True
) -> dict[str, Any]:
    if with_context:
        await env.create(context("apim", env.apim))
    await env.create(manifest)
    await env.wait_condition(API_DEFINITIONS, manifest["metadata"]["name"])
    api: dict[str, Any] = await env.get(API_DEFINITIONS, manifest["metadata"]["name"])
    return api


def conditions_by_type(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in obj["status"]["conditions"]}


# -- import-crd, ids and status -----------------------------------------------------------------


async def test_import_crd_with_upstream_ids_and_status(env: Env):
    api = await accepted_api(env, v2("petstore"))
    uid = api["metadata"]["uid"]
    cross_id = xxh_uuid("team/petstore")
    plan_cross_id = xxh_uuid(uid, "/", "free")
    plan_id = xxh_uuid(plan_cross_id, "/", "free")

    status = api["status"]
    assert status["id"] == uid  # upstream quirk kept: a v2 API's id is the Kubernetes UID
    assert status["crossId"] == cross_id
    assert status["organizationId"] == "DEFAULT"
    assert status["environmentId"] == "DEFAULT"
    assert status["state"] == "STARTED"
    assert status["plans"] == {plan_cross_id: plan_id}
    assert status["processingStatus"] == "Completed"
    assert status["errors"] == {"severe": [], "warning": []}
    conditions = conditions_by_type(api)
    assert conditions["Accepted"]["reason"] == "Accepted"
    assert conditions["Accepted"]["message"] == "Successfully reconciled"
    assert conditions["ResolvedRefs"] == {
        **conditions["ResolvedRefs"],
        "status": "True",
        "reason": "ResolvedRefs",
        "message": "All References successfully resolved",
        "observedGeneration": api["metadata"]["generation"],
    }
    assert FINALIZER in api["metadata"]["finalizers"]
    spec_json = json.dumps(api["spec"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert (
        api["metadata"]["annotations"][HASH_ANNOTATION]
        == hashlib.sha256(spec_json.encode()).hexdigest()
    )
    events = await env.events("petstore")
    reasons = [e["reason"] for e in events]
    assert "UpdateStarted" in reasons
    assert "UpdateSucceeded" in reasons
    assert {e["source"]["component"] for e in events} == {"apidefinitionv2-controller"}

    [call] = imports(env)
    assert call.path == "/management/organizations/DEFAULT/environments/DEFAULT" + IMPORT_CRD
    assert call.query == {"dryRun": "false"}
    body = call.body
    assert "contextRef" not in body
    assert "local" not in body
    assert body["id"] == uid
    assert body["crossId"] == cross_id
    assert body["definition_context"] == {
        "mode": "fully_managed",
        "origin": "kubernetes",
        "syncFrom": "MANAGEMENT",
    }
    assert [(p["name"], p["crossId"], p["id"]) for p in body["plans"]] == [
        ("free", plan_cross_id, plan_id)
    ]

    record = stored_api(env, cross_id=cross_id)
    assert record is not None
    assert record.id == uid
    assert record.definition_version == "V2"
    assert record.state == "STARTED"
    assert record.sync_from == "MANAGEMENT"
    assert record.deployed
    assert [(p.id, p.cross_id, p.status) for p in env.apim.state.plans_of(record)] == [
        (plan_id, plan_cross_id, "PUBLISHED")
    ]
    # No ConfigMap for a non-local API.
    assert await configmap(env, "petstore") is None


async def test_context_in_another_namespace_with_secret_credentials(env: Env):
    creds = with_namespace(
        secret("apim-creds", {"username": "admin", "password": "admin"}), "default"
    )
    await env.create(creds)
    shared = with_namespace(
        context("shared-ctx", env.apim, auth={"secretRef": {"name": "apim-creds"}}), "default"
    )
    await env.create(shared)
    await env.create(
        v2("far", context_ref=None, contextRef={"name": "shared-ctx", "namespace": "default"})
    )
    await env.wait_condition(API_DEFINITIONS, "far")
    [call] = imports(env)
    assert call.auth_scheme == "basic"
    assert call.user == "admin"
    assert env.apim.state.api_by_cross_id(xxh_uuid("team/far")) is not None


async def test_user_ids_are_kept(env: Env):
    given_id = "60aea640-d313-4ed5-9087-75d979d4afe3"
    given_cross = "ebf472b5-7cbf-4765-1f74-3cb2fb289238"
    plan_cross = "f3ef9c67-4900-a440-3a5b-5b00b05949d3"
    manifest = v2(
        "with-ids",
        id=given_id,
        crossId=given_cross,
        plans=[{"name": "KEY_LESS", "crossId": plan_cross, "security": "KEY_LESS"}],
    )
    api = await accepted_api(env, manifest)
    assert api["status"]["id"] == given_id
    assert api["status"]["crossId"] == given_cross
    assert api["status"]["plans"] == {plan_cross: xxh_uuid(plan_cross, "/", "KEY_LESS")}
    assert stored_api(env, api_id=given_id).cross_id == given_cross


async def test_reimport_after_recreation_keeps_cross_id(env: Env):
    """Re-creating the CR gives a new UID but the same crossId: APIM matches on crossId."""
    first = await accepted_api(env, v2("again"))
    await env.delete(API_DEFINITIONS, "again")
    await env.wait_gone(API_DEFINITIONS, "again")
    assert env.apim.state.apis_in() == []
    await env.create(v2("again"))
    await env.wait_condition(API_DEFINITIONS, "again")
    second = await env.get(API_DEFINITIONS, "again")
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    assert second["status"]["crossId"] == first["status"]["crossId"] == xxh_uuid("team/again")
    [record] = env.apim.state.apis_in()
    assert record.id == second["metadata"]["uid"]


async def test_stopped_state_is_recorded_in_apim_and_can_be_started(env: Env):
    api = await accepted_api(env, v2("paused", state="STOPPED"))
    assert api["status"]["state"] == "STOPPED"
    record = stored_api(env, cross_id=api["status"]["crossId"])
    assert record.state == "STOPPED"
    assert imports(env)[-1].body["state"] == "STOPPED"

    await env.patch(API_DEFINITIONS, "paused", {"spec": {"state": "STARTED"}})

    async def started():
        obj = await env.get(API_DEFINITIONS, "paused")
        return obj["status"].get("state") == "STARTED" and obj

    await wait_for(started, what="status.state STARTED")
    await env.wait_condition(API_DEFINITIONS, "paused")
    assert stored_api(env, cross_id=api["status"]["crossId"]).state == "STARTED"


async def test_path_and_target_updates_reach_apim(env: Env):
    api = await accepted_api(env, v2("moving"))
    mark = env.apim.requests.mark()
    proxy = {
        "virtual_hosts": [{"path": "/moved"}],
        "groups": [
            {"name": "default", "endpoints": [{"name": "default", "target": "https://new.test"}]}
        ],
    }
    await env.patch(API_DEFINITIONS, "moving", {"spec": {"proxy": proxy}})
    await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and IMPORT_CRD in r.path and r.status == 200, since=mark
    )
    await env.wait_condition(API_DEFINITIONS, "moving")
    [record] = env.apim.state.apis_in()
    assert record.id == api["status"]["id"]  # updated in place, not duplicated
    assert record.spec["proxy"]["virtual_hosts"] == [{"path": "/moved"}]
    assert record.spec["proxy"]["groups"][0]["endpoints"][0]["target"] == "https://new.test"
    reasons = await env.event_reasons("moving")
    assert reasons.count("UpdateSucceeded") >= 1


async def test_metadata_only_changes_do_not_reimport(env: Env):
    await accepted_api(env, v2("labelled"))
    await env.create(v2("witness"))
    await env.wait_condition(API_DEFINITIONS, "witness")
    await wait_idle(env, "apidefinition")
    mark = env.apim.requests.mark()
    await env.patch(API_DEFINITIONS, "labelled", {"metadata": {"labels": {"team": "a"}}})
    # Positive signal: a later spec change of another API, from the same watch, is processed.
    await env.patch(API_DEFINITIONS, "witness", {"spec": {"description": "touched"}})
    await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and IMPORT_CRD in r.path, since=mark
    )
    await wait_idle(env, "apidefinition")
    assert [r.body["name"] for r in imports(env, since=mark)] == ["witness"]


async def test_converged_api_costs_no_apim_write_after_restart(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    async with operator_env(kubeapi, apim) as env:
        await accepted_api(env, v2("steady"))
        await wait_idle(env)
    mark = apim.requests.mark()
    async with operator_env(kubeapi, apim) as env:
        # Positive signal first: the new operator's caches hold the API, and its queues drained.
        await env.wait_condition(API_DEFINITIONS, "steady")
        await wait_idle(env)
        assert apim.requests.writes(since=mark) == []


async def test_removed_plan_is_closed_and_dropped_from_status(env: Env):
    plans = [
        {"name": "free", "security": "KEY_LESS"},
        {"name": "keyed", "security": "API_KEY"},
    ]
    api = await accepted_api(env, v2("two-plans", plans=plans))
    assert len(api["status"]["plans"]) == 2
    uid = api["metadata"]["uid"]
    keyed_cross = xxh_uuid(uid, "/", "keyed")
    keyed_id = api["status"]["plans"][keyed_cross]

    await env.patch(API_DEFINITIONS, "two-plans", {"spec": {"plans": [plans[0]]}})

    async def one_plan():
        obj = await env.get(API_DEFINITIONS, "two-plans")
        return len(obj["status"].get("plans") or {}) == 1 and obj

    updated = await wait_for(one_plan, what="status.plans without the removed plan")
    assert keyed_cross not in updated["status"]["plans"]
    assert stored_plan(env, keyed_id).status == "CLOSED"


async def test_apim_warnings_are_reported_in_status_and_the_api_is_accepted(env: Env):
    api = await accepted_api(env, v2("categorised", categories=["unknown"]))
    assert api["status"]["errors"] == {
        "severe": [],
        "warning": ["category [unknown] is not defined in environment [DEFAULT]"],
    }


async def test_spec_changed_while_the_operator_was_down_is_imported_at_start(
    kubeapi: RunningEmulator, apim: RunningSimulator, kube_client
):
    async with operator_env(kubeapi, apim) as env:
        await accepted_api(env, v2("drifting"))
        await wait_idle(env)
    await request_json(
        kube_client,
        "PATCH",
        API_DEFINITIONS.object_path("team", "drifting"),
        body={"spec": {"description": "changed while nobody watched"}},
        content_type=MERGE_PATCH,
    )
    mark = apim.requests.mark()
    async with operator_env(kubeapi, apim) as env:
        call = await apim.requests.wait_for(
            lambda r: r.method == "PUT" and IMPORT_CRD in r.path, since=mark
        )
        assert call.body["description"] == "changed while nobody watched"
        await env.wait_condition(API_DEFINITIONS, "drifting")
        [record] = apim.state.apis_in()
        assert record.spec["description"] == "changed while nobody watched"


async def test_ingress_template_api_is_never_pushed_anywhere(env: Env):
    template = v2("ingress-template", local=True)
    template["metadata"]["annotations"] = {"gravitee.io/template": "true"}
    await env.create(context("apim", env.apim))
    await env.create(template)
    # Positive signal: an API created after the template was reconciled (same watch, in order).
    await env.create(v2("after-template"))
    await env.wait_condition(API_DEFINITIONS, "after-template")
    await wait_idle(env, "apidefinition")
    live = await env.get(API_DEFINITIONS, "ingress-template")
    assert FINALIZER not in (live["metadata"].get("finalizers") or [])
    assert not (live.get("status") or {}).get("conditions")
    assert [r.body["name"] for r in imports(env)] == ["after-template"]
    assert await configmap(env, "ingress-template") is None


# -- group and notification references ----------------------------------------------------------


async def test_group_refs_add_the_group_names(env: Env):
    await create_group(env, "devs", "developers")
    await accepted_api(env, v2("grouped", groups=["product"], groupRefs=[{"name": "devs"}]))
    # The operator may see the API before the Group (two watches); the Group's arrival then
    # re-imports the API, so wait for the settled outcome rather than the first import.
    refs = await env.wait_condition(API_DEFINITIONS, "grouped", type_="ResolvedRefs")
    assert refs["reason"] == "ResolvedRefs"
    await env.apim.requests.wait_for(
        lambda r: IMPORT_CRD in r.path and r.body["groups"] == ["product", "developers"]
    )
    assert stored_api(env, cross_id=xxh_uuid("team/grouped")).spec["groups"] == [
        "product",
        "developers",
    ]


async def test_missing_group_is_a_soft_failure(env: Env):
    api = await accepted_api(env, v2("lonely", groupRefs=[{"name": "ghost"}]))
    refs = conditions_by_type(api)["ResolvedRefs"]
    assert refs["status"] == "False"
    assert refs["reason"] == "GroupNotFound"
    assert refs["message"] == "Group team/ghost could not be found"
    assert conditions_by_type(api)["Accepted"]["reason"] == "Accepted"
    assert len(imports(env)) == 1


async def test_console_notification_from_upstream_example(env: Env):
    manifest = (
        _example_named("notification", "api-notification-groups") if V2_EXAMPLES.is_dir() else None
    )
    if manifest is None:
        pytest.skip("upstream notification example not found")
    await create_group(env, "developers", "Developers")
    await create_notification(env, manifest)
    await accepted_api(env, v2("notified", notificationsRefs=[{"name": "api-notification-groups"}]))
    expected = {
        "hooks": ["API_STARTED", "API_STOPPED"],
        "groups": ["product", "Developers"],
        "config_type": "PORTAL",
        "origin": "KUBERNETES",
    }
    # Settled outcome: the Group may reach the operator's cache after the API (two watches).
    await env.apim.requests.wait_for(
        lambda r: (
            IMPORT_CRD in r.path and r.body.get("consoleNotificationConfiguration") == expected
        )
    )
    await wait_idle(env, "apidefinition")
    [record] = env.apim.state.apis_in()
    assert record.spec["consoleNotificationConfiguration"] == expected
    assert record.spec["consoleNotificationConfiguration"]["hooks"] == [
        "API_STARTED",
        "API_STOPPED",
    ]

    mark = env.apim.requests.mark()
    await env.patch(API_DEFINITIONS, "notified", {"spec": {"notificationsRefs": None}})
    call = await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and IMPORT_CRD in r.path, since=mark
    )
    assert "consoleNotificationConfiguration" not in call.body


async def test_editing_a_notification_reimports_the_apis_using_it(env: Env):
    manifest = {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "Notification",
        "metadata": {"name": "watchers"},
        "spec": {
            "target": "console",
            "eventType": "api",
            "console": {"apiEvents": ["API_STARTED"]},
        },
    }
    await create_notification(env, manifest)
    await accepted_api(env, v2("watched", notificationsRefs=[{"name": "watchers"}]))
    mark = env.apim.requests.mark()
    await request_json(
        env.api,
        "PATCH",
        NOTIFICATIONS_PATH.format(namespace="team") + "/watchers",
        body={"spec": {"console": {"apiEvents": ["API_STARTED", "API_STOPPED"]}}},
        content_type=MERGE_PATCH,
    )
    call = await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and IMPORT_CRD in r.path, since=mark, timeout=2
    )
    assert call.body["consoleNotificationConfiguration"]["hooks"] == ["API_STARTED", "API_STOPPED"]


async def test_missing_notification_fails_the_reconcile(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v2("unheard", notificationsRefs=[{"name": "nobody"}]))
    failed = await env.wait_condition(API_DEFINITIONS, "unheard", "False")
    assert failed["reason"] == "ReconcileFailed"
    assert failed["message"] == 'notifications.gravitee.io "nobody" not found'
    assert imports(env) == []


# -- local mode: the gateway ConfigMap ----------------------------------------------------------


async def test_local_without_context_writes_the_gateway_configmap(env: Env):
    manifest = v2("local-only", context_ref=None, local=True)
    api = await accepted_api(env, manifest, with_context=False)
    uid = api["metadata"]["uid"]
    assert api["status"]["id"] == uid
    assert api["status"]["state"] == "STARTED"
    assert "crossId" not in api["status"]
    assert "organizationId" not in api["status"]

    cm = await wait_configmap(env, "local-only")
    assert cm["metadata"]["namespace"] == "team"
    assert cm["metadata"]["labels"] == {
        "managed-by": "gravitee.io",
        "gio-type": "apidefinitions.gravitee.io",
    }
    assert cm["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "gravitee.io/v1alpha1",
            "kind": "ApiDefinition",
            "name": "local-only",
            "uid": uid,
        }
    ]
    assert set(cm["data"]) == {"definition", "organizationId", "environmentId"}
    assert cm["data"]["organizationId"] == "DEFAULT"
    assert cm["data"]["environmentId"] == "DEFAULT"
    definition = definition_of(cm)
    assert definition["id"] == uid
    assert definition["crossId"] == xxh_uuid("team/local-only")
    assert definition["local"] is True
    assert definition["definition_context"]["syncFrom"] == "KUBERNETES"
    plan_cross = xxh_uuid(uid, "/", "free")
    assert [(p["crossId"], p["id"]) for p in definition["plans"]] == [
        (plan_cross, xxh_uuid(plan_cross, "/", "free"))
    ]
    assert len(env.apim.requests) == 0


async def test_local_with_context_imports_and_writes_configmap(env: Env):
    api = await accepted_api(env, v2("both", local=True))
    status = api["status"]
    record = stored_api(env, cross_id=status["crossId"])
    assert record is not None
    assert record.id == status["id"]
    # A local API is loaded by gateways from the ConfigMap: APIM must not deploy it.
    assert record.sync_from == "KUBERNETES"
    assert not record.deployed

    cm = await wait_configmap(env, "both")
    assert cm["data"]["organizationId"] == status["organizationId"] == "DEFAULT"
    assert cm["data"]["environmentId"] == status["environmentId"] == "DEFAULT"
    definition = definition_of(cm)
    assert definition["contextRef"] == {"name": "apim"}
    assert definition["local"] is True
    [(cross, plan_id)] = status["plans"].items()
    assert [(p["crossId"], p["id"], p["api"]) for p in definition["plans"]] == [
        (cross, plan_id, status["id"])
    ]


async def test_local_configmap_carries_the_id_apim_knows(env: Env):
    """APIM matches imports on crossId: when it already holds the API under another id (created
    by another cluster, or before the CR was re-created), the gateway must load that id too, or
    subscriptions made in APIM would not match the API the gateway serves."""
    existing_id = "0b6a4e2c-1f1a-4c39-9f0e-2d6f7f1d8a11"
    seed = v2("shared", id=existing_id, crossId=xxh_uuid("team/shared"))["spec"]
    seed = {k: value for k, value in seed.items() if k not in ("contextRef", "local")}
    headers = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.put(env.apim.v1_url() + IMPORT_CRD, json=seed) as response,
    ):
        assert response.status == 200, await response.text()

    api = await accepted_api(env, v2("shared", local=True))
    assert api["status"]["id"] == existing_id
    cm = await wait_configmap(env, "shared")
    definition = definition_of(cm)
    assert definition["id"] == existing_id
    assert {p["api"] for p in definition["plans"]} == {existing_id}
    assert [p.id for p in env.apim.state.plans_of(stored_api(env, api_id=existing_id))] == [
        p["id"] for p in definition["plans"]
    ]


async def test_stopped_local_api_has_no_configmap_until_started(env: Env):
    await accepted_api(
        env, v2("sleepy", context_ref=None, local=True, state="STOPPED"), with_context=False
    )
    await wait_idle(env, "apidefinition")
    assert await configmap(env, "sleepy") is None

    await env.patch(API_DEFINITIONS, "sleepy", {"spec": {"state": "STARTED"}})
    cm = await wait_configmap(env, "sleepy")
    assert definition_of(cm)["state"] == "STARTED"

    await env.patch(API_DEFINITIONS, "sleepy", {"spec": {"state": "STOPPED"}})
    await env.wait_gone(CONFIG_MAPS_KIND, "sleepy")
    await env.wait_condition(API_DEFINITIONS, "sleepy")


async def test_stopping_a_local_api_with_context_removes_its_configmap(env: Env):
    api = await accepted_api(env, v2("halt", local=True))
    await wait_configmap(env, "halt")
    await env.patch(API_DEFINITIONS, "halt", {"spec": {"state": "STOPPED"}})
    await env.wait_gone(CONFIG_MAPS_KIND, "halt")

    async def stopped_in_apim():
        record = stored_api(env, api_id=api["status"]["id"])
        return record.state == "STOPPED"

    await wait_for(stopped_in_apim, what="API STOPPED in APIM")
    await env.wait_condition(API_DEFINITIONS, "halt")


async def test_switching_local_off_deletes_the_configmap(env: Env):
    api = await accepted_api(env, v2("switch", local=True))
    await wait_configmap(env, "switch")
    await env.patch(API_DEFINITIONS, "switch", {"spec": {"local": False}})
    await env.wait_gone(CONFIG_MAPS_KIND, "switch")
    await env.wait_condition(API_DEFINITIONS, "switch")
    record = stored_api(env, cross_id=api["status"]["crossId"])
    assert record.sync_from == "MANAGEMENT"
    assert record.deployed


async def test_user_configmap_with_the_api_name_is_never_overwritten(env: Env):
    await env.create(configmap_manifest("mine", {"keep": "me"}))
    # The operator decides from its cache; creating the API before the cache has the
    # ConfigMap is a different race (reported in /tmp/bugs/apiv2-2.md).
    cache = env.manager.informers.informer_for(CONFIG_MAPS_KIND).store

    async def cached():
        return cache.get(ObjectKey("team", "mine")) is not None

    await wait_for(cached, what="ConfigMap in the operator's cache")
    await env.create(v2("mine", context_ref=None, local=True))
    failed = await env.wait_condition(API_DEFINITIONS, "mine", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"] == "configmap [team/mine] exists and is not managed by the operator"
    assert (await configmap(env, "mine"))["data"] == {"keep": "me"}


async def test_configmap_writer_with_a_stale_cache_never_takes_over_a_user_configmap(env: Env):
    """The writer behind local mode, given a cache that has not seen the user's ConfigMap yet
    (the window between two informers): the create conflicts, and the fallback must not
    overwrite what it does not manage."""
    await env.create(configmap_manifest("users", {"keep": "me"}))
    writer = GatewayConfigMaps(env.api, Store())
    desired = api_configmap(
        kind="ApiDefinition",
        name="users",
        namespace="team",
        uid="u-1",
        definition={"id": "x"},
        organization_id=None,
        environment_id=None,
    )
    with contextlib.suppress(IllegalStateError):
        await writer.write(desired)
    live = await configmap(env, "users")
    assert live["data"] == {"keep": "me"}
    assert "managed-by" not in (live["metadata"].get("labels") or {})


# -- nowhere to go ---------------------------------------------------------------------------


async def test_no_context_and_not_local_is_an_illegal_state(env: Env):
    await env.create(v2("lost", context_ref=None, local=False))
    failed = await env.wait_condition(API_DEFINITIONS, "lost", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"] == NO_CONTEXT
    api = await env.get(API_DEFINITIONS, "lost")
    conditions = conditions_by_type(api)
    assert conditions["ResolvedRefs"]["status"] == "True"
    assert api["status"]["processingStatus"] == "Failed"
    events = await env.events("lost")
    assert event_messages(events, "UpdateFailed") == [NO_CONTEXT]
    assert [e["type"] for e in events if e["reason"] == "UpdateFailed"] == ["Warning"]
    # Not recoverable: no retry is parked, and nothing was sent anywhere.
    await wait_idle(env, "apidefinition")
    assert event_messages(await env.events("lost"), "UpdateFailed") == [NO_CONTEXT]
    assert len(env.apim.requests) == 0
    assert await configmap(env, "lost") is None
    # A failed object can still be deleted (the finalizer was added before the failure).
    assert FINALIZER in (await env.get(API_DEFINITIONS, "lost"))["metadata"]["finalizers"]
    await env.delete(API_DEFINITIONS, "lost")
    await env.wait_gone(API_DEFINITIONS, "lost")


# -- deletion ------------------------------------------------------------------------------------


async def test_delete_removes_api_from_apim_and_configmap(env: Env):
    api = await accepted_api(env, v2("doomed", local=True))
    await wait_configmap(env, "doomed")
    api_id = api["status"]["id"]
    plan_ids = list(api["status"]["plans"].values())
    await env.delete(API_DEFINITIONS, "doomed")
    await env.wait_gone(API_DEFINITIONS, "doomed")
    assert env.apim.state.api(api_id) is None
    assert all(stored_plan(env, p).status == "CLOSED" for p in plan_ids)
    [call] = env.apim.requests.find(method="DELETE", path_contains="/apis/")
    assert call.path.endswith(f"/apis/{api_id}")
    assert call.query == {"closePlans": "true"}
    assert call.status == 204
    await env.wait_gone(CONFIG_MAPS_KIND, "doomed")
    reasons = await env.deletion_reasons("doomed")
    assert "DeleteStarted" in reasons


async def test_delete_succeeds_when_apim_already_forgot_the_api(env: Env):
    api = await accepted_api(env, v2("ghost"))
    await apim_delete_api(env, api["status"]["id"])
    mark = env.apim.requests.mark()
    await env.delete(API_DEFINITIONS, "ghost")
    await env.wait_gone(API_DEFINITIONS, "ghost")
    [call] = env.apim.requests.find(method="DELETE", since=mark)
    assert call.status == 404
    reasons = await env.deletion_reasons("ghost")
    assert "DeleteFailed" not in reasons


async def test_failed_apim_delete_is_retried_until_the_api_is_gone(env: Env):
    api = await accepted_api(env, v2("stubborn"))
    api_id = api["status"]["id"]
    env.apim.faults.fail_next(1, method="DELETE", status=503)
    await env.delete(API_DEFINITIONS, "stubborn")
    await env.wait_gone(API_DEFINITIONS, "stubborn")
    assert env.apim.state.api(api_id) is None
    statuses = [r.status for r in env.apim.requests.find(method="DELETE")]
    assert statuses[:2] == [503, 204]
    # A retry already parked may still run once from a cache that has not seen the finalizer
    # go; APIM then answers 404, which is success.
    assert set(statuses[2:]) <= {404}
    events = await env.deletion_events("stubborn")
    [failure] = event_messages(events, "DeleteFailed")
    assert failure.startswith("request [DELETE] ")
    assert "failed with status 503" in failure


async def test_delete_of_local_api_without_context_never_calls_apim(env: Env):
    await accepted_api(env, v2("offline", context_ref=None, local=True), with_context=False)
    await wait_configmap(env, "offline")
    await env.delete(API_DEFINITIONS, "offline")
    await env.wait_gone(API_DEFINITIONS, "offline")
    await env.wait_gone(CONFIG_MAPS_KIND, "offline")
    assert len(env.apim.requests) == 0


# -- APIM failures ---------------------------------------------------------------------------


async def test_recoverable_apim_failure_is_retried_until_accepted(env: Env):
    env.apim.faults.fail_next(
        2, method="PUT", path_prefix=env.apim.v1_url()[len(env.apim.url) :] + IMPORT_CRD, status=503
    )
    await env.create(context("apim", env.apim))
    await env.create(v2("flaky"))
    await env.wait_condition(API_DEFINITIONS, "flaky")
    assert [r.status for r in imports(env)] == [503, 503, 200]
    failures = event_messages(await env.events("flaky"), "UpdateFailed")
    assert failures
    assert all(m.startswith("request [PUT] ") and "failed with status 503" in m for m in failures)
    assert env.apim.state.api_by_cross_id(xxh_uuid("team/flaky")) is not None


async def test_severe_import_error_is_not_retried_until_the_spec_changes(env: Env):
    # A referenced resource without a type is inlined as is; APIM refuses the import (400).
    untyped = api_resource("untyped")
    del untyped["spec"]["type"]
    await env.create(untyped)
    await env.create(context("apim", env.apim))
    await env.create(v2("invalid", resources=[{"ref": {"name": "untyped", "namespace": "team"}}]))
    failed = await env.wait_condition(API_DEFINITIONS, "invalid", "False")
    assert failed["reason"] == "ControlPlaneError"
    url = env.apim.v1_url() + IMPORT_CRD
    assert failed["message"].startswith(f"request [PUT] {url}")
    assert "failed with status 400" in failed["message"]
    assert "Resource [untyped] configuration is not valid" in failed["message"]
    api = await env.get(API_DEFINITIONS, "invalid")
    assert api["status"]["processingStatus"] == "Failed"
    assert conditions_by_type(api)["ResolvedRefs"]["status"] == "True"
    assert event_messages(await env.events("invalid"), "UpdateFailed") == [failed["message"]]
    await wait_idle(env, "apidefinition")
    assert len(imports(env)) == 1
    assert env.apim.state.apis_in() == []

    # Fixing the resource is a dependency change: the API is imported again, and accepted.
    await env.patch(API_RESOURCES, "untyped", {"spec": {"type": "cache"}})
    await env.wait_condition(API_DEFINITIONS, "invalid")
    assert len(imports(env)) == 2
    [record] = env.apim.state.apis_in()
    assert record.spec["resources"][0]["type"] == "cache"


async def test_unauthorized_import_is_not_retried(env: Env):
    await env.create(context("apim", env.apim))
    await wait_for(lambda: env.condition(MANAGEMENT_CONTEXTS, "apim"), what="context reconciled")
    env.apim.faults.fail_next(1, method="PUT", status=401)
    await env.create(v2("denied"))
    failed = await env.wait_condition(API_DEFINITIONS, "denied", "False")
    assert failed["reason"] == "ControlPlaneError"
    assert "failed with status 401" in failed["message"]
    await wait_idle(env, "apidefinition")
    assert [r.status for r in imports(env)] == [401]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            {"plans": []},
            "cannot apply API [rule-breaker]. Its state is set to STARTED, but the API has no "
            "plans. APIs must have at least one plan in order to be deployed.",
            id="started-without-plans",
        ),
        pytest.param(
            {"resources": [{"name": "inline", "configuration": {}}]},
            "missing required value in property [type]",
            id="inline-resource-without-type",
        ),
        pytest.param(
            {"pages": {"child": {"name": "child", "type": "MARKDOWN", "parent": "nowhere"}}},
            "can not apply API [rule-breaker]. Parent page [nowhere] can not be found for page "
            "[child]",
            id="page-parent-missing",
        ),
    ],
)
async def test_static_admission_rules_refuse_before_anything_is_sent(env: Env, spec, message):
    await env.create(context("apim", env.apim))
    await env.create(v2("rule-breaker", local=True, **spec))
    failed = await env.wait_condition(API_DEFINITIONS, "rule-breaker", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"] == message
    assert event_messages(await env.events("rule-breaker"), "UpdateFailed") == [message]
    await wait_idle(env, "apidefinition")
    assert imports(env) == []
    assert await configmap(env, "rule-breaker") is None


async def test_stopped_api_without_plans_is_accepted(env: Env):
    api = await accepted_api(env, v2("planless", state="STOPPED", plans=[]))
    assert api["status"]["plans"] == {}
    assert stored_api(env, api_id=api["status"]["id"]).state == "STOPPED"


async def test_missing_context_is_a_reference_error_until_created(env: Env):
    await env.create(v2("orphan", context_ref="later"))
    failed = await env.wait_condition(API_DEFINITIONS, "orphan", "False")
    assert failed["reason"] == "ReconcileFailed"
    refs = await env.condition(API_DEFINITIONS, "orphan", "ResolvedRefs")
    assert refs is not None
    assert refs["status"] == "False"
    assert refs["message"] == (
        "resource [orphan] references management context [team/later] that doesn't exist in "
        "the cluster"
    )
    assert failed["message"] == missing_ref(refs["message"])
    assert event_messages(await env.events("orphan"), "UpdateFailed")[-1] == failed["message"]
    await env.create(context("later", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "later")
    await env.wait_condition(API_DEFINITIONS, "orphan")
    assert env.apim.state.api_by_cross_id(xxh_uuid("team/orphan")) is not None


# -- pages ---------------------------------------------------------------------------------------


async def test_page_ids_follow_upstream_formulas(env: Env):
    pages = {
        "docs": {"name": "docs", "type": "FOLDER", "published": True},
        "readme": {"name": "readme", "type": "MARKDOWN", "parent": "docs", "content": "# hi"},
    }
    api = await accepted_api(env, v2("documented", pages=pages))
    api_id = api["status"]["id"]
    sent = imports(env)[-1].body["pages"]
    for key in ("docs", "readme"):
        assert sent[key]["api"] == api_id
        assert sent[key]["id"] == xxh_uuid(api_id, "/", key)
        assert sent[key]["crossId"] == xxh_uuid("team/documented", "/", key)
    assert sent["readme"]["parentId"] == xxh_uuid(api_id, "/", "docs")
    record = stored_api(env, api_id=api_id)
    assert sorted(p.id for p in env.apim.state.pages_of(record)) == sorted(
        xxh_uuid(api_id, "/", key) for key in ("docs", "readme")
    )


# -- templating with upstream's example sources --------------------------------------------------


async def test_templated_api_with_upstream_example_sources(env: Env):
    if not V2_EXAMPLES.is_dir():
        pytest.skip(f"upstream examples not found at {V2_EXAMPLES}")
    for example in ("api-with-templating-secret.yml", "api-with-templating-config-map.yml"):
        for doc in load_manifests(V2_EXAMPLES / example):
            await env.create(doc)
    plans = [{"name": "templated", "security": '[[ secret "graviteeio-templating/security" ]]'}]
    proxy = {
        "virtual_hosts": [{"path": "/templated"}],
        "groups": [
            {
                "name": "default",
                "endpoints": [
                    {"name": "default", "target": '[[ configmap "graviteeio-templating/target" ]]'}
                ],
            }
        ],
    }
    api = await accepted_api(env, v2("templated", plans=plans, proxy=proxy, local=True))
    body = imports(env)[-1].body
    assert body["plans"][0]["security"] == "KEY_LESS"
    assert body["proxy"]["groups"][0]["endpoints"][0]["target"] == "https://api.gravitee.io/echo"
    definition = definition_of(await wait_configmap(env, "templated"))
    assert definition["plans"][0]["security"] == "KEY_LESS"
    # The live spec keeps its templates.
    assert api["spec"]["plans"][0]["security"].startswith("[[ secret")
    for kind in (SECRETS_KIND, CONFIG_MAPS_KIND):
        source = await env.get(kind, "graviteeio-templating")
        assert "finalizers.gravitee.io/templating" in source["metadata"]["finalizers"]
        annotations = source["metadata"]["annotations"]
        assert json.loads(annotations["gravitee.io/apidefinitions"]) == ["team/templated"]
        assert annotations["gravitee.io/references"] == "1"

    await env.delete(API_DEFINITIONS, "templated")
    await env.wait_gone(API_DEFINITIONS, "templated")

    async def released() -> dict[str, Any] | None:
        source: dict[str, Any] = await env.get(SECRETS_KIND, "graviteeio-templating")
        finalizers = source["metadata"].get("finalizers") or []
        return None if "finalizers.gravitee.io/templating" in finalizers else source

    source = await wait_for(released, what="template source released")
    assert source["metadata"]["annotations"]["gravitee.io/references"] == "0"


# -- upstream examples ---------------------------------------------------------------------------


def _api_examples() -> list[Any]:
    if not V2_EXAMPLES.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{V2_EXAMPLES} is absent"))]
    # Files holding only a template source (Secret/ConfigMap) are used by the templating test.
    return [
        pytest.param(path, id=path.stem)
        for path in sorted(V2_EXAMPLES.glob("*.yml"))
        if any(doc.get("kind") == "ApiDefinition" for doc in load_manifests(path))
    ]


def _example_named(folder: str, name: str) -> dict[str, Any] | None:
    for path in sorted((EXAMPLES / folder).glob("*.yml")):
        for doc in load_manifests(path):
            if doc.get("metadata", {}).get("name") == name:
                return doc
    return None


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def examples_operator(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    """One emulator, simulator and operator for all the examples: they are independent (one
    namespace each), and a fresh operator per example would triple the time they take."""
    kube = await start_emulator(kubeconfig_path=tmp_path_factory.mktemp("v2-examples") / "kc")
    apim = await start_simulator()
    try:
        with production_logging():
            async with operator_env(kube, apim) as env:
                yield env
    finally:
        await apim.close()
        await kube.close()


@pytest_asyncio.fixture(loop_scope="module")
async def example_env(examples_operator: Env, request: pytest.FixtureRequest) -> Env:
    namespace = f"ex-{request.node.callspec.id}"[:63]
    await request_json(
        examples_operator.api, "POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}}
    )
    return attrs.evolve(examples_operator, namespace=namespace)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("path", _api_examples())
async def test_upstream_v2_example_is_accepted_and_deleted(example_env: Env, path):
    env = example_env
    namespace = env.namespace
    await env.create(context("dev-ctx", env.apim))
    apis = [doc for doc in load_manifests(path) if doc.get("kind") == "ApiDefinition"]
    for api in apis:
        spec = api["spec"]
        for entry in spec.get("resources") or []:
            target = entry.get("ref")
            if target:
                resource = _example_named("api_resource", target["name"])
                assert resource is not None, f"no upstream ApiResource example {target['name']}"
                # Several examples share one resource (namespace "default"): create it once.
                with contextlib.suppress(KubeApiError):
                    await env.create(with_namespace(resource, target.get("namespace") or namespace))
        for target in spec.get("notificationsRefs") or []:
            notification = _example_named("notification", target["name"])
            assert notification is not None
            await create_notification(env, notification)
        await env.create(api)

    for api in apis:
        name, spec = api["metadata"]["name"], api["spec"]
        accepted = await env.wait_condition(API_DEFINITIONS, name)
        assert accepted["message"] == "Successfully reconciled"
        live = await env.get(API_DEFINITIONS, name)
        status = live["status"]
        assert status["processingStatus"] == "Completed"
        reasons = await env.event_reasons(name)
        assert "UpdateStarted" in reasons
        assert "UpdateSucceeded" in reasons
        expected_state = spec.get("state", "STARTED")
        assert status["state"] == expected_state
        if spec.get("contextRef"):
            assert status["crossId"] == spec.get("crossId", xxh_uuid(f"{namespace}/{name}"))
            assert status["errors"]["severe"] == []
            record = stored_api(env, cross_id=status["crossId"])
            assert record.id == status["id"] == spec.get("id", live["metadata"]["uid"])
            assert record.state == expected_state
        local_configmap = await configmap(env, name)
        if spec.get("local") and expected_state == "STARTED":
            assert local_configmap is not None
            assert definition_of(local_configmap)["id"] == status["id"]
        else:
            assert local_configmap is None

    for api in apis:
        name = api["metadata"]["name"]
        api_id = (await env.get(API_DEFINITIONS, name))["status"]["id"]
        await env.delete(API_DEFINITIONS, name)
        await env.wait_gone(API_DEFINITIONS, name)
        assert env.apim.state.api(api_id) is None
        await env.wait_gone(CONFIG_MAPS_KIND, name)

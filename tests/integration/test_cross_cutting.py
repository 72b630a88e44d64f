"""Behaviour every reconciled kind shares (docs/behavior/conditions-and-events.md and
references.md).

Finalizer names, the spec-hash annotation, the Event pairs, processingStatus and
observedGeneration, restarts (converged objects cost nothing, unconverged ones are picked up),
isolation of bad objects, and credentials never leaking into status, Events or logs.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from controller.config import Settings
from controller.kube.kinds import (
    API_DEFINITIONS,
    API_RESOURCES,
    API_V4_DEFINITIONS,
    APPLICATIONS,
    MANAGEMENT_CONTEXTS,
    SECRETS,
)
from controller.kube.objects import patch_status
from controller.kube.resources import EVENTS, ResourceKind
from controller.kube.rest import MERGE_PATCH, request_json
from controller.metrics import REGISTRY
from sim.apim.testing import RunningSimulator, start_simulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.harness import (
    Env,
    api_resource,
    application,
    context,
    operator_env,
    secret,
    v2_api,
    v4_api,
    wait_for,
    wait_idle,
)
from tests.integration.v4_helpers import (
    annotations_of,
    captured_logs,
    conditions_by_type,
    expected_spec_hash,
    finalizers_of,
    kube_client,
    object_versions,
    seed,
    upserts_of,
    wait_configmap,
    wait_events,
)

LOCAL: dict[str, Any] = {"definitionContext": {"origin": "KUBERNETES", "syncFrom": "KUBERNETES"}}


def v2(name: str, **spec: Any) -> dict[str, Any]:
    """``harness.v2_api`` with the plan description the CRD requires (see /tmp/bugs/apiv2-1.md)."""
    manifest = v2_api(name, **spec)
    for plan in manifest["spec"]["plans"]:
        plan.setdefault("description", f"{plan['name']} plan")
    return manifest


# kind, manifest builder (needs a context named "apim"), finalizer, Event component, spec change
KINDS: list[tuple[ResourceKind, Any, str, str, dict[str, Any]]] = [
    (
        MANAGEMENT_CONTEXTS,
        None,
        "finalizers.gravitee.io/managementcontextdeletion",
        "managementcontext-controller",
        {"path": "/management"},
    ),
    (
        API_V4_DEFINITIONS,
        lambda: v4_api("v4"),
        "finalizers.gravitee.io/apidefinitiondeletion",
        "apiv4definition-controller",
        {"description": "changed"},
    ),
    (
        API_DEFINITIONS,
        lambda: v2("v2"),
        "finalizers.gravitee.io/apidefinitiondeletion",
        "apidefinitionv2-controller",
        {"description": "changed"},
    ),
    (
        APPLICATIONS,
        lambda: application("app"),
        "finalizers.gravitee.io/applicationdeletion",
        "application-controller",
        {"description": "changed"},
    ),
    (
        API_RESOURCES,
        lambda: api_resource("cache"),
        "finalizers.gravitee.io/apiresource",
        "apiresource-controller",
        {"enabled": False},
    ),
]


async def _create_kind(env: Env, build: Any) -> str:
    await env.create(context("apim", env.apim))
    if build is None:
        return "apim"
    manifest = build()
    await env.create(manifest)
    return str(manifest["metadata"]["name"])


@pytest.mark.parametrize(
    ("kind", "build", "finalizer", "component", "change"),
    KINDS,
    ids=[k[0].kind for k in KINDS],
)
async def test_finalizer_and_spec_hash_annotation(
    env: Env,
    kind: ResourceKind,
    build: Any,
    finalizer: str,
    component: str,
    change: dict[str, Any],
):
    name = await _create_kind(env, build)
    await env.wait_condition(kind, name)
    obj = await env.get(kind, name)
    assert finalizer in finalizers_of(obj)
    assert annotations_of(obj)["gravitee.io/last-spec-hash"] == expected_spec_hash(obj["spec"])

    await env.patch(kind, name, {"spec": change})
    await env.wait_condition(kind, name)
    changed = await env.get(kind, name)
    new_hash = annotations_of(changed)["gravitee.io/last-spec-hash"]
    assert new_hash == expected_spec_hash(changed["spec"])
    assert new_hash != annotations_of(obj)["gravitee.io/last-spec-hash"]
    assert finalizers_of(changed).count(finalizer) == 1


@pytest.mark.parametrize(
    ("kind", "build", "finalizer", "component", "change"),
    KINDS,
    ids=[k[0].kind for k in KINDS],
)
async def test_update_and_delete_event_pairs(
    env: Env,
    kind: ResourceKind,
    build: Any,
    finalizer: str,
    component: str,
    change: dict[str, Any],
):
    name = await _create_kind(env, build)
    await env.wait_condition(kind, name)
    obj = await env.get(kind, name)
    events = await wait_events(env, name, ["UpdateStarted", "UpdateSucceeded"])
    by_reason = {e["reason"]: e for e in events}
    for reason, message in (
        ("UpdateStarted", "Update started"),
        ("UpdateSucceeded", "Update succeeded"),
    ):
        event = by_reason[reason]
        assert event["type"] == "Normal"
        assert event["message"] == message
        assert event["source"]["component"] == component
        assert event["involvedObject"]["kind"] == kind.kind
        assert event["involvedObject"]["uid"] == obj["metadata"]["uid"]
        assert event["involvedObject"]["namespace"] == "team"

    await env.delete(kind, name)
    await env.wait_gone(kind, name)
    events = await wait_events(env, name, ["DeleteStarted", "DeleteSucceeded"])
    by_reason = {e["reason"]: e for e in events}
    assert by_reason["DeleteStarted"]["message"] == "Delete started"
    assert by_reason["DeleteSucceeded"]["message"] == "Delete succeeded"
    assert by_reason["DeleteSucceeded"]["source"]["component"] == component
    assert "DeleteFailed" not in by_reason


async def test_processing_status_and_observed_generation_follow_each_reconcile(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v4_api("gen"))
    await env.wait_condition(API_V4_DEFINITIONS, "gen")
    obj = await env.get(API_V4_DEFINITIONS, "gen")
    assert obj["metadata"]["generation"] == 1
    assert obj["status"]["processingStatus"] == "Completed"

    await env.patch(API_V4_DEFINITIONS, "gen", {"spec": {"plans": None}})
    failed = await env.wait_condition(API_V4_DEFINITIONS, "gen", "False")
    assert failed["observedGeneration"] == 2
    obj = await env.get(API_V4_DEFINITIONS, "gen")
    assert obj["status"]["processingStatus"] == "Failed"
    # The identity mode survives the failure; the status of the last success is kept.
    assert conditions_by_type(obj)["AutomationAPIManaged"]["status"] == "True"
    assert obj["status"]["id"]

    await env.patch(
        API_V4_DEFINITIONS,
        "gen",
        {"spec": {"plans": {"free": {"name": "Free", "security": {"type": "KEY_LESS"}}}}},
    )
    accepted = await env.wait_condition(API_V4_DEFINITIONS, "gen")
    assert accepted["observedGeneration"] == 3
    obj = await env.get(API_V4_DEFINITIONS, "gen")
    assert obj["status"]["processingStatus"] == "Completed"
    conditions = conditions_by_type(obj)
    assert conditions["ResolvedRefs"]["observedGeneration"] == 3
    assert conditions["AutomationAPIManaged"]["observedGeneration"] == 3
    for condition in conditions.values():
        assert condition["lastTransitionTime"].endswith("Z")


async def test_status_and_metadata_only_changes_do_not_reconcile(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v4_api("calm"))
    await env.wait_condition(API_V4_DEFINITIONS, "calm")
    await wait_idle(env)
    mark = env.apim.requests.mark()
    await env.patch(API_V4_DEFINITIONS, "calm", {"metadata": {"labels": {"team": "blue"}}})
    await env.patch(API_V4_DEFINITIONS, "calm", {"metadata": {"annotations": {"note": "x"}}})
    await wait_idle(env)
    assert env.apim.requests.since(mark) == []
    # A spec change after them is reconciled: the informer did deliver those events.
    await env.patch(API_V4_DEFINITIONS, "calm", {"spec": {"description": "now"}})
    await env.wait_condition(API_V4_DEFINITIONS, "calm")
    assert upserts_of(env, "team-calm", since=mark)


# -- restarts -------------------------------------------------------------------------------------


def kube_writes() -> float:
    """Successful writes the operator's Kubernetes client made (``rest_client_requests_total``)."""
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name != "rest_client_requests":
            continue
        for sample in metric.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_total")
                and labels.get("method") in ("POST", "PUT", "PATCH", "DELETE")
                and labels.get("code", "").startswith("2")
            ):
                total += sample.value
    return total


async def _converged_world(env: Env) -> None:
    await env.create(context("apim", env.apim))
    await env.create(api_resource("cache"))
    await env.create(v4_api("managed", resources=[{"ref": {"name": "cache"}}]))
    await env.create(v4_api("local", **LOCAL))
    await env.create(v4_api("solo", context_ref=None, **LOCAL))
    await env.create(v2("classic"))
    await env.create(application("app"))
    for kind, name in (
        (MANAGEMENT_CONTEXTS, "apim"),
        (API_RESOURCES, "cache"),
        (API_V4_DEFINITIONS, "managed"),
        (API_V4_DEFINITIONS, "local"),
        (API_V4_DEFINITIONS, "solo"),
        (API_DEFINITIONS, "classic"),
        (APPLICATIONS, "app"),
    ):
        await env.wait_condition(kind, name)
    await wait_configmap(env, "local")
    await wait_configmap(env, "solo")
    await wait_idle(env)


async def test_restart_with_converged_objects_costs_no_call(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    async with operator_env(kubeapi, apim) as env:
        await _converged_world(env)
    versions = object_versions(kubeapi)
    writes = kube_writes()
    mark = apim.requests.mark()
    async with operator_env(kubeapi, apim) as env:
        # Caches are synced (so every object went through the predicates); queues drained.
        await wait_idle(env)
        assert sum(len(c.queue) + c.queue.processing for c in env.manager.controllers) == 0
        assert apim.requests.since(mark) == []
        assert kube_writes() == writes
        assert object_versions(kubeapi) == versions


async def test_restart_with_unconverged_objects_reconciles_only_them(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    async with operator_env(kubeapi, apim) as env:
        await env.create(context("apim", apim))
        for name in ("edited", "failed", "steady"):
            await env.create(v4_api(name))
            await env.wait_condition(API_V4_DEFINITIONS, name)
        await wait_idle(env)
    # While the operator is down: a spec edit, a status that says Failed, a new object.
    async with kube_client(kubeapi) as api:
        await request_json(
            api,
            "PATCH",
            API_V4_DEFINITIONS.object_path("team", "edited"),
            body={"spec": {"description": "offline"}},
            content_type=MERGE_PATCH,
        )
        failed = {"processingStatus": "Failed"}
        await patch_status(api, API_V4_DEFINITIONS, "team", "failed", failed)
    await seed(kubeapi, v4_api("newcomer"), namespace="team")
    mark = apim.requests.mark()
    async with operator_env(kubeapi, apim) as env:
        await env.wait_condition(API_V4_DEFINITIONS, "edited")
        await env.wait_condition(API_V4_DEFINITIONS, "newcomer")

        async def completed_again() -> bool:
            obj = await env.get(API_V4_DEFINITIONS, "failed")
            return bool(obj["status"]["processingStatus"] == "Completed")

        await wait_for(completed_again, what="failed object reconciled at start")
        await wait_idle(env)
        writes = [r for r in apim.requests.since(mark) if r.is_write]
        hrids = {str((r.body or {}).get("hrid")) for r in writes}
        assert hrids == {"team-edited", "team-failed", "team-newcomer"}
        record = apim.state.api_by_hrid("team-edited")
        assert record is not None
        assert record.spec["description"] == "offline"


# -- isolation ------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_bad_objects_never_stop_the_others(env: Env):
    await env.create(context("apim", env.apim))
    dead = context("dead", env.apim)
    dead["spec"]["baseUrl"] = f"http://127.0.0.1:{_closed_port()}"
    await env.create(dead)
    await env.create(
        context(
            "wrong",
            env.apim,
            auth={"credentials": {"username": "admin", "password": "not-the-password"}},
        )
    )
    await env.create(v4_api("orphan", context_ref="missing"))
    await env.create(v4_api("unreachable", context_ref="dead"))
    await env.create(v4_api("rejected", context_ref="wrong"))
    planless = v4_api("planless")
    del planless["spec"]["plans"]
    await env.create(planless)
    goods = [f"good-{i}" for i in range(8)]
    for name in goods:
        await env.create(v4_api(name))
    for name in goods:
        await env.wait_condition(API_V4_DEFINITIONS, name, timeout=15)
    reasons = {}
    for name in ("orphan", "unreachable", "rejected", "planless"):
        reasons[name] = (await env.wait_condition(API_V4_DEFINITIONS, name, "False"))["reason"]
    assert reasons == {
        "orphan": "ReconcileFailed",
        "unreachable": "ControlPlaneError",
        "rejected": "ControlPlaneError",
        "planless": "IllegalStateError",
    }
    assert len(env.apim.state.apis_in()) == len(goods)


# -- credentials ----------------------------------------------------------------------------------

PASSWORD = "Sup3r-S3cret-Pa55"
WRONG_PASSWORD = "Wr0ng-S3cret-Pa55"
TOKEN = "T0ken-S3cret-XYZ"


async def test_credentials_never_reach_status_events_or_logs(kubeapi: RunningEmulator):
    sim = await start_simulator(users={"gko": PASSWORD}, tokens=[TOKEN])
    settings = Settings(probes_port=0, metrics_port=0, max_concurrent_reconciles=4)
    try:
        async with operator_env(kubeapi, sim, settings=settings) as env:
            with captured_logs() as buffer:
                await env.create(secret("apim-creds", {"username": "gko", "password": PASSWORD}))
                await env.create(
                    context(
                        "inline",
                        sim,
                        auth={"credentials": {"username": "gko", "password": PASSWORD}},
                    )
                )
                await env.create(
                    context("by-secret", sim, auth={"secretRef": {"name": "apim-creds"}})
                )
                await env.create(context("bearer", sim, auth={"bearerToken": TOKEN}))
                await env.create(
                    context(
                        "wrong",
                        sim,
                        auth={"credentials": {"username": "gko", "password": WRONG_PASSWORD}},
                    )
                )
                for ctx in ("inline", "by-secret", "bearer", "wrong"):
                    await env.create(v4_api(f"api-{ctx}", context_ref=ctx))
                for ctx in ("inline", "by-secret", "bearer"):
                    await env.wait_condition(API_V4_DEFINITIONS, f"api-{ctx}")
                refused = await env.wait_condition(API_V4_DEFINITIONS, "api-wrong", "False")
                assert refused["reason"] == "ControlPlaneError"
                assert "401" in refused["message"]
                await wait_events(env, "api-wrong", ["UpdateFailed"])
                await wait_idle(env)

                seen: list[str] = []
                for kind in (MANAGEMENT_CONTEXTS, API_V4_DEFINITIONS):
                    listing = await request_json(env.api, "GET", kind.collection_path("team"))
                    seen.extend(json.dumps(item.get("status")) for item in listing["items"])
                events = await request_json(env.api, "GET", EVENTS.collection_path("team"))
                seen.extend(json.dumps(e) for e in events["items"])
                logs = buffer.getvalue()
                assert "apim_request" in logs  # the buffer did capture the operator's lines
                assert len(events["items"]) > 0
                for text in [*seen, logs]:
                    for credential in (PASSWORD, WRONG_PASSWORD, TOKEN):
                        assert credential not in text
    finally:
        await sim.close()


async def test_deletion_requested_while_the_operator_was_down_completes_at_start(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    async with operator_env(kubeapi, apim) as env:
        await env.create(context("apim", apim))
        await env.create(v4_api("leaving"))
        await env.wait_condition(API_V4_DEFINITIONS, "leaving")
        await wait_idle(env)
    async with kube_client(kubeapi) as api:
        await request_json(api, "DELETE", API_V4_DEFINITIONS.object_path("team", "leaving"))
        held = await request_json(api, "GET", API_V4_DEFINITIONS.object_path("team", "leaving"))
        assert held["metadata"]["deletionTimestamp"]
    assert apim.state.api_by_hrid("team-leaving") is not None
    async with operator_env(kubeapi, apim) as env:
        await env.wait_gone(API_V4_DEFINITIONS, "leaving")
        assert apim.state.api_by_hrid("team-leaving") is None
        assert "DeleteSucceeded" in await env.deletion_reasons("leaving")


async def test_fixing_the_context_secret_reaches_a_failed_api(env: Env):
    await env.create(secret("apim-creds", {"username": "admin", "password": "stale"}))
    await env.create(context("apim", env.apim, auth={"secretRef": {"name": "apim-creds"}}))
    await env.create(v4_api("patient"))
    refused = await env.wait_condition(API_V4_DEFINITIONS, "patient", "False")
    assert refused["reason"] == "ControlPlaneError"
    assert "failed with status 401" in refused["message"]
    # 401 is terminal: only a change of the object or of a dependency brings it back.
    await env.patch(SECRETS, "apim-creds", {"stringData": {"password": "admin"}})
    await env.wait_condition(API_V4_DEFINITIONS, "patient", timeout=15)
    assert env.apim.state.api_by_hrid("team-patient") is not None

"""Contract: create/get/list/update/patch/delete semantics, metadata the server owns, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes_asyncio.client.rest import ApiException

from tests.sim.kubeapi.conftest import GROUP, VERSION, Target

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def reason(exc: ApiException) -> str:
    import json

    return str(json.loads(exc.body or b"{}")["reason"])


async def test_create_sets_server_owned_metadata(target: Target):
    created = await target.create_widget("w1")
    meta = created["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    assert meta["generation"] == 1
    fetched = await target.get_widget("w1")
    assert fetched["metadata"]["uid"] == meta["uid"]
    assert fetched["metadata"]["resourceVersion"] == meta["resourceVersion"]


async def test_resource_versions_increase_across_kinds(target: Target):
    a = await target.core.create_namespaced_config_map(
        target.namespace, {"metadata": {"name": "a"}, "data": {"k": "v"}}
    )
    w = await target.create_widget("w")
    b = await target.core.create_namespaced_config_map(
        target.namespace, {"metadata": {"name": "b"}}
    )
    rvs = [
        int(a.metadata.resource_version),
        int(w["metadata"]["resourceVersion"]),
        int(b.metadata.resource_version),
    ]
    assert rvs == sorted(rvs)
    assert len(set(rvs)) == 3


async def test_configmaps_have_no_generation(target: Target):
    cm = await target.core.create_namespaced_config_map(
        target.namespace, {"metadata": {"name": "cm"}, "data": {"k": "v"}}
    )
    assert cm.metadata.generation is None


async def test_create_existing_is_already_exists(target: Target):
    await target.create_widget("dup")
    with pytest.raises(ApiException) as info:
        await target.create_widget("dup")
    assert info.value.status == 409
    assert reason(info.value) == "AlreadyExists"


async def test_get_missing_is_not_found(target: Target):
    with pytest.raises(ApiException) as info:
        await target.get_widget("missing")
    assert info.value.status == 404
    assert reason(info.value) == "NotFound"
    with pytest.raises(ApiException) as info:
        await target.core.read_namespaced_secret("missing", target.namespace)
    assert info.value.status == 404


async def test_generate_name(target: Target):
    body = target.widget("")
    body["metadata"] = {"generateName": "gen-", "namespace": target.namespace}
    created = await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", body
    )
    name = created["metadata"]["name"]
    assert name.startswith("gen-")
    assert len(name) > len("gen-")


async def test_create_in_missing_namespace_is_not_found(target: Target):
    with pytest.raises(ApiException) as info:
        await target.core.create_namespaced_config_map(
            "no-such-namespace-xyz", {"metadata": {"name": "x"}}
        )
    assert info.value.status == 404


async def test_update_with_stale_resource_version_conflicts(target: Target):
    created = await target.create_widget("w")
    fresh = dict(created, spec={"color": "green"})
    updated = await target.custom.replace_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "w", fresh
    )
    assert updated["spec"]["color"] == "green"
    assert updated["metadata"]["generation"] == 2
    stale = dict(created, spec={"color": "blue"})
    with pytest.raises(ApiException) as info:
        await target.custom.replace_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", "w", stale
        )
    assert info.value.status == 409
    assert reason(info.value) == "Conflict"


async def test_custom_resource_update_requires_resource_version(target: Target):
    await target.create_widget("w")
    body = target.widget("w", color="blue")
    with pytest.raises(ApiException) as info:
        await target.custom.replace_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", "w", body
        )
    assert info.value.status == 422


async def test_configmap_unconditional_update(target: Target):
    await target.core.create_namespaced_config_map(
        target.namespace, {"metadata": {"name": "cm"}, "data": {"k": "v"}}
    )
    updated = await target.core.replace_namespaced_config_map(
        "cm", target.namespace, {"metadata": {"name": "cm"}, "data": {"k": "v2"}}
    )
    assert updated.data == {"k": "v2"}


async def test_generation_ignores_metadata_and_status(target: Target):
    await target.create_widget("w")
    patched = await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"metadata": {"labels": {"x": "y"}}},
        _content_type=MERGE,
    )
    assert patched["metadata"]["generation"] == 1
    status = await target.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"status": {"phase": "Ready"}},
        _content_type=MERGE,
    )
    assert status["metadata"]["generation"] == 1
    assert status["status"] == {"phase": "Ready"}
    spec = await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"spec": {"size": 5}},
        _content_type=MERGE,
    )
    assert spec["metadata"]["generation"] == 2


async def test_noop_patch_keeps_resource_version(target: Target):
    created = await target.create_widget("w", size=3)
    patched = await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"spec": {"size": 3}},
        _content_type=MERGE,
    )
    assert patched["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_status_subresource_split(target: Target):
    created = await target.create_widget("w")
    # Status sent to the main resource is ignored...
    body = dict(created, status={"phase": "Ignored"}, spec={"color": "blue"})
    updated = await target.custom.replace_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "w", body
    )
    assert "status" not in updated or updated["status"].get("phase") != "Ignored"
    assert updated["spec"]["color"] == "blue"
    # ...and spec sent to /status is ignored.
    body = dict(updated, status={"phase": "Ready"}, spec={"color": "green"})
    status = await target.custom.replace_namespaced_custom_object_status(
        GROUP, VERSION, target.namespace, "widgets", "w", body
    )
    assert status["status"]["phase"] == "Ready"
    assert status["spec"]["color"] == "blue"
    again = await target.get_widget("w")
    assert again["status"]["phase"] == "Ready"
    assert again["spec"]["color"] == "blue"


async def test_status_on_create_is_dropped(target: Target):
    body = target.widget("w")
    body["status"] = {"phase": "Injected"}
    created = await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", body
    )
    assert "status" not in created


async def test_merge_patch_removes_with_null(target: Target):
    await target.create_widget("w", tags=["a", "b"])
    patched = await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"spec": {"tags": None}},
        _content_type=MERGE,
    )
    assert "tags" not in patched["spec"]


async def test_json_patch_and_failed_test_is_invalid(target: Target):
    await target.create_widget("w", tags=["a"])
    patched = await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        [{"op": "add", "path": "/spec/tags/-", "value": "b"}],
        _content_type=JSON_PATCH,
    )
    assert patched["spec"]["tags"] == ["a", "b"]
    with pytest.raises(ApiException) as info:
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            [
                {"op": "test", "path": "/spec/color", "value": "blue"},
                {"op": "replace", "path": "/spec/color", "value": "green"},
            ],
            _content_type=JSON_PATCH,
        )
    assert info.value.status == 422
    assert (await target.get_widget("w"))["spec"]["color"] == "red"


async def test_patch_with_stale_resource_version_conflicts(target: Target):
    created = await target.create_widget("w")
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"spec": {"size": 2}},
        _content_type=MERGE,
    )
    with pytest.raises(ApiException) as info:
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            {
                "metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
                "spec": {"size": 3},
            },
            _content_type=MERGE,
        )
    assert info.value.status == 409


async def test_strategic_merge_on_configmap(target: Target):
    await target.core.create_namespaced_config_map(
        target.namespace, {"metadata": {"name": "cm"}, "data": {"a": "1", "b": "2"}}
    )
    patched = await target.core.patch_namespaced_config_map(
        "cm", target.namespace, {"data": {"b": None, "c": "3"}}, _content_type=STRATEGIC
    )
    assert patched.data == {"a": "1", "c": "3"}


async def test_strategic_merge_on_custom_resource_is_unsupported(target: Target):
    await target.create_widget("w")
    with pytest.raises(ApiException) as info:
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            {"spec": {"size": 2}},
            _content_type=STRATEGIC,
        )
    assert info.value.status == 415
    assert reason(info.value) == "UnsupportedMediaType"


async def test_patch_missing_is_not_found(target: Target):
    with pytest.raises(ApiException) as info:
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "nope",
            {"spec": {"size": 2}},
            _content_type=MERGE,
        )
    assert info.value.status == 404


async def test_server_side_apply_creates_then_updates(target: Target):
    body = target.widget("w", size=2, tags=["x"])
    # A create by apply answers 201, which the generated client does not decode: read it back.
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        body,
        field_manager="contract",
        _content_type=APPLY,
    )
    created = await target.get_widget("w")
    assert created["spec"]["size"] == 2
    assert created["spec"]["tags"] == ["x"]
    assert created["metadata"]["generation"] == 1
    # Applying without `tags` removes the field this manager owned.
    body = target.widget("w", size=4)
    updated = await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        body,
        field_manager="contract",
        _content_type=APPLY,
    )
    assert updated["spec"]["size"] == 4
    assert "tags" not in updated["spec"]
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]


async def test_server_side_apply_requires_field_manager(target: Target):
    with pytest.raises(ApiException) as info:
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            target.widget("w"),
            _content_type=APPLY,
        )
    assert info.value.status == 422
    assert "fieldManager" in json.loads(info.value.body or b"{}")["message"]


async def test_secret_string_data_is_encoded(target: Target):
    secret = await target.core.create_namespaced_secret(
        target.namespace, {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    )
    assert secret.data == {"password": "aHVudGVyMg=="}
    assert secret.type == "Opaque"


async def test_delete_returns_object_and_removes(target: Target):
    await target.create_widget("w")
    deleted = await target.custom.delete_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "w"
    )
    assert deleted["kind"] == "Status"
    assert deleted["status"] == "Success"
    assert deleted["details"]["name"] == "w"
    with pytest.raises(ApiException) as info:
        await target.get_widget("w")
    assert info.value.status == 404


async def test_delete_preconditions(target: Target):
    created = await target.create_widget("w")
    with pytest.raises(ApiException) as info:
        await target.custom.delete_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            body={"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}},
        )
    assert info.value.status == 409
    await target.custom.delete_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        body={"preconditions": {"uid": created["metadata"]["uid"]}},
        propagation_policy="Foreground",
        grace_period_seconds=0,
    )


async def test_leases_and_events_round_trip(target: Target):
    from kubernetes_asyncio import client as k8s

    coordination: Any = k8s.CoordinationV1Api(target.api)
    lease = await coordination.create_namespaced_lease(
        target.namespace,
        {
            "metadata": {"name": "leader"},
            "spec": {
                "holderIdentity": "me",
                "leaseDurationSeconds": 15,
                "renewTime": "2026-01-01T00:00:00.000000Z",
            },
        },
    )
    assert lease.spec.holder_identity == "me"
    # A plain body: the client's own model would serialise renewTime with datetime.isoformat()
    # ("+00:00", no fraction), which a real server refuses for a MicroTime (see below).
    body = {
        "metadata": {"name": "leader", "resourceVersion": lease.metadata.resource_version},
        "spec": {
            "holderIdentity": "you",
            "leaseDurationSeconds": 15,
            "renewTime": "2026-01-01T00:00:01.000000Z",
        },
    }
    replaced = await coordination.replace_namespaced_lease("leader", target.namespace, body)
    assert replaced.spec.holder_identity == "you"
    event = await target.core.create_namespaced_event(
        target.namespace,
        {
            "metadata": {"name": "ev1"},
            "involvedObject": {"kind": "Widget", "name": "w", "namespace": target.namespace},
            "reason": "Created",
            "message": "hello",
            "type": "Normal",
        },
    )
    assert event.reason == "Created"
    events_v1: Any = k8s.EventsV1Api(target.api)
    ev2 = await events_v1.create_namespaced_event(
        target.namespace,
        {
            "metadata": {"name": "ev2"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "c",
            "reportingInstance": "i",
            "action": "Sync",
            "reason": "Synced",
            "type": "Normal",
            "regarding": {"kind": "Widget", "name": "w", "namespace": target.namespace},
        },
    )
    assert ev2.reason == "Synced"
    sa = await target.core.create_namespaced_service_account(
        target.namespace, {"metadata": {"name": "robot"}}
    )
    assert sa.metadata.name == "robot"


async def test_cluster_scoped_custom_resource(target: Target):
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Gadget",
        "metadata": {"name": f"g-{target.namespace}"},
        "anything": {"goes": 1},
    }
    created = await target.custom.create_cluster_custom_object(GROUP, VERSION, "gadgets", body)
    try:
        assert "namespace" not in created["metadata"]
        assert created["anything"] == {"goes": 1}
        listed = await target.custom.list_cluster_custom_object(GROUP, VERSION, "gadgets")
        assert f"g-{target.namespace}" in [i["metadata"]["name"] for i in listed["items"]]
    finally:
        await target.custom.delete_cluster_custom_object(
            GROUP, VERSION, "gadgets", f"g-{target.namespace}"
        )


async def _create_lease(target: Target, renew_time: str) -> Any:
    """The raw response to creating a Lease with this renewTime, sent verbatim."""
    from kubernetes_asyncio import client as k8s

    coordination: Any = k8s.CoordinationV1Api(target.api)
    return await coordination.create_namespaced_lease(
        target.namespace,
        {"metadata": {"name": "l"}, "spec": {"renewTime": renew_time}},
        _preload_content=False,
    )


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2026-01-01T00:00:00.123456Z", "2026-01-01T00:00:00.123456Z"),
        ("2026-01-01T02:00:00.000000+02:00", "2026-01-01T00:00:00.000000Z"),
    ],
)
async def test_micro_time_is_stored_in_utc(target: Target, value: str, stored: str):
    response = await _create_lease(target, value)
    created = json.loads(await response.read())
    assert created["spec"]["renewTime"] == stored


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2026-01-01T00:00:00Z", 'cannot parse "Z" as ".000000"'),
        ("2026-01-01T00:00:00+00:00", 'cannot parse "+00:00" as ".000000"'),
        ("2026-01-01T00:00:00.123Z", 'cannot parse ".123Z" as ".000000"'),
        ("2026-01-01T00:00:00.1234567Z", 'cannot parse "7Z" as "Z07:00"'),
    ],
)
async def test_micro_time_needs_six_fractional_digits(target: Target, value: str, problem: str):
    response = await _create_lease(target, value)
    assert response.status == 400
    status = json.loads(await response.read())
    assert status["reason"] == "BadRequest"
    assert status["message"] == (
        'Lease in version "v1" cannot be handled as a Lease: '
        f'parsing time "{value}" as "2006-01-02T15:04:05.000000Z07:00": {problem}'
    )


async def test_create_validates_before_finding_the_name_taken(target: Target):
    # kube-apiserver validates (and calls admission) before storage reports AlreadyExists.
    await target.create_widget("w")
    with pytest.raises(ApiException) as invalid_one:
        await target.create_widget("w", color="purple")
    assert invalid_one.value.status == 422
    with pytest.raises(ApiException) as taken:
        await target.custom.create_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", target.widget("w"), dry_run="All"
        )
    assert taken.value.status == 409

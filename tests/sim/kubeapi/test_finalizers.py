"""Contract: deletionTimestamp with finalizers, removal on the last finalizer, rejected adds."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio.client.rest import ApiException

from tests.sim.kubeapi.conftest import GROUP, VERSION, Target
from tests.sim.kubeapi.watching import RawWatch, summary

MERGE = "application/merge-patch+json"
FINALIZER = "contract.kubeapi.test/cleanup"


async def test_delete_waits_for_finalizers_then_one_deleted_event(target: Target):
    body = target.widget("w")
    body["metadata"]["finalizers"] = [FINALIZER]
    created = await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", body
    )
    stream = await RawWatch.widgets(target, resource_version=created["metadata"]["resourceVersion"])
    try:
        await target.custom.delete_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", "w"
        )
        pending = await target.get_widget("w")
        assert pending["metadata"]["deletionTimestamp"]
        assert pending["metadata"]["finalizers"] == [FINALIZER]
        marked = await stream.next()
        assert summary(marked) == ("MODIFIED", "w")
        assert marked["object"]["metadata"]["deletionTimestamp"]

        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            {"metadata": {"finalizers": None}},
            _content_type=MERGE,
        )
        gone = await stream.next()
        assert summary(gone) == ("DELETED", "w")
        with pytest.raises(ApiException) as info:
            await target.get_widget("w")
        assert info.value.status == 404
    finally:
        stream.close()


async def test_adding_finalizer_while_deleting_is_rejected(target: Target):
    body = target.widget("w")
    body["metadata"]["finalizers"] = [FINALIZER]
    await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", body
    )
    await target.custom.delete_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "w"
    )
    with pytest.raises(ApiException) as info:
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            {"metadata": {"finalizers": [FINALIZER, "contract.kubeapi.test/extra"]}},
            _content_type=MERGE,
        )
    assert info.value.status == 422
    status = json.loads(info.value.body or b"{}")
    assert status["reason"] == "Invalid"
    assert "finalizers" in status["message"]
    # Clean up so the namespace can go away on a real cluster.
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"metadata": {"finalizers": None}},
        _content_type=MERGE,
    )


async def test_second_delete_keeps_deletion_timestamp(target: Target):
    body = target.widget("w")
    body["metadata"]["finalizers"] = [FINALIZER]
    await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", body
    )
    await target.custom.delete_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "w"
    )
    first = (await target.get_widget("w"))["metadata"]["deletionTimestamp"]
    await target.custom.delete_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "w"
    )
    assert (await target.get_widget("w"))["metadata"]["deletionTimestamp"] == first
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"metadata": {"finalizers": []}},
        _content_type=MERGE,
    )
    with pytest.raises(ApiException):
        await target.get_widget("w")


async def test_status_write_keeps_finalizers_and_deletion(target: Target):
    body = target.widget("w")
    body["metadata"]["finalizers"] = [FINALIZER]
    await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", body
    )
    await target.custom.delete_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "w"
    )
    # Status writes cannot drop finalizers: metadata comes from the stored object.
    status = await target.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"metadata": {"finalizers": None}, "status": {"phase": "Deleting"}},
        _content_type=MERGE,
    )
    assert status["metadata"]["finalizers"] == [FINALIZER]
    assert status["status"]["phase"] == "Deleting"
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"metadata": {"finalizers": None}},
        _content_type=MERGE,
    )

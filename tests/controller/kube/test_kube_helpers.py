"""controller.kube helpers against the emulator."""

from __future__ import annotations

import pytest

from controller.kube.client import connect, kubeconfig_path
from controller.kube.crds import CUSTOM_RESOURCE_DEFINITIONS, apply_crds, load_crds
from controller.kube.events import WARNING, EventRecorder
from controller.kube.objects import get_object, patch_metadata, patch_status
from controller.kube.resources import CONFIG_MAPS, EVENTS
from controller.kube.rest import KubeApiError, request_json
from controller.metrics import REST_CLIENT_REQUESTS
from tests.controller.informers.helpers import (
    WIDGETS,
    WIDGETS_CRD,
    create,
    create_config_map,
)


@pytest.fixture
async def api(kubeapi):
    client = await connect(kubeconfig=str(kubeapi.kubeconfig))
    yield client
    await client.close()


def count(code: str, method: str, host: str) -> float:
    return float(REST_CLIENT_REQUESTS.labels(code=code, method=method, host=host)._value.get())


async def test_every_request_is_counted_by_code_method_and_host(kubeapi, api):
    host = kubeapi.url.removeprefix("http://")
    ok_before = count("200", "GET", host)
    missing_before = count("404", "GET", host)
    created_before = count("201", "POST", host)
    await create_config_map(api, "default", "counted")
    await request_json(api, "GET", CONFIG_MAPS.object_path("default", "counted"))
    with pytest.raises(KubeApiError) as info:
        await request_json(api, "GET", CONFIG_MAPS.object_path("default", "missing"))
    assert info.value.not_found
    assert count("201", "POST", host) == created_before + 1
    assert count("200", "GET", host) == ok_before + 1
    assert count("404", "GET", host) == missing_before + 1


def test_kubeconfig_path_takes_the_first_existing_entry(tmp_path):
    real = tmp_path / "config"
    real.write_text("{}")
    assert kubeconfig_path({"KUBECONFIG": f"{tmp_path / 'nope'}:{real}"}) == str(real)
    assert kubeconfig_path({}) is None


async def test_get_object_returns_none_when_missing(api):
    assert await get_object(api, CONFIG_MAPS, "default", "absent") is None
    await create_config_map(api, "default", "present", {"a": "1"})
    got = await get_object(api, CONFIG_MAPS, "default", "present")
    assert got is not None
    assert got["data"] == {"a": "1"}


async def test_metadata_patch_sets_finalizers_and_removes_annotations(api):
    await create(api, CONFIG_MAPS, "default", "meta", data={})
    patched = await patch_metadata(
        api,
        CONFIG_MAPS,
        "default",
        "meta",
        finalizers=["finalizers.gravitee.io/test"],
        annotations={"a": "1", "b": "2"},
    )
    assert patched["metadata"]["finalizers"] == ["finalizers.gravitee.io/test"]
    patched = await patch_metadata(api, CONFIG_MAPS, "default", "meta", annotations={"a": None})
    assert patched["metadata"]["annotations"] == {"b": "2"}
    with pytest.raises(KubeApiError) as info:
        await patch_metadata(
            api, CONFIG_MAPS, "default", "meta", finalizers=[], resource_version="1"
        )
    assert info.value.conflict


async def test_status_patch_goes_to_the_status_subresource(kubeapi, api):
    await kubeapi.apply_crd_files(WIDGETS_CRD)
    await create(api, WIDGETS, "default", "w", spec={"size": 1})
    patched = await patch_status(
        api, WIDGETS, "default", "w", {"conditions": [{"type": "Accepted", "status": "True"}]}
    )
    assert patched["status"]["conditions"][0]["type"] == "Accepted"
    assert patched["spec"] == {"size": 1}


async def test_events_are_posted_and_repeats_aggregated(api):
    cm = await create_config_map(api, "default", "evented")
    recorder = EventRecorder(api, "test-controller")
    await recorder.record(cm, WARNING, "UpdateFailed", "boom")
    await recorder.record(cm, WARNING, "UpdateFailed", "boom")
    await recorder.record(cm, WARNING, "UpdateFailed", "other")
    listed = await request_json(api, "GET", EVENTS.collection_path("default"))
    mine = [e for e in listed["items"] if e["involvedObject"]["name"] == "evented"]
    by_message = {e["message"]: e for e in mine}
    assert set(by_message) == {"boom", "other"}
    assert by_message["boom"]["count"] == 2
    assert by_message["boom"]["reason"] == "UpdateFailed"
    assert by_message["boom"]["type"] == "Warning"
    assert by_message["boom"]["source"]["component"] == "test-controller"
    assert by_message["boom"]["involvedObject"]["kind"] == "ConfigMap"
    assert by_message["boom"]["involvedObject"]["uid"] == cm["metadata"]["uid"]


async def test_event_recording_failures_are_swallowed(kubeapi, api):
    cm = await create_config_map(api, "default", "unlucky")
    kubeapi.faults.fail_next(1, verb="create", resource="events", status=500)
    await EventRecorder(api, "c").record(cm, WARNING, "UpdateFailed", "boom")  # no raise


async def test_embedded_crds_are_server_side_applied_idempotently(api):
    crds = load_crds()
    names = {crd["metadata"]["name"] for crd in crds}
    assert "apiv4definitions.gravitee.io" in names
    assert await apply_crds(api, crds) == [crd["metadata"]["name"] for crd in crds]
    await apply_crds(api, crds)  # second time: no conflict, no error
    listed = await request_json(api, "GET", CUSTOM_RESOURCE_DEFINITIONS.collection_path())
    assert names <= {item["metadata"]["name"] for item in listed["items"]}


async def test_connect_turns_off_per_request_env_lookups_and_resolves_the_proxy_once(
    kubeapi, monkeypatch
):
    """kubernetes-asyncio's session trusts the environment on every request (two thread hops
    each); ours resolves a proxy once and turns the lookups off."""
    from controller.kube.client import connect, environment_proxy

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert environment_proxy("https://k8s.example:6443") == "http://proxy.example:3128"
    assert environment_proxy("https://127.0.0.1:6443") is None
    client = await connect(kubeconfig=str(kubeapi.kubeconfig))
    try:
        assert client.rest_client.pool_manager._trust_env is False
        # The emulator is on loopback, which NO_PROXY exempts: no proxy was configured.
        assert not client.rest_client.proxy
        from controller.kube.rest import request_json

        assert (await request_json(client, "GET", "/version"))["major"]
    finally:
        await client.close()


async def test_emitted_events_are_sent_in_the_background_in_order_and_flushed_on_close(kubeapi):
    """emit() never waits for the API server (like client-go's broadcaster); Events of one object
    keep their order, and close() sends whatever is still pending."""
    from controller.kube.client import connect
    from controller.kube.events import EventRecorder
    from controller.kube.rest import request_json

    client = await connect(kubeconfig=str(kubeapi.kubeconfig))
    try:
        await request_json(client, "POST", "/api/v1/namespaces", body={"metadata": {"name": "ev"}})
        recorder = EventRecorder(client, "test-controller", senders=2)
        objects = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i}", "namespace": "ev", "uid": f"uid-{i}"},
            }
            for i in range(5)
        ]
        kubeapi.faults.set_latency(0.05)
        for obj in objects:
            for step in range(3):
                recorder.emit(obj, "Normal", f"Step{step}", f"step {step}")
        # Nothing was awaited: the senders have not had a chance to send anything yet.
        listing = await request_json(client, "GET", "/api/v1/namespaces/ev/events")
        assert listing["items"] == []
        await recorder.close()
        kubeapi.faults.set_latency(0)
        listing = await request_json(client, "GET", "/api/v1/namespaces/ev/events")
        by_object: dict[str, list[str]] = {}
        for event in sorted(listing["items"], key=lambda e: int(e["metadata"]["resourceVersion"])):
            by_object.setdefault(event["involvedObject"]["name"], []).append(event["reason"])
        assert by_object == {f"cm-{i}": ["Step0", "Step1", "Step2"] for i in range(5)}
    finally:
        await client.close()


async def test_queued_events_hold_a_reference_to_their_object_not_the_object(kubeapi):
    """An Event waiting for a sender keeps only the object's identity, not its spec or status
    (thousands of queued Events must not keep thousands of whole objects alive)."""
    import asyncio
    import gc
    import weakref
    from typing import Any

    from controller.kube.client import connect
    from controller.kube.events import EventRecorder
    from controller.kube.rest import request_json

    class Spec(dict[str, Any]):  # a dict that can be weakly referenced, to see if it lives
        pass

    client = await connect(kubeconfig=str(kubeapi.kubeconfig))
    try:
        await request_json(client, "POST", "/api/v1/namespaces", body={"metadata": {"name": "ref"}})
        recorder = EventRecorder(client, "test-controller", senders=1)
        spec = Spec(big="x" * 10_000)
        alive = weakref.ref(spec)
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "spec": spec,
               "metadata": {"name": "cm", "namespace": "ref", "uid": "u-1",
                            "resourceVersion": "7", "annotations": {"a": "b"}}}
        kubeapi.faults.set_latency(0.05)
        sent = recorder.emit(obj, "Normal", "Queued", "queued")
        del obj, spec
        gc.collect()
        assert alive() is None  # the queue did not keep the object
        await asyncio.wait_for(sent, 10)
        await recorder.close()
        kubeapi.faults.set_latency(0)
        listing = await request_json(client, "GET", "/api/v1/namespaces/ref/events")
        involved = listing["items"][0]["involvedObject"]
        assert involved == {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm",
                            "namespace": "ref", "uid": "u-1", "resourceVersion": "7"}
    finally:
        await client.close()

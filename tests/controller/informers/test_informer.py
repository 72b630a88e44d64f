"""Informers against the Kubernetes API emulator (HTTP over loopback)."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from kubernetes_asyncio.client import ApiClient, Configuration

from controller.informers import (
    LOW_PRIORITY,
    EventType,
    Informer,
    InformerOptions,
    ReflectorOptions,
    SharedInformers,
    enqueue_mapped,
    enqueue_object,
)
from controller.informers.backoff import BackoffOptions
from controller.informers.reflector import LineSplitter
from controller.informers.store import slim
from controller.keys import ObjectKey
from controller.kube.client import connect, instrument
from controller.kube.resources import CONFIG_MAPS
from controller.kube.rest import request_json
from controller.queue import WorkQueue
from tests.controller.informers.helpers import (
    WIDGETS,
    WIDGETS_CRD,
    EventLog,
    create,
    create_config_map,
    delete,
    ensure_namespace,
    next_key,
    update_config_map,
    wait_for,
)

K = ObjectKey.parse

FAST = ReflectorOptions(backoff=BackoffOptions(initial=0.05, maximum=0.2))


@pytest.fixture
async def api(kubeapi):
    client = await connect(kubeconfig=str(kubeapi.kubeconfig))
    yield client
    await client.close()


@pytest.fixture
async def informers():
    started: list[Informer] = []
    yield started
    for informer in started:
        await informer.stop()


def start(informers, api, kind, **options) -> tuple[Informer, EventLog]:
    options.setdefault("reflector", FAST)
    informer = Informer(api, kind, options=InformerOptions(**options))
    log = EventLog()
    informer.add_handler(log)
    informer.start()
    informers.append(informer)
    return informer, log


async def test_list_then_watch_mirrors_every_change(api, informers):
    await ensure_namespace(api, "team")
    await create_config_map(api, "team", "a", {"v": "1"})
    await create_config_map(api, "team", "b", {"v": "1"})

    informer, log = start(informers, api, CONFIG_MAPS)
    assert await informer.wait_synced(10)
    assert {K("team/a"), K("team/b")} <= set(informer.store.keys())
    initial = log.of("team/a", EventType.ADDED)
    assert len(initial) == 1
    assert initial[0].initial
    assert initial[0].new["kind"] == "ConfigMap"

    await create_config_map(api, "team", "c", {"v": "1"})
    await update_config_map(api, "team", "a", {"v": "2"})
    await delete(api, CONFIG_MAPS, "team", "b")
    await wait_for(lambda: log.of("team/b", EventType.DELETED), what="deletion of b")

    [added] = log.of("team/c", EventType.ADDED)
    assert not added.initial
    [modified] = log.of("team/a", EventType.MODIFIED)
    assert modified.old["data"] == {"v": "1"}
    assert modified.new["data"] == {"v": "2"}
    [deleted] = log.of("team/b", EventType.DELETED)
    assert deleted.new is None
    assert not deleted.final_state_unknown
    assert (informer.store.get(K("team/a")) or {}).get("data") == {"v": "2"}
    assert "team/b" not in informer.store
    assert informer.reflectors[0].lists == 1


async def test_relist_after_410_synthesizes_deletions(kubeapi, api, informers):
    await ensure_namespace(api, "relist")
    for name in ("keep", "gone", "changed"):
        await create_config_map(api, "relist", name, {"v": "1"})

    # Hold the relist back until the test has changed the world behind the informer's back,
    # so the deletion can only be learned from the relist, never from a watch event.
    list_allowed = asyncio.Event()
    list_allowed.set()
    list_blocked = asyncio.Event()
    send = api.rest_client.request

    async def gated(method, url, *args, **kwargs):
        query = kwargs.get("query_params") or []
        is_watch = any(k == "watch" for k, _ in query)
        if method == "GET" and "/configmaps" in url and not is_watch and not list_allowed.is_set():
            list_blocked.set()
            await list_allowed.wait()
        return await send(method, url, *args, **kwargs)

    api.rest_client.request = gated
    informer, log = start(informers, api, CONFIG_MAPS, namespaces=("relist",))
    assert await informer.wait_synced(10)
    reflector = informer.reflectors[0]

    list_allowed.clear()
    # No await yields to the informer between these lines (the emulator is in-process): the
    # watch is cut, the store moves on (a change elsewhere), and the history the informer
    # would resume from is forgotten, so its re-watch gets 410 Gone.
    kubeapi.faults.close_watches()
    await kubeapi.create("/api/v1/namespaces/default/configmaps",
                         {"metadata": {"name": "elsewhere"}})
    kubeapi.faults.expire_history()
    await asyncio.wait_for(list_blocked.wait(), 10)  # the 410 made it relist

    await delete(api, CONFIG_MAPS, "relist", "gone")
    await update_config_map(api, "relist", "changed", {"v": "2"})
    await create_config_map(api, "relist", "new", {"v": "1"})
    list_allowed.set()

    await wait_for(lambda: log.of("relist/gone", EventType.DELETED), what="synthesized delete")
    [deleted] = log.of("relist/gone", EventType.DELETED)
    assert deleted.final_state_unknown
    assert deleted.old["metadata"]["name"] == "gone"
    assert log.of("relist/changed", EventType.MODIFIED)[0].new["data"] == {"v": "2"}
    assert log.of("relist/new", EventType.ADDED)
    assert not log.of("relist/keep", EventType.MODIFIED)  # unchanged objects stay quiet
    assert reflector.lists == 2
    assert reflector.expirations == 1
    assert set(informer.store.keys()) == {K("relist/keep"), K("relist/changed"), K("relist/new")}

    # and it watches again from the relist's resourceVersion
    await create_config_map(api, "relist", "after", {})
    await wait_for(lambda: log.of("relist/after", EventType.ADDED), what="event after relist")


async def test_reconnects_after_the_server_drops_every_watch(kubeapi, api, informers):
    await ensure_namespace(api, "drop")
    informer, log = start(informers, api, CONFIG_MAPS, namespaces=("drop",))
    assert await informer.wait_synced(10)
    reflector = informer.reflectors[0]
    await wait_for(lambda: reflector.watches == 1, what="first watch")

    async def drop_and_check(round_: int) -> None:
        assert kubeapi.faults.close_watches() >= 1
        await wait_for(lambda: reflector.watches == round_ + 1, what="re-watch")
        await create_config_map(api, "drop", f"after-{round_}", {})
        await wait_for(lambda: log.of(f"drop/after-{round_}", EventType.ADDED),
                       what="event after reconnect")

    await drop_and_check(1)
    await drop_and_check(2)
    assert reflector.lists == 1  # resumed from its resourceVersion, no relist


async def test_namespace_scope_limits_the_cache(api, informers):
    for ns in ("scope-a", "scope-b", "scope-c"):
        await ensure_namespace(api, ns)
        await create_config_map(api, ns, "cm", {})
    informer, log = start(informers, api, CONFIG_MAPS, namespaces=("scope-a", "scope-b"))
    assert await informer.wait_synced(10)
    assert len(informer.reflectors) == 2
    assert {k for k in informer.store.keys_in_scope(None) if k.namespace.startswith("scope-")} == {
        K("scope-a/cm"), K("scope-b/cm")}

    await create_config_map(api, "scope-c", "outside", {})
    await create_config_map(api, "scope-b", "inside", {})
    await wait_for(lambda: log.of("scope-b/inside"), what="event in watched namespace")
    assert not log.of("scope-c/outside")
    assert "scope-c/outside" not in informer.store


async def test_label_selector_narrows_the_cache(api, informers):
    await ensure_namespace(api, "labels")
    await create(api, CONFIG_MAPS, "labels", "plain", data={})
    await create(api, CONFIG_MAPS, "labels", "watched", data={},
                 labels={"gravitee.io/watched": "true"})
    informer, _ = start(informers, api, CONFIG_MAPS, namespaces=("labels",),
                        label_selector="gravitee.io/watched=true")
    assert await informer.wait_synced(10)
    assert informer.store.keys() == [K("labels/watched")]


async def test_paginated_list_and_failed_lists_are_retried(kubeapi, api, informers):
    await ensure_namespace(api, "pages")
    for i in range(7):
        await create_config_map(api, "pages", f"cm-{i}", {})
    kubeapi.faults.fail_next(2, verb="list", resource="configmaps", status=500)
    informer, _ = start(informers, api, CONFIG_MAPS, namespaces=("pages",),
                        reflector=ReflectorOptions(list_page_size=3,
                                                   backoff=FAST.backoff))
    assert await informer.wait_synced(10)
    assert len(informer.store) == 7


async def test_dependent_keys_fan_out_through_an_index(kubeapi, api):
    await kubeapi.apply_crd_files(WIDGETS_CRD)
    await ensure_namespace(api, "fan")
    await create_config_map(api, "fan", "ctx", {"v": "1"})
    await create_config_map(api, "fan", "other", {"v": "1"})
    for name, ref in (("w1", "ctx"), ("w2", "ctx"), ("w3", "other")):
        await create(api, WIDGETS, "fan", name, spec={"contextRef": {"name": ref}})

    shared = SharedInformers(api, namespaces=("fan",), reflector_options=FAST)
    widgets = shared.informer_for(WIDGETS)
    config_maps = shared.informer_for(CONFIG_MAPS)
    assert shared.informer_for(WIDGETS) is widgets  # one informer (and store) per kind

    def by_context(obj):
        ref = (obj.get("spec") or {}).get("contextRef") or {}
        if ref.get("name"):
            yield ObjectKey(obj["metadata"]["namespace"], ref["name"])

    widgets.add_index("context", by_context)
    queue: WorkQueue[ObjectKey] = WorkQueue()
    widgets.add_handler(enqueue_object(queue))
    config_maps.add_handler(
        enqueue_mapped(queue, lambda e: widgets.store.keys_by_index("context", e.key))
    )
    shared.start()
    try:
        assert await shared.wait_for_sync(10)
        assert shared.all_synced

        initial = set()
        while len(queue):
            key, priority = await next_key(queue)
            assert priority == LOW_PRIORITY
            initial.add(key)
            queue.done(key)
        assert initial == {K("fan/w1"), K("fan/w2"), K("fan/w3")}

        await update_config_map(api, "fan", "ctx", {"v": "2"})
        got: set[ObjectKey] = set()
        while got != {K("fan/w1"), K("fan/w2")}:
            key, priority = await next_key(queue)
            assert priority == 0
            got.add(key)
            queue.done(key)
        assert len(queue) == 0  # w3 depends on another ConfigMap
        assert widgets.store.keys_by_index("context", K("fan/ctx")) == [K("fan/w1"), K("fan/w2")]
    finally:
        await shared.stop()
        await queue.shutdown()


async def test_a_silent_watch_is_reopened_after_the_inactivity_timeout(unused_tcp_port):
    watches = 0
    finished = asyncio.Event()

    async def serve(request: web.Request) -> web.StreamResponse:
        nonlocal watches
        if request.query.get("watch") == "true":
            watches += 1
            response = web.StreamResponse()
            await response.prepare(request)
            await finished.wait()  # connected, but never says anything
            return response
        return web.json_response({"kind": "ConfigMapList", "items": [],
                                  "metadata": {"resourceVersion": "5"}})

    app = web.Application()
    app.router.add_get("/api/v1/configmaps", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    config = Configuration(host=f"http://127.0.0.1:{unused_tcp_port}")
    api = instrument(ApiClient(config))
    informer = Informer(api, CONFIG_MAPS, options=InformerOptions(
        reflector=ReflectorOptions(inactivity_timeout=0.2, backoff=FAST.backoff)))
    informer.start()
    try:
        assert await informer.wait_synced(5)
        await wait_for(lambda: watches >= 3, timeout=5, what="silent watches to be reopened")
        assert informer.reflectors[0].lists == 1
    finally:
        finished.set()
        await informer.stop()
        await api.close()
        await runner.cleanup()


def test_watch_lines_split_across_chunks_are_reassembled():
    # A JSON event may arrive in several TCP chunks, and one chunk may end several events.
    event = {"type": "ADDED", "object": {"metadata": {"name": "x", "namespace": "n",
                                                      "resourceVersion": "7"}}}
    line = json.dumps(event).encode() + b"\n"
    splitter = LineSplitter()
    lines = []
    for chunk in (line[:5], line[5:20], line[20:] + line[:3], line[3:] + b"\n"):
        lines.extend(splitter.feed(chunk))
    assert [json.loads(x) for x in lines] == [event, event]


async def test_resync_redelivers_cached_objects_at_low_priority(api, informers):
    await ensure_namespace(api, "resync")
    await create_config_map(api, "resync", "cm")
    informer, log = start(informers, api, CONFIG_MAPS, namespaces=("resync",),
                          resync_period=0.05)
    queue: WorkQueue[ObjectKey] = WorkQueue()
    informer.add_handler(enqueue_object(queue), replay=False)
    assert await informer.wait_synced(10)
    await wait_for(lambda: len(log.of("resync/cm", EventType.MODIFIED)) >= 2, what="resyncs")
    event = log.of("resync/cm", EventType.MODIFIED)[0]
    assert event.resync
    assert event.old is event.new
    key, priority = await next_key(queue)
    assert (key, priority) == (K("resync/cm"), LOW_PRIORITY)
    await queue.shutdown()


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


async def _applied_config_map(api, name: str) -> None:
    body = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "slim",
                     "annotations": {LAST_APPLIED: '{"big": "' + "x" * 2000 + '"}', "keep": "me"}},
        "data": {"v": "1"},
    }
    await request_json(api, "POST", CONFIG_MAPS.collection_path("slim"), body=body)


async def test_the_cache_holds_neither_managed_fields_nor_the_last_applied_copy(api, informers):
    """Issue 21: what the operator never reads is dropped as objects arrive, listed or
    watched; its other annotations stay."""
    await ensure_namespace(api, "slim")
    await _applied_config_map(api, "listed")
    informer, log = start(informers, api, CONFIG_MAPS, namespaces=("slim",))
    assert await informer.wait_synced(10)
    await _applied_config_map(api, "watched")
    await wait_for(lambda: log.of("slim/watched"), what="the watched ConfigMap")
    for name in ("listed", "watched"):
        cached = informer.store.get(K(f"slim/{name}"))
        assert cached is not None
        assert "managedFields" not in cached["metadata"]
        assert cached["metadata"]["annotations"] == {"keep": "me"}
    served = await request_json(api, "GET", CONFIG_MAPS.object_path("slim", "listed"))
    assert LAST_APPLIED in served["metadata"]["annotations"]  # the server keeps it


def test_slim_drops_managed_fields_and_last_applied_only():
    obj = {"metadata": {"name": "a", "managedFields": [{"manager": "kubectl"}],
                        "annotations": {LAST_APPLIED: "{}", "other": "1"}}, "spec": {"x": 1}}
    assert slim(obj) == {"metadata": {"name": "a", "annotations": {"other": "1"}},
                         "spec": {"x": 1}}
    assert slim({"metadata": {"name": "b"}}) == {"metadata": {"name": "b"}}


async def test_the_cache_returns_what_the_server_holds_after_updates_and_a_relist(
    kubeapi, api, informers
):
    """Issue 21: whatever form the store keeps objects in, what it returns is what the server
    holds (less managedFields and last-applied), after creates, watched updates and a relist
    forced by an expired watch."""
    await ensure_namespace(api, "same")
    for name in ("a", "b"):
        await _applied_config_map_in(api, "same", name)
    informer, log = start(informers, api, CONFIG_MAPS, namespaces=("same",))
    assert await informer.wait_synced(10)

    async def matches_server() -> bool:
        listed = await request_json(api, "GET", CONFIG_MAPS.collection_path("same"))
        served = {}
        for item in listed["items"]:
            item.setdefault("kind", "ConfigMap")
            item.setdefault("apiVersion", "v1")
            served[ObjectKey.of(item)] = slim(item)
        cached = {key: informer.store.get(key) for key in informer.store.keys_in_scope(None)}
        return cached == served

    assert await matches_server()
    await update_config_map(api, "same", "a", {"v": "2", "w": "new"})
    await wait_for(lambda: any(e.new and e.new.get("data", {}).get("v") == "2"
                               for e in log.of("same/a", EventType.MODIFIED)),
                   what="the watched update")
    assert await matches_server()

    relists = informer.reflectors[0].lists
    # As in the 410 test above: the watch is cut and the history it would resume from is
    # forgotten, with no await in between that would let the informer watch again.
    kubeapi.faults.close_watches()
    await kubeapi.create("/api/v1/namespaces/default/configmaps",
                         {"metadata": {"name": "elsewhere-same"}})
    kubeapi.faults.expire_history()
    await delete(api, CONFIG_MAPS, "same", "b")
    await update_config_map(api, "same", "a", {"v": "3"})
    await wait_for(lambda: informer.reflectors[0].lists > relists, what="the relist")
    await wait_for(lambda: K("same/b") not in informer.store, what="the deletion")
    await wait_for(lambda: (informer.store.get(K("same/a")) or {}).get("data", {}).get("v") == "3",
                   what="the last update")
    assert await matches_server()
    for key in informer.store.keys_in_scope(None):
        kept = json.dumps(informer.store.get(key))
        assert "managedFields" not in kept
        assert LAST_APPLIED not in kept


async def _applied_config_map_in(api, namespace: str, name: str) -> None:
    body = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace,
                     "annotations": {LAST_APPLIED: '{"applied": true}', "keep": "me"}},
        "data": {"v": "1"},
    }
    await request_json(api, "POST", CONFIG_MAPS.collection_path(namespace), body=body)

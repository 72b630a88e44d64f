"""Contract: watches from a resourceVersion, from zero, bookmarks, timeouts, selectors, 410."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from kubernetes_asyncio import watch
from kubernetes_asyncio.client.rest import ApiException

from sim.kubeapi.testing import RunningEmulator
from tests.sim.kubeapi.conftest import GROUP, VERSION, Target
from tests.sim.kubeapi.watching import RawWatch, summary

MERGE = "application/merge-patch+json"


async def test_watch_from_resource_version_replays_only_newer(target: Target):
    await target.create_widget("before")
    listed = await target.custom.list_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets"
    )
    list_rv = listed["metadata"]["resourceVersion"]
    await target.create_widget("after")
    stream = await RawWatch.widgets(target, resource_version=list_rv)
    try:
        first = await stream.next()
        assert summary(first) == ("ADDED", "after")
        assert int(first["object"]["metadata"]["resourceVersion"]) > int(list_rv)
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "before",
            {"spec": {"size": 9}},
            _content_type=MERGE,
        )
        second = await stream.next()
        assert summary(second) == ("MODIFIED", "before")
        assert second["object"]["spec"]["size"] == 9
    finally:
        stream.close()


async def test_watch_without_version_starts_with_synthetic_added(target: Target):
    await target.create_widget("a")
    await target.create_widget("b")
    stream = await RawWatch.widgets(target)
    try:
        names = {summary(await stream.next()) for _ in range(2)}
        assert names == {("ADDED", "a"), ("ADDED", "b")}
        await target.custom.delete_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", "a"
        )
        assert summary(await stream.next()) == ("DELETED", "a")
    finally:
        stream.close()


@pytest.mark.parametrize("rv", [None, "0"])
async def test_watch_from_no_version_ends_initial_events_with_a_bookmark(
    target: Target, rv: str | None
):
    # Since Kubernetes 1.32 (WatchList), such a watch is a sendInitialEvents=true one.
    await target.create_widget("a")
    params: dict[str, Any] = {"allow_watch_bookmarks": True}
    if rv is not None:
        params["resource_version"] = rv
    stream = await RawWatch.widgets(target, **params)
    try:
        assert summary(await stream.next(skip_bookmarks=False)) == ("ADDED", "a")
        end = await stream.next(skip_bookmarks=False)
        assert end["type"] == "BOOKMARK"
        assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        await target.create_widget("b")
        assert summary(await stream.next()) == ("ADDED", "b")
    finally:
        stream.close()


async def test_bookmarks_carry_current_resource_version(target: Target):
    created = await target.create_widget("a")
    rv = created["metadata"]["resourceVersion"]
    # A real apiserver sends a bookmark about once a minute, and 2 s before a watch's timeout
    # ends it (so the client can resume from there); the emulator every second. Neither sends
    # one before something newer than the watch's starting version exists.
    stream = await RawWatch.widgets(
        target, resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=10
    )
    try:
        later = await target.create_widget("b")
        assert summary(await stream.next(skip_bookmarks=False)) == ("ADDED", "b")
        event = await stream.next(timeout=15, skip_bookmarks=False)
        assert event["type"] == "BOOKMARK"
        assert event["object"]["kind"] == "Widget"
        assert int(event["object"]["metadata"]["resourceVersion"]) >= int(
            later["metadata"]["resourceVersion"]
        )
    finally:
        stream.close()


async def test_no_bookmark_behind_the_start_version(emulator_only: RunningEmulator, target: Target):
    # Emulator-only: on a real server, etcd progress notifications may advance the watch cache
    # (and so send a bookmark) with no change to this resource at all.
    created = await target.create_widget("a")
    stream = await RawWatch.widgets(
        target,
        resource_version=created["metadata"]["resourceVersion"],
        allow_watch_bookmarks=True,
        timeout_seconds=3,
    )
    try:
        # Nothing at all, not even a bookmark, before the timeout ends the stream.
        assert await asyncio.wait_for(stream.response.content.readline(), 10) == b""
    finally:
        stream.close()


async def test_timeout_seconds_ends_stream(target: Target):
    listed = await target.custom.list_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets"
    )
    stream = await RawWatch.widgets(
        target, resource_version=listed["metadata"]["resourceVersion"], timeout_seconds=1
    )
    try:
        assert await stream.ended(timeout=10)
    finally:
        stream.close()


async def test_label_selector_moves_in_and_out(target: Target):
    await target.create_widget("w")
    listed = await target.custom.list_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets"
    )
    stream = await RawWatch.widgets(
        target, resource_version=listed["metadata"]["resourceVersion"], label_selector="team=a"
    )

    async def label(value: str | None) -> None:
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            {"metadata": {"labels": {"team": value}}},
            _content_type=MERGE,
        )

    try:
        await label("a")
        assert summary(await stream.next()) == ("ADDED", "w")
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            {"spec": {"size": 3}},
            _content_type=MERGE,
        )
        assert summary(await stream.next()) == ("MODIFIED", "w")
        relabelled = await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            {"metadata": {"labels": {"team": "b"}}},
            _content_type=MERGE,
        )
        left = await stream.next()
        assert summary(left) == ("DELETED", "w")
        # The object as the watcher last matched it, at the resource version of the change.
        assert left["object"]["metadata"]["labels"]["team"] == "a"
        assert left["object"]["spec"]["size"] == 3
        assert (
            left["object"]["metadata"]["resourceVersion"]
            == relabelled["metadata"]["resourceVersion"]
        )
    finally:
        stream.close()


async def test_field_selector_on_name(target: Target):
    stream = await RawWatch.configmaps(target, field_selector="metadata.name=wanted")
    try:
        await target.core.create_namespaced_config_map(
            target.namespace, {"metadata": {"name": "other"}}
        )
        await target.core.create_namespaced_config_map(
            target.namespace, {"metadata": {"name": "wanted"}}
        )
        assert summary(await stream.next()) == ("ADDED", "wanted")
    finally:
        stream.close()


async def test_watch_is_scoped_to_namespace(target: Target):
    other = f"{target.namespace}-other"
    await target.core.create_namespace({"metadata": {"name": other}})
    try:
        listed = await target.core.list_namespaced_config_map(target.namespace)
        stream = await RawWatch.configmaps(
            target, resource_version=listed.metadata.resource_version
        )
        try:
            await target.core.create_namespaced_config_map(other, {"metadata": {"name": "x"}})
            await target.core.create_namespaced_config_map(
                target.namespace, {"metadata": {"name": "mine"}}
            )
            assert summary(await stream.next()) == ("ADDED", "mine")
        finally:
            stream.close()
    finally:
        await target.core.delete_namespace(other)


async def test_watch_param_spellings(emulator_only: RunningEmulator, target: Target):
    import aiohttp

    await target.create_widget("w")
    url = f"{emulator_only.url}/apis/{GROUP}/{VERSION}/namespaces/{target.namespace}/widgets"
    async with aiohttp.ClientSession() as session:
        for spelling in ("true", "True", "1"):
            async with session.get(url, params={"watch": spelling, "timeoutSeconds": "1"}) as r:
                first = json.loads(await asyncio.wait_for(r.content.readline(), 5))
                assert summary(first) == ("ADDED", "w")


async def test_expired_history_gives_410_error_event(
    emulator_only: RunningEmulator, target: Target
):
    created = await target.create_widget("w")
    old_rv = created["metadata"]["resourceVersion"]
    await target.create_widget("w2")
    emulator_only.faults.expire_history()
    stream = await RawWatch.widgets(target, resource_version=old_rv)
    try:
        event = await stream.next()
        assert event["type"] == "ERROR"
        status = event["object"]
        assert status["kind"] == "Status"
        assert status["code"] == 410
        assert status["reason"] == "Expired"
    finally:
        stream.close()


async def test_history_size_bounds_replay(tmp_path, target: Target):
    from sim.kubeapi.testing import start_emulator

    if not target.emulated:
        pytest.skip("history size is an emulator setting")
    small = await start_emulator(history=3, kubeconfig_path=tmp_path / "small")
    try:
        from kubernetes_asyncio import client as k8s

        async with k8s.ApiClient(k8s.Configuration(host=small.url)) as api:
            core: Any = k8s.CoreV1Api(api)
            first = await core.create_namespaced_config_map("default", {"metadata": {"name": "c0"}})
            for i in range(1, 6):
                await core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
            w = watch.Watch()
            with pytest.raises(ApiException) as info:
                async for _ in w.stream(
                    core.list_namespaced_config_map,
                    "default",
                    resource_version=first.metadata.resource_version,
                    timeout_seconds=5,
                ):
                    pass
            assert info.value.status == 410
            # The last three events are still there.
            latest = await core.list_namespaced_config_map("default")
            recent_rv = int(latest.metadata.resource_version) - 2
            names = []
            async for event in w.stream(
                core.list_namespaced_config_map,
                "default",
                resource_version=str(recent_rv),
                timeout_seconds=1,
            ):
                names.append(event["object"].metadata.name)
            assert names == ["c4", "c5"]
    finally:
        await small.close()


async def test_kubernetes_asyncio_watch_stream(target: Target):
    listed = await target.core.list_namespaced_config_map(target.namespace)
    w = watch.Watch()
    seen: list[tuple[str, str]] = []

    async def consume() -> None:
        async for event in w.stream(
            target.core.list_namespaced_config_map,
            target.namespace,
            resource_version=listed.metadata.resource_version,
            timeout_seconds=30,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 2:
                w.stop()

    task = asyncio.create_task(consume())
    await target.core.create_namespaced_config_map(target.namespace, {"metadata": {"name": "c"}})
    await target.core.delete_namespaced_config_map("c", target.namespace)
    await asyncio.wait_for(task, 30)
    assert seen == [("ADDED", "c"), ("DELETED", "c")]

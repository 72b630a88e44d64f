"""Emulator-only: fault injection in-process and over HTTP (/_sim/faults/...)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from kubernetes_asyncio.client.rest import ApiException

from sim.kubeapi.testing import RunningEmulator
from tests.sim.kubeapi.conftest import Target
from tests.sim.kubeapi.watching import RawWatch


async def test_close_watches_ends_open_streams(emulator_only: RunningEmulator, target: Target):
    streams = [await RawWatch.configmaps(target) for _ in range(3)]
    try:

        async def registered() -> bool:
            return emulator_only.emulator.store.watcher_count() >= 3

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not await registered():
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        assert emulator_only.faults.close_watches() == 3
        for stream in streams:
            assert await stream.ended(timeout=5)
    finally:
        for stream in streams:
            stream.close()


async def test_fail_next_matches_verb_and_resource(emulator_only: RunningEmulator, target: Target):
    emulator_only.faults.fail_next(2, verb="list", resource="configmaps", status=503)
    # Other verbs and resources pass untouched.
    await target.core.list_namespaced_secret(target.namespace)
    await target.core.create_namespaced_config_map(target.namespace, {"metadata": {"name": "a"}})
    for _ in range(2):
        with pytest.raises(ApiException) as info:
            await target.core.list_namespaced_config_map(target.namespace)
        assert info.value.status == 503
    listed = await target.core.list_namespaced_config_map(target.namespace)
    assert [i.metadata.name for i in listed.items] == ["a"]


async def test_latency_delays_requests(emulator_only: RunningEmulator, target: Target):
    emulator_only.faults.set_latency(0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await target.core.list_namespaced_config_map(target.namespace)
    assert loop.time() - started >= 0.3
    emulator_only.faults.set_latency(0)


async def test_faults_over_http(emulator_only: RunningEmulator, target: Target):
    base = f"{emulator_only.url}/_sim/faults"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/fail-next", json={"n": 1, "verb": "get", "status": 500}
        ) as response:
            assert response.status == 200
        with pytest.raises(ApiException) as info:
            await target.core.read_namespace(target.namespace)
        assert info.value.status == 500
        await target.core.read_namespace(target.namespace)

        stream = await RawWatch.configmaps(target)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while emulator_only.emulator.store.watcher_count() < 1:
                assert loop.time() < deadline
                await asyncio.sleep(0.01)
            async with session.post(f"{base}/close-watches") as response:
                assert (await response.json())["closed"] == 1
            assert await stream.ended(timeout=5)
        finally:
            stream.close()

        created = await target.core.create_namespaced_config_map(
            target.namespace, {"metadata": {"name": "x"}}
        )
        await target.core.create_namespaced_config_map(
            target.namespace, {"metadata": {"name": "y"}}
        )
        async with session.post(f"{base}/expire-history") as response:
            assert response.status == 200
        stream = await RawWatch.configmaps(
            target, resource_version=created.metadata.resource_version
        )
        try:
            event = await stream.next()
            assert event["type"] == "ERROR"
            assert event["object"]["code"] == 410
        finally:
            stream.close()

        async with session.post(f"{base}/latency", json={"seconds": 0.2}) as response:
            assert response.status == 200
        assert emulator_only.faults.latency == 0.2
        async with session.post(f"{base}/reset") as response:
            assert response.status == 200
        assert emulator_only.faults.latency == 0


async def test_fail_next_can_target_the_object_or_its_status_and_a_name(
    emulator_only: RunningEmulator, target: Target
):
    ns = target.namespace
    for name in ("a", "b"):
        await target.core.create_namespaced_config_map(ns, {"metadata": {"name": name}})
    # Only a PATCH of "b" itself (not of another object, not of a subresource) fails.
    emulator_only.faults.fail_next(1, verb="patch", resource="configmaps", subresource="",
                                   name="b", status=409)
    await target.core.patch_namespaced_config_map("a", ns, {"data": {"k": "v"}})
    with pytest.raises(ApiException) as info:
        await target.core.patch_namespaced_config_map("b", ns, {"data": {"k": "v"}})
    assert info.value.status == 409
    await target.core.patch_namespaced_config_map("b", ns, {"data": {"k": "v"}})

    # A status-only rule leaves writes of the object itself alone.
    emulator_only.faults.fail_next(1, verb="patch", subresource="status", status=500)
    await target.core.patch_namespaced_config_map("a", ns, {"data": {"k": "w"}})
    assert emulator_only.faults.take_failure("patch", "configmaps", "status", "a") == 500


async def test_hold_next_keeps_a_request_until_released(
    emulator_only: RunningEmulator, target: Target
):
    ns = target.namespace
    await target.core.create_namespaced_config_map(ns, {"metadata": {"name": "held"}})
    hold = emulator_only.faults.hold_next(verb="patch", resource="configmaps", name="held")
    write = asyncio.create_task(
        target.core.patch_namespaced_config_map("held", ns, {"data": {"from": "held"}})
    )
    await asyncio.wait_for(hold.arrived.wait(), 5)
    # Meanwhile other requests (even a write of the same object) go through.
    await target.core.patch_namespaced_config_map("held", ns, {"data": {"other": "x"}})
    assert not write.done()
    hold.release()
    await asyncio.wait_for(write, 5)
    found = await target.core.read_namespaced_config_map("held", ns)
    assert found.data == {"from": "held", "other": "x"}


async def test_hold_over_http(emulator_only: RunningEmulator, target: Target):
    ns = target.namespace
    base = f"{emulator_only.url}/_sim/faults"
    await target.core.create_namespaced_config_map(ns, {"metadata": {"name": "h"}})
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/hold-next", json={"verb": "get", "name": "h"}) as r:
            hold = await r.json()
        assert hold["arrived"] is False
        read = asyncio.create_task(target.core.read_namespaced_config_map("h", ns))

        async def arrived() -> bool:
            async with session.get(f"{base}/holds") as r:
                holds = (await r.json())["holds"]
            return any(h["id"] == hold["id"] and h["arrived"] for h in holds)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not await arrived():
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        assert not read.done()
        async with session.post(f"{base}/release", json={"id": hold["id"]}) as r:
            assert r.status == 200
        assert (await asyncio.wait_for(read, 5)).metadata.name == "h"
        # reset releases whatever is still held.
        emulator_only.faults.hold_next(verb="get", name="h")
        read = asyncio.create_task(target.core.read_namespaced_config_map("h", ns))
        while not any(h.arrived.is_set() for h in emulator_only.faults.holds.values()
                      if not h.released.is_set()):
            assert loop.time() < deadline + 5
            await asyncio.sleep(0.01)
        async with session.post(f"{base}/reset") as r:
            assert r.status == 200
        await asyncio.wait_for(read, 5)

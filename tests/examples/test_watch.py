"""``examples.watch.ConditionWatcher`` against the in-process emulator: first times, generations,
deadlines and recovery from an expired watch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from examples.kube import KubeClient
from examples.watch import ConditionWatcher, accepted_for_generation

ROOT = Path(__file__).resolve().parents[2]
NS = "default"


def _api(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "gravitee.io/v1alpha1", "kind": "ApiV4Definition",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"name": name, "version": "1", "type": "PROXY",
                 "listeners": [{"type": "HTTP", "paths": [{"path": f"/{name}"}],
                                "entrypoints": [{"type": "http-proxy"}]}],
                 "endpointGroups": [{"name": "g", "type": "http-proxy", "endpoints": [
                     {"name": "e", "type": "http-proxy", "inheritConfiguration": False,
                      "configuration": {"target": "http://backend"}}]}]},
    }


async def _accept(kube: KubeClient, name: str, generation: int, status: str = "True") -> None:
    await kube.merge_patch("ApiV4Definition", NS, name, {"status": {"conditions": [{
        "type": "Accepted", "status": status, "reason": "Accepted", "message": "",
        "observedGeneration": generation, "lastTransitionTime": "2026-01-01T00:00:00Z"}]}},
        subresource="status")


@pytest.fixture
async def kube(kubeapi):
    await kubeapi.apply_crd_files(ROOT / "manifests" / "crds" / "gravitee.io_apiv4definitions.yaml")
    async with KubeClient(kubeapi.url) as client:
        yield client


async def test_records_the_first_time_each_object_is_accepted(kube):
    await kube.create(_api("one"))
    await _accept(kube, "one", 1)  # already accepted before the watch: counted by the list
    ticks = iter(range(100))
    watcher = ConditionWatcher(kube, "ApiV4Definition", NS,
                               predicate=accepted_for_generation({}), clock=lambda: next(ticks))
    async with watcher:
        assert watcher.first_seen == {f"{NS}/one": 0}
        await kube.create(_api("two"))
        await _accept(kube, "two", 1, status="False")
        assert not await watcher.wait_for(keys=[f"{NS}/one", f"{NS}/two"], timeout=0.3)
        await _accept(kube, "two", 1)
        assert await watcher.wait_for(keys=[f"{NS}/one", f"{NS}/two"], timeout=5)
        first = watcher.first_seen[f"{NS}/two"]
        await _accept(kube, "two", 1)  # later events do not move the first time
        await kube.merge_patch("ApiV4Definition", NS, "two", {"metadata": {"labels": {"x": "y"}}})
        assert await watcher.wait_until(
            lambda: watcher.latest[f"{NS}/two"]["metadata"].get("labels") == {"x": "y"},
            timeout=5)
        assert watcher.first_seen[f"{NS}/two"] == first


async def test_an_update_counts_only_once_its_new_generation_is_accepted(kube):
    await kube.create(_api("api"))
    await _accept(kube, "api", 1)
    updated = await kube.merge_patch("ApiV4Definition", NS, "api",
                                     {"spec": {"description": "changed"}})
    generation = updated["metadata"]["generation"]
    assert generation == 2
    watcher = ConditionWatcher(kube, "ApiV4Definition", NS,
                               predicate=accepted_for_generation({f"{NS}/api": generation}))
    async with watcher:
        assert not await watcher.wait_for(keys=[f"{NS}/api"], timeout=0.3)
        await _accept(kube, "api", generation)
        assert await watcher.wait_for(keys=[f"{NS}/api"], timeout=5)


async def test_relists_after_the_watch_expires(kube, kubeapi):
    watcher = ConditionWatcher(kube, "ApiV4Definition", NS, predicate=accepted_for_generation({}))
    async with watcher:
        await kube.create(_api("before"))
        await _accept(kube, "before", 1)
        assert await watcher.wait_for(keys=[f"{NS}/before"], timeout=5)
        # The next watch is answered 410 Gone, as after a compaction: the watcher must list again.
        kubeapi.faults.fail_next(1, verb="watch", resource="apiv4definitions", status=410)
        kubeapi.faults.close_watches()
        await kube.create(_api("after"))
        await _accept(kube, "after", 1)
        assert await watcher.wait_for(keys=[f"{NS}/after"], timeout=10)
    assert watcher.relists >= 1


async def test_count_mode_and_deadline(kube):
    watcher = ConditionWatcher(kube, "ApiV4Definition", NS, predicate=accepted_for_generation({}),
                               keep_objects=False)
    async with watcher:
        assert not await watcher.wait_for(count=1, timeout=0.2)
        await kube.create(_api("a"))
        await _accept(kube, "a", 1)
        assert await watcher.wait_for(count=1, timeout=5)
    assert watcher.latest == {}

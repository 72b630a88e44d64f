"""The read-back scheduler on a fake clock: pace, budget, policy, forgetting
(docs/behavior/drift.md#pace-and-cost)."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from typing import Any, cast

import pytest

from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.queue.clock import FakeClock
from controller.queue.workqueue import LOW_PRIORITY, WorkQueue
from controller.reconcilers.framework.readback import (
    ReadBackKey,
    ReadBackScheduler,
    Target,
    policy_of,
)


def api(name: str, policy: str | None = None) -> dict[str, Any]:
    annotations = {"gravitee.io/drift-policy": policy} if policy else {}
    return {"metadata": {"namespace": "ns", "name": name, "annotations": annotations}}


class RecordingQueue:
    """Stands for a kind's work queue: records what the scheduler adds, and when."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.added: list[tuple[float, ObjectKey, int]] = []
        self.shutting_down = False
        self.on_add: Any = None

    def add(self, key: ObjectKey, *, priority: int = 0) -> None:
        self.added.append((self.clock.now(), key, priority))
        if self.on_add is not None:
            self.on_add(key)


def scheduler_with(objects: list[dict[str, Any]], *, interval: float, rate: float,
                   finish: bool = True) -> tuple[ReadBackScheduler, RecordingQueue, Store,
                                                 FakeClock]:
    clock = FakeClock()
    store = Store()
    for obj in objects:
        store.upsert(obj)
    queue = RecordingQueue(clock)
    scheduler = ReadBackScheduler(interval=interval, rate=rate, clock=clock,
                                  rng=random.Random(7))
    target = scheduler.register(
        Target("apis", store, cast(WorkQueue[ObjectKey], queue), "report"))
    if finish:  # the worker handles each read-back at once
        queue.on_add = lambda key: scheduler.finished(target, ObjectKey(*key))
    for key, _ in store.items():
        scheduler.track(target, key, listed_at_start=True)
    return scheduler, queue, store, clock


async def run_for(clock: FakeClock, seconds: float, step: float = 0.01) -> None:
    for _ in range(round(seconds / step)):
        clock.advance(step)
        for _ in range(4):
            await asyncio.sleep(0)


async def test_more_objects_than_the_budget_run_at_the_budget_evenly_spaced():
    objects = [api(f"a{i}") for i in range(100)]
    scheduler, queue, _, clock = scheduler_with(objects, interval=10, rate=5)
    scheduler.start()
    await run_for(clock, 10)
    assert queue.added == []  # a restart costs nothing at once: the first period is free
    await run_for(clock, 4)
    await scheduler.close()
    times = [at for at, _, _ in queue.added]
    assert 19 <= len(times) <= 21  # 5 per second for 4 seconds
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.2 - 1e-9
    assert {priority for _, _, priority in queue.added} == {LOW_PRIORITY}
    assert all(type(key) is ReadBackKey for _, key, _ in queue.added)


async def test_fewer_objects_are_spread_over_the_interval():
    objects = [api(f"a{i}") for i in range(4)]
    scheduler, queue, _, clock = scheduler_with(objects, interval=10, rate=100)
    scheduler.start()
    await run_for(clock, 50)
    await scheduler.close()
    times = [at for at, _, _ in queue.added]
    # Never two within interval / (1.25 * objects) = 2 s; each object every period or so.
    assert min(b - a for a, b in itertools.pairwise(times)) >= 2.0 - 1e-9
    counts = Counter(key.name for _, key, _ in queue.added)
    assert set(counts) == {"a0", "a1", "a2", "a3"}
    assert all(3 <= count <= 5 for count in counts.values()), counts


async def test_objects_with_policy_off_spend_no_budget():
    objects = [api(f"off{i}", "off") for i in range(9)] + [api("on")]
    scheduler, queue, _, clock = scheduler_with(objects, interval=1, rate=1)
    scheduler.start()
    await run_for(clock, 5)
    await scheduler.close()
    assert [key.name for _, key, _ in queue.added]
    assert {
        key.name for _, key, _ in queue.added} == {"on"}


async def test_an_object_that_is_gone_is_forgotten():
    objects = [api("stays"), api("goes")]
    scheduler, queue, store, clock = scheduler_with(objects, interval=1, rate=50)
    store.delete(ObjectKey("ns", "goes"))
    scheduler.start()
    await run_for(clock, 3)
    await scheduler.close()
    assert scheduler.tracked == 1
    assert {key.name for _, key, _ in queue.added} == {"stays"}


async def test_at_most_one_seconds_budget_waits_in_the_queues():
    objects = [api(f"a{i}") for i in range(50)]
    scheduler, queue, _, clock = scheduler_with(objects, interval=1, rate=4, finish=False)
    scheduler.start()
    await run_for(clock, 5)
    await scheduler.close()
    assert len(queue.added) == 4  # nothing finished: the scheduler waits


def test_a_read_back_key_is_never_the_objects_key():
    key = ObjectKey("ns", "a")
    read_back = ReadBackKey("ns", "a")
    assert read_back != key
    assert key != read_back
    assert len({key, read_back}) == 2
    assert read_back == ReadBackKey("ns", "a")
    assert read_back.object_key == key
    assert type(read_back.object_key) is ObjectKey
    assert str(read_back) == "ns/a"


@pytest.mark.parametrize(
    ("annotation", "default", "expected"),
    [(None, "report", "report"), ("repair", "report", "repair"), ("OFF", "report", "off"),
     ("sometimes", "repair", "repair")],
)
def test_the_annotation_overrides_the_setting(annotation: str | None, default: str,
                                              expected: str):
    assert policy_of(api("a", annotation), default) == expected  # type: ignore[arg-type]

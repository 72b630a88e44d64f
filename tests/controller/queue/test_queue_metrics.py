"""Queue metric hooks: what the queue reports, and when, through the provider protocol."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from controller.queue.clock import FakeClock
from controller.queue.workqueue import LOW_PRIORITY, WorkQueue, WorkQueueOptions


class Recorded:
    """An in-memory provider: one instance records the series of one queue."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.depth: Counter[int] = Counter()
        self.adds = 0
        self.retries = 0
        self.latency: list[float] = []
        self.work: list[float] = []
        self.unfinished: list[float] = []
        self.longest: list[float] = []

    # provider
    def new_depth_metric(self, name):
        self.names.append(name)
        outer = self

        class Depth:
            def inc(self, priority: int) -> None:
                outer.depth[priority] += 1

            def dec(self, priority: int) -> None:
                outer.depth[priority] -= 1

        return Depth()

    def _counter(self, attr):
        outer = self

        class C:
            def inc(self) -> None:
                setattr(outer, attr, getattr(outer, attr) + 1)

        return C()

    def _sink(self, values, method):
        class S:
            pass

        sink = S()
        setattr(sink, method, values.append)
        return sink

    def new_adds_metric(self, name):
        return self._counter("adds")

    def new_retries_metric(self, name):
        return self._counter("retries")

    def new_latency_metric(self, name):
        return self._sink(self.latency, "observe")

    def new_work_duration_metric(self, name):
        return self._sink(self.work, "observe")

    def new_unfinished_work_seconds_metric(self, name):
        return self._sink(self.unfinished, "set")

    def new_longest_running_processor_seconds_metric(self, name):
        return self._sink(self.longest, "set")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


@pytest.fixture
def queue(clock: FakeClock, recorded: Recorded) -> WorkQueue[str]:
    return WorkQueue(WorkQueueOptions(name="things", clock=clock, metrics_provider=recorded))


async def get(queue: WorkQueue[str]) -> str | None:
    return await asyncio.wait_for(queue.get(), 1.0)


def test_an_unnamed_queue_publishes_nothing(clock: FakeClock, recorded: Recorded):
    queue: WorkQueue[str] = WorkQueue(WorkQueueOptions(clock=clock, metrics_provider=recorded))
    queue.add("a")
    assert recorded.adds == 0
    assert recorded.names == []
    assert clock.pending_timers == 0


async def test_adds_and_depth_count_keys_not_duplicate_adds(
    queue: WorkQueue[str], recorded: Recorded
):
    assert recorded.names == ["things"]
    queue.add("a")
    queue.add("a")
    queue.add("b", priority=LOW_PRIORITY)
    assert recorded.adds == 2
    assert recorded.depth == {0: 1, LOW_PRIORITY: 1}
    queue.add("b", priority=3)  # moves between priority series
    assert recorded.depth == {0: 1, LOW_PRIORITY: 0, 3: 1}
    assert await get(queue) == "b"
    assert recorded.depth[3] == 0


async def test_delayed_keys_enter_depth_when_they_become_ready(
    queue: WorkQueue[str], recorded: Recorded, clock: FakeClock
):
    queue.add_after("a", 2.0)
    assert recorded.adds == 0
    assert recorded.retries == 1
    clock.advance(2.0)
    assert recorded.adds == 1
    assert recorded.depth[0] == 1


async def test_latency_clock_starts_at_the_first_add_and_work_clock_at_get(
    queue: WorkQueue[str], recorded: Recorded, clock: FakeClock
):
    queue.add("a")
    clock.advance(1.0)
    queue.add("a")  # must not restart the latency clock
    clock.advance(1.0)
    assert await get(queue) == "a"
    assert recorded.latency == [2.0]
    clock.advance(3.0)
    queue.done("a")
    assert recorded.work == [3.0]


async def test_latency_of_a_key_readded_while_processing_counts_from_that_add(
    queue: WorkQueue[str], recorded: Recorded, clock: FakeClock
):
    queue.add("a")
    assert await get(queue) == "a"
    clock.advance(1.0)
    queue.add("a")
    clock.advance(2.0)
    queue.done("a")
    clock.advance(0.5)
    assert await get(queue) == "a"
    assert recorded.latency == [0.0, 2.5]
    assert recorded.work == [3.0]


async def test_retries_count_every_non_zero_delay(queue: WorkQueue[str], recorded: Recorded):
    queue.add_after("a", 0)
    queue.add_after("b", 1.0)
    queue.add_after("b", 0.5)
    queue.add_rate_limited("c")
    assert recorded.retries == 3


async def test_unfinished_work_gauges_refresh_every_half_second(
    queue: WorkQueue[str], recorded: Recorded, clock: FakeClock
):
    queue.add("a")
    queue.add("b")
    assert await get(queue) == "a"
    clock.advance(1.0)
    assert await get(queue) == "b"
    recorded.unfinished.clear()
    recorded.longest.clear()
    clock.advance(0.49)
    assert recorded.unfinished == []  # the half-second tick has not come yet
    clock.advance(0.01)
    assert recorded.unfinished == [pytest.approx(1.5 + 0.5)]  # a: 1.5 s, b: 0.5 s
    assert recorded.longest == [pytest.approx(1.5)]
    queue.done("a")
    queue.done("b")
    clock.advance(0.5)
    assert recorded.unfinished[-1] == 0.0
    assert recorded.longest[-1] == 0.0


async def test_shutdown_empties_depth_and_stops_the_ticker(
    queue: WorkQueue[str], recorded: Recorded, clock: FakeClock
):
    queue.add("a", priority=LOW_PRIORITY)
    queue.add("b")
    await queue.shutdown()
    assert recorded.depth == {0: 0, LOW_PRIORITY: 0}
    assert clock.pending_timers == 0

"""WorkQueue contract: dedup, processing re-queue, delays, priorities, rate limits, shutdown."""

from __future__ import annotations

import asyncio
import random

import pytest

from controller.queue.clock import FakeClock, RealClock
from controller.queue.ratelimiters import ItemExponentialFailureRateLimiter
from controller.queue.workqueue import LOW_PRIORITY, WorkQueue, WorkQueueOptions
from tests.controller.queue.waiting import settle, until


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock: FakeClock) -> WorkQueue[str]:
    return WorkQueue(WorkQueueOptions(clock=clock))


async def get(queue: WorkQueue[str]) -> str | None:
    return await asyncio.wait_for(queue.get(), 1.0)


async def drain_ready(queue: WorkQueue[str]) -> list[str]:
    """Hand out every ready key in order, marking each done."""
    keys: list[str] = []
    while len(queue):
        key = await get(queue)
        assert key is not None
        keys.append(key)
        queue.done(key)
    return keys


# ---------------------------------------------------------------- dedup and FIFO


async def test_keys_come_out_in_insertion_order(queue: WorkQueue[str]):
    for key in ("a", "b", "c"):
        queue.add(key)
    assert await drain_ready(queue) == ["a", "b", "c"]


async def test_adding_a_waiting_key_is_a_no_op(queue: WorkQueue[str]):
    queue.add("a")
    queue.add("b")
    queue.add("a")
    queue.add("a")
    assert len(queue) == 2
    assert await drain_ready(queue) == ["a", "b"]


async def test_key_added_while_processing_comes_back_only_after_done(queue: WorkQueue[str]):
    queue.add("a")
    assert await get(queue) == "a"
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    # "a" is held while it is processing: the next worker gets "b", not a second "a".
    assert await get(queue) == "b"
    waiter = asyncio.create_task(queue.get())
    await settle()
    assert not waiter.done()
    queue.done("a")
    assert await asyncio.wait_for(waiter, 1.0) == "a"
    assert queue.processing == 2  # "a" again, and "b"


async def test_done_of_an_unknown_key_is_ignored(queue: WorkQueue[str]):
    queue.done("never-seen")
    queue.add("a")
    assert await drain_ready(queue) == ["a"]


async def test_a_waiting_get_is_woken_by_add(queue: WorkQueue[str]):
    waiter = asyncio.create_task(queue.get())
    await settle()
    assert not waiter.done()
    queue.add("a")
    assert await asyncio.wait_for(waiter, 1.0) == "a"


async def test_a_cancelled_get_does_not_swallow_the_key(queue: WorkQueue[str]):
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await settle()
    queue.add("a")  # wakes "first" ...
    first.cancel()  # ... which is cancelled before it can run
    assert await asyncio.wait_for(second, 1.0) == "a"
    assert first.cancelled()


async def test_n_workers_never_hold_the_same_key_at_once():
    queue: WorkQueue[str] = WorkQueue()
    rng = random.Random(7)
    keys = [f"ns/k{i}" for i in range(12)]
    in_flight: set[str] = set()
    overlaps: list[str] = []
    processed: dict[str, int] = dict.fromkeys(keys, 0)
    last_add_seq: dict[str, int] = {}
    last_start_seq: dict[str, int] = {}
    seq = 0

    async def worker() -> None:
        nonlocal seq
        while (key := await queue.get()) is not None:
            if key in in_flight:
                overlaps.append(key)
            in_flight.add(key)
            seq += 1
            last_start_seq[key] = seq
            for _ in range(rng.randint(0, 3)):
                await asyncio.sleep(0)
            processed[key] += 1
            in_flight.discard(key)
            queue.done(key)

    async def producer() -> None:
        nonlocal seq
        for _ in range(3000):
            key = rng.choice(keys)
            seq += 1
            last_add_seq[key] = seq
            queue.add(key)
            if rng.random() < 0.5:
                await asyncio.sleep(0)

    workers = [asyncio.create_task(worker()) for _ in range(8)]
    await asyncio.wait_for(producer(), 10.0)
    await until(lambda: len(queue) == 0 and queue.processing == 0, what="queue drained")
    await queue.shutdown()
    await asyncio.wait_for(asyncio.gather(*workers), 2.0)

    assert overlaps == []
    # Stingy, yet nothing lost: every key was processed after its last add.
    for key in keys:
        assert last_start_seq[key] > last_add_seq[key], key
    assert sum(processed.values()) < 3000  # adds collapsed


# ---------------------------------------------------------------- delays


async def test_add_after_parks_the_key_until_its_ready_time(
    queue: WorkQueue[str], clock: FakeClock
):
    queue.add_after("a", 1.0)
    assert len(queue) == 0
    assert queue.waiting == 1
    clock.advance(0.999)
    assert len(queue) == 0
    clock.advance(0.001)
    assert len(queue) == 1
    assert queue.waiting == 0
    assert await get(queue) == "a"


async def test_a_waiting_get_is_woken_when_a_delay_expires(queue: WorkQueue[str], clock: FakeClock):
    waiter = asyncio.create_task(queue.get())
    queue.add_after("a", 5.0)
    await settle()
    assert not waiter.done()
    clock.advance(5.0)
    assert await asyncio.wait_for(waiter, 1.0) == "a"


async def test_earliest_ready_time_wins(queue: WorkQueue[str], clock: FakeClock):
    queue.add_after("a", 10.0)
    queue.add_after("a", 5.0)
    queue.add_after("a", 7.0)  # later than the current 5 s: ignored
    assert queue.waiting == 1
    clock.advance(5.0)
    assert await drain_ready(queue) == ["a"]
    clock.advance(10.0)  # the superseded 10 s entry must not bring it back
    assert len(queue) == 0
    assert queue.waiting == 0


async def test_delays_expire_in_ready_time_order(queue: WorkQueue[str], clock: FakeClock):
    queue.add_after("slow", 3.0)
    queue.add_after("fast", 1.0)
    queue.add_after("mid", 2.0)
    clock.advance(3.0)
    assert await drain_ready(queue) == ["fast", "mid", "slow"]


async def test_zero_or_negative_delay_is_a_plain_add(queue: WorkQueue[str]):
    queue.add_after("a", 0)
    queue.add_after("b", -1)
    assert len(queue) == 2
    assert queue.waiting == 0
    assert await drain_ready(queue) == ["a", "b"]


async def test_plain_add_of_a_delayed_key_makes_it_ready_now(
    queue: WorkQueue[str], clock: FakeClock
):
    queue.add_after("a", 10.0)
    queue.add("a")
    assert len(queue) == 1
    assert queue.waiting == 0
    assert await drain_ready(queue) == ["a"]
    clock.advance(10.0)
    assert len(queue) == 0  # the old delay was cancelled, not left to fire a second time


async def test_delaying_a_ready_key_keeps_it_ready(queue: WorkQueue[str]):
    queue.add("a")
    queue.add_after("a", 5.0)
    assert len(queue) == 1
    assert queue.waiting == 0


async def test_delay_expiring_while_processing_holds_until_done(
    queue: WorkQueue[str], clock: FakeClock
):
    queue.add("a")
    assert await get(queue) == "a"
    queue.add_after("a", 1.0)
    clock.advance(1.0)
    assert len(queue) == 1
    queue.add("b")
    assert await get(queue) == "b"
    queue.done("a")
    assert await get(queue) == "a"


async def test_delayed_keys_work_with_the_real_clock():
    queue: WorkQueue[str] = WorkQueue(WorkQueueOptions(clock=RealClock()))
    queue.add_after("a", 0.02)
    queue.add_after("b", 0.01)
    assert await asyncio.wait_for(queue.get(), 2.0) == "b"
    assert await asyncio.wait_for(queue.get(), 2.0) == "a"
    await queue.shutdown()


# ---------------------------------------------------------------- priorities


async def test_higher_priority_first_and_fifo_within_a_priority(queue: WorkQueue[str]):
    queue.add("low1", priority=LOW_PRIORITY)
    queue.add("a")
    queue.add("high", priority=10)
    queue.add("low2", priority=LOW_PRIORITY)
    queue.add("b")
    assert await drain_ready(queue) == ["high", "a", "b", "low1", "low2"]


async def test_duplicate_adds_keep_the_highest_priority(queue: WorkQueue[str]):
    queue.add("a", priority=LOW_PRIORITY)
    queue.add("b")
    queue.add("a", priority=5)
    queue.add("c", priority=5)
    queue.add("c", priority=LOW_PRIORITY)  # lower: ignored
    assert await drain_ready(queue) == ["a", "c", "b"]


async def test_a_real_edit_overtakes_the_startup_flood(queue: WorkQueue[str]):
    for i in range(100):
        queue.add(f"ns/listed-{i}", priority=LOW_PRIORITY)
    queue.add("ns/edited")
    assert await get(queue) == "ns/edited"


async def test_priority_of_a_delayed_key_is_the_max_across_adds(
    queue: WorkQueue[str], clock: FakeClock
):
    queue.add("b")
    queue.add_after("a", 1.0, priority=LOW_PRIORITY)
    queue.add_after("a", 2.0, priority=10)  # later time ignored, higher priority kept
    clock.advance(1.0)
    assert await drain_ready(queue) == ["a", "b"]


async def test_delayed_keys_queue_behind_keys_that_became_ready_earlier(
    queue: WorkQueue[str], clock: FakeClock
):
    queue.add_after("x", 1.0)
    queue.add("y")
    clock.advance(1.0)
    queue.add("z")
    assert await drain_ready(queue) == ["y", "x", "z"]


async def test_priority_raised_while_processing_applies_when_it_comes_back(queue: WorkQueue[str]):
    queue.add("a")
    assert await get(queue) == "a"
    queue.add("a", priority=LOW_PRIORITY)
    queue.add("b")
    queue.add("a", priority=10)
    queue.done("a")
    assert await drain_ready(queue) == ["a", "b"]


async def test_get_with_priority_reports_the_queued_priority(queue: WorkQueue[str]):
    queue.add("a", priority=LOW_PRIORITY)
    assert await asyncio.wait_for(queue.get_with_priority(), 1.0) == ("a", LOW_PRIORITY)


# ---------------------------------------------------------------- rate limiting


async def test_add_rate_limited_backs_off_exponentially(queue: WorkQueue[str], clock: FakeClock):
    queue.add_rate_limited("a")
    assert queue.num_requeues("a") == 1
    clock.advance(0.0049)
    assert len(queue) == 0
    clock.advance(0.0001)
    assert await drain_ready(queue) == ["a"]
    queue.add_rate_limited("a")
    clock.advance(0.0099)
    assert len(queue) == 0
    clock.advance(0.0001)
    assert await drain_ready(queue) == ["a"]
    assert queue.num_requeues("a") == 2
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    queue.add_rate_limited("a")
    clock.advance(0.005)
    assert len(queue) == 1


async def test_queue_uses_the_limiter_it_is_given(clock: FakeClock):
    limiter = ItemExponentialFailureRateLimiter(base=1.0, max_delay=4.0)
    queue: WorkQueue[str] = WorkQueue(WorkQueueOptions(clock=clock, rate_limiter=limiter))
    for _ in range(4):
        limiter.when("a")
    queue.add_rate_limited("a")  # 5th failure: capped at 4 s
    clock.advance(3.9)
    assert len(queue) == 0
    clock.advance(0.1)
    assert len(queue) == 1


# ---------------------------------------------------------------- shutdown


async def test_shutdown_releases_waiting_getters_with_none(queue: WorkQueue[str]):
    waiters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await settle()
    await queue.shutdown()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1.0) == [None, None, None]
    assert queue.shutting_down


async def test_after_shutdown_adds_are_dropped_and_get_returns_none(
    queue: WorkQueue[str], clock: FakeClock
):
    queue.add("ready")
    queue.add_after("later", 1.0)
    await queue.shutdown()
    queue.add("x")
    queue.add_after("y", 1.0)
    queue.add_rate_limited("z")
    clock.advance(10)
    assert len(queue) == 0
    assert queue.waiting == 0
    assert await get(queue) is None
    assert clock.pending_timers == 0


async def test_shutdown_without_drain_returns_while_work_is_in_flight(queue: WorkQueue[str]):
    queue.add("a")
    assert await get(queue) == "a"
    await asyncio.wait_for(queue.shutdown(), 1.0)
    assert queue.processing == 1
    queue.done("a")
    assert queue.processing == 0


async def test_shutdown_with_drain_waits_until_processing_is_empty(queue: WorkQueue[str]):
    queue.add("a")
    queue.add("b")
    assert await get(queue) == "a"
    assert await get(queue) == "b"
    queue.add("a")  # dirty while processing: must not be handed out after shutdown
    drain = asyncio.create_task(queue.shutdown(drain=True))
    await settle()
    assert not drain.done()
    queue.done("a")
    await settle()
    assert not drain.done()
    queue.done("b")
    await asyncio.wait_for(drain, 1.0)
    assert await get(queue) is None


async def test_shutdown_with_drain_on_an_idle_queue_returns_at_once(queue: WorkQueue[str]):
    await asyncio.wait_for(queue.shutdown(drain=True), 1.0)
    await asyncio.wait_for(queue.shutdown(drain=True), 1.0)  # idempotent


async def test_pending_covers_queued_parked_and_processing_keys():
    queue: WorkQueue[str] = WorkQueue(WorkQueueOptions(clock=FakeClock()))
    assert not queue.pending("a")
    queue.add("a")
    queue.add_after("b", 10)
    assert queue.pending("a")
    assert queue.pending("b")
    assert await queue.get() == "a"
    assert queue.pending("a")  # processing
    queue.done("a")
    assert not queue.pending("a")

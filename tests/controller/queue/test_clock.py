"""FakeClock and RealClock: timers, sleepers and deadlines."""

from __future__ import annotations

import asyncio
import functools

import pytest

from controller.queue.clock import FakeClock, RealClock


def test_fake_clock_starts_where_told_and_only_moves_when_advanced():
    clock = FakeClock(start=100.0)
    assert clock.now() == 100.0
    clock.advance(2.5)
    assert clock.now() == 102.5


def test_fake_clock_refuses_to_go_backwards():
    clock = FakeClock()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_timers_fire_in_deadline_order_and_see_their_own_deadline():
    clock = FakeClock()
    fired: list[tuple[str, float]] = []
    clock.call_at(3.0, lambda: fired.append(("c", clock.now())))
    clock.call_at(1.0, lambda: fired.append(("a", clock.now())))
    clock.call_at(2.0, lambda: fired.append(("b", clock.now())))
    clock.advance(2.5)
    assert fired == [("a", 1.0), ("b", 2.0)]
    assert clock.now() == 2.5
    clock.advance(10)
    assert fired[-1] == ("c", 3.0)


def test_equal_deadlines_fire_in_scheduling_order():
    clock = FakeClock()
    fired: list[int] = []
    for i in range(5):
        clock.call_at(1.0, functools.partial(fired.append, i))
    clock.advance(1.0)
    assert fired == [0, 1, 2, 3, 4]


def test_cancelled_timer_never_fires():
    clock = FakeClock()
    fired: list[str] = []
    handle = clock.call_at(1.0, lambda: fired.append("x"))
    assert clock.pending_timers == 1
    handle.cancel()
    assert clock.pending_timers == 0
    clock.advance(5)
    assert fired == []


def test_timer_scheduled_by_a_timer_inside_the_window_fires_in_the_same_advance():
    clock = FakeClock()
    fired: list[float] = []

    def first() -> None:
        fired.append(clock.now())
        clock.call_at(clock.now() + 1.0, lambda: fired.append(clock.now()))

    clock.call_at(1.0, first)
    clock.advance(3.0)
    assert fired == [1.0, 2.0]


async def test_sleepers_are_released_only_when_their_deadline_passes():
    clock = FakeClock()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("short", 1)), asyncio.create_task(sleeper("long", 5))]
    await asyncio.wait_for(clock.wait_for_sleepers(2), 1.0)
    assert clock.next_deadline == 1.0
    clock.advance(1)
    await asyncio.wait_for(tasks[0], 1.0)
    assert woke == ["short"]
    assert not tasks[1].done()
    clock.advance(4)
    await asyncio.wait_for(tasks[1], 1.0)
    assert woke == ["short", "long"]
    assert clock.sleepers == 0


async def test_sleep_until_a_past_deadline_returns_at_once():
    clock = FakeClock(start=10.0)
    await asyncio.wait_for(clock.sleep_until(5.0), 1.0)
    await asyncio.wait_for(clock.sleep(0), 1.0)
    assert clock.sleepers == 0


async def test_cancelled_sleeper_is_not_counted():
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(3))
    await asyncio.wait_for(clock.wait_for_sleepers(1), 1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0
    clock.advance(5)  # must not trip over the cancelled future


async def test_real_clock_timer_and_sleep_until():
    clock = RealClock()
    fired = asyncio.Event()
    start = clock.now()
    clock.call_at(start + 0.01, fired.set)
    await asyncio.wait_for(fired.wait(), 2.0)
    assert clock.now() >= start + 0.01
    deadline = clock.now() + 0.01
    await asyncio.wait_for(clock.sleep_until(deadline), 2.0)
    assert clock.now() >= deadline


async def test_real_clock_timer_can_be_cancelled():
    clock = RealClock()
    fired: list[bool] = []
    handle = clock.call_at(clock.now() + 0.01, lambda: fired.append(True))
    handle.cancel()
    done = asyncio.Event()
    clock.call_at(clock.now() + 0.03, done.set)
    await asyncio.wait_for(done.wait(), 2.0)
    assert fired == []

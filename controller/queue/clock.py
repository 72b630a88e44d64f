"""Time as the queue and the controller loop see it.

Owns: the ``Clock`` protocol (monotonic ``now()``, ``sleep``/``sleep_until``, and one-shot
``call_at`` timers), the production ``RealClock`` backed by the running asyncio loop, and
``FakeClock`` whose ``advance()`` fires timers synchronously and releases sleepers, so every
delay, backoff and deadline is testable without real waiting.

Must never: read wall-clock time (``time.time``) -- deadlines are monotonic -- or know what the
timers are used for.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

import attrs

__all__ = ["Clock", "FakeClock", "RealClock", "TimerHandle"]


class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled before it fires."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Monotonic time plus the two ways of waiting for it.

    ``call_at`` exists (besides ``sleep_until``) so that the queue can move a delayed key to the
    ready list at exactly its deadline without owning a background task.
    """

    def now(self) -> float:
        """Monotonic seconds; only differences are meaningful."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds`` (returns at once when ``<= 0``)."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Suspend the calling task until ``now() >= deadline``."""
        ...

    def call_at(self, deadline: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` once ``now() >= deadline``; needs a running event loop."""
        ...


class RealClock:
    """The process's monotonic clock, driving the running asyncio loop."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - self.now()))

    def call_at(self, deadline: float, callback: Callable[[], None]) -> TimerHandle:
        # Translate into the loop's own time base rather than assuming it is time.monotonic().
        delay = max(0.0, deadline - self.now())
        return asyncio.get_running_loop().call_later(delay, callback)

    def __repr__(self) -> str:
        return "RealClock()"


@attrs.define(eq=False)
class _FakeTimer:
    deadline: float
    callback: Callable[[], None] | None
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True
        self.callback = None


class FakeClock:
    """A clock that only moves when told to.

    ``advance(seconds)`` walks through every timer and sleeper due within the window in
    deadline order (FIFO for equal deadlines), setting ``now()`` to each deadline before firing
    it, so a callback observes the time it was scheduled for. Timer callbacks run synchronously
    inside ``advance``; sleepers are released (their futures resolved) and resume at the loop's
    next iteration.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._seq = itertools.count()
        # Entries: (deadline, seq, timer-or-future). Cancelled entries are skipped lazily.
        self._heap: list[tuple[float, int, _FakeTimer | asyncio.Future[None]]] = []
        self._sleeper_watchers: list[tuple[int, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + seconds)

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            # Still yield, like asyncio.sleep(0), so a loop of zero sleeps cannot starve others.
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (deadline, next(self._seq), future))
        self._notify_sleeper_watchers()
        await future

    def call_at(self, deadline: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _FakeTimer(deadline=deadline, callback=callback)
        heapq.heappush(self._heap, (deadline, next(self._seq), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing everything that falls due on the way."""
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go backwards")
        target = self._now + seconds
        while self._heap and self._heap[0][0] <= target:
            deadline, _, entry = heapq.heappop(self._heap)
            self._now = max(self._now, deadline)
            if isinstance(entry, _FakeTimer):
                callback = entry.callback
                if callback is not None and not entry.cancelled:
                    entry.callback = None
                    callback()
            elif not entry.done():
                entry.set_result(None)
        self._now = target

    @property
    def sleepers(self) -> int:
        """How many tasks are currently blocked in ``sleep``/``sleep_until``."""
        return sum(
            1 for _, _, e in self._heap if isinstance(e, asyncio.Future) and not e.done()
        )

    @property
    def pending_timers(self) -> int:
        """How many ``call_at`` callbacks are scheduled and not cancelled."""
        return sum(1 for _, _, e in self._heap if isinstance(e, _FakeTimer) and not e.cancelled)

    @property
    def next_deadline(self) -> float | None:
        """The earliest live timer or sleeper deadline, if any."""
        live = [
            d
            for d, _, e in self._heap
            if (isinstance(e, _FakeTimer) and not e.cancelled)
            or (isinstance(e, asyncio.Future) and not e.done())
        ]
        return min(live) if live else None

    async def wait_for_sleepers(self, count: int = 1) -> None:
        """Return once at least ``count`` tasks are blocked in a sleep.

        Lets a test advance time only after the code under test has started waiting, instead of
        guessing with real sleeps. Wrap it in ``asyncio.wait_for`` to bound it.
        """
        while self.sleepers < count:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._sleeper_watchers.append((count, future))
            try:
                await future
            finally:
                self._sleeper_watchers = [w for w in self._sleeper_watchers if w[1] is not future]

    def _notify_sleeper_watchers(self) -> None:
        sleeping = self.sleepers
        for count, future in self._sleeper_watchers:
            if sleeping >= count and not future.done():
                future.set_result(None)

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"

"""The work queue: which key is worked on next, and when.

Owns the contract of client-go's ``workqueue`` extended the way controller-runtime's priority
queue (its default since v0.23) extends it, in one asyncio-native class:

* **Stingy**: a key is in the queue at most once. Adding a key that is already waiting is a
  no-op (except that it can raise its priority or bring its ready time forward).
* **Never concurrent**: a key handed out by ``get`` is *processing* until ``done``; adding it
  meanwhile only marks it, and ``done`` puts it back. No two workers ever hold the same key.
* **Delays**: ``add_after(key, delay)`` parks a key until its ready time; across duplicate adds
  the earliest ready time wins; ``delay <= 0`` and a plain ``add`` make a parked key ready now.
* **Priorities**: ready keys are handed out highest priority first and, within a priority, in
  the order they became ready. Duplicate adds keep the highest priority. ``LOW_PRIORITY`` is
  for start-up listings and resyncs, so that real edits overtake a restart flood.
* **Rate limiting**: ``add_rate_limited`` asks the ``RateLimiter`` for the delay;
  ``forget``/``num_requeues`` pass through. The default limiter is the per-key exponential one
  alone (5 ms doubling up to 1000 s), as controller-runtime pairs it with its priority queue.
* **Shutdown**: stops intake at once; ``get`` then returns ``None`` even if ready keys remain
  (controller-runtime priority-queue behaviour: a stopping replica does not start new work, the
  next leader relists anyway). ``shutdown(drain=True)`` also waits until nothing is processing.

Decision: this priority queue *is* the default queue. With every key at priority 0 it behaves
as client-go's FIFO, so there is no separate classic queue to keep in sync.

Must never: know what a key means (keys are opaque hashables), import Kubernetes, HTTP or metrics
libraries, sleep on the real clock (time comes from the injected ``Clock``), or be used from
outside the event loop that runs its consumers.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

import attrs

from controller.queue.clock import Clock, RealClock, TimerHandle
from controller.queue.metrics import (
    NoopQueueMetricsProvider,
    QueueMetricsProvider,
    QueueMetricsRecorder,
)
from controller.queue.ratelimiters import RateLimiter, default_item_rate_limiter

__all__ = ["DEFAULT_PRIORITY", "LOW_PRIORITY", "WorkQueue", "WorkQueueOptions"]

K = TypeVar("K", bound=Hashable)

#: Priority of an ordinary add.
DEFAULT_PRIORITY = 0
#: Priority for keys enqueued by an informer's initial listing or a resync.
LOW_PRIORITY = -100


@attrs.frozen(kw_only=True)
class WorkQueueOptions:
    """How a ``WorkQueue`` is built. Every field has a working default."""

    #: Name used as the ``name``/``controller`` label of the workqueue metrics. Defaults to
    #: ``""``, which publishes no metrics at all (client-go behaviour).
    name: str = ""
    #: Retry policy of ``add_rate_limited``. Defaults to a fresh per-key exponential limiter
    #: (5 ms .. 1000 s) per queue; pass one explicitly to share or customise it.
    rate_limiter: RateLimiter | None = None
    #: Source of time. Defaults to ``RealClock()``.
    clock: Clock | None = None
    #: Where metrics go when ``name`` is set. Defaults to publishing nothing.
    metrics_provider: QueueMetricsProvider | None = None
    #: Seconds between refreshes of the unfinished-work gauges. Defaults to 0.5 (client-go).
    unfinished_work_update_period: float = 0.5


@attrs.define(eq=False)
class _Item(Generic[K]):
    """A key that is queued (ready or parked), i.e. not yet handed out."""

    key: K
    priority: int
    #: Order among keys of equal priority: when the key became ready (or was parked).
    seq: int
    #: ``None`` once ready; otherwise the clock time at which it becomes ready.
    ready_at: float | None
    #: Identifies the one heap entry that still speaks for this item (others are stale).
    token: int = 0


class WorkQueue(Generic[K]):
    """A deduplicating, delaying, rate-limited priority queue of opaque keys.

    Invariants: every key is in at most one of ``_items`` (queued) and ``_processing`` -- except
    that a key may be both, when it was re-added while being processed; such a ready item is
    *held* off the ready heap until ``done``. Heap entries whose token no longer matches their
    item are stale and skipped.
    """

    def __init__(self, options: WorkQueueOptions | None = None) -> None:
        opts = options if options is not None else WorkQueueOptions()
        self._name = opts.name
        self._clock: Clock = opts.clock if opts.clock is not None else RealClock()
        self._limiter: RateLimiter = (
            opts.rate_limiter if opts.rate_limiter is not None else default_item_rate_limiter()
        )
        provider: QueueMetricsProvider = (
            opts.metrics_provider
            if opts.metrics_provider is not None and opts.name
            else NoopQueueMetricsProvider()
        )
        self._metrics_enabled = bool(opts.name) and opts.metrics_provider is not None
        self._metrics = QueueMetricsRecorder(name=opts.name, provider=provider, clock=self._clock)
        self._update_period = opts.unfinished_work_update_period

        self._items: dict[K, _Item[K]] = {}
        self._processing: set[K] = set()
        # (-priority, seq, token, key): highest priority first, then FIFO.
        self._ready: list[tuple[int, int, int, K]] = []
        # (ready_at, seq, token, key): earliest first, then in the order they were parked.
        self._waiting: list[tuple[float, int, int, K]] = []
        self._ready_count = 0
        self._seq = itertools.count()
        self._tokens = itertools.count(1)

        self._getters: deque[asyncio.Future[None]] = deque()
        self._drained: list[asyncio.Future[None]] = []
        self._shutting_down = False
        self._timer: TimerHandle | None = None
        self._timer_deadline = 0.0
        self._ticker: TimerHandle | None = None

    # ------------------------------------------------------------------ introspection

    @property
    def name(self) -> str:
        return self._name

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Keys that are ready (including ones waiting for their current run to finish).

        Informational only: it can change as soon as the caller yields.
        """
        return self._ready_count

    @property
    def waiting(self) -> int:
        """Keys parked by ``add_after``/``add_rate_limited`` that are not ready yet."""
        return len(self._items) - self._ready_count

    def pending(self, key: K) -> bool:
        """Whether ``key`` is queued (ready or parked) or being processed. Informational only:
        it can change as soon as the caller yields."""
        return key in self._items or key in self._processing

    @property
    def processing(self) -> int:
        """Keys handed out by ``get`` and not yet ``done``."""
        return len(self._processing)

    # ------------------------------------------------------------------ adding

    def add(self, key: K, *, priority: int = DEFAULT_PRIORITY) -> None:
        """Make ``key`` ready now (no-op if it already is, apart from raising its priority)."""
        if self._shutting_down:
            return
        self._ensure_ticker()
        self._insert(key, priority, None)

    def add_after(self, key: K, delay: float, *, priority: int = DEFAULT_PRIORITY) -> None:
        """Make ``key`` ready after ``delay`` seconds, or sooner if it is already due sooner."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key, priority=priority)
            return
        self._ensure_ticker()
        self._metrics.retried()
        self._insert(key, priority, self._clock.now() + delay)

    def add_rate_limited(
        self, key: K, *, priority: int = DEFAULT_PRIORITY, max_delay: float | None = None
    ) -> None:
        """Re-add ``key`` after the delay the rate limiter assigns (records a failure).

        ``max_delay`` caps that delay for this one retry (the failure is still counted), for
        failures whose cause is known to clear by itself, such as an unreachable dependency.
        """
        if self._shutting_down:
            return
        delay = self._limiter.when(key)
        if max_delay is not None:
            delay = min(delay, max_delay)
        self.add_after(key, delay, priority=priority)

    def forget(self, key: K) -> None:
        """Clear the rate limiter's memory of ``key``. ``done`` must still be called."""
        self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        """Rate-limited retries of ``key`` since it was last forgotten."""
        return self._limiter.num_requeues(key)

    # ------------------------------------------------------------------ consuming

    async def get(self) -> K | None:
        """Wait for the next ready key and mark it processing; ``None`` once shut down."""
        got = await self.get_with_priority()
        return None if got is None else got[0]

    async def get_with_priority(self) -> tuple[K, int] | None:
        """Like ``get`` but also returns the priority the key was queued at."""
        self._ensure_ticker()
        while True:
            if self._shutting_down:
                return None
            got = self._pop_ready()
            if got is not None:
                return got
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                # A wake-up meant for us must not be lost: hand it to the next waiter.
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()
                raise
            finally:
                if not waiter.done():
                    waiter.cancel()
                try:
                    self._getters.remove(waiter)
                except ValueError:
                    pass

    def done(self, key: K) -> None:
        """Finish processing ``key``; if it was re-added meanwhile it becomes ready again."""
        if key not in self._processing:
            return
        self._processing.discard(key)
        self._metrics.done(key)
        item = self._items.get(key)
        if item is not None and item.ready_at is None and not self._shutting_down:
            self._push_ready(item)
        if not self._processing:
            for future in self._drained:
                if not future.done():
                    future.set_result(None)
            self._drained.clear()

    async def shutdown(self, *, drain: bool = False) -> None:
        """Stop intake and release every waiting ``get`` with ``None``.

        With ``drain=True`` also wait until every handed-out key is ``done`` (forever, if a
        worker never calls ``done``: bound it with a timeout).
        """
        if not self._shutting_down:
            self._shutting_down = True
            self._cancel_timer()
            if self._ticker is not None:
                self._ticker.cancel()
                self._ticker = None
            for item in self._items.values():
                if item.ready_at is None:
                    self._metrics.dropped(item.key, item.priority)
            self._items.clear()
            self._ready.clear()
            self._waiting.clear()
            self._ready_count = 0
            while self._getters:
                getter = self._getters.popleft()
                if not getter.done():
                    getter.set_result(None)
        if drain and self._processing:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._drained.append(future)
            await future

    # ------------------------------------------------------------------ internals

    def _insert(self, key: K, priority: int, ready_at: float | None) -> None:
        item = self._items.get(key)
        if item is None:
            item = _Item(key=key, priority=priority, seq=next(self._seq), ready_at=ready_at)
            self._items[key] = item
            if ready_at is None:
                self._become_ready(item)
            else:
                self._park(item)
            return

        if item.ready_at is None:
            # Already ready: a later ready time is irrelevant; only the priority can go up.
            if priority > item.priority:
                self._metrics.reprioritized(item.priority, priority)
                item.priority = priority
                if key not in self._processing:
                    self._push_ready(item)
            return

        # Parked: keep the highest priority and the earliest ready time.
        item.priority = max(item.priority, priority)
        if ready_at is None:
            item.seq = next(self._seq)
            self._become_ready(item)
            self._reschedule_timer()
        elif ready_at < item.ready_at:
            item.ready_at = ready_at
            self._park(item)

    def _park(self, item: _Item[K]) -> None:
        assert item.ready_at is not None
        item.token = next(self._tokens)
        heapq.heappush(self._waiting, (item.ready_at, next(self._seq), item.token, item.key))
        self._reschedule_timer()

    def _become_ready(self, item: _Item[K]) -> None:
        item.ready_at = None
        self._ready_count += 1
        self._metrics.ready(item.key, item.priority)
        if item.key in self._processing:
            # Held until done(): invalidate any parked entry but do not offer it to workers.
            item.token = next(self._tokens)
            return
        self._push_ready(item)

    def _push_ready(self, item: _Item[K]) -> None:
        item.token = next(self._tokens)
        heapq.heappush(self._ready, (-item.priority, item.seq, item.token, item.key))
        self._wake_one()

    def _pop_ready(self) -> tuple[K, int] | None:
        while self._ready:
            _, _, token, key = heapq.heappop(self._ready)
            item = self._items.get(key)
            if item is None or item.token != token:
                continue
            del self._items[key]
            self._ready_count -= 1
            self._processing.add(key)
            self._metrics.got(key, item.priority)
            return key, item.priority
        return None

    def _wake_one(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    def _live_waiting_top(self) -> float | None:
        while self._waiting:
            ready_at, _, token, key = self._waiting[0]
            item = self._items.get(key)
            if item is not None and item.token == token and item.ready_at is not None:
                return ready_at
            heapq.heappop(self._waiting)
        return None

    def _reschedule_timer(self) -> None:
        deadline = self._live_waiting_top()
        if deadline is None:
            self._cancel_timer()
            return
        if self._timer is not None and self._timer_deadline <= deadline:
            # An earlier (possibly now pointless) wake-up reschedules itself when it fires.
            return
        self._cancel_timer()
        self._timer_deadline = deadline
        self._timer = self._clock.call_at(deadline, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        if self._shutting_down:
            return
        now = self._clock.now()
        while True:
            top = self._live_waiting_top()
            if top is None or top > now:
                break
            _, _, _, key = heapq.heappop(self._waiting)
            item = self._items[key]
            item.seq = next(self._seq)
            self._become_ready(item)
        self._reschedule_timer()

    def _ensure_ticker(self) -> None:
        if self._ticker is None and self._metrics_enabled and not self._shutting_down:
            self._ticker = self._clock.call_at(
                self._clock.now() + self._update_period, self._on_tick
            )

    def _on_tick(self) -> None:
        self._ticker = None
        if self._shutting_down:
            return
        self._metrics.update_unfinished_work()
        self._ensure_ticker()

    def __repr__(self) -> str:
        return (
            f"WorkQueue(name={self._name!r}, ready={self._ready_count}, "
            f"waiting={self.waiting}, processing={len(self._processing)})"
        )

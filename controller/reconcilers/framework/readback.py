"""The periodic read-back: when each object's APIM copy is read again, and at what pace
(docs/architecture.md#drift-reading-back-what-was-pushed, docs/behavior/drift.md).

A kind that declares ``reads_back()`` has every one of its objects checked about once per
``DRIFT_CHECK_INTERVAL`` (jittered by +/-10%, so objects created together do not stay together).
``ReadBackScheduler`` owns the timetable: one heap of due times for every kind, and one pacer for
all of them, so that read-back calls to APIM never exceed ``DRIFT_CHECK_RATE`` per second and are
evenly spaced (at least ``1 / rate`` apart, or the interval shared evenly among the objects
when they are fewer than the budget allows), however many are due at once. A due object
is not checked by the scheduler: a ``ReadBackKey`` goes into the kind's own work queue at
``LOW_PRIORITY``, behind every real change, and the kind's runtime does the read-back
(``runtime.py``). At most about one second's budget of read-backs waits in the queues at any time,
so a queue that was busy with real changes does not release a burst afterwards.

What a read-back compares is recomputed from the object, not remembered: the kind builds the
payload it would send now (templates, references and ids resolved as in a reconcile) and reads
the remote copy. Nothing is stored per object, nothing is lost at a restart, and an object that
is not converged (a reconcile pending or failing) is not checked at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import random
from collections.abc import Awaitable, Mapping
from typing import Any, Final, Protocol

import attrs
import structlog

from controller import vocabulary as v
from controller.apim.errors import ApimError
from controller.config import DriftPolicy
from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.queue.clock import Clock, RealClock
from controller.queue.workqueue import LOW_PRIORITY, WorkQueue

log = structlog.get_logger().bind(logger="read-back")

POLICIES: Final[tuple[DriftPolicy, ...]] = ("report", "repair", "off")
JITTER: Final = 0.1


class ReadBackKey(ObjectKey):
    """The queue key of a read-back of an object, distinct from the key of its reconcile.

    A subclass, so that logs and metrics name the object as usual, but never equal to the plain
    ``ObjectKey``: a pending reconcile and a pending read-back of one object are two queue
    entries, and neither swallows the other.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is ReadBackKey and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("read-back", self.namespace, self.name))

    @property
    def object_key(self) -> ObjectKey:
        return ObjectKey(self.namespace, self.name)


@attrs.frozen
class ReadBack:
    """What a kind's ``read_back`` found: the payload it would send now and APIM's copy."""

    kind: str
    """The entry of ``support/drift.OWNERSHIP`` that says which fields are the cluster's."""
    sent: Mapping[str, Any]
    remote: Mapping[str, Any] | None
    """None when APIM no longer has the object (deleted in the console)."""


class _HasRaw(Protocol):
    @property
    def raw(self) -> Mapping[str, Any]: ...


async def remote_copy(read: Awaitable[_HasRaw]) -> Mapping[str, Any] | None:
    """APIM's answer to a read-back, or None when APIM no longer has the object (404)."""
    try:
        return (await read).raw
    except ApimError as error:
        if error.status == 404:
            return None
        raise


def policy_of(obj: Mapping[str, Any], default: DriftPolicy) -> DriftPolicy:
    """The object's ``gravitee.io/drift-policy`` annotation, else ``default``. An annotation
    that is none of report/repair/off is ignored (the default applies)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = str(annotations.get(v.ANNOTATION_DRIFT_POLICY) or "").strip().lower()
    for policy in POLICIES:
        if value == policy:
            return policy
    return default


@attrs.define(eq=False)
class Target:
    """One kind whose objects are read back."""

    name: str
    store: Store
    queue: WorkQueue[ObjectKey]
    default_policy: DriftPolicy


class ReadBackScheduler:
    """The timetable and the pacer of every kind's read-backs (see the module docstring)."""

    def __init__(
        self,
        *,
        interval: float,
        rate: float,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if interval <= 0 or rate <= 0:
            raise ValueError("interval and rate must be positive")
        self.interval = interval
        self.rate = rate
        self.spacing = 1.0 / rate
        self.max_outstanding = max(1, math.ceil(rate))
        """Read-backs waiting in the queues or running, at most: about one second of budget."""
        self._clock: Clock = clock if clock is not None else RealClock()
        self._rng = rng if rng is not None else random.Random()
        self._targets: list[Target] = []
        self._heap: list[tuple[float, int, int, ObjectKey]] = []
        self._seq = itertools.count()
        # One set per target rather than a set of (target, key) pairs: no pair per object.
        self._tracked: list[set[ObjectKey]] = []
        self._outstanding: set[tuple[int, ObjectKey]] = set()
        self._last_emit = -math.inf
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.emitted = 0
        """Read-backs handed to the queues since start (for tests and the benchmark)."""

    # -- registration (assembly time) and tracking (informer events) -------------------------

    def register(self, target: Target) -> int:
        self._targets.append(target)
        self._tracked.append(set())
        return len(self._targets) - 1

    def track(self, target: int, key: ObjectKey, *, listed_at_start: bool) -> None:
        """Schedule ``key``'s first read-back: one period from now for a new object (it has
        just been reconciled); for an object listed at start-up, anywhere in the period after
        the first one, so that a restart costs nothing at once and the existing objects are
        spread evenly. Forgotten lazily, once the object is gone."""
        tracked = self._tracked[target]
        if key in tracked:
            return
        tracked.add(key)
        now = self._clock.now()
        due = now + (self.interval + self._rng.uniform(0, self.interval) if listed_at_start
                     else self._next_interval())
        heapq.heappush(self._heap, (due, next(self._seq), target, key))
        self._wake.set()

    def finished(self, target: int, key: ObjectKey) -> None:
        """A read-back handed out by the scheduler has run (whatever its outcome)."""
        self._outstanding.discard((target, key))
        self._wake.set()

    def target_of(self, queue: WorkQueue[ObjectKey]) -> int | None:
        return next((i for i, t in enumerate(self._targets) if t.queue is queue), None)

    @property
    def tracked(self) -> int:
        return sum(len(keys) for keys in self._tracked)

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start pacing (idempotent); called once the caches are synced."""
        if self._task is None and self._targets:
            self._task = asyncio.create_task(self._run(), name="read-back-scheduler")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _spacing(self) -> float:
        """The least time between two read-backs: the budget's, or, with fewer objects than
        the budget allows, the interval shared evenly among them (with 25% headroom, so that
        jitter never lets a backlog build): random due times alone would come in clumps."""
        tracked = self.tracked
        even = self.interval / (tracked * 1.25) if tracked else 0.0
        return max(self.spacing, even)

    def _next_interval(self) -> float:
        return self.interval * self._rng.uniform(1 - JITTER, 1 + JITTER)

    def _stopped(self) -> bool:
        return all(t.queue.shutting_down for t in self._targets)

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` on the scheduler's clock, or until something new is tracked or a
        read-back finishes."""
        self._wake.clear()
        if seconds <= 0:
            return
        sleeping = asyncio.ensure_future(self._clock.sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeping, woken):
                task.cancel()

    async def _run(self) -> None:
        while not self._stopped():
            if not self._heap:
                await self._sleep(1.0)
                continue
            due, _, target, key = self._heap[0]
            now = self._clock.now()
            at = max(due, self._last_emit + self._spacing())
            if at > now:
                await self._sleep(min(at - now, 1.0))
                continue
            if len(self._outstanding) >= self.max_outstanding:
                await self._sleep(1.0)
                continue
            heapq.heappop(self._heap)
            # Paced from the planned time when only slightly late (a busy event loop wakes a
            # little after it asked): lateness would otherwise add up and cost budget. After a
            # longer stall, from now: never a catch-up burst.
            self._emit(target, key, at if now - at < self.spacing else now)

    def _emit(self, target: int, key: ObjectKey, now: float) -> None:
        spec = self._targets[target]
        obj = spec.store.get(key)
        if obj is None:
            self._tracked[target].discard(key)
            return
        heapq.heappush(self._heap, (now + self._next_interval(), next(self._seq), target, key))
        if (target, key) in self._outstanding or policy_of(obj, spec.default_policy) == "off":
            return  # no budget spent on an object that is not checked
        if (obj.get("metadata") or {}).get("deletionTimestamp"):
            return
        self._outstanding.add((target, key))
        self._last_emit = now
        self.emitted += 1
        spec.queue.add(ReadBackKey(*key), priority=LOW_PRIORITY)

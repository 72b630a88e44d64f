"""Dependency recovery: objects that failed because their APIM was unreachable are re-queued
as soon as that APIM answers again, instead of each waiting out its own backoff.

An APIM is known by the ManagementContext that leads to it. When a reconcile fails because APIM
did not answer (connection refused, timeout, 5xx), the runtime *parks* the object under its
context. While a context has parked objects, one of them is retried every ``probe_interval``
seconds as a probe. The first APIM answer through that context's client, from any reconcile,
the context's own included, releases every parked object at once, with its failure history
forgotten. See docs/architecture.md (recovery).
"""

from __future__ import annotations

from collections.abc import Hashable

import attrs

from controller.keys import ObjectKey
from controller.logging import get_logger
from controller.queue.clock import Clock, RealClock, TimerHandle
from controller.queue.workqueue import WorkQueue

_log = get_logger("recovery")

Waiter = tuple[WorkQueue[ObjectKey], ObjectKey]


@attrs.frozen(kw_only=True)
class RecoveryOptions:
    probe_interval: float = 5.0
    """Seconds between probes of an unreachable APIM (one parked object retried). Default 5."""
    clock: Clock | None = None
    """Source of time. Defaults to ``RealClock()``."""


class DependencyHealth:
    """Which dependencies (APIMs, by context key) are unreachable, and who waits on them."""

    def __init__(self, options: RecoveryOptions | None = None) -> None:
        self._options = options or RecoveryOptions()
        self._clock: Clock = self._options.clock or RealClock()
        self._waiting: dict[Hashable, dict[Waiter, None]] = {}
        self._parked_under: dict[Waiter, Hashable] = {}
        self._probes: dict[Hashable, TimerHandle] = {}

    def parked(self, dependency: Hashable) -> int:
        return len(self._waiting.get(dependency, ()))

    def park(self, dependency: Hashable, queue: WorkQueue[ObjectKey], key: ObjectKey) -> None:
        """``key`` failed because ``dependency`` did not answer."""
        waiting = self._waiting.setdefault(dependency, {})
        if not waiting:
            _log.warning("dependency unreachable, parking its dependants",
                         dependency=str(dependency))
        previous = self._parked_under.get((queue, key))
        if previous is not None and previous != dependency:
            self.retrying(queue, key)
        waiting[(queue, key)] = None
        self._parked_under[(queue, key)] = dependency
        if dependency not in self._probes:
            self._schedule_probe(dependency)

    def retrying(self, queue: WorkQueue[ObjectKey], key: ObjectKey) -> None:
        """``key`` is being reconciled again: it waits on nothing until it fails again (a
        success must not be followed by a release re-queuing it for nothing)."""
        dependency = self._parked_under.pop((queue, key), None)
        if dependency is None:
            return
        waiting = self._waiting.get(dependency)
        if waiting is not None:
            waiting.pop((queue, key), None)
            if not waiting:
                self._release(dependency)

    def answered(self, dependency: Hashable) -> None:
        """``dependency`` answered a request: release everything parked on it."""
        waiting = self._release(dependency)
        if not waiting:
            return
        _log.info("dependency answers again, re-queuing its dependants",
                  dependency=str(dependency), objects=len(waiting))
        for queue, key in waiting:
            queue.forget(key)
            queue.add(key)

    def forget(self, dependency: Hashable) -> None:
        """The dependency is gone (context deleted): nothing will wake its waiters."""
        self._release(dependency)

    def _release(self, dependency: Hashable) -> dict[Waiter, None]:
        waiting = self._waiting.pop(dependency, None) or {}
        for waiter in waiting:
            self._parked_under.pop(waiter, None)
        probe = self._probes.pop(dependency, None)
        if probe is not None:
            probe.cancel()
        return waiting

    def _schedule_probe(self, dependency: Hashable) -> None:
        deadline = self._clock.now() + self._options.probe_interval
        self._probes[dependency] = self._clock.call_at(deadline, lambda: self._probe(dependency))

    def _probe(self, dependency: Hashable) -> None:
        self._probes.pop(dependency, None)
        waiting = self._waiting.get(dependency)
        if not waiting:
            return
        # The longest-waiting object goes first; it is parked again if APIM still does not
        # answer, at the back of the line.
        queue, key = next(iter(waiting))
        queue.add(key)
        self._schedule_probe(dependency)

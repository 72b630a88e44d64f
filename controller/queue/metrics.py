"""Metric hooks of the work queue (client-go ``workqueue/metrics.go`` semantics).

Owns: the small provider protocol through which a queue publishes its seven series (depth by
priority, adds, queue latency, work duration, unfinished work, longest running processor,
retries), a do-nothing provider, and ``QueueMetricsRecorder``, the per-queue bookkeeping that
turns queue events into observations.

Must never: import a metrics library -- ``controller/metrics.py`` implements the provider with
prometheus-client; the queue stays testable and dependency-free.

Semantics kept from client-go: the queue-latency clock of a key starts the first time it
becomes ready while not already waiting to be handed out (later duplicate adds do not restart
it); ``get`` observes queue latency and starts the work clock; ``done`` observes work duration;
the unfinished-work gauges are recomputed periodically from the clock.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from controller.queue.clock import Clock

__all__ = [
    "CounterMetric",
    "DepthMetric",
    "HistogramMetric",
    "NoopQueueMetricsProvider",
    "QueueMetricsProvider",
    "QueueMetricsRecorder",
    "SettableGaugeMetric",
]


class CounterMetric(Protocol):
    def inc(self) -> None: ...


class SettableGaugeMetric(Protocol):
    def set(self, value: float) -> None: ...


class HistogramMetric(Protocol):
    def observe(self, value: float) -> None: ...


class DepthMetric(Protocol):
    """Number of ready keys, split by the priority they wait at."""

    def inc(self, priority: int) -> None: ...

    def dec(self, priority: int) -> None: ...


class QueueMetricsProvider(Protocol):
    """Builds the series of one named queue. Called once per queue, at construction."""

    def new_depth_metric(self, name: str) -> DepthMetric: ...

    def new_adds_metric(self, name: str) -> CounterMetric: ...

    def new_latency_metric(self, name: str) -> HistogramMetric: ...

    def new_work_duration_metric(self, name: str) -> HistogramMetric: ...

    def new_unfinished_work_seconds_metric(self, name: str) -> SettableGaugeMetric: ...

    def new_longest_running_processor_seconds_metric(self, name: str) -> SettableGaugeMetric: ...

    def new_retries_metric(self, name: str) -> CounterMetric: ...


class _Noop:
    def inc(self, priority: int = 0) -> None:
        return None

    def dec(self, priority: int = 0) -> None:
        return None

    def set(self, value: float) -> None:
        return None

    def observe(self, value: float) -> None:
        return None


_NOOP = _Noop()


class NoopQueueMetricsProvider:
    """Publishes nothing; the default for unnamed queues and pure unit tests."""

    def new_depth_metric(self, name: str) -> DepthMetric:
        return _NOOP

    def new_adds_metric(self, name: str) -> CounterMetric:
        return _NOOP

    def new_latency_metric(self, name: str) -> HistogramMetric:
        return _NOOP

    def new_work_duration_metric(self, name: str) -> HistogramMetric:
        return _NOOP

    def new_unfinished_work_seconds_metric(self, name: str) -> SettableGaugeMetric:
        return _NOOP

    def new_longest_running_processor_seconds_metric(self, name: str) -> SettableGaugeMetric:
        return _NOOP

    def new_retries_metric(self, name: str) -> CounterMetric:
        return _NOOP


class QueueMetricsRecorder:
    """Per-queue bookkeeping between queue events and the provider's series."""

    def __init__(self, *, name: str, provider: QueueMetricsProvider, clock: Clock) -> None:
        self._clock = clock
        self._depth = provider.new_depth_metric(name)
        self._adds = provider.new_adds_metric(name)
        self._latency = provider.new_latency_metric(name)
        self._work_duration = provider.new_work_duration_metric(name)
        self._unfinished = provider.new_unfinished_work_seconds_metric(name)
        self._longest = provider.new_longest_running_processor_seconds_metric(name)
        self._retries = provider.new_retries_metric(name)
        self._ready_since: dict[Hashable, float] = {}
        self._processing_since: dict[Hashable, float] = {}

    def ready(self, key: Hashable, priority: int) -> None:
        """``key`` entered the ready set (a new add, or a delayed key falling due)."""
        self._adds.inc()
        self._depth.inc(priority)
        self._ready_since.setdefault(key, self._clock.now())

    def reprioritized(self, old: int, new: int) -> None:
        """A ready key moved to another priority."""
        self._depth.dec(old)
        self._depth.inc(new)

    def got(self, key: Hashable, priority: int) -> None:
        """``key`` was handed to a worker."""
        now = self._clock.now()
        self._depth.dec(priority)
        since = self._ready_since.pop(key, None)
        if since is not None:
            self._latency.observe(now - since)
        self._processing_since[key] = now

    def done(self, key: Hashable) -> None:
        """The worker finished ``key``."""
        since = self._processing_since.pop(key, None)
        if since is not None:
            self._work_duration.observe(self._clock.now() - since)

    def retried(self) -> None:
        """A key was added with a non-zero delay."""
        self._retries.inc()

    def dropped(self, key: Hashable, priority: int) -> None:
        """A ready key left the queue without being handed out (shutdown)."""
        self._depth.dec(priority)
        self._ready_since.pop(key, None)

    def update_unfinished_work(self) -> None:
        """Recompute the in-flight gauges; called periodically."""
        now = self._clock.now()
        total = 0.0
        oldest = 0.0
        for since in self._processing_since.values():
            age = now - since
            total += age
            oldest = max(oldest, age)
        self._unfinished.set(total)
        self._longest.set(oldest)

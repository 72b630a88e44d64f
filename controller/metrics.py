"""Every Prometheus series the operator exposes, declared once.

Owns: the operator's private ``REGISTRY`` (with process, platform and GC collectors), the
controller-runtime v0.24 metric families with their exact names, label names and bucket lists
(so existing controller-runtime dashboards and alerts keep working), the workqueue metrics
provider that plugs those families into ``controller.queue``, the per-controller
initialisation that pre-creates series at zero, and ``render_metrics()``.

Must never: serve HTTP (the manager does), hold per-object labels (label values are controller
names, results, lease names, HTTP codes/methods/hosts only), or put secrets in any label.

Notes on fidelity: counters are declared without ``_total`` because prometheus-client appends
it; ``_created`` series are disabled process-wide because controller-runtime has none; the
workqueue bucket list is computed by repeated multiplication like Go's ``ExponentialBuckets``
so the ``le`` values are the same floats (e.g. ``9.999999999999999e-05``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from controller.queue.metrics import (
    CounterMetric,
    DepthMetric,
    HistogramMetric,
    SettableGaugeMetric,
)

__all__ = [
    "ACTIVE_WORKERS",
    "APIM_REQUESTS",
    "APIM_REQUEST_DURATION",
    "DRIFTED",
    "DRIFT_DETECTED",
    "LEADER_ELECTION_MASTER_STATUS",
    "MAX_CONCURRENT_RECONCILES",
    "READ_BACKS",
    "RECONCILE_ERRORS",
    "RECONCILE_PANICS",
    "RECONCILE_RESULTS",
    "RECONCILE_TIME",
    "RECONCILE_TIME_BUCKETS",
    "RECONCILE_TOTAL",
    "REGISTRY",
    "REST_CLIENT_REQUESTS",
    "TERMINAL_RECONCILE_ERRORS",
    "WEBHOOK_IN_FLIGHT",
    "WEBHOOK_LATENCY",
    "WEBHOOK_PANICS",
    "WEBHOOK_REQUESTS",
    "WORKQUEUE_ADDS",
    "WORKQUEUE_BUCKETS",
    "WORKQUEUE_DEPTH",
    "WORKQUEUE_LONGEST_RUNNING_PROCESSOR",
    "WORKQUEUE_METRICS_PROVIDER",
    "WORKQUEUE_QUEUE_DURATION",
    "WORKQUEUE_RETRIES",
    "WORKQUEUE_UNFINISHED_WORK",
    "WORKQUEUE_WORK_DURATION",
    "PrometheusQueueMetricsProvider",
    "exponential_buckets",
    "init_controller_metrics",
    "render_metrics",
]

disable_created_metrics()  # type: ignore[no-untyped-call]

#: The operator's own registry; never the process-global default one.
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)


def exponential_buckets(start: float, factor: float, count: int) -> list[float]:
    """Bucket bounds ``start, start*factor, ...`` computed the way Go's client does."""
    if start <= 0 or factor <= 1 or count < 1:
        raise ValueError("need start > 0, factor > 1 and count >= 1")
    buckets: list[float] = []
    bound = start
    for _ in range(count):
        buckets.append(bound)
        bound *= factor
    return buckets


#: 1e-08 s .. 1000 s: ExponentialBuckets(10e-9, 10, 12).
WORKQUEUE_BUCKETS: tuple[float, ...] = tuple(exponential_buckets(10e-9, 10, 12))

#: controller-runtime's reconcile_time_seconds bounds.
RECONCILE_TIME_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8,
    0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30,
    40, 50, 60,
)  # fmt: skip

#: Every value of the ``result`` label of ``controller_runtime_reconcile_total``.
RECONCILE_RESULTS: tuple[str, ...] = ("success", "error", "requeue", "requeue_after")

_QUEUE_LABELS = ("name", "controller")

# --------------------------------------------------------------------------- workqueue

WORKQUEUE_DEPTH = Gauge(
    "workqueue_depth",
    "Number of keys ready in the work queue, by priority.",
    [*_QUEUE_LABELS, "priority"],
    registry=REGISTRY,
)
WORKQUEUE_ADDS = Counter(
    "workqueue_adds",
    "Keys that entered the work queue (duplicates of a queued key are not counted).",
    _QUEUE_LABELS,
    registry=REGISTRY,
)
WORKQUEUE_QUEUE_DURATION = Histogram(
    "workqueue_queue_duration_seconds",
    "Seconds a key waited in the work queue between becoming ready and being handed out.",
    _QUEUE_LABELS,
    buckets=WORKQUEUE_BUCKETS,
    registry=REGISTRY,
)
WORKQUEUE_WORK_DURATION = Histogram(
    "workqueue_work_duration_seconds",
    "Seconds between a key being handed out and being marked done.",
    _QUEUE_LABELS,
    buckets=WORKQUEUE_BUCKETS,
    registry=REGISTRY,
)
WORKQUEUE_UNFINISHED_WORK = Gauge(
    "workqueue_unfinished_work_seconds",
    "Sum of the ages of the keys being processed right now; steady growth means stuck workers.",
    _QUEUE_LABELS,
    registry=REGISTRY,
)
WORKQUEUE_LONGEST_RUNNING_PROCESSOR = Gauge(
    "workqueue_longest_running_processor_seconds",
    "Age in seconds of the oldest key being processed right now.",
    _QUEUE_LABELS,
    registry=REGISTRY,
)
WORKQUEUE_RETRIES = Counter(
    "workqueue_retries",
    "Keys added to the work queue with a non-zero delay (backoff or requeue-after).",
    _QUEUE_LABELS,
    registry=REGISTRY,
)

# --------------------------------------------------------------------------- controller

RECONCILE_TOTAL = Counter(
    "controller_runtime_reconcile",
    "Reconciliations per controller, by outcome.",
    ["controller", "result"],
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "controller_runtime_reconcile_errors",
    "Reconciliations that failed, terminal failures included.",
    ["controller"],
    registry=REGISTRY,
)
TERMINAL_RECONCILE_ERRORS = Counter(
    "controller_runtime_terminal_reconcile_errors",
    "Reconciliations that failed with an error that is not retried.",
    ["controller"],
    registry=REGISTRY,
)
RECONCILE_PANICS = Counter(
    "controller_runtime_reconcile_panics",
    "Reconciliations that crashed with a programming error.",
    ["controller"],
    registry=REGISTRY,
)
RECONCILE_TIME = Histogram(
    "controller_runtime_reconcile_time_seconds",
    "Seconds spent in one reconciliation.",
    ["controller"],
    buckets=RECONCILE_TIME_BUCKETS,
    registry=REGISTRY,
)
MAX_CONCURRENT_RECONCILES = Gauge(
    "controller_runtime_max_concurrent_reconciles",
    "Worker count configured for the controller.",
    ["controller"],
    registry=REGISTRY,
)
ACTIVE_WORKERS = Gauge(
    "controller_runtime_active_workers",
    "Workers of the controller busy with a key right now.",
    ["controller"],
    registry=REGISTRY,
)

# --------------------------------------------------------------------------- manager-owned

REST_CLIENT_REQUESTS = Counter(
    "rest_client_requests",
    "Requests to the Kubernetes API, by HTTP status code, method and host.",
    ["code", "method", "host"],
    registry=REGISTRY,
)
LEADER_ELECTION_MASTER_STATUS = Gauge(
    "leader_election_master_status",
    "1 while this replica holds the named lease, 0 while it is a standby.",
    ["name"],
    registry=REGISTRY,
)


# --------------------------------------------------------------------------- APIM client
# Ours, not controller-runtime's: upstream GKO exposes nothing about its APIM calls, which is
# the first thing to look at when reconciles fail with ControlPlaneError.

#: Bounds of ``apim_client_request_duration_seconds`` (client-go's request-latency bounds).
APIM_REQUEST_BUCKETS: tuple[float, ...] = (
    0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60,
)  # fmt: skip

APIM_REQUESTS = Counter(
    "apim_client_requests",
    "Requests to the APIM Management API, by HTTP status code (or timeout / transport_error), "
    "method and host.",
    ["code", "method", "host"],
    registry=REGISTRY,
)
APIM_REQUEST_DURATION = Histogram(
    "apim_client_request_duration_seconds",
    "Latency of requests to the APIM Management API, by method and host.",
    ["method", "host"],
    buckets=APIM_REQUEST_BUCKETS,
    registry=REGISTRY,
)

# controller-runtime's webhook families: the label is the served path.
WEBHOOK_LATENCY = Histogram(
    "controller_runtime_webhook_latency_seconds",
    "Histogram of the latency of processing admission requests",
    ["webhook"],
    buckets=WORKQUEUE_BUCKETS,
    registry=REGISTRY,
)
WEBHOOK_REQUESTS = Counter(
    "controller_runtime_webhook_requests",
    "Total number of admission requests by HTTP status code.",
    ["webhook", "code"],
    registry=REGISTRY,
)
WEBHOOK_PANICS = Counter(
    "controller_runtime_webhook_panics",
    "Total number of webhook panics",
    registry=REGISTRY,
)
WEBHOOK_IN_FLIGHT = Gauge(
    "controller_runtime_webhook_requests_in_flight",
    "Current number of admission requests being served.",
    ["webhook"],
    registry=REGISTRY,
)


class ApimRequestOutcome(Protocol):
    """What the APIM client reports per request (``controller.apim.client.RequestOutcome``)."""

    @property
    def method(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def duration_seconds(self) -> float: ...


def apim_request_observer(outcome: ApimRequestOutcome) -> None:
    """Feed the APIM metrics; pass as the APIM client pool's ``observer``."""
    code = str(outcome.status) if outcome.status is not None else outcome.outcome
    APIM_REQUESTS.labels(code, outcome.method, outcome.host).inc()
    APIM_REQUEST_DURATION.labels(outcome.method, outcome.host).observe(outcome.duration_seconds)


def init_controller_metrics(controller: str, *, max_concurrent_reconciles: int) -> None:
    """Create every per-controller series at its starting value, so none is ever missing."""
    for result in RECONCILE_RESULTS:
        RECONCILE_TOTAL.labels(controller=controller, result=result).inc(0)
    RECONCILE_ERRORS.labels(controller=controller).inc(0)
    TERMINAL_RECONCILE_ERRORS.labels(controller=controller).inc(0)
    RECONCILE_PANICS.labels(controller=controller).inc(0)
    RECONCILE_TIME.labels(controller=controller)
    MAX_CONCURRENT_RECONCILES.labels(controller=controller).set(max_concurrent_reconciles)
    ACTIVE_WORKERS.labels(controller=controller).set(0)


# --------------------------------------------------------------------------- objects
# Ours: how many objects are not Accepted, by kind and reason, counted at each scrape from an
# index the informer cache keeps up to date (no object decoded on a scrape).

NotAccepted = Callable[[], Mapping[str, int]]
"""How many objects of one kind are not Accepted, by reason (``Pending`` when an object has no
``Accepted`` condition yet)."""


class NotAcceptedCollector(Collector):
    _name = "gravitee_operator_not_accepted_objects"
    _labelnames = ("kind", "reason")

    def __init__(self) -> None:
        self._kinds: dict[str, NotAccepted] = {}

    def watch(self, kind: str, reasons: NotAccepted) -> None:
        """Count ``kind``'s objects through ``reasons`` (replacing an earlier registration)."""
        self._kinds[kind] = reasons

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            self._name,
            "Objects whose Accepted condition is not True, by kind and reason.",
            labels=list(self._labelnames),
        )
        for kind, reasons in sorted(self._kinds.items()):
            for reason, count in sorted(reasons().items()):
                family.add_metric([kind, reason], count)
        yield family


NOT_ACCEPTED = NotAcceptedCollector()
REGISTRY.register(NOT_ACCEPTED)

# Ours: drift between APIM and the cluster (docs/behavior/drift.md).
DRIFT_DETECTED = Counter(
    "gravitee_operator_drift_detected",
    "Objects found drifted in APIM (one per transition to Drifted=True), by kind.",
    ["kind"],
    registry=REGISTRY,
)
READ_BACKS = Counter(
    "gravitee_operator_read_backs",
    "Periodic read-backs of objects from APIM, by kind and result (in_sync, drifted, "
    "deleted, error).",
    ["kind", "result"],
    registry=REGISTRY,
)
READ_BACK_RESULTS = ("in_sync", "drifted", "deleted", "error")

Drifted = Callable[[], int]
"""How many objects of one kind are Drifted=True now."""


class DriftedCollector(Collector):
    """Objects whose ``Drifted`` condition is True, by kind, counted at each scrape from an
    index of the informer cache (like ``NOT_ACCEPTED``)."""

    _name = "gravitee_operator_drifted_objects"

    def __init__(self) -> None:
        self._kinds: dict[str, Drifted] = {}

    def watch(self, kind: str, count: Drifted) -> None:
        self._kinds[kind] = count
        DRIFT_DETECTED.labels(kind=kind).inc(0)
        for result in READ_BACK_RESULTS:
            READ_BACKS.labels(kind=kind, result=result).inc(0)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            self._name, "Objects whose Drifted condition is True, by kind.", labels=["kind"]
        )
        for kind, count in sorted(self._kinds.items()):
            family.add_metric([kind], count())
        yield family


DRIFTED = DriftedCollector()
REGISTRY.register(DRIFTED)


def render_metrics() -> bytes:
    """The registry in the Prometheus text exposition format."""
    return generate_latest(REGISTRY)


# --------------------------------------------------------------------------- queue provider

#: Distinct priority label values kept per queue before further ones are folded together.
PRIORITY_CARDINALITY_LIMIT = 25
_PRIORITY_OVERFLOW = "exceeded_cardinality_limit"


class _DepthByPriority:
    def __init__(self, name: str) -> None:
        self._name = name
        # Children cached per priority: ``labels()`` is the hot path's most expensive call.
        self._children: dict[int, Gauge] = {}

    def _child(self, priority: int) -> Gauge:
        child = self._children.get(priority)
        if child is None:
            seen = len(self._children)
            label = str(priority) if seen < PRIORITY_CARDINALITY_LIMIT else _PRIORITY_OVERFLOW
            child = WORKQUEUE_DEPTH.labels(self._name, self._name, label)
            if label != _PRIORITY_OVERFLOW:
                self._children[priority] = child
        return child

    def inc(self, priority: int) -> None:
        self._child(priority).inc()

    def dec(self, priority: int) -> None:
        self._child(priority).dec()


class PrometheusQueueMetricsProvider:
    """Publishes a named queue's series with ``name`` and ``controller`` both set to its name."""

    def new_depth_metric(self, name: str) -> DepthMetric:
        return _DepthByPriority(name)

    def new_adds_metric(self, name: str) -> CounterMetric:
        return WORKQUEUE_ADDS.labels(name, name)

    def new_latency_metric(self, name: str) -> HistogramMetric:
        return WORKQUEUE_QUEUE_DURATION.labels(name, name)

    def new_work_duration_metric(self, name: str) -> HistogramMetric:
        return WORKQUEUE_WORK_DURATION.labels(name, name)

    def new_unfinished_work_seconds_metric(self, name: str) -> SettableGaugeMetric:
        return WORKQUEUE_UNFINISHED_WORK.labels(name, name)

    def new_longest_running_processor_seconds_metric(self, name: str) -> SettableGaugeMetric:
        return WORKQUEUE_LONGEST_RUNNING_PROCESSOR.labels(name, name)

    def new_retries_metric(self, name: str) -> CounterMetric:
        return WORKQUEUE_RETRIES.labels(name, name)


#: The provider to pass as ``WorkQueueOptions.metrics_provider``.
WORKQUEUE_METRICS_PROVIDER = PrometheusQueueMetricsProvider()

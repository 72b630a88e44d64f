"""The Prometheus surface: exact controller-runtime names, labels, buckets; no _created series."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from controller import metrics
from controller.queue.clock import FakeClock
from controller.queue.workqueue import LOW_PRIORITY, WorkQueue, WorkQueueOptions

WORKQUEUE_LE = [
    "1e-08", "1e-07", "1e-06", "9.999999999999999e-06", "9.999999999999999e-05", "0.001",
    "0.01", "0.1", "1.0", "10.0", "100.0", "1000.0", "+Inf",
]  # fmt: skip
RECONCILE_LE = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.15", "0.2", "0.25", "0.3", "0.35", "0.4",
    "0.45", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0", "1.25", "1.5", "1.75", "2.0", "2.5",
    "3.0", "3.5", "4.0", "4.5", "5.0", "6.0", "7.0", "8.0", "9.0", "10.0", "15.0", "20.0",
    "25.0", "30.0", "40.0", "50.0", "60.0", "+Inf",
]  # fmt: skip

# family name (as exposed, without suffixes) -> (type, label names of its samples)
EXPECTED_FAMILIES = {
    "workqueue_depth": ("gauge", {"name", "controller", "priority"}),
    "workqueue_adds": ("counter", {"name", "controller"}),
    "workqueue_queue_duration_seconds": ("histogram", {"name", "controller"}),
    "workqueue_work_duration_seconds": ("histogram", {"name", "controller"}),
    "workqueue_unfinished_work_seconds": ("gauge", {"name", "controller"}),
    "workqueue_longest_running_processor_seconds": ("gauge", {"name", "controller"}),
    "workqueue_retries": ("counter", {"name", "controller"}),
    "controller_runtime_reconcile": ("counter", {"controller", "result"}),
    "controller_runtime_reconcile_errors": ("counter", {"controller"}),
    "controller_runtime_terminal_reconcile_errors": ("counter", {"controller"}),
    "controller_runtime_reconcile_panics": ("counter", {"controller"}),
    "controller_runtime_reconcile_time_seconds": ("histogram", {"controller"}),
    "controller_runtime_max_concurrent_reconciles": ("gauge", {"controller"}),
    "controller_runtime_active_workers": ("gauge", {"controller"}),
    "rest_client_requests": ("counter", {"code", "method", "host"}),
    "leader_election_master_status": ("gauge", {"name"}),
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def scrape() -> dict[str, Metric]:
    return {f.name: f for f in text_string_to_metric_families(metrics.render_metrics().decode())}


def value(sample: str, /, **labels: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(sample, labels)


@pytest.fixture
def populated() -> str:
    """One controller and one queue with every series touched at least once."""
    name = unique("populated")
    metrics.init_controller_metrics(name, max_concurrent_reconciles=3)
    clock = FakeClock()
    queue: WorkQueue[str] = WorkQueue(
        WorkQueueOptions(
            name=name, clock=clock, metrics_provider=metrics.WORKQUEUE_METRICS_PROVIDER
        )
    )
    queue.add("a")
    queue.add_after("b", 1.0)
    # Label values unique to this test: other suites assert on their own hosts and leases.
    metrics.REST_CLIENT_REQUESTS.labels(code="200", method="GET", host=f"{name}:6443").inc()
    metrics.LEADER_ELECTION_MASTER_STATUS.labels(name=f"{name}.gravitee.io").set(1)
    return name


def test_every_family_has_its_controller_runtime_name_type_and_labels(populated: str):
    families = scrape()
    for family, (kind, labels) in EXPECTED_FAMILIES.items():
        assert family in families, family
        exposed = families[family]
        assert exposed.type == kind, family
        for sample in exposed.samples:
            assert set(sample.labels) - {"le"} == labels, (family, sample)


def test_counters_are_exposed_with_a_single_total_suffix(populated: str):
    text = metrics.render_metrics().decode()
    assert f'workqueue_adds_total{{controller="{populated}",name="{populated}"}} 1.0' in text
    assert (
        f'controller_runtime_reconcile_total{{controller="{populated}",result="success"}} 0.0'
        in text
    )
    assert "_total_total" not in text


def test_no_created_series_anywhere(populated: str):
    text = metrics.render_metrics().decode()
    assert "_created" not in text


def test_workqueue_histograms_use_exponential_buckets_from_10ns(populated: str):
    families = scrape()
    for family in ("workqueue_queue_duration_seconds", "workqueue_work_duration_seconds"):
        les = [
            s.labels["le"]
            for s in families[family].samples
            if s.name.endswith("_bucket") and s.labels["name"] == populated
        ]
        assert les == WORKQUEUE_LE, family


def test_workqueue_bucket_floats_match_go_exponential_buckets():
    assert metrics.WORKQUEUE_BUCKETS[0] == 1e-08
    assert metrics.WORKQUEUE_BUCKETS[3] == 9.999999999999999e-06
    assert metrics.WORKQUEUE_BUCKETS[-1] == 1000.0
    assert len(metrics.WORKQUEUE_BUCKETS) == 12


def test_reconcile_time_buckets_are_controller_runtimes(populated: str):
    families = scrape()
    les = [
        s.labels["le"]
        for s in families["controller_runtime_reconcile_time_seconds"].samples
        if s.name.endswith("_bucket") and s.labels["controller"] == populated
    ]
    assert les == RECONCILE_LE


def test_init_controller_metrics_presets_every_series_at_zero(populated: str):
    for result in ("success", "error", "requeue", "requeue_after"):
        assert value("controller_runtime_reconcile_total", controller=populated, result=result) == 0
    for family in (
        "controller_runtime_reconcile_errors_total",
        "controller_runtime_terminal_reconcile_errors_total",
        "controller_runtime_reconcile_panics_total",
        "controller_runtime_active_workers",
    ):
        assert value(family, controller=populated) == 0, family
    assert value("controller_runtime_max_concurrent_reconciles", controller=populated) == 3
    assert value("controller_runtime_reconcile_time_seconds_count", controller=populated) == 0


def test_process_and_python_runtime_collectors_are_registered():
    families = scrape()
    assert "process_cpu_seconds" in families
    assert "process_resident_memory_bytes" in families
    assert "python_info" in families
    assert "python_gc_collections" in families


def test_registry_is_private():
    from prometheus_client import REGISTRY as GLOBAL_REGISTRY

    assert metrics.REGISTRY is not GLOBAL_REGISTRY
    assert GLOBAL_REGISTRY.get_sample_value("workqueue_adds_total", {}) is None


async def test_queue_series_through_the_prometheus_provider():
    name = unique("q")
    clock = FakeClock()
    queue: WorkQueue[str] = WorkQueue(
        WorkQueueOptions(
            name=name, clock=clock, metrics_provider=metrics.WORKQUEUE_METRICS_PROVIDER
        )
    )
    labels = {"name": name, "controller": name}
    queue.add("a", priority=LOW_PRIORITY)
    queue.add("a")  # raises the priority: moves between depth series
    queue.add_after("b", 5.0)
    assert value("workqueue_depth", priority="0", **labels) == 1
    assert value("workqueue_depth", priority="-100", **labels) == 0
    assert value("workqueue_adds_total", **labels) == 1
    assert value("workqueue_retries_total", **labels) == 1

    clock.advance(2.0)
    assert await asyncio.wait_for(queue.get(), 1.0) == "a"
    assert value("workqueue_depth", priority="0", **labels) == 0
    assert value("workqueue_queue_duration_seconds_count", **labels) == 1
    assert value("workqueue_queue_duration_seconds_sum", **labels) == 2.0
    assert value("workqueue_queue_duration_seconds_bucket", le="1.0", **labels) == 0
    assert value("workqueue_queue_duration_seconds_bucket", le="10.0", **labels) == 1

    clock.advance(0.5)  # one refresh tick while "a" is in flight
    assert value("workqueue_unfinished_work_seconds", **labels) == 0.5
    assert value("workqueue_longest_running_processor_seconds", **labels) == 0.5
    queue.done("a")
    assert value("workqueue_work_duration_seconds_sum", **labels) == 0.5
    clock.advance(2.5)  # "b" becomes ready at t=5
    assert value("workqueue_depth", priority="0", **labels) == 1
    assert value("workqueue_adds_total", **labels) == 2
    await queue.shutdown()


def test_depth_priority_label_is_capped_at_25_distinct_values():
    name = unique("card")
    depth = metrics.WORKQUEUE_METRICS_PROVIDER.new_depth_metric(name)
    for priority in range(30):
        depth.inc(priority)
    labels = {"name": name, "controller": name}
    assert value("workqueue_depth", priority="24", **labels) == 1
    assert value("workqueue_depth", priority="25", **labels) is None
    assert value("workqueue_depth", priority="exceeded_cardinality_limit", **labels) == 5


def _object(name: str, *conditions: dict[str, str]) -> dict[str, object]:
    return {"metadata": {"namespace": "ns", "name": name},
            "status": {"conditions": list(conditions)} if conditions else {}}


def _samples(collector: Collector) -> dict[tuple[str, ...], float]:
    return {tuple(sample.labels.values()): sample.value
            for family in collector.collect() for sample in family.samples}


def test_not_accepted_and_drifted_gauges_count_the_cache_index_without_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from controller.informers import store as store_module
    from controller.informers.store import Store
    from controller.keys import ObjectKey
    from controller.reconcilers.framework.assemble import _drifted, _not_accepted

    accepted = {"type": "Accepted", "status": "True", "reason": "Accepted"}
    store = Store()
    store.upsert(_object("ok", accepted))
    store.upsert(_object("new"))
    store.upsert(_object("bad", {"type": "Accepted", "status": "False", "reason": "Invalid"}))
    store.upsert(_object("worse", {"type": "Accepted", "status": "False", "reason": "Invalid"}))
    store.upsert(_object("moved", accepted, {"type": "Drifted", "status": "True"}))
    not_accepted, drifted = metrics.NotAcceptedCollector(), metrics.DriftedCollector()
    not_accepted.watch("Thing", _not_accepted(store))
    drifted.watch("Thing", _drifted(store))

    decoded = 0
    real_decode = store_module._Codec.decode

    def counting_decode(codec: store_module._Codec, data: bytes) -> dict[str, object]:
        nonlocal decoded
        decoded += 1
        return real_decode(codec, data)

    with monkeypatch.context() as patched:
        patched.setattr(store_module._Codec, "decode", counting_decode)
        assert _samples(not_accepted) == {("Thing", "Invalid"): 2, ("Thing", "Pending"): 1}
        assert _samples(drifted) == {("Thing",): 1}
        assert decoded == 0, "a scrape decoded cached objects"

    store.upsert(_object("new", accepted))
    store.upsert(_object("moved", accepted, {"type": "Drifted", "status": "False"}))
    store.delete(ObjectKey("ns", "bad"))
    assert _samples(not_accepted) == {("Thing", "Invalid"): 1}
    assert _samples(drifted) == {("Thing",): 0}

"""Controller loop: outcome rules, metrics, log context, readiness gate and graceful stop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
import structlog

from controller import metrics
from controller.keys import ObjectKey
from controller.loop import Controller, ControllerOptions
from controller.queue.clock import FakeClock
from controller.queue.workqueue import LOW_PRIORITY
from controller.reconcile import Result, TerminalError
from tests.controller.queue.waiting import settle, until

Behaviour = Callable[[str, int], Awaitable[Result]]
K = ObjectKey.parse


class Scripted:
    """A reconciler whose n-th call for a key runs ``behaviour(key, n)``."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.calls: list[str] = []
        self.contexts: list[dict[str, object]] = []
        self.in_flight: set[str] = set()
        self.max_in_flight = 0
        self.overlaps: list[str] = []

    def count(self, key: str) -> int:
        return self.calls.count(key)

    async def reconcile(self, object_key: ObjectKey) -> Result:
        key = str(object_key)
        if key in self.in_flight:
            self.overlaps.append(key)
        self.in_flight.add(key)
        self.max_in_flight = max(self.max_in_flight, len(self.in_flight))
        self.calls.append(key)
        self.contexts.append(structlog.contextvars.get_contextvars())
        try:
            return await self.behaviour(key, self.count(key))
        finally:
            self.in_flight.discard(key)


def value(sample: str, /, **labels: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(sample, labels)


def results(name: str) -> dict[str, float | None]:
    return {
        r: value("controller_runtime_reconcile_total", controller=name, result=r)
        for r in metrics.RECONCILE_RESULTS
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make(clock: FakeClock):
    controllers: list[Controller] = []

    def build(behaviour: Behaviour, *, workers: int = 2) -> tuple[Controller, Scripted]:
        reconciler = Scripted(behaviour)
        controller = Controller(
            f"test-{uuid.uuid4().hex[:8]}",
            reconciler,
            options=ControllerOptions(max_concurrent_reconciles=workers, clock=clock),
        )
        controllers.append(controller)
        return controller, reconciler

    yield build
    for controller in controllers:
        # Teardown must not hang even if a test left a reconcile blocked.
        await asyncio.wait_for(controller.stop(timeout=0), 2.0)


async def succeed(key: str, n: int) -> Result:
    return Result()


async def test_start_presets_metrics_and_success_forgets(make):
    controller, reconciler = make(succeed, workers=3)
    await controller.start()
    name = controller.name
    assert value("controller_runtime_max_concurrent_reconciles", controller=name) == 3
    assert results(name) == {"success": 0, "error": 0, "requeue": 0, "requeue_after": 0}
    controller.queue.add(K("ns/a"))
    await until(lambda: results(name)["success"] == 1, what="one success")
    assert reconciler.calls == ["ns/a"]
    assert controller.queue.num_requeues(K("ns/a")) == 0
    assert controller.queue.waiting == 0
    assert value("controller_runtime_reconcile_errors_total", controller=name) == 0
    assert value("controller_runtime_reconcile_time_seconds_count", controller=name) == 1
    assert value("workqueue_adds_total", name=name, controller=name) == 1
    await controller.stop()


async def test_errors_back_off_exponentially_then_success_resets(make, clock: FakeClock):
    async def flaky(key: str, n: int) -> Result:
        if n <= 2:
            raise RuntimeError("APIM unavailable")
        return Result()

    controller, reconciler = make(flaky)
    await controller.start()
    name = controller.name
    controller.queue.add(K("ns/a"))
    await until(lambda: controller.queue.waiting == 1, what="first failure parked")
    assert controller.queue.num_requeues(K("ns/a")) == 1
    clock.advance(0.0049)
    await settle()
    assert reconciler.count("ns/a") == 1
    clock.advance(0.0001)  # 5 ms: first retry
    await until(lambda: controller.queue.num_requeues(K("ns/a")) == 2, what="second failure")
    clock.advance(0.0099)
    await settle()
    assert reconciler.count("ns/a") == 2
    clock.advance(0.0001)  # 10 ms: second retry succeeds
    await until(lambda: results(name)["success"] == 1, what="success")
    assert controller.queue.num_requeues(K("ns/a")) == 0
    assert results(name)["error"] == 2
    assert value("controller_runtime_reconcile_errors_total", controller=name) == 2
    assert value("controller_runtime_terminal_reconcile_errors_total", controller=name) == 0
    assert value("controller_runtime_reconcile_panics_total", controller=name) == 0
    assert value("workqueue_retries_total", name=name, controller=name) == 2
    await controller.stop()


async def test_terminal_error_is_counted_but_not_retried(make, clock: FakeClock):
    async def invalid(key: str, n: int) -> Result:
        raise TerminalError("spec.contextRef points nowhere")

    controller, reconciler = make(invalid)
    await controller.start()
    name = controller.name
    controller.queue.add(K("ns/a"))
    await until(lambda: results(name)["error"] == 1, what="terminal error counted")
    assert value("controller_runtime_terminal_reconcile_errors_total", controller=name) == 1
    assert value("controller_runtime_reconcile_errors_total", controller=name) == 1
    assert controller.queue.waiting == 0
    assert len(controller.queue) == 0
    clock.advance(2000)
    await settle()
    assert reconciler.calls == ["ns/a"]
    await controller.stop()


async def test_requeue_after_forgets_failures_and_comes_back_after_the_delay(
    make, clock: FakeClock
):
    async def poll(key: str, n: int) -> Result:
        if n == 1:
            raise RuntimeError("transient")
        return Result(requeue_after=30.0)

    controller, reconciler = make(poll)
    await controller.start()
    name = controller.name
    controller.queue.add(K("ns/a"))
    await until(lambda: controller.queue.waiting == 1, what="failure parked")
    clock.advance(0.005)
    await until(lambda: results(name)["requeue_after"] == 1, what="requeue_after")
    assert controller.queue.num_requeues(K("ns/a")) == 0
    assert controller.queue.waiting == 1
    clock.advance(29.9)
    await settle()
    assert reconciler.count("ns/a") == 2
    clock.advance(0.1)
    await until(lambda: reconciler.count("ns/a") == 3, what="polled again after 30 s")
    assert results(name)["success"] == 0
    await controller.stop()


@pytest.mark.parametrize("zero", [0.0, -1.0, None])
async def test_non_positive_requeue_after_is_plain_success(make, clock: FakeClock, zero):
    async def done(key: str, n: int) -> Result:
        return Result(requeue_after=zero)

    controller, _ = make(done)
    await controller.start()
    controller.queue.add(K("ns/a"))
    await until(lambda: results(controller.name)["success"] == 1, what="success")
    assert controller.queue.waiting == 0
    await controller.stop()


@pytest.mark.parametrize(
    ("exception", "is_panic"),
    [
        (KeyError("missing"), True),
        (AttributeError("'NoneType' object has no attribute 'spec'"), True),
        (ZeroDivisionError(), True),
        (RuntimeError("boom"), False),
        (ConnectionError("reset"), False),
        (asyncio.CancelledError(), False),  # raised by the reconciler, not a stop
    ],
)
async def test_exceptions_never_kill_a_worker(make, clock: FakeClock, exception, is_panic):
    async def crash(key: str, n: int) -> Result:
        if key == "ns/bad":
            raise exception
        return Result()

    controller, reconciler = make(crash, workers=1)
    await controller.start()
    name = controller.name
    controller.queue.add(K("ns/bad"))
    controller.queue.add(K("ns/good"))
    await until(lambda: results(name)["success"] == 1, what="the same worker carries on")
    assert results(name)["error"] == 1
    assert value("controller_runtime_reconcile_errors_total", controller=name) == 1
    assert value("controller_runtime_reconcile_panics_total", controller=name) == (
        1 if is_panic else 0
    )
    assert controller.queue.num_requeues(K("ns/bad")) == 1  # retried like any error
    clock.advance(0.005)
    await until(lambda: reconciler.count("ns/bad") == 2, what="retried")
    assert controller.started
    await controller.stop()


async def test_returning_something_other_than_a_result_is_a_panic(make):
    async def sloppy(key: str, n: int) -> Result:
        return None  # type: ignore[return-value]

    controller, _ = make(sloppy)
    await controller.start()
    controller.queue.add(K("ns/a"))
    await until(lambda: results(controller.name)["error"] == 1, what="error")
    assert value("controller_runtime_reconcile_panics_total", controller=controller.name) == 1
    await controller.stop()


async def test_requeues_keep_the_priority_the_key_came_with(make, clock: FakeClock):
    gate = asyncio.Event()

    async def behaviour(key: str, n: int) -> Result:
        if key == "ns/listed":
            raise RuntimeError("fail once")
        await gate.wait()
        return Result()

    controller, _ = make(behaviour, workers=1)
    await controller.start()
    name = controller.name
    controller.queue.add(K("ns/listed"), priority=LOW_PRIORITY)
    await until(lambda: controller.queue.waiting == 1, what="failure parked")
    controller.queue.add(K("ns/blocker"))
    await until(lambda: controller.queue.processing == 1, what="worker busy")
    clock.advance(0.005)
    assert value("workqueue_depth", name=name, controller=name, priority="-100") == 1
    gate.set()
    await controller.stop()


async def test_reconcile_time_is_measured_with_the_injected_clock(make, clock: FakeClock):
    gate = asyncio.Event()

    async def slow(key: str, n: int) -> Result:
        await gate.wait()
        return Result()

    controller, _ = make(slow)
    await controller.start()
    name = controller.name
    controller.queue.add(K("ns/a"))
    await until(lambda: controller.queue.processing == 1, what="in flight")
    clock.advance(0.3)
    gate.set()
    await until(lambda: results(name)["success"] == 1, what="success")
    bucket = "controller_runtime_reconcile_time_seconds_bucket"
    assert value(bucket, controller=name, le="0.25") == 0
    assert value(bucket, controller=name, le="0.3") == 1
    assert value("workqueue_work_duration_seconds_sum", name=name, controller=name) == 0.3
    await controller.stop()


async def test_log_context_carries_controller_key_and_a_fresh_reconcile_id(make):
    controller, reconciler = make(succeed)
    await controller.start()
    controller.queue.add(K("ns-1/obj"))
    await until(lambda: len(reconciler.calls) == 1, what="first")
    controller.queue.add(K("ns-1/obj"))
    await until(lambda: len(reconciler.calls) == 2, what="second")
    first, second = reconciler.contexts
    assert first["controller"] == controller.name
    assert first["namespace"] == "ns-1"
    assert first["name"] == "obj"
    assert uuid.UUID(str(first["reconcileID"])).version == 4
    assert first["reconcileID"] != second["reconcileID"]
    # The binding is scoped to the reconcile: nothing leaks into the caller's context.
    assert "reconcileID" not in structlog.contextvars.get_contextvars()
    await controller.stop()


async def test_workers_run_in_parallel_but_never_on_the_same_key(make):
    gate = asyncio.Event()

    async def slow(key: str, n: int) -> Result:
        await gate.wait()
        return Result()

    controller, reconciler = make(slow, workers=3)
    await controller.start()
    name = controller.name
    for i in range(5):
        controller.queue.add(ObjectKey("ns", f"k{i}"))
    await until(lambda: len(reconciler.in_flight) == 3, what="three in flight")
    assert value("controller_runtime_active_workers", controller=name) == 3
    controller.queue.add(K("ns/k0"))  # being processed: must wait for its turn
    await settle()
    assert reconciler.max_in_flight == 3
    gate.set()
    await until(lambda: results(name)["success"] == 6, what="all done, k0 twice")
    assert reconciler.overlaps == []
    assert reconciler.count("ns/k0") == 2
    assert value("controller_runtime_active_workers", controller=name) == 0
    await controller.stop()


async def test_workers_wait_for_readiness(make):
    ready = asyncio.Event()
    controller, reconciler = make(succeed)
    controller.queue.add(K("ns/a"))
    starting = asyncio.create_task(controller.start(ready.wait))
    await settle()
    assert not starting.done()
    assert reconciler.calls == []
    ready.set()
    await asyncio.wait_for(starting, 1.0)
    await until(lambda: reconciler.calls == ["ns/a"], what="reconciled after readiness")
    await controller.stop()


async def test_readiness_timeout_starts_no_worker(make, clock: FakeClock):
    controller, reconciler = make(succeed)
    never = asyncio.Event()
    starting = asyncio.create_task(controller.start(never.wait()))
    await asyncio.wait_for(clock.wait_for_sleepers(1), 1.0)
    clock.advance(120.0)
    with pytest.raises(TimeoutError, match="caches to sync"):
        await asyncio.wait_for(starting, 1.0)
    controller.queue.add(K("ns/a"))
    await settle()
    assert reconciler.calls == []
    assert not controller.started


async def test_readiness_reported_as_false_starts_no_worker(make):
    controller, _ = make(succeed)

    async def gave_up() -> bool:
        return False

    with pytest.raises(TimeoutError, match="did not sync"):
        await asyncio.wait_for(controller.start(gave_up), 1.0)
    assert not controller.started


async def test_stop_while_waiting_for_readiness_returns_without_workers(make):
    controller, reconciler = make(succeed)
    never = asyncio.Event()
    starting = asyncio.create_task(controller.start(never.wait))
    await settle()
    await asyncio.wait_for(controller.stop(), 1.0)
    await asyncio.wait_for(starting, 1.0)
    assert not controller.started
    await asyncio.wait_for(controller.wait_stopped(), 1.0)
    assert reconciler.calls == []


async def test_readiness_failure_propagates(make):
    controller, _ = make(succeed)

    async def broken() -> None:
        raise RuntimeError("informer failed to list")

    with pytest.raises(RuntimeError, match="informer failed"):
        await asyncio.wait_for(controller.start(broken), 1.0)
    assert not controller.started
    await asyncio.wait_for(controller.wait_stopped(), 1.0)


async def test_start_twice_is_refused(make):
    controller, _ = make(succeed)
    await controller.start()
    with pytest.raises(RuntimeError, match="already started"):
        await controller.start()
    await controller.stop()


async def test_graceful_stop_lets_an_in_flight_reconcile_finish(make):
    gate = asyncio.Event()
    finished: list[str] = []

    async def slow(key: str, n: int) -> Result:
        await gate.wait()
        finished.append(key)
        return Result()

    controller, reconciler = make(slow, workers=1)
    await controller.start()
    name = controller.name
    controller.queue.add(K("ns/slow"))
    controller.queue.add(K("ns/queued"))
    await until(lambda: reconciler.calls == ["ns/slow"], what="slow reconcile running")
    stopping = asyncio.create_task(controller.stop(timeout=30))
    await until(lambda: controller.queue.shutting_down, what="intake stopped")
    controller.queue.add(K("ns/late"))
    await settle()
    assert not stopping.done()
    gate.set()
    await asyncio.wait_for(stopping, 1.0)
    assert finished == ["ns/slow"]
    assert reconciler.calls == ["ns/slow"]  # nothing new was started
    assert results(name)["success"] == 1
    assert controller.queue.processing == 0


async def test_stop_cancels_what_outlives_the_deadline(make, clock: FakeClock):
    cancelled = asyncio.Event()

    async def stuck(key: str, n: int) -> Result:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Result()

    controller, _ = make(stuck, workers=1)
    await controller.start()
    name = controller.name
    controller.queue.add(K("ns/stuck"))
    await until(lambda: controller.queue.processing == 1, what="stuck reconcile running")
    stopping = asyncio.create_task(controller.stop(timeout=5.0))
    await asyncio.wait_for(clock.wait_for_sleepers(1), 1.0)
    clock.advance(4.9)
    await settle()
    assert not stopping.done()
    clock.advance(0.1)
    await asyncio.wait_for(stopping, 1.0)
    assert cancelled.is_set()
    assert controller.queue.processing == 0  # done() ran despite the cancellation
    assert value("controller_runtime_active_workers", controller=name) == 0
    assert results(name)["error"] == 0  # a stop is not a reconcile failure


async def test_stop_of_an_idle_controller_is_immediate(make):
    controller, _ = make(succeed, workers=4)
    await controller.start()
    await asyncio.wait_for(controller.stop(), 1.0)
    await asyncio.wait_for(controller.wait_stopped(), 1.0)


async def test_run_returns_once_stopped(make):
    controller, reconciler = make(succeed)
    running = asyncio.create_task(controller.run())
    await until(lambda: controller.started, what="started")
    controller.queue.add(K("ns/a"))
    await until(lambda: reconciler.calls == ["ns/a"], what="reconciled")
    await controller.stop()
    await asyncio.wait_for(running, 1.0)


def test_options_validate_worker_count():
    with pytest.raises(ValueError, match="at least 1"):
        ControllerOptions(max_concurrent_reconciles=0)


async def test_a_failing_logger_does_not_kill_the_worker(clock: FakeClock):
    class BrokenLogger:
        def __getattr__(self, name):
            def log(*args, **kwargs):
                if name == "error":
                    raise OSError("log sink closed")

            return log

    async def fail_first(key: str, n: int) -> Result:
        if key == "ns/a" and n == 1:
            raise RuntimeError("boom")
        return Result()

    reconciler = Scripted(fail_first)
    controller = Controller(
        f"test-{uuid.uuid4().hex[:8]}",
        reconciler,
        options=ControllerOptions(max_concurrent_reconciles=1, clock=clock, logger=BrokenLogger()),
    )
    await controller.start()
    controller.queue.add(K("ns/a"))
    controller.queue.add(K("ns/b"))
    await until(lambda: reconciler.calls == ["ns/a", "ns/b"], what="worker carried on")
    assert controller.queue.waiting == 1  # "ns/a" will be retried
    clock.advance(1.0)
    await until(lambda: reconciler.count("ns/a") == 2, what="retried")
    await controller.stop()


class _Waiting(Exception):
    log_level = "info"


@pytest.mark.parametrize(
    ("raised", "level", "terminal"),
    [
        (TerminalError("bad spec", log_level="warning"), "warning", True),
        (TerminalError("rejected"), "error", True),
        (_Waiting("reference not there yet"), "info", False),
        (RuntimeError("boom"), "error", False),
    ],
)
async def test_one_log_line_per_failed_outcome_at_the_level_it_asks_for(
    make, raised, level, terminal
):
    from structlog.testing import capture_logs

    async def fail(key: str, n: int) -> Result:
        raise raised

    with capture_logs() as logs:
        controller, reconciler = make(fail, workers=1)
        await controller.start()
        controller.queue.add(K("ns/obj"))
        await until(lambda: reconciler.calls, what="reconciled")
        await settle()
        await controller.stop()
    lines = [line for line in logs if line["event"] == "Reconciler error"]
    assert [(line["log_level"], line["terminal"]) for line in lines[:1]] == [(level, terminal)]
    assert len(lines) == reconciler.count("ns/obj")

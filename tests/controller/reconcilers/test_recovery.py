"""Dependency recovery: objects parked under an unreachable APIM come back at once when it
answers, one of them probes it meanwhile, and a retry unparks (docs/architecture.md)."""

from __future__ import annotations

from controller.keys import ObjectKey
from controller.queue.clock import FakeClock
from controller.queue.workqueue import WorkQueue, WorkQueueOptions
from controller.reconcilers.framework.recovery import DependencyHealth, RecoveryOptions

CTX = ObjectKey("ns", "ctx")
A, B = ObjectKey("ns", "a"), ObjectKey("ns", "b")


def _setup() -> tuple[FakeClock, WorkQueue[ObjectKey], DependencyHealth]:
    clock = FakeClock()
    queue: WorkQueue[ObjectKey] = WorkQueue(WorkQueueOptions(clock=clock))
    health = DependencyHealth(RecoveryOptions(probe_interval=5.0, clock=clock))
    return clock, queue, health


async def test_an_answer_re_queues_every_parked_object_with_its_backoff_forgotten():
    _, queue, health = _setup()
    for key in (A, B):
        queue.add_rate_limited(key)
        queue.add_rate_limited(key)
        health.park(CTX, queue, key)
    assert queue.num_requeues(A) == 2
    assert len(queue) == 0
    health.answered(CTX)
    assert len(queue) == 2
    assert queue.num_requeues(A) == 0
    assert health.parked(CTX) == 0
    health.answered(CTX)  # nothing parked: nothing happens
    assert len(queue) == 2


async def test_one_parked_object_probes_the_dependency_every_interval():
    clock, queue, health = _setup()
    health.park(CTX, queue, A)
    health.park(CTX, queue, B)
    clock.advance(4.9)
    assert len(queue) == 0
    clock.advance(0.2)
    assert len(queue) == 1  # the longest-waiting one, A
    assert await queue.get() == A


async def test_a_retry_unparks_so_a_success_is_not_followed_by_a_useless_requeue():
    _, queue, health = _setup()
    health.park(CTX, queue, A)
    health.retrying(queue, A)
    assert health.parked(CTX) == 0
    health.answered(CTX)
    assert len(queue) == 0


async def test_a_forgotten_dependency_releases_nothing_and_stops_probing():
    clock, queue, health = _setup()
    health.park(CTX, queue, A)
    health.forget(CTX)
    clock.advance(60)
    assert len(queue) == 0

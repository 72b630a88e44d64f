"""Micro-benchmark of the work queue and the controller loop (no I/O, no-op work).

Scenarios, each over 10,000 distinct keys and 4 consumers, best of ``--repeat`` runs:

* ``add_get_done``: add every key, then 4 workers ``get``/``done`` until the queue is empty.
* ``dedup_x5``: every key is added 5 times (interleaved with the workers); adds collapse.
* ``priority_mix``: half the keys at ``LOW_PRIORITY``, half at 0, added in alternation.
* ``delayed``: every key ``add_after`` with a distinct delay on a fake clock, then one
  ``advance`` makes them all ready; measures the timer/heap path.
* ``controller_noop``: the full ``Controller`` (metrics, log context, outcome rules) with a
  reconciler that returns ``Result()`` at once; reports reconciles per second.

Prints one line per scenario and writes ``benchmarks/results/queue_throughput.json`` with the
date and the machine. Run: ``.venv/bin/python -m benchmarks.queue_throughput``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import os
import platform
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from controller.keys import ObjectKey
from controller.loop import Controller, ControllerOptions
from controller.metrics import WORKQUEUE_METRICS_PROVIDER
from controller.queue.clock import FakeClock
from controller.queue.workqueue import LOW_PRIORITY, WorkQueue, WorkQueueOptions
from controller.reconcile import Result

RESULTS = Path(__file__).parent / "results" / "queue_throughput.json"
WORKERS = 4


def _queue(name: str, clock: FakeClock | None = None) -> WorkQueue[str]:
    # Named, with the Prometheus provider: the production configuration.
    return WorkQueue(
        WorkQueueOptions(name=name, clock=clock, metrics_provider=WORKQUEUE_METRICS_PROVIDER)
    )


async def _consume(queue: WorkQueue[str], counter: list[int]) -> None:
    while (key := await queue.get()) is not None:
        counter[0] += 1
        queue.done(key)


async def _run_workers(queue: WorkQueue[str], produce: Callable[[], Awaitable[None]]) -> int:
    handled = [0]
    workers = [asyncio.create_task(_consume(queue, handled)) for _ in range(WORKERS)]
    await produce()
    while len(queue) or queue.processing or queue.waiting:
        await asyncio.sleep(0)
    await queue.shutdown()
    await asyncio.gather(*workers)
    return handled[0]


async def add_get_done(keys: list[str]) -> tuple[float, int, int]:
    queue = _queue("bench-add-get-done")

    async def produce() -> None:
        for key in keys:
            queue.add(key)

    start = time.perf_counter()
    handled = await _run_workers(queue, produce)
    return time.perf_counter() - start, len(keys), handled


async def dedup_x5(keys: list[str]) -> tuple[float, int, int]:
    queue = _queue("bench-dedup")

    async def produce() -> None:
        # A burst (no yield): like an informer relist delivering the same keys repeatedly.
        for _ in range(5):
            for key in keys:
                queue.add(key)

    start = time.perf_counter()
    handled = await _run_workers(queue, produce)
    return time.perf_counter() - start, 5 * len(keys), handled


async def priority_mix(keys: list[str]) -> tuple[float, int, int]:
    queue = _queue("bench-priority")

    async def produce() -> None:
        for index, key in enumerate(keys):
            queue.add(key, priority=LOW_PRIORITY if index % 2 else 0)

    start = time.perf_counter()
    handled = await _run_workers(queue, produce)
    return time.perf_counter() - start, len(keys), handled


async def delayed(keys: list[str]) -> tuple[float, int, int]:
    clock = FakeClock()
    queue = _queue("bench-delayed", clock)

    async def produce() -> None:
        for index, key in enumerate(keys):
            queue.add_after(key, 1.0 + (index * 7919 % len(keys)) / 1000.0)
        clock.advance(1000.0)

    start = time.perf_counter()
    handled = await _run_workers(queue, produce)
    return time.perf_counter() - start, len(keys), handled


class _Noop:
    async def reconcile(self, key: ObjectKey) -> Result:
        return Result()


async def controller_noop(keys: list[str]) -> tuple[float, int, int]:
    quiet = structlog.wrap_logger(
        structlog.PrintLogger(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )
    controller = Controller(
        "bench-controller",
        _Noop(),
        options=ControllerOptions(max_concurrent_reconciles=WORKERS, logger=quiet),
    )
    await controller.start()
    start = time.perf_counter()
    for key in keys:
        controller.queue.add(ObjectKey.parse(key))
    queue = controller.queue
    while len(queue) or queue.processing:
        await asyncio.sleep(0)
    elapsed = time.perf_counter() - start
    await controller.stop()
    return elapsed, len(keys), len(keys)


SCENARIOS: dict[str, Callable[[list[str]], Awaitable[tuple[float, int, int]]]] = {
    "add_get_done": add_get_done,
    "dedup_x5": dedup_x5,
    "priority_mix": priority_mix,
    "delayed": delayed,
    "controller_noop": controller_noop,
}


async def main(*, keys_count: int, repeat: int) -> dict[str, object]:
    keys = [f"namespace-{i % 50}/object-{i}" for i in range(keys_count)]
    report: dict[str, object] = {}
    for name, scenario in SCENARIOS.items():
        best: tuple[float, int, int] | None = None
        for _ in range(repeat):
            outcome = await scenario(keys)
            if best is None or outcome[0] < best[0]:
                best = outcome
        assert best is not None
        seconds, adds, handled = best
        # One "op" is one add, one get or one done.
        ops = adds + 2 * handled
        report[name] = {
            "seconds": round(seconds, 6),
            "adds": adds,
            "handed_out": handled,
            "ops_per_second": round(ops / seconds),
            "keys_per_second": round(handled / seconds),
        }
        print(
            f"{name:16s} {seconds * 1000:8.1f} ms  adds={adds:6d} handed_out={handled:6d}  "
            f"{ops / seconds:10,.0f} ops/s  {handled / seconds:10,.0f} keys/s"
        )
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scenarios = asyncio.run(main(keys_count=args.keys, repeat=args.repeat))
    document = {
        "benchmark": "queue_throughput",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "node": platform.node(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "parameters": {"keys": args.keys, "workers": WORKERS, "repeat": args.repeat},
        "scenarios": scenarios,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"results written to {RESULTS}")


if __name__ == "__main__":
    cli()

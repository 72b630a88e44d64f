"""What the periodic drift read-back costs (docs/behavior/drift.md#pace-and-cost).

Every part in its own process (``examples.stack``), as in production:

1. **Budget**: N (default 10,000) converged ApiV4Definitions; the operator restarts with the
   default ``DRIFT_POLICY`` (report), ``DRIFT_CHECK_INTERVAL`` (300 s) and ``DRIFT_CHECK_RATE``
   (10/s). N objects due over 300 s need N/300 read-backs per second (33/s for 10,000): more
   than the budget, so the read-backs must run at exactly the budget. Objects listed at
   start-up are first read back between one and two intervals after it (a restart costs
   nothing at once): the window starts ``--warmup`` (310) seconds after the restart.
   Measured from the APIM simulator's request log (the time of every
   ``GET {AUTO}/apis/{hrid}``) over a window: the rate, the most calls in any one-second
   window, the smallest gap between two calls.
2. **Latency of real changes**: M APIs (default 300) are edited at a steady pace while the
   read-back runs, then again (new generations) with ``DRIFT_POLICY=off``; time from the write
   to ``Accepted=True`` for the new generation, p50 and p99, in both cases.
3. **No false drift**: K (default 1,000) freshly created APIs, a 10 s interval and a budget that
   covers them; after three periods, no read-back found drift (the operator's
   ``gravitee_operator_read_backs_total`` and ``gravitee_operator_drifted_objects``).

Targets: read-back rate within 5% of the budget, no one-second window above the budget plus
one, no false drift. The latency comparison is reported, not judged (the machine is shared).
Results: ``benchmarks/results/drift_readback.json``. Exit 0 when the targets are met, 1
otherwise. A quicker run (not at the default interval, so the rate is the objects' own):
``--objects 300 --window 20 --warmup 305 --edits 50 --false-drift-objects 100``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import json
import os
import pathlib
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any, Final

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.operator_bench import (
    NAMESPACE,
    percentile,
    setup_context,
    v4_api,
    wait_context_accepted,
    write_all,
)
from controller import eventloop
from examples.kube import KubeClient
from examples.stack import OperatorOptions, Stack, StackOptions
from examples.watch import ConditionWatcher, accepted_for_generation

RESULTS: Final = pathlib.Path(__file__).resolve().parent / "results" / "drift_readback.json"
DEFAULT_RATE: Final = 10.0
READ_BACK_PATH: Final = "/automation/organizations/DEFAULT/environments/DEFAULT/apis/"


def _operator(**env: str) -> OperatorOptions:
    return OperatorOptions(max_concurrent_reconciles=4, ready_timeout=600.0,
                           extra_env={"NAMESPACE": NAMESPACE, **env})


async def _requests_since(session: aiohttp.ClientSession, apim_url: str, mark: int
                          ) -> tuple[int, list[dict[str, Any]]]:
    async with session.get(f"{apim_url}/_sim/requests", params={"since": str(mark)}) as resp:
        body = await resp.json()
    return int(body["mark"]), list(body["requests"])


async def _mark(session: aiohttp.ClientSession, apim_url: str) -> int:
    mark, _ = await _requests_since(session, apim_url, 2**62)
    return mark


async def _converge(stack: Stack, kube: KubeClient, objects: int, *, start: int = 0) -> None:
    items = [v4_api(i) for i in range(start, start + objects)]
    watcher = ConditionWatcher(kube, "ApiV4Definition", NAMESPACE,
                               predicate=accepted_for_generation({}), keep_objects=False)
    async with watcher:
        t0 = await write_all(items, kube.create, writers=16)
        if not await watcher.wait_for(keys=list(t0), timeout=120 + objects / 3):
            raise RuntimeError(f"only {len(watcher.first_seen)} of {objects} APIs converged")


def read_back_profile(times: Sequence[float], window: tuple[float, float]) -> dict[str, Any]:
    """Rate, peak per one-second window and smallest gap of read-backs at ``times``."""
    start, end = window
    inside = sorted(t for t in times if start <= t < end)
    peak, left = 0, 0
    for right, at in enumerate(inside):
        while inside[left] <= at - 1.0:
            left += 1
        peak = max(peak, right - left + 1)
    gaps = [b - a for a, b in itertools.pairwise(inside)]
    return {
        "window_seconds": round(end - start, 2),
        "calls": len(inside),
        "calls_per_second": round(len(inside) / (end - start), 3) if end > start else None,
        "max_calls_in_any_second": peak,
        "min_gap_ms": round(min(gaps) * 1000, 1) if gaps else None,
        "p50_gap_ms": round(percentile(sorted(gaps), 0.5) * 1000, 1) if gaps else None,
    }


async def measure_budget(stack: Stack, session: aiohttp.ClientSession, *, warmup: float,
                         window: float) -> dict[str, Any]:
    """Restart the operator with the default drift settings over converged APIs; profile the
    read-backs APIM receives during ``window`` seconds after ``warmup``."""
    await stack.stop_operator()
    await stack.start_operator(_operator())
    await asyncio.sleep(warmup)
    mark = await _mark(session, stack.apim_url)
    started = time.monotonic()
    await asyncio.sleep(window)
    ended = time.monotonic()
    _, entries = await _requests_since(session, stack.apim_url, mark)
    times = [e["at"] for e in entries
             if e["method"] == "GET" and e["path"].startswith(READ_BACK_PATH)]
    writes = sum(1 for e in entries if e["method"] in ("PUT", "POST", "DELETE"))
    return {**read_back_profile(times, (started, ended)), "apim_writes": writes}


async def edit_and_time(stack: Stack, kube: KubeClient, session: aiohttp.ClientSession, *,
                        edits: int, pace: float, round_: int) -> dict[str, Any]:
    """Edit ``edits`` APIs at ``pace`` per second; time to Accepted for the new generation."""
    names = [f"api-{i:05d}" for i in range(edits)]
    expected = {}
    for name in names:
        live = await kube.get("ApiV4Definition", NAMESPACE, name)
        expected[f"{NAMESPACE}/{name}"] = int(live["metadata"]["generation"]) + 1
    watcher = ConditionWatcher(kube, "ApiV4Definition", NAMESPACE,
                               predicate=accepted_for_generation(expected), keep_objects=False)
    mark = await _mark(session, stack.apim_url)
    written: dict[str, float] = {}
    async with watcher:
        for name in names:
            written[f"{NAMESPACE}/{name}"] = time.monotonic()
            await kube.merge_patch("ApiV4Definition", NAMESPACE, name,
                                   {"spec": {"description": f"edit {round_}"}})
            await asyncio.sleep(1.0 / pace)
        if not await watcher.wait_for(keys=list(written), timeout=120):
            raise RuntimeError("edits did not converge")
        ended = time.monotonic()
    latencies = sorted(watcher.first_seen[k] - t for k, t in written.items())
    _, entries = await _requests_since(session, stack.apim_url, mark)
    times = [e["at"] for e in entries
             if e["method"] == "GET" and e["path"].startswith(READ_BACK_PATH)]
    return {
        "edits": edits,
        "pace_per_second": pace,
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "read_backs_meanwhile": read_back_profile(times, (min(written.values()), ended)),
    }


async def _operator_metrics(session: aiohttp.ClientSession, stack: Stack) -> dict[str, float]:
    assert stack.operator is not None
    async with session.get(f"{stack.operator.metrics_url}/metrics") as response:
        text = await response.text()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "gravitee_operator_read_backs_total":
                key = f"read_backs_{sample.labels['result']}"
                found[key] = found.get(key, 0.0) + sample.value
            elif sample.name in ("gravitee_operator_drifted_objects",
                                 "gravitee_operator_drift_detected_total"):
                found[sample.name] = found.get(sample.name, 0.0) + sample.value
    return found


async def false_drift(work: pathlib.Path, session: aiohttp.ClientSession, *, objects: int,
                      interval: float, periods: int) -> dict[str, Any]:
    """``objects`` fresh APIs, read back for ``periods`` periods: none may be found drifted."""
    rate = max(DEFAULT_RATE, 2.0 * objects / interval)
    async with Stack(StackOptions(work_dir=work / "false-drift",
                                  watch_history=max(10_000, objects * 10))) as stack, \
            KubeClient(stack.kube_url) as kube:
        await setup_context(kube, stack.apim_url)
        await stack.start_operator(_operator(DRIFT_CHECK_INTERVAL=str(interval),
                                             DRIFT_CHECK_RATE=str(rate)))
        await wait_context_accepted(kube, 60)
        await _converge(stack, kube, objects)
        # A new object is first read back one interval after it appears: three full periods
        # after the last one converged, each has been read back at least three times.
        await asyncio.sleep(interval * (periods + 1.2))
        found = await _operator_metrics(session, stack)
    checks = found.get("read_backs_in_sync", 0.0)
    return {
        "objects": objects, "interval_seconds": interval, "rate": rate, "periods": periods,
        **{k: int(v) for k, v in sorted(found.items())},
        "ok": checks >= objects * periods
        and found.get("read_backs_drifted", 0.0) == 0
        and found.get("read_backs_deleted", 0.0) == 0
        and found.get("gravitee_operator_drift_detected_total", 0.0) == 0,
    }


async def bench(args: argparse.Namespace, work: pathlib.Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "objects": args.objects, "budget_per_second": DEFAULT_RATE,
        "interval_seconds": 300.0,
    }
    async with aiohttp.ClientSession() as session:
        async with Stack(StackOptions(work_dir=work / "budget",
                                      watch_history=max(10_000, args.objects * 10))) as stack, \
                KubeClient(stack.kube_url) as kube:
            await setup_context(kube, stack.apim_url)
            await stack.start_operator(_operator(DRIFT_POLICY="off"))
            await wait_context_accepted(kube, 60)
            started = time.monotonic()
            await _converge(stack, kube, args.objects)
            result["converge_seconds"] = round(time.monotonic() - started, 1)
            print(f"{args.objects} APIs converged in {result['converge_seconds']} s", flush=True)
            result["read_back"] = await measure_budget(
                stack, session, warmup=args.warmup, window=args.window)
            print(f"read-back: {result['read_back']}", flush=True)
            result["latency_with_read_back"] = await edit_and_time(
                stack, kube, session, edits=args.edits, pace=args.pace, round_=1)
            print(f"with read-back: {result['latency_with_read_back']}", flush=True)
            await stack.stop_operator()
            await stack.start_operator(_operator(DRIFT_POLICY="off"))
            await asyncio.sleep(10)
            result["latency_without_read_back"] = await edit_and_time(
                stack, kube, session, edits=args.edits, pace=args.pace, round_=2)
            print(f"without read-back: {result['latency_without_read_back']}", flush=True)
        result["false_drift"] = await false_drift(
            work, session, objects=args.false_drift_objects, interval=args.false_drift_interval,
            periods=3)
        print(f"false drift: {result['false_drift']}", flush=True)
    profile = result["read_back"]
    result["targets"] = {
        "rate_equals_budget": abs(profile["calls_per_second"] - DEFAULT_RATE)
        <= 0.05 * DEFAULT_RATE,
        "no_burst": profile["max_calls_in_any_second"] <= DEFAULT_RATE + 1,
        "no_false_drift": bool(result["false_drift"]["ok"]),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.drift_readback",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=10_000, help="converged APIs")
    parser.add_argument("--warmup", type=float, default=310.0,
                        help="seconds after the restart before measuring (the first "
                             "read-backs of objects listed at start-up come one interval later)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds of read-backs")
    parser.add_argument("--edits", type=int, default=300, help="APIs edited per round")
    parser.add_argument("--pace", type=float, default=10.0, help="edits per second")
    parser.add_argument("--false-drift-objects", type=int, default=1000)
    parser.add_argument("--false-drift-interval", type=float, default=10.0)
    parser.add_argument("--output", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as tmp:
        result = eventloop.run(bench(args, pathlib.Path(tmp)))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["targets"]))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())

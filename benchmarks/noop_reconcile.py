"""Benchmark: a no-op reconciler over 10,000 ConfigMaps, from manager start to all reconciled.

Three processes so that each number is about one thing: the emulator (``python -m sim.kubeapi``),
this orchestrator (creates the objects, then starts the operator), and the operator under test
(this module with ``--operator``: a ``Manager`` with one controller whose reconcile does nothing
but count). The operator reports its own timings and peak RSS on stdout as JSON.

Targets: all 10,000 reconciled within 20 s of start; peak RSS under 200 MiB.

Usage: ``python -m benchmarks.noop_reconcile [--objects 10000]``; results are printed and written
to ``benchmarks/results/noop_reconcile.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NAMESPACE = "bench"
RESULTS = Path(__file__).resolve().parent / "results" / "noop_reconcile.json"
ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 20.0
TARGET_RSS_MIB = 200.0


# ---------------------------------------------------------------------------- operator side


async def run_operator(expected: int) -> dict[str, Any]:
    from controller.config import Settings
    from controller.informers import enqueue_object
    from controller.keys import ObjectKey
    from controller.kube.client import connect
    from controller.kube.resources import CONFIG_MAPS
    from controller.logging import configure_logging
    from controller.loop import Controller, ControllerOptions
    from controller.manager import Manager, ManagerOptions
    from controller.reconcile import Result

    settings = Settings.from_env()
    configure_logging(settings.logs)
    started = time.perf_counter()
    done = asyncio.Event()
    seen: set[ObjectKey] = set()
    first_reconcile: list[float] = []

    class NoopReconciler:
        async def reconcile(self, key: ObjectKey) -> Result:
            if not first_reconcile:
                first_reconcile.append(time.perf_counter())
            seen.add(key)
            if len(seen) >= expected:
                done.set()
            return Result()

    api = await connect()
    manager = Manager(settings, api, options=ManagerOptions(bind_host="127.0.0.1",
                                                            handle_signals=False))
    controller = Controller("noop", NoopReconciler(), options=ControllerOptions(
        max_concurrent_reconciles=settings.max_concurrent_reconciles))
    manager.informers.informer_for(CONFIG_MAPS).add_handler(enqueue_object(controller.queue))
    manager.register(controller)
    task = asyncio.create_task(manager.run())
    await asyncio.wait_for(manager.informers.wait_for_sync(), 120)
    synced = time.perf_counter()
    await asyncio.wait_for(done.wait(), 300)
    finished = time.perf_counter()
    manager.request_stop()
    exit_code = await task
    await api.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reconcile_window = finished - (first_reconcile[0] if first_reconcile else started)
    return {
        "objects": expected,
        "reconciled": len(seen),
        "seconds_to_cache_synced": round(synced - started, 3),
        "seconds_to_all_reconciled": round(finished - started, 3),
        "reconciles_per_second": round(len(seen) / reconcile_window, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "workers": settings.max_concurrent_reconciles,
        "manager_exit_code": exit_code,
    }


# ---------------------------------------------------------------------------- orchestrator


async def populate(kubeconfig: Path, count: int) -> float:
    from controller.kube.client import connect
    from controller.kube.resources import CONFIG_MAPS
    from controller.kube.rest import request_json

    started = time.perf_counter()
    api = await connect(kubeconfig=str(kubeconfig))
    try:
        await request_json(api, "POST", "/api/v1/namespaces", body={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        names = iter(range(count))

        async def worker() -> None:
            for index in names:
                await request_json(api, "POST", CONFIG_MAPS.collection_path(NAMESPACE), body={
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"cm-{index:05d}", "namespace": NAMESPACE},
                    "data": {"index": str(index)},
                })

        await asyncio.gather(*(worker() for _ in range(32)))
    finally:
        await api.close()
    return time.perf_counter() - started


async def orchestrate(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        emulator = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sim.kubeapi", "--port", "0", "--kubeconfig", str(kubeconfig),
            "--history", "20000",
            cwd=str(ROOT), stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert emulator.stdout is not None
            url = (await asyncio.wait_for(emulator.stdout.readline(), 30)).decode().strip()
            populate_seconds = await populate(kubeconfig, count)
            env = {**os.environ, "KUBECONFIG": str(kubeconfig), "NAMESPACE": NAMESPACE,
                   "LOGS_LEVEL": "warn"}
            spawned = time.perf_counter()
            operator = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "benchmarks.noop_reconcile", "--operator",
                "--objects", str(count),
                cwd=str(ROOT), env=env, stdout=asyncio.subprocess.PIPE,
            )
            out, _ = await asyncio.wait_for(operator.communicate(), 600)
            process_seconds = time.perf_counter() - spawned
            if operator.returncode != 0:
                raise RuntimeError(f"operator process failed with {operator.returncode}")
            report: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        finally:
            emulator.terminate()
            await emulator.wait()
    report.update(
        emulator_url=url,
        populate_seconds=round(populate_seconds, 2),
        seconds_from_process_spawn_to_exit=round(process_seconds, 3),
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.noop_reconcile")
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--operator", action="store_true",
                        help="internal: run as the operator under test")
    args = parser.parse_args(argv)
    if args.operator:
        from controller import eventloop

        print(json.dumps(eventloop.run(run_operator(args.objects))), flush=True)
        return 0

    report = asyncio.run(orchestrate(args.objects))
    report.update(
        benchmark="noop_reconcile",
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        machine={"platform": platform.platform(), "python": platform.python_version(),
                 "cpus": os.cpu_count()},
        targets={"seconds_to_all_reconciled": TARGET_SECONDS, "peak_rss_mib": TARGET_RSS_MIB},
    )
    report["meets_targets"] = (
        report["seconds_to_all_reconciled"] <= TARGET_SECONDS
        and report["peak_rss_mib"] < TARGET_RSS_MIB
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if report["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())

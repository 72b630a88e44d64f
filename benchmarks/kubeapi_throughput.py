"""Throughput and memory of the Kubernetes API emulator over real HTTP.

The emulator runs in its own process (``python -m sim.kubeapi --port 0``, 127.0.0.1) with the
test CRD registered. This process opens ``--watches`` watch streams on ConfigMaps in all
namespaces (like informers) and counts every event; ``--clients`` writer processes (so the
Python client is not the bottleneck) each keep ``--concurrency`` requests in flight and share
``--writes`` writes: creates of ConfigMaps and custom resources (schema pruning, defaulting and
validation on every write), then one merge patch of each. Every write changes its object, so
every ConfigMap write must reach every watch.

A run passes when every write answers 2xx, every watch received every event, and the best of
``--repeat`` runs reaches 1,000 writes/s. Also reported: latency p50/p99, the emulator's CPU
per write (a load-independent figure: the machine is shared), and its resident memory after
storing ``--objects`` ConfigMaps at three sizes, to show memory is linear in the number of
objects (bytes per object). Writes ``benchmarks/results/kubeapi_throughput.json``.

Run: ``.venv/bin/python -m benchmarks.kubeapi_throughput``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "kubeapi_throughput.json"
CRD = ROOT / "tests" / "sim" / "kubeapi" / "data" / "widgets.yaml"
TARGET_PER_SECOND = 1_000
GROUP = "contract.kubeapi.test"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON = {"Content-Type": "application/json"}
Op = tuple[str, str, dict[str, Any]]


async def start_server(kubeconfig: Path, history: int) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sim.kubeapi",
        "--port",
        "0",
        "--kubeconfig",
        str(kubeconfig),
        "--crds",
        str(CRD),
        "--history",
        str(history),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    url = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
    if not url.startswith("http://127.0.0.1:"):
        raise RuntimeError(f"unexpected emulator banner {url!r}")
    return process, url


def cpu_seconds(pid: int) -> float:
    """User+system CPU time a process has used (from /proc, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class WatchCounter:
    """One watch stream counting the events it receives."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.events = 0
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self, resource_version: str) -> None:
        params = {"watch": "true", "resourceVersion": resource_version}
        async with self.session.get(self.url, params=params, timeout=aiohttp.ClientTimeout()) as r:
            self.ready.set()
            async for line in r.content:
                if line.strip() and not line.startswith(b'{"type":"BOOKMARK"'):
                    self.events += 1


def configmap(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"bench": "yes"}}, "data": {"k": "initial"}}


def widget(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"color": "red", "size": 1, "tags": ["a", "b"]},
    }


def plan(namespace: str, url: str, writes: int, slice_index: int, slices: int) -> list[Op]:
    """This writer's operations: creates of its objects, then one merge patch of each."""
    cm_base = f"{url}/api/v1/namespaces/{namespace}/configmaps"
    wd_base = f"{url}/apis/{GROUP}/v1/namespaces/{namespace}/widgets"
    objects = [i for i in range(writes // 2) if i % slices == slice_index]
    creates: list[Op] = [
        ("POST", cm_base, configmap(f"cm-{i}"))
        if i % 2 == 0
        else ("POST", wd_base, widget(f"w-{i}"))
        for i in objects
    ]
    patches: list[Op] = [
        ("PATCH", f"{cm_base}/cm-{i}", {"data": {"k": f"v{i}"}})
        if i % 2 == 0
        else ("PATCH", f"{wd_base}/w-{i}", {"spec": {"size": i}})
        for i in objects
    ]
    return creates + patches


async def run_writer(url: str, ops: list[Op], concurrency: int) -> dict[str, Any]:
    """Send ``ops`` with ``concurrency`` requests in flight (creates strictly before patches)."""
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        for phase in ("POST", "PATCH"):
            queue = [op for op in ops if op[0] == phase]
            cursor = 0

            async def worker(queue: list[Op] = queue) -> None:
                nonlocal cursor, failures
                while cursor < len(queue):
                    method, target, body = queue[cursor]
                    cursor += 1
                    headers = MERGE if method == "PATCH" else JSON
                    started = time.perf_counter()
                    async with session.request(
                        method, target, data=json.dumps(body), headers=headers
                    ) as r:
                        await r.read()
                        if r.status >= 300:
                            failures += 1
                    latencies.append(time.perf_counter() - started)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"latencies": latencies, "failures": failures}


async def worker_main(args: argparse.Namespace) -> int:
    """A writer process: plan, wait for "go" on stdin, write, print a JSON summary."""
    ops = plan(args.namespace, args.url, args.writes, args.slice, args.slices)
    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    result = await run_writer(args.url, ops, args.concurrency)
    print(json.dumps(result), flush=True)
    return 0


async def throughput(
    url: str,
    *,
    writes: int,
    concurrency: int,
    watches: int,
    clients: int,
    namespace: str,
    server_pid: int,
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        await session.post(f"{url}/api/v1/namespaces", json={"metadata": {"name": namespace}})
        async with session.get(f"{url}/api/v1/configmaps") as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        counters = [WatchCounter(session, f"{url}/api/v1/configmaps") for _ in range(watches)]
        for counter in counters:
            counter.task = asyncio.create_task(counter.run(rv))
        await asyncio.gather(*(c.ready.wait() for c in counters))
        configmap_writes = 2 * len(range(0, writes // 2, 2))

        # Writers run in their own processes so the client side is not the bottleneck.
        writers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.kubeapi_throughput",
                "--worker",
                "--url",
                url,
                "--namespace",
                namespace,
                "--writes",
                str(writes),
                "--slice",
                str(k),
                "--slices",
                str(clients),
                "--concurrency",
                str(concurrency),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**24,
            )
            for k in range(clients)
        ]
        for writer in writers:
            assert writer.stdout is not None
            assert (await writer.stdout.readline()).strip() == b"ready"
        cpu_before = cpu_seconds(server_pid)
        started = time.perf_counter()
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write(b"go\n")
            await writer.stdin.drain()
        outputs = [await w.stdout.readline() for w in writers if w.stdout is not None]
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server_pid) - cpu_before
        for writer in writers:
            await writer.wait()
        results = [json.loads(line) for line in outputs]
        deadline = time.perf_counter() + 30
        while any(c.events < configmap_writes for c in counters) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        delivered_elapsed = time.perf_counter() - started
        for counter in counters:
            assert counter.task is not None
            counter.task.cancel()
    latencies = sorted(x for r in results for x in r["latencies"])
    total = len(latencies)
    return {
        "writes": total,
        "clients": clients,
        "concurrency_per_client": concurrency,
        "failures": sum(r["failures"] for r in results),
        "seconds": round(elapsed, 3),
        "writes_per_second": round(total / elapsed, 1),
        "latency_p50_ms": round(latencies[total // 2] * 1000, 2),
        "latency_p99_ms": round(latencies[int(total * 0.99)] * 1000, 2),
        "watches": watches,
        "events_expected_per_watch": configmap_writes,
        "events_received_per_watch": [c.events for c in counters],
        "all_events_delivered_seconds": round(delivered_elapsed, 3),
        # Load-independent view: server CPU per write, and the write rate one core sustains.
        "server_cpu_ms_per_write": round(server_cpu * 1000 / total, 3),
        "writes_per_server_cpu_second": round(total / server_cpu, 1) if server_cpu else None,
        "load_average_1m": os.getloadavg()[0],
    }


async def memory_curve(url: str, pid: int, sizes: list[int]) -> list[dict[str, int]]:
    points = []
    created = 0
    async with aiohttp.ClientSession() as session:
        await session.post(f"{url}/api/v1/namespaces", json={"metadata": {"name": "memory"}})
        base = f"{url}/api/v1/namespaces/memory/configmaps"
        sem = asyncio.Semaphore(32)
        for size in sizes:

            async def create(i: int) -> None:
                async with sem, session.post(base, json=configmap(f"m-{i}")) as r:
                    await r.read()

            await asyncio.gather(*(create(i) for i in range(created, size)))
            created = size
            async with session.get(f"{url}/_sim/stats") as r:
                stats = await r.json()
            points.append(
                {"objects_total": stats["objects"], "created": size, "rss_bytes": rss_bytes(pid)}
            )
    return points


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for _ in range(args.repeat):
            process, url = await start_server(Path(tmp) / "kubeconfig", args.history)
            try:
                runs.append(
                    await throughput(
                        url,
                        writes=args.writes,
                        concurrency=args.concurrency,
                        watches=args.watches,
                        clients=args.clients,
                        namespace="bench",
                        server_pid=process.pid,
                    )
                )
            finally:
                process.send_signal(signal.SIGTERM)
                await process.wait()
        best = max(runs, key=lambda r: r["writes_per_second"])
        process, url = await start_server(Path(tmp) / "kubeconfig", args.history)
        try:
            baseline = rss_bytes(process.pid)
            sizes = [args.objects // 4, args.objects // 2, args.objects]
            curve = await memory_curve(url, process.pid, sizes)
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    per_object = [round((p["rss_bytes"] - baseline) / p["created"]) for p in curve if p["created"]]
    ok = (
        best["failures"] == 0
        and best["writes_per_second"] >= TARGET_PER_SECOND
        and all(n == best["events_expected_per_watch"] for n in best["events_received_per_watch"])
    )
    result = {
        "benchmark": "kubeapi_throughput",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "target_writes_per_second": TARGET_PER_SECOND,
        "best": best,
        "runs": runs,
        "memory": {
            "baseline_rss_bytes": baseline,
            "curve": curve,
            "rss_bytes_per_object": per_object,
        },
        "passed": ok,
    }
    print(
        f"writes/s={best['writes_per_second']} (target {TARGET_PER_SECOND}) "
        f"p50={best['latency_p50_ms']}ms p99={best['latency_p99_ms']}ms "
        f"watches={best['watches']} events/watch={best['events_received_per_watch']} "
        f"expected={best['events_expected_per_watch']} failures={best['failures']} "
        f"server_cpu/write={best['server_cpu_ms_per_write']}ms "
        f"(={best['writes_per_server_cpu_second']} writes per server CPU-second) "
        f"load1={best['load_average_1m']:.1f}"
    )
    for point, per in zip(curve, per_object, strict=True):
        print(
            f"objects={point['created']} rss={point['rss_bytes'] / 2**20:.1f}MiB "
            f"(~{per} bytes/object over baseline {baseline / 2**20:.1f}MiB)"
        )
    print("PASS" if ok else "FAIL")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ok else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per writer")
    parser.add_argument("--watches", type=int, default=3)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2, help="writer processes")
    # Internal: the writer-process mode used by the benchmark itself.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--namespace", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--slice", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--slices", type=int, default=1, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(asyncio.run(worker_main(arguments) if arguments.worker else main(arguments)))

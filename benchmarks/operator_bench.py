"""End-to-end benchmark of the operator, with every part in its own process as in production.

The Kubernetes API emulator, the APIM simulator and the operator (``examples.run_operator``)
run as separate processes (``examples.stack``); this driver writes objects and measures by
watching the emulator: one watch per scenario records the time each object first shows
``Accepted=True`` for its current generation. Scenarios (``--objects`` N, default 1,000):

* ``a``: N ApiV4Definitions with a context (sync from MANAGEMENT) created while the operator runs;
* ``b``: the operator starts with N existing, never reconciled ApiV4Definitions;
* ``c``: the operator restarts with the N converged APIs of (a): must cost nothing;
* ``d``: the spec of all N APIs of (a) is updated;
* ``e``: N local ApiDefinitions (v2, ``local: true``, ConfigMap, no context);
* ``f``: recovery after an APIM outage: N converged ApiV4Definitions, then the simulator stops
  listening for ``--outage-seconds`` (60; connections refused, data kept) while 10 of the APIs
  are edited every 3 s and 5 new ones are created; measured from APIM answering again until
  every object (and the context) is ``Accepted=True`` for its latest generation
  (``benchmarks.recovery``);
* ``--rss-10k``: like (b) with 10,000 APIs, for the operator's peak RSS.

Per scenario: objects/s to ``Accepted=True``, p50/p99 latency from write (for (b): operator
spawn) to ``Accepted``, Kubernetes writes per object (the operator's
``rest_client_requests_total``), APIM calls per object (the simulator's request log) and the
operator's peak RSS (``VmHWM``). The **floor** (``benchmarks.floor``) does only the unavoidable
calls per object with the same concurrency against its own fresh emulator and simulator.
Two reference rows, not targets: "creation only" (the driver creating N objects, no operator)
and "(a)'s floor" (the floor script driven by a watch while the driver creates and measures
exactly as in (a)): how much of (a) the scenario itself costs, before any operator work.

Targets (2 cores): (a), (b) within 1.5x the floor and >= 100 objects/s; (c) zero APIM calls and
zero Kubernetes writes; peak RSS < 256 MiB with 10,000 APIs; (f) every object converged within
30 s of APIM answering again. Results: a table on stdout and
``benchmarks/results/operator_bench.json`` (date, machine). Exit 0: all targets met; 1: a target
missed; 2: a scenario did not complete. Quick smoke run: ``--objects 20 --scenarios a,c``; of
(f): ``--objects 20 --scenarios f --outage-seconds 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import math
import os
import pathlib
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import aiohttp
import attrs
from prometheus_client.parser import text_string_to_metric_families

from benchmarks import recovery
from controller import eventloop
from examples.kube import JsonObj, KubeClient, key_of
from examples.stack import ROOT, OperatorOptions, Stack, StackOptions
from examples.watch import ConditionWatcher, accepted_for_generation

RESULTS: Final = pathlib.Path(__file__).resolve().parent / "results" / "operator_bench.json"
NAMESPACE: Final = "bench"
CONTEXT_NAME: Final = "bench-apim"
SECRET_NAME: Final = "bench-apim-credentials"
WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALL_SCENARIOS: Final = ("a", "b", "c", "d", "e", "f")
TITLES: Final = {
    "floor": "floor: bare calls only",
    "floor_kube_trust_env": "floor, client env lookups on",
    "creation": "creation only, no operator",
    "floor_watch": "a's floor: created, floor watching",
    "a": "a: create with context, operator up",
    "b": "b: start with N unreconciled",
    "c": "c: restart, N converged",
    "d": "d: update all N",
    "e": "e: create N local v2 (ConfigMap)",
    "f": "f: recovery after APIM outage",
    "rss_10k": "10k: start with 10,000 APIs",
}
TARGET_FLOOR_RATIO: Final = 1.5
TARGET_OBJECTS_PER_SECOND: Final = 100.0
TARGET_RSS_MIB_10K: Final = 256.0
TARGET_RECOVERY_SECONDS: Final = 30.0
RSS_10K_OBJECTS: Final = 10_000


@attrs.frozen(kw_only=True)
class BenchOptions:
    """What to run and how hard."""

    objects: int = 1000
    """APIs per scenario. Defaults to 1,000."""
    scenarios: tuple[str, ...] = ALL_SCENARIOS
    """Which of a..e to run. Defaults to all."""
    rss_10k: bool = False
    """Also run the 10,000-API memory scenario (several minutes)."""
    concurrency: int = 4
    """The operator's MAX_CONCURRENT_RECONCILES, and the floor's workers. Defaults to 4."""
    writers: int = 16
    """Concurrent requests of this driver when it creates or updates objects."""
    repeat: int = 3
    """How many times the floor, (a) and (b) are measured, interleaved (floor, a, b, floor, a,
    b, ...) on fresh stacks; each is reported by its median run, with every run's seconds.
    Defaults to 3: single runs on a shared 2-core VM move by +-20%."""
    outage_seconds: float = 60.0
    """(f): how long APIM does not listen. Defaults to 60."""
    outage_edited: int = 10
    """(f): APIs edited during the outage. Defaults to 10."""
    edit_interval: float = 3.0
    """(f): seconds between two edits of each edited API. Defaults to 3."""
    outage_created: int = 5
    """(f): APIs created in the middle of the outage. Defaults to 5."""
    recovery_timeout: float = 1200.0
    """(f): seconds after APIM answers again before the scenario gives up. Defaults to 1,200."""
    quiet_seconds: float = 2.0
    """A scenario ends when the operator made no call for this long after the last Accepted."""
    work_dir: pathlib.Path | None = None
    """Where logs go; a temporary directory (deleted afterwards) when None."""
    profile_dir: pathlib.Path | None = None
    """When set, every operator, floor and emulator process runs under cProfile and leaves
    ``<dir>/operator-<n>.pstats``, ``<dir>/floor-<n>.pstats`` and ``<dir>/kubeapi-<stack>.pstats``
    behind (slower: for finding hot spots, not for figures)."""


# ---------------------------------------------------------------------------- objects


def context_objects(apim_url: str, namespace: str = NAMESPACE) -> list[JsonObj]:
    """A namespace, the APIM credentials Secret and a ManagementContext using it."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": SECRET_NAME, "namespace": namespace},
         "stringData": {"username": "admin", "password": "admin"}},
        {"apiVersion": "gravitee.io/v1alpha1", "kind": "ManagementContext",
         "metadata": {"name": CONTEXT_NAME, "namespace": namespace},
         "spec": {"baseUrl": apim_url, "organizationId": "DEFAULT", "environmentId": "DEFAULT",
                  "auth": {"secretRef": {"name": SECRET_NAME}}}},
    ]


def v4_api(index: int, namespace: str = NAMESPACE) -> JsonObj:
    """A small v4 proxy API pushed to APIM (sync from MANAGEMENT) through the context."""
    return {
        "apiVersion": "gravitee.io/v1alpha1", "kind": "ApiV4Definition",
        "metadata": {"name": f"api-{index:05d}", "namespace": namespace},
        "spec": {
            "contextRef": {"name": CONTEXT_NAME},
            "name": f"bench api {index}", "version": "1.0", "type": "PROXY",
            "description": "benchmark API",
            "definitionContext": {"origin": "KUBERNETES", "syncFrom": "MANAGEMENT"},
            "listeners": [{"type": "HTTP", "paths": [{"path": f"/bench/{index}"}],
                           "entrypoints": [{"type": "http-proxy", "qos": "AUTO"}]}],
            "endpointGroups": [{"name": "default", "type": "http-proxy", "endpoints": [
                {"name": "default", "type": "http-proxy", "inheritConfiguration": False,
                 "configuration": {"target": f"http://backend.bench.svc/{index}"}}]}],
            "plans": {"open": {"name": "Open", "security": {"type": "KEY_LESS"}}},
        },
    }


def local_v2_api(index: int, namespace: str = NAMESPACE) -> JsonObj:
    """A v2 API deployed through a ConfigMap only (``local: true``, no context)."""
    return {
        "apiVersion": "gravitee.io/v1alpha1", "kind": "ApiDefinition",
        "metadata": {"name": f"local-{index:05d}", "namespace": namespace},
        "spec": {
            "name": f"local api {index}", "version": "1.0", "description": "benchmark API",
            "local": True,
            "plans": [{"name": "Open", "description": "open", "security": "KEY_LESS"}],
            "proxy": {"virtual_hosts": [{"path": f"/local/{index}"}],
                      "groups": [{"endpoints": [{"name": "default",
                                                 "target": f"http://backend/{index}"}]}]},
        },
    }


# ---------------------------------------------------------------------------- measuring


@attrs.frozen
class Snapshot:
    """Cumulative counters at one instant."""

    kube_requests: dict[str, float]
    """Operator's Kubernetes requests by HTTP method."""
    reconciles: float
    apim_mark: int
    cpu_seconds: dict[str, float] = attrs.field(factory=dict, eq=False)
    """CPU time used so far by each process (``operator``, ``kubeapi``, ``apim``, ``driver``);
    not part of equality, so an idle process's housekeeping does not look like activity."""

    @property
    def kube_writes(self) -> float:
        return sum(v for m, v in self.kube_requests.items() if m in WRITE_METHODS)


EMPTY_OPERATOR = Snapshot(kube_requests={}, reconciles=0.0, apim_mark=0)


async def apim_mark(session: aiohttp.ClientSession, apim_url: str) -> int:
    async with session.get(f"{apim_url}/_sim/requests", params={"since": str(2**62)}) as resp:
        return int((await resp.json())["mark"])


async def apim_calls_since(session: aiohttp.ClientSession, apim_url: str,
                           mark: int) -> Counter[str]:
    """APIM calls after ``mark``, keyed ``METHOD /path-shape`` (ids elided)."""
    async with session.get(f"{apim_url}/_sim/requests", params={"since": str(mark)}) as resp:
        entries = (await resp.json())["requests"]
    shapes: Counter[str] = Counter()
    for entry in entries:
        parts = entry["path"].split("/")
        # /automation/organizations/O/environments/E/apis[/id] -> keep the collection name
        shape = "/".join(parts[:7]) if len(parts) > 7 else entry["path"]
        shapes[f"{entry['method']} {shape}"] += 1
    return shapes


async def operator_counters(session: aiohttp.ClientSession, metrics_url: str
                            ) -> tuple[dict[str, float], float]:
    async with session.get(f"{metrics_url}/metrics") as response:
        text = await response.text()
    requests: dict[str, float] = {}
    reconciles = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "rest_client_requests_total":
                method = sample.labels["method"]
                requests[method] = requests.get(method, 0.0) + sample.value
            elif sample.name == "controller_runtime_reconcile_total":
                reconciles += sample.value
    return requests, reconciles


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (0 when /proc cannot tell)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields 14 and 15 of stat (utime, stime), counted after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stack_cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds of every process, this driver (object writes + condition watch) included:
    they share the machine's cores, so the report shows the whole budget."""
    found = {"operator": 0.0, "driver": time.process_time()}
    for process in stack.processes():
        name = "operator" if process.name.startswith("operator") else process.name
        found[name] = cpu_seconds(process.pid)
    return found


async def snapshot(session: aiohttp.ClientSession, stack: Stack) -> Snapshot:
    """Counters now; before an operator starts, its counters are zero."""
    mark = await apim_mark(session, stack.apim_url)
    cpu = stack_cpu(stack)
    if stack.operator is None:
        return attrs.evolve(EMPTY_OPERATOR, apim_mark=mark, cpu_seconds=cpu)
    requests, reconciles = await operator_counters(session, stack.operator.metrics_url)
    return Snapshot(kube_requests=requests, reconciles=reconciles, apim_mark=mark,
                    cpu_seconds=cpu)


async def wait_quiet(session: aiohttp.ClientSession, stack: Stack, *, quiet: float,
                     timeout: float = 120.0) -> Snapshot:
    """Wait until the operator made no Kubernetes request, reconcile or APIM call for ``quiet``
    seconds (deadline ``timeout``); returns the last snapshot."""
    deadline = time.monotonic() + timeout
    last = await snapshot(session, stack)
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        current = await snapshot(session, stack)
        if current != last:
            last, still_since = current, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            return current
    return last


def peak_rss_mib(pid: int) -> float | None:
    """``VmHWM`` of a live process, in MiB (None when /proc is not available)."""
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    # round() first so that 0.99 * 100 is 99, not 99.00000000000001 (which would ceil to 100)
    rank = max(1, min(len(sorted_values), math.ceil(round(fraction * len(sorted_values), 9))))
    return sorted_values[rank - 1]


def timing(t0: dict[str, float], accepted: dict[str, float]) -> dict[str, Any]:
    """Throughput and latency of the objects that reached Accepted."""
    done = [k for k in t0 if k in accepted]
    if not done:
        return {"accepted": 0, "seconds": None, "objects_per_second": None,
                "latency_p50_ms": None, "latency_p99_ms": None}
    latencies = sorted(accepted[k] - t0[k] for k in done)
    seconds = max(accepted[k] for k in done) - min(t0[k] for k in done)
    return {
        "accepted": len(done),
        "seconds": round(seconds, 3),
        "objects_per_second": round(len(done) / seconds, 1) if seconds > 0 else None,
        "latency_p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
    }


def costs(before: Snapshot, after: Snapshot, apim: Counter[str], objects: int
          ) -> dict[str, Any]:
    """Kubernetes requests and APIM calls between two snapshots, in total and per object."""
    methods = sorted(set(before.kube_requests) | set(after.kube_requests))
    by_method = {m: after.kube_requests.get(m, 0.0) - before.kube_requests.get(m, 0.0)
                 for m in methods}
    writes = after.kube_writes - before.kube_writes
    calls = sum(apim.values())
    return {
        "kube_writes": int(writes),
        "kube_writes_per_object": round(writes / objects, 2) if objects else None,
        "kube_requests_by_method": {m: int(v) for m, v in by_method.items() if v},
        "apim_calls": calls,
        "apim_calls_per_object": round(calls / objects, 2) if objects else None,
        "apim_calls_by_endpoint": dict(apim.most_common()),
        "reconciles": int(after.reconciles - before.reconciles),
        "cpu_seconds": {name: round(after.cpu_seconds.get(name, 0.0)
                                    - before.cpu_seconds.get(name, 0.0), 2)
                        for name in sorted(after.cpu_seconds)},
    }


# ---------------------------------------------------------------------------- driving


async def write_all(items: Iterable[JsonObj], write: Callable[[JsonObj], Any], *,
                    writers: int) -> dict[str, float]:
    """Run ``write`` on every item with ``writers`` concurrent tasks; time before each call."""
    t0: dict[str, float] = {}
    pending = iter(items)

    async def worker() -> None:
        for obj in pending:
            t0[key_of(obj)] = time.monotonic()
            await write(obj)

    await asyncio.gather(*(worker() for _ in range(writers)))
    return t0


async def setup_context(kube: KubeClient, apim_url: str) -> None:
    for obj in context_objects(apim_url):
        await kube.apply(obj)


async def wait_context_accepted(kube: KubeClient, timeout: float) -> None:
    watcher = ConditionWatcher(kube, "ManagementContext", NAMESPACE,
                               predicate=accepted_for_generation({}))
    async with watcher:
        if not await watcher.wait_for(keys=[f"{NAMESPACE}/{CONTEXT_NAME}"], timeout=timeout):
            raise RuntimeError("the ManagementContext was not Accepted=True in time")


def phase_timeout(objects: int) -> float:
    return 120.0 + objects / 5.0


class Bench:
    """Runs the scenarios and collects one report."""

    def __init__(self, options: BenchOptions, work_dir: pathlib.Path) -> None:
        self.options = options
        self.work_dir = work_dir
        self.results: dict[str, dict[str, Any]] = {}
        self._profiles = 0

    def _stack(self, name: str, objects: int) -> Stack:
        profile: tuple[str, ...] = ()
        if self.options.profile_dir is not None:
            profile = ("-m", "cProfile", "-o",
                       str(self.options.profile_dir / f"kubeapi-{name}.pstats"))
        return Stack(StackOptions(work_dir=self.work_dir / name,
                                  watch_history=max(10_000, objects * 10),
                                  emulator_interpreter_args=profile))

    def _operator_options(self) -> OperatorOptions:
        profile: tuple[str, ...] = ()
        if self.options.profile_dir is not None:
            self._profiles += 1
            path = self.options.profile_dir / f"operator-{self._profiles}.pstats"
            profile = ("-m", "cProfile", "-o", str(path))
        return OperatorOptions(max_concurrent_reconciles=self.options.concurrency,
                               ready_timeout=300.0, interpreter_args=profile)

    async def _write_and_watch(
        self, kube: KubeClient, kind: str, objects: Iterable[JsonObj], *,
        predicate: Callable[[JsonObj], bool], count: int,
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Create ``objects`` while watching ``kind``; returns the write times and the times
        each object first matched ``predicate``."""
        watcher = ConditionWatcher(kube, kind, NAMESPACE, predicate=predicate, keep_objects=False)
        async with watcher:
            t0 = await write_all(objects, kube.create, writers=self.options.writers)
            await watcher.wait_for(keys=list(t0), timeout=phase_timeout(count))
        return t0, watcher.first_seen

    async def _measure_creation(
        self, stack: Stack, kube: KubeClient, session: aiohttp.ClientSession, *,
        kind: str, objects: list[JsonObj],
    ) -> dict[str, Any]:
        """Create ``objects`` while the operator runs; wait until all are Accepted."""
        await wait_quiet(session, stack, quiet=self.options.quiet_seconds)
        before = await snapshot(session, stack)
        t0, accepted = await self._write_and_watch(
            kube, kind, objects, predicate=accepted_for_generation({}), count=len(objects))
        return await self._finish(stack, session, before, t0, accepted, len(objects))

    async def _finish(self, stack: Stack, session: aiohttp.ClientSession, before: Snapshot,
                      t0: dict[str, float], accepted: dict[str, float], objects: int
                      ) -> dict[str, Any]:
        after = await wait_quiet(session, stack, quiet=self.options.quiet_seconds)
        apim = await apim_calls_since(session, stack.apim_url, before.apim_mark)
        result = {"objects": objects, **timing(t0, accepted), **costs(before, after, apim, objects)}
        missing = sorted(set(t0) - set(accepted))
        result["missing"] = missing[:10]
        assert stack.operator is not None
        result["operator_peak_rss_mib"] = peak_rss_mib(stack.operator.process.pid)
        return result

    async def run_floor(self, objects: int, *, run: int = 0) -> dict[str, dict[str, Any]]:
        name = "floor" if run == 0 else f"floor-{run + 1}"
        found: dict[str, dict[str, Any]] = {}
        async with self._stack(name, objects) as stack, KubeClient(stack.kube_url) as kube:
            await setup_context(kube, stack.apim_url)
            found["creation"] = await self._measure_creation_only(stack, kube, objects)
            found["floor"] = await self._floor_process(stack, objects, [])
            if run == 0:
                # The same calls again with kubernetes-asyncio's default per-request environment
                # lookups (see benchmarks.floor): how much is the client's configuration.
                found["floor_kube_trust_env"] = await self._floor_process(
                    stack, objects, ["--kube-trust-env"])
        return found

    async def _measure_creation_only(self, stack: Stack, kube: KubeClient, objects: int
                                     ) -> dict[str, Any]:
        """The floor's objects are created the way (a) creates them (same writers, a watch
        seeing each one), with no operator: what creating costs on these shared cores. Not a
        target; it shows how much of (a) is creation rather than reconciling."""
        cpu_before = stack_cpu(stack)
        t0, seen = await self._write_and_watch(
            kube, "ApiV4Definition", (v4_api(i) for i in range(objects)),
            predicate=lambda obj: True, count=objects)
        cpu_after = stack_cpu(stack)
        result = {"objects": objects, **timing(t0, seen)}
        result["seen"] = result.pop("accepted")
        result["cpu_seconds"] = {name: round(cpu_after[name] - cpu_before.get(name, 0.0), 2)
                                 for name in ("driver", "kubeapi")}
        return result

    async def _spawn_floor(self, stack: Stack, extra: list[str]) -> asyncio.subprocess.Process:
        profile: tuple[str, ...] = ()
        if self.options.profile_dir is not None:
            self._profiles += 1
            path = self.options.profile_dir / f"floor-{self._profiles}.pstats"
            profile = ("-m", "cProfile", "-o", str(path))
        return await asyncio.create_subprocess_exec(
            sys.executable, *profile, "-m", "benchmarks.floor",
            "--kubeconfig", str(stack.kubeconfig),
            "--apim", stack.apim_url, "--namespace", NAMESPACE,
            "--concurrency", str(self.options.concurrency), *extra,
            cwd=str(ROOT),
            stdout=asyncio.subprocess.PIPE,
        )

    @staticmethod
    async def _floor_report(process: asyncio.subprocess.Process, objects: int,
                            stack: Stack, cpu_before: dict[str, float]) -> dict[str, Any]:
        out, _ = await asyncio.wait_for(process.communicate(), phase_timeout(objects))
        if process.returncode != 0:
            raise RuntimeError(f"floor failed with exit code {process.returncode}")
        result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        cpu_after = stack_cpu(stack)
        cpu: dict[str, float] = {"floor": float(result.pop("cpu_seconds"))}
        for name in ("kubeapi", "apim", "driver"):
            cpu[name] = round(cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0), 2)
        result["cpu_seconds"] = cpu
        return result

    async def _floor_process(self, stack: Stack, objects: int, extra: list[str]
                             ) -> dict[str, Any]:
        cpu_before = stack_cpu(stack)
        process = await self._spawn_floor(stack, extra)
        return await self._floor_report(process, objects, stack, cpu_before)

    async def run_floor_watching(self, objects: int, *, run: int = 0) -> dict[str, Any]:
        """(a)'s own floor, a reference rather than a target: the floor script watching (no
        operator), while this driver creates and measures exactly as in (a). What creating the
        objects, the watch events and the measuring cost on the shared cores, with only the
        unavoidable calls per object on top; (a) minus this is what the operator adds."""
        name = "floor-watch" if run == 0 else f"floor-watch-{run + 1}"
        async with self._stack(name, objects) as stack, KubeClient(stack.kube_url) as kube:
            await setup_context(kube, stack.apim_url)
            cpu_before = stack_cpu(stack)
            process = await self._spawn_floor(stack, ["--watch-for", str(objects)])
            try:
                assert process.stdout is not None
                line = await asyncio.wait_for(process.stdout.readline(), 60)
                if not line:
                    await process.wait()
                    raise RuntimeError(f"floor failed with exit code {process.returncode}")
                t0, accepted = await self._write_and_watch(
                    kube, "ApiV4Definition", (v4_api(i) for i in range(objects)),
                    predicate=accepted_for_generation({}), count=objects)
                report = await self._floor_report(process, objects, stack, cpu_before)
            finally:
                if process.returncode is None:  # failed half-way: never leave it behind
                    process.kill()
                    await process.wait()
            result = {"objects": objects, **timing(t0, accepted)}
            result["cpu_seconds"] = report["cpu_seconds"]
            result["kube_writes_per_object"] = report["kube_writes_per_object"]
            result["apim_calls_per_object"] = report["apim_calls_per_object"]
            return result

    async def run_a_c_d(self, scenarios: Sequence[str]) -> dict[str, Any]:
        """(c) and (d), when asked for, on the stack (a) filled; returns (a)'s result."""
        n = self.options.objects
        async with (self._stack("acd", n) as stack, KubeClient(stack.kube_url) as kube,
                    aiohttp.ClientSession() as session):
            # (a) runs even when only (c)/(d) are asked for: they need converged APIs.
            result = await self._create_with_operator(stack, kube, session)
            if "c" in scenarios:
                await stack.stop_operator()
                before = await snapshot(session, stack)
                started = time.monotonic()
                operator = await stack.start_operator(self._operator_options())
                ready = time.monotonic() - started
                after = await wait_quiet(session, stack, quiet=max(3.0, self.options.quiet_seconds))
                apim = await apim_calls_since(session, stack.apim_url, before.apim_mark)
                self.results["c"] = {"objects": n, "seconds_to_ready": round(ready, 3),
                                     **costs(before, after, apim, n),
                                     "operator_peak_rss_mib": peak_rss_mib(operator.process.pid)}
            if "d" in scenarios:
                self.results["d"] = await self._measure_update(stack, kube, session)
            return result

    async def run_a(self, run: int) -> dict[str, Any]:
        """(a) alone on a fresh stack (the repetitions after the first)."""
        n = self.options.objects
        async with (self._stack(f"a-{run + 1}", n) as stack, KubeClient(stack.kube_url) as kube,
                    aiohttp.ClientSession() as session):
            return await self._create_with_operator(stack, kube, session)

    async def _create_with_operator(self, stack: Stack, kube: KubeClient,
                                    session: aiohttp.ClientSession) -> dict[str, Any]:
        """(a): a context, a running operator, then N ApiV4Definitions created."""
        await setup_context(kube, stack.apim_url)
        await stack.start_operator(self._operator_options())
        await wait_context_accepted(kube, timeout=60)
        return await self._measure_creation(
            stack, kube, session, kind="ApiV4Definition",
            objects=[v4_api(i) for i in range(self.options.objects)])

    async def _measure_update(self, stack: Stack, kube: KubeClient,
                              session: aiohttp.ClientSession) -> dict[str, Any]:
        if stack.operator is None:
            await stack.start_operator(self._operator_options())
        listing = await kube.list("ApiV4Definition", NAMESPACE)
        items = listing["items"]
        expected = {key_of(o): int(o["metadata"].get("generation", 1)) + 1 for o in items}
        await wait_quiet(session, stack, quiet=self.options.quiet_seconds)
        before = await snapshot(session, stack)
        watcher = ConditionWatcher(kube, "ApiV4Definition", NAMESPACE,
                                   predicate=accepted_for_generation(expected),
                                   keep_objects=False)

        async def update(obj: JsonObj) -> None:
            meta = obj["metadata"]
            await kube.merge_patch("ApiV4Definition", meta["namespace"], meta["name"],
                                   {"spec": {"description": "benchmark API, updated"}})

        async with watcher:
            t0 = await write_all(items, update, writers=self.options.writers)
            await watcher.wait_for(keys=list(t0), timeout=phase_timeout(len(items)))
        return await self._finish(stack, session, before, t0, watcher.first_seen, len(items))

    async def run_start_with_existing(self, name: str, objects: int, *, run: int = 0
                                      ) -> dict[str, Any]:
        """(b) and the 10k memory run: N APIs exist before the operator starts."""
        stack_name = name if run == 0 else f"{name}-{run + 1}"
        async with (self._stack(stack_name, objects) as stack, KubeClient(stack.kube_url) as kube,
                    aiohttp.ClientSession() as session):
            await setup_context(kube, stack.apim_url)
            await write_all((v4_api(i) for i in range(objects)), kube.create,
                            writers=self.options.writers)
            before = await snapshot(session, stack)
            watcher = ConditionWatcher(kube, "ApiV4Definition", NAMESPACE,
                                       predicate=accepted_for_generation({}), keep_objects=False)
            async with watcher:
                operator = await stack.start_operator(self._operator_options())
                ready_at = time.monotonic()
                keys = [f"{NAMESPACE}/api-{i:05d}" for i in range(objects)]
                t0 = dict.fromkeys(keys, operator.spawned_at)
                await watcher.wait_for(keys=keys, timeout=phase_timeout(objects))
            result = await self._finish(stack, session, before, t0, watcher.first_seen, objects)
            # Latency counts from the spawn (process start included); the floor comparison
            # counts from readiness (caches synced), like the floor's clock starts after its list.
            result["seconds_to_ready"] = round(ready_at - operator.spawned_at, 3)
            if watcher.first_seen:
                start = min(ready_at, *watcher.first_seen.values())
                result["seconds_from_ready"] = round(max(watcher.first_seen.values()) - start, 3)
            return result

    async def run_local(self) -> None:
        n = self.options.objects
        async with (self._stack("e", n) as stack, KubeClient(stack.kube_url) as kube,
                    aiohttp.ClientSession() as session):
            await kube.apply({"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": NAMESPACE}})
            await stack.start_operator(self._operator_options())
            self.results["e"] = await self._measure_creation(
                stack, kube, session, kind="ApiDefinition",
                objects=[local_v2_api(i) for i in range(n)])

    async def run_outage(self) -> dict[str, Any]:
        """(f): N converged APIs; APIM stops listening for ``outage_seconds`` while some APIs
        are edited and a few created; then how long until every object is converged again."""
        opts, n = self.options, self.options.objects
        async with (self._stack("f", n) as stack, KubeClient(stack.kube_url) as kube,
                    aiohttp.ClientSession() as session, recovery.probe_session() as probe):
            setup = await self._create_with_operator(stack, kube, session)
            if setup["accepted"] != n:
                raise RuntimeError(f"(f): only {setup['accepted']} of {n} APIs converged before "
                                   "the outage")
            assert stack.operator is not None
            metrics_url = stack.operator.metrics_url
            step = max(1, n // max(1, opts.outage_edited))
            edited = [f"{NAMESPACE}/api-{i:05d}" for i in range(0, n, step)][:opts.outage_edited]
            created = [v4_api(n + i) for i in range(opts.outage_created)]
            api_keys = [f"{NAMESPACE}/api-{i:05d}" for i in range(n + opts.outage_created)]
            apis = recovery.ConvergenceWatcher(kube, "ApiV4Definition", NAMESPACE)
            contexts = recovery.ConvergenceWatcher(kube, "ManagementContext", NAMESPACE)
            edits, stop_edits = recovery.Edits(), asyncio.Event()
            async with apis, contexts:
                before = await snapshot(session, stack)
                metrics_before = await recovery.operator_retry_metrics(session, metrics_url)
                wall_down, mono_down = time.time(), time.monotonic()
                down_seen = await recovery.start_outage(probe, stack.apim_url,
                                                        opts.outage_seconds)
                editing = asyncio.create_task(recovery.edit_until(
                    kube, "ApiV4Definition", edited, interval=opts.edit_interval,
                    stop=stop_edits, edits=edits))
                try:
                    await asyncio.sleep(opts.outage_seconds / 2)
                    for obj in created:
                        await kube.create(obj)
                    # The operator's counters as they stand just before APIM comes back: read
                    # after it answers, a fast recovery's first calls would count as made
                    # during the outage. The last second is left to the "after" figures.
                    await asyncio.sleep(
                        max(0.0, mono_down + opts.outage_seconds - 1.0 - time.monotonic()))
                    metrics_down = await recovery.operator_retry_metrics(session, metrics_url)
                    up_seen = await recovery.wait_answering(probe, stack.apim_url,
                                                            timeout=opts.outage_seconds + 60)
                finally:
                    stop_edits.set()
                    await editing
                outage = await recovery.simulator_outage(probe, stack.apim_url)
                up_at = float(outage.get("upAt") or up_seen)
                expected = dict(edits.generation)
                context_key = [f"{NAMESPACE}/{CONTEXT_NAME}"]
                deadline = time.monotonic() + opts.recovery_timeout
                done = False
                while not done and time.monotonic() < deadline:
                    # Re-checked every second too: the context's watch does not wake this wait.
                    done = await apis.wait_until(
                        lambda: apis.all_converged(expected, api_keys)
                        and contexts.all_converged({}, context_key), timeout=1.0)
            after = await wait_quiet(session, stack, quiet=opts.quiet_seconds)
            metrics_after = await recovery.operator_retry_metrics(session, metrics_url)
            apim_after = await apim_calls_since(session, stack.apim_url, before.apim_mark)
            failures = recovery.failed_reconciles(
                stack.operator.process.log_path, controller="apiv4definition",
                since_wall=wall_down)
            waits = recovery.longest_waits(failures, apis.tracks,
                                           wall_minus_monotonic=wall_down - mono_down)
            summary = recovery.recovery_summary(
                apis.tracks, up_at=up_at, edited=edits, created={key_of(o) for o in created})
            context = recovery.recovery_summary(contexts.tracks, up_at=up_at,
                                                edited=recovery.Edits(), created=())
            longest = max(waits, key=lambda k: waits[k]) if waits else None
            per_object = summary["per_object_seconds_affected"]
            return {
                "objects": n, "outage_seconds": opts.outage_seconds,
                "outage_seen_seconds": round(up_seen - down_seen, 3),
                "simulator_outage_seconds": (round(outage["upAt"] - outage["downAt"], 3)
                                             if outage.get("upAt") else None),
                "edited_objects": len(edited), "edit_interval_seconds": opts.edit_interval,
                "edits": sum(edits.count.values()), "edit_failures": edits.failures,
                "created_during_outage": len(created),
                "all_converged": done, "seconds": summary["recovery_seconds"],
                "latency_p50_ms": _ms(per_object["p50"]),
                "latency_p99_ms": _ms(per_object["p99"]),
                **summary,
                "context_recovery_seconds": context["recovery_seconds"],
                "apim_attempts_during_outage": recovery.metric_delta(
                    metrics_before, metrics_down)["apim_requests_by_code"],
                "apim_calls_after_outage": sum(apim_after.values()),
                "apim_calls_after_by_endpoint": dict(apim_after.most_common()),
                "operator_after_outage": recovery.metric_delta(metrics_down, metrics_after),
                "operator_during_outage": recovery.metric_delta(metrics_before, metrics_down),
                "failed_reconciles": sum(f.count for f in failures.values()),
                "max_failures_per_object": max((f.count for f in failures.values()), default=0),
                "max_retry_wait_seconds": round(waits[longest], 3) if longest else None,
                "max_retry_wait_object": longest,
                "kube_writes": int(after.kube_writes - before.kube_writes),
                "setup_seconds": setup["seconds"],
                "operator_peak_rss_mib": peak_rss_mib(stack.operator.process.pid),
            }

    async def run(self) -> None:
        scenarios = set(self.options.scenarios)
        runs: dict[str, list[dict[str, Any]]] = {}
        # Interleaved, so a drift of the machine's speed hits the floor and the scenarios alike.
        for run in range(max(1, self.options.repeat)):
            if {"a", "b"} & scenarios:
                for name, result in (await self.run_floor(self.options.objects, run=run)).items():
                    runs.setdefault(name, []).append(result)
            if "a" in scenarios:
                runs.setdefault("floor_watch", []).append(
                    await self.run_floor_watching(self.options.objects, run=run))
            if run == 0 and {"a", "c", "d"} & scenarios:
                created = await self.run_a_c_d(self.options.scenarios)
                if "a" in scenarios:
                    runs.setdefault("a", []).append(created)
            elif "a" in scenarios:
                runs.setdefault("a", []).append(await self.run_a(run))
            if "b" in scenarios:
                runs.setdefault("b", []).append(
                    await self.run_start_with_existing("b", self.options.objects, run=run))
        for name, results in runs.items():
            self.results[name] = median_run(results)
        if "e" in scenarios:
            await self.run_local()
        if "f" in scenarios:
            self.results["f"] = await self.run_outage()
        if self.options.rss_10k:
            self.results["rss_10k"] = await self.run_start_with_existing(
                "rss_10k", RSS_10K_OBJECTS)


# ---------------------------------------------------------------------------- reporting


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def compared_seconds(result: dict[str, Any]) -> float | None:
    """The time a scenario is judged by: from readiness for (b), from the first write else."""
    value = result.get("seconds_from_ready", result.get("seconds"))
    return None if value is None else float(value)


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time (the slower middle one for an even count), with every run's
    time under ``runs_seconds``."""
    timed = [r for r in results if compared_seconds(r) is not None]
    if not timed:
        return results[-1]
    ordered = sorted(timed, key=lambda r: compared_seconds(r) or 0.0)
    chosen = dict(ordered[len(ordered) // 2])
    chosen["runs_seconds"] = [compared_seconds(r) for r in results]
    return chosen


def evaluate(results: dict[str, dict[str, Any]], objects: int) -> dict[str, bool]:
    """Every target that applies to what ran, and whether it was met."""
    checks: dict[str, bool] = {}
    floor = results.get("floor", {}).get("seconds")
    for name in ("a", "b", "d", "e", "rss_10k"):
        if name in results:
            expected = RSS_10K_OBJECTS if name == "rss_10k" else objects
            checks[f"{name}_all_accepted"] = results[name].get("accepted") == expected
    for name in ("a", "b"):
        result = results.get(name)
        if result is None:
            continue
        seconds = compared_seconds(result)
        rate = result.get("objects_per_second")
        checks[f"{name}_within_{TARGET_FLOOR_RATIO}x_floor"] = bool(
            floor and seconds is not None and seconds <= TARGET_FLOOR_RATIO * floor)
        checks[f"{name}_at_least_{TARGET_OBJECTS_PER_SECOND:.0f}_per_second"] = bool(
            rate is not None and rate >= TARGET_OBJECTS_PER_SECOND)
    if "c" in results:
        checks["c_zero_apim_calls"] = results["c"]["apim_calls"] == 0
        checks["c_zero_kube_writes"] = results["c"]["kube_writes"] == 0
    if "f" in results:
        recovered = results["f"].get("seconds")
        checks["f_all_accepted"] = bool(results["f"].get("all_converged"))
        checks[f"f_within_{TARGET_RECOVERY_SECONDS:.0f}s_of_apim_up"] = bool(
            recovered is not None and recovered <= TARGET_RECOVERY_SECONDS)
    if "rss_10k" in results:
        rss = results["rss_10k"].get("operator_peak_rss_mib")
        checks[f"rss_10k_under_{TARGET_RSS_MIB_10K:.0f}_mib"] = bool(
            rss is not None and rss < TARGET_RSS_MIB_10K)
    return checks


def reference_ratios(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Not targets: (a)'s own floor against the floor, and (a) against its own floor (how much
    of (a) is the operator rather than creating, watching and measuring)."""
    ratios: dict[str, float] = {}
    floor = results.get("floor", {}).get("seconds")
    watching = results.get("floor_watch", {}).get("seconds")
    a = results.get("a", {}).get("seconds")
    if floor and watching:
        ratios["floor_watch_over_floor"] = round(watching / floor, 2)
    if watching and a:
        ratios["a_over_floor_watch"] = round(a / watching, 2)
    return ratios


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec) if spec else str(value)


def render_table(results: dict[str, dict[str, Any]]) -> str:
    floor = results.get("floor", {}).get("seconds")
    header = ("scenario", "objects", "seconds", "obj/s", "p50 ms", "p99 ms", "k8s w/obj",
              "APIM/obj", "RSS MiB", "x floor", "every run (s)")
    rows = [header]
    for name in ("floor", "floor_kube_trust_env", "creation", "floor_watch", *ALL_SCENARIOS,
                 "rss_10k"):
        r = results.get(name)
        if r is None:
            continue
        seconds = r.get("seconds")
        compared = compared_seconds(r)
        ratio = (compared / floor
                 if floor and compared is not None and name in ("a", "b", "floor_watch")
                 else None)
        rows.append((
            TITLES[name], _fmt(r.get("objects")),
            _fmt(seconds if seconds is not None else r.get("seconds_to_ready"), ".2f"),
            _fmt(r.get("objects_per_second")), _fmt(r.get("latency_p50_ms")),
            _fmt(r.get("latency_p99_ms")), _fmt(r.get("kube_writes_per_object")),
            _fmt(r.get("apim_calls_per_object")), _fmt(r.get("operator_peak_rss_mib")),
            _fmt(ratio, ".2f"),
            " / ".join(f"{v:.2f}" for v in r.get("runs_seconds") or () if v is not None)
            if len(r.get("runs_seconds") or ()) > 1 else "",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True)))
                     for row in rows)


def render_recovery(f: dict[str, Any]) -> str:
    """(f)'s figures beyond the table row."""
    def seconds(group: str) -> str:
        values = f.get(group) or {}
        return " / ".join(_fmt(values.get(k), ".1f") for k in ("p50", "p99", "max"))

    return "\n".join([
        f"  (f) outage {_fmt(f.get('outage_seen_seconds'), '.1f')} s; "
        f"{f.get('edits')} edits of {f.get('edited_objects')} APIs, "
        f"{f.get('created_during_outage')} created; "
        f"{f.get('objects_affected')} of {f.get('objects_tracked')} APIs affected",
        f"  (f) recovery after APIM answered: {_fmt(f.get('seconds'), '.1f')} s "
        f"(last: {f.get('last_object')}); context {_fmt(f.get('context_recovery_seconds'))} s",
        f"  (f) per object p50 / p99 / max (s): affected {seconds('per_object_seconds_affected')}"
        f", edited {seconds('per_object_seconds_edited')}, "
        f"created {seconds('per_object_seconds_created')}",
        f"  (f) APIM: {sum((f.get('apim_attempts_during_outage') or {}).values())} attempts "
        f"during the outage, {f.get('apim_calls_after_outage')} calls after; "
        f"{f.get('failed_reconciles')} failed reconciles; longest wait for a retry "
        f"{_fmt(f.get('max_retry_wait_seconds'), '.1f')} s ({f.get('max_retry_wait_object')})",
    ])


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "node": platform.node()}


def load_average() -> list[float] | None:
    """1/5/15-minute load averages: other work on a shared machine skews every number."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


async def bench(options: BenchOptions) -> dict[str, Any]:
    started = time.monotonic()
    load_at_start = load_average()
    with tempfile.TemporaryDirectory(prefix="operator-bench-") as tmp:
        work_dir = options.work_dir or pathlib.Path(tmp)
        runner = Bench(options, work_dir)
        error = None
        try:
            await runner.run()
        except Exception as exc:  # reported, with whatever completed
            error = f"{type(exc).__name__}: {exc}"
    checks = evaluate(runner.results, options.objects)
    return {
        "benchmark": "operator_bench",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "load_average_start": load_at_start,
                    "load_average_end": load_average()},
        "objects": options.objects,
        "repeat": options.repeat,
        "max_concurrent_reconciles": options.concurrency,
        "scenarios_requested": list(options.scenarios) + (["rss_10k"] if options.rss_10k
                                                           else []),
        "results": runner.results,
        "targets": {"floor_ratio_max": TARGET_FLOOR_RATIO,
                    "objects_per_second_min": TARGET_OBJECTS_PER_SECOND,
                    "restart_apim_calls": 0, "restart_kube_writes": 0,
                    "peak_rss_mib_10k_max": TARGET_RSS_MIB_10K,
                    "recovery_seconds_max": TARGET_RECOVERY_SECONDS},
        "checks": checks,
        "reference_ratios": reference_ratios(runner.results),
        "meets_targets": error is None and all(checks.values()),
        "error": error,
        "wall_seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.operator_bench",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=1000, help="APIs per scenario")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS),
                        help="comma-separated subset of a,b,c,d,e (default all)")
    parser.add_argument("--rss-10k", action="store_true",
                        help="also measure peak RSS with 10,000 APIs (several minutes)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the floor, (a) and (b), interleaved; medians reported "
                        "(default 3)")
    parser.add_argument("--outage-seconds", type=float, default=60.0,
                        help="(f): seconds APIM does not listen (default 60)")
    parser.add_argument("--outage-edited", type=int, default=10,
                        help="(f): APIs edited during the outage (default 10)")
    parser.add_argument("--edit-interval", type=float, default=3.0,
                        help="(f): seconds between edits of each edited API (default 3)")
    parser.add_argument("--outage-created", type=int, default=5,
                        help="(f): APIs created during the outage (default 5)")
    parser.add_argument("--recovery-timeout", type=float, default=1200.0,
                        help="(f): seconds to wait for recovery once APIM answers (default 1200)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="MAX_CONCURRENT_RECONCILES and floor workers (default 4)")
    parser.add_argument("--output", type=pathlib.Path, default=RESULTS,
                        help="JSON report path (default benchmarks/results/operator_bench.json)")
    parser.add_argument("--keep-logs", type=pathlib.Path,
                        help="write the processes' logs here instead of a temporary directory")
    parser.add_argument("--profile-operator", type=pathlib.Path, metavar="DIR",
                        help="run each operator and emulator under cProfile, pstats files "
                        "in DIR")
    args = parser.parse_args(argv)
    if args.profile_operator is not None:
        args.profile_operator.mkdir(parents=True, exist_ok=True)
    scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
    unknown = set(scenarios) - set(ALL_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    options = BenchOptions(objects=args.objects, scenarios=scenarios, rss_10k=args.rss_10k,
                           concurrency=args.concurrency, repeat=args.repeat,
                           outage_seconds=args.outage_seconds, outage_edited=args.outage_edited,
                           edit_interval=args.edit_interval, outage_created=args.outage_created,
                           recovery_timeout=args.recovery_timeout,
                           work_dir=args.keep_logs,
                           profile_dir=args.profile_operator)
    # The driver runs on the same event loop as every process it measures.
    report = eventloop.run(bench(options))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(render_table(report["results"]))
    print()
    for name, met in report["checks"].items():
        print(f"  {'met   ' if met else 'MISSED'}  {name}")
    for name, ratio in report["reference_ratios"].items():
        print(f"  (ref)   {name} = {ratio:.2f}")
    if "f" in report["results"]:
        print(render_recovery(report["results"]["f"]))
    if report["error"]:
        print(f"  ERROR   {report['error']}")
    print(f"results written to {args.output}")
    if report["error"] or not all(
            v for k, v in report["checks"].items() if k.endswith("_all_accepted")):
        return 2
    return 0 if report["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())

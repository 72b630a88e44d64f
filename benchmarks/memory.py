"""Memory at cluster scale, and convergence under APIM latency (``make bench``; issue targets in
README.md, "Memory and concurrency").

Every part runs in its own process (``examples.stack``). Two scenarios:

* ``rss``: for each point N (default 0, 1,000 and 10,000): a fresh emulator holding N
  ApiV4Definitions written the way ``kubectl apply`` writes them (the
  ``kubectl.kubernetes.io/last-applied-configuration`` annotation, ``managedFields`` recorded by
  the emulator for the field managers ``kubectl-client-side-apply`` and then the operator), plus
  ``--secrets`` (2,000) unrelated Helm release Secrets (``type: helm.sh/release.v1``, 100 KB
  each) spread over 20 other namespaces. The operator starts, converges every API, stops, and
  starts again over the converged APIs: the figure is that second process's RSS (``VmRSS``) once
  it has been idle for a few seconds, the steady state of a restarted operator; its writes and
  APIM calls must be 0. The first run's peak RSS and convergence time are reported too. An
  extra point ``empty`` starts the operator on an empty cluster: the baseline. Per-object cost:
  ``(RSS(N) - RSS(0)) / N``.
* ``latency``: APIM answers every call after ``--latency`` (0.1 s); ``--latency-apis`` (1,000)
  ApiV4Definitions exist when the operator starts at its default concurrency; the time from its
  readiness to the last ``Accepted=True`` is compared with the ideal
  ``APIs x latency / concurrency``.

``--operator-tree DIR`` runs the operator from another checkout (e.g. the code before a change;
the emulator and simulator always come from this one), to measure before and after on the same
machine. Results: ``benchmarks/results/memory.json`` (or ``--output``), with the load average
at each point: figures from a shared machine move with its load.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import pathlib
import platform
import random
import sys
import tempfile
import time
from typing import Any, Final

import aiohttp

from benchmarks.operator_bench import (
    NAMESPACE,
    apim_calls_since,
    load_average,
    phase_timeout,
    setup_context,
    snapshot,
    v4_api,
    wait_quiet,
    write_all,
)
from controller import eventloop
from examples.kube import JsonObj, KubeClient
from examples.stack import OperatorOptions, Stack, StackOptions
from examples.watch import ConditionWatcher, accepted_for_generation

RESULTS: Final = pathlib.Path(__file__).resolve().parent / "results" / "memory.json"
LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
HELM_NAMESPACES: Final = 20
TARGET_KIB_PER_API: Final = 4.0
TARGET_RSS_MIB_10K: Final = 150.0
TARGET_LATENCY_RATIO: Final = 1.3
DEFAULT_CONCURRENCY: Final = 4


def kubectl_applied(obj: JsonObj) -> JsonObj:
    """``obj`` as ``kubectl apply`` sends it: with its own JSON in the last-applied annotation."""
    applied: JsonObj = json.loads(json.dumps(obj))
    annotation = json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n"
    applied["metadata"].setdefault("annotations", {})[LAST_APPLIED] = annotation
    return applied


def helm_release_secret(index: int, size: int, rng: random.Random) -> JsonObj:
    """A Helm 3 release Secret of about ``size`` bytes of base64 data."""
    raw = rng.randbytes(size * 3 // 4)
    namespace = f"helm-{index % HELM_NAMESPACES:02d}"
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": f"sh.helm.release.v1.app-{index:05d}.v1", "namespace": namespace,
                     "labels": {"owner": "helm", "name": f"app-{index:05d}", "status": "deployed",
                                "version": "1"}},
        "data": {"release": base64.b64encode(raw).decode()},
    }


def rss_mib(pid: int) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (peak) of a live process, MiB."""
    found: dict[str, float] = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        field, _, value = line.partition(":")
        if field in ("VmRSS", "VmHWM"):
            found[field] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mib": found.get("VmRSS", 0.0), "peak_rss_mib": found.get("VmHWM", 0.0),
            "pid": pid}


class MemoryBench:
    def __init__(self, args: argparse.Namespace, work_dir: pathlib.Path) -> None:
        self.args = args
        self.work_dir = work_dir

    def _operator(self, concurrency: int = DEFAULT_CONCURRENCY) -> OperatorOptions:
        env: dict[str, str] = {}
        interpreter_args: tuple[str, ...] = ()
        if self.args.operator_tree:
            # -P: not this checkout first on sys.path (``-m`` would put the working directory
            # there), so the operator's code comes from the tree named.
            env["PYTHONPATH"] = str(pathlib.Path(self.args.operator_tree).resolve())
            interpreter_args = ("-P",)
        return OperatorOptions(max_concurrent_reconciles=concurrency, ready_timeout=600.0,
                               extra_env=env, interpreter_args=interpreter_args)

    def _stack(self, name: str, objects: int) -> Stack:
        return Stack(StackOptions(work_dir=self.work_dir / name,
                                  watch_history=max(10_000, objects * 10)))

    async def _populate(self, kube: KubeClient, apim_url: str, apis: int, secrets: int) -> None:
        rng = random.Random(21)
        for index in range(HELM_NAMESPACES if secrets else 0):
            await kube.apply({"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": f"helm-{index:02d}"}})
        helm = (helm_release_secret(i, self.args.secret_kib * 1024, rng) for i in range(secrets))

        async def as_helm(obj: JsonObj) -> None:
            await kube.request("POST", f"/api/v1/namespaces/{obj['metadata']['namespace']}"
                               "/secrets", body=obj, params={"fieldManager": "helm"})

        await write_all(helm, as_helm, writers=8)
        await setup_context(kube, apim_url)

        async def as_kubectl(obj: JsonObj) -> None:
            await kube.request(
                "POST", f"/apis/gravitee.io/v1alpha1/namespaces/{NAMESPACE}/apiv4definitions",
                body=obj, params={"fieldManager": "kubectl-client-side-apply"})

        await write_all((kubectl_applied(v4_api(i)) for i in range(apis)), as_kubectl,
                        writers=16)

    async def _converge(self, stack: Stack, kube: KubeClient, apis: int,
                        concurrency: int = DEFAULT_CONCURRENCY) -> dict[str, Any]:
        """Start the operator over ``apis`` existing APIs; wait until all are Accepted."""
        watcher = ConditionWatcher(kube, "ApiV4Definition", NAMESPACE,
                                   predicate=accepted_for_generation({}), keep_objects=False)
        async with watcher:
            operator = await stack.start_operator(self._operator(concurrency))
            ready_at = time.monotonic()
            keys = [f"{NAMESPACE}/api-{i:05d}" for i in range(apis)]
            if apis:
                done = await watcher.wait_for(keys=keys, timeout=phase_timeout(apis) + 600)
                if not done:
                    raise RuntimeError(f"only {len(watcher.first_seen)} of {apis} APIs "
                                       "were Accepted in time")
        last = max(watcher.first_seen.values(), default=ready_at)
        return {"seconds_to_ready": round(ready_at - operator.spawned_at, 2),
                "seconds_ready_to_converged": round(max(0.0, last - ready_at), 2)}

    async def point(self, apis: int, secrets: int, name: str) -> dict[str, Any]:
        async with (self._stack(name, apis) as stack, KubeClient(stack.kube_url) as kube,
                    aiohttp.ClientSession() as session):
            if apis or secrets:
                await self._populate(kube, stack.apim_url, apis, secrets)
            result: dict[str, Any] = {"apis": apis, "helm_secrets": secrets,
                                      "load_before": load_average()}
            if apis or secrets:
                first = await self._converge(stack, kube, apis)
                await wait_quiet(session, stack, quiet=2.0, timeout=300)
                assert stack.operator is not None
                first.update(rss_mib(stack.operator.process.pid))
                result["first_run"] = first
                await stack.stop_operator()
            before = await snapshot(session, stack)
            operator = await stack.start_operator(self._operator())
            result["seconds_to_ready"] = round(time.monotonic() - operator.spawned_at, 2)
            after = await wait_quiet(session, stack, quiet=5.0, timeout=300)
            result.update(rss_mib(operator.process.pid))
            result["restart_kube_writes"] = after.kube_writes - before.kube_writes
            result["restart_apim_calls"] = sum(
                (await apim_calls_since(session, stack.apim_url, before.apim_mark)).values())
            result["load_after"] = load_average()
            print(f"  {name}: {result['rss_mib']} MiB (peak {result['peak_rss_mib']}), "
                  f"load {result['load_after']}", flush=True)
            return result

    async def latency(self) -> dict[str, Any]:
        apis, latency = self.args.latency_apis, self.args.latency
        async with (self._stack("latency", apis) as stack, KubeClient(stack.kube_url) as kube,
                    aiohttp.ClientSession() as session):
            await setup_context(kube, stack.apim_url)
            await write_all((v4_api(i) for i in range(apis)), kube.create, writers=16)
            async with session.post(f"{stack.apim_url}/_sim/faults",
                                    json={"latency": latency}) as response:
                response.raise_for_status()
            before = await snapshot(session, stack)
            load = load_average()
            converged = await self._converge(stack, kube, apis)
            await wait_quiet(session, stack, quiet=2.0, timeout=300)
            calls = sum(
                (await apim_calls_since(session, stack.apim_url, before.apim_mark)).values())
            ideal = apis * latency / DEFAULT_CONCURRENCY
            seconds = converged["seconds_ready_to_converged"]
            return {"apis": apis, "latency_s": latency, "concurrency": DEFAULT_CONCURRENCY,
                    **converged, "ideal_seconds": ideal,
                    "ratio_to_ideal": round(seconds / ideal, 2),
                    "apim_calls_per_api": round(calls / apis, 2),
                    "load_before": load, "load_after": load_average()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gko-memory-") as tmp:
        bench = MemoryBench(args, pathlib.Path(tmp))
        results: dict[str, Any] = {}
        scenarios = set(args.scenarios.split(","))
        if "rss" in scenarios:
            results["empty"] = await bench.point(0, 0, "empty")
            for apis in (int(p) for p in args.points.split(",") if p):
                results[f"apis_{apis}"] = await bench.point(apis, args.secrets, f"apis-{apis}")
            base = results.get("apis_0")
            for point in results.values():
                if base is not None and point["apis"]:
                    point["kib_per_api"] = round(
                        (point["rss_mib"] - base["rss_mib"]) * 1024 / point["apis"], 2)
        if "latency" in scenarios:
            print("  latency ...", flush=True)
            results["latency"] = await bench.latency()
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default="rss,latency", help="rss,latency (default both)")
    parser.add_argument("--points", default="0,1000,10000",
                        help="API counts of the rss scenario (default 0,1000,10000)")
    parser.add_argument("--secrets", type=int, default=2000, help="Helm release Secrets")
    parser.add_argument("--secret-kib", type=int, default=100, help="size of each, KiB")
    parser.add_argument("--latency", type=float, default=0.1, help="APIM latency, seconds")
    parser.add_argument("--latency-apis", type=int, default=1000)
    parser.add_argument("--operator-tree", default="",
                        help="run the operator from this checkout (default: this one)")
    parser.add_argument("--label", default="", help="a name for this run in the JSON")
    parser.add_argument("--output", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = eventloop.run(run(args))
    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "label": args.label, "operator_tree": args.operator_tree or "this checkout",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "options": {k: v for k, v in vars(args).items() if k != "output"} | {
            "output": str(args.output)},
        "targets": {"kib_per_api_max": TARGET_KIB_PER_API,
                    "rss_mib_10k_with_secrets_max": TARGET_RSS_MIB_10K,
                    "latency_ratio_max": TARGET_LATENCY_RATIO},
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    checks = []
    ten_k = results.get("apis_10000")
    if ten_k is not None:
        checks.append(ten_k["rss_mib"] <= TARGET_RSS_MIB_10K)
        checks.append(ten_k.get("kib_per_api", 0) <= TARGET_KIB_PER_API)
        checks.append(ten_k["restart_kube_writes"] == 0 and ten_k["restart_apim_calls"] == 0)
    if "latency" in results:
        checks.append(results["latency"]["ratio_to_ideal"] <= TARGET_LATENCY_RATIO)
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())

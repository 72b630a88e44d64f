"""The floor of the operator benchmark: only the calls no operator can avoid, nothing else.

For every ApiV4Definition in a namespace, with ``--concurrency`` workers (the operator's
``MAX_CONCURRENT_RECONCILES``): one metadata merge patch (finalizer + spec-hash annotation), an
``UpdateStarted`` Event, one Automation API upsert, an ``UpdateSucceeded`` Event and one status
merge patch (Accepted/ResolvedRefs, ids). No informer, no queue, no templating, no retries: the
time this takes on the same emulator and simulator is what the operator is compared with.

Kubernetes calls go through a kubernetes-asyncio ``ApiClient`` (the operator's transport), APIM
calls through one aiohttp session with Basic auth. The object list is read before the clock
starts. kubernetes-asyncio opens its aiohttp session with ``trust_env=True``, which costs two
thread-pool round trips per request (a netrc lookup and a proxy-environment lookup, about half
of the client's CPU per call); that is avoidable (proxy settings can be resolved once), so the
floor replaces that session with one that does not consult the environment per request.
``--kube-trust-env`` keeps the library default, to measure the difference. It runs on the
operator's event loop (``controller.eventloop``: uvloop where installed), like the operator.

``--watch-for N`` is the floor of scenario (a), where objects are created while the operator
runs: instead of listing, it watches the namespace (each watch event decoded, as any watch
client must), prints ``{"watching": true}`` once the watch is open, and hands every ADDED
object to the workers; it exits after N objects. No cache, no index, no queue beyond a FIFO.

Prints one JSON object on stdout (last line). Run by ``benchmarks.operator_bench``; standalone:
``python -m benchmarks.floor --kubeconfig PATH --apim URL --namespace NS``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import hashlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from kubernetes_asyncio.client import ApiClient

from controller import eventloop, jsonfast
from controller.informers.reflector import LineSplitter
from controller.kube.client import connect
from controller.kube.rest import MERGE_PATCH, open_request, request_json

API_VERSION = "gravitee.io/v1alpha1"
PLURAL = "apiv4definitions"
FINALIZER = "finalizers.gravitee.io/apidefinitiondeletion"
HASH_ANNOTATION = "gravitee.io/last-spec-hash"
COMPONENT = "apiv4definition-controller"


def spec_hash(spec: Any) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def automation_body(obj: dict[str, Any]) -> dict[str, Any]:
    """The HRID-mode upsert body: the spec without contextRef, plans as a list with HRIDs."""
    meta = obj["metadata"]
    spec = {k: v for k, v in obj["spec"].items() if k not in ("contextRef", "plans")}
    spec["hrid"] = f"{meta['namespace']}-{meta['name']}"
    spec["plans"] = [
        {**plan, "hrid": key.replace(" ", "-").replace(".", "-")}
        for key, plan in (obj["spec"].get("plans") or {}).items()
    ]
    return spec


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event(obj: dict[str, Any], reason: str, message: str) -> dict[str, Any]:
    meta = obj["metadata"]
    now = _now()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {"apiVersion": API_VERSION, "kind": "ApiV4Definition",
                           "name": meta["name"], "namespace": meta["namespace"],
                           "uid": meta["uid"], "resourceVersion": meta["resourceVersion"]},
        "reason": reason,
        "message": message,
        "type": "Normal",
        "source": {"component": COMPONENT},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class Floor:
    """The five calls per object, run by ``concurrency`` workers."""

    def __init__(self, *, api: ApiClient, apim: aiohttp.ClientSession, apim_url: str,
                 org: str = "DEFAULT", env: str = "DEFAULT") -> None:
        self._api = api
        self._apim = apim
        self._upsert_url = (f"{apim_url}/automation/organizations/{org}/environments/{env}"
                            "/apis?dryRun=false")
        self.kube_writes = 0
        self.apim_calls = 0

    async def handle(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        path = f"{collection_path(meta['namespace'])}/{meta['name']}"
        await request_json(self._api, "PATCH", path, content_type=MERGE_PATCH, body={
            "metadata": {"finalizers": [FINALIZER],
                         "annotations": {HASH_ANNOTATION: spec_hash(obj["spec"])}}})
        events = f"/api/v1/namespaces/{meta['namespace']}/events"
        await request_json(self._api, "POST", events,
                           body=_event(obj, "UpdateStarted", "Update started"))
        async with self._apim.put(self._upsert_url, json=automation_body(obj)) as response:
            state = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"APIM upsert of {meta['name']} failed: {response.status}")
        self.apim_calls += 1
        await request_json(self._api, "POST", events,
                           body=_event(obj, "UpdateSucceeded", "Update succeeded"))
        now = _now()
        generation = meta.get("generation", 1)
        await request_json(self._api, "PATCH", path + "/status", content_type=MERGE_PATCH,
                           body={"status": {
                               "id": state.get("id"), "crossId": state.get("crossId"),
                               "organizationId": state.get("organizationId"),
                               "environmentId": state.get("environmentId"),
                               "state": state.get("state"),
                               "plans": {p.get("hrid"): p.get("id")
                                         for p in state.get("plans") or []},
                               "processingStatus": "Completed",
                               "conditions": [
                                   {"type": "Accepted", "status": "True", "reason": "Accepted",
                                    "message": "Successfully reconciled",
                                    "observedGeneration": generation,
                                    "lastTransitionTime": now},
                                   {"type": "ResolvedRefs", "status": "True",
                                    "reason": "ResolvedRefs",
                                    "message": "All References successfully resolved",
                                    "observedGeneration": generation,
                                    "lastTransitionTime": now},
                                   {"type": "AutomationAPIManaged", "status": "True",
                                    "reason": "AutomationAPIManaged", "message": "",
                                    "observedGeneration": generation,
                                    "lastTransitionTime": now},
                               ]}})
        self.kube_writes += 4


async def without_env_lookups(api: ApiClient, *, connections: int = 100) -> None:
    """Swap the client's aiohttp session for one with ``trust_env=False`` (plain-HTTP servers
    only: the emulator). Requests still go through the same ``ApiClient`` code."""
    rest = api.rest_client
    await rest.pool_manager.close()
    rest.pool_manager = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections), trust_env=False,
        read_bufsize=2**21)


def collection_path(namespace: str) -> str:
    return f"/apis/{API_VERSION}/namespaces/{namespace}/{PLURAL}"


async def watched(api: ApiClient, namespace: str, expected: int) -> AsyncIterator[dict[str, Any]]:
    """Objects as they are ADDED to ``namespace``, until ``expected`` were seen. Announces on
    stdout when the watch is open, so the driver starts creating only then."""
    path = collection_path(namespace)
    listing = await request_json(api, "GET", path, query=[("limit", "1")])
    query = [("watch", "1"), ("resourceVersion", listing["metadata"]["resourceVersion"])]
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    response = await open_request(api, "GET", path, query=query, timeout=timeout)
    seen = 0
    async with response:
        if response.status >= 400:
            raise RuntimeError(f"watch failed: {response.status}")
        print(json.dumps({"watching": True}), flush=True)
        splitter = LineSplitter()
        while seen < expected:
            chunk = await response.content.readany()
            if not chunk:
                raise RuntimeError("the watch ended early")
            for line in splitter.feed(chunk):
                event = jsonfast.loads(line)
                if event.get("type") == "ADDED":
                    seen += 1
                    yield event["object"]


async def watch_and_handle(api: ApiClient, floor: Floor, *, namespace: str, expected: int,
                           concurrency: int) -> None:
    """``concurrency`` workers handling objects in the order the watch delivers them."""
    source: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def worker() -> None:
        while (obj := await source.get()) is not None:
            await floor.handle(obj)

    async def feed() -> None:
        async for obj in watched(api, namespace, expected):
            source.put_nowait(obj)
        for _ in range(concurrency):
            source.put_nowait(None)

    await asyncio.gather(feed(), *(worker() for _ in range(concurrency)))


async def run(*, kubeconfig: str, apim_url: str, namespace: str, concurrency: int,
              user: str, password: str, kube_trust_env: bool = False,
              watch_for: int | None = None) -> dict[str, Any]:
    api = await connect(kubeconfig=kubeconfig)
    if not kube_trust_env:
        await without_env_lookups(api)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as apim:
            floor = Floor(api=api, apim=apim, apim_url=apim_url)
            if watch_for is None:
                listing = await request_json(api, "GET", collection_path(namespace))
                count = len(listing["items"])
                pending = iter(listing["items"])

                async def worker() -> None:
                    for obj in pending:
                        await floor.handle(obj)

                started, cpu_started = time.perf_counter(), time.process_time()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
            else:
                count = watch_for
                started, cpu_started = time.perf_counter(), time.process_time()
                await watch_and_handle(api, floor, namespace=namespace, expected=watch_for,
                                       concurrency=concurrency)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
    finally:
        await api.close()
    return {
        "objects": count,
        "concurrency": concurrency,
        "seconds": round(seconds, 3),
        "objects_per_second": round(count / seconds, 1) if seconds > 0 else None,
        "kube_writes_per_object": round(floor.kube_writes / count, 2) if count else 0,
        "apim_calls_per_object": round(floor.apim_calls / count, 2) if count else 0,
        "cpu_seconds": round(cpu, 2),
        "kube_client_trust_env": kube_trust_env,
        "watched": watch_for is not None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--apim", required=True, help="APIM base URL")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--user", default="admin", help="APIM user (password: $APIM_PASSWORD, "
                        "default admin; never on the command line)")
    parser.add_argument("--kube-trust-env", action="store_true",
                        help="keep kubernetes-asyncio's per-request environment lookups")
    parser.add_argument("--watch-for", type=int, metavar="N",
                        help="handle objects as they are created (watch), until N were")
    args = parser.parse_args(argv)
    report = eventloop.run(run(kubeconfig=args.kubeconfig, apim_url=args.apim,
                             namespace=args.namespace, concurrency=args.concurrency,
                             user=args.user, password=os.environ.get("APIM_PASSWORD", "admin"),
                             kube_trust_env=args.kube_trust_env, watch_for=args.watch_for))
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

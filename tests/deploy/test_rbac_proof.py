"""The operator works with exactly the RBAC the manifests grant.

Runs the real operator (``python -m tests.deploy.operator_app``: ``python -m controller`` with
the real controller wiring, probes bound to loopback) with the ``gko-config`` of an overlay,
against the Kubernetes API emulator behind a recording proxy. Seeds one object of each common
kind in a watched namespace, waits until every controller the operator runs has reconciled its
objects, deletes them, stops the operator with SIGTERM, then checks that every API call it made
is granted by the overlay's Roles and ClusterRoles.

With ``components/apply-crds`` the operator starts against an emulator without CRDs and must
create them through server-side apply with the by-name grants alone.

The operator's calls grow as controllers are wired in ``controller/wiring.py``; this test needs
no change for that.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from controller.models.kinds import KINDS
from sim.apim.testing import start_simulator
from sim.kubeapi import kubeconfig as kubeconfig_file
from sim.kubeapi.testing import RunningEmulator, start_emulator
from tests.deploy.rbac_rules import can, granted_rules, is_discovery, request_from_http
from tests.deploy.recording_proxy import RecordedRequest, RecordingProxy
from tests.deploy.rendering import (
    CRD_DIR,
    MANIFESTS,
    OPERATOR_NAMESPACE,
    REPO,
    SERVICE_ACCOUNT,
    Manifest,
    crd_files,
    pick,
    render,
    render_overlay,
    requires_kubectl,
    write_kustomization,
)

pytestmark = [pytest.mark.kubectl, requires_kubectl]

_WATCHED_BY_OVERLAY = {"cluster": "team-a", "namespaced": OPERATOR_NAMESPACE, "ha": "team-a"}
_DEADLINE = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _tail(logs: Path) -> str:
    return logs.read_text(errors="replace")[-4000:] if logs.exists() else ""


async def _eventually(check: Callable[[], Awaitable[bool]], *, what: str, logs: Path,
                      timeout: float = _DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            tail = _tail(logs)
            raise AssertionError(f"timed out waiting for {what}; operator log tail:\n{tail}")
        await asyncio.sleep(0.1)


def _seeds(namespace: str, apim_url: str) -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object) of one object per common kind, in ``namespace``."""
    group = f"/apis/gravitee.io/v1alpha1/namespaces/{namespace}"
    meta = {"namespace": namespace}
    encoded = base64.b64encode(b"admin").decode()
    return [
        (f"/api/v1/namespaces/{namespace}/secrets", {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "apim-credentials", **meta},
            "data": {"username": encoded, "password": encoded},
        }),
        (f"{group}/managementcontexts", {
            "apiVersion": "gravitee.io/v1alpha1", "kind": "ManagementContext",
            "metadata": {"name": "apim", **meta},
            "spec": {"baseUrl": apim_url, "environmentId": "DEFAULT",
                     "organizationId": "DEFAULT",
                     "auth": {"secretRef": {"name": "apim-credentials"}}},
        }),
        (f"{group}/apiresources", {
            "apiVersion": "gravitee.io/v1alpha1", "kind": "ApiResource",
            "metadata": {"name": "cache", **meta},
            "spec": {"name": "cache", "type": "cache", "enabled": True,
                     "configuration": {"timeToLiveSeconds": 60, "maxEntriesLocalHeap": 100}},
        }),
        (f"{group}/apiv4definitions", {
            "apiVersion": "gravitee.io/v1alpha1", "kind": "ApiV4Definition",
            "metadata": {"name": "echo-v4", **meta},
            "spec": {
                "contextRef": {"name": "apim"}, "name": "echo-v4", "version": "1.0",
                "type": "PROXY",
                "listeners": [{"type": "HTTP", "paths": [{"path": "/echo-v4"}],
                               "entrypoints": [{"type": "http-proxy"}]}],
                "endpointGroups": [{"name": "default", "type": "http-proxy", "endpoints": [
                    {"name": "default", "type": "http-proxy",
                     "inheritConfiguration": False,
                     "configuration": {"target": "https://echo.example"}}]}],
                "plans": {"free": {"name": "Free", "security": {"type": "KEY_LESS"}}},
            },
        }),
        (f"{group}/apidefinitions", {
            "apiVersion": "gravitee.io/v1alpha1", "kind": "ApiDefinition",
            "metadata": {"name": "echo-v2-local", **meta},
            "spec": {
                "name": "echo-v2-local", "version": "1.0", "local": True,
                "description": "served from a ConfigMap",
                "plans": [{"name": "free", "description": "free", "security": "KEY_LESS"}],
                "proxy": {"virtual_hosts": [{"path": "/echo-v2"}],
                          "groups": [{"endpoints": [{"name": "default",
                                                      "target": "https://echo.example"}]}]},
            },
        }),
        (f"{group}/applications", {
            "apiVersion": "gravitee.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "client", **meta},
            "spec": {"contextRef": {"name": "apim"}, "name": "client",
                     "description": "a client", "settings": {"app": {"type": "WEB"}}},
        }),
    ]


async def _scrape(session: aiohttp.ClientSession, port: int) -> dict[str, dict[str, float]]:
    """family name -> {controller label: summed value} of the operator's /metrics."""
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    values: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            by_controller = values.setdefault(sample.name, {})
            label = sample.labels.get("controller", "")
            by_controller[label] = by_controller.get(label, 0.0) + sample.value
    return values


@attrs.frozen(kw_only=True)
class OperatorRun:
    calls: list[RecordedRequest]
    """Every request the operator sent to the API server, in order."""
    logs: str
    controllers: frozenset[str]
    """The controllers the operator ran (from its metrics)."""


async def _seed(emulator: RunningEmulator, seeds: list[tuple[str, dict[str, Any]]]) -> None:
    for path, body in seeds:
        await emulator.create(path, body)


async def _run_operator(objects: list[Manifest], watched: str,
                        tmp_path: Path) -> OperatorRun:
    """Run the operator configured by the ``gko-config`` of ``objects``; return its API calls.

    With ``APPLY_CRDS=true`` the emulator starts without CRDs: the operator must create them,
    and the objects are seeded once it is ready; otherwise they exist before it starts.
    """
    config: dict[str, str] = pick(objects, "ConfigMap", "gko-config")["data"]
    applies_crds = config["APPLY_CRDS"] == "true"
    emulator = await start_emulator(crd_dirs=() if applies_crds else (CRD_DIR,),
                                    kubeconfig_path=tmp_path / "emulator.kubeconfig")
    simulator = await start_simulator()
    proxy = RecordingProxy(emulator.url)
    await proxy.start()
    process = None
    try:
        for namespace in {OPERATOR_NAMESPACE, watched}:
            await emulator.create("/api/v1/namespaces", {
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        seeds = _seeds(watched, simulator.url)
        if not applies_crds:
            await _seed(emulator, seeds)
        kubeconfig = kubeconfig_file.write(tmp_path / "proxy.kubeconfig", proxy.url)
        metrics_port, probes_port = _free_port(), _free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            **config,
            "POD_NAMESPACE": OPERATOR_NAMESPACE,
            "KUBECONFIG": str(kubeconfig),
            "METRICS_PORT": str(metrics_port),
            "PROBES_PORT": str(probes_port),
        }
        logs_path = tmp_path / "operator.log"
        with logs_path.open("wb") as logs:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.deploy.operator_app", cwd=str(REPO), env=env,
                stdout=logs, stderr=asyncio.subprocess.STDOUT,
            )
        async with aiohttp.ClientSession() as session:

            async def ready() -> bool:
                assert process is not None
                assert process.returncode is None, logs_path.read_text()
                try:
                    async with session.get(f"http://127.0.0.1:{probes_port}/readyz") as r:
                        return r.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await _eventually(ready, what="the operator to be ready", logs=logs_path)
            if applies_crds:
                for path in crd_files():
                    name = yaml.safe_load(path.read_text(encoding="utf-8"))["metadata"]["name"]
                    url = f"{emulator.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
                    async with session.get(f"{url}/{name}") as response:
                        assert response.status == 200, f"the operator did not apply {name}"
                await _seed(emulator, seeds)

            seeded_kinds = [body["kind"].lower() for _, body in seeds]

            async def settled() -> bool:
                values = await _scrape(session, metrics_port)
                controllers = values.get("controller_runtime_max_concurrent_reconciles", {})
                reconciles = values.get("controller_runtime_reconcile_total", {})
                for controller in controllers:
                    if reconciles.get(controller, 0.0) < seeded_kinds.count(controller):
                        return False
                depth = sum(values.get("workqueue_depth", {}).values())
                busy = sum(values.get("controller_runtime_active_workers", {}).values())
                leading = values.get("leader_election_master_status", {}).get("", 1.0)
                return depth == 0 and busy == 0 and leading == 1.0

            await _eventually(settled, what="every controller to reconcile its seeds",
                              logs=logs_path)

            # Deletion paths (finalizers, ConfigMap and APIM clean-up) take part too.
            for path, body in reversed(seeds):
                url = f"{emulator.url}{path}/{body['metadata']['name']}"
                async with session.delete(url) as response:
                    assert response.status in (200, 202), await response.text()

            async def deleted() -> bool:
                for path, body in seeds:
                    url = f"{emulator.url}{path}/{body['metadata']['name']}"
                    async with session.get(url) as response:
                        if response.status != 404:
                            return False
                return True

            controllers = (await _scrape(session, metrics_port)).get(
                "controller_runtime_max_concurrent_reconciles", {})
            finalized = [kind for kind in seeded_kinds if kind in controllers]
            if finalized:
                await _eventually(deleted, what="the operator to release its finalizers",
                                  logs=logs_path)

        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 40)
        assert code == 0, logs_path.read_text()
        return OperatorRun(calls=list(proxy.requests), logs=logs_path.read_text(),
                           controllers=frozenset(controllers))
    finally:
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        await proxy.close()
        await simulator.close()
        await emulator.close()


def _denied(calls: list[RecordedRequest], grants: dict[str | None, list[Any]]) -> list[str]:
    denied = []
    for call in calls:
        if is_discovery(call.method, call.path):
            continue
        request, namespace = request_from_http(call.method, call.path, call.query)
        if not can(grants, request, namespace=namespace):
            denied.append(f"{call.method} {call.path} {dict(call.query)} -> {request}")
    return denied


def _grants(objects: list[Manifest]) -> dict[str | None, list[Any]]:
    return granted_rules(objects, namespace=OPERATOR_NAMESPACE, service_account=SERVICE_ACCOUNT)


@pytest.fixture(autouse=True)
def _needs_crds() -> None:
    if not crd_files():
        pytest.skip("manifests/crds/ is still empty: `make manifests` has not been run yet")


@pytest.mark.parametrize("overlay", ["cluster", "namespaced", "ha"])
async def test_every_call_the_operator_makes_is_granted(overlay: str, tmp_path: Path) -> None:
    objects = render_overlay(overlay)
    run = await _run_operator(objects, _WATCHED_BY_OVERLAY[overlay], tmp_path)
    calls, logs = run.calls, run.logs
    denied = _denied(calls, _grants(objects))
    assert not denied, "calls the manifests do not grant:\n" + "\n".join(denied)
    # The proof covered real reconciles: every controller wrote the status of its objects.
    plural_of = {info.kind.lower(): info.plural for info in KINDS}
    seeded = {body["kind"].lower() for _, body in _seeds("any", "http://127.0.0.1")}
    assert run.controllers & seeded, f"no controller for the seeded kinds ran\n{logs[-4000:]}"
    for controller in run.controllers & seeded:
        status_writes = [c for c in calls if c.method in ("PATCH", "PUT")
                         and f"/{plural_of[controller]}/" in c.path
                         and c.path.endswith("/status")]
        assert status_writes, f"{controller} never wrote a status\n{logs[-4000:]}"
    if overlay == "ha":
        # Leader election ran through the proxy: acquired, and released on SIGTERM.
        lease_writes = [c for c in calls if "/leases" in c.path and c.method in ("POST", "PUT")]
        assert lease_writes, logs


async def test_applying_its_own_crds_needs_only_the_apply_crds_grants(tmp_path: Path) -> None:
    directory = tmp_path / "install"
    directory.mkdir()
    objects = render(write_kustomization(
        directory,
        resources=(MANIFESTS / "overlays" / "cluster",),
        components=(MANIFESTS / "components" / "apply-crds",),
        namespace=OPERATOR_NAMESPACE,
    ))
    run = await _run_operator(objects, "team-a", tmp_path)
    calls, logs = run.calls, run.logs
    crd_calls = [c for c in calls if "customresourcedefinitions" in c.path]
    assert len([c for c in crd_calls if c.method == "PATCH"]) == len(crd_files()), logs
    denied = _denied(calls, _grants(objects))
    assert not denied, "calls the manifests do not grant:\n" + "\n".join(denied)
    # The same calls without the component are refused: the grant is needed, not incidental.
    assert _denied(crd_calls, _grants(render_overlay("cluster")))


async def test_the_proof_notices_a_call_the_manifests_do_not_grant(tmp_path: Path) -> None:
    """The HA configuration elects a leader; the plain cluster RBAC has no Lease rights."""
    calls = (await _run_operator(render_overlay("ha"), "team-a", tmp_path)).calls
    denied = _denied(calls, _grants(render_overlay("cluster")))
    assert denied
    assert all("/leases" in line for line in denied), denied

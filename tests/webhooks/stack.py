"""The operator with its admission webhooks, behind an API server that calls them.

Two API servers, one suite:

* the Kubernetes API emulator (default), which calls admission webhooks as a real API server;
* the real kube-apiserver of ``make testenv`` when ``TESTENV_DIR`` names its state directory
  (``make test-real`` runs this suite that way).

The operator runs in-process, self-registering its configurations with
``WEBHOOK_SELF_REGISTER_URL=https://127.0.0.1:<port>``, scoped to one namespace per stack (so
stacks never review each other's objects), and the APIM simulator stands behind its contexts.
Tests drive everything through ``kubectl`` and assert what it prints. The configurations are
deleted when a stack stops, so a real server is left without webhooks pointing nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from kubernetes_asyncio.client import ApiClient

from controller.config import LogSettings, Settings, WebhookSettings
from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.client import connect
from controller.kube.rest import KubeApiError, request_json
from controller.logging import ensure_logging_configured
from controller.manager import Manager, ManagerOptions
from controller.webhook import registration
from controller.webhook.server import WebhookServer
from controller.wiring import WiringContext, build_controllers
from sim.apim.pytest_plugin import FIXTURE_TOKEN
from sim.apim.testing import RunningSimulator
from sim.kubeapi.testing import RunningEmulator, start_emulator
from tests.integration.harness import kind_of, wait_for

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "manifests" / "crds"
OPTIONS = ManagerOptions(bind_host="127.0.0.1", handle_signals=False, shutdown_timeout=5.0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def real_server_dir() -> Path | None:
    value = os.environ.get("TESTENV_DIR", "").strip()
    return Path(value) if value else None


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    @property
    def refused(self) -> bool:
        return self.code != 0


@attrs.define
class ApiServer:
    """Where kubectl and the operator connect."""

    kubeconfig: Path
    emulator: RunningEmulator | None = None

    async def close(self) -> None:
        if self.emulator is not None:
            await self.emulator.close()


@contextlib.asynccontextmanager
async def api_server(tmp: Path) -> AsyncIterator[ApiServer]:
    directory = real_server_dir()
    if directory is not None:
        server = ApiServer(directory / "kubeconfig")
        result = await kubectl(server.kubeconfig, "apply", "--server-side", "-f", str(CRDS))
        assert result.code == 0, result.err
        for crd in sorted(CRDS.glob("*.yaml")):
            name = yaml.safe_load(crd.read_text())["metadata"]["name"]
            waited = await kubectl(server.kubeconfig, "wait", "--for=condition=Established",
                                   f"crd/{name}", "--timeout=30s")
            assert waited.code == 0, waited.err
    else:
        emulator = await start_emulator(kubeconfig_path=tmp / "kubeconfig")
        if not await _calls_webhooks(emulator):
            await emulator.close()
            pytest.skip("this emulator does not serve admissionregistration.k8s.io/v1 (it cannot "
                        "call webhooks); run with TESTENV_DIR (make test-real)")
        await emulator.apply_crd_files(CRDS)
        server = ApiServer(emulator.kubeconfig, emulator)
    try:
        yield server
    finally:
        await server.close()


async def _calls_webhooks(emulator: RunningEmulator) -> bool:
    api = await connect(kubeconfig=str(emulator.kubeconfig))
    try:
        found = await request_json(api, "GET", registration.API_PREFIX)
    except KubeApiError:
        return False
    finally:
        await api.close()
    return any(r.get("name") == registration.VALIDATING for r in found.get("resources") or [])


async def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None,
                  timeout: float = 30.0) -> Result:
    process = await asyncio.create_subprocess_exec(
        "kubectl", "--kubeconfig", str(kubeconfig), *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), timeout
    )
    return Result(process.returncode or 0, out.decode(), err.decode())


def webhook_settings(namespace: str, port: int, **overrides: Any) -> Settings:
    webhook = WebhookSettings(
        enabled=True,
        namespace=namespace,
        service_port=port,
        self_register_url=f"https://127.0.0.1:{port}",
        timeout_seconds=overrides.pop("timeout_seconds", 10),
        **overrides,
    )
    return Settings(namespaces=(namespace,), probes_port=0, enable_metrics=False,
                    max_concurrent_reconciles=2, webhook=webhook)


@attrs.define
class Stack:
    server: ApiServer
    apim: RunningSimulator
    namespace: str
    settings: Settings
    api: ApiClient | None = None
    manager: Manager | None = None
    webhook: WebhookServer | None = None
    _task: asyncio.Task[int] | None = None
    _wiring: WiringContext | None = None

    @property
    def ns(self) -> str:
        return self.namespace

    @property
    def kubeconfig(self) -> Path:
        return self.server.kubeconfig

    async def kubectl(self, *args: str, stdin: str | None = None) -> Result:
        return await kubectl(self.kubeconfig, *args, stdin=stdin)

    async def apply(self, *objects: dict[str, Any]) -> Result:
        """``kubectl apply`` of ``objects`` in the stack's namespace."""
        documents = []
        for obj in objects:
            metadata = {**obj.get("metadata", {})}
            metadata.setdefault("namespace", self.namespace)
            documents.append({**obj, "metadata": metadata})
        return await self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(documents))

    async def applied(self, *objects: dict[str, Any]) -> None:
        """Apply ``objects`` (which must be admitted) and wait until the operator's caches hold
        them: later admissions look them up there."""
        result = await self.apply(*objects)
        assert result.code == 0, result.err
        assert self.manager is not None
        for obj in objects:
            store = self.manager.informers.informer_for(kind_of(obj)).store
            key = ObjectKey(self.namespace, obj["metadata"]["name"])
            await wait_for(functools.partial(_present, store, key),
                           what=f"{obj['kind']} {key} in the operator's cache")

    async def start_operator(self) -> None:
        ensure_logging_configured(LogSettings(format="console", level="info"))
        self.api = self.api or await connect(kubeconfig=str(self.kubeconfig))
        self.manager = Manager(self.settings, self.api, options=OPTIONS)
        self._wiring = WiringContext(settings=self.settings, api_client=self.api,
                                     informers=self.manager.informers,
                                     bind_host=OPTIONS.bind_host)
        for controller in build_controllers(self._wiring):
            self.manager.register(controller)
        for server in self._wiring.servers:
            self.manager.add_server(server)
            assert isinstance(server, WebhookServer)
            self.webhook = server
        self._task = asyncio.create_task(self.manager.run())
        await asyncio.wait_for(self.manager.wait_controllers_started(), 30)

    async def stop_operator(self) -> None:
        if self.manager is not None and self._task is not None:
            self.manager.request_stop()
            await asyncio.wait_for(self._task, 30)
        if self._wiring is not None:
            for close in self._wiring.closers:
                await close()
        self.manager = self._task = self._wiring = None

    async def unregister(self) -> None:
        """Delete this stack's webhook configurations."""
        assert self.api is not None
        webhook = self.settings.webhook
        for collection, name in (
            (registration.VALIDATING, webhook.validating_name(self.namespace)),
            (registration.MUTATING, webhook.mutating_name(self.namespace)),
        ):
            with contextlib.suppress(KubeApiError):
                await request_json(self.api, "DELETE",
                                   f"{registration.API_PREFIX}/{collection}/{name}")


@contextlib.asynccontextmanager
async def stack(server: ApiServer, apim: RunningSimulator, namespace: str,
                **overrides: Any) -> AsyncIterator[Stack]:
    """The operator with webhooks on, for ``namespace`` (created when missing)."""
    settings = webhook_settings(namespace, free_port(), **overrides)
    running = Stack(server, apim, namespace, settings)
    created = await running.kubectl("create", "namespace", namespace)
    assert created.code == 0 or "AlreadyExists" in created.err, created.err
    await running.start_operator()
    try:
        yield running
    finally:
        await running.stop_operator()
        await running.unregister()
        if running.api is not None:
            await running.api.close()


async def _present(store: Store, key: ObjectKey) -> bool:
    return store.get(key) is not None


def context(name: str, apim: RunningSimulator, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "ManagementContext",
        "metadata": {"name": name},
        "spec": {
            "baseUrl": apim.url,
            "environmentId": "DEFAULT",
            "organizationId": "DEFAULT",
            "auth": {"bearerToken": FIXTURE_TOKEN},
            **spec,
        },
    }

"""The manager against the emulator: probes, metrics, leader failover, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import attrs
import pytest

from controller.config import Settings
from controller.informers import enqueue_object
from controller.keys import ObjectKey
from controller.kube.client import connect
from controller.kube.resources import CONFIG_MAPS, LEASES
from controller.kube.rest import request_json
from controller.loop import Controller, ControllerOptions
from controller.manager import EXIT_FAILURE, EXIT_OK, Manager, ManagerOptions
from controller.reconcile import Result
from tests.controller.informers.helpers import (
    create_config_map,
    ensure_namespace,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ManagerOptions(bind_host="127.0.0.1", handle_signals=False, lease_duration=2.0,
                       renew_deadline=1.5, retry_period=0.3, shutdown_timeout=5.0)


class RecordingReconciler:
    def __init__(self) -> None:
        self.keys: list[str] = []

    async def reconcile(self, key: ObjectKey) -> Result:
        self.keys.append(str(key))
        return Result()


@pytest.fixture
async def api(kubeapi):
    client = await connect(kubeconfig=str(kubeapi.kubeconfig))
    yield client
    await client.close()


def make_manager(api, name: str, *, settings: Settings | None = None,
                 options: ManagerOptions = LOCAL) -> tuple[Manager, RecordingReconciler]:
    manager = Manager(settings or Settings(probes_port=0, metrics_port=0, enable_metrics=True,
                                           namespaces=("mgr",)),
                      api, options=options)
    reconciler = RecordingReconciler()
    controller = Controller(name, reconciler,
                            options=ControllerOptions(max_concurrent_reconciles=2))
    manager.informers.informer_for(CONFIG_MAPS).add_handler(enqueue_object(controller.queue))
    manager.register(controller)
    return manager, reconciler


@contextlib.asynccontextmanager
async def running(manager: Manager):
    task = asyncio.create_task(manager.run())
    try:
        await asyncio.wait_for(manager.wait_serving(), 10)
        yield task
    finally:
        if not task.done():
            manager.request_stop()
            await asyncio.wait_for(task, 15)


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


async def test_readiness_flips_after_sync_and_metrics_show_exact_names(kubeapi, api):
    await ensure_namespace(api, "mgr")
    await create_config_map(api, "mgr", "one")
    await create_config_map(api, "mgr", "two")

    # Hold the first list so the "not ready yet" state is observable.
    list_allowed = asyncio.Event()
    send = api.rest_client.request

    async def gated(method, url, *args, **kwargs):
        query = kwargs.get("query_params") or []
        if "/configmaps" in url and not any(k == "watch" for k, _ in query):
            await list_allowed.wait()
        return await send(method, url, *args, **kwargs)

    api.rest_client.request = gated
    manager, reconciler = make_manager(api, "probe-test")
    async with running(manager), aiohttp.ClientSession() as http:
        probes = f"http://127.0.0.1:{manager.probe_port}"
        assert await get(http, f"{probes}/healthz") == (200, "ok")
        status, body = await get(http, f"{probes}/readyz")
        assert status == 503
        assert "informers-synced" in body

        list_allowed.set()
        await asyncio.wait_for(manager.wait_controllers_started(), 10)
        assert (await get(http, f"{probes}/readyz"))[0] == 200
        await wait_for(lambda: sorted(reconciler.keys) == ["mgr/one", "mgr/two"],
                       what="initial reconciles")

        status, text = await get(http, f"http://127.0.0.1:{manager.metrics_port}/metrics")
        assert status == 200
        host = kubeapi.url.removeprefix("http://")
        for line in (
            'controller_runtime_reconcile_total{controller="probe-test",result="success"} 2.0',
            'controller_runtime_reconcile_total{controller="probe-test",result="error"} 0.0',
            'controller_runtime_max_concurrent_reconciles{controller="probe-test"} 2.0',
            'controller_runtime_active_workers{controller="probe-test"} 0.0',
            'workqueue_adds_total{controller="probe-test",name="probe-test"} 2.0',
        ):
            assert line in text, line
        for prefix in (
            'controller_runtime_reconcile_time_seconds_bucket{controller="probe-test",le="0.005"}',
            'controller_runtime_reconcile_errors_total{controller="probe-test"}',
            'controller_runtime_terminal_reconcile_errors_total{controller="probe-test"}',
            'workqueue_depth{controller="probe-test",name="probe-test",priority=',
            'workqueue_queue_duration_seconds_bucket{controller="probe-test",le="1e-08"',
            'workqueue_retries_total{controller="probe-test",name="probe-test"}',
            f'rest_client_requests_total{{code="200",host="{host}",method="GET"}}',
            "process_resident_memory_bytes",
        ):
            assert prefix in text, prefix
        assert "_created" not in text


async def test_two_managers_elect_one_leader_and_fail_over_when_it_dies(kubeapi, api):
    await ensure_namespace(api, "mgr")
    await create_config_map(api, "mgr", "x")
    settings = Settings(probes_port=0, namespaces=("mgr",), enable_leader_election=True,
                        pod_namespace="default", leader_election_id="failover-test")
    first, first_rec = make_manager(api, "first", settings=settings,
                                    options=attrs.evolve(LOCAL, identity="first"))
    second_api = await connect(kubeconfig=str(kubeapi.kubeconfig))
    second, second_rec = make_manager(second_api, "second", settings=settings,
                                      options=attrs.evolve(LOCAL, identity="second"))
    first_task = asyncio.create_task(first.run())
    await asyncio.wait_for(first.wait_controllers_started(), 10)
    second_task = asyncio.create_task(second.run())
    try:
        await asyncio.wait_for(second.wait_serving(), 10)
        async with aiohttp.ClientSession() as http:
            # The standby is warm: caches synced, ready, but not reconciling.
            await wait_for(lambda: second.informers.all_synced, what="standby cache sync")
            assert (await get(http, f"http://127.0.0.1:{second.probe_port}/readyz"))[0] == 200
        await wait_for(lambda: first_rec.keys == ["mgr/x"], what="leader reconcile")
        assert first.is_leader
        assert not second.is_leader
        assert second_rec.keys == []

        # Crash the leader: cancelled, so it neither renews nor releases the Lease.
        first_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first_task
        lease = await request_json(api, "GET", LEASES.object_path("default", "failover-test"))
        assert lease["spec"]["holderIdentity"] == "first"

        loop = asyncio.get_running_loop()
        crashed_at = loop.time()
        await asyncio.wait_for(second.wait_controllers_started(), 2.0 + 1.5)
        assert loop.time() - crashed_at >= 1.5  # it had to wait for the lease to expire
        assert second.is_leader
        await wait_for(lambda: second_rec.keys == ["mgr/x"], what="new leader reconciles")
    finally:
        second.request_stop()
        assert await asyncio.wait_for(second_task, 15) == EXIT_OK
        await second_api.close()
    lease = await request_json(api, "GET", LEASES.object_path("default", "failover-test"))
    assert lease["spec"]["holderIdentity"] == ""  # released on graceful stop


async def test_losing_the_lease_is_fatal(kubeapi, api):
    settings = Settings(probes_port=0, namespaces=("mgr",), enable_leader_election=True,
                        pod_namespace="default", leader_election_id="lost-test")
    manager, _ = make_manager(api, "lost", settings=settings)
    task = asyncio.create_task(manager.run())
    await asyncio.wait_for(manager.wait_controllers_started(), 10)
    kubeapi.faults.fail_next(10_000, verb="update", resource="leases", status=500)
    assert await asyncio.wait_for(task, 10) == EXIT_FAILURE
    kubeapi.faults.reset()


async def test_sigterm_finishes_the_slow_reconcile_releases_the_lease_and_exits_0(
    kubeapi, api, tmp_path
):
    await ensure_namespace(api, "slow")
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeapi.kubeconfig),
        "MARKER_DIR": str(markers),
        "RECONCILE_SECONDS": "1.5",
        "NAMESPACE": "slow",
        "PROBES_PORT": "0",
        "ENABLE_LEADER_ELECTION": "true",
        "POD_NAMESPACE": "default",
        "LOGS_LEVEL": "debug",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.controller.manager_app", cwd=str(ROOT), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output = asyncio.create_task(process.stdout.read())  # type: ignore[union-attr]
    try:
        await create_config_map(api, "slow", "job")
        try:
            await wait_for(lambda: (markers / "job.started").exists(), timeout=30,
                           what="the slow reconcile to start")
        except AssertionError as exc:
            process.kill()
            await process.wait()
            raise AssertionError(f"{exc}; operator output:\n{(await output).decode()}") from None
        assert not (markers / "job.finished").exists()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    logs = (await output).decode()
    assert code == 0, logs
    assert (markers / "job.finished").exists(), logs
    lease = await request_json(api, "GET",
                               LEASES.object_path("default", "24d975d3.gravitee.io"))
    assert lease["spec"]["holderIdentity"] == "", logs
    assert '"message": "lease released"' in logs
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    reconcile_lines = [line for line in lines if line.get("name") == "job"]
    assert reconcile_lines, logs
    assert reconcile_lines[0]["controller"] == "slow"
    assert reconcile_lines[0]["namespace"] == "slow"
    assert len(reconcile_lines[0]["reconcileID"]) == 36
    assert all(line["level"] in {"DEBUG", "INFO", "WARN", "ERROR"} for line in lines)


async def test_python_m_controller_refuses_a_malformed_setting():
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller", cwd=str(ROOT),
        env={**os.environ, "MAX_CONCURRENT_RECONCILES": "lots"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"MAX_CONCURRENT_RECONCILES" in err


async def test_apply_crds_installs_the_operator_kinds_before_watching(api):
    settings = Settings(probes_port=0, apply_crds=True)
    manager = Manager(settings, api, options=LOCAL)
    async with running(manager):
        await asyncio.wait_for(manager.wait_controllers_started(), 10)
        crd = await request_json(
            api, "GET",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/apiv4definitions.gravitee.io",
        )
        assert crd["spec"]["names"]["kind"] == "ApiV4Definition"


async def test_python_m_controller_without_any_cluster_config_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")}
    env["HOME"] = str(tmp_path)  # no ~/.kube/config either
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller", cwd=str(ROOT), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"no Kubernetes configuration" in err

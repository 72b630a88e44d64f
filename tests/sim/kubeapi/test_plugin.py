"""The published fixtures (``kubeapi``, ``kube_client``) and the in-process helpers."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio import client as k8s

from sim.kubeapi.testing import RunningEmulator
from tests.sim.kubeapi.conftest import DATA, GROUP, REAL, VERSION

pytestmark = pytest.mark.skipif(REAL, reason="tests the emulator's own fixtures")


async def test_kube_client_talks_to_kubeapi(kubeapi: RunningEmulator, kube_client: k8s.ApiClient):
    assert kubeapi.url.startswith("http://127.0.0.1:")
    assert kubeapi.kubeconfig.is_file()
    core: Any = k8s.CoreV1Api(kube_client)
    names = {n.metadata.name for n in (await core.list_namespace()).items}
    assert {"default", "kube-system"} <= names


async def test_apply_crd_files_and_in_process_create(
    kubeapi: RunningEmulator, kube_client: k8s.ApiClient
):
    await kubeapi.apply_crd_files(DATA)
    await kubeapi.apply_crd_files(DATA / "widgets.yaml")  # idempotent: replaces in place
    created = await kubeapi.create(
        f"/apis/{GROUP}/{VERSION}/namespaces/default/widgets",
        {"metadata": {"name": "seeded"}, "spec": {"color": "blue"}},
    )
    assert created["spec"]["size"] == 1
    custom: Any = k8s.CustomObjectsApi(kube_client)
    fetched = await custom.get_namespaced_custom_object(
        GROUP, VERSION, "default", "widgets", "seeded"
    )
    assert fetched["metadata"]["uid"] == created["metadata"]["uid"]

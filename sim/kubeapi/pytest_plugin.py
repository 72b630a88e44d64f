"""pytest fixtures for the Kubernetes API emulator, published to every test package.

``kubeapi`` yields a fresh :class:`~sim.kubeapi.testing.RunningEmulator` per test (random
loopback port, its own kubeconfig); ``kube_client`` yields a kubernetes-asyncio ``ApiClient``
bound to it. Must never reach anything but 127.0.0.1.
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest_asyncio
from kubernetes_asyncio.client import ApiClient, Configuration

from sim.kubeapi.testing import RunningEmulator, start_emulator


@pytest_asyncio.fixture
async def kubeapi(tmp_path: pathlib.Path) -> AsyncIterator[RunningEmulator]:
    """A fresh emulator with the default namespaces; register CRDs with ``apply_crd_files``."""
    running = await start_emulator(kubeconfig_path=tmp_path / "kubeconfig")
    try:
        yield running
    finally:
        await running.close()


def client_configuration(url: str) -> Configuration:
    configuration = Configuration(host=url)
    return configuration


@pytest_asyncio.fixture
async def kube_client(kubeapi: RunningEmulator) -> AsyncIterator[ApiClient]:
    """A kubernetes-asyncio ``ApiClient`` talking to the ``kubeapi`` emulator."""
    async with ApiClient(configuration=client_configuration(kubeapi.url)) as client:
        yield client

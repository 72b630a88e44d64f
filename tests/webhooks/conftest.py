"""One API server, one APIM simulator and one operator with webhooks per test module
(``stack.py``); tests use their own object names."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from sim.apim.pytest_plugin import FIXTURE_TOKEN
from sim.apim.testing import RunningSimulator, start_simulator
from tests.webhooks.stack import ApiServer, Stack, api_server, context, stack


def namespace() -> str:
    """A namespace of its own per module and run: the real API server keeps what earlier runs
    left (it has no namespace controller to empty a deleted namespace)."""
    return f"admission-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ApiServer]:
    async with api_server(Path(tmp_path_factory.mktemp("kubeapi"))) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def simulator() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(tokens=[FIXTURE_TOKEN])
    try:
        yield running
    finally:
        await running.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def operator(server: ApiServer, simulator: RunningSimulator) -> AsyncIterator[Stack]:
    """Webhooks on, a ManagementContext ``ctx`` in place."""
    async with stack(server, simulator, namespace()) as running:
        applied = await running.apply(context("ctx", simulator))
        assert applied.code == 0, applied.err
        yield running

from collections.abc import AsyncIterator

import pytest_asyncio

from sim.apim.testing import RunningSimulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.harness import Env, operator_env


@pytest_asyncio.fixture
async def env(kubeapi: RunningEmulator, apim: RunningSimulator) -> AsyncIterator[Env]:
    async with operator_env(kubeapi, apim) as running:
        yield running

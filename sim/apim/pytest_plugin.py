"""pytest fixtures for the APIM simulator: ``apim`` (plain HTTP) and ``apim_tls`` (HTTPS).

Both are function scoped: every test gets an empty APIM with org/env ``DEFAULT``/``DEFAULT``,
user ``admin``/``admin`` and bearer token ``apim-sim-token``, listening on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from sim.apim.testing import RunningSimulator, start_simulator

#: The bearer token the fixtures accept besides Basic ``admin``/``admin``.
FIXTURE_TOKEN = "apim-sim-token"


@pytest_asyncio.fixture
async def apim() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(tokens=[FIXTURE_TOKEN])
    try:
        yield running
    finally:
        await running.close()


@pytest_asyncio.fixture
async def apim_tls() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(tls=True, tokens=[FIXTURE_TOKEN])
    try:
        yield running
    finally:
        await running.close()

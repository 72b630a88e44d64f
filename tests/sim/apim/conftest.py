"""Shared fixtures for the simulator's own tests.

``apim`` is overridden here to record responses: at teardown every exchange of the test is
validated against the OpenAPI file documenting its path (see ``contract.py``), so each request
the simulator accepted and each response it sent in these tests is checked, not only the ones of
``test_openapi_contract.py``. Mark a test ``no_contract_check`` to opt out (only the one sending
lower-case enums, which APIM accepts and the file does not).
"""

from __future__ import annotations

import aiohttp
import pytest
import pytest_asyncio

from sim.apim.pytest_plugin import FIXTURE_TOKEN
from sim.apim.testing import start_simulator

from . import contract

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "admin")}


@pytest_asyncio.fixture
async def apim(request):
    sim = await start_simulator(tokens=[FIXTURE_TOKEN], record_responses=True)
    try:
        yield sim
    finally:
        entries = sim.requests.entries
        await sim.close()
    if contract.available() and request.node.get_closest_marker("no_contract_check") is None:
        contract.check_log(entries)


@pytest_asyncio.fixture
async def http():
    # force_close: every request on a fresh connection, so a dropped connection surfaces as an
    # error instead of being retried silently by aiohttp's pool.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(headers=ADMIN, connector=connector) as session:
        yield session


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_contract_check: skip OpenAPI checks of the log")

"""Shared fixtures for the simulator's own tests: an authenticated aiohttp session."""

from __future__ import annotations

import aiohttp
import pytest_asyncio

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "admin")}


@pytest_asyncio.fixture
async def http():
    # force_close: every request on a fresh connection, so a dropped connection surfaces as an
    # error instead of being retried silently by aiohttp's pool.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(headers=ADMIN, connector=connector) as session:
        yield session

"""Scraping a secured metrics server the way Prometheus does, for the emulator and real-server
tests: HTTPS verified against the certificate the server presents, a bearer token or none."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from controller.health import MetricsServer


def trusting(certificate_pem: bytes) -> ssl.SSLContext:
    """A client context that trusts exactly ``certificate_pem`` (and checks the host name)."""
    context = ssl.create_default_context(cadata=certificate_pem.decode())
    context.check_hostname = True
    return context


async def scrape(server: MetricsServer, token: str | None, *, authorization: str | None = None
                 ) -> tuple[int, str]:
    """GET /metrics over verified TLS at ``https://localhost:<port>``: (status, body)."""
    assert server.certificate is not None
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connector = aiohttp.TCPConnector(ssl=trusting(server.certificate.certificate_pem))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"https://localhost:{server.port}/metrics", headers=headers,
                    timeout=aiohttp.ClientTimeout(total=30)) as response,
    ):
        return response.status, await response.text()


@asynccontextmanager
async def serving(server: MetricsServer) -> AsyncIterator[MetricsServer]:
    await server.start()
    try:
        yield server
    finally:
        await server.stop()

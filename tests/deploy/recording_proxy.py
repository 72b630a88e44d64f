"""A loopback HTTP reverse proxy that records every request passing through it.

Owns: forwarding requests (watch streams included) from 127.0.0.1 to one upstream URL and
keeping the list of (method, path, query) it forwarded, so a test can check what a client did.
Must never change a request or a response, nor listen on anything but 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
import attrs
from aiohttp import web
from multidict import CIMultiDict

# Headers that describe one hop, not the message (RFC 9110 section 7.6.1), plus the ones the
# client/server libraries recompute for the forwarded message.
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "host", "content-length",
}


@attrs.frozen(kw_only=True)
class RecordedRequest:
    method: str
    path: str
    query: Mapping[str, str]


def _forwardable(headers: Mapping[str, str]) -> CIMultiDict[str]:
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in _HOP_BY_HOP)


class RecordingProxy:
    """Serve on 127.0.0.1 (random port) and forward everything to ``upstream``."""

    def __init__(self, upstream: str) -> None:
        self._upstream = upstream.rstrip("/")
        self.requests: list[RecordedRequest] = []
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            auto_decompress=False,
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        self.requests.append(
            RecordedRequest(method=request.method, path=request.path, query=dict(request.query))
        )
        body = await request.read()
        async with self._session.request(
            request.method,
            self._upstream + request.path_qs,
            headers=_forwardable(request.headers),
            data=body or None,
            allow_redirects=False,
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                          headers=_forwardable(upstream.headers))
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            except (ConnectionResetError, aiohttp.ClientError):
                # The client went away mid-stream (e.g. a watch it closed); nothing to relay.
                return response
            await response.write_eof()
            return response

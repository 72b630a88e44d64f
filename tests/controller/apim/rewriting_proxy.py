"""A path-rewriting reverse proxy on 127.0.0.1, standing in for the ingress or gateway users put
in front of APIM when a ManagementContext has a ``path`` or targets Gravitee Cloud."""

from __future__ import annotations

import re

import aiohttp
import attrs
from aiohttp import web

Rule = tuple[str | None, re.Pattern[str], str]  # (method or None, path regex, replacement)


@attrs.define
class RewritingProxy:
    url: str
    seen_paths: list[str]
    _runner: web.AppRunner
    _session: aiohttp.ClientSession

    async def close(self) -> None:
        await self._session.close()
        await self._runner.cleanup()


async def start_rewriting_proxy(upstream: str, rules: list[Rule]) -> RewritingProxy:
    session = aiohttp.ClientSession()
    seen: list[str] = []

    async def forward(request: web.Request) -> web.StreamResponse:
        seen.append(request.path)
        target = None
        for method, pattern, replacement in rules:
            if (method is None or method == request.method) and pattern.match(request.path):
                target = pattern.sub(replacement, request.path, count=1)
                break
        if target is None:
            return web.Response(status=404, text="no route")
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("authorization", "content-type")
        }
        async with session.request(
            request.method,
            upstream + target,
            params=request.query,
            data=await request.read() or None,
            headers=headers,
        ) as upstream_response:
            body = await upstream_response.read()
            return web.Response(
                status=upstream_response.status,
                body=body,
                content_type=upstream_response.content_type,
            )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return RewritingProxy(f"http://127.0.0.1:{port}", seen, runner, session)

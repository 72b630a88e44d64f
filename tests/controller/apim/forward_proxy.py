"""A minimal HTTP forward proxy on 127.0.0.1, recording what it relays.

Enough to prove the client goes through a configured proxy and authenticates to it: for plain
HTTP it reads one absolute-form request head, records it, rewrites it to origin-form and pipes
bytes both ways; for HTTPS it records the ``CONNECT`` and tunnels.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

import attrs


@attrs.define
class RelayedRequest:
    method: str
    target: str
    proxy_authorization: str | None


@attrs.define
class ForwardProxy:
    server: asyncio.Server
    port: int
    relayed: list[RelayedRequest] = attrs.field(factory=list)
    seen: asyncio.Event = attrs.field(factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def start_forward_proxy() -> ForwardProxy:
    proxy: ForwardProxy | None = None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert proxy is not None
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = [line for line in lines[1:] if line]
        proxy_auth = None
        kept = []
        for line in headers:
            name, _, value = line.partition(":")
            if name.strip().lower() == "proxy-authorization":
                proxy_auth = value.strip()
            else:
                kept.append(line)
        proxy.relayed.append(RelayedRequest(method, target, proxy_auth))
        proxy.seen.set()
        if method == "CONNECT":
            # HTTPS: open a blind tunnel; what flows inside stays encrypted end to end.
            host, _, port = target.rpartition(":")
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
            return
        parts = urlsplit(target)
        upstream_reader, upstream_writer = await asyncio.open_connection(
            parts.hostname, parts.port or 80
        )
        origin_target = parts.path + (f"?{parts.query}" if parts.query else "")
        rewritten = "\r\n".join([f"{method} {origin_target} {version}", *kept, "Connection: close"])
        upstream_writer.write(rewritten.encode("latin-1") + b"\r\n\r\n")
        await upstream_writer.drain()
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxy = ForwardProxy(server=server, port=port)
    return proxy

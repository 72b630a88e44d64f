"""The HTTP conversation with one APIM installation (one resolved ManagementContext).

This module owns the aiohttp session (one per client, connections reused across requests), the
transport options (timeout, proxy, CA bundle, insecure flag), the auth header, JSON in/out and the
translation of every failure into ``ApimError``. It knows nothing of Kubernetes and nothing of
APIM's resources (the per-family modules build URLs and bodies). It must never record anything
sensitive: headers are never logged, URLs carry no userinfo, and every text that could echo a
credential is scrubbed before it reaches a log line or an exception.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import aiohttp
import attrs
import structlog
import yarl
from aiohttp.client_proto import ResponseHandler
from aiohttp.client_reqrep import ClientRequest
from aiohttp.tracing import Trace

from controller import jsonfast
from controller.apim.context import ResolvedContext
from controller.apim.errors import ApimError, ClientConfigError, ErrorKind, scrub
from controller.apim.options import ClientOptions
from controller.apim.urls import ApimUrls, with_query

QueryParams = Mapping[str, str | bool | int]

_LOG = structlog.get_logger("controller.apim")
_JSON_CONTENT_TYPE: Final = "application/json"
Expect = Literal["json", "text", "none"]


@attrs.frozen
class RequestOutcome:
    """One finished request, with nothing sensitive: no path, query, header or body."""

    method: str
    host: str
    status: int | None  # None when no response arrived
    outcome: str  # "response", "timeout" or "transport_error"
    duration_seconds: float


RequestObserver = Callable[[RequestOutcome], None]


@attrs.define
class ClientStats:
    """Counters for observability and tests (connection reuse is checked through them)."""

    requests: int = 0
    connections_opened: int = 0


class _CountingConnector(aiohttp.TCPConnector):
    """Counts the connections it opens. A ``TraceConfig`` would do it too, but makes aiohttp
    fire its trace signals on every request (~15% more client CPU per request, measured)."""

    def __init__(self, stats: ClientStats, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._stats = stats

    async def _create_connection(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        protocol = await super()._create_connection(req, traces, timeout)
        self._stats.connections_opened += 1
        return protocol


def build_ssl_context(options: ClientOptions) -> ssl.SSLContext | Literal[False]:
    """TLS settings: system roots plus the optional CA bundle, or no verification at all."""
    if options.insecure_skip_verify:
        return False
    context = ssl.create_default_context()
    if options.ca_bundle:
        try:
            context.load_verify_locations(cafile=options.ca_bundle)
        except FileNotFoundError:
            raise ClientConfigError(f"CA bundle [{options.ca_bundle}] does not exist") from None
        except (OSError, ssl.SSLError) as exc:
            raise ClientConfigError(
                f"CA bundle [{options.ca_bundle}] cannot be loaded: {type(exc).__name__}"
            ) from None
    return context


class ApimClient:
    """JSON-in/JSON-out HTTP primitives against one APIM; the resource modules build on them.

    Create it anywhere; the aiohttp session is opened on first use inside the running loop and
    closed by ``close()`` (or ``async with``). Not thread-safe; safe for concurrent tasks.
    ``observer`` (optional) is called once per request with its outcome, e.g. to feed metrics;
    it must not raise or block.
    """

    def __init__(
        self,
        context: ResolvedContext,
        *,
        options: ClientOptions | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self._context = context
        self._observer = observer
        self._options = options if options is not None else ClientOptions()
        self._ssl = build_ssl_context(self._options)
        proxy = self._options.proxy
        secrets = list(context.credentials.secret_values())
        self._proxy_headers: dict[str, str] | None = None
        if proxy is not None and proxy.username is not None:
            encoded = base64.b64encode(f"{proxy.username}:{proxy.password or ''}".encode()).decode(
                "ascii"
            )
            self._proxy_headers = {"Proxy-Authorization": f"Basic {encoded}"}
            secrets.append(encoded)
        if proxy is not None and proxy.password:
            secrets.append(proxy.password)
        self._secrets = tuple(secrets)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self.stats = ClientStats()

    @property
    def urls(self) -> ApimUrls:
        return self._context.urls

    @property
    def context(self) -> ResolvedContext:
        return self._context

    @property
    def options(self) -> ClientOptions:
        return self._options

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return (
            f"ApimClient(base_url={self._context.base_url!r}, "
            f"organization_id={self._context.organization_id!r}, "
            f"environment_id={self._context.environment_id!r}, "
            f"auth={self._context.credentials.scheme!r})"
        )

    async def __aenter__(self) -> ApimClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # --- primitives used by the resource modules -----------------------------------------------

    async def get_json(self, url: str, *, params: QueryParams | None = None) -> Any:
        return await self._request("GET", url, params=params, expect="json")

    async def get_text(self, url: str, *, params: QueryParams | None = None) -> str:
        text: str = await self._request("GET", url, params=params, expect="text")
        return text

    async def put_json(self, url: str, body: Any, *, params: QueryParams | None = None) -> Any:
        return await self._request("PUT", url, params=params, body=body, expect="json")

    async def post_json(self, url: str, body: Any, *, params: QueryParams | None = None) -> Any:
        return await self._request("POST", url, params=params, body=body, expect="json")

    async def delete(
        self, url: str, *, params: QueryParams | None = None, missing_ok: bool
    ) -> bool:
        """DELETE; True when APIM deleted it, False when it was already gone (404, missing_ok)."""
        try:
            await self._request("DELETE", url, params=params, expect="none")
        except ApimError as error:
            if missing_ok and error.is_not_found:
                return False
            raise
        return True

    # --- internals -----------------------------------------------------------------------------

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("ApimClient is closed")
        if self._session is None:
            connector = _CountingConnector(
                self.stats, limit=self._options.connection_limit, ssl=self._ssl
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self._options.timeout_seconds),
                # Upstream sends no cookies; a session cookie must not replace our credentials.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=self._options.use_system_proxy,
                headers={"User-Agent": self._options.user_agent},
            )
        return self._session

    def _headers(self, has_body: bool, *, plain_http: bool) -> dict[str, str]:
        headers: dict[str, str] = {}
        if plain_http and self._proxy_headers is not None:
            # Plain HTTP goes to the proxy as an absolute-form request: proxy credentials ride on
            # the request itself. For HTTPS they belong to the CONNECT only (proxy_headers), so
            # they never travel through the tunnel to APIM.
            headers.update(self._proxy_headers)
        authorization = self._context.credentials.authorization_header()
        if authorization is not None:
            headers["Authorization"] = authorization
        if has_body:
            headers["Content-Type"] = _JSON_CONTENT_TYPE
        return headers

    async def _request(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None,
        expect: Expect,
        body: Any = None,
    ) -> Any:
        full_url = with_query(url, params)
        session = self._session_for_loop()
        data = None if body is None else jsonfast.dumps(body)
        proxy = self._options.proxy
        plain_http = full_url.startswith("http://")
        started = time.monotonic()
        self.stats.requests += 1
        try:
            async with session.request(
                method,
                yarl.URL(full_url, encoded=True),
                headers=self._headers(data is not None, plain_http=plain_http),
                data=data,
                proxy=proxy.url if proxy is not None else None,
                proxy_headers=None if plain_http else self._proxy_headers,
            ) as response:
                status = response.status
                text = await response.text(errors="replace")
        except TimeoutError:
            self._log(method, full_url, None, started, outcome="timeout")
            raise ApimError(
                kind=ErrorKind.TIMEOUT,
                method=method,
                url=full_url,
                message=f"no response within {self._options.timeout_seconds:g}s",
            ) from None
        except aiohttp.ClientError as exc:
            self._log(method, full_url, None, started, outcome="transport_error")
            cause = scrub(f"{type(exc).__name__}: {exc}", self._secrets)
            raise ApimError(
                kind=ErrorKind.TRANSPORT, method=method, url=full_url, message=cause
            ) from None
        self._log(method, full_url, status, started, outcome="response")
        if status >= 400:
            raise ApimError.from_response(
                method=method, url=full_url, status=status, body=scrub(text, self._secrets)
            )
        if expect == "none":
            return None
        if expect == "text":
            return text
        try:
            return json.loads(text)
        except ValueError:
            raise ApimError(
                kind=ErrorKind.RESPONSE,
                method=method,
                url=full_url,
                status=status,
                message="response body is not JSON" if text else "empty response body",
                body=scrub(text[:256], self._secrets),
            ) from None

    def _log(
        self, method: str, url: str, status: int | None, started: float, *, outcome: str
    ) -> None:
        duration = time.monotonic() - started
        _LOG.debug(
            "apim_request",
            method=method,
            url=url,
            status=status,
            outcome=outcome,
            duration_ms=round(duration * 1000, 1),
        )
        if self._observer is not None:
            self._observer(
                RequestOutcome(
                    method=method,
                    host=urlsplit(url).netloc,
                    status=status,
                    outcome=outcome,
                    duration_seconds=duration,
                )
            )

"""The operator's operational HTTP endpoints: ``/healthz``, ``/readyz`` and ``/metrics``.

This module owns two small aiohttp servers: the probe server (``PROBES_PORT``) whose ``/healthz``
answers 200 while the event loop lives and whose ``/readyz`` answers 200 only when every
registered readiness check passes (the manager registers "caches synced"), and the metrics
server (``METRICS_PORT``) that renders ``controller.metrics.REGISTRY``, in clear or, with
``SECURE_METRICS=true``, over HTTPS behind the TokenReview/SubjectAccessReview filter of
``controller.metrics_auth`` (no or unknown token: 401; a user without ``get`` on ``/metrics``:
403; a review that cannot be made: 500, as controller-runtime answers). Port 0 binds a free port,
exposed as ``.port`` once started.

It must never compute health itself: checks are callables handed in by the manager.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from typing import Protocol

from aiohttp import web
from kubernetes_asyncio.client import ApiClient
from prometheus_client import CONTENT_TYPE_LATEST

from controller.config import Settings
from controller.logging import get_logger
from controller.metrics import render_metrics
from controller.metrics_auth import AuthError, MetricsAuth, bearer_token
from controller.servingcert import CertificateError, ServingCertificate, serving_certificate

_log = get_logger("metrics-server")

ReadinessCheck = Callable[[], bool]


class Server(Protocol):
    """What the manager starts and stops with its probe server."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class HttpServer:
    def __init__(self, *, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self._host = host
        self._requested_port = port
        self._ssl_context = ssl_context
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (meaningful once started; resolves port 0)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{self._host}:{self.port}"

    def _app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port,
                           ssl_context=self._ssl_context)
        await site.start()
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = int(sockets[0].getsockname()[1]) if sockets else self._requested_port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


class ProbeServer(HttpServer):
    """``/healthz`` (liveness) and ``/readyz`` (readiness: all checks must pass)."""

    def __init__(self, *, host: str = "0.0.0.0", port: int = 8081) -> None:
        super().__init__(host=host, port=port)
        self._checks: dict[str, ReadinessCheck] = {}

    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        self._checks[name] = check

    def failing_checks(self) -> list[str]:
        failing = []
        for name, check in self._checks.items():
            try:
                ok = check()
            except Exception:
                ok = False
            if not ok:
                failing.append(name)
        return failing

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, request: web.Request) -> web.Response:
        failing = self.failing_checks()
        if failing:
            return web.Response(status=503, text="not ready: " + ", ".join(failing))
        return web.Response(text="ok")


class MetricsServer(HttpServer):
    """``/metrics`` in the Prometheus text format; HTTPS and authenticated when given
    ``certificate`` and ``auth`` (both or neither)."""

    def __init__(
        self,
        *,
        host: str = "0.0.0.0",
        port: int = 8080,
        certificate: ServingCertificate | None = None,
        auth: MetricsAuth | None = None,
        cert_check_interval: float = 10.0,
    ) -> None:
        if (certificate is None) != (auth is None):
            raise ValueError("a secured metrics server needs both a certificate and auth")
        super().__init__(
            host=host, port=port,
            ssl_context=certificate.context if certificate is not None else None,
        )
        self.certificate = certificate
        self.auth = auth
        self._cert_check_interval = cert_check_interval
        self._cert_watch: asyncio.Task[None] | None = None

    @property
    def secured(self) -> bool:
        return self.auth is not None

    async def start(self) -> None:
        await super().start()
        if self.certificate is not None and self.certificate.directory is not None:
            self._cert_watch = asyncio.create_task(self._watch_certificate(self.certificate))

    async def stop(self) -> None:
        watch, self._cert_watch = self._cert_watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        await super().stop()

    async def _watch_certificate(self, certificate: ServingCertificate) -> None:
        """Load a renewed mounted certificate for the next connections."""
        while True:
            await asyncio.sleep(self._cert_check_interval)
            try:
                if certificate.reload_if_changed():
                    _log.info("metrics certificate reloaded", directory=str(certificate.directory))
            except CertificateError as exc:
                _log.error("metrics certificate not reloaded, keeping the previous one",
                           error=str(exc))

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.auth is not None:
            refusal = await self._refusal(self.auth, request)
            if refusal is not None:
                return refusal
        response = web.Response(body=render_metrics())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def _refusal(self, auth: MetricsAuth, request: web.Request) -> web.Response | None:
        """None when the request may proceed, else the error response (controller-runtime's
        status codes and texts)."""
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            return web.Response(status=401, text="Unauthorized")
        try:
            user = await auth.authenticate(token)
        except AuthError as exc:
            _log.error("authenticating a metrics request failed", error=str(exc))
            return web.Response(status=401, text="Unauthorized")
        if user is None:
            return web.Response(status=401, text="Unauthorized")
        verb = request.method.lower()
        try:
            allowed = await auth.authorize(user, verb, request.path)
        except AuthError as exc:
            _log.error("authorizing a metrics request failed", user=user.username,
                       error=str(exc))
            return web.Response(status=500,
                                text=f"Authorization for user {user.username} failed")
        if not allowed:
            _log.debug("metrics request denied", user=user.username, verb=verb,
                       path=request.path)
            return web.Response(status=403,
                                text=f"Authorization denied for user {user.username}")
        return None


def metrics_server(settings: Settings, api_client: ApiClient, *, host: str) -> MetricsServer:
    """The metrics server ``settings`` ask for: in clear, or with ``SECURE_METRICS`` over HTTPS
    (the certificate of ``METRICS_CERT_DIR`` or a self-signed one) with TokenReview and
    SubjectAccessReview through ``api_client``."""
    if not settings.secure_metrics:
        return MetricsServer(host=host, port=settings.metrics_port)
    certificate = serving_certificate(settings.metrics_cert_dir)
    _log.info("metrics served over HTTPS with TokenReview/SubjectAccessReview",
              certificate="self-signed" if certificate.self_signed else settings.metrics_cert_dir)
    return MetricsServer(host=host, port=settings.metrics_port, certificate=certificate,
                         auth=MetricsAuth(api_client))

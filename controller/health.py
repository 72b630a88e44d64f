"""The operator's operational HTTP endpoints: ``/healthz``, ``/readyz`` and ``/metrics``.

This module owns two small aiohttp servers: the probe server (``PROBES_PORT``) whose ``/healthz``
answers 200 while the event loop lives and whose ``/readyz`` answers 200 only when every
registered readiness check passes (the manager registers "caches synced"), and the metrics
server (``METRICS_PORT``) that renders ``controller.metrics.REGISTRY``. Port 0 binds a free port,
exposed as ``.port`` once started.

It must never compute health itself: checks are callables handed in by the manager.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from controller.metrics import render_metrics

ReadinessCheck = Callable[[], bool]


class _Server:
    def __init__(self, *, host: str, port: int) -> None:
        self._host = host
        self._requested_port = port
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
        return f"http://{self._host}:{self.port}"

    def _app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        await site.start()
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = int(sockets[0].getsockname()[1]) if sockets else self._requested_port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


class ProbeServer(_Server):
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


class MetricsServer(_Server):
    """``/metrics`` in the Prometheus text format."""

    def __init__(self, *, host: str = "0.0.0.0", port: int = 8080) -> None:
        super().__init__(host=host, port=port)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _metrics(self, request: web.Request) -> web.Response:
        response = web.Response(body=render_metrics())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

"""The webhook HTTPS server (``WEBHOOK_SERVICE_PORT``, default 9443).

One route per served kind and verb, upstream's paths (``/validate-gravitee-io-v1alpha1-<kind>``,
``/mutate-gravitee-io-v1alpha1-<kind>``). At start it gets its certificate (``certs.py``), listens,
then registers itself or writes its CA bundle (``registration.py``); a failure there stops the
operator (as upstream's panic), since the API server could not call it. Every
``refresh_interval`` it looks at the certificate again: a Secret someone emptied or replaced, a
certificate close to expiry or a renewed mounted pair is served from then on and its CA bundle
written again.

Requests are answered from the informer caches: until they have synced, a request waits for
them within the API server's timeout and is answered 503 if they are still not synced (the
configuration's ``failurePolicy`` then decides). The request body's object is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from kubernetes_asyncio.client import ApiClient

from controller import jsonfast, metrics
from controller.config import Settings
from controller.health import HttpServer
from controller.logging import get_logger
from controller.reconcilers.framework.admission import Admission, Operation, Verdict
from controller.webhook import certs, registration, review

_log = get_logger("webhook")

SyncWaiter = Callable[[float], Awaitable[bool]]
SyncCheck = Callable[[], bool]


class WebhookServer(HttpServer):
    """Serves ``admission`` over HTTPS and keeps its registration current."""

    def __init__(
        self,
        admission: Admission,
        settings: Settings,
        api_client: ApiClient,
        *,
        namespace: str,
        host: str = "0.0.0.0",
        wait_synced: SyncWaiter | None = None,
        synced: SyncCheck | None = None,
        refresh_interval: float = 60.0,
    ) -> None:
        super().__init__(host=host, port=settings.webhook.service_port)
        self.admission = admission
        self.settings = settings
        self.api = api_client
        self.namespace = namespace
        self._wait_synced = wait_synced
        self._is_synced = synced
        self._refresh_interval = refresh_interval
        self.certificate: certs.CertificateSource | None = None
        self._refresh: asyncio.Task[None] | None = None
        self.routes: dict[str, tuple[str, bool]] = {}
        """Served path -> (plural, mutating)."""
        for plural, kind in admission.kinds.items():
            self.routes[registration.path(kind, False)] = (plural, False)
            if admission.mutates(plural):
                self.routes[registration.path(kind, True)] = (plural, True)

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self.certificate = await self._certificate()
        self._ssl_context = self.certificate.serving.context
        await super().start()
        await self._register()
        self._refresh = asyncio.create_task(self._keep_certificate(), name="webhook-cert")
        _log.info("serving admission webhooks", port=self.port, paths=sorted(self.routes))

    async def stop(self) -> None:
        refresh, self._refresh = self._refresh, None
        if refresh is not None:
            refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresh
        await super().stop()

    async def _certificate(self) -> certs.CertificateSource:
        webhook = self.settings.webhook
        names = certs.hosts(webhook, self.namespace)
        if webhook.cert_secret_name:
            bundle = await certs.ensure_secret(self.api, self.namespace,
                                               webhook.cert_secret_name, names)
            return certs.CertificateSource.from_bundle(bundle)
        if webhook.self_register_url:
            return certs.CertificateSource.from_bundle(certs.generate(names))
        return certs.mounted(webhook.cert_dir)

    async def _register(self) -> None:
        assert self.certificate is not None
        webhook = self.settings.webhook
        if not (webhook.self_register_url or webhook.cert_secret_name):
            return  # certificates and CA bundle managed outside (cert-manager's injector)
        kinds = self.admission.kinds
        await registration.register(
            self.api,
            settings=self.settings,
            namespace=self.namespace,
            validating=list(kinds.values()),
            mutating=[kind for plural, kind in kinds.items() if self.admission.mutates(plural)],
            ca_pem=self.certificate.ca_pem,
        )

    async def _keep_certificate(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_interval)
            try:
                await self.refresh_certificate()
            except Exception as exc:  # a failed refresh keeps serving the current certificate
                _log.error("webhook certificate refresh failed", error=str(exc))

    async def refresh_certificate(self) -> bool:
        """Serve the current certificate of the Secret (or the mounted directory) and write its
        CA bundle again when it changed; True when it did."""
        assert self.certificate is not None
        webhook = self.settings.webhook
        if webhook.cert_secret_name:
            bundle = await certs.ensure_secret(
                self.api, self.namespace, webhook.cert_secret_name,
                certs.hosts(webhook, self.namespace),
            )
            if bundle.serving.cert_pem == self.certificate.serving.certificate_pem:
                return False
            self.certificate.replace(bundle)
        elif not webhook.self_register_url:
            if not self.certificate.reload_mounted():
                return False
        else:
            return False
        await self._register()
        _log.info("webhook certificate rotated")
        return True

    # -- requests ---------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        for route in self.routes:
            app.router.add_post(route, self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        plural, mutating = self.routes[path]
        started = time.perf_counter()
        metrics.WEBHOOK_IN_FLIGHT.labels(path).inc()
        code = 200
        try:
            try:
                parsed = review.parse(await request.read())
            except review.BadReview as error:
                code = 400
                return web.Response(status=400, text=str(error))
            if not await self._synced():
                code = 503
                return web.Response(status=503, text="the operator's caches are not synced yet")
            try:
                verdict = await self._verdict(plural, mutating, parsed)
            except Exception as exc:  # a bug in a rule: the failure policy decides, we go on
                code = 500
                metrics.WEBHOOK_PANICS.inc()
                _log.exception("admission rule failed", kind=self.admission.kinds[plural].kind,
                               error=f"{type(exc).__name__}: {exc}")
                return web.Response(status=500, text="admission rule failed")
            patch = (
                review.json_patch(parsed.obj, verdict.patched)
                if verdict.patched is not None else None
            )
            body = review.response(parsed.uid, allowed=verdict.allowed, message=verdict.message,
                                   warnings=verdict.warnings, patch=patch)
            return web.Response(body=jsonfast.dumps(body), content_type="application/json")
        finally:
            metrics.WEBHOOK_IN_FLIGHT.labels(path).dec()
            metrics.WEBHOOK_REQUESTS.labels(path, str(code)).inc()
            metrics.WEBHOOK_LATENCY.labels(path).observe(time.perf_counter() - started)

    async def _synced(self) -> bool:
        if self._wait_synced is None or (self._is_synced is not None and self._is_synced()):
            return True  # the common case costs one property read
        # Well under the API server's timeout, so the 503 arrives before it gives up.
        return await self._wait_synced(max(0.5, self.settings.webhook.timeout_seconds / 2))

    async def _verdict(self, plural: str, mutating: bool, parsed: review.Request) -> Verdict:
        if parsed.operation not in ("CREATE", "UPDATE"):
            return Verdict(allowed=True)  # never registered for DELETE or CONNECT
        if mutating:
            return await self.admission.default(plural, parsed.obj)
        operation: Operation = "CREATE" if parsed.operation == "CREATE" else "UPDATE"
        verdict = await self.admission.validate(plural, operation, parsed.obj, parsed.old)
        if not verdict.allowed:
            _log.info("admission refused", kind=self.admission.kinds[plural].kind,
                      namespace=parsed.namespace,
                      name=str((parsed.obj.get("metadata") or {}).get("name") or ""),
                      operation=parsed.operation, message=verdict.message)
        return verdict

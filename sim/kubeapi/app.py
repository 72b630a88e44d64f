"""The aiohttp application: wiring of store, registry, operations, garbage collector and
faults; discovery, OpenAPI, health and ``/_sim`` fault-injection routes; error rendering.

Owns the process-level assembly of the emulator. Must never be imported by ``controller``.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

from sim import jsonwire
from sim.kubeapi import discovery, openapi
from sim.kubeapi.errors import ApiError, bad_request, internal
from sim.kubeapi.faults import Faults
from sim.kubeapi.gc import GarbageCollector
from sim.kubeapi.handlers import (
    ResourceHandlers,
    WatchOptions,
    error_response,
    json_response,
    verb_of,
)
from sim.kubeapi.operations import Operations, utc_now
from sim.kubeapi.resources import Registry
from sim.kubeapi.reviews import ACCESS_REVIEWS_PATH, TOKEN_REVIEWS_PATH, AccessReviews
from sim.kubeapi.store import Store
from sim.kubeapi.webhooks import DEFAULT_USER, Webhooks

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_log = logging.getLogger(__name__)


@attrs.frozen
class EmulatorOptions:
    """Settings of one emulator instance."""

    # Events kept for watches from a resourceVersion; older ones get 410 Gone.
    history: int = 1000
    # Seconds between BOOKMARK events on idle watches that allow them.
    bookmark_interval: float = 1.0
    # Events queued for one watch before the server drops that (too slow) watch.
    watch_buffer: int = 10_000
    clock: Callable[[], datetime.datetime] = utc_now


class Emulator:
    """One in-memory API server; :meth:`app` gives the aiohttp application serving it."""

    def __init__(self, options: EmulatorOptions | None = None) -> None:
        self.options = options or EmulatorOptions()
        self.store = Store(history=self.options.history, watch_buffer=self.options.watch_buffer)
        self.registry = Registry()
        self.gc = GarbageCollector()
        self.ops = Operations(
            store=self.store,
            registry=self.registry,
            clock=self.options.clock,
            on_removed=self.gc.object_removed,
            on_namespace_terminating=self.gc.namespace_terminating,
            on_dangling_owner=self.gc.owner_missing,
            on_foreground=self.gc.foreground_requested,
            on_orphan=self.gc.orphan_requested,
        )
        self.gc.bind(self.ops)
        self.faults = Faults(
            close_watches=self.store.close_watches, expire_history=self.store.expire_history
        )
        # TokenReview / SubjectAccessReview answers; tests fill in tokens and grants.
        self.reviews = AccessReviews()
        # Admission webhooks named by webhook configurations (sim/kubeapi/README.md).
        self.webhooks = Webhooks(self.store)
        self.ops.admission_filter = self.webhooks.may_call
        self.handlers = ResourceHandlers(
            self.ops,
            clock=self.options.clock,
            watch_options=WatchOptions(bookmark_interval=self.options.bookmark_interval),
            webhooks=self.webhooks,
            identify=self._user_of,
        )
        self.server_address = "127.0.0.1:0"
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            rt = self.registry.get("", "v1", "namespaces")
            assert rt is not None
            self.ops.create(rt, "", {"metadata": {"name": name}})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors_middleware], client_max_size=64 * 1024**2)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        app.router.add_get("/version", self._version)
        app.router.add_get("/version/", self._version)
        app.router.add_get("/healthz", self._ok)
        app.router.add_get("/livez", self._ok)
        app.router.add_get("/readyz", self._ok)
        app.router.add_get("/api", self._api)
        app.router.add_get("/api/", self._api)
        app.router.add_get("/api/v1", self._core_resources)
        app.router.add_get("/api/v1/", self._core_resources)
        app.router.add_get("/apis", self._groups)
        app.router.add_get("/apis/", self._groups)
        app.router.add_get("/apis/{group}", self._group)
        app.router.add_get("/apis/{group}/", self._group)
        app.router.add_get("/apis/{group}/{version}", self._group_resources)
        app.router.add_get("/apis/{group}/{version}/", self._group_resources)
        app.router.add_get("/openapi/v2", self._openapi_v2)
        app.router.add_get("/openapi/v3", self._openapi_v3_index)
        app.router.add_get("/openapi/v3/{path:.*}", self._openapi_v3)
        app.router.add_post("/_sim/faults/close-watches", self._fault_close_watches)
        app.router.add_post("/_sim/faults/expire-history", self._fault_expire_history)
        app.router.add_post("/_sim/faults/fail-next", self._fault_fail_next)
        app.router.add_post("/_sim/faults/hold-next", self._fault_hold_next)
        app.router.add_get("/_sim/faults/holds", self._fault_holds)
        app.router.add_post("/_sim/faults/release", self._fault_release)
        app.router.add_post("/_sim/faults/latency", self._fault_latency)
        app.router.add_post("/_sim/faults/reset", self._fault_reset)
        app.router.add_get("/_sim/stats", self._stats)
        app.router.add_post("/_sim/webhooks/services", self._webhook_service)
        app.router.add_post(TOKEN_REVIEWS_PATH, self._token_review)
        app.router.add_post(ACCESS_REVIEWS_PATH, self._access_review)
        app.router.add_route("*", "/api/v1/{rest:.+}", self._resource)
        app.router.add_route("*", "/apis/{group}/{version}/{rest:.+}", self._resource)
        return app

    async def _on_startup(self, _app: web.Application) -> None:
        self.gc.start()

    async def _on_shutdown(self, _app: web.Application) -> None:
        self.store.close_watches()
        await self.gc.stop()
        await self.webhooks.close()

    def _user_of(self, request: web.Request) -> dict[str, Any]:
        """``userInfo`` for admission reviews: the user of a bearer token a test registered,
        else the emulator's administrator (it authenticates nobody)."""
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            user = self.reviews.user_for(auth[len("Bearer ") :].strip())
            if user is not None:
                info: dict[str, Any] = {"username": user.username}
                if user.uid:
                    info["uid"] = user.uid
                info["groups"] = list(user.groups)
                return info
        return dict(DEFAULT_USER)

    @web.middleware
    async def _errors_middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except web.HTTPException as exc:
            if exc.status == 404:
                return error_response(
                    ApiError(404, "NotFound", "the server could not find the requested resource")
                )
            if exc.status == 405:
                return error_response(
                    ApiError(405, "MethodNotAllowed", "the server does not allow this method")
                )
            raise
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as exc:
            # An emulator bug still answers like an apiserver would (500 Status), and is logged
            # without the request body (it may hold Secret data).
            _log.exception("unhandled error for %s %s", request.method, request.path)
            return error_response(internal(f"internal error: {type(exc).__name__}"))

    # -- resources -------------------------------------------------------------------------

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        target = self.handlers.resolve(request)
        verb = verb_of(request.method, target, request.query)
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        coordinates = (verb, target.rt.plural, target.subresource or "", target.name or "")
        status = self.faults.take_failure(*coordinates)
        if status is not None:
            raise internal(f"injected failure for {verb} {target.rt.plural}", status)
        hold = self.faults.take_hold(*coordinates)
        if hold is not None:
            await hold.released.wait()
        return await self.handlers.handle(request, target, verb)

    # -- reviews (create-only, nothing stored) ---------------------------------------------

    async def _review_body(self, request: web.Request) -> Any:
        try:
            return jsonwire.loads(await request.read())
        except ValueError as exc:
            raise bad_request("the request body could not be decoded") from exc

    async def _token_review(self, request: web.Request) -> web.Response:
        return json_response(self.reviews.token_review(await self._review_body(request)), 201)

    async def _access_review(self, request: web.Request) -> web.Response:
        review = self.reviews.subject_access_review(await self._review_body(request))
        return json_response(review, 201)

    # -- discovery -------------------------------------------------------------------------

    async def _ok(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _version(self, _request: web.Request) -> web.Response:
        return json_response(discovery.SERVER_VERSION)

    async def _api(self, request: web.Request) -> web.Response:
        return json_response(discovery.api_versions(request.host))

    async def _core_resources(self, _request: web.Request) -> web.Response:
        doc = discovery.resource_list(self.registry, "", "v1")
        return json_response(doc)

    async def _groups(self, _request: web.Request) -> web.Response:
        return json_response(discovery.api_group_list(self.registry))

    async def _group(self, request: web.Request) -> web.Response:
        doc = discovery.api_group(self.registry, request.match_info["group"])
        if doc is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return json_response(doc)

    async def _group_resources(self, request: web.Request) -> web.Response:
        doc = discovery.resource_list(
            self.registry, request.match_info["group"], request.match_info["version"]
        )
        if doc is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return json_response(doc)

    async def _openapi_v2(self, request: web.Request) -> web.Response:
        if "protobuf" in request.headers.get("Accept", ""):
            return web.Response(body=openapi.v2_protobuf(), content_type="application/octet-stream")
        return json_response(openapi.v2_document(self.registry))

    async def _openapi_v3_index(self, _request: web.Request) -> web.Response:
        return json_response(openapi.v3_index(self.registry))

    async def _openapi_v3(self, request: web.Request) -> web.Response:
        doc = openapi.v3_document(self.registry, request.match_info["path"])
        if doc is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return json_response(doc)

    # -- faults ----------------------------------------------------------------------------

    async def _json(self, request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError as exc:
            raise bad_request("fault body must be JSON") from exc
        if not isinstance(body, dict):
            raise bad_request("fault body must be a JSON object")
        return body

    async def _fault_close_watches(self, _request: web.Request) -> web.Response:
        return json_response({"closed": self.faults.close_watches()})

    async def _fault_expire_history(self, _request: web.Request) -> web.Response:
        self.faults.expire_history()
        return json_response({"resourceVersion": str(self.store.rv)})

    async def _fault_fail_next(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        self.faults.fail_next(
            int(body.get("n", 1)),
            verb=body.get("verb"),
            resource=body.get("resource"),
            status=int(body.get("status", 500)),
            subresource=body.get("subresource"),
            name=body.get("name"),
        )
        return json_response({"ok": True})

    async def _fault_hold_next(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        hold = self.faults.hold_next(
            verb=body.get("verb"),
            resource=body.get("resource"),
            subresource=body.get("subresource"),
            name=body.get("name"),
        )
        return json_response(hold.to_json())

    async def _fault_holds(self, _request: web.Request) -> web.Response:
        return json_response({"holds": [h.to_json() for h in self.faults.holds.values()]})

    async def _fault_release(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        wanted = body.get("id")
        for hold in self.faults.holds.values():
            if wanted is None or hold.id == int(wanted):
                hold.release()
        return json_response({"ok": True})

    async def _fault_latency(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        self.faults.set_latency(float(body.get("seconds", 0)))
        return json_response({"ok": True})

    async def _fault_reset(self, _request: web.Request) -> web.Response:
        self.faults.reset()
        return json_response({"ok": True})

    async def _webhook_service(self, request: web.Request) -> web.Response:
        """Test hook: let a webhook's Service reference reach ``url`` (``https://host:port``);
        the TLS server name stays ``<name>.<namespace>.svc`` as in a cluster."""
        body = await self._json(request)
        try:
            key = (str(body["namespace"]), str(body["name"]), int(body.get("port", 443)))
            url = str(body["url"])
        except (KeyError, ValueError) as exc:
            raise bad_request("give namespace, name, url and optionally port") from exc
        self.webhooks.services[key] = url
        return json_response({"ok": True})

    async def _stats(self, _request: web.Request) -> web.Response:
        return json_response(
            {
                "objects": self.store.count(),
                "resourceVersion": str(self.store.rv),
                "watchers": self.store.watcher_count(),
                "bookmarksSent": self.handlers.bookmarks_sent,
                "webhookCalls": self.webhooks.calls,
            }
        )

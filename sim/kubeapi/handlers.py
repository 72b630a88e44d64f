"""HTTP handlers for resource paths: routing ``/api/v1/...`` and ``/apis/{g}/{v}/...`` to
verbs, decoding bodies and query parameters, and rendering objects, lists, Tables and watch
streams.

Owns the REST surface of kube-apiserver for the served kinds. Must never implement API
semantics itself (that is :mod:`sim.kubeapi.operations`) nor log request bodies (Secrets).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import unicodedata
from collections.abc import Callable
from typing import Any

import attrs
import yaml
from aiohttp import web
from multidict import CIMultiDict

from sim import jsonwire
from sim.kubeapi import managed, patching, protobuf, tables
from sim.kubeapi.errors import ApiError, bad_request, method_not_allowed, not_found
from sim.kubeapi.operations import DeleteOptions, ListPage, Operations, Writer, WriteResult
from sim.kubeapi.resources import ResourceType
from sim.kubeapi.selectors import combine, parse_field_selector, parse_label_selector
from sim.kubeapi.store import Watcher, WatchEvent, project
from sim.kubeapi.webhooks import RequestContext, Webhooks

JsonObj = dict[str, Any]
_TRUE = ("true", "True", "1")
_WRITES = ("create", "update", "patch", "delete", "deletecollection")
_JSON = "application/json"


def dumps(obj: Any) -> bytes:
    return jsonwire.dumps(obj)


def warning_headers(warnings: tuple[str, ...]) -> CIMultiDict[str] | None:
    """One ``Warning: 299 - "text"`` header per warning, as kube-apiserver writes them: empty,
    repeated and non-printable (control characters) texts are dropped; ``"`` and ``\\`` are
    escaped, other characters (UTF-8) kept."""
    if not warnings:
        return None
    headers: CIMultiDict[str] = CIMultiDict()
    seen: set[str] = set()
    for text in warnings:
        if not text or text in seen or any(unicodedata.category(c)[0] == "C" for c in text):
            continue
        seen.add(text)
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        headers.add("Warning", f'299 - "{quoted}"')
    return headers or None


def json_response(obj: Any, status: int = 200, warnings: tuple[str, ...] = ()) -> web.Response:
    headers = warning_headers(warnings)
    return web.Response(body=dumps(obj), status=status, content_type=_JSON, headers=headers)


def error_response(error: ApiError) -> web.Response:
    return json_response(error.to_status(), error.code, error.warnings)


@attrs.frozen
class Target:
    """What a resource path names."""

    rt: ResourceType
    namespace: str | None  # None: cluster scope or all namespaces
    name: str | None
    subresource: str | None


def verb_of(method: str, target: Target, query: Any) -> str:
    if target.name is None:
        if method == "GET":
            return "watch" if query.get("watch") in _TRUE else "list"
        return {"POST": "create", "DELETE": "deletecollection"}.get(method, method.lower())
    return {
        "GET": "get",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete",
    }.get(method, method.lower())


@attrs.frozen
class WatchOptions:
    """Tunables of watch streams (documented defaults)."""

    # How often an idle watch that asked for bookmarks receives one. kube-apiserver uses about
    # a minute; tests want them sooner.
    bookmark_interval: float = 1.0


class ResourceHandlers:
    """Routes resource requests to :class:`Operations`."""

    def __init__(
        self,
        ops: Operations,
        *,
        clock: Callable[[], datetime.datetime],
        watch_options: WatchOptions,
        webhooks: Webhooks | None = None,
        identify: Callable[[web.Request], JsonObj] | None = None,
    ) -> None:
        self._ops = ops
        self._clock = clock
        self._watch = watch_options
        self._webhooks = webhooks
        self._identify = identify
        self.bookmarks_sent = 0
        """Periodic BOOKMARK events written to watch streams so far (for tests)."""

    # -- routing ---------------------------------------------------------------------------

    def resolve(self, request: web.Request) -> Target:
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise not_found("", "", request.path)
        namespace: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        rt = self._ops.registry.get(group, version, rest[0])
        if rt is None:
            raise ApiError(
                404,
                "NotFound",
                "the server could not find the requested resource",
                details={},
            )
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and not (
            (sub == "status" and rt.has_status) or (sub == "finalize" and rt.plural == "namespaces")
        ):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if rt.namespaced and namespace is None and name is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rt.namespaced and namespace is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return Target(rt, namespace, name, sub)

    async def handle(self, request: web.Request, target: Target, verb: str) -> web.StreamResponse:
        rt = target.rt
        ns = target.namespace or ""
        query = request.query
        dry_run = "All" in query.getall("dryRun", [])
        strict = query.get("fieldValidation", "") == "Strict"
        if (
            verb in _WRITES
            and self._webhooks is not None
            and target.subresource != "finalize"
            and self._ops.admission_active()
        ):
            return await self._admitted_write(request, target, verb)
        writer = _writer(request)
        if verb == "watch":
            return await self._watch_stream(request, target)
        if verb == "list":
            return self._list(request, target)
        if verb == "get":
            assert target.name is not None
            obj = self._ops.get(rt, ns, target.name)
            return self._object_response(request, rt, obj)
        if verb == "create":
            body = await self._json_body(request)
            result = self._ops.create(
                rt, ns, body, dry_run=dry_run, strict=strict, owned=True, writer=writer
            )
            return self._write_response(request, rt, result)
        if verb == "update":
            assert target.name is not None
            body = await self._json_body(request)
            sub = "status" if target.subresource == "status" else None
            result = self._ops.update(
                rt,
                ns,
                target.name,
                body,
                subresource=sub,
                dry_run=dry_run,
                strict=strict,
                owned=True,
                writer=writer,
            )
            return self._write_response(request, rt, result)
        if verb == "patch":
            assert target.name is not None
            content_type = request.content_type
            raw = await request.read()
            doc = _decode_patch(content_type, raw)
            result = self._ops.patch(
                rt,
                ns,
                target.name,
                content_type,
                doc,
                subresource=target.subresource,
                field_manager=query.get("fieldManager"),
                dry_run=dry_run,
                strict=strict,
                writer=writer,
            )
            return self._write_response(request, rt, result)
        if verb == "delete":
            assert target.name is not None
            options = await self._delete_options(request)
            result = self._ops.delete(rt, ns, target.name, options)
            return self._write_response(request, rt, result)
        if verb == "deletecollection":
            options = await self._delete_options(request)
            matcher = combine(
                parse_label_selector(query.get("labelSelector")),
                parse_field_selector(query.get("fieldSelector")),
            )
            deleted = self._ops.delete_collection(rt, target.namespace, matcher, options)
            return json_response(self._list_document(rt, deleted, str(self._ops.store.rv), ""))
        raise method_not_allowed()

    async def _admitted_write(
        self, request: web.Request, target: Target, verb: str
    ) -> web.StreamResponse:
        """A write while webhook configurations exist: the verb's admission points are answered
        by the webhooks (:mod:`sim.kubeapi.webhooks`). The body is not handed over for
        in-place use, since a write that raced another one is run again from it."""
        assert self._webhooks is not None
        ops = self._ops
        rt = target.rt
        ns = target.namespace or ""
        name = target.name or ""
        query = request.query
        dry_run = "All" in query.getall("dryRun", [])
        strict = query.get("fieldValidation", "") == "Strict"
        user = self._identify(request) if self._identify is not None else {}
        context = RequestContext(
            user=user,
            dry_run=dry_run,
            field_manager=query.get("fieldManager"),
            field_validation=query.get("fieldValidation"),
        )
        writer = _writer(request)
        make: Callable[[], Any]
        if verb == "create":
            body = await self._json_body(request)

            def make() -> Any:
                return ops.create_steps(
                    rt, ns, body, dry_run=dry_run, strict=strict, writer=writer
                )

        elif verb == "update":
            body = await self._json_body(request)
            sub = "status" if target.subresource == "status" else None

            def make() -> Any:
                return ops.update_steps(
                    rt,
                    ns,
                    name,
                    body,
                    subresource=sub,
                    dry_run=dry_run,
                    strict=strict,
                    writer=writer,
                )

        elif verb == "patch":
            content_type = request.content_type
            doc = _decode_patch(content_type, await request.read())

            def make() -> Any:
                return ops.patch_steps(
                    rt,
                    ns,
                    name,
                    content_type,
                    doc,
                    subresource=target.subresource,
                    field_manager=query.get("fieldManager"),
                    dry_run=dry_run,
                    strict=strict,
                    writer=writer,
                )

        else:
            options = await self._delete_options(request)
            context = attrs.evolve(
                context,
                dry_run=options.dry_run,
                delete_options=await self._requested_delete_options(request),
            )
            if verb == "delete":

                def make() -> Any:
                    return ops.delete_steps(rt, ns, name, options)

            else:
                matcher = combine(
                    parse_label_selector(query.get("labelSelector")),
                    parse_field_selector(query.get("fieldSelector")),
                )

                def make() -> Any:
                    return ops.delete_collection_steps(rt, target.namespace, matcher, options)

                deleted, warnings = await self._webhooks.run(make, context)
                document = self._list_document(rt, deleted, str(ops.store.rv), "")
                return json_response(document, 200, warnings)
        result, warnings = await self._webhooks.run(make, context)
        result = attrs.evolve(result, warnings=result.warnings + warnings)
        return self._write_response(request, rt, result)

    async def _requested_delete_options(self, request: web.Request) -> JsonObj:
        """The propagationPolicy and preconditions the client sent (reviews echo only those)."""
        raw = await request.read()
        try:
            body = jsonwire.loads(raw) if raw else None
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        sent: JsonObj = {}
        policy = request.query.get("propagationPolicy") or body.get("propagationPolicy")
        if isinstance(policy, str) and policy:
            sent["propagationPolicy"] = policy
        if isinstance(body.get("preconditions"), dict) and body["preconditions"]:
            sent["preconditions"] = body["preconditions"]
        return sent

    # -- bodies ----------------------------------------------------------------------------

    async def _json_body(self, request: web.Request) -> Any:
        raw = await request.read()
        if "protobuf" in request.content_type:
            return protobuf.decode(raw)
        try:
            return jsonwire.loads(raw) if raw else None
        except ValueError:
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise bad_request("the request body could not be decoded") from exc

    async def _delete_options(self, request: web.Request) -> DeleteOptions:
        query = request.query
        body: Any = None
        raw = await request.read()
        if raw:
            try:
                body = jsonwire.loads(raw)
            except ValueError as exc:
                raise bad_request("DeleteOptions could not be decoded") from exc
        body = body if isinstance(body, dict) else {}
        preconditions = body.get("preconditions") or {}
        policy = query.get("propagationPolicy") or body.get("propagationPolicy") or "Background"
        if body.get("orphanDependents") is True:
            policy = "Orphan"
        if policy not in ("Background", "Foreground", "Orphan"):
            raise bad_request(f"propagationPolicy: Unsupported value: {policy!r}")
        dry_run = "All" in query.getall("dryRun", []) or "All" in (body.get("dryRun") or [])
        return DeleteOptions(
            propagation_policy=policy,
            precondition_uid=preconditions.get("uid"),
            precondition_rv=preconditions.get("resourceVersion"),
            dry_run=dry_run,
        )

    # -- rendering -------------------------------------------------------------------------

    def _versioned(self, rt: ResourceType, obj: JsonObj) -> JsonObj:
        if obj.get("apiVersion") != rt.api_version:
            return {**obj, "apiVersion": rt.api_version}
        return obj

    def _object_response(
        self,
        request: web.Request,
        rt: ResourceType,
        obj: JsonObj,
        status: int = 200,
        warnings: tuple[str, ...] = (),
    ) -> web.Response:
        accept = request.headers.get("Accept", "")
        if "as=Table" in accept:
            return json_response(
                tables.table(
                    rt,
                    [obj],
                    resource_version=obj["metadata"].get("resourceVersion", ""),
                    include_object=request.query.get("includeObject", "Metadata"),
                    clock=self._clock,
                ),
                status,
                warnings,
            )
        if "as=PartialObjectMetadata" in accept and "PartialObjectMetadataList" not in accept:
            return json_response(
                {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                },
                status,
                warnings,
            )
        return json_response(self._versioned(rt, obj), status, warnings)

    def _write_response(
        self, request: web.Request, rt: ResourceType, result: WriteResult
    ) -> web.Response:
        if result.obj.get("kind") == "Status" and result.removed is not None:
            return json_response(result.obj, result.code, result.warnings)
        return self._object_response(request, rt, result.obj, result.code, result.warnings)

    def _list_document(
        self,
        rt: ResourceType,
        items: list[JsonObj],
        rv: str,
        token: str,
        remaining: int | None = None,
    ) -> JsonObj:
        metadata: JsonObj = {"resourceVersion": rv}
        if token:
            metadata["continue"] = token
        if remaining:
            metadata["remainingItemCount"] = remaining
        return {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": metadata,
            "items": [self._versioned(rt, o) for o in items],
        }

    def _list(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        query = request.query
        matcher = combine(
            parse_label_selector(query.get("labelSelector")),
            parse_field_selector(query.get("fieldSelector")),
        )
        try:
            limit = int(query.get("limit", "0") or 0)
        except ValueError as exc:
            raise bad_request("limit must be an integer") from exc
        page: ListPage = self._ops.list_page(
            rt,
            target.namespace,
            matcher=matcher,
            limit=max(limit, 0),
            continue_token=query.get("continue", ""),
        )
        accept = request.headers.get("Accept", "")
        if "as=Table" in accept:
            return json_response(
                tables.table(
                    rt,
                    page.items,
                    resource_version=page.resource_version,
                    continue_token=page.continue_token,
                    include_object=query.get("includeObject", "Metadata"),
                    clock=self._clock,
                )
            )
        if "as=PartialObjectMetadataList" in accept:
            return json_response(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": page.resource_version},
                    "items": [
                        {
                            "kind": "PartialObjectMetadata",
                            "apiVersion": "meta.k8s.io/v1",
                            "metadata": o["metadata"],
                        }
                        for o in page.items
                    ],
                }
            )
        return json_response(
            self._list_document(
                rt, page.items, page.resource_version, page.continue_token, page.remaining
            )
        )

    # -- watch -----------------------------------------------------------------------------

    async def _watch_stream(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt = target.rt
        query = request.query
        matcher = combine(
            parse_label_selector(query.get("labelSelector")),
            parse_field_selector(query.get("fieldSelector")),
        )
        rv_text = query.get("resourceVersion", "")
        # kube-apiserver >= 1.32 (WatchList on) turns a watch from "" or "0" without
        # sendInitialEvents into sendInitialEvents=true (SetListOptionsDefaults): same synthetic
        # ADDED events, then the initial-events-end bookmark when bookmarks are allowed.
        send_initial = query.get("sendInitialEvents")
        initial_events = send_initial in _TRUE or (
            send_initial is None
            and not query.get("resourceVersionMatch")
            and rv_text in ("", "0")
        )
        since: int | None = None
        if rv_text not in ("", "0") and not initial_events:
            try:
                since = int(rv_text)
            except ValueError as exc:
                raise bad_request(f"invalid resource version: {rv_text}") from exc
        timeout: float | None = None
        if query.get("timeoutSeconds"):
            try:
                timeout = float(query["timeoutSeconds"])
            except ValueError as exc:
                raise bad_request("timeoutSeconds must be a number") from exc
        bookmarks = query.get("allowWatchBookmarks") in _TRUE
        as_table = "as=Table" in request.headers.get("Accept", "")
        include_object = query.get("includeObject", "Metadata")

        response = web.StreamResponse(status=200)
        response.content_type = _JSON
        response.enable_chunked_encoding()
        store = self._ops.store
        try:
            watcher, backlog = store.watch(
                rt.key, namespace=target.namespace, matcher=matcher, since_rv=since
            )
            # What the client knows once the backlog is sent: the watch cache sends no bookmark
            # that would not move it forward (cache_watcher.go, process()).
            start_rv = since if since is not None else store.rv
        except ApiError as exc:
            # Like kube-apiserver: the stream opens, then carries one ERROR event and ends.
            await response.prepare(request)
            await response.write(dumps({"type": "ERROR", "object": exc.to_status()}) + b"\n")
            await response.write_eof()
            return response
        first_table = [True]

        def encode(event: WatchEvent) -> bytes:
            etype = project(event, matcher)
            if etype is None:
                return b""
            if not as_table:
                return event.wire(etype, rt.api_version)
            obj = event.object_as(etype)
            doc = tables.table(
                rt,
                [obj],
                resource_version=obj["metadata"].get("resourceVersion", ""),
                include_object=include_object,
                clock=self._clock,
                with_columns=first_table[0],
            )
            first_table[0] = False
            return dumps({"type": etype, "object": doc}) + b"\n"

        def bookmark(initial_end: bool = False) -> bytes:
            metadata: JsonObj = {"resourceVersion": str(store.rv)}
            if initial_end:
                metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
            return (
                dumps(
                    {
                        "type": "BOOKMARK",
                        "object": {
                            "kind": rt.kind,
                            "apiVersion": rt.api_version,
                            "metadata": metadata,
                        },
                    }
                )
                + b"\n"
            )

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout is not None else None
        try:
            await response.prepare(request)
            await self._pump(
                response,
                watcher,
                backlog,
                encode,
                bookmark,
                bookmarks and not as_table,
                initial_events,
                deadline,
                start_rv,
            )
        except ConnectionError:
            # The client went away; nothing left to tell it.
            return response
        finally:
            # Registered before the first await so no event is lost; always unregistered.
            store.unwatch(watcher)
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response

    async def _pump(
        self,
        response: web.StreamResponse,
        watcher: Watcher,
        backlog: list[WatchEvent],
        encode: Callable[[WatchEvent], bytes],
        bookmark: Callable[..., bytes],
        bookmarks: bool,
        initial_events: bool,
        deadline: float | None,
        start_rv: int,
    ) -> None:
        """Write the backlog, then live events (batched), bookmarks and the timeout.

        A periodic bookmark goes out only once the store has moved past ``start_rv``: like
        kube-apiserver, never one carrying a resource version the client already has."""
        store = self._ops.store
        loop = asyncio.get_running_loop()
        chunk = b"".join(encode(e) for e in backlog)
        if initial_events and bookmarks:
            chunk += bookmark(initial_end=True)
        if chunk:
            await response.write(chunk)
        backlog = []
        queue = watcher.queue
        next_bookmark = loop.time() + self._watch.bookmark_interval
        while True:
            now = loop.time()
            waits = [next_bookmark - now] if bookmarks else []
            if deadline is not None:
                waits.append(deadline - now)
            wait = max(0.0, min(waits)) if waits else None
            try:
                first = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if deadline is not None and loop.time() >= deadline:
                    break
                if store.rv > start_rv:
                    await response.write(bookmark())
                    self.bookmarks_sent += 1
                next_bookmark = loop.time() + self._watch.bookmark_interval
                continue
            if queue.empty():
                # Let writes already runnable in this loop turn land first, so they share
                # one chunk (one send) instead of one each: kube-apiserver likewise flushes only
                # when no further event is pending.
                await asyncio.sleep(0)
            events = [first]
            while not queue.empty():
                events.append(queue.get_nowait())
            closing = any(e is None for e in events)
            chunk = b"".join(encode(e) for e in events if e is not None)
            if chunk:
                await response.write(chunk)
            if closing:
                break


def _decode_patch(content_type: str, raw: bytes) -> Any:
    if not raw:
        raise bad_request("the patch body is empty")
    if content_type in (patching.APPLY_PATCH,):
        try:
            return jsonwire.loads(raw)
        except ValueError:
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise bad_request("the apply patch could not be decoded") from exc
    try:
        return jsonwire.loads(raw)
    except ValueError as exc:
        raise bad_request(f"the patch could not be decoded as JSON ({content_type})") from exc


def _writer(request: web.Request) -> Writer:
    """Who writes, for ``managedFields``: the fieldManager parameter, else the client's
    User-Agent (as kube-apiserver names managers)."""
    return Writer(
        request.query.get("fieldManager")
        or managed.manager_from_user_agent(request.headers.get("User-Agent"))
    )

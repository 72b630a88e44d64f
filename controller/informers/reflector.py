"""List+watch of one kind in one namespace scope, mirrored into a ``Store``.

A ``Reflector`` owns the conversation with the API server for one (kind, namespace scope,
selectors): list (paginated), then watch from the list's ``resourceVersion`` with bookmarks and a
randomised server-side timeout; on ``410 Gone`` it relists and synthesizes deletions for the keys
that vanished meanwhile; on errors it reconnects with backoff; a client-side read timeout
notices a connection that died silently. Every change it applies to the store is reported once,
in order, to the ``on_event`` callback.

It must never interpret objects beyond their key and resourceVersion, and never block in
``on_event`` (handlers are synchronous by contract).

kubernetes-asyncio's ``Watch`` is deliberately not used: it retries a 410 with the same
resourceVersion (which fails again) and does not ask for bookmarks.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import attrs
from kubernetes_asyncio.client import ApiClient

from controller import jsonfast
from controller.informers.backoff import Backoff, BackoffOptions
from controller.informers.events import Event, EventType
from controller.informers.store import KubeObject, Store, resource_version, slim
from controller.keys import ObjectKey
from controller.kube.resources import ResourceKind
from controller.kube.rest import error_from_response, open_request
from controller.logging import get_logger

_log = get_logger("informer")


@attrs.frozen(kw_only=True)
class ReflectorOptions:
    min_watch_timeout: float = 300.0
    """The server closes each watch after a random time in [min, 2*min] seconds, spreading
    reconnects over time. Defaults to 300 s (so 300-600 s)."""
    inactivity_timeout: float = 75.0
    """A watch that delivers no byte for this long is presumed dead and reopened. API servers
    send a bookmark about every minute, so 75 s of silence means a broken connection."""
    list_page_size: int = 500
    """``limit`` of each list page. Defaults to 500; 0 lists in one response."""
    list_timeout: float = 60.0
    """Per-page timeout of list requests, seconds. Defaults to 60."""
    backoff: BackoffOptions = attrs.field(factory=BackoffOptions)


class LineSplitter:
    """Cuts a byte stream into non-empty lines, whatever the chunk boundaries.

    Done by hand rather than with ``StreamReader.readline`` because that one refuses lines
    longer than its buffer limit, and one watch event can carry a 1.5 MiB object.
    """

    def __init__(self) -> None:
        self._pending: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        if b"\n" not in chunk:
            self._pending.append(chunk)
            return []
        self._pending.append(chunk)
        *lines, rest = b"".join(self._pending).split(b"\n")
        self._pending = [rest] if rest else []
        return [line for line in lines if line.strip()]


class _WatchExpired(Exception):
    """The resourceVersion we watch from is too old (410): relist."""


class _ListFailed(Exception):
    pass


class Reflector:
    """Keeps ``store`` equal to the API server's view of one kind in one scope."""

    def __init__(
        self,
        api_client: ApiClient,
        kind: ResourceKind,
        store: Store,
        *,
        on_event: Callable[[Event], None],
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        options: ReflectorOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._api = api_client
        self._kind = kind
        self._store = store
        self._on_event = on_event
        self._namespace = namespace if kind.namespaced else None
        self._label_selector = label_selector
        self._field_selector = field_selector
        self._options = options or ReflectorOptions()
        self._rng = rng or random.Random()
        self._backoff = Backoff(self._options.backoff, random_fraction=self._rng.random)
        self._resource_version = ""
        self._listed_once = False
        self.synced = asyncio.Event()
        """Set once the first list has been applied to the store."""
        self.lists = 0
        """How many lists were applied (1 + relists); for tests and diagnostics."""
        self.watches = 0
        """How many watch streams were opened."""
        self.expirations = 0
        """How many times the watch position expired (410 Gone) and forced a relist."""

    @property
    def resource_version(self) -> str:
        return self._resource_version

    def _describe(self) -> dict[str, Any]:
        return {"kind": self._kind.kind, "scope": self._namespace or "*"}

    async def run(self) -> None:
        """List and watch until cancelled."""
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list_and_replace()
                    need_list = False
                await self._watch()
            except asyncio.CancelledError:
                raise
            except _WatchExpired:
                self.expirations += 1
                _log.info("watch expired, relisting", **self._describe())
                need_list = True
            except (aiohttp.ClientConnectionError, ConnectionError) as exc:
                # The server is probably unreachable: resume the watch from where we were
                # rather than relisting everything once it is back.
                delay = self._backoff.next_delay()
                _log.warning("list/watch connection failed", error=str(exc),
                             retry_in=round(delay, 3), **self._describe())
                await asyncio.sleep(delay)
            except Exception as exc:
                delay = self._backoff.next_delay()
                _log.warning("list/watch failed", error=str(exc), retry_in=round(delay, 3),
                             **self._describe())
                need_list = True
                await asyncio.sleep(delay)

    def _selector_query(self) -> list[tuple[str, str]]:
        query: list[tuple[str, str]] = []
        if self._label_selector:
            query.append(("labelSelector", self._label_selector))
        if self._field_selector:
            query.append(("fieldSelector", self._field_selector))
        return query

    async def _pages(self) -> AsyncIterator[tuple[list[KubeObject], str]]:
        """The list, one page at a time: its items, and the list's resourceVersion (set on
        the last page only)."""
        path = self._kind.collection_path(self._namespace)
        continue_token = ""
        while True:
            query = self._selector_query()
            if self._options.list_page_size:
                query.append(("limit", str(self._options.list_page_size)))
            if continue_token:
                query.append(("continue", continue_token))
            response = await open_request(
                self._api, "GET", path, query=query, timeout=self._options.list_timeout
            )
            async with response:
                payload = await response.read()
                if response.status >= 400:
                    raise _ListFailed(
                        str(error_from_response(response.status, response.reason or "",
                                                payload))
                    )
            page = jsonfast.loads(payload)
            del payload
            page_items = page.get("items") or []
            kind = self._kind.kind
            api_version = self._kind.api_version
            for item in page_items:
                # List items omit kind/apiVersion; restore them so handlers see whole objects.
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", api_version)
                slim(item)
            metadata = page.get("metadata") or {}
            continue_token = metadata.get("continue") or ""
            yield page_items, "" if continue_token else str(metadata.get("resourceVersion") or "")
            if not continue_token:
                return

    async def _list_and_replace(self) -> None:
        """Apply the list page by page as it arrives (never every listed object decoded at
        once), then forget what it did not contain. A list that fails half-way leaves the
        store with some objects newer than others, each a state the server really had; the
        next list completes it."""
        initial = not self._listed_once
        store = self._store
        vanished = store.keys_in_scope(self._namespace)
        listed = changes = 0
        list_rv = ""
        async for page, page_rv in self._pages():
            list_rv = page_rv or list_rv
            events: list[Event] = []
            for obj in page:
                key = ObjectKey.of(obj)
                vanished.discard(key)
                old = store.get(key) if key in store else None
                if old is not None and resource_version(old) == resource_version(obj):
                    continue
                store.upsert(obj, key=key)
                events.append(Event(
                    type=EventType.ADDED if old is None else EventType.MODIFIED,
                    key=key, old=old, new=obj, initial=initial,
                ))
            listed += len(page)
            changes += len(events)
            for event in events:
                self._dispatch(event)
            del page, events
        deletions: list[Event] = []
        for key in sorted(vanished):
            old = store.delete(key)
            if old is not None:
                deletions.append(Event(type=EventType.DELETED, key=key, old=old, new=None,
                                       final_state_unknown=True))
        self._resource_version = list_rv
        self._listed_once = True
        self.lists += 1
        self.synced.set()
        _log.debug("listed", objects=listed, changes=changes + len(deletions),
                    **self._describe())
        for event in deletions:
            self._dispatch(event)

    async def _watch(self) -> None:
        options = self._options
        timeout_seconds = int(
            self._rng.uniform(options.min_watch_timeout, 2 * options.min_watch_timeout)
        )
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_seconds)),
            ("resourceVersion", self._resource_version),
            *self._selector_query(),
        ]
        client_timeout = aiohttp.ClientTimeout(
            total=None, connect=options.list_timeout, sock_read=options.inactivity_timeout
        )
        response = await open_request(
            self._api, "GET", self._kind.collection_path(self._namespace), query=query,
            timeout=client_timeout,
        )
        async with response:
            if response.status == 410:
                raise _WatchExpired()
            if response.status >= 400:
                payload = await response.read()
                raise error_from_response(response.status, response.reason or "", payload)
            self.watches += 1
            splitter = LineSplitter()
            try:
                while True:
                    chunk = await response.content.readany()
                    if not chunk:
                        return
                    for line in splitter.feed(chunk):
                        self._handle_watch_line(line)
            except (TimeoutError, aiohttp.ServerTimeoutError):
                _log.info("watch silent for too long, reopening", **self._describe())
                return

    def _handle_watch_line(self, line: bytes) -> None:
        message = jsonfast.loads(line)
        event_type = message.get("type")
        obj = message.get("object") or {}
        if event_type == "ERROR":
            if obj.get("code") == 410:
                raise _WatchExpired()
            raise error_from_response(int(obj.get("code") or 500), str(obj.get("reason") or ""),
                                      line)
        rv = resource_version(obj)
        if event_type == "BOOKMARK":
            if rv:
                self._resource_version = rv
            return
        key = ObjectKey.of(obj)
        if event_type in ("ADDED", "MODIFIED"):
            old = self._store.upsert(slim(obj), key=key)
            if old is not None and rv and resource_version(old) == rv:
                # A replay of a state we already have (e.g. after a reconnect): no change.
                self._resource_version = rv
                return
            kind = EventType.ADDED if old is None else EventType.MODIFIED
            event = Event(type=kind, key=key, old=old, new=obj)
        elif event_type == "DELETED":
            last = self._store.delete(key)
            event = Event(type=EventType.DELETED, key=key, old=obj if obj else last, new=None)
        else:
            _log.warning("unknown watch event type", type=event_type, **self._describe())
            return
        if rv:
            self._resource_version = rv
        self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        try:
            self._on_event(event)
        except Exception:
            # A broken handler must not stop the cache from following the server.
            _log.exception("event handler failed", key=event.key, **self._describe())

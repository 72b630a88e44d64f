"""In-memory object storage with one global resourceVersion counter, a bounded event history
and the fan-out of events to open watches.

Owns: where objects live, the etcd-like revision counter, the last N events (for watches
from a resourceVersion and the 410 Gone path), and watcher registration. Must never decide
API semantics (finalizers, generation, validation): :mod:`sim.kubeapi.operations` does that.
Stored objects are treated as immutable: every write stores a fresh dict, so readers and the
history may share references without copying, and successive versions of an object may share
the nested dicts and lists a write did not change.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterable, Iterator
from typing import Any

from sim import jsonwire
from sim.kubeapi.errors import expired
from sim.kubeapi.resources import ResourceKey
from sim.kubeapi.selectors import Matcher

JsonObj = dict[str, Any]
ObjectName = tuple[str, str]  # (namespace or "", name)

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


class WatchEvent:
    """One change, serialized at most once per (event type, apiVersion) and shared by watchers."""

    __slots__ = ("_wire", "key", "namespace", "obj", "old", "rv", "type")

    def __init__(
        self, rv: int, key: ResourceKey, etype: str, obj: JsonObj, old: JsonObj | None
    ) -> None:
        self.rv = rv
        self.key = key
        self.type = etype
        self.obj = obj
        self.old = old
        self.namespace: str = obj.get("metadata", {}).get("namespace", "")
        self._wire: dict[tuple[str, str], bytes] = {}

    def object_as(self, etype: str) -> JsonObj:
        """The object a watcher sees in an event of type ``etype`` (see :func:`project`): an
        object that leaves a watcher's selector is DELETED in its previous state (still
        matching), at the event's resource version, as kube-apiserver's watch cache sends it."""
        if etype == DELETED and self.type == MODIFIED and self.old is not None:
            meta = {**self.old.get("metadata", {}), "resourceVersion": str(self.rv)}
            return {**self.old, "metadata": meta}
        return self.obj

    def wire(self, etype: str, api_version: str) -> bytes:
        cache_key = (etype, api_version)
        data = self._wire.get(cache_key)
        if data is None:
            obj = self.object_as(etype)
            if obj.get("apiVersion") != api_version:
                obj = {**obj, "apiVersion": api_version}
            data = jsonwire.dumps({"type": etype, "object": obj}) + b"\n"
            self._wire[cache_key] = data
        return data


def project(event: WatchEvent, matcher: Matcher | None) -> str | None:
    """The event type one watcher sees: objects moving in or out of its selector become
    ADDED / DELETED, as on kube-apiserver; ``None`` when the watcher sees nothing."""
    if matcher is None:
        return event.type
    now = matcher(event.obj)
    if event.type == MODIFIED:
        before = event.old is not None and matcher(event.old)
        if now and before:
            return MODIFIED
        if now:
            return ADDED
        if before:
            return DELETED
        return None
    return event.type if now else None


class Watcher:
    """An open watch: a queue of events filtered by resource and namespace.

    ``None`` in the queue means "end the stream now" (fault injection or shutdown).
    """

    __slots__ = ("_closed", "key", "matcher", "max_pending", "namespace", "queue")

    def __init__(
        self,
        key: ResourceKey,
        namespace: str | None,
        matcher: Matcher | None,
        *,
        max_pending: int = 10_000,
    ) -> None:
        self.key = key
        self.namespace = namespace
        self.matcher = matcher
        self.max_pending = max_pending
        self.queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._closed = False

    def offer(self, event: WatchEvent) -> None:
        if self._closed or (self.namespace is not None and event.namespace != self.namespace):
            return
        if self.queue.qsize() >= self.max_pending:
            # A consumer this far behind is cut off, as kube-apiserver does with slow watchers;
            # it resumes from its last resourceVersion. Keeps memory bounded.
            self.close()
            return
        self.queue.put_nowait(event)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.queue.put_nowait(None)


class Store:
    """Objects per resource, the revision counter, the history and the watchers."""

    def __init__(self, *, history: int, watch_buffer: int = 10_000) -> None:
        if history < 1:
            raise ValueError("history must keep at least one event")
        self._watch_buffer = watch_buffer
        self.rv = 0
        self._objects: dict[ResourceKey, dict[ObjectName, JsonObj]] = {}
        self._history: collections.deque[WatchEvent] = collections.deque(maxlen=history)
        # Watches from a resourceVersion older than this cannot be served any more (410).
        self._compacted_rv = 0
        self._watchers: dict[ResourceKey, set[Watcher]] = {}

    # -- reads -----------------------------------------------------------------------------

    def get(self, key: ResourceKey, namespace: str, name: str) -> JsonObj | None:
        return self._objects.get(key, {}).get((namespace, name))

    def items(self, key: ResourceKey, namespace: str | None = None) -> list[JsonObj]:
        """Objects of one resource sorted by (namespace, name), optionally in one namespace."""
        bucket = self._objects.get(key, {})
        if namespace is None:
            return [bucket[k] for k in sorted(bucket)]
        return [bucket[k] for k in sorted(bucket) if k[0] == namespace]

    def resource_keys(self) -> Iterable[ResourceKey]:
        return list(self._objects)

    def all_objects(self) -> Iterator[tuple[ResourceKey, JsonObj]]:
        for key, bucket in list(self._objects.items()):
            for obj in list(bucket.values()):
                yield key, obj

    def has_any(self, key: ResourceKey) -> bool:
        return bool(self._objects.get(key))

    def count(self) -> int:
        return sum(len(b) for b in self._objects.values())

    # -- writes ----------------------------------------------------------------------------

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def put(self, key: ResourceKey, obj: JsonObj, old: JsonObj | None) -> JsonObj:
        """Store a new version (a fresh dict the caller no longer mutates) and emit its event."""
        rv = self.next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        meta = obj["metadata"]
        self._objects.setdefault(key, {})[(meta.get("namespace", ""), meta["name"])] = obj
        self._emit(WatchEvent(rv, key, ADDED if old is None else MODIFIED, obj, old))
        return obj

    def remove(self, key: ResourceKey, obj: JsonObj) -> JsonObj:
        """Remove an object; the DELETED event carries its final state at a new revision."""
        meta = obj["metadata"]
        bucket = self._objects.get(key, {})
        bucket.pop((meta.get("namespace", ""), meta["name"]), None)
        rv = self.next_rv()
        final = {**obj, "metadata": {**meta, "resourceVersion": str(rv)}}
        self._emit(WatchEvent(rv, key, DELETED, final, obj))
        return final

    def _emit(self, event: WatchEvent) -> None:
        history = self._history
        if history.maxlen is not None and len(history) == history.maxlen:
            self._compacted_rv = history[0].rv
        history.append(event)
        for watcher in self._watchers.get(event.key, ()):
            watcher.offer(event)

    # -- watches ---------------------------------------------------------------------------

    def watch(
        self,
        key: ResourceKey,
        *,
        namespace: str | None,
        matcher: Matcher | None,
        since_rv: int | None,
    ) -> tuple[Watcher, list[WatchEvent]]:
        """Register a watcher; returns it with the backlog it must send first.

        ``since_rv`` None means "current state first" (synthetic ADDED events); otherwise only
        events newer than it are replayed, or 410 Expired when the history no longer has them.
        """
        backlog: list[WatchEvent] = []
        if since_rv is None:
            for obj in self.items(key, namespace):
                backlog.append(WatchEvent(self.rv, key, ADDED, obj, None))
        else:
            if since_rv < self._compacted_rv:
                raise expired(f"too old resource version: {since_rv} ({self._compacted_rv + 1})")
            for event in self._history:
                if (
                    event.rv > since_rv
                    and event.key == key
                    and (namespace is None or event.namespace == namespace)
                ):
                    backlog.append(event)
        watcher = Watcher(key, namespace, matcher, max_pending=self._watch_buffer)
        self._watchers.setdefault(key, set()).add(watcher)
        return watcher, backlog

    def unwatch(self, watcher: Watcher) -> None:
        watchers = self._watchers.get(watcher.key)
        if watchers is not None:
            watchers.discard(watcher)

    def check_rv_available(self, rv: int) -> None:
        if rv < self._compacted_rv:
            raise expired(f"too old resource version: {rv} ({self._compacted_rv + 1})")

    def watcher_count(self) -> int:
        return sum(len(ws) for ws in self._watchers.values())

    def close_watches(self, key: ResourceKey | None = None) -> int:
        closed = 0
        for wkey, watchers in self._watchers.items():
            if key is None or wkey == key:
                for watcher in watchers:
                    watcher.close()
                    closed += 1
        return closed

    def expire_history(self) -> None:
        self._history.clear()
        self._compacted_rv = self.rv

    def drop_collection(self, key: ResourceKey) -> list[JsonObj]:
        """Remove every object of a resource (its CRD is gone), emitting DELETED for each."""
        removed = [self.remove(key, obj) for obj in self.items(key)]
        self._objects.pop(key, None)
        return removed

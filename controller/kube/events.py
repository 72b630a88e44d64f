"""Kubernetes Events about the operator's objects (``kubectl describe`` shows them).

``EventRecorder`` owns the Event object shape (``core/v1``, ``involvedObject``, ``source``,
counts and timestamps) and the aggregation of repeats: the same (object, type, reason, message)
bumps ``count`` and ``lastTimestamp`` of the Event already posted instead of creating a new
one, like client-go's recorder.

Recording is best-effort: failures are logged and swallowed, never raised into a reconcile.
``emit`` does not even wait for the request, like client-go's broadcaster: Events are sent by
background senders, in order per object, so a reconcile's critical path holds only the writes
that matter (metadata, remote side, status). ``close`` flushes what is pending at shutdown.
Callers must not put secrets in messages; the recorder cannot tell them apart.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, Literal

import aiohttp
from kubernetes_asyncio.client import ApiClient

from controller.keys import ObjectKey
from controller.kube.resources import EVENTS
from controller.kube.rest import MERGE_PATCH, KubeApiError, request_json
from controller.logging import get_logger

EventType = Literal["Normal", "Warning"]
_Pending = tuple[dict[str, Any], EventType, str, str, "asyncio.Future[None]"]
NORMAL: Final = "Normal"
WARNING: Final = "Warning"

_log = get_logger("events")


def reference(obj: dict[str, Any]) -> dict[str, Any]:
    """What an Event needs of its object (``involvedObject``), so that a queued Event keeps
    a few strings alive rather than the whole object (spec, status) until it is sent."""
    metadata = obj.get("metadata") or {}
    return {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "metadata": {field: metadata[field]
                     for field in ("namespace", "name", "uid", "resourceVersion")
                     if field in metadata},
    }


def _timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    """Posts Events on behalf of one component (e.g. ``apiv4definition-controller``)."""

    def __init__(
        self,
        api_client: ApiClient,
        component: str,
        *,
        instance: str = "",
        wall_clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
        cache_size: int = 4096,
        senders: int = 4,
        max_pending: int = 10_000,
    ) -> None:
        self._api = api_client
        self._sender_count = senders
        self._max_pending = max_pending
        self._lanes: list[asyncio.Queue[_Pending]] = []
        self._senders: list[asyncio.Task[None]] = []
        self._component = component
        self._instance = instance
        self._wall = wall_clock
        self._cache_size = cache_size
        # (uid or key, type, reason, message) -> (namespace, event name, count)
        self._posted: OrderedDict[tuple[str, str, str, str], tuple[str, str, int]] = OrderedDict()

    def emit(
        self, obj: dict[str, Any], type_: EventType, reason: str, message: str
    ) -> asyncio.Future[None]:
        """Queue an Event about ``obj`` and return at once; see the module docstring.

        The future resolves once the Event was sent (or given up on); awaiting it before a
        later write guarantees whoever sees that write can also see the Event.
        """
        if not self._lanes:
            self._start_senders()
        metadata = obj.get("metadata") or {}
        identity = str(metadata.get("uid") or f"{metadata.get('namespace')}/{metadata.get('name')}")
        # One lane per object: its Events (and their aggregation) stay in order.
        lane = self._lanes[hash(identity) % len(self._lanes)]
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if lane.qsize() >= self._max_pending // len(self._lanes):
            _log.warning(
                "dropping event: too many pending",
                reason=reason,
                object=f"{metadata.get('namespace')}/{metadata.get('name')}",
            )
            sent.set_result(None)
            return sent
        lane.put_nowait((reference(obj), type_, reason, message, sent))
        return sent

    def _start_senders(self) -> None:
        self._lanes = [asyncio.Queue() for _ in range(max(1, self._sender_count))]
        self._senders = [
            asyncio.get_running_loop().create_task(self._send(lane), name=f"events:{index}")
            for index, lane in enumerate(self._lanes)
        ]

    async def _send(self, lane: asyncio.Queue[_Pending]) -> None:
        while True:
            obj, type_, reason, message, sent = await lane.get()
            try:
                await self.record(obj, type_, reason, message)
            finally:
                lane.task_done()
                if not sent.done():
                    sent.set_result(None)

    async def flush(self) -> None:
        """Wait until every emitted Event has been sent (or failed)."""
        for lane in self._lanes:
            await lane.join()

    async def close(self, *, timeout: float = 5.0) -> None:
        """Flush for at most ``timeout`` seconds, then stop the senders."""
        if not self._senders:
            return
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            pending = sum(lane.qsize() for lane in self._lanes)
            _log.warning("events not sent before shutdown", pending=pending)
        senders, lanes = self._senders, self._lanes
        self._senders, self._lanes = [], []
        for lane in lanes:
            while not lane.empty():
                *_, sent = lane.get_nowait()
                if not sent.done():
                    sent.set_result(None)
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)

    async def record(
        self, obj: dict[str, Any], type_: EventType, reason: str, message: str
    ) -> None:
        """Post (or bump) an Event about ``obj``."""
        metadata = obj.get("metadata") or {}
        namespace = metadata.get("namespace") or "default"
        name = metadata.get("name") or ""
        identity = metadata.get("uid") or str(ObjectKey(namespace, name))
        cache_key = (identity, type_, reason, message)
        now = _timestamp(self._wall())
        try:
            seen = self._posted.get(cache_key)
            if seen is not None:
                event_namespace, event_name, count = seen
                try:
                    await request_json(
                        self._api,
                        "PATCH",
                        EVENTS.object_path(event_namespace, event_name),
                        body={"count": count + 1, "lastTimestamp": now},
                        content_type=MERGE_PATCH,
                    )
                    self._remember(cache_key, (event_namespace, event_name, count + 1))
                    return
                except KubeApiError as exc:
                    if not exc.not_found:
                        raise
            event_name = f"{name}.{time.time_ns():x}"
            body = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": event_name, "namespace": namespace},
                "involvedObject": {
                    "apiVersion": obj.get("apiVersion", ""),
                    "kind": obj.get("kind", ""),
                    "name": name,
                    "namespace": namespace,
                    "uid": metadata.get("uid", ""),
                    "resourceVersion": metadata.get("resourceVersion", ""),
                },
                "reason": reason,
                "message": message,
                "type": type_,
                "count": 1,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "source": {"component": self._component},
                "reportingComponent": self._component,
                "reportingInstance": self._instance,
            }
            await request_json(self._api, "POST", EVENTS.collection_path(namespace), body=body)
            self._remember(cache_key, (namespace, event_name, 1))
        except (KubeApiError, OSError, TimeoutError, aiohttp.ClientError) as exc:
            _log.warning(
                "could not record event",
                reason=reason,
                object=str(ObjectKey(namespace, name)),
                error=str(exc),
            )

    def _remember(self, key: tuple[str, str, str, str], value: tuple[str, str, int]) -> None:
        self._posted[key] = value
        self._posted.move_to_end(key)
        while len(self._posted) > self._cache_size:
            self._posted.popitem(last=False)

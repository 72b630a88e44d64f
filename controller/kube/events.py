"""Kubernetes Events about the operator's objects (``kubectl describe`` shows them).

``EventRecorder`` owns the Event object shape (``core/v1``, ``involvedObject``, ``source``,
counts and timestamps) and the aggregation of repeats: the same (object, type, reason, message)
bumps ``count`` and ``lastTimestamp`` of the Event already posted instead of creating a new
one, like client-go's recorder.

Recording is best-effort: failures are logged and swallowed, never raised into a reconcile.
Callers must not put secrets in messages; the recorder cannot tell them apart.
"""

from __future__ import annotations

import datetime
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, Literal

import aiohttp
from kubernetes_asyncio.client import ApiClient

from controller.kube.resources import EVENTS
from controller.kube.rest import MERGE_PATCH, KubeApiError, request_json
from controller.logging import get_logger

EventType = Literal["Normal", "Warning"]
NORMAL: Final = "Normal"
WARNING: Final = "Warning"

_log = get_logger("events")


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
    ) -> None:
        self._api = api_client
        self._component = component
        self._instance = instance
        self._wall = wall_clock
        self._cache_size = cache_size
        # (uid or key, type, reason, message) -> (namespace, event name, count)
        self._posted: OrderedDict[tuple[str, str, str, str], tuple[str, str, int]] = (
            OrderedDict()
        )

    async def record(
        self, obj: dict[str, Any], type_: EventType, reason: str, message: str
    ) -> None:
        """Post (or bump) an Event about ``obj``."""
        metadata = obj.get("metadata") or {}
        namespace = metadata.get("namespace") or "default"
        name = metadata.get("name") or ""
        identity = metadata.get("uid") or f"{namespace}/{name}"
        cache_key = (identity, type_, reason, message)
        now = _timestamp(self._wall())
        try:
            seen = self._posted.get(cache_key)
            if seen is not None:
                event_namespace, event_name, count = seen
                try:
                    await request_json(
                        self._api, "PATCH", EVENTS.object_path(event_namespace, event_name),
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
            _log.warning("could not record event", reason=reason, object=f"{namespace}/{name}",
                         error=str(exc))

    def _remember(self, key: tuple[str, str, str, str], value: tuple[str, str, int]) -> None:
        self._posted[key] = value
        self._posted.move_to_end(key)
        while len(self._posted) > self._cache_size:
            self._posted.popitem(last=False)

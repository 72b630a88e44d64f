"""Shared helpers for informer and manager tests: waiting with deadlines, recording events,
creating objects in the emulator over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controller.informers.events import Event, EventType
from controller.keys import ObjectKey
from controller.kube.resources import CONFIG_MAPS, ResourceKind
from controller.kube.rest import KubeApiError, request_json

WIDGETS = ResourceKind(group="test.gravitee.io", version="v1", plural="widgets", kind="Widget")
WIDGETS_CRD = Path(__file__).with_name("widgets-crd.yaml")
NAMESPACES = ResourceKind(group="", version="v1", plural="namespaces", kind="Namespace",
                          namespaced=False)


async def wait_for(predicate: Callable[[], object], *, timeout: float = 10.0,
                   what: str = "condition") -> None:
    """Poll ``predicate`` until truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


class EventLog:
    """An event handler that records what it sees."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, key: str, type_: EventType | None = None) -> list[Any]:
        return [
            e for e in self.events if str(e.key) == key and (type_ is None or e.type == type_)
        ]

    def keys(self, type_: EventType) -> set[str]:
        return {str(e.key) for e in self.events if e.type == type_}


async def ensure_namespace(api, name: str) -> None:
    try:
        await request_json(api, "POST", NAMESPACES.collection_path(),
                           body={"apiVersion": "v1", "kind": "Namespace",
                                 "metadata": {"name": name}})
    except KubeApiError as exc:
        if not exc.conflict:
            raise


async def create(api, kind: ResourceKind, namespace: str, name: str, *,
                 labels: dict[str, str] | None = None, **fields):
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    body = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": metadata, **fields}
    return await request_json(api, "POST", kind.collection_path(namespace), body=body)


async def create_config_map(api, namespace: str, name: str, data: dict[str, str] | None = None):
    return await create(api, CONFIG_MAPS, namespace, name, data=data or {})


async def update_config_map(api, namespace: str, name: str, data: dict[str, str]):
    return await request_json(api, "PATCH", CONFIG_MAPS.object_path(namespace, name),
                              body={"data": data},
                              content_type="application/merge-patch+json")


async def delete(api, kind: ResourceKind, namespace: str, name: str) -> None:
    await request_json(api, "DELETE", kind.object_path(namespace, name))


async def next_key(queue: Any, timeout: float = 5.0) -> tuple[ObjectKey, int]:
    """The next key (and its priority) handed out by a ``WorkQueue``; fails on timeout."""
    got = await asyncio.wait_for(queue.get_with_priority(), timeout)
    assert got is not None, "queue shut down"
    key, priority = got
    assert isinstance(key, ObjectKey)
    return key, int(priority)

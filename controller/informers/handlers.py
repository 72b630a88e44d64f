"""Ready-made event handlers that turn informer events into work-queue keys.

This module owns the mapping "event -> keys": the object's own key, or keys derived from the
event (e.g. through a store index, the objects that reference the changed one). Start-up list
and resync events go in at low priority.

It must never do I/O or reconcile; handlers run inline in the informer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, Protocol

from controller.informers.events import Event, EventHandler
from controller.keys import ObjectKey

LOW_PRIORITY: Final = -100
"""Priority of start-up list events (same value as controller-runtime's ``LowPriority``)."""
NORMAL_PRIORITY: Final = 0

EventFilter = Callable[[Event], bool]


class KeyQueue(Protocol):
    """What the handlers need from a work queue."""

    def add(self, key: ObjectKey, *, priority: int = 0) -> None: ...


def priority_of(event: Event) -> int:
    return LOW_PRIORITY if event.initial or event.resync else NORMAL_PRIORITY


def enqueue_object(queue: KeyQueue, *, when: EventFilter | None = None) -> EventHandler:
    """Enqueue the changed object's own key."""

    def handle(event: Event) -> None:
        if when is None or when(event):
            queue.add(event.key, priority=priority_of(event))

    return handle


def enqueue_mapped(
    queue: KeyQueue,
    keys_for: Callable[[Event], Iterable[ObjectKey]],
    *,
    when: EventFilter | None = None,
) -> EventHandler:
    """Enqueue whatever keys ``keys_for`` derives from the event."""

    def handle(event: Event) -> None:
        if when is not None and not when(event):
            return
        priority = priority_of(event)
        for key in keys_for(event):
            queue.add(key, priority=priority)

    return handle

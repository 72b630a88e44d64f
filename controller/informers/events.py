"""What an informer tells its handlers: one ``Event`` per observed change of one object.

This module owns the event vocabulary. Handlers are plain synchronous callables that must return
quickly (typically: compute keys, add them to a work queue); anything slow belongs in a
reconciler.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import attrs

from controller.informers.store import KubeObject
from controller.keys import ObjectKey


class EventType(enum.Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@attrs.frozen(kw_only=True)
class Event:
    """A change of one object as seen by the cache."""

    type: EventType
    key: ObjectKey
    old: KubeObject | None
    """State before the change: None for ADDED; the last known state for DELETED."""
    new: KubeObject | None
    """State after the change: None for DELETED."""
    initial: bool = False
    """Part of the start-up list: handlers should enqueue at low priority so real edits made
    while the operator starts jump ahead of the flood."""
    resync: bool = False
    """A periodic re-delivery of a cached object (``old is new``): nothing changed, handlers
    should enqueue at low priority."""
    final_state_unknown: bool = False
    """A deletion synthesized on relist: the object vanished while the watch was down, ``old``
    is the last state the cache had, not the state at deletion."""
    memo: dict[str, object] = attrs.field(factory=dict, init=False, eq=False, repr=False)
    """What predicates computed from this event, for the next handler of the same event (at
    start-up every handler of an API asks whether its spec hash is current: hashed once)."""

    @property
    def object(self) -> KubeObject:
        """The newest state known (``new``, or ``old`` for deletions)."""
        obj = self.new if self.new is not None else self.old
        assert obj is not None
        return obj


EventHandler = Callable[[Event], None]

"""Fault injection for reliability tests: failing requests, latency, dropped watches, an
expired event history, and requests held until a test releases them (to open a window between
a client's read and its write deterministically).

Owns the fault state and the decision "does this request fail, and how". Must never be active
unless a test asks for it: with no faults configured every request passes untouched.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import attrs


@attrs.define
class Match:
    """Which requests a rule applies to; ``None`` matches anything. ``subresource`` ``""``
    matches the object itself only (e.g. a metadata PATCH but not a ``/status`` one)."""

    verb: str | None = None
    resource: str | None = None
    subresource: str | None = None
    name: str | None = None

    def __call__(self, verb: str, resource: str, subresource: str, name: str) -> bool:
        return (
            self.verb in (None, verb)
            and self.resource in (None, resource)
            and self.subresource in (None, subresource)
            and self.name in (None, name)
        )


@attrs.define
class FailureRule:
    """Fail the next ``remaining`` requests matching ``verb``/``resource`` (None matches any)."""

    remaining: int
    verb: str | None
    resource: str | None
    status: int
    subresource: str | None = None
    name: str | None = None

    def matches(self, verb: str, resource: str, subresource: str, name: str) -> bool:
        return Match(self.verb, self.resource, self.subresource, self.name)(
            verb, resource, subresource, name
        )


@attrs.define(eq=False)
class Hold:
    """The next request matching ``match`` waits before it is handled until :meth:`release`.

    ``arrived`` is set when that request came in (it is then held); ``released`` once let go.
    """

    id: int
    match: Match
    arrived: asyncio.Event = attrs.field(factory=asyncio.Event)
    released: asyncio.Event = attrs.field(factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "arrived": self.arrived.is_set(),
            "released": self.released.is_set(),
        }


class Faults:
    """In-process handle on the emulator's fault injection."""

    def __init__(
        self,
        *,
        close_watches: Callable[[], int],
        expire_history: Callable[[], None],
    ) -> None:
        self._close_watches = close_watches
        self._expire_history = expire_history
        self._rules: list[FailureRule] = []
        self.injected = 0
        """How many requests were failed by ``fail_next`` rules since the last reset."""
        self._holds: list[Hold] = []
        self._hold_ids = itertools.count(1)
        self.holds: dict[int, Hold] = {}
        """Every hold set since the last reset, by id (armed, held or released)."""
        self.latency = 0.0

    def close_watches(self) -> int:
        """End every open watch stream now; returns how many were closed."""
        return self._close_watches()

    def expire_history(self) -> None:
        """Forget stored events: watches from an older resourceVersion now get 410 Gone."""
        self._expire_history()

    def fail_next(
        self,
        n: int,
        *,
        verb: str | None = None,
        resource: str | None = None,
        status: int = 500,
        subresource: str | None = None,
        name: str | None = None,
    ) -> None:
        """Fail the next ``n`` requests matching ``verb`` (get, list, watch, create, update,
        patch, delete, deletecollection), ``resource`` (plural, e.g. ``configmaps``),
        ``subresource`` (``"status"``, or ``""`` for the object itself) and object ``name``."""
        if n > 0:
            self._rules.append(FailureRule(n, verb, resource, status, subresource, name))

    def hold_next(
        self,
        *,
        verb: str | None = None,
        resource: str | None = None,
        subresource: str | None = None,
        name: str | None = None,
    ) -> Hold:
        """Hold the next matching request (after latency and failures, before it is handled)
        until the returned :class:`Hold` is released; :meth:`reset` releases every hold."""
        hold = Hold(next(self._hold_ids), Match(verb, resource, subresource, name))
        self._holds.append(hold)
        self.holds[hold.id] = hold
        return hold

    def take_hold(self, verb: str, resource: str, subresource: str, name: str) -> Hold | None:
        """The hold this request must wait on (consuming it), or None."""
        for hold in self._holds:
            if hold.match(verb, resource, subresource, name):
                self._holds.remove(hold)
                hold.arrived.set()
                return hold
        return None

    def set_latency(self, seconds: float) -> None:
        """Delay every API request by ``seconds`` (0 disables)."""
        self.latency = max(0.0, seconds)

    def reset(self) -> None:
        self._rules.clear()
        self._holds.clear()
        for hold in self.holds.values():
            hold.release()
        self.holds.clear()
        self.injected = 0
        self.latency = 0.0

    def take_failure(
        self, verb: str, resource: str, subresource: str = "", name: str = ""
    ) -> int | None:
        """The status to fail this request with, consuming one matching rule, or None."""
        for rule in self._rules:
            if not rule.matches(verb, resource, subresource, name):
                continue
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
            self.injected += 1
            return rule.status
        return None

"""Fault injection for reliability tests: failing requests, latency, dropped watches and an
expired event history.

Owns the fault state and the decision "does this request fail, and how". Must never be active
unless a test asks for it: with no faults configured every request passes untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs


@attrs.define
class FailureRule:
    """Fail the next ``remaining`` requests matching ``verb``/``resource`` (None matches any)."""

    remaining: int
    verb: str | None
    resource: str | None
    status: int


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
    ) -> None:
        """Fail the next ``n`` requests matching ``verb`` (get, list, watch, create, update,
        patch, delete, deletecollection) and ``resource`` (plural, e.g. ``configmaps``)."""
        if n > 0:
            self._rules.append(FailureRule(n, verb, resource, status))

    def set_latency(self, seconds: float) -> None:
        """Delay every API request by ``seconds`` (0 disables)."""
        self.latency = max(0.0, seconds)

    def reset(self) -> None:
        self._rules.clear()
        self.latency = 0.0

    def take_failure(self, verb: str, resource: str) -> int | None:
        """The status to fail this request with, consuming one matching rule, or None."""
        for rule in self._rules:
            if rule.verb not in (None, verb) or rule.resource not in (None, resource):
                continue
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
            return rule.status
        return None

"""Reconnect backoff for list/watch: 0.8 s doubling to 30 s, with jitter, reset after 2 min.

This module owns the delay sequence only (same numbers as client-go's reflector): the caller
sleeps. Time and randomness are injected so the sequence is testable exactly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import attrs


@attrs.frozen(kw_only=True)
class BackoffOptions:
    initial: float = 0.8
    """First delay in seconds. Defaults to 0.8."""
    maximum: float = 30.0
    """Cap of the un-jittered delay. Defaults to 30 (so jittered delays stay below 60)."""
    factor: float = 2.0
    """Growth per consecutive failure. Defaults to 2."""
    jitter: float = 1.0
    """Each delay is ``d + random() * jitter * d``. Defaults to 1.0."""
    reset_after: float = 120.0
    """A failure this long after the previous one starts again from ``initial``. Defaults to
    120 s: a connection healthy for two minutes has earned a quick retry."""


class Backoff:
    """Stateful delay generator: call ``next_delay()`` after each failure."""

    def __init__(
        self,
        options: BackoffOptions | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self._options = options or BackoffOptions()
        self._monotonic = monotonic
        self._random = random_fraction
        self._current = self._options.initial
        self._last_failure: float | None = None

    def next_delay(self) -> float:
        options = self._options
        now = self._monotonic()
        if self._last_failure is not None and now - self._last_failure >= options.reset_after:
            self._current = options.initial
        self._last_failure = now
        base = self._current
        self._current = min(self._current * options.factor, options.maximum)
        return base + self._random() * options.jitter * base

    def reset(self) -> None:
        self._current = self._options.initial
        self._last_failure = None

"""Retry delay policies for the work queue (client-go ``default_rate_limiters`` semantics).

Owns: the ``RateLimiter`` protocol (``when`` / ``forget`` / ``num_requeues``), the per-key
exponential failure limiter, the overall token bucket, the max-of combinator and the two
stock compositions.

Must never: sleep, enqueue anything or look inside keys -- a limiter only answers "how long
should this key wait before its next attempt" and remembers failures until told to forget.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from controller.queue.clock import Clock, RealClock

__all__ = [
    "BucketRateLimiter",
    "ItemExponentialFailureRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "default_controller_rate_limiter",
    "default_item_rate_limiter",
]


class RateLimiter(Protocol):
    """Decides how long a key waits before it is retried."""

    def when(self, key: Hashable) -> float:
        """Seconds to wait before ``key`` is retried; records one more attempt."""
        ...

    def forget(self, key: Hashable) -> None:
        """Drop what is remembered about ``key`` (after a success)."""
        ...

    def num_requeues(self, key: Hashable) -> int:
        """How many times ``key`` has been retried since it was last forgotten."""
        ...


class ItemExponentialFailureRateLimiter:
    """Per-key exponential backoff: ``base * 2**failures``, capped at ``max_delay``.

    With the defaults (5 ms, 1000 s) the delays are 5 ms, 10 ms, 20 ms, ... 655.36 s for the
    18th consecutive failure, and the cap from the 19th on.
    """

    # 2**1023 is the largest power of two a float holds; beyond it the product overflows.
    _MAX_EXPONENT = 1023

    def __init__(self, *, base: float = 0.005, max_delay: float = 1000.0) -> None:
        if base <= 0 or max_delay <= 0:
            raise ValueError("base and max_delay must be positive")
        self._base = base
        self._max_delay = max_delay
        self._failures: dict[Hashable, int] = {}

    def when(self, key: Hashable) -> float:
        exponent = self._failures.get(key, 0)
        self._failures[key] = exponent + 1
        delay = self._base * 2.0 ** min(exponent, self._MAX_EXPONENT)
        return min(delay, self._max_delay)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: Hashable) -> int:
        return self._failures.get(key, 0)

    def __repr__(self) -> str:
        return (
            f"ItemExponentialFailureRateLimiter(base={self._base!r}, "
            f"max_delay={self._max_delay!r})"
        )


class BucketRateLimiter:
    """One token bucket shared by all keys (overall retry speed, not per key).

    The bucket starts full with ``burst`` tokens and refills at ``qps`` tokens per second.
    Every ``when`` reserves a token, even when none is left: the balance goes negative and the
    caller is told how long until its token will exist. So with 10 qps / burst 100, the first 100
    calls at one instant wait 0 s and the following ones 0.1 s, 0.2 s, ... It never tracks keys.
    """

    def __init__(self, *, qps: float = 10.0, burst: int = 100, clock: Clock | None = None) -> None:
        if qps <= 0 or burst <= 0:
            raise ValueError("qps and burst must be positive")
        self._qps = qps
        self._burst = burst
        self._clock: Clock = clock if clock is not None else RealClock()
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, key: Hashable) -> float:
        now = self._clock.now()
        if self._last is not None and now > self._last:
            self._tokens = min(float(self._burst), self._tokens + (now - self._last) * self._qps)
        if self._last is None or now > self._last:
            self._last = now
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self._qps

    def forget(self, key: Hashable) -> None:
        return None

    def num_requeues(self, key: Hashable) -> int:
        return 0

    def __repr__(self) -> str:
        return f"BucketRateLimiter(qps={self._qps!r}, burst={self._burst!r})"


class MaxOfRateLimiter:
    """Asks every limiter (so each one records the attempt) and returns the longest delay."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self._limiters = limiters

    def when(self, key: Hashable) -> float:
        return max([limiter.when(key) for limiter in self._limiters])

    def forget(self, key: Hashable) -> None:
        for limiter in self._limiters:
            limiter.forget(key)

    def num_requeues(self, key: Hashable) -> int:
        return max(limiter.num_requeues(key) for limiter in self._limiters)

    def __repr__(self) -> str:
        return f"MaxOfRateLimiter{self._limiters!r}"


def default_item_rate_limiter() -> RateLimiter:
    """Per-key exponential backoff alone (5 ms doubling up to 1000 s).

    This is what controller-runtime v0.24 uses with its (default) priority queue, and so what
    our ``WorkQueue`` uses unless told otherwise.
    """
    return ItemExponentialFailureRateLimiter(base=0.005, max_delay=1000.0)


def default_controller_rate_limiter(*, clock: Clock | None = None) -> RateLimiter:
    """client-go's classic default: max of per-key backoff and a 10 qps / burst 100 bucket."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(base=0.005, max_delay=1000.0),
        BucketRateLimiter(qps=10.0, burst=100, clock=clock),
    )

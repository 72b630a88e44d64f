"""Fault injection for reliability tests: latency, failed calls, dropped connections, credentials.

Owns the fault rules and decides, per request, whether it is delayed, failed with a status or
dropped. It never touches stored state: a failed or dropped request has no side effect.
Control-plane paths (``/_sim/...``) are never subject to faults.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Literal

import attrs

from sim.apim.auth import Credentials

FailWith = int | Literal["drop"]


@attrs.define
class FaultRule:
    """Fail matching requests: ``remaining`` of them (``None`` = unlimited) with ``fraction``."""

    status: FailWith
    method: str | None = None
    path_prefix: str | None = None
    remaining: int | None = None
    fraction: float = 1.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_prefix is None or path.startswith(self.path_prefix)
        )


class Faults:
    """Mutable fault configuration shared by the running simulator."""

    def __init__(self, credentials: Credentials, *, seed: int | None = None) -> None:
        self.credentials = credentials
        self.latency_s = 0.0
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)

    @property
    def active(self) -> bool:
        return self.latency_s > 0 or bool(self._rules)

    def set_latency(self, seconds: float) -> None:
        """Delay every API request by ``seconds`` before it is handled (0 disables)."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        self.latency_s = seconds

    def fail_next(
        self,
        n: int,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        status: FailWith = 500,
    ) -> None:
        """Fail the next ``n`` matching requests with ``status`` or a dropped connection."""
        if n <= 0:
            raise ValueError("n must be > 0")
        self._rules.append(
            FaultRule(
                status=_check_status(status),
                method=method.upper() if method else None,
                path_prefix=path_prefix,
                remaining=n,
            )
        )

    def fail_fraction(
        self,
        fraction: float,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        status: FailWith = 500,
    ) -> None:
        """Fail a random ``fraction`` (0..1) of matching requests until :meth:`clear`."""
        if not 0.0 < fraction <= 1.0:
            raise ValueError("fraction must be in (0, 1]")
        self._rules.append(
            FaultRule(
                status=_check_status(status),
                method=method.upper() if method else None,
                path_prefix=path_prefix,
                fraction=fraction,
            )
        )

    def set_credentials(
        self, *, users: Mapping[str, str] | None = None, tokens: Iterable[str] | None = None
    ) -> None:
        """Replace the accepted users and/or tokens (e.g. to make current clients get 401)."""
        self.credentials.replace(users=users, tokens=tokens)

    def restore_credentials(self) -> None:
        self.credentials.restore()

    def clear(self) -> None:
        """No latency, no failure rules, original credentials."""
        self.latency_s = 0.0
        self._rules.clear()
        self.credentials.restore()

    def pick_failure(self, method: str, path: str) -> FailWith | None:
        """The failure to apply to this request, consuming one count of the rule that fires."""
        for rule in self._rules:
            if not rule.matches(method, path):
                continue
            if rule.fraction < 1.0 and self._random.random() >= rule.fraction:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
            return rule.status
        return None


def _check_status(status: FailWith) -> FailWith:
    if status == "drop":
        return status
    if isinstance(status, int) and 400 <= status <= 599:
        return status
    raise ValueError("status must be an HTTP error status (400-599) or 'drop'")

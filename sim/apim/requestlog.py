"""The simulator's record of every request it answered, for tests to assert on.

Owns :class:`LoggedRequest` and :class:`RequestLog`. Records method, path, query, parsed JSON body,
the answered status and how the caller authenticated (scheme and Basic user name only). It must
never record secrets: no passwords, no tokens, no ``Authorization`` header.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs

#: ``LoggedRequest.status`` of a request whose connection was dropped by fault injection.
DROPPED = 0

WRITE_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})


@attrs.frozen
class LoggedRequest:
    """One request as the simulator saw it, and the status it answered (``DROPPED`` if none).

    The body is kept as the bytes received and parsed on access: a log of many thousand parsed
    bodies would make every garbage collection pass walk millions of objects.
    """

    seq: int
    method: str
    path: str
    query: dict[str, str]
    raw_body: bytes
    status: int
    auth_scheme: str | None = None  # "basic", "bearer" or None; never the credential itself
    user: str | None = None  # the Basic user name when one was sent
    # Only with ``SimulatorOptions.record_responses``: what was answered.
    response_body: bytes | None = None
    response_content_type: str | None = None
    at: float = 0.0
    """``time.monotonic()`` when the request was logged (system-wide on Linux, so comparable
    with another process's clock): benchmarks measure call rates from it."""

    @property
    def body(self) -> Any:
        """The JSON body (a fresh copy on each access), ``None`` if empty or not JSON."""
        if not self.raw_body:
            return None
        try:
            return json.loads(self.raw_body)
        except ValueError:
            return None

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "status": self.status,
            "authScheme": self.auth_scheme,
            "user": self.user,
            "at": self.at,
        }


class RequestLog:
    """Bounded, in-order log of requests; waitable from the simulator's event loop."""

    def __init__(self, *, max_entries: int = 50_000) -> None:
        self._entries: collections.deque[LoggedRequest] = collections.deque(maxlen=max_entries)
        self._seq = 0
        self._changed: asyncio.Event | None = None

    def append(
        self,
        *,
        method: str,
        path: str,
        query: dict[str, str],
        raw_body: bytes,
        status: int,
        auth_scheme: str | None = None,
        user: str | None = None,
    ) -> LoggedRequest:
        self._seq += 1
        entry = LoggedRequest(
            seq=self._seq,
            method=method,
            path=path,
            query=query,
            raw_body=raw_body,
            status=status,
            auth_scheme=auth_scheme,
            user=user,
            at=time.monotonic(),
        )
        self._entries.append(entry)
        if self._changed is not None:
            self._changed.set()
        return entry

    def attach_response(self, entry: LoggedRequest, *, body: Any, content_type: str) -> None:
        """Record the answer to ``entry`` (replaces it in place; the log stays in order)."""
        data = body if isinstance(body, bytes) else b""
        updated = attrs.evolve(entry, response_body=data, response_content_type=content_type)
        if self._entries and self._entries[-1] is entry:
            self._entries[-1] = updated

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(list(self._entries))

    @property
    def entries(self) -> list[LoggedRequest]:
        return list(self._entries)

    def mark(self) -> int:
        """A position to pass to :meth:`since` (the sequence number of the last entry)."""
        return self._seq

    def since(self, mark: int) -> list[LoggedRequest]:
        return [e for e in self._entries if e.seq > mark]

    def clear(self) -> None:
        self._entries.clear()

    def find(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        path_prefix: str | None = None,
        path_contains: str | None = None,
        since: int = 0,
    ) -> list[LoggedRequest]:
        """Entries matching every given criterion (method compared case-insensitively)."""
        wanted = method.upper() if method else None
        return [
            e
            for e in self._entries
            if e.seq > since
            and (wanted is None or e.method == wanted)
            and (path is None or e.path == path)
            and (path_prefix is None or e.path.startswith(path_prefix))
            and (path_contains is None or path_contains in e.path)
        ]

    def writes(self, *, since: int = 0) -> list[LoggedRequest]:
        """Every PUT/POST/PATCH/DELETE, whatever its outcome."""
        return [e for e in self._entries if e.seq > since and e.is_write]

    async def wait_for(
        self, predicate: Callable[[LoggedRequest], bool], *, timeout: float = 5.0, since: int = 0
    ) -> LoggedRequest:
        """First entry (after ``since``) matching ``predicate``, waiting up to ``timeout`` s.

        Raises :class:`TimeoutError` when none arrives in time.
        """

        async def _wait() -> LoggedRequest:
            if self._changed is None:
                self._changed = asyncio.Event()
            while True:
                self._changed.clear()
                for entry in list(self._entries):
                    if entry.seq > since and predicate(entry):
                        return entry
                await self._changed.wait()

        return await asyncio.wait_for(_wait(), timeout)

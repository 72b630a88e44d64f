"""One long-lived ``ApimClient`` per ManagementContext, so connections are reused across
reconciles.

This module owns the lifetime of clients: a client is kept while its context resolves to the same
URLs, credentials and options, and replaced (the old one closed) as soon as any of them changes,
e.g. after a Secret rotation. Keys are opaque values chosen by the caller (typically the
context's key). ``on_answer`` learns, per key, that its APIM answered a request (any status
below 500): the caller uses it to end an outage. It never builds requests itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable

from controller.apim.client import ApimClient, RequestObserver, RequestOutcome
from controller.apim.context import ResolvedContext
from controller.apim.options import ClientOptions


class ApimClientPool:
    """Clients by context key; all share ``options``. Use from one event loop."""

    def __init__(
        self,
        *,
        options: ClientOptions | None = None,
        observer: RequestObserver | None = None,
        on_answer: Callable[[Hashable], None] | None = None,
    ) -> None:
        self._options = options if options is not None else ClientOptions()
        self._observer = observer
        self._on_answer = on_answer
        self._clients: dict[Hashable, ApimClient] = {}
        self._retired: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._clients)

    def get(self, key: Hashable, context: ResolvedContext) -> ApimClient:
        """The client for ``key``; a new one if the context changed since the last call."""
        client = self._clients.get(key)
        if client is not None and client.context == context and not client.closed:
            return client
        if client is not None:
            self._retire(client)
        client = ApimClient(context, options=self._options, observer=self._observer_for(key))
        self._clients[key] = client
        return client

    def _observer_for(self, key: Hashable) -> RequestObserver | None:
        observer, on_answer = self._observer, self._on_answer
        if on_answer is None:
            return observer

        def observe(outcome: RequestOutcome) -> None:
            if observer is not None:
                observer(outcome)
            if outcome.status is not None and outcome.status < 500:
                on_answer(key)

        return observe

    def discard(self, key: Hashable) -> None:
        """Forget (and close) the client of a deleted context."""
        client = self._clients.pop(key, None)
        if client is not None:
            self._retire(client)

    async def close(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        await asyncio.gather(*(client.close() for client in clients))
        if self._retired:
            await asyncio.gather(*self._retired)

    def _retire(self, client: ApimClient) -> None:
        # In-flight requests of a reconcile still hold the old client; closing happens in the
        # background so `get` stays synchronous.
        task = asyncio.get_running_loop().create_task(client.close())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

"""One informer per watched kind: reflectors for the namespace scope, one store, many handlers.

An ``Informer`` owns the lifecycle of the reflectors that fill its store (one for all
namespaces, or one per namespace listed in ``NAMESPACE``), the list of event handlers, and the
"synced" state that the controller loop and ``/readyz`` wait on.

It must never reconcile or do I/O in handlers; it only fans events out.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence

import attrs
from kubernetes_asyncio.client import ApiClient

from controller.informers.events import Event, EventHandler, EventType
from controller.informers.reflector import Reflector, ReflectorOptions
from controller.informers.store import IndexFunc, IndexInput, Shape, Store
from controller.kube.resources import ResourceKind
from controller.logging import get_logger

_log = get_logger("informer")


@attrs.frozen(kw_only=True)
class InformerOptions:
    namespaces: tuple[str, ...] = ()
    """Watched namespaces; empty (default) watches all. Ignored for cluster-scoped kinds."""
    label_selector: str = ""
    """Narrows the cache, e.g. to the Secrets and ConfigMaps the operator labels."""
    field_selector: str = ""
    shape: Shape | None = None
    """What the store keeps of each object (``Store.shape``); None keeps it whole."""
    resync_period: float | None = None
    """Re-deliver every cached object to the handlers this often (seconds), as a low-priority
    MODIFIED event, without asking the API server. None (default): never; level-triggered
    reconcilers should prefer ``requeue_after`` for polling."""
    reflector: ReflectorOptions = attrs.field(factory=ReflectorOptions)


class Informer:
    """Caches one kind in one namespace scope and tells handlers about every change."""

    def __init__(
        self,
        api_client: ApiClient,
        kind: ResourceKind,
        *,
        options: InformerOptions | None = None,
        store: Store | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.kind = kind
        self.options = options or InformerOptions()
        self.store = store if store is not None else Store(shape=self.options.shape)
        self._handlers: list[EventHandler] = []
        scopes: Sequence[str | None] = (
            self.options.namespaces if kind.namespaced and self.options.namespaces else (None,)
        )
        self._reflectors = [
            Reflector(
                api_client, kind, self.store,
                on_event=self._dispatch,
                namespace=namespace,
                label_selector=self.options.label_selector,
                field_selector=self.options.field_selector,
                options=self.options.reflector,
                rng=rng,
            )
            for namespace in scopes
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self._synced = asyncio.Event()

    @property
    def reflectors(self) -> list[Reflector]:
        return list(self._reflectors)

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    @property
    def started(self) -> bool:
        return bool(self._tasks)

    def add_handler(self, handler: EventHandler, *, replay: bool = True) -> None:
        """Call ``handler`` for every future event.

        With ``replay`` (default), a handler added after the cache has content first receives
        an initial ADDED event for every cached object, so late registration misses nothing.
        """
        self._handlers.append(handler)
        if replay:
            for key, obj in self.store.items():
                handler(Event(type=EventType.ADDED, key=key, old=None, new=obj, initial=True))

    def add_index(self, name: str, func: IndexFunc, *, reads: IndexInput | None = None) -> None:
        """See ``Store.add_index``."""
        self.store.add_index(name, func, reads=reads)

    def start(self) -> None:
        """Start the reflectors (idempotent)."""
        if self._tasks:
            return
        name = f"informer:{self.kind}"
        self._tasks = [
            asyncio.create_task(reflector.run(), name=f"{name}:{reflector._namespace or '*'}")
            for reflector in self._reflectors
        ]
        self._tasks.append(asyncio.create_task(self._watch_sync(), name=f"{name}:sync"))
        if self.options.resync_period:
            self._tasks.append(asyncio.create_task(self._resync(self.options.resync_period),
                                                   name=f"{name}:resync"))

    async def _watch_sync(self) -> None:
        await asyncio.gather(*(reflector.synced.wait() for reflector in self._reflectors))
        self._synced.set()
        _log.info("cache synced", kind=self.kind.kind, objects=len(self.store))

    async def _resync(self, period: float) -> None:
        await self._synced.wait()
        while True:
            await asyncio.sleep(period)
            for key, obj in self.store.items():
                self._dispatch(Event(type=EventType.MODIFIED, key=key, old=obj, new=obj,
                                     resync=True))

    async def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until every reflector has applied its first list; False on timeout."""
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _dispatch(self, event: Event) -> None:
        for handler in self._handlers:
            try:
                handler(event)
            except Exception:
                _log.exception("event handler failed", kind=self.kind.kind, key=event.key)

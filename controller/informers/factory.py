"""The shared informers of one manager: at most one informer (and one store) per kind.

``SharedInformers`` owns the rule that every controller interested in a kind shares one cache:
the first caller creates the informer, later callers get the same one. It starts, waits for and
stops them all together. It must never know what the controllers do with the events.
"""

from __future__ import annotations

import asyncio

from kubernetes_asyncio.client import ApiClient

from controller.informers.informer import Informer, InformerOptions
from controller.informers.reflector import ReflectorOptions
from controller.informers.store import Shape
from controller.kube.resources import ResourceKind


class SelectorConflictError(ValueError):
    """A kind was asked for with selectors that differ from those of its existing informer."""


class SharedInformers:
    """Creates informers on demand, one per kind, all in the same namespace scope."""

    def __init__(
        self,
        api_client: ApiClient,
        *,
        namespaces: tuple[str, ...] = (),
        reflector_options: ReflectorOptions | None = None,
    ) -> None:
        self._api = api_client
        self._namespaces = namespaces
        self._reflector_options = reflector_options or ReflectorOptions()
        self._informers: dict[ResourceKind, Informer] = {}
        self._narrowed: dict[ResourceKind, tuple[str, Shape | None]] = {}
        self._started = False

    def narrow(self, kind: ResourceKind, *, field_selector: str = "",
               shape: Shape | None = None) -> None:
        """Cache ``kind`` only as far as ``field_selector`` selects it, and keep of each object
        what ``shape`` leaves (e.g. Secrets without Helm releases and without their data).
        Must come before the informer of ``kind`` exists; later ``informer_for(kind)`` calls
        get the narrowed informer."""
        if kind in self._informers:
            raise SelectorConflictError(f"{kind} is already cached; narrow it before first use")
        self._narrowed[kind] = (field_selector, shape)

    def informer_for(
        self, kind: ResourceKind, *, label_selector: str = "", field_selector: str = ""
    ) -> Informer:
        """The informer of ``kind``, created (and started if the others are) on first use."""
        narrowed_selector, shape = self._narrowed.get(kind, ("", None))
        field_selector = field_selector or narrowed_selector
        informer = self._informers.get(kind)
        if informer is not None:
            options = informer.options
            if (options.label_selector, options.field_selector) != (
                label_selector, field_selector
            ):
                raise SelectorConflictError(
                    f"{kind} is already cached with labelSelector={options.label_selector!r} "
                    f"fieldSelector={options.field_selector!r}"
                )
            return informer
        informer = Informer(
            self._api,
            kind,
            options=InformerOptions(
                namespaces=self._namespaces,
                label_selector=label_selector,
                field_selector=field_selector,
                shape=shape,
                reflector=self._reflector_options,
            ),
        )
        self._informers[kind] = informer
        if self._started:
            informer.start()
        return informer

    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    @property
    def all_synced(self) -> bool:
        return all(informer.has_synced for informer in self._informers.values())

    def start(self) -> None:
        self._started = True
        for informer in self._informers.values():
            informer.start()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """True once every informer has synced; False if ``timeout`` passes first."""
        results = await asyncio.gather(
            *(informer.wait_synced(timeout) for informer in self._informers.values())
        )
        return all(results)

    async def stop(self) -> None:
        self._started = False
        await asyncio.gather(*(informer.stop() for informer in self._informers.values()))

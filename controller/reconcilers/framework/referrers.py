""""Who references me": answered from the informer indexes at the moment it is asked.

Every kind that declares ``references(kind, refs=...)`` gets an index on its cache; this registry
knows them all, so a context (or an ApiResource) can ask which objects use it right now. Nothing
is ever counted or stored: a referrer that disappears simply stops being filed under the key.
"""

from __future__ import annotations

import attrs

from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.resources import ResourceKind


@attrs.frozen
class ReferringIndex:
    referrer: ResourceKind
    store: Store
    index: str


@attrs.frozen
class ReferrerGroup:
    """The objects of one kind that reference a given object."""

    kind: ResourceKind
    keys: tuple[ObjectKey, ...]


class Referrers:
    def __init__(self) -> None:
        self._by_target: dict[str, list[ReferringIndex]] = {}

    def register(
        self, target: ResourceKind, referrer: ResourceKind, store: Store, index: str
    ) -> None:
        self._by_target.setdefault(target.plural, []).append(ReferringIndex(referrer, store, index))

    def of(self, target: ResourceKind, key: ObjectKey) -> list[ReferrerGroup]:
        """The referrers of ``key`` (an object of ``target``), grouped by kind, non-empty only."""
        groups = []
        for referring in self._by_target.get(target.plural, ()):
            keys = referring.store.keys_by_index(referring.index, key)
            if keys:
                groups.append(ReferrerGroup(referring.referrer, tuple(keys)))
        return groups

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


NAMED_REFERRERS = 10
"""How many referrers a blocked deletion names (the total is always given)."""


def total(groups: list[ReferrerGroup]) -> int:
    return sum(len(group.keys) for group in groups)


def named(groups: list[ReferrerGroup], limit: int = NAMED_REFERRERS) -> str:
    """``ApiV4Definition team/a, Application team/b`` for the first ``limit`` referrers, and how
    many more there are."""
    everyone = [f"{group.kind.kind} {key}" for group in groups for key in sorted(group.keys)]
    shown = ", ".join(everyone[:limit])
    hidden = len(everyone) - limit
    return f"{shown} and {hidden} more" if hidden > 0 else shown


def kubectl_listing(groups: list[ReferrerGroup], field: str, value: str) -> str:
    """A ``kubectl`` command listing, with their kind and namespace, every object of the
    referring kinds whose ``field`` (a JSONPath such as ``.spec.contextRef.name``) is
    ``value``."""
    kinds = ",".join(dict.fromkeys(f"{g.kind.plural}.{g.kind.group}" for g in groups))
    return (
        f"kubectl get {kinds} -A -o jsonpath='{{range .items[?(@{field}==\"{value}\")]}}"
        '{.kind} {.metadata.namespace}/{.metadata.name}{"\\n"}{end}\''
    )


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

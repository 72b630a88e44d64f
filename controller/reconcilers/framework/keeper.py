"""Finalizers, reference annotations and the data hash on the Secrets and ConfigMaps the kinds
read, derived from the informer indexes every time (docs/architecture.md, reference keeper).

For one source kind (Secrets, or ConfigMaps) the keeper answers, for one object: who reads it
now (every ``reads_sources`` declaration has an index), and therefore which of the operator's
finalizers it must carry (``finalizers.gravitee.io/templating`` while a template reads it,
``finalizers.gravitee.io/managementcontextSecret`` while a context takes credentials from it),
which users upstream's reference annotations list, and whether it carries the hash of its data
(what its users were last given, so an edit made while the operator is down is noticed at
start-up). Nothing is counted: when the last user goes, the next check finds nobody and releases
the object, whatever order the users went in. It writes only when something differs.

A source deleted while still in use stays (its finalizer holds it): the keeper says so in one
Warning Event on the source, naming its users, and one on each user, naming the source
(docs/behavior/templating.md#bookkeeping-on-the-sources).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

import attrs
from kubernetes_asyncio.client import ApiClient

from controller import vocabulary as v
from controller.informers.predicates import source_data_hash
from controller.informers.store import KubeObject, Store
from controller.keys import ObjectKey
from controller.kube.events import WARNING, EventRecorder
from controller.kube.resources import ResourceKind
from controller.reconcile import Result
from controller.reconcilers.framework.builder import SourcesFunc
from controller.reconcilers.framework.metadata import (
    annotations_of,
    finalizers_of,
    write_metadata,
)
from controller.reconcilers.support.templating import (
    REFERENCES_ANNOTATION,
    TEMPLATING_FINALIZER,
    SourceKind,
    SourceRef,
    users_annotation,
)

_NO_USERS: Final = "[]"

EVENT_DELETION_BLOCKED: Final = "DeletionBlocked"
"""Reason of the Warning Event on a source deleted while still in use."""
EVENT_SOURCE_DELETING: Final = "ReferenceDeleting"
"""Reason of the Warning Event on each user of a source being deleted."""
_NAMED_USERS: Final = 10


@attrs.frozen
class Holder:
    """The objects of one kind that read sources through one index."""

    plural: str
    store: Store
    index: str
    refs: SourcesFunc
    finalizer: str | None
    reads: Callable[[KubeObject], object]
    """What ``refs`` reads: when it is equal before and after an update, nothing changed."""


class ReferenceKeeper:
    """Implements ``Reconciler`` for the keys of one source kind."""

    def __init__(
        self,
        api_client: ApiClient,
        kind: ResourceKind,
        source_kind: SourceKind,
        store: Store,
        holders: Sequence[Holder],
        events: EventRecorder | None = None,
    ) -> None:
        self._api = api_client
        self._events = events
        # Deleting sources already warned about, with the users named then: warn again only
        # when the users change, not at every check.
        self._warned: dict[ObjectKey, frozenset[tuple[str, ObjectKey]]] = {}
        self._kind = kind
        self._source_kind = source_kind
        self._store = store
        self._holders = tuple(holders)
        self._managed = {h.finalizer for h in holders if h.finalizer}

    def source_ref(self, key: ObjectKey) -> SourceRef:
        return SourceRef(self._source_kind, key.namespace, key.name)

    def concerns(self, key: ObjectKey, obj: Mapping[str, Any] | None) -> bool:
        """Whether ``key`` is read by someone or carries one of our finalizers."""
        ref = self.source_ref(key)
        if any(holder.store.keys_by_index(holder.index, ref) for holder in self._holders):
            return True
        return obj is not None and bool(self._managed.intersection(finalizers_of(obj)))

    def keys_to_check(self) -> Iterator[ObjectKey]:
        """Every object that is read by someone or carries one of our finalizers."""
        seen: set[ObjectKey] = set()
        for holder in self._holders:
            for obj in holder.store.iter_objects():
                for ref in holder.refs(obj):
                    if isinstance(ref, SourceRef) and ref.kind == self._source_kind:
                        seen.add(ref.key)
        for key, obj in self._store.items():
            if self._managed.intersection(finalizers_of(obj)):
                seen.add(key)
        return iter(sorted(seen))

    async def reconcile(self, key: ObjectKey) -> Result:
        obj = self._store.get(key)
        if obj is None:
            return Result()
        ref = self.source_ref(key)
        users = {holder: holder.store.keys_by_index(holder.index, ref) for holder in self._holders}
        self._warn_if_deleting_in_use(key, obj, users)
        finalizers = self._finalizers(obj, users)
        annotations = self._annotations(obj, users)
        if finalizers is None and not annotations:
            return Result()
        await write_metadata(
            self._api, self._kind, obj, finalizers=finalizers, annotations=annotations or None
        )
        return Result()

    def _warn_if_deleting_in_use(
        self, key: ObjectKey, obj: Mapping[str, Any], users: Mapping[Holder, list[ObjectKey]]
    ) -> None:
        in_use = frozenset(
            (holder.plural, user)
            for holder, keys in users.items()
            if holder.finalizer
            for user in keys
        )
        if not (obj.get("metadata") or {}).get("deletionTimestamp") or not in_use:
            self._warned.pop(key, None)
            return
        if self._events is None or self._warned.get(key) == in_use:
            return
        self._warned[key] = in_use
        readers = sorted(in_use)
        stores = {holder.plural: holder.store for holder in self._holders}

        def label(plural: str, user: ObjectKey) -> str:
            return f"{(stores[plural].get(user) or {}).get('kind') or plural} {user}"

        listed = ", ".join(label(plural, user) for plural, user in readers[:_NAMED_USERS])
        more = len(readers) - _NAMED_USERS
        if more > 0:
            listed += f" and {more} more"
        source = f"{self._source_kind} [{key}]"
        self._events.emit(
            dict(obj),
            WARNING,
            EVENT_DELETION_BLOCKED,
            f"{source} is being deleted but {len(readers)} objects still use it: {listed}. It "
            "stays until they stop using it; change or delete them, and the deletion completes "
            "by itself",
        )
        for plural, user in readers:
            user_obj = stores[plural].get(user)
            if user_obj is not None:
                self._events.emit(
                    user_obj,
                    WARNING,
                    EVENT_SOURCE_DELETING,
                    f"{source}, which this object reads, is being deleted: it stays while this "
                    "object uses it; stop using it, or recreate it under another name, before "
                    "it goes",
                )

    def _finalizers(
        self, obj: Mapping[str, Any], users: Mapping[Holder, list[ObjectKey]]
    ) -> list[str] | None:
        """The new finalizer list, or None when it is right already."""
        wanted = {holder.finalizer for holder, keys in users.items() if keys and holder.finalizer}
        current = finalizers_of(obj)
        kept = [f for f in current if f not in self._managed or f in wanted]
        # The API server refuses new finalizers on an object being deleted: only release then.
        adding = [] if (obj.get("metadata") or {}).get("deletionTimestamp") else wanted
        new = kept + sorted(set(adding) - set(current))
        return None if new == current else new

    def _annotations(
        self, obj: Mapping[str, Any], users: Mapping[Holder, list[ObjectKey]]
    ) -> dict[str, str]:
        """The annotations that must change (empty when none)."""
        current = annotations_of(obj)
        desired: dict[str, str] = {}
        if any(users.values()):
            desired[v.ANNOTATION_LAST_SPEC_HASH] = source_data_hash(obj)
        template_users: dict[str, set[str]] = {}
        for holder, keys in users.items():
            if holder.finalizer == TEMPLATING_FINALIZER:
                template_users.setdefault(holder.plural, set()).update(str(k) for k in keys)
        total = 0
        for plural, names in template_users.items():
            total += len(names)
            annotation = users_annotation(plural)
            if (names or annotation in current) and _listed(current.get(annotation)) != names:
                desired[annotation] = json.dumps(sorted(names), separators=(",", ":"))
        if total or REFERENCES_ANNOTATION in current:
            desired[REFERENCES_ANNOTATION] = str(total)
        return {k: value for k, value in desired.items() if current.get(k) != value}


def _listed(raw: str | None) -> set[str]:
    try:
        parsed = json.loads(raw or _NO_USERS)
    except ValueError:
        return set()
    return {str(item) for item in parsed} if isinstance(parsed, list) else set()

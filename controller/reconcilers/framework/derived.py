"""Status fields derived from the informer indexes (``derived_status`` declarations), and the
keeper that keeps them current between reconciles (docs/architecture.md, derived status).

Upstream counts the Subscriptions of an API or an Application in ``status.subscriptions``,
incremented and decremented by the Subscription controller; a missed decrement stays forever.
Here the value is never counted up or down: it is the number of referrers filed under the
object in the referrer's index at the moment it is written. The kind's runtime writes it with
every status write; ``DerivedStatusKeeper`` writes it alone (a status merge patch, nothing
remote, no reconcile of the object) when a referrer appears, goes or changes what it references,
and whenever the object's status shows another value (a write that raced a referrer's change).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from kubernetes_asyncio.client import ApiClient

from controller.informers.store import KubeObject, Store
from controller.keys import ObjectKey
from controller.kube.objects import patch_status
from controller.kube.resources import ResourceKind
from controller.kube.rest import KubeApiError
from controller.reconcile import Result
from controller.reconcilers.framework.builder import DerivedStatus
from controller.reconcilers.framework.referrers import Referrers


class DerivedValues:
    """The derived status fields of one kind, computed from the referrer indexes."""

    def __init__(
        self, kind: ResourceKind, derived: Sequence[DerivedStatus], referrers: Referrers
    ) -> None:
        self.kind = kind
        self.derived = tuple(derived)
        self._referrers = referrers

    def __bool__(self) -> bool:
        return bool(self.derived)

    def of(self, key: ObjectKey) -> dict[str, Any]:
        """``{field: number of referrers}`` for the object ``key`` now."""
        groups = self._referrers.of(self.kind, key) if self.derived else []
        values: dict[str, Any] = {}
        for derived in self.derived:
            keys = {k for group in groups if group.kind == derived.referrer for k in group.keys}
            values[derived.field] = len(keys)
        return values

    def stale(self, key: ObjectKey, obj: Mapping[str, Any] | None) -> dict[str, Any]:
        """The fields whose value in ``obj``'s status differs from the derived one (empty when
        none, or when the object has no status yet: its first reconcile writes them)."""
        status = (obj or {}).get("status")
        if not self.derived or not isinstance(status, Mapping) or not status:
            return {}
        return {f: value for f, value in self.of(key).items() if status.get(f) != value}


class DerivedStatusKeeper:
    """Implements ``Reconciler`` for the objects of one kind with derived status fields: writes
    only the fields that differ, and only them."""

    def __init__(
        self, api_client: ApiClient, store: Store, values: DerivedValues
    ) -> None:
        self._api = api_client
        self._store = store
        self._values = values

    def keys_to_check(self) -> Iterator[ObjectKey]:
        """Objects whose status shows a value that is not the derived one (after sync)."""
        return iter(sorted(key for key, obj in self._store.items()
                           if self._values.stale(key, obj)))

    def concerns(self, key: ObjectKey, obj: KubeObject | None) -> bool:
        return bool(self._values.stale(key, obj))

    async def reconcile(self, key: ObjectKey) -> Result:
        patch = self._values.stale(key, self._store.get(key))
        if not patch:
            return Result()
        try:
            await patch_status(self._api, self._values.kind, key.namespace, key.name, patch)
        except KubeApiError as error:
            if not error.not_found:
                raise
        return Result()

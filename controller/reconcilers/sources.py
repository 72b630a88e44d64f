"""Reading template sources from the caches and keeping their bookkeeping (gko-behavior.md 4.2).

``CachedSources`` serves ``[[ secret ]]``/``[[ configmap ]]`` lookups from the informer stores
(Secret values decoded from base64). ``SourceBookkeeping`` writes the reference annotations and
the templating finalizer on the sources, only when they change.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from kubernetes_asyncio.client import ApiClient

from controller.informers.store import Store
from controller.kube.objects import get_object, patch_metadata
from controller.kube.resources import CONFIG_MAPS, SECRETS, ResourceKind
from controller.kube.rest import KubeApiError
from controller.reconcilers.errors import ReconcileError
from controller.reconcilers.predicates import source_data_hash
from controller.reconcilers.templating import (
    SourceMetadata,
    SourceRef,
    add_reference,
    release_reference,
    users_annotation,
)
from controller.reconcilers.vocabulary import ANNOTATION_LAST_SPEC_HASH


def decode_secret_data(data: Mapping[str, str] | None) -> dict[str, str]:
    """Secret ``data`` values as text; undecodable entries are left out rather than guessed."""
    decoded: dict[str, str] = {}
    for key, value in (data or {}).items():
        try:
            decoded[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return decoded


_CONFLICT_ATTEMPTS: Final = 5
_LOCK_STRIPES: Final = 64


class CachedSources:
    """A ``SourceReader`` over the Secret and ConfigMap stores."""

    def __init__(self, secrets: Store, configmaps: Store) -> None:
        self._secrets = secrets
        self._configmaps = configmaps

    def secret_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        secret = self._secrets.get(f"{namespace}/{name}")
        return None if secret is None else decode_secret_data(secret.get("data"))

    def configmap_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        configmap = self._configmaps.get(f"{namespace}/{name}")
        return None if configmap is None else dict(configmap.get("data") or {})


class SourceBookkeeping:
    """Records on each source which objects (of one plural) read it."""

    def __init__(self, api_client: ApiClient, secrets: Store, configmaps: Store) -> None:
        self._api = api_client
        self._stores = {"secret": secrets, "configmap": configmaps}
        # Users of one source are reconciled concurrently by our own workers: serialize their
        # writes here (striped, so memory stays bounded) instead of racing on resourceVersions.
        self._locks = [asyncio.Lock() for _ in range(_LOCK_STRIPES)]

    async def record(self, sources: Iterable[SourceRef], *, plural: str, user: str) -> None:
        for source in sources:
            await self._update(source, plural=plural, user=user, add=True)

    async def release_all(self, namespace: str, *, plural: str, user: str) -> None:
        """Forget ``user`` on every cached source of ``namespace`` that lists it."""
        marker = json.dumps(user)
        for kind, store in self._stores.items():
            for obj in store.by_index("namespace", namespace):
                annotations = (obj.get("metadata") or {}).get("annotations") or {}
                if marker in annotations.get(users_annotation(plural), ""):
                    name = obj["metadata"]["name"]
                    source = SourceRef(
                        "secret" if kind == "secret" else "configmap", namespace, name
                    )
                    await self._update(source, plural=plural, user=user, add=False)

    async def _update(self, source: SourceRef, *, plural: str, user: str, add: bool) -> None:
        async with self._locks[hash(source) % _LOCK_STRIPES]:
            await self._update_locked(source, plural=plural, user=user, add=add)

    async def _update_locked(self, source: SourceRef, *, plural: str, user: str, add: bool) -> None:
        kind = SECRETS if source.kind == "secret" else CONFIG_MAPS
        obj = self._stores[source.kind].get(source.key)
        for _ in range(_CONFLICT_ATTEMPTS):
            if obj is None:
                return
            try:
                await self._patch(kind, source, obj, plural=plural, user=user, add=add)
                return
            except KubeApiError as error:
                if error.not_found:
                    return
                if not error.conflict:
                    raise
            # Several users of one source record themselves concurrently, and the cache may
            # not show our own last write yet: start again from the live object.
            obj = await get_object(self._api, kind, source.namespace, source.name)
        raise ReconcileError(
            f"{source.kind} [{source.key}] kept changing while recording its users"
        )

    async def _patch(
        self,
        kind: ResourceKind,
        source: SourceRef,
        obj: Mapping[str, Any],
        *,
        plural: str,
        user: str,
        add: bool,
    ) -> None:
        metadata = obj.get("metadata") or {}
        current = SourceMetadata(
            dict(metadata.get("annotations") or {}), tuple(metadata.get("finalizers") or ())
        )
        change = (add_reference if add else release_reference)(current, plural=plural, user=user)
        updated = change or current
        annotations: dict[str, str | None] = dict(updated.annotations)
        if add:
            # What the users were last given, so an edit made while the operator is down is
            # noticed at start-up (predicates.source_stale).
            data_hash = source_data_hash(obj)
            if annotations.get(ANNOTATION_LAST_SPEC_HASH) != data_hash:
                annotations[ANNOTATION_LAST_SPEC_HASH] = data_hash
                change = updated
        if change is None:
            return
        await patch_metadata(
            self._api,
            kind,
            source.namespace,
            source.name,
            annotations=annotations,
            finalizers=list(updated.finalizers),
            resource_version=str(metadata.get("resourceVersion") or "") or None,
        )

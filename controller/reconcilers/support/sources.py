"""The one reader of Secrets and ConfigMaps (docs/behavior/templating.md, "What is cached").

The Secret and ConfigMap informers keep metadata only, plus the hash of the data
(``store.without_data``), and never see Helm release Secrets (``narrow_source_caches``): a
cluster's Secrets are often hundreds of megabytes the operator never reads. The data of the
ones it does read (template sources, context credentials, certificates) is read on demand by
``CachedSources.load`` through a small cache bounded in bytes (``SourceData``), kept current by
the informers themselves: a watched change of a source in that cache replaces its entry, so an
edit costs no extra request. ``load`` returns a ``Loaded`` snapshot, the synchronous
``SourceReader`` that template compilation and certificate inlining use; every read is
therefore preceded by an explicit load of exactly what it reads, and an entry evicted meanwhile
changes nothing. Objects outside the cached scope (another namespace, a Helm release) are read
from the API server each time. Writing anything on the sources (finalizers, reference
annotations, the data hash) is the reference keeper's job (``framework/keeper.py``).
"""

from __future__ import annotations

import base64
import binascii
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs
from kubernetes_asyncio.client import ApiClient

from controller.informers.factory import SharedInformers
from controller.informers.store import (
    DATA_HASH,
    KubeObject,
    Store,
    resource_version,
    without_data,
)
from controller.keys import ObjectKey
from controller.kube.objects import get_object
from controller.kube.resources import CONFIG_MAPS, SECRETS, ResourceKind
from controller.reconcilers.support.templating import (
    Compiled,
    SourceKind,
    SourceRef,
    compile_spec,
    referenced_sources,
)

NOT_HELM_RELEASES: Final = "type!=helm.sh/release.v1"
"""Field selector of the Secret informer: Helm keeps every revision of every release in a
Secret of this type (often 20-200 KB each); the operator never reads them."""
DEFAULT_CAPACITY: Final = 8 * 1024 * 1024
"""Bytes of source data kept between reads (keys plus values)."""
_KINDS: Final[dict[SourceKind, ResourceKind]] = {"secret": SECRETS, "configmap": CONFIG_MAPS}

Data = dict[str, str]
_Key = tuple[SourceKind, ObjectKey]


def decode_secret_data(data: Mapping[str, str] | None) -> Data:
    """Secret ``data`` values as text; undecodable entries are left out rather than guessed."""
    decoded: Data = {}
    for key, value in (data or {}).items():
        try:
            decoded[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return decoded


def _data_of(kind: SourceKind, obj: Mapping[str, Any]) -> Data:
    if kind == "secret":
        return decode_secret_data(obj.get("data"))
    return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}


@attrs.frozen
class _Entry:
    version: str
    data: Data
    size: int


class SourceData:
    """The data of recently read sources, at most ``capacity`` bytes, least recently read
    first out."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self._size = 0
        self.fetches = 0
        """Sources read from the API server because they were not here (for tests and
        diagnostics)."""

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def size(self) -> int:
        return self._size

    def held(self) -> list[_Key]:
        """The sources whose data is here, least recently read first."""
        return list(self._entries)

    def get(self, key: _Key, version: str) -> Data | None:
        entry = self._entries.get(key)
        if entry is None or entry.version != version:
            return None
        self._entries.move_to_end(key)
        return dict(entry.data)  # the reader's own copy: nothing it does reaches the cache

    def put(self, key: _Key, version: str, data: Data) -> None:
        self.discard(key)
        size = sum(len(k) + len(v) for k, v in data.items())
        if size > self.capacity:
            return
        self._entries[key] = _Entry(version, data, size)
        self._size += size
        while self._size > self.capacity:
            _, evicted = self._entries.popitem(last=False)
            self._size -= evicted.size

    def discard(self, key: _Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._size -= entry.size

    def shape(self, kind: SourceKind) -> KeepMetadata:
        """The informer shape of ``kind`` (``KeepMetadata``)."""
        return KeepMetadata(self, kind)


@attrs.frozen
class KeepMetadata:
    """The shape of the Secret or ConfigMap informer: refreshes the entry of a source this
    cache holds with the data that arrived, then keeps metadata and data hash only."""

    data: SourceData
    kind: SourceKind

    def __call__(self, obj: KubeObject) -> KubeObject:
        key = (self.kind, ObjectKey.of(obj))
        if key in self.data and DATA_HASH not in obj:
            self.data.put(key, resource_version(obj), _data_of(self.kind, obj))
        return without_data(obj)


def narrow_source_caches(informers: SharedInformers, data: SourceData) -> None:
    """Secrets without Helm releases, and Secrets and ConfigMaps without their data."""
    informers.narrow(SECRETS, field_selector=NOT_HELM_RELEASES, shape=data.shape("secret"))
    informers.narrow(CONFIG_MAPS, shape=data.shape("configmap"))


class NotLoadedError(RuntimeError):
    """A source was read without being loaded first: a bug in the reader, never retried
    into success by waiting."""


@attrs.frozen
class Loaded:
    """A ``SourceReader`` over the sources one ``CachedSources.load`` read."""

    found: Mapping[_Key, Data | None]

    def _read(self, kind: SourceKind, namespace: str, name: str) -> Data | None:
        key = (kind, ObjectKey(namespace, name))
        if key not in self.found:
            raise NotLoadedError(f"{kind} [{namespace}/{name}] was read without being loaded")
        return self.found[key]

    def secret_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return self._read("secret", namespace, name)

    def configmap_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return self._read("configmap", namespace, name)


class CachedSources:
    """Reads Secret and ConfigMap data for the kinds (see the module docstring)."""

    def __init__(self, api_client: ApiClient, secrets: Store, configmaps: Store,
                 data: SourceData | None = None) -> None:
        self._api = api_client
        self._stores: dict[SourceKind, Store] = {"secret": secrets, "configmap": configmaps}
        self.data = data if data is not None else SourceData()

    async def load(self, refs: Iterable[SourceRef]) -> Loaded:
        """The data of every source in ``refs`` (None for those that do not exist)."""
        found: dict[_Key, Data | None] = {}
        for ref in sorted(set(refs)):
            found[(ref.kind, ref.key)] = await self._data(ref.kind, ref.key)
        return Loaded(found)

    async def secret(self, key: ObjectKey) -> Data | None:
        """One Secret's data, decoded; None when it does not exist."""
        return await self._data("secret", key)

    async def compile(self, spec: Any, *, namespace: str) -> Compiled:
        """``compile_spec`` with every source its templates read loaded first."""
        reader = await self.load(referenced_sources(spec, namespace=namespace))
        return compile_spec(spec, namespace=namespace, reader=reader)

    async def _data(self, kind: SourceKind, key: ObjectKey) -> Data | None:
        cached = self._stores[kind].get(key)
        if cached is not None:
            found = self.data.get((kind, key), resource_version(cached))
            if found is not None:
                return found
        # Not read recently, changed since, or outside the cached scope: ask the API server.
        obj = await get_object(self._api, _KINDS[kind], key.namespace, key.name)
        self.data.fetches += 1
        if obj is None:
            return None
        data = _data_of(kind, obj)
        if cached is not None:
            self.data.put((kind, key), resource_version(obj), dict(data))
        return data

    async def read(self, kind: ResourceKind, store: Store, key: ObjectKey) -> dict[str, Any] | None:
        """``key`` from ``store``, or from the API server when the cache does not hold it
        (a namespace outside the watched scope). Not for Secrets and ConfigMaps, whose cached
        copies have no data: ``load`` or ``secret`` read those."""
        if kind in _KINDS.values():
            raise ValueError(f"{kind.plural} are read with load() or secret()")
        cached = store.get(key)
        if cached is not None:
            return cached
        return await get_object(self._api, kind, key.namespace, key.name)

"""The in-memory cache of one kind of Kubernetes object, with O(1) secondary indexes.

A ``Store`` owns the last known state of every object of one kind in the watched scope, keyed by
``ObjectKey``, plus indexes that answer "which objects have index value V" in constant time:
``namespace`` is built in; reconcilers register their own (e.g. "APIs that reference context
ns/ctx") with ``add_index``.

Objects are kept as zlib-compressed JSON (against a preset dictionary per store) and decoded on
every read: a converged ApiV4Definition costs about 0.2-0.4 KB instead of about 6 KB of dicts
and strings (measurements in docs/architecture.md, "The cache"), and a caller gets a fresh dict
of its own (changing it changes nothing here). A store may also have a ``shape``, applied to
every object it is given before it is kept (e.g. Secrets without their data, ``without_data``).
Iterations (``items``, ``iter_objects``) take a snapshot of the stored bytes and decode one
object at a time, so walking 10,000 objects never holds 10,000 decoded dicts at once
(docs/architecture.md, "The cache").

It must never talk to the API server or decide anything; reflectors write, everyone else reads.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, Final

from controller import jsonfast
from controller import vocabulary as v
from controller.keys import ObjectKey

KubeObject = dict[str, Any]
"""A Kubernetes object as decoded JSON."""

IndexFunc = Callable[[KubeObject], Iterable[Hashable]]
"""Maps an object to the index values it is filed under (zero or more): usually the
``ObjectKey`` of what it references."""

IndexInput = Callable[[KubeObject], object]
"""The part of an object an ``IndexFunc`` reads (e.g. its ``spec``). When an update leaves that
part equal, the object's index values are kept instead of recomputed."""

Derivation = Callable[[KubeObject], Any]
"""Something computed from one object alone (e.g. "is it converged?"), kept by ``derived``
until the object changes."""

Shape = Callable[[KubeObject], KubeObject]
"""What a store keeps of each object it is given (see ``without_data``): it changes the object
in place and returns it, so the informer's handlers see what the store keeps."""

NAMESPACE_INDEX: Final = "namespace"

DATA_HASH: Final = "dataHash"
"""Set by ``without_data`` in place of ``data``/``binaryData``: the hash of what was dropped,
so that a change of the data is still seen (``predicates.source_data_hash``). Not a field of
any Kubernetes object; never written back."""


LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"


def slim(obj: KubeObject) -> KubeObject:
    """``obj`` without what the operator never reads and never writes back: the server-side
    apply bookkeeping (``metadata.managedFields``) and kubectl's copy of the last applied
    manifest. Together they are often larger than the object itself; a merge patch never sends
    them, so nothing is lost by not caching them (docs/architecture.md)."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            del annotations[LAST_APPLIED]
    return obj


def data_hash(obj: Mapping[str, Any]) -> str:
    """Hash of a Secret's or ConfigMap's content (``data`` and ``binaryData``)."""
    recorded = obj.get(DATA_HASH)
    if isinstance(recorded, str):
        return recorded
    return v.spec_hash({"data": obj.get("data") or {}, "binaryData": obj.get("binaryData") or {}})


def without_data(obj: KubeObject) -> KubeObject:
    """``obj`` (a Secret or ConfigMap) with its metadata and the hash of its data only: what a
    cache of every Secret and ConfigMap in scope needs to notice changes, without holding their
    content (docs/behavior/templating.md, "What is cached")."""
    if DATA_HASH not in obj:
        obj[DATA_HASH] = data_hash(obj)
    obj.pop("data", None)
    obj.pop("binaryData", None)
    obj.pop("stringData", None)
    return obj


PRESET_DICTIONARY_MAX: Final = 32 * 1024
"""zlib's window: a longer preset dictionary's head would never be used."""


class _Codec:
    """How one store turns objects into bytes and back: compact JSON compressed with zlib at
    level 1 (nearly the ratio of the default level at a third of its cost) against a preset
    dictionary, the JSON of the first object the store was given. Objects of one kind share
    most of their text (field names, annotations, the shape of their status), so each is
    stored as what differs from that first one: about a third of plain zlib's size on upstream's
    varied example APIs (docs/architecture.md, "The cache"). The dictionary never changes once
    chosen, so every stored object stays decodable; an object unlike the first one compresses
    about as it would without it."""

    __slots__ = ("_dictionary",)

    def __init__(self) -> None:
        self._dictionary = b""

    def encode(self, obj: KubeObject) -> bytes:
        text = jsonfast.dumps(obj)
        if not self._dictionary:
            # A copy of its exact size: orjson's own result keeps a buffer of at least 4 KiB.
            self._dictionary = bytes(memoryview(text)[-PRESET_DICTIONARY_MAX:])
        compressor = zlib.compressobj(1, zdict=self._dictionary)
        # Joined into a new bytes of its exact size.
        return compressor.compress(text) + compressor.flush()

    def decode(self, data: bytes) -> KubeObject:
        decompressor = zlib.decompressobj(zdict=self._dictionary)
        obj: KubeObject = jsonfast.loads(decompressor.decompress(data) + decompressor.flush())
        return obj


def resource_version(obj: KubeObject) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _by_namespace(obj: KubeObject) -> Iterable[Hashable]:
    return ((obj.get("metadata") or {}).get("namespace") or "",)


def _nothing(obj: KubeObject) -> None:
    # The namespace is part of the key, so an update at the same key never changes it.
    return None


class _Filed(set[ObjectKey]):
    """The keys filed under one index value, with that value and its 1-tuple kept once: 10,000
    APIs naming the same context share one key object and one tuple instead of holding 10,000
    equal copies (docs/architecture.md, "The cache")."""

    __slots__ = ("alone", "value")

    def __init__(self, value: Hashable) -> None:
        super().__init__()
        self.value = value
        self.alone: tuple[Hashable, ...] = (value,)


class IndexConflictError(ValueError):
    """An index with that name is already registered."""


class Store:
    """Objects of one kind by key, with named indexes kept up to date on every write."""

    def __init__(self, *, shape: Shape | None = None) -> None:
        self._objects: dict[ObjectKey, bytes] = {}
        self._codec = _Codec()
        # derivation -> key -> what it gave for the version stored now (see ``derived``)
        self._derived: dict[Derivation, dict[ObjectKey, Any]] = {}
        self.shape = shape
        """Applied to every object given to ``upsert`` before it is kept and filed."""
        self._index_funcs: dict[str, IndexFunc] = {}
        # index name -> index value -> keys filed under that value
        self._indexes: dict[str, dict[Hashable, _Filed]] = {}
        # index name -> key -> the values that key is filed under (to unfile on update/delete)
        self._filed: dict[str, dict[ObjectKey, tuple[Hashable, ...]]] = {}
        self._index_inputs: dict[str, IndexInput | None] = {}
        self.add_index(NAMESPACE_INDEX, _by_namespace, reads=_nothing)

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, key: object) -> bool:
        return key in self._objects

    def get(self, key: ObjectKey) -> KubeObject | None:
        """A fresh decoded copy of the object, or None."""
        data = self._objects.get(key)
        return None if data is None else self._codec.decode(data)

    def raw(self, key: ObjectKey) -> bytes | None:
        """The stored JSON of the object (for tests and measurements)."""
        return self._objects.get(key)

    def keys(self) -> list[ObjectKey]:
        return list(self._objects)

    def objects(self) -> list[KubeObject]:
        """Every object decoded at once; prefer ``iter_objects`` for large stores."""
        return list(self.iter_objects())

    def iter_objects(self) -> Iterator[KubeObject]:
        """Every object, decoded one at a time from a snapshot taken now."""
        for data in list(self._objects.values()):
            yield self._codec.decode(data)

    def items(self) -> Iterator[tuple[ObjectKey, KubeObject]]:
        """(key, object) pairs, decoded one at a time from a snapshot taken now."""
        for key, data in list(self._objects.items()):
            yield key, self._codec.decode(data)

    def index_names(self) -> list[str]:
        return list(self._index_funcs)

    def add_index(self, name: str, func: IndexFunc, *, reads: IndexInput | None = None) -> None:
        """Register an index and file every object already cached under it.

        ``reads`` (optional) extracts what ``func`` depends on: updates that leave it equal
        keep the filed values, which spares recomputing every index on status and metadata
        writes (most informer events). Without it the values are recomputed on every update.

        Registering the same function under the same name twice is a no-op, so reconcilers
        sharing a store can each ask for the index they need.
        """
        existing = self._index_funcs.get(name)
        if existing is not None:
            if existing is func:
                return
            raise IndexConflictError(f"index {name!r} is already registered")
        self._index_funcs[name] = func
        self._index_inputs[name] = reads
        self._indexes[name] = {}
        self._filed[name] = {}
        for key, obj in self.items():
            self._file(name, func, key, obj)

    def keys_by_index(self, name: str, value: Hashable) -> list[ObjectKey]:
        """Keys of the objects filed under ``value`` in index ``name``."""
        try:
            index = self._indexes[name]
        except KeyError:
            raise KeyError(f"no index named {name!r}") from None
        return sorted(index.get(value, ()))

    def derived(self, key: ObjectKey, derivation: Derivation) -> Any:
        """``derivation(object)`` for the object stored at ``key`` now (None when there is
        none), computed once per stored version: 10,000 APIs listed at start-up ask whether
        their one context is converged, and the context is decoded and hashed once, not 10,000
        times. ``derivation`` must depend on that object alone."""
        values = self._derived.setdefault(derivation, {})
        if key in values:
            return values[key]
        data = self._objects.get(key)
        if data is None:
            return None
        value = values[key] = derivation(self._codec.decode(data))
        return value

    def _forget_derived(self, key: ObjectKey) -> None:
        for values in self._derived.values():
            values.pop(key, None)

    def index_counts(self, name: str) -> dict[Hashable, int]:
        """How many objects are filed under each value of index ``name``: a gauge read at
        every scrape costs one step per distinct value, never a decode."""
        try:
            index = self._indexes[name]
        except KeyError:
            raise KeyError(f"no index named {name!r}") from None
        return {value: len(keys) for value, keys in index.items()}

    def by_index(self, name: str, value: Hashable) -> list[KubeObject]:
        """Objects filed under ``value`` in index ``name``, ordered by key."""
        decode = self._codec.decode
        return [decode(self._objects[key]) for key in self.keys_by_index(name, value)]

    def in_namespace(self, namespace: str) -> list[KubeObject]:
        return self.by_index(NAMESPACE_INDEX, namespace)

    def upsert(self, obj: KubeObject, *, key: ObjectKey | None = None) -> KubeObject | None:
        """Store ``obj`` (after ``shape``, which may change it in place); returns the object it
        replaced, if any. The store keeps an encoded copy: later changes to ``obj`` are not
        seen. ``key``, when the caller has it already, must be ``ObjectKey.of(obj)``: the
        store then keeps that very key object, the one the caller hands on to the handlers."""
        if self.shape is not None:
            obj = self.shape(obj)
        if key is None:
            key = ObjectKey.of(obj)
        previous = self._objects.get(key)
        old = None if previous is None else self._codec.decode(previous)
        self._objects[key] = self._codec.encode(obj)
        self._forget_derived(key)
        for name, func in self._index_funcs.items():
            if old is not None:
                reads = self._index_inputs[name]
                if reads is not None and reads(old) == reads(obj):
                    continue
                self._unfile(name, key)
            self._file(name, func, key, obj)
        return old

    def delete(self, key: ObjectKey) -> KubeObject | None:
        """Forget ``key``; returns the last known object, if any."""
        previous = self._objects.pop(key, None)
        if previous is None:
            return None
        self._forget_derived(key)
        self._unfile_all(key)
        return self._codec.decode(previous)

    def keys_in_scope(self, namespace: str | None) -> set[ObjectKey]:
        """All keys, or those of one namespace (``None`` means every namespace)."""
        if namespace is None:
            return set(self._objects)
        return set(self._indexes[NAMESPACE_INDEX].get(namespace, ()))

    def _file(self, name: str, func: IndexFunc, key: ObjectKey, obj: KubeObject) -> None:
        values = tuple(dict.fromkeys(func(obj)))
        if not values:
            return
        index = self._indexes[name]
        buckets = []
        for value in values:
            bucket = index.get(value)
            if bucket is None:
                bucket = index[value] = _Filed(value)
            bucket.add(key)
            buckets.append(bucket)
        self._filed[name][key] = (
            buckets[0].alone if len(buckets) == 1 else tuple(b.value for b in buckets)
        )

    def _unfile_all(self, key: ObjectKey) -> None:
        for name in self._filed:
            self._unfile(name, key)

    def _unfile(self, name: str, key: ObjectKey) -> None:
        values = self._filed[name].pop(key, ())
        index = self._indexes[name]
        for value in values:
            keys = index.get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index[value]

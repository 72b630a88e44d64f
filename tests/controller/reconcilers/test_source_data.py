"""The bounded cache of source data and the Secret/ConfigMap informer shape (unit level; the
end-to-end behaviour is in tests/integration/test_source_cache.py)."""

from __future__ import annotations

from typing import Any

import pytest

from controller.informers.store import DATA_HASH, Store
from controller.keys import ObjectKey
from controller.reconcilers.support.sources import Loaded, NotLoadedError, SourceData
from controller.reconcilers.support.templating import SourceKind

SECRET: SourceKind = "secret"
A, B, C = ((SECRET, ObjectKey("ns", n)) for n in "abc")


def test_entries_are_bounded_in_bytes_least_recently_read_out_first() -> None:
    data = SourceData(capacity=20)
    data.put(A, "1", {"k": "123456789"})  # 10 bytes
    data.put(B, "1", {"k": "123456789"})
    assert data.get(A, "1") == {"k": "123456789"}  # A is now the most recently read
    data.put(C, "1", {"k": "123456789"})
    assert data.held() == [A, C]
    assert data.size == 20
    data.put(B, "1", {"k": "x" * 100})  # larger than the whole cache: not kept
    assert B not in data
    assert data.size == 20


def test_an_entry_is_only_valid_for_the_version_it_was_read_at() -> None:
    data = SourceData()
    data.put(A, "1", {"k": "v"})
    assert data.get(A, "2") is None
    assert data.get(A, "1") == {"k": "v"}


def test_the_shape_refreshes_held_sources_and_keeps_metadata_only() -> None:
    data = SourceData()
    store = Store(shape=data.shape("secret"))

    def secret(rv: str, value: str, name: str = "a") -> dict[str, Any]:
        return {"metadata": {"namespace": "ns", "name": name, "resourceVersion": rv},
                "data": {"k": value}}

    store.upsert(secret("1", "djE="))
    assert A not in data  # never read: no data kept anywhere
    data.put(A, "1", {"k": "v1"})
    store.upsert(secret("2", "djI="))  # a watched edit of a source that was read
    assert data.get(A, "2") == {"k": "v2"}
    store.upsert(secret("1", "Yg==", name="b"))
    assert B not in data
    for key in (ObjectKey("ns", "a"), ObjectKey("ns", "b")):
        kept = store.get(key)
        assert kept is not None
        assert "data" not in kept
        assert DATA_HASH in kept


def test_a_snapshot_refuses_reads_it_did_not_load() -> None:
    loaded = Loaded({A: {"k": "v"}, B: None})
    assert loaded.secret_data("ns", "a") == {"k": "v"}
    assert loaded.secret_data("ns", "b") is None
    with pytest.raises(NotLoadedError):
        loaded.configmap_data("ns", "a")

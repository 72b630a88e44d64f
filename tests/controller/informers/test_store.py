import json

import pytest

from controller.informers.store import (
    NAMESPACE_INDEX,
    IndexConflictError,
    Store,
)
from controller.keys import ObjectKey

K = ObjectKey.parse


def obj(ns, name, rv="1", context=None):
    o = {"metadata": {"namespace": ns, "name": name, "resourceVersion": rv}, "spec": {}}
    if context:
        o["spec"]["contextRef"] = context
    return o


def by_context(o):
    ref = o["spec"].get("contextRef")
    if ref:
        yield f"{ref.get('namespace') or o['metadata']['namespace']}/{ref['name']}"


def test_keys_for_namespaced_and_cluster_scoped_objects():
    assert ObjectKey.of(obj("ns", "a")) == ObjectKey("ns", "a")
    assert str(ObjectKey.of(obj("ns", "a"))) == "ns/a"
    assert str(ObjectKey.of({"metadata": {"name": "crd"}})) == "crd"
    assert ObjectKey.parse("ns/a") == ("ns", "a")
    assert ObjectKey.parse("crd") == ("", "crd")
    assert ObjectKey.from_ref({"name": "x"}, "ns") == ("ns", "x")
    assert ObjectKey.from_ref({"name": "x", "namespace": "o"}, "ns") == ("o", "x")
    assert ObjectKey.from_ref({}, "ns") is None


def test_upsert_returns_previous_state_and_delete_returns_last_state():
    store = Store()
    first = obj("ns", "a", "1")
    second = obj("ns", "a", "2")
    assert store.upsert(first) is None
    assert store.upsert(second) == first
    assert store.get(K("ns/a")) == second
    assert len(store) == 1
    assert store.delete(K("ns/a")) == second
    assert store.delete(K("ns/a")) is None
    assert K("ns/a") not in store


def test_namespace_index_is_built_in_and_follows_deletes():
    store = Store()
    store.upsert(obj("a", "x"))
    store.upsert(obj("a", "y"))
    store.upsert(obj("b", "z"))
    assert store.keys_by_index(NAMESPACE_INDEX, "a") == [K("a/x"), K("a/y")]
    assert [o["metadata"]["name"] for o in store.in_namespace("b")] == ["z"]
    store.delete(K("a/x"))
    assert store.keys_by_index(NAMESPACE_INDEX, "a") == [K("a/y")]
    assert store.keys_in_scope("a") == {K("a/y")}
    assert store.keys_in_scope(None) == {K("a/y"), K("b/z")}


def test_custom_index_is_refiled_on_update():
    store = Store()
    store.add_index("context", by_context)
    store.upsert(obj("ns", "api1", context={"name": "ctx1"}))
    store.upsert(obj("ns", "api2", context={"name": "ctx1"}))
    store.upsert(obj("other", "api3", context={"name": "ctx1", "namespace": "ns"}))
    assert store.keys_by_index("context", "ns/ctx1") == [
        K("ns/api1"), K("ns/api2"), K("other/api3")
    ]

    store.upsert(obj("ns", "api1", rv="2", context={"name": "ctx2"}))
    assert store.keys_by_index("context", "ns/ctx1") == [K("ns/api2"), K("other/api3")]
    assert store.keys_by_index("context", "ns/ctx2") == [K("ns/api1")]

    store.upsert(obj("ns", "api2", rv="2"))  # reference removed
    store.delete(K("other/api3"))
    assert store.keys_by_index("context", "ns/ctx1") == []
    assert store.by_index("context", "ns/ctx2")[0]["metadata"]["name"] == "api1"


def test_index_added_late_files_existing_objects():
    store = Store()
    store.upsert(obj("ns", "api1", context={"name": "ctx"}))
    store.add_index("context", by_context)
    assert store.keys_by_index("context", "ns/ctx") == [K("ns/api1")]


def test_registering_the_same_index_twice_is_idempotent_but_a_different_one_conflicts():
    store = Store()
    store.add_index("context", by_context)
    store.add_index("context", by_context)
    with pytest.raises(IndexConflictError):
        store.add_index("context", lambda o: ())


def test_unknown_index_is_a_key_error():
    with pytest.raises(KeyError):
        Store().keys_by_index("nope", "x")


def test_index_counts_follow_updates_and_deletes():
    store = Store()
    store.add_index("colour", lambda o: [o["spec"]["colour"]] if o["spec"].get("colour") else [])
    for name, colour in (("a", "red"), ("b", "red"), ("c", "blue"), ("d", None)):
        o = obj("ns", name)
        o["spec"]["colour"] = colour
        store.upsert(o)
    assert store.index_counts("colour") == {"red": 2, "blue": 1}
    moved = obj("ns", "b")
    moved["spec"]["colour"] = "blue"
    store.upsert(moved)
    store.delete(K("ns/a"))
    assert store.index_counts("colour") == {"blue": 2}
    with pytest.raises(KeyError):
        store.index_counts("nope")


def test_multi_valued_index_files_each_value_once():
    store = Store()
    store.add_index("resources", lambda o: [r["ref"] for r in o["spec"].get("resources", [])])
    o = obj("ns", "api")
    o["spec"]["resources"] = [{"ref": "ns/r1"}, {"ref": "ns/r2"}, {"ref": "ns/r1"}]
    store.upsert(o)
    assert store.keys_by_index("resources", "ns/r1") == [K("ns/api")]
    assert store.keys_by_index("resources", "ns/r2") == [K("ns/api")]
    store.delete(K("ns/api"))
    assert store.keys_by_index("resources", "ns/r1") == []


def test_index_with_reads_is_recomputed_only_when_what_it_reads_changes():
    calls = []

    def counting(o):
        calls.append(o["metadata"]["resourceVersion"])
        return by_context(o)

    store = Store()
    store.add_index("context", counting, reads=lambda o: o.get("spec"))
    store.upsert(obj("ns", "api", rv="1", context={"name": "ctx1"}))
    status_write = obj("ns", "api", rv="2", context={"name": "ctx1"})
    status_write["status"] = {"conditions": []}
    store.upsert(status_write)
    assert calls == ["1"]
    assert store.keys_by_index("context", "ns/ctx1") == [K("ns/api")]

    store.upsert(obj("ns", "api", rv="3", context={"name": "ctx2"}))
    assert calls == ["1", "3"]
    assert store.keys_by_index("context", "ns/ctx1") == []
    assert store.keys_by_index("context", "ns/ctx2") == [K("ns/api")]

    store.upsert(obj("ns", "api", rv="4"))  # reference removed: unfiled, nothing refiled
    assert calls == ["1", "3", "4"]
    assert store.keys_by_index("context", "ns/ctx2") == []
    store.delete(K("ns/api"))
    assert store.keys_in_scope("ns") == set()


def test_index_without_reads_is_recomputed_on_every_update():
    calls = []

    def counting(o):
        calls.append(o["metadata"]["resourceVersion"])
        return by_context(o)

    store = Store()
    store.add_index("context", counting)
    store.upsert(obj("ns", "api", rv="1", context={"name": "ctx"}))
    store.upsert(obj("ns", "api", rv="2", context={"name": "ctx"}))
    assert calls == ["1", "2"]


def test_objects_are_kept_as_exact_size_json_and_read_as_fresh_copies():
    """Issue 21: the store keeps each object as compact bytes of exactly their length (not in
    the 4 KiB buffer orjson returns) and hands out a decoded copy per read."""
    import sys

    store = Store()
    original = obj("ns", "a", "1", context={"name": "ctx"})
    store.upsert(original)
    original["spec"]["contextRef"]["name"] = "changed after upsert"
    raw = store.raw(K("ns/a"))
    assert isinstance(raw, bytes)
    assert sys.getsizeof(raw) < len(raw) + 64
    first = store.get(K("ns/a"))
    assert first is not None
    assert first["spec"]["contextRef"] == {"name": "ctx"}  # the caller's later change is not kept
    first["spec"]["contextRef"]["name"] = "changed by a reader"
    assert store.get(K("ns/a")) == obj("ns", "a", "1", context={"name": "ctx"})
    assert [o["metadata"]["name"] for o in store.iter_objects()] == ["a"]
    assert [k for k, _ in store.items()] == [K("ns/a")]


def test_a_shape_decides_what_is_kept_and_events_see_the_same():
    from controller.informers.predicates import data_changed, source_data_hash
    from controller.informers.store import DATA_HASH, without_data

    store = Store(shape=without_data)
    secret = {"metadata": {"namespace": "ns", "name": "s", "resourceVersion": "1"},
              "type": "Opaque", "data": {"password": "c2VjcmV0"}}
    full_hash = source_data_hash(secret)
    given = dict(secret)
    store.upsert(given)
    kept = store.get(K("ns/s"))
    assert kept == {"metadata": secret["metadata"], "type": "Opaque", DATA_HASH: full_hash}
    assert given == kept  # shaped in place: handlers see what the store keeps
    assert "c2VjcmV0" not in json.dumps(store.get(K("ns/s")))
    assert source_data_hash(kept) == full_hash
    edited = {**secret, "data": {"password": "b3RoZXI="}}
    assert data_changed(kept, edited)
    assert not data_changed(kept, dict(secret))


def test_an_index_value_named_by_many_objects_is_kept_once():
    store = Store()
    store.add_index("context", by_context)
    for name in ("a", "b", "c"):
        store.upsert(obj("ns", name, context={"name": "ctx"}))
    filed = [store._filed["context"][K(f"ns/{name}")] for name in ("a", "b", "c")]
    assert filed[0] == ("ns/ctx",)
    assert filed[0] is filed[1] is filed[2]
    assert store.keys_by_index("context", "ns/ctx") == [K("ns/a"), K("ns/b"), K("ns/c")]
    store.delete(K("ns/a"))
    store.delete(K("ns/b"))
    store.delete(K("ns/c"))
    assert store.index_counts("context") == {}


def test_keys_share_one_namespace_string():
    first = ObjectKey.of(json.loads('{"metadata": {"namespace": "team-a", "name": "x"}}'))
    second = ObjectKey.of(json.loads('{"metadata": {"namespace": "team-a", "name": "y"}}'))
    assert first.namespace is second.namespace


def test_objects_like_the_first_are_stored_as_little_more_than_their_differences():
    import zlib

    from controller import jsonfast

    def api(name, path):
        o = obj("team-a", name, rv=str(len(name)), context={"name": "apim"})
        o["metadata"]["annotations"] = {"gravitee.io/last-spec-hash": "9f" * 32}
        o["spec"].update({"listeners": [{"type": "HTTP", "paths": [{"path": path}]}],
                          "plans": {"keyless": {"name": "Free", "security": {"type": "KEY_LESS"}}}})
        o["status"] = {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                                       "message": "Successfully reconciled"}]}
        return o

    store = Store()
    store.upsert(api("first", "/first"))
    second = api("second", "/second")
    store.upsert(second)
    plain = len(zlib.compress(jsonfast.dumps(second), 1))
    stored = store.raw(K("team-a/second"))
    assert stored is not None
    assert len(stored) < plain / 2
    unlike = {"metadata": {"namespace": "other", "name": "unlike"}, "data": {"k": "v" * 300}}
    store.upsert(unlike)
    assert store.get(K("team-a/second")) == second
    assert store.get(K("other/unlike")) == unlike
    assert store.get(K("team-a/first")) == api("first", "/first")


def test_a_derived_value_is_computed_once_per_stored_version():
    store = Store()
    calls = []

    def context_name(o):
        calls.append(o["metadata"]["resourceVersion"])
        return o["spec"]["contextRef"]["name"]

    store.upsert(obj("ns", "api", rv="1", context={"name": "first"}))
    assert [store.derived(K("ns/api"), context_name) for _ in range(3)] == ["first"] * 3
    assert calls == ["1"]
    store.upsert(obj("ns", "api", rv="2", context={"name": "second"}))
    assert store.derived(K("ns/api"), context_name) == "second"
    assert calls == ["1", "2"]
    store.delete(K("ns/api"))
    assert store.derived(K("ns/api"), context_name) is None
    store.upsert(obj("ns", "api", rv="3", context={"name": "third"}))
    assert store.derived(K("ns/api"), context_name) == "third"
    assert calls == ["1", "2", "3"]

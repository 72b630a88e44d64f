"""Narrow unit tests of the emulator's pure parts: selectors, schema, patching, tables, store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sim.kubeapi import patching, schema, tables
from sim.kubeapi.errors import ApiError
from sim.kubeapi.selectors import parse_field_selector, parse_label_selector
from sim.kubeapi.store import ADDED, DELETED, MODIFIED, Store, WatchEvent, project


def obj(name: str, labels: dict[str, str] | None = None, ns: str = "n") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels or {}}}


def test_label_selector_grammar():
    match = parse_label_selector("env in (prod, stage),tier!=db,!legacy,app")
    assert match is not None
    assert match(obj("a", {"env": "prod", "tier": "web", "app": "x"}))
    assert not match(obj("b", {"env": "dev", "tier": "web", "app": "x"}))
    assert not match(obj("c", {"env": "prod", "tier": "db", "app": "x"}))
    assert not match(obj("d", {"env": "prod", "app": "x", "legacy": "1"}))
    assert not match(obj("e", {"env": "prod"}))
    assert parse_label_selector("") is None


def test_bad_selector_is_bad_request():
    with pytest.raises(ApiError) as info:
        parse_field_selector("metadata.name")
    assert info.value.code == 400


def test_field_selector_namespace_and_name():
    match = parse_field_selector("metadata.namespace==n,metadata.name!=x")
    assert match is not None
    assert match(obj("y"))
    assert not match(obj("x"))
    assert not match(obj("y", ns="other"))


SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["mode"],
            "properties": {
                "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                "port": {"x-kubernetes-int-or-string": True},
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"n": {"type": "integer", "default": 3}},
                    },
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "maybe": {"type": "string", "nullable": True},
            },
        }
    },
}


def test_prune_default_validate_roundtrip():
    value: dict[str, Any] = {
        "apiVersion": "x/v1",
        "kind": "K",
        "metadata": {"name": "m"},
        "spec": {
            "items": [{}],
            "junk": 1,
            "labels": {"a": "b"},
            "free": {"x": {"y": 1}},
            "port": "http",
            "maybe": None,
        },
        "extra": True,
    }
    dropped: list[str] = []
    schema.prune(value, SCHEMA, root=True, dropped=dropped)
    assert sorted(dropped) == ["extra", "spec.junk"]
    schema.apply_defaults(value, SCHEMA)
    assert value["spec"]["mode"] == "a"
    assert value["spec"]["items"] == [{"n": 3}]
    assert schema.validate(value, SCHEMA) == []


def test_validation_messages_have_paths():
    value = {"spec": {"mode": "c", "port": 1.5, "labels": {"a": 1}}}
    errors = {e.field: e for e in schema.validate(value, SCHEMA)}
    assert errors["spec.mode"].reason == "FieldValueNotSupported"
    assert errors["spec.mode"].message == 'Unsupported value: "c": supported values: "a", "b"'
    assert "spec.port" in errors
    assert errors["spec.labels.a"].reason == "FieldValueTypeInvalid"
    missing = schema.validate({"spec": {}}, SCHEMA)
    assert [(e.field, e.message) for e in missing] == [("spec.mode", "Required value")]


def test_merge_patch_rfc7386():
    assert patching.merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {
        "a": {"c": 2, "d": 3}
    }
    assert patching.merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}


def test_strategic_merge_directives():
    live = {
        "metadata": {
            "ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}],
            "finalizers": ["x", "y"],
        },
        "data": {"k": "v"},
    }
    patch = {
        "metadata": {
            "ownerReferences": [{"uid": "2", "$patch": "delete"}, {"uid": "3", "name": "c"}],
            "$setElementOrder/ownerReferences": [{"uid": "1"}, {"uid": "3"}],
            "$deleteFromPrimitiveList/finalizers": ["x"],
        },
        "data": {"$patch": "replace", "n": "m"},
    }
    merged = patching.strategic_merge_patch(live, patch)
    assert [r["uid"] for r in merged["metadata"]["ownerReferences"]] == ["1", "3"]
    assert merged["metadata"]["finalizers"] == ["y"]
    assert merged["data"] == {"n": "m"}


def test_json_patch_test_failure_is_invalid():
    with pytest.raises(ApiError) as info:
        patching.json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
    assert info.value.code == 422


def test_apply_patch_removes_fields_dropped_by_the_same_manager():
    live = {
        "metadata": {"name": "x", "labels": {"mine": "1", "theirs": "2"}},
        "spec": {"a": 1, "b": 2, "c": 3},
    }
    previous = {"metadata": {"name": "x", "labels": {"mine": "1"}}, "spec": {"a": 1, "b": 2}}
    applied = {"metadata": {"name": "x"}, "spec": {"a": 5}}
    result = patching.apply_patch(live, applied, previous)
    assert result["spec"] == {"a": 5, "c": 3}
    assert result["metadata"]["labels"] == {"theirs": "2"}


def test_jsonpath_subset():
    value = {
        "status": {
            "conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]
        },
        "spec": {"groups": [{"endpoints": [{"target": "t1"}, {"target": "t2"}]}]},
    }
    assert tables.jsonpath(value, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert tables.jsonpath(value, ".spec.groups[*].endpoints[*].target") == ["t1", "t2"]
    assert tables.jsonpath(value, ".status.conditions[0].type") == ["A"]
    assert tables.jsonpath(value, ".missing.path") == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (125, "2m5s"),
        (600, "10m"),
        (3 * 3600 + 120, "3h2m"),
        (30 * 3600, "30h"),
        (3 * 86400 + 3600, "3d1h"),
        (30 * 86400, "30d"),
        (800 * 86400, "2y70d"),
    ],
)
def test_human_duration(seconds, text):
    assert tables.human_duration(seconds) == text


async def test_store_history_window_and_410():
    store = Store(history=2)
    key = ("", "configmaps")
    first = store.put(key, obj("a"), None)
    store.put(key, obj("b"), None)
    store.put(key, obj("c"), None)
    with pytest.raises(ApiError) as info:
        store.watch(
            key,
            namespace=None,
            matcher=None,
            since_rv=int(first["metadata"]["resourceVersion"]) - 1,
        )
    assert info.value.code == 410
    watcher, backlog = store.watch(
        key, namespace=None, matcher=None, since_rv=int(first["metadata"]["resourceVersion"])
    )
    assert [e.obj["metadata"]["name"] for e in backlog] == ["b", "c"]
    store.remove(key, store.get(key, "n", "b") or {})
    event = await asyncio.wait_for(watcher.queue.get(), 1)
    assert event is not None
    assert event.type == DELETED


def test_projection_through_selector():
    match = parse_label_selector("team=a")
    before, after = obj("x", {"team": "b"}), obj("x", {"team": "a"})
    assert project(WatchEvent(1, ("", "c"), MODIFIED, after, before), match) == ADDED
    assert project(WatchEvent(2, ("", "c"), MODIFIED, before, after), match) == DELETED
    assert project(WatchEvent(3, ("", "c"), MODIFIED, before, before), match) is None
    assert project(WatchEvent(4, ("", "c"), ADDED, after, None), match) == ADDED


def test_watch_event_serialized_once_per_variant():
    event = WatchEvent(1, ("", "c"), ADDED, {"apiVersion": "v1", **obj("x")}, None)
    first = event.wire(ADDED, "v1")
    assert event.wire(ADDED, "v1") is first
    assert b'"apiVersion":"v2"' in event.wire(ADDED, "v2")


async def test_slow_watcher_is_cut_off():
    store = Store(history=10, watch_buffer=2)
    key = ("", "configmaps")
    watcher, _ = store.watch(key, namespace=None, matcher=None, since_rv=0)
    for name in ("a", "b", "c", "d"):
        store.put(key, obj(name), None)
    drained = [watcher.queue.get_nowait() for _ in range(watcher.queue.qsize())]
    assert [e.obj["metadata"]["name"] if e else None for e in drained] == ["a", "b", None]

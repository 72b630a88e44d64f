"""In-process tests of the custom-resource write path: stored versions stay immutable while
new versions share unchanged parts with them, and validation ratchets on updates."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from sim.kubeapi import patching, schema
from sim.kubeapi.app import Emulator
from sim.kubeapi.errors import ApiError
from sim.kubeapi.operations import Operations, new_uid
from sim.kubeapi.resources import ResourceType

MERGE = patching.MERGE_PATCH
NS = "default"


def crd(spec_properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": spec_properties},
                                "status": {
                                    "type": "object",
                                    "properties": {
                                        "phase": {"type": "string"},
                                        "conditions": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "properties": {"type": {"type": "string"}},
                                            },
                                        },
                                    },
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


SPEC = {
    "name": {"type": "string"},
    "size": {"type": "integer"},
    "nested": {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
    },
}


class Cluster:
    def __init__(self) -> None:
        self.ops: Operations = Emulator().ops
        self.install(SPEC)

    def install(self, spec_properties: dict[str, Any]) -> None:
        crds = self.ops.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert crds is not None
        body = crd(spec_properties)
        existing = self.ops.store.get(crds.key, "", body["metadata"]["name"])
        if existing is None:
            self.ops.create(crds, "", body)
        else:
            body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            self.ops.update(crds, "", body["metadata"]["name"], body)

    @property
    def rt(self) -> ResourceType:
        rt = self.ops.registry.get("example.com", "v1", "gadgets")
        assert rt is not None
        return rt

    def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": name}}
        return self.ops.create(self.rt, NS, {**body, "spec": spec}).obj

    def patch(self, name: str, doc: dict[str, Any], status: bool = False) -> dict[str, Any]:
        subresource = "status" if status else None
        return self.ops.patch(self.rt, NS, name, MERGE, doc, subresource=subresource).obj


@pytest.fixture
def cluster() -> Cluster:
    return Cluster()


def frozen(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


def causes(info: pytest.ExceptionInfo[ApiError]) -> list[tuple[str, str]]:
    details = info.value.details or {}
    return [(c["field"], c["message"]) for c in details["causes"]]


def test_patches_never_change_earlier_versions(cluster: Cluster):
    v1 = cluster.create("g", {"name": "a", "size": 1, "nested": {"tags": ["x"]}})
    snapshot = frozen(v1)
    v2 = cluster.patch("g", {"metadata": {"labels": {"k": "v"}, "finalizers": ["example.com/f"]}})
    v3 = cluster.patch("g", {"status": {"phase": "Ready", "conditions": [{"type": "A"}]}}, True)
    v4 = cluster.patch("g", {"spec": {"nested": {"tags": ["x", "y"]}, "size": 2}})
    v5 = cluster.patch("g", {"status": {"conditions": [{"type": "B"}]}}, True)
    assert frozen(v1) == snapshot
    assert v2["metadata"]["labels"] == {"k": "v"}
    assert "labels" not in v1["metadata"]
    assert v3["status"] == {"phase": "Ready", "conditions": [{"type": "A"}]}
    assert "status" not in v2
    assert v4["spec"]["nested"]["tags"] == ["x", "y"]
    assert v3["spec"]["nested"]["tags"] == ["x"]
    assert v4["metadata"]["generation"] == 2
    assert v3["metadata"]["generation"] == 1
    assert v5["status"]["conditions"] == [{"type": "B"}]
    assert v4["status"]["conditions"] == [{"type": "A"}]
    versions = [int(v["metadata"]["resourceVersion"]) for v in (v1, v2, v3, v4, v5)]
    assert versions == sorted(versions)
    assert len(set(versions)) == 5
    _, backlog = cluster.ops.store.watch(
        cluster.rt.key, namespace=NS, matcher=None, since_rv=versions[0] - 1
    )
    assert [e.obj["metadata"]["resourceVersion"] for e in backlog] == [str(v) for v in versions]
    assert frozen(backlog[0].obj) == snapshot


def test_a_later_schema_default_or_prune_does_not_touch_the_stored_object(cluster: Cluster):
    v1 = cluster.create("g", {"name": "a", "size": 1, "nested": {"tags": ["x"]}})
    snapshot = frozen(v1)
    cluster.install(
        {
            "name": {"type": "string"},
            "nested": {
                "type": "object",
                "properties": {"mode": {"type": "string", "default": "auto"}},
            },
        }
    )
    v2 = cluster.patch("g", {"status": {"phase": "Ready"}}, True)
    # The status write re-admits the spec under the new schema: pruned and defaulted...
    assert v2["spec"] == {"name": "a", "nested": {"mode": "auto"}}
    # ...in a copy, never in the stored version it came from.
    assert frozen(v1) == snapshot


def test_dry_run_patch_leaves_the_stored_object_alone(cluster: Cluster):
    v1 = cluster.create("g", {"name": "a", "nested": {"tags": ["x"]}})
    snapshot = frozen(v1)
    result = cluster.ops.patch(
        cluster.rt, NS, "g", MERGE, {"spec": {"nested": {"tags": ["z"]}}}, dry_run=True
    )
    assert result.obj["spec"]["nested"]["tags"] == ["z"]
    assert frozen(cluster.ops.get(cluster.rt, NS, "g")) == snapshot


def test_unchanged_invalid_field_is_ratcheted(cluster: Cluster):
    cluster.create("g", {"name": "much-too-long", "size": 7})
    cluster.install(
        {"name": {"type": "string", "maxLength": 4}, "size": {"type": "integer", "maximum": 5}}
    )
    # Writes that leave the now-invalid fields alone are accepted.
    cluster.patch("g", {"metadata": {"labels": {"k": "v"}}})
    cluster.patch("g", {"status": {"phase": "Ready"}}, True)
    after = cluster.patch("g", {"spec": {"size": 5}})
    assert after["spec"] == {"name": "much-too-long", "size": 5}
    # Changing an invalid field validates it as usual.
    with pytest.raises(ApiError) as info:
        cluster.patch("g", {"spec": {"name": "still-too-long"}})
    assert causes(info) == [("spec.name", "Too long: may not be more than 4 bytes")]


def test_ratcheting_compares_json_types_strictly(cluster: Cluster):
    cluster.create("g", {"size": 7})
    cluster.install({"size": {"type": "integer", "maximum": 5}})
    # 7.0 == 7 in Python, but it is a different JSON value: validated, not ratcheted.
    with pytest.raises(ApiError) as info:
        cluster.patch("g", {"spec": {"size": 7.0}})
    assert causes(info) == [
        ("spec.size", "Invalid value: 7.0: spec.size in body should be less than or equal to 5")
    ]


def test_create_validates_everything(cluster: Cluster):
    cluster.install({"name": {"type": "string", "maxLength": 4}})
    with pytest.raises(ApiError) as info:
        cluster.create("g", {"name": "much-too-long"})
    assert causes(info) == [("spec.name", "Too long: may not be more than 4 bytes")]


def test_one_walk_equals_prune_then_defaults_and_leaves_nested_input_alone():
    sch = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"n": {"type": "integer", "default": 3}},
                        },
                    },
                    "mode": {"type": "string", "default": "a"},
                },
            }
        },
    }
    value = {"metadata": {"name": "m"}, "spec": {"items": [{"junk": 1}, {"n": 1}]}, "x": 1}
    spec_before = copy.deepcopy(value["spec"])
    original_spec = value["spec"]
    two_walks = copy.deepcopy(value)
    dropped_two: list[str] = []
    schema.prune(two_walks, sch, root=True, dropped=dropped_two)
    schema.apply_defaults(two_walks, sch)
    dropped_one: list[str] = []
    result = schema.prune_and_default(value, sch, dropped=dropped_one)
    assert result is value
    assert json.dumps(value) == json.dumps(two_walks)
    assert dropped_one == dropped_two == ["spec.items[0].junk", "x"]
    assert value["spec"] == {"items": [{"n": 3}, {"n": 1}], "mode": "a"}
    assert original_spec == spec_before


def test_a_default_with_unknown_fields_loses_them_on_the_next_write(cluster: Cluster):
    # Defaults are filled after pruning, so such a default survives its first write only;
    # skipping already-admitted values must not change that.
    cluster.install(
        {
            "name": {"type": "string"},
            "extra": {
                "type": "object",
                "properties": {"a": {"type": "integer"}},
                "default": {"a": 1, "junk": 2},
            },
        }
    )
    created = cluster.ops.create(cluster.rt, NS, {"metadata": {"name": "g"}, "spec": {"name": "n"}})
    assert created.obj["spec"]["extra"] == {"a": 1, "junk": 2}
    assert created.warnings == ()
    patched = cluster.ops.patch(cluster.rt, NS, "g", MERGE, {"metadata": {"labels": {"k": "v"}}})
    assert patched.obj["spec"]["extra"] == {"a": 1}
    assert patched.warnings == ('unknown field "spec.extra.junk"',)


def test_uids_are_random_version_4_uuids():
    uids = {new_uid() for _ in range(2000)}
    assert len(uids) == 2000
    for uid in uids:
        parsed = uuid.UUID(uid)
        assert str(parsed) == uid
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    # All four variant nibbles occur, so the randomness there is kept.
    assert {uid[19] for uid in uids} == set("89ab")

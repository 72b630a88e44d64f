"""The pure drift comparison (docs/behavior/drift.md#what-counts): owned fields only, the
normalisations APIM makes, paths without values."""

from __future__ import annotations

from typing import Any

from controller.reconcilers.support.drift import DELETED, compare, summarize

V4 = "ApiV4Definition"


def test_identical_copies_do_not_drift():
    sent = {"name": "a", "listeners": [{"type": "HTTP", "paths": [{"path": "/a"}]}]}
    assert compare(V4, sent, sent) == []


def test_fields_apim_adds_are_not_drift():
    sent = {"name": "a", "plans": [{"hrid": "free", "name": "Free"}]}
    remote = {
        "name": "a", "id": "123", "createdAt": "2026-01-01", "deployedAt": 1,
        "plans": [{"hrid": "free", "name": "Free", "id": "p1", "validation": "AUTO"}],
    }
    assert compare(V4, sent, remote) == []


def test_apim_owned_fields_that_were_sent_are_not_drift():
    sent = {"id": "local", "crossId": "x", "notifyMembers": True, "name": "a",
            "plans": [{"hrid": "free", "id": "mine"}]}
    remote = {"id": "theirs", "crossId": "y", "name": "a", "plans": [{"hrid": "free", "id": "p"}]}
    assert compare(V4, sent, remote) == []


def test_a_changed_field_is_named_by_its_path():
    sent = {"description": "cluster", "endpointGroups": [
        {"name": "default", "endpoints": [{"name": "e", "configuration": {"target": "a"}}]}]}
    remote = {"description": "console", "endpointGroups": [
        {"name": "default", "endpoints": [{"name": "e", "configuration": {"target": "b"}}]}]}
    assert compare(V4, sent, remote) == [
        "description", "endpointGroups[default].endpoints[e].configuration.target",
    ]


def test_paths_never_carry_values():
    sent = {"headers": [{"name": "Authorization", "value": "secret-one"}]}
    remote = {"headers": [{"name": "Authorization", "value": "secret-two"}]}
    paths = compare(V4, sent, remote)
    assert paths == ["headers[Authorization].value"]
    assert "secret" not in summarize(paths)


def test_missing_null_and_empty_are_the_same_value():
    sent: dict[str, Any] = {"tags": None, "description": "", "properties": {}, "labels": []}
    assert compare(V4, sent, {}) == []


def test_an_empty_list_sent_says_none():
    assert compare(V4, {"groups": []}, {"groups": ["console-group"]}) == ["groups"]


def test_scalar_lists_are_sets_and_enums_ignore_case():
    sent = {"tags": ["b", "a"], "state": "started", "methods": ["get", "post"]}
    remote = {"tags": ["a", "b"], "state": "STARTED", "methods": ["POST", "GET"]}
    assert compare(V4, sent, remote) == []
    assert compare(V4, {"tags": ["a"]}, {"tags": ["a", "c"]}) == ["tags"]


def test_free_text_keeps_its_case():
    assert compare(V4, {"description": "Hello world"}, {"description": "hello world"}) == [
        "description"
    ]


def test_lists_of_objects_match_by_identity_wherever_apim_puts_them():
    sent = {"plans": [{"hrid": "a", "name": "A"}, {"hrid": "b", "name": "B"}]}
    remote = {"plans": [{"hrid": "b", "name": "B"}, {"hrid": "a", "name": "A"}]}
    assert compare(V4, sent, remote) == []
    assert compare(V4, sent, {"plans": [{"hrid": "a", "name": "A"}]}) == ["plans[b]"]


def test_lists_without_identity_are_compared_in_order():
    steps = [{"policy": "rate-limit"}, {"policy": "transform-headers"}]
    assert compare(V4, {"steps": steps}, {"steps": steps[::-1]}) == [
        "steps[0].policy", "steps[1].policy",
    ]
    assert compare(V4, {"steps": steps}, {"steps": steps[:1]}) == ["steps"]


def test_numbers_compare_by_value_and_booleans_strictly():
    assert compare(V4, {"limit": 10}, {"limit": 10.0}) == []
    assert compare(V4, {"enabled": True}, {"enabled": "true"}) == ["enabled"]
    assert compare(V4, {"enabled": 1}, {"enabled": True}) == ["enabled"]


def test_a_deleted_object_is_one_difference():
    assert compare(V4, {"name": "a"}, None) == [DELETED]
    assert summarize([DELETED]) == "the object was deleted in APIM"


def test_summary_is_short():
    paths = [f"f{i}" for i in range(12)]
    assert summarize(paths) == "12 fields differ in APIM: f0, f1, f2, f3, f4, f5, f6, f7 and 4 more"
    assert summarize(["a"]) == "1 field differs in APIM: a"


def test_v2_pages_are_not_compared():
    assert compare("ApiDefinition", {"pages": {"a": {"name": "x"}}}, {}) == []

"""Contract: CRD structural schemas prune unknown fields, fill defaults, reject invalid data."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from kubernetes_asyncio.client.rest import ApiException

from tests.sim.kubeapi.conftest import GROUP, VERSION, Target

MERGE = "application/merge-patch+json"


async def test_unknown_fields_are_pruned(target: Target):
    created = await target.create_widget("w", bogus="x", config={"free": {"form": 1}})
    assert "bogus" not in created["spec"]
    assert created["spec"]["config"] == {"free": {"form": 1}}


async def test_defaults_are_filled(target: Target):
    created = await target.create_widget("w", parts=[{"name": "p"}])
    assert created["spec"]["size"] == 1
    assert created["spec"]["mode"] == "auto"
    assert created["spec"]["parts"] == [{"name": "p", "count": 1}]


async def test_missing_required_field_is_invalid_with_path(target: Target):
    body = target.widget("w")
    del body["spec"]["color"]
    with pytest.raises(ApiException) as info:
        await target.custom.create_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", body
        )
    assert info.value.status == 422
    status = json.loads(info.value.body or b"{}")
    assert status["reason"] == "Invalid"
    fields = [c["field"] for c in status["details"]["causes"]]
    assert "spec.color" in fields
    assert "spec.color: Required value" in status["message"]


async def test_enum_violation_is_invalid(target: Target):
    with pytest.raises(ApiException) as info:
        await target.create_widget("w", color="purple")
    assert info.value.status == 422
    status = json.loads(info.value.body or b"{}")
    causes = status["details"]["causes"]
    assert causes[0]["field"] == "spec.color"
    assert causes[0]["reason"] == "FieldValueNotSupported"
    assert 'Unsupported value: "purple"' in status["message"]


async def test_type_and_minimum_violations(target: Target):
    with pytest.raises(ApiException) as info:
        await target.create_widget("w", size="big")
    assert info.value.status == 422
    assert "spec.size" in [
        c["field"] for c in json.loads(info.value.body or b"{}")["details"]["causes"]
    ]
    with pytest.raises(ApiException) as info:
        await target.create_widget("w", size=-1)
    assert info.value.status == 422


async def test_nested_required_in_list_has_indexed_path(target: Target):
    with pytest.raises(ApiException) as info:
        await target.create_widget("w", parts=[{"name": "ok"}, {"count": 2}])
    assert info.value.status == 422
    fields = [c["field"] for c in json.loads(info.value.body or b"{}")["details"]["causes"]]
    assert "spec.parts[1].name" in fields


async def test_invalid_patch_is_rejected_and_object_unchanged(target: Target):
    await target.create_widget("w")
    with pytest.raises(ApiException) as info:
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w",
            {"spec": {"color": "pink"}},
            _content_type=MERGE,
        )
    assert info.value.status == 422
    assert (await target.get_widget("w"))["spec"]["color"] == "red"


def warning_texts(response: Any) -> list[str]:
    """The texts of a response's ``299`` warnings, however the server splits them in headers."""
    joined = ", ".join(response.headers.getall("Warning", []))
    return [json.loads(text) for text in re.findall(r'299 - ("(?:[^"\\]|\\.)*")', joined)]


async def test_metadata_validation(target: Target):
    body = target.widget("w")
    body["metadata"]["labels"] = {"team": "x" * 64}
    with pytest.raises(ApiException) as info:
        await target.custom.create_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", body
        )
    assert info.value.status == 422
    status = json.loads(info.value.body or b"{}")
    assert status["details"]["causes"][0]["field"] == "metadata.labels"
    assert "must be no more than 63 bytes" in status["message"]

    # Built-in kinds refuse a finalizer name that is neither standard nor domain-qualified...
    with pytest.raises(ApiException) as info:
        await target.core.create_namespaced_config_map(
            target.namespace, {"metadata": {"name": "c", "finalizers": ["unqualified"]}}
        )
    assert info.value.status == 422
    assert "fully qualified" in json.loads(info.value.body or b"{}")["message"]
    # ...custom resources take it with a warning (apiextensions validates only the syntax).
    body = target.widget("unqualified")
    body["metadata"]["finalizers"] = ["zz", "unqualified", "dotted.name", "zz", "a.io/ok"]
    response = await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", body, _preload_content=False
    )
    assert response.status == 201
    # One per distinct name, sorted (the server collects them in a set).
    assert warning_texts(response) == [
        'metadata.finalizers: "dotted.name": prefer a domain-qualified finalizer name including '
        "a path (/) to avoid accidental conflicts with other finalizer writers",
        'metadata.finalizers: "unqualified": prefer a domain-qualified finalizer name to avoid '
        "accidental conflicts with other finalizer writers",
        'metadata.finalizers: "zz": prefer a domain-qualified finalizer name to avoid '
        "accidental conflicts with other finalizer writers",
    ]
    # An update warns only about the names it adds.
    response = await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "unqualified",
        {"metadata": {"finalizers": ["zz", "unqualified", "dotted.name", "new"]}},
        _content_type=MERGE,
        _preload_content=False,
    )
    assert response.status == 200
    assert warning_texts(response) == [
        'metadata.finalizers: "new": prefer a domain-qualified finalizer name to avoid '
        "accidental conflicts with other finalizer writers",
    ]
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "unqualified",
        {"metadata": {"finalizers": None}},
        _content_type=MERGE,
    )
    body = target.widget("w")
    body["metadata"]["finalizers"] = ["a/b/c"]
    with pytest.raises(ApiException) as info:
        await target.custom.create_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", body
        )
    assert info.value.status == 422

    body = target.widget("w")
    body["metadata"]["labels"] = {"example.com/team": "a-b_c.d", "empty": ""}
    body["metadata"]["finalizers"] = ["example.com/cleanup"]
    created = await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", body
    )
    assert created["metadata"]["labels"]["empty"] == ""
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"metadata": {"finalizers": None}},
        _content_type=MERGE,
    )

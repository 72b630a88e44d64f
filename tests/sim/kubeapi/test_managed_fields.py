"""Contract: writes record ``metadata.managedFields`` (manager, operation, apiVersion, time,
FieldsV1), on the emulator as on a real API server. Only what both agree on is asserted: the
emulator's field sets approximate the real ones (sim/kubeapi/managed.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sim.kubeapi.conftest import GROUP, VERSION, Target

pytestmark = pytest.mark.asyncio


def _entries(obj: dict[str, Any]) -> dict[tuple[str, str, str | None], dict[str, Any]]:
    return {(e["manager"], e["operation"], e.get("subresource")): e
            for e in obj["metadata"].get("managedFields") or []}


async def _request(target: Target, method: str, path: str, body: Any, *, user_agent: str,
                   content_type: str = "application/json", query: str = "") -> dict[str, Any]:
    """One write through the test's client, sent with ``user_agent``."""
    target.api.user_agent = user_agent
    params = [tuple(pair.split("=", 1)) for pair in query.lstrip("?").split("&") if pair]
    response = await target.api.call_api(
        path,
        method,
        query_params=params,
        header_params={"Content-Type": content_type, "Accept": "application/json"},
        body=body,
        response_types_map={200: "object", 201: "object"},
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
    )
    return dict(response)


async def test_create_update_and_apply_record_their_managers(target: Target) -> None:
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{target.namespace}/widgets"
    widget = target.widget("tracked", size=3)
    widget["metadata"]["labels"] = {"team": "a"}
    created = await _request(target, "POST", base, widget, user_agent="creator/1.0 (test)")
    entry = _entries(created)[("creator", "Update", None)]
    assert entry["apiVersion"] == f"{GROUP}/{VERSION}"
    assert entry["fieldsType"] == "FieldsV1"
    assert entry["time"]
    fields = entry["fieldsV1"]
    assert set(fields["f:spec"]) >= {"f:color", "f:size"}
    assert "f:team" in fields["f:metadata"]["f:labels"]

    patched = await _request(
        target, "PATCH", f"{base}/tracked", {"spec": {"color": "blue"}},
        user_agent="creator/1.0", content_type="application/merge-patch+json",
        query="?fieldManager=painter",
    )
    entries = _entries(patched)
    assert "f:color" in entries[("painter", "Update", None)]["fieldsV1"]["f:spec"]
    # The field changed hands: the creator no longer owns it, and still owns the rest.
    assert "f:color" not in entries[("creator", "Update", None)]["fieldsV1"]["f:spec"]
    assert "f:size" in entries[("creator", "Update", None)]["fieldsV1"]["f:spec"]

    applied = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget",
               "metadata": {"name": "tracked"}, "spec": {"size": 5}}
    result = await _request(
        target, "PATCH", f"{base}/tracked", applied, user_agent="whatever/1",
        content_type="application/apply-patch+yaml", query="?fieldManager=applier&force=true",
    )
    entries = _entries(result)
    assert "f:size" in entries[("applier", "Apply", None)]["fieldsV1"]["f:spec"]

    status = await _request(
        target, "PATCH", f"{base}/tracked/status", {"status": {"phase": "Ready"}},
        user_agent="reporter/2.0", content_type="application/merge-patch+json",
    )
    entry = _entries(status)[("reporter", "Update", "status")]
    assert "f:phase" in entry["fieldsV1"]["f:status"]


async def test_a_write_that_changes_nothing_keeps_the_entries(target: Target) -> None:
    base = f"/api/v1/namespaces/{target.namespace}/configmaps"
    created = await _request(
        target, "POST", base,
        {"metadata": {"name": "same"}, "data": {"a": "1"}}, user_agent="maker/1",
    )
    again = await _request(
        target, "PATCH", f"{base}/same", {"data": {"a": "1"}}, user_agent="other/1",
        content_type="application/merge-patch+json",
    )
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert again["metadata"]["managedFields"] == created["metadata"]["managedFields"]

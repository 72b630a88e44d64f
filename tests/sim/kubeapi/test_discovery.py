"""Contract: discovery documents, CRD registration and removal, error shapes, OpenAPI."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.rest import ApiException

from sim.kubeapi.testing import RunningEmulator
from tests.sim.kubeapi.conftest import (
    GROUP,
    VERSION,
    WIDGET_CRD_DOCS,
    Target,
    register_crds,
    wait_for,
)


async def _get(target: Target, path: str) -> Any:
    response = await target.api.call_api(
        path,
        "GET",
        response_types_map={200: "object"},
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
    )
    return dict(response)


async def test_version_and_core_discovery(target: Target):
    version = await k8s.VersionApi(target.api).get_code()
    assert version.major == "1"
    api = await _get(target, "/api")
    assert "v1" in api["versions"]
    core = await _get(target, "/api/v1")
    names = {r["name"]: r for r in core["resources"]}
    for plural in ("namespaces", "configmaps", "secrets", "events", "serviceaccounts"):
        assert plural in names
    assert names["configmaps"]["namespaced"] is True
    assert names["namespaces"]["namespaced"] is False
    assert "watch" in names["configmaps"]["verbs"]


async def test_group_discovery_includes_crd_resources(target: Target):
    groups = await _get(target, "/apis")
    by_name = {g["name"]: g for g in groups["groups"]}
    for group in (GROUP, "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"):
        assert group in by_name
    resources = await _get(target, f"/apis/{GROUP}/{VERSION}")
    names = {r["name"]: r for r in resources["resources"]}
    assert names["widgets"]["kind"] == "Widget"
    assert names["widgets"]["shortNames"] == ["wdg"]
    assert names["widgets"]["singularName"] == "widget"
    assert "widgets/status" in names
    assert names["gadgets"]["namespaced"] is False
    group_doc = await _get(target, f"/apis/{GROUP}")
    assert group_doc["preferredVersion"]["version"] == VERSION


async def test_crd_gets_established(target: Target):
    crd = await k8s.ApiextensionsV1Api(target.api).read_custom_resource_definition(
        f"widgets.{GROUP}"
    )
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions["Established"] == "True"
    assert crd.status.accepted_names.kind == "Widget"


async def test_deleting_crd_removes_its_resources(target: Target):
    # A CRD of this test's own (the Widget schema under another name), so that deleting it
    # disturbs no other test, on the emulator or on a real server: the clean-up of a deleted
    # CRD's objects runs inside kube-apiserver itself (apiextensions), no controller-manager.
    crd = copy.deepcopy(WIDGET_CRD_DOCS[0])
    suffix = uuid.uuid4().hex[:6]
    plural = f"gadgets{suffix}"
    crd["metadata"]["name"] = f"{plural}.{GROUP}"
    crd["spec"]["names"] = {
        "plural": plural,
        "singular": f"gadget{suffix}",
        "kind": f"Gadget{suffix}",
        "listKind": f"Gadget{suffix}List",
    }
    await register_crds(target.api, [crd])
    ext = k8s.ApiextensionsV1Api(target.api)
    body = target.widget("w")
    body["kind"] = crd["spec"]["names"]["kind"]
    await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, plural, body
    )
    await ext.delete_custom_resource_definition(crd["metadata"]["name"])

    async def unserved() -> bool:
        try:
            await target.custom.list_namespaced_custom_object(
                GROUP, VERSION, target.namespace, plural
            )
        except ApiException as exc:
            return exc.status == 404
        return False

    await wait_for(unserved, timeout=30)

    async def crd_gone() -> bool:
        try:
            await ext.read_custom_resource_definition(crd["metadata"]["name"])
        except ApiException as exc:
            return exc.status == 404
        return False

    await wait_for(crd_gone, timeout=30)
    resources = await _get(target, f"/apis/{GROUP}/{VERSION}")
    assert plural not in {r["name"] for r in resources["resources"]}
    assert "widgets" in {r["name"] for r in resources["resources"]}


async def test_status_objects_carry_reason_and_details(target: Target):
    with pytest.raises(ApiException) as info:
        await target.core.read_namespaced_config_map("nope", target.namespace)
    status = json.loads(info.value.body or b"{}")
    assert status["kind"] == "Status"
    assert status["status"] == "Failure"
    assert status["reason"] == "NotFound"
    assert status["code"] == 404
    assert status["details"] == {"name": "nope", "kind": "configmaps"}
    assert status["message"] == 'configmaps "nope" not found'


async def test_unknown_resource_is_not_found(target: Target):
    with pytest.raises(ApiException) as info:
        await target.custom.list_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "doohickeys"
        )
    assert info.value.status == 404


async def test_openapi_documents(target: Target):
    index = await _get(target, "/openapi/v3")
    assert f"apis/{GROUP}/{VERSION}" in index["paths"]
    v2 = await _get(target, "/openapi/v2")
    assert v2["swagger"] == "2.0"


async def test_method_not_allowed(target: Target):
    path = f"/api/v1/namespaces/{target.namespace}/configmaps"
    await target.core.create_namespaced_config_map(target.namespace, {"metadata": {"name": "c"}})
    with pytest.raises(ApiException) as info:
        await target.api.call_api(
            f"{path}/c",
            "POST",
            body={"metadata": {"name": "c"}},
            header_params={"Content-Type": "application/json", "Accept": "application/json"},
            response_types_map={200: "object"},
            auth_settings=["BearerToken"],
        )
    assert info.value.status == 405
    assert json.loads(info.value.body or b"{}")["reason"] == "MethodNotAllowed"


async def test_unsupported_patch_type(emulator_only: RunningEmulator, target: Target):
    # kubernetes-asyncio refuses to send unknown patch types, so this talks HTTP directly.
    import aiohttp

    await target.core.create_namespaced_config_map(target.namespace, {"metadata": {"name": "c"}})
    url = f"{emulator_only.url}/api/v1/namespaces/{target.namespace}/configmaps/c"
    async with (
        aiohttp.ClientSession() as session,
        session.patch(
            url, data=b"{}", headers={"Content-Type": "application/x-unknown-patch"}
        ) as response,
    ):
        assert response.status == 415
        assert (await response.json())["reason"] == "UnsupportedMediaType"

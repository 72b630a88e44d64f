"""Contract: networking.k8s.io/v1 Ingress (namespaced, status subresource) and IngressClass
(cluster-scoped), and the Service fields the Ingress controller reads (cluster IP, load balancer
status): discovery, CRUD, validation, status split, watch."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.rest import ApiException

from tests.sim.kubeapi.conftest import Target
from tests.sim.kubeapi.watching import RawWatch, summary

MERGE = "application/merge-patch+json"


def _networking(target: Target) -> Any:
    return k8s.NetworkingV1Api(target.api)


async def _json(call: Any) -> dict[str, Any]:
    response = await call
    body: dict[str, Any] = json.loads(await response.read())
    return body


def _ingress(name: str, *, path_type: str | None = "Prefix", **extra: Any) -> dict[str, Any]:
    path: dict[str, Any] = {
        "path": "/api",
        "backend": {"service": {"name": "httpbin", "port": {"number": 8080}}},
    }
    if path_type is not None:
        path["pathType"] = path_type
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name},
        "spec": {
            "ingressClassName": "graviteeio",
            "rules": [{"host": "a.example.com", "http": {"paths": [path]}}],
        },
        **extra,
    }


async def _discovery(target: Target, path: str) -> dict[str, Any]:
    response = await target.api.call_api(
        path, "GET", response_types_map={200: "object"}, auth_settings=["BearerToken"],
        _return_http_data_only=True,
    )
    return dict(response)


async def test_networking_discovery(target: Target):
    groups = await _discovery(target, "/apis")
    networking = next(g for g in groups["groups"] if g["name"] == "networking.k8s.io")
    assert networking["preferredVersion"]["groupVersion"] == "networking.k8s.io/v1"
    resources = {r["name"]: r for r in
                 (await _discovery(target, "/apis/networking.k8s.io/v1"))["resources"]}
    assert resources["ingresses"]["namespaced"] is True
    assert resources["ingresses"]["kind"] == "Ingress"
    assert "ing" in resources["ingresses"]["shortNames"]
    assert set(resources["ingresses/status"]["verbs"]) == {"get", "patch", "update"}
    assert resources["ingressclasses"]["namespaced"] is False
    assert resources["ingressclasses"]["kind"] == "IngressClass"
    assert "ingressclasses/status" not in resources
    core = {r["name"]: r for r in (await _discovery(target, "/api/v1"))["resources"]}
    assert core["services"]["namespaced"] is True
    assert "services/status" in core


async def test_ingress_create_sets_generation_and_empty_status(target: Target):
    body = _ingress("web", status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}})
    created = await _json(_networking(target).create_namespaced_ingress(
        target.namespace, body, _preload_content=False))
    assert created["metadata"]["generation"] == 1
    assert created["status"] == {"loadBalancer": {}}
    assert created["spec"]["rules"][0]["http"]["paths"][0]["pathType"] == "Prefix"


async def test_ingress_status_subresource_split(target: Target):
    api = _networking(target)
    await api.create_namespaced_ingress(target.namespace, _ingress("web"))
    # Status sent to the main resource is ignored; a spec change bumps the generation.
    patched = await _json(api.patch_namespaced_ingress(
        "web", target.namespace,
        {"spec": {"ingressClassName": "other"},
         "status": {"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}]}}},
        _content_type=MERGE, _preload_content=False))
    assert patched["metadata"]["generation"] == 2
    assert patched["status"] == {"loadBalancer": {}}
    # /status changes the status only, without touching the generation.
    status = await _json(api.patch_namespaced_ingress_status(
        "web", target.namespace,
        {"spec": {"ingressClassName": "ignored"},
         "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.7"}]}}},
        _content_type=MERGE, _preload_content=False))
    assert status["status"]["loadBalancer"]["ingress"] == [{"ip": "10.0.0.7"}]
    assert status["spec"]["ingressClassName"] == "other"
    assert status["metadata"]["generation"] == 2
    # Metadata-only writes keep the generation.
    labelled = await _json(api.patch_namespaced_ingress(
        "web", target.namespace, {"metadata": {"finalizers": ["example.com/keep"]}},
        _content_type=MERGE, _preload_content=False))
    assert labelled["metadata"]["generation"] == 2
    assert labelled["status"]["loadBalancer"]["ingress"] == [{"ip": "10.0.0.7"}]
    await api.patch_namespaced_ingress(
        "web", target.namespace, {"metadata": {"finalizers": None}}, _content_type=MERGE)


@pytest.mark.parametrize(
    ("path_type", "field"),
    [(None, "spec.rules[0].http.paths[0].pathType"),
     ("Sometimes", "spec.rules[0].http.paths[0].pathType")],
)
async def test_ingress_path_type_is_validated(target: Target, path_type: str | None, field: str):
    with pytest.raises(ApiException) as caught:
        await _networking(target).create_namespaced_ingress(
            target.namespace, _ingress("bad", path_type=path_type))
    assert caught.value.status == 422
    body = json.loads(caught.value.body or b"{}")
    assert body["reason"] == "Invalid"
    assert field in [cause["field"] for cause in body["details"]["causes"]]


async def test_ingress_prefix_path_must_be_absolute(target: Target):
    body = _ingress("bad")
    body["spec"]["rules"][0]["http"]["paths"][0]["path"] = "relative"
    with pytest.raises(ApiException) as caught:
        await _networking(target).create_namespaced_ingress(target.namespace, body)
    assert caught.value.status == 422
    causes = json.loads(caught.value.body or b"{}")["details"]["causes"]
    assert "spec.rules[0].http.paths[0].path" in [cause["field"] for cause in causes]


async def test_ingress_watch_and_delete(target: Target):
    api = _networking(target)
    response = await api.list_namespaced_ingress(
        target.namespace, watch=True, _preload_content=False)
    stream = RawWatch(response)
    try:
        await api.create_namespaced_ingress(target.namespace, _ingress("web"))
        assert summary(await stream.next()) == ("ADDED", "web")
        await api.patch_namespaced_ingress(
            "web", target.namespace, {"spec": {"ingressClassName": "other"}},
            _content_type=MERGE)
        modified = await stream.next()
        assert summary(modified) == ("MODIFIED", "web")
        assert modified["object"]["spec"]["ingressClassName"] == "other"
        await api.delete_namespaced_ingress("web", target.namespace)
        assert summary(await stream.next()) == ("DELETED", "web")
    finally:
        stream.close()
    listed = await api.list_namespaced_ingress(target.namespace)
    assert listed.items == []


async def test_ingress_class_is_cluster_scoped(target: Target):
    api = _networking(target)
    name = f"contract-{uuid.uuid4().hex[:8]}"
    created = await _json(api.create_ingress_class(
        {"metadata": {"name": name}, "spec": {"controller": "apim.gravitee.io/ingress"}},
        _preload_content=False))
    try:
        assert "namespace" not in created["metadata"]
        assert created["metadata"]["generation"] == 1
        got = await api.read_ingress_class(name)
        assert got.spec.controller == "apim.gravitee.io/ingress"
        names = [item.metadata.name for item in (await api.list_ingress_class()).items]
        assert name in names
    finally:
        await api.delete_ingress_class(name)
    with pytest.raises(ApiException) as caught:
        await api.read_ingress_class(name)
    assert caught.value.status == 404


async def test_service_gets_a_cluster_ip_and_a_load_balancer_status(target: Target):
    created = await _json(target.core.create_namespaced_service(
        target.namespace,
        {"metadata": {"name": "gateway"},
         "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80}]}},
        _preload_content=False))
    assert created["spec"]["clusterIP"]
    assert created["spec"]["clusterIPs"] == [created["spec"]["clusterIP"]]
    assert created["spec"]["ports"][0]["protocol"] == "TCP"
    assert created["spec"]["ports"][0]["targetPort"] == 80
    assert created["status"] == {"loadBalancer": {}}
    status = await _json(target.core.patch_namespaced_service_status(
        "gateway", target.namespace,
        {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}},
        _content_type=MERGE, _preload_content=False))
    assert status["status"]["loadBalancer"]["ingress"] == [{"ip": "203.0.113.9",
                                                             "ipMode": "VIP"}]
    labelled = await _json(target.core.patch_namespaced_service(
        "gateway", target.namespace, {"metadata": {"labels": {"a": "b"}}},
        _content_type=MERGE, _preload_content=False))
    assert labelled["spec"]["clusterIP"] == created["spec"]["clusterIP"]
    assert labelled["status"]["loadBalancer"]["ingress"][0]["ip"] == "203.0.113.9"

"""Journey: an Ingress of class ``graviteeio`` becomes a local v2 API the gateway loads
(ENABLE_INGRESS=true, as the shipped configuration sets it; docs/behavior/ingress.md).

The generated ApiDefinition is owned by the Ingress and deployed as a gateway ConfigMap; an
edit of the Ingress regenerates it; deleting the Ingress takes the API with it (garbage
collection; the bare API server of ``E2E_TARGET=real`` runs no garbage collector, so there the
suite deletes the API itself).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.kube import wait_for
from tests.e2e.system import E2e
from tests.e2e.target import wanted

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _ingress(path: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "httpbin"},
        "spec": {
            "ingressClassName": "graviteeio",
            "rules": [{"host": "httpbin.example.com", "http": {"paths": [{
                "path": path, "pathType": "Prefix",
                "backend": {"service": {"name": "httpbin", "port": {"number": 8000}}},
            }]}}],
        },
    }


async def test_ingress_becomes_a_gateway_api(e2e: E2e, ns: str):
    kube = e2e.kube
    ingress = await kube.create(_ingress("/get"), ns)
    api = await kube.wait_condition("ApiDefinition", "httpbin", ns)
    assert api["metadata"]["annotations"]["gravitee.io/extends"] == "gravitee.io/ingress"
    [owner] = api["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "Ingress", "httpbin", ingress["metadata"]["uid"])
    assert api["spec"]["proxy"]["virtual_hosts"] == [
        {"host": "httpbin.example.com", "path": "/get"}]
    live = await kube.get("Ingress", "httpbin", ns)
    assert live is not None
    assert "finalizers.gravitee.io/ingress" in live["metadata"]["finalizers"]

    async def deployed(path: str) -> dict[str, Any] | None:
        found = await kube.get("ConfigMap", "httpbin", ns)
        if found is None:
            return None
        definition: dict[str, Any] = json.loads(found["data"]["definition"])
        return definition if definition["proxy"]["virtual_hosts"][0]["path"] == path else None

    async def first() -> dict[str, Any] | None:
        return await deployed("/get")

    definition = await wait_for(first, timeout=e2e.target.timeout, what="the gateway ConfigMap")
    endpoints = definition["proxy"]["groups"][0]["endpoints"]
    assert [(e["name"], e["target"]) for e in endpoints] == [
        ("rule01-path01", f"http://httpbin.{ns}.svc.cluster.local:8000")]

    # An edit of the Ingress regenerates the API, and the gateway's ConfigMap follows.
    await kube.patch_ingress("httpbin", ns, {"spec": {"rules": _ingress("/anything")["spec"][
        "rules"]}})

    async def moved() -> dict[str, Any] | None:
        return await deployed("/anything")

    await wait_for(moved, timeout=e2e.target.timeout, what="the ConfigMap to show the new path")

    await kube.delete("Ingress", "httpbin", ns)
    await kube.wait_gone("Ingress", "httpbin", ns)
    if wanted() == "real":
        await kube.delete("ApiDefinition", "httpbin", ns)
    await kube.wait_gone("ApiDefinition", "httpbin", ns)
    await kube.wait_gone("ConfigMap", "httpbin", ns)

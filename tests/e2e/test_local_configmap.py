"""Journeys: APIs the gateway loads from ConfigMaps (v2 ``local``, v4 ``syncFrom: KUBERNETES``).

A local v2 API needs no context at all: the gateway loads its definition from the cluster.
The ConfigMap is owned by the API, labelled for the gateway, rewritten on change, removed when
the API is STOPPED (a stopped local API has nothing to serve) and when the API is deleted. A
v4 API synced from Kubernetes gets its ConfigMap and is also known to APIM (for the console).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e import manifests
from tests.e2e.kube import wait_for
from tests.e2e.system import E2e

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _definition(configmap: dict[str, Any]) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(configmap["data"]["definition"])
    return definition


async def test_local_api_written_to_a_configmap(e2e: E2e, ns: str):
    kube = e2e.kube
    await kube.create(manifests.v2_api("gateway-api", context=None, path="/local", local=True),
                      ns)
    api = await kube.wait_condition("ApiDefinition", "gateway-api", ns)

    async def configmap_with(path: str) -> dict[str, Any] | None:
        found = await kube.get("ConfigMap", "gateway-api", ns)
        if found is None:
            return None
        hosts = _definition(found)["proxy"]["virtual_hosts"]
        return found if hosts[0]["path"] == path else None

    async def first() -> dict[str, Any] | None:
        return await configmap_with("/local")

    configmap = await wait_for(first, timeout=e2e.target.timeout, what="the API's ConfigMap")
    labels = configmap["metadata"]["labels"]
    assert labels["managed-by"] == "gravitee.io"
    assert labels["gio-type"] == "apidefinitions.gravitee.io"
    [owner] = configmap["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "ApiDefinition", "gateway-api", api["metadata"]["uid"])
    definition = _definition(configmap)
    assert definition["name"] == "gateway-api"
    assert definition["id"] == api["status"]["id"]

    # An edit rewrites the ConfigMap.
    await kube.patch("ApiDefinition", "gateway-api", ns, {"spec": {"proxy": {
        "virtual_hosts": [{"path": "/local-v2"}],
        "groups": [{"name": "default", "endpoints": [{"name": "default",
                                                      "target": manifests.ECHO}]}],
    }}})
    await kube.wait_condition("ApiDefinition", "gateway-api", ns)

    async def moved() -> dict[str, Any] | None:
        return await configmap_with("/local-v2")

    await wait_for(moved, timeout=e2e.target.timeout, what="the ConfigMap to show the new path")

    # STOPPED: nothing for the gateway to serve, so no ConfigMap.
    await kube.patch("ApiDefinition", "gateway-api", ns, {"spec": {"state": "STOPPED"}})
    await kube.wait_condition("ApiDefinition", "gateway-api", ns)
    await kube.wait_gone("ConfigMap", "gateway-api", ns)

    # Started again, then deleted: the ConfigMap comes back, then goes with the API.
    await kube.patch("ApiDefinition", "gateway-api", ns, {"spec": {"state": "STARTED"}})
    await wait_for(moved, timeout=e2e.target.timeout, what="the ConfigMap to come back")
    await kube.delete("ApiDefinition", "gateway-api", ns)
    await kube.wait_gone("ApiDefinition", "gateway-api", ns)
    await kube.wait_gone("ConfigMap", "gateway-api", ns)


async def test_v4_api_synced_from_kubernetes_lands_in_a_configmap_and_in_apim(e2e: E2e, ns: str):
    kube = e2e.kube
    await kube.create(manifests.management_context(
        "apim", base_url=e2e.target.apim_url_for_operator), ns)
    await kube.create(manifests.v4_api(
        "edge", context="apim", path=f"/{ns}/edge",
        definitionContext={"origin": "KUBERNETES", "syncFrom": "KUBERNETES"}), ns)
    api = await kube.wait_condition("ApiV4Definition", "edge", ns)

    async def configmap() -> dict[str, Any] | None:
        return await kube.get("ConfigMap", "edge", ns)

    found = await wait_for(configmap, timeout=e2e.target.timeout, what="the API's ConfigMap")
    assert found["metadata"]["labels"]["managed-by"] == "gravitee.io"
    [owner] = found["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"]) == ("ApiV4Definition", api["metadata"]["uid"])
    data = found["data"]
    assert data["apiDefinitionVersion"] == "4.0.0"
    assert (data["organizationId"], data["environmentId"]) == ("DEFAULT", "DEFAULT")
    definition = _definition(found)
    assert definition["id"] == api["status"]["id"]
    assert definition["listeners"][0]["paths"][0]["path"] == f"/{ns}/edge"
    # APIM knows the API too (for the console), synchronised from Kubernetes.
    remote = await e2e.apim.v4_api(f"{ns}-edge")
    assert remote is not None
    assert remote["definitionContext"]["syncFrom"] == "KUBERNETES"

    await kube.delete("ApiV4Definition", "edge", ns)
    await kube.wait_gone("ConfigMap", "edge", ns)
    assert await e2e.apim.v4_api(f"{ns}-edge") is None

"""Journey: one ApiResource shared by two APIs, updated, and deleted only once unused.

The resource is inlined into both APIs (a v2 and a v4 one); editing it reaches both copies in
APIM without touching the APIs; deleting it while referenced leaves it in place (finalizer),
and the deletion completes by itself once the APIs are gone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import manifests
from tests.e2e.kube import wait_for
from tests.e2e.system import E2e

pytestmark = pytest.mark.asyncio(loop_scope="package")

FINALIZER = "finalizers.gravitee.io/apiresource"


def _cache_heap(remote: dict[str, Any] | None) -> int | None:
    if remote is None:
        return None
    [resource] = remote["resources"]
    assert resource["name"] == "shared-cache"
    assert resource["type"] == "cache"
    heap: int = resource["configuration"]["maxEntriesLocalHeap"]
    return heap


async def test_resource_shared_by_two_apis_updated_then_released(e2e: E2e, ns: str):
    kube, apim = e2e.kube, e2e.apim
    await kube.create(manifests.management_context(
        "apim", base_url=e2e.target.apim_url_for_operator), ns)
    await kube.create(manifests.api_resource("cache", resource_name="shared-cache"), ns)
    await kube.wait_finalizer("ApiResource", "cache", ns, FINALIZER)

    uses = [{"ref": {"name": "cache"}}]
    await kube.create(manifests.v2_api("shop-v2", context="apim", path=f"/{ns}/shop-v2",
                                       resources=uses), ns)
    await kube.create(manifests.v4_api("shop-v4", context="apim", path=f"/{ns}/shop-v4",
                                       resources=uses), ns)
    v2 = await kube.wait_condition("ApiDefinition", "shop-v2", ns)
    v4 = await kube.wait_condition("ApiV4Definition", "shop-v4", ns)
    v2_generation, v4_generation = v2["metadata"]["generation"], v4["metadata"]["generation"]

    async def heaps() -> tuple[int | None, int | None]:
        return (_cache_heap(await apim.v2_api(v2["status"]["id"])),
                _cache_heap(await apim.v4_api(f"{ns}-shop-v4")))

    assert await heaps() == (1000, 1000)

    # One edit of the resource reaches both APIs in APIM; the APIs themselves are unchanged.
    await kube.patch("ApiResource", "cache", ns,
                     {"spec": {"configuration": {"maxEntriesLocalHeap": 2000}}})

    async def both_updated() -> bool:
        return await heaps() == (2000, 2000)

    await wait_for(both_updated, timeout=e2e.target.timeout,
                   what="the new cache size in both APIs in APIM")
    v2 = await kube.wait_condition("ApiDefinition", "shop-v2", ns)
    v4 = await kube.wait_condition("ApiV4Definition", "shop-v4", ns)
    assert (v2["metadata"]["generation"], v4["metadata"]["generation"]) == (
        v2_generation, v4_generation)

    # Still referenced: the deletion waits and the APIs keep working.
    await kube.delete("ApiResource", "cache", ns)

    async def blocked() -> bool:
        reasons = [e["reason"] for e in await kube.events("cache", ns)]
        return "DeleteFailed" in reasons

    await wait_for(blocked, timeout=e2e.target.timeout,
                   what="an event saying the resource deletion is blocked")
    held = await kube.get("ApiResource", "cache", ns)
    assert held is not None
    assert held["metadata"].get("deletionTimestamp")
    assert FINALIZER in held["metadata"]["finalizers"]

    # Once nothing uses it, the deletion completes by itself.
    await kube.delete("ApiDefinition", "shop-v2", ns)
    await kube.delete("ApiV4Definition", "shop-v4", ns)
    await kube.wait_gone("ApiResource", "cache", ns)

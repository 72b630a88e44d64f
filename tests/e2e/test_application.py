"""Journey: an Application created in APIM, updated, and archived when the resource is deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import manifests
from tests.e2e.kube import wait_for
from tests.e2e.system import E2e

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_application_created_updated_and_deleted(e2e: E2e, ns: str):
    kube, apim = e2e.kube, e2e.apim
    hrid = f"{ns}-billing"
    await kube.create(manifests.management_context(
        "apim", base_url=e2e.target.apim_url_for_operator), ns)
    await kube.create(manifests.application("billing", context="apim"), ns)
    app = await kube.wait_condition("Application", "billing", ns)
    assert app["status"]["processingStatus"] == "Completed"

    async def remote_with(description: str) -> dict[str, Any] | None:
        found = await apim.application(hrid)
        return found if found is not None and found["description"] == description else None

    async def created() -> dict[str, Any] | None:
        return await remote_with("billing, applied by the e2e suite")

    remote = await wait_for(created, timeout=e2e.target.timeout, what="the application in APIM")
    assert remote["name"] == "billing"
    assert remote["settings"]["app"]["type"] == "web"

    await kube.patch("Application", "billing", ns, {"spec": {"description": "pays the bills"}})
    await kube.wait_condition("Application", "billing", ns)

    async def updated() -> dict[str, Any] | None:
        return await remote_with("pays the bills")

    await wait_for(updated, timeout=e2e.target.timeout, what="the new description in APIM")

    await kube.delete("Application", "billing", ns)
    await kube.wait_gone("Application", "billing", ns)
    assert await apim.application(hrid) is None

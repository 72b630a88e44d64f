"""Journey: restarting the operator over converged objects changes nothing, then it carries on.

Upstream's e2e suite checks that CRs stay healthy across a restart; ours also checks that
the new operator neither calls APIM to write nor writes any object it finds converged (same
``resourceVersion``), and that it still acts on the next change.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import manifests
from tests.e2e.kube import wait_for
from tests.e2e.system import E2e

pytestmark = pytest.mark.asyncio(loop_scope="package")

OBJECTS = (("ManagementContext", "apim"), ("ApiDefinition", "kept-v2"),
           ("ApiV4Definition", "kept-v4"), ("Application", "kept-app"))


async def test_restart_over_converged_objects(e2e: E2e, ns: str):
    kube, apim = e2e.kube, e2e.apim
    await kube.create(manifests.management_context(
        "apim", base_url=e2e.target.apim_url_for_operator), ns)
    await kube.create(manifests.api_resource("cache", resource_name="cache"), ns)
    await kube.create(manifests.v2_api("kept-v2", context="apim", path=f"/{ns}/v2"), ns)
    await kube.create(manifests.v4_api("kept-v4", context="apim", path=f"/{ns}/v4",
                                       resources=[{"ref": {"name": "cache"}}]), ns)
    await kube.create(manifests.application("kept-app", context="apim"), ns)
    before: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, name in OBJECTS:
        before[kind, name] = await kube.wait_condition(kind, name, ns)
    await kube.wait_finalizer("ApiResource", "cache", ns, "finalizers.gravitee.io/apiresource")
    mark = await apim.request_mark()

    await e2e.restart_operator()

    # A new object is reconciled: the new operator is at work, past its start-up decisions.
    await kube.create(manifests.management_context(
        "sentinel", base_url=e2e.target.apim_url_for_operator), ns)
    await kube.wait_condition("ManagementContext", "sentinel", ns)
    for (kind, name), old in before.items():
        now = await kube.wait_condition(kind, name, ns)
        assert now["metadata"]["resourceVersion"] == old["metadata"]["resourceVersion"], (
            f"{kind} {name} was written after the restart")
    assert await apim.writes_since(mark) == []

    # And the next change goes through.
    await kube.patch("ApiV4Definition", "kept-v4", ns, {"spec": {"state": "STOPPED"}})
    await kube.wait_condition("ApiV4Definition", "kept-v4", ns)

    async def stopped() -> bool:
        remote = await apim.v4_api(f"{ns}-kept-v4")
        return remote is not None and remote["state"] == "STOPPED"

    await wait_for(stopped, timeout=e2e.target.timeout, what="the API STOPPED in APIM")
    writes = await apim.writes_since(mark)
    assert writes == ["PUT /automation/organizations/DEFAULT/environments/DEFAULT/apis"]

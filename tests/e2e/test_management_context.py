"""Journey: a ManagementContext with credentials in a Secret, a wrong one, and a guarded delete.

The Secret is held (finalizer) while the context uses it; a context naming an environment
APIM does not know says so in ``Accepted``; deleting a context an API relies on waits, says
why, and completes by itself once the API is gone, releasing the Secret.
"""

from __future__ import annotations

import pytest

from tests.e2e import manifests
from tests.e2e.kube import Obj, condition_of, wait_for
from tests.e2e.system import E2e

pytestmark = pytest.mark.asyncio(loop_scope="package")

SECRET_FINALIZER = "finalizers.gravitee.io/managementcontextSecret"


async def test_unknown_environment_is_reported(e2e: E2e, ns: str):
    await e2e.kube.create(manifests.management_context(
        "elsewhere", base_url=e2e.target.apim_url_for_operator, environmentId="nowhere"), ns)
    context = await e2e.kube.wait_condition("ManagementContext", "elsewhere", ns, status="False")
    accepted = condition_of(context, "Accepted")
    assert accepted is not None
    assert "invalid organization or environment" in accepted["message"].lower()


async def test_secret_credentials_and_a_deletion_that_waits_for_its_api(e2e: E2e, ns: str):
    kube = e2e.kube
    await kube.create(manifests.secret("apim-login", username="admin", password="admin"), ns)
    await kube.create(manifests.management_context(
        "apim", base_url=e2e.target.apim_url_for_operator,
        auth={"secretRef": {"name": "apim-login"}}), ns)
    await kube.wait_condition("ManagementContext", "apim", ns)
    held = await kube.secret_metadata("apim-login", ns)
    assert held is not None
    assert SECRET_FINALIZER in (held.get("finalizers") or [])

    await kube.create(manifests.v4_api("relies", context="apim", path=f"/{ns}/relies"), ns)
    await kube.wait_condition("ApiV4Definition", "relies", ns)

    await kube.delete("ManagementContext", "apim", ns)

    async def blocked() -> Obj | None:
        context = await kube.get("ManagementContext", "apim", ns)
        if context is None or not context["metadata"].get("deletionTimestamp"):
            return None
        accepted = condition_of(context, "Accepted")
        return context if accepted is not None and accepted["status"] == "False" else None

    context = await wait_for(blocked, timeout=e2e.target.timeout,
                             what="the context saying why it is not deleted")
    message = (condition_of(context, "Accepted") or {})["message"]
    assert "cannot be deleted because 1" in message
    reasons = [e["reason"] for e in await kube.events("apim", ns)]
    assert "DeleteFailed" in reasons
    # The API keeps working meanwhile.
    assert await e2e.apim.v4_api(f"{ns}-relies") is not None

    await kube.delete("ApiV4Definition", "relies", ns)
    await kube.wait_gone("ManagementContext", "apim", ns)

    async def released() -> bool:
        secret = await kube.secret_metadata("apim-login", ns)
        return secret is not None and SECRET_FINALIZER not in (secret.get("finalizers") or [])

    await wait_for(released, timeout=e2e.target.timeout, what="the Secret to be released")

"""Journey: spec values taken from a Secret and a ConfigMap, followed when they change.

``[[ secret `name/key` ]]`` and ``[[ configmap `name/key` ]]`` are resolved when the operator
sends the API, never written back into the CR; editing the Secret re-sends the API with the
new value; a template naming a key that does not exist stops the API with a clear reason.
"""

from __future__ import annotations

import pytest

from tests.e2e import manifests
from tests.e2e.kube import Obj, condition_of, wait_for
from tests.e2e.system import E2e

pytestmark = pytest.mark.asyncio(loop_scope="package")

TARGET_TEMPLATE = "[[ secret `backend/url` ]]"


def _target(api: Obj) -> str:
    target: str = api["endpointGroups"][0]["endpoints"][0]["configuration"]["target"]
    return target


async def test_values_from_a_secret_and_a_configmap_follow_their_sources(e2e: E2e, ns: str):
    kube, apim = e2e.kube, e2e.apim
    await kube.create(manifests.management_context(
        "apim", base_url=e2e.target.apim_url_for_operator), ns)
    await kube.create(manifests.secret("backend", url="https://one.backend.internal/echo"), ns)
    await kube.create(manifests.config_map("texts", description="Pets, from a ConfigMap"), ns)
    await kube.create(manifests.v4_api(
        "templated", context="apim", path=f"/{ns}/templated", target=TARGET_TEMPLATE,
        description="[[ configmap `texts/description` ]]"), ns)
    api = await kube.wait_condition("ApiV4Definition", "templated", ns)
    # The CR keeps its templates; only what APIM receives is resolved.
    assert _target(api["spec"]) == TARGET_TEMPLATE

    async def remote_target(expected: str) -> Obj | None:
        remote = await apim.v4_api(f"{ns}-templated")
        return remote if remote is not None and _target(remote) == expected else None

    async def first() -> Obj | None:
        return await remote_target("https://one.backend.internal/echo")

    remote = await wait_for(first, timeout=e2e.target.timeout, what="the resolved target")
    assert remote["description"] == "Pets, from a ConfigMap"

    await kube.patch("Secret", "backend", ns,
                     {"data": manifests.encoded(url="https://two.backend.internal/echo")})

    async def second() -> Obj | None:
        return await remote_target("https://two.backend.internal/echo")

    await wait_for(second, timeout=e2e.target.timeout, what="the new Secret value in APIM")


async def test_a_missing_key_stops_the_api_with_a_reason(e2e: E2e, ns: str):
    kube = e2e.kube
    await kube.create(manifests.management_context(
        "apim", base_url=e2e.target.apim_url_for_operator), ns)
    await kube.create(manifests.secret("backend", url="https://backend.internal"), ns)
    await kube.create(manifests.v4_api(
        "broken", context="apim", path=f"/{ns}/broken",
        target="[[ secret `backend/nope` ]]"), ns)
    api = await kube.wait_condition("ApiV4Definition", "broken", ns, status="False")
    accepted = condition_of(api, "Accepted")
    assert accepted is not None
    assert accepted["reason"] == "CompileTemplateError"
    assert accepted["message"] == f"key [nope] not found in secret [{ns}/backend]"
    assert await e2e.apim.v4_api(f"{ns}-broken") is None

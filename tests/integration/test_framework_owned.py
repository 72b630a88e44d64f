"""Acceptance tests of issue 13, "Owned objects are not watched".

The gateway ConfigMap of a local-mode API (v2 ``local: true``, v4 ``definitionContext.syncFrom:
KUBERNETES``) is owned by the operator: deleted or edited by hand it comes back within seconds,
also when it was deleted while the operator was down (today the start-up check looks only at
the spec hash, and nothing watches ConfigMaps as owned objects).
"""

from __future__ import annotations

from typing import Any

import pytest

from controller.kube.kinds import API_DEFINITIONS, API_V4_DEFINITIONS
from controller.kube.resources import CONFIG_MAPS, ResourceKind
from controller.kube.rest import KubeApiError, request_json
from sim.apim.testing import RunningSimulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.api_v2_helpers import v2
from tests.integration.harness import Env, operator_env, v4_api, wait_for, wait_idle
from tests.integration.v4_helpers import kube_client, wait_configmap

LOCAL_V4: dict[str, Any] = {
    "definitionContext": {"origin": "KUBERNETES", "syncFrom": "KUBERNETES"}
}

# kind, local-mode manifest (no context: the ConfigMap is all the gateway gets)
KINDS: list[tuple[ResourceKind, Any]] = [
    (API_DEFINITIONS, lambda name: v2(name, context_ref=None, local=True)),
    (API_V4_DEFINITIONS, lambda name: v4_api(name, context_ref=None, **LOCAL_V4)),
]
IDS = [k[0].kind for k in KINDS]


async def _converged_configmap(env: Env, kind: ResourceKind, manifest: dict[str, Any]) -> Any:
    name = manifest["metadata"]["name"]
    await env.create(manifest)
    await env.wait_condition(kind, name)
    return await wait_configmap(env, name)


async def _wait_restored(env: Env, name: str, data: dict[str, str], what: str) -> None:
    async def restored() -> bool:
        found = await env.get(CONFIG_MAPS, name)
        return found is not None and found.get("data") == data

    try:
        await wait_for(restored, timeout=10, what=what)
    except AssertionError:
        found = await env.get(CONFIG_MAPS, name)
        state = "missing" if found is None else f"data keys {sorted(found.get('data') or {})}"
        raise AssertionError(
            f"ConfigMap {name} not restored within 10 s ({what}): {state}"
        ) from None


@pytest.mark.parametrize(("kind", "build"), KINDS, ids=IDS)
async def test_configmap_deleted_by_hand_comes_back(env: Env, kind: ResourceKind, build: Any):
    """Issue 13, "Owned objects are not watched": a hand-deleted gateway ConfigMap."""
    manifest = build("owned-deleted")
    original = await _converged_configmap(env, kind, manifest)
    await env.delete(CONFIG_MAPS, "owned-deleted")
    await _wait_restored(env, "owned-deleted", original["data"], "deleted by hand")


@pytest.mark.parametrize(("kind", "build"), KINDS, ids=IDS)
async def test_configmap_edited_by_hand_is_restored(env: Env, kind: ResourceKind, build: Any):
    """Issue 13, "Owned objects are not watched": a hand-edited gateway ConfigMap."""
    manifest = build("owned-edited")
    original = await _converged_configmap(env, kind, manifest)
    tampered = await env.patch(
        CONFIG_MAPS, "owned-edited", {"data": {"definition": '{"tampered": true}'}}
    )
    assert tampered["data"] != original["data"]
    await _wait_restored(env, "owned-edited", original["data"], "edited by hand")


@pytest.mark.parametrize(("kind", "build"), KINDS, ids=IDS)
async def test_configmap_deleted_while_the_operator_was_down_is_restored_at_start(
    kubeapi: RunningEmulator,
    apim: RunningSimulator,
    kind: ResourceKind,
    build: Any,
):
    """Issue 13, "Owned objects are not watched": not even an operator restart repaired a
    ConfigMap deleted while it was down (the start-up check looked only at the spec hash)."""
    manifest = build("owned-offline")
    async with operator_env(kubeapi, apim) as env:
        original = await _converged_configmap(env, kind, manifest)
        await wait_idle(env)
    async with kube_client(kubeapi) as api:
        await request_json(api, "DELETE", CONFIG_MAPS.object_path("team", "owned-offline"))
        with pytest.raises(KubeApiError) as gone:
            await request_json(api, "GET", CONFIG_MAPS.object_path("team", "owned-offline"))
        assert gone.value.not_found
    # The restarted operator may restore it before the test could look: only the outcome counts.
    async with operator_env(kubeapi, apim) as env:
        await _wait_restored(env, "owned-offline", original["data"], "deleted while down")

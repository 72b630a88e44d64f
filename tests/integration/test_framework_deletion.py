"""Acceptance tests of issue 13, "Undeletable objects" and "Finalizers counted, not derived".

Deleting an API or an Application must never wait on a ManagementContext that is gone (never
created, or removed by an admin while the object still referenced it): the delete completes and a
Warning Event says what may remain in APIM. Two contexts sharing one credentials Secret, deleted
together, must release that Secret. Everything is driven through the emulator and the simulator.
"""

from __future__ import annotations

from typing import Any

import pytest

from controller.kube.kinds import (
    API_DEFINITIONS,
    API_V4_DEFINITIONS,
    APPLICATIONS,
    MANAGEMENT_CONTEXTS,
    SECRETS,
)
from controller.kube.resources import ResourceKind
from controller.vocabulary import FINALIZER_CONTEXT_SECRET
from tests.integration.api_v2_helpers import v2
from tests.integration.harness import (
    Env,
    application,
    context,
    secret,
    v4_api,
    wait_for,
)
from tests.integration.v4_helpers import finalizers_of

CONTEXT = "vanished-ctx"

# kind, manifest builder taking the context name
KINDS: list[tuple[ResourceKind, Any]] = [
    (API_DEFINITIONS, lambda ctx: v2("gone-v2", context_ref=ctx)),
    (API_V4_DEFINITIONS, lambda ctx: v4_api("gone-v4", context_ref=ctx)),
    (APPLICATIONS, lambda ctx: application("gone-app", context_ref=ctx)),
]
IDS = [k[0].kind for k in KINDS]


async def _has_finalizer(env: Env, kind: ResourceKind, name: str) -> bool:
    obj = await env.get(kind, name)
    return obj is not None and bool(finalizers_of(obj))


async def _warning_mentioning_context(env: Env, name: str) -> list[dict[str, Any]]:
    """Warning Events about the deletion of ``name`` that name the missing context."""

    async def probe() -> list[dict[str, Any]] | None:
        found = [
            e
            for e in await env.events(name)
            if e["type"] == "Warning"
            and str(e.get("reason", "")).startswith("Delete")
            and CONTEXT in str(e.get("message", ""))
        ]
        return found or None

    return await wait_for(probe, what=f"a Warning deletion Event of {name} naming {CONTEXT}")


@pytest.mark.parametrize(("kind", "build"), KINDS, ids=IDS)
async def test_delete_completes_when_the_context_never_existed(
    env: Env, kind: ResourceKind, build: Any
):
    """Issue 13, "Undeletable objects" (context never created): the delete path resolved the
    context first and failed forever, so the object kept its finalizer."""
    manifest = build(CONTEXT)
    name = manifest["metadata"]["name"]
    await env.create(manifest)
    # The operator took the object in charge (finalizer) and failed on the missing context.
    await wait_for(lambda: _has_finalizer(env, kind, name), what=f"{name} finalizer")
    await env.wait_condition(kind, name, "False")

    await env.delete(kind, name)
    await env.wait_gone(kind, name, timeout=10)
    await _warning_mentioning_context(env, name)


@pytest.mark.parametrize(("kind", "build"), KINDS, ids=IDS)
async def test_delete_completes_when_the_context_was_force_deleted(
    env: Env, kind: ResourceKind, build: Any
):
    """Issue 13, "Undeletable objects" (context already gone): an admin forced the context's
    deletion through (removed its finalizer by hand) while the object still used it."""
    await env.create(context(CONTEXT, env.apim))
    manifest = build(CONTEXT)
    name = manifest["metadata"]["name"]
    await env.create(manifest)
    await env.wait_condition(kind, name)

    # The context's deletion is held while something references it; the admin forces it.
    await env.delete(MANAGEMENT_CONTEXTS, CONTEXT)
    await env.patch(MANAGEMENT_CONTEXTS, CONTEXT, {"metadata": {"finalizers": None}})
    await env.wait_gone(MANAGEMENT_CONTEXTS, CONTEXT)

    await env.delete(kind, name)
    await env.wait_gone(kind, name, timeout=10)
    await _warning_mentioning_context(env, name)


async def test_two_contexts_sharing_a_secret_deleted_together_release_it(env: Env):
    """Issue 13, "Finalizers counted, not derived": two contexts sharing one ``secretRef``
    Secret, deleted back to back, left the Secret with the operator's finalizer forever."""
    await env.create(secret("shared-creds", {"username": "admin", "password": "admin"}))
    for name in ("ctx-a", "ctx-b"):
        await env.create(context(name, env.apim, auth={"secretRef": {"name": "shared-creds"}}))
    for name in ("ctx-a", "ctx-b"):
        await env.wait_condition(MANAGEMENT_CONTEXTS, name)

    async def held() -> bool:
        obj = await env.get(SECRETS, "shared-creds")
        return FINALIZER_CONTEXT_SECRET in finalizers_of(obj)

    await wait_for(held, what="the operator's finalizer on the shared Secret")

    # One `kubectl delete managementcontext ctx-a ctx-b`: no wait between the two calls.
    await env.delete(MANAGEMENT_CONTEXTS, "ctx-a")
    await env.delete(MANAGEMENT_CONTEXTS, "ctx-b")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "ctx-a")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "ctx-b")

    async def released() -> bool:
        obj = await env.get(SECRETS, "shared-creds")
        return obj is not None and FINALIZER_CONTEXT_SECRET not in finalizers_of(obj)

    try:
        await wait_for(released, timeout=10, what="the shared Secret released")
    except AssertionError:
        obj = await env.get(SECRETS, "shared-creds")
        raise AssertionError(
            f"the Secret kept finalizers {finalizers_of(obj)} after both contexts were deleted"
        ) from None
    await env.delete(SECRETS, "shared-creds")
    await env.wait_gone(SECRETS, "shared-creds", timeout=10)

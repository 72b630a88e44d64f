"""Acceptance tests of issue 13, "Kubernetes-side faults are untested, and some are mishandled".

Each test makes one Kubernetes write of the operator fail or race, through the emulator's fault
injection (``fail_next`` on the object's own PATCH, ``hold_next`` to open a window between the
operator's cached read and its write), or simulates a crash between two writes by hand while the
operator is stopped. They cover the four code points of the issue whose mutations no test caught:
the finalizer removal on delete, the start-up "already converged" check, the pinning of the
finalizer-adding write, and (in ``tests/controller/informers``) watch resumption from bookmarks.
"""

from __future__ import annotations

import asyncio

from controller.kube.kinds import API_V4_DEFINITIONS, MANAGEMENT_CONTEXTS
from controller.kube.rest import MERGE_PATCH, request_json
from controller.vocabulary import (
    ANNOTATION_LAST_SPEC_HASH,
    FINALIZER_API,
    spec_hash,
)
from sim.apim.testing import RunningSimulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.harness import Env, context, operator_env, v4_api, wait_for, wait_idle
from tests.integration.v4_helpers import finalizers_of, kube_client

FOREIGN_FINALIZER = "example.com/backup-protection"


async def test_failed_finalizer_removal_on_delete_is_retried(env: Env):
    """Issue 13, Kubernetes-side faults: "an error while removing the finalizer on delete is
    swallowed, so the object can stay deleting" (``reconcilers/base.py`` ~238). One failure of
    the metadata PATCH that removes the finalizer must be retried until the object is gone."""
    await env.create(context("apim", env.apim))
    await env.create(v4_api("sticky"))
    await env.wait_condition(API_V4_DEFINITIONS, "sticky")
    await wait_idle(env)
    faults = env.kube.faults
    # A status write is not the finalizer removal: only the object's own PATCH fails.
    faults.fail_next(1, verb="patch", resource="apiv4definitions", subresource="", name="sticky")
    await env.delete(API_V4_DEFINITIONS, "sticky")

    async def failure_injected() -> bool:
        return faults.injected == 1

    await wait_for(failure_injected, what="the finalizer removal to fail once")
    await env.wait_gone(API_V4_DEFINITIONS, "sticky", timeout=10)
    assert env.apim.state.api_by_hrid("team-sticky") is None


async def test_crash_between_metadata_and_status_write_is_repaired_at_start(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    """Issue 13, Kubernetes-side faults: the start-up "already converged" check would pass an
    object whose ``observedGeneration`` lags its ``generation`` (``reconcilers/predicates.py``
    ~38), so a crash between the metadata write (spec hash) and the status write is never
    repaired. The crash is simulated by hand while the operator is stopped: the spec is edited
    and the hash annotation set to the new spec's hash, the status left as it was."""
    async with operator_env(kubeapi, apim) as env:
        await env.create(context("apim", apim))
        await env.create(v4_api("half-written"))
        await env.wait_condition(API_V4_DEFINITIONS, "half-written")
        await wait_idle(env)
    path = API_V4_DEFINITIONS.object_path("team", "half-written")
    async with kube_client(kubeapi) as api:
        edited = await request_json(
            api, "PATCH", path, body={"spec": {"description": "after the crash"}},
            content_type=MERGE_PATCH,
        )
        annotations = {ANNOTATION_LAST_SPEC_HASH: spec_hash(edited["spec"])}
        stamped = await request_json(
            api, "PATCH", path, body={"metadata": {"annotations": annotations}},
            content_type=MERGE_PATCH,
        )
    generation = stamped["metadata"]["generation"]
    assert generation == 2
    accepted = [c for c in stamped["status"]["conditions"] if c["type"] == "Accepted"]
    assert accepted[0]["status"] == "True"
    assert accepted[0]["observedGeneration"] == 1
    before = apim.state.api_by_hrid("team-half-written")
    assert before is not None
    assert before.spec.get("description") != "after the crash"

    async with operator_env(kubeapi, apim) as env:
        async def observed() -> bool:
            found = await env.condition(API_V4_DEFINITIONS, "half-written")
            return (
                found is not None
                and found["status"] == "True"
                and found.get("observedGeneration") == generation
            )

        await wait_for(observed, timeout=10, what="Accepted at generation 2 after the restart")
        record = apim.state.api_by_hrid("team-half-written")
        assert record is not None
        assert record.spec["description"] == "after the crash"


async def test_finalizer_added_by_someone_else_meanwhile_survives(env: Env):
    """Issue 13, Kubernetes-side faults: "the finalizer-adding write is not pinned to the cached
    ``resourceVersion`` (``base.py`` ~260), so a concurrent writer's finalizer can be lost".

    The emulator holds the operator's first metadata PATCH of the object (sent from its cached
    read); meanwhile another client adds its own finalizer; then the PATCH goes on. Pinned to
    the cached resourceVersion it fails with 409 and is redone from the fresh object; not
    pinned, it replaces the finalizer list and the other client's finalizer is lost."""
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    hold = env.kube.faults.hold_next(
        verb="patch", resource="apiv4definitions", subresource="", name="racy"
    )
    await env.create(v4_api("racy"))
    try:
        await asyncio.wait_for(hold.arrived.wait(), 10)
        current = await env.get(API_V4_DEFINITIONS, "racy")
        assert FINALIZER_API not in finalizers_of(current)
        await env.patch(
            API_V4_DEFINITIONS,
            "racy",
            {"metadata": {"finalizers": [*finalizers_of(current), FOREIGN_FINALIZER]}},
        )
    finally:
        hold.release()
    await env.wait_condition(API_V4_DEFINITIONS, "racy")

    async def both_finalizers() -> bool:
        obj = await env.get(API_V4_DEFINITIONS, "racy")
        return FINALIZER_API in finalizers_of(obj)

    await wait_for(both_finalizers, what="the operator's finalizer")
    obj = await env.get(API_V4_DEFINITIONS, "racy")
    assert FOREIGN_FINALIZER in finalizers_of(obj), (
        f"the concurrent writer's finalizer was dropped: {finalizers_of(obj)}"
    )


async def test_failed_status_write_is_retried(env: Env):
    """Issue 13, Kubernetes-side faults (status writes): the status PATCH after a successful
    APIM update fails once; the object must still end up ``Accepted`` at its generation."""
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    faults = env.kube.faults
    faults.fail_next(
        1, verb="patch", resource="apiv4definitions", subresource="status", name="unlucky"
    )
    await env.create(v4_api("unlucky"))

    async def failure_injected() -> bool:
        return faults.injected == 1

    await wait_for(failure_injected, what="the status write to fail once")
    accepted = await env.wait_condition(API_V4_DEFINITIONS, "unlucky", timeout=10)
    assert accepted["observedGeneration"] == 1
    assert env.apim.state.api_by_hrid("team-unlucky") is not None

"""Kinds whose reconciler has not landed say so (issue 17, item 6) instead of being ignored."""

from __future__ import annotations

from typing import Any

import pytest

from controller.kube.kinds import SHARED_POLICY_GROUPS, SUBSCRIPTIONS
from controller.kube.resources import ResourceKind
from tests.integration.harness import Env, wait_for


def _object(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "gravitee.io/v1alpha1", "kind": kind, "metadata": {"name": name},
            "spec": spec}


CASES = [
    pytest.param(
        SUBSCRIPTIONS,
        _object("Subscription", "sub", {"api": {"name": "petstore"},
                                        "application": {"name": "app"}, "plan": "keyless"}),
        id="subscription",
    ),
    pytest.param(
        SHARED_POLICY_GROUPS,
        _object("SharedPolicyGroup", "spg", {"contextRef": {"name": "apim"}, "name": "spg",
                                             "apiType": "PROXY", "phase": "REQUEST"}),
        id="shared-policy-group",
    ),
]


@pytest.mark.parametrize(("kind", "manifest"), CASES)
async def test_unreconciled_kinds_say_so_in_accepted_and_an_event(
    env: Env, kind: ResourceKind, manifest: dict[str, Any]
):
    name = manifest["metadata"]["name"]
    mark = env.apim.requests.mark()
    await env.create(manifest)
    refused = await env.wait_condition(kind, name, "False")
    assert refused["reason"] == "NotReconciled"
    assert refused["message"].startswith(
        f"{kind.kind} objects are not reconciled by this version of the operator yet: nothing "
        "is sent to APIM."
    )

    async def warned() -> list[str]:
        return [e["message"] for e in await env.events(name)
                if e["reason"] == "UpdateFailed" and e["type"] == "Warning"]

    assert (await wait_for(warned, what="Warning Event")) == [refused["message"]]
    assert env.apim.requests.since(mark) == []

    await env.delete(kind, name)
    await env.wait_gone(kind, name)


def _not_accepted() -> dict[tuple[str, str], float]:
    from controller import metrics

    (family,) = list(metrics.NOT_ACCEPTED.collect())
    return {(s.labels["kind"], s.labels["reason"]): s.value for s in family.samples}


async def test_a_gauge_counts_objects_not_accepted_by_kind_and_reason(env: Env):
    from controller.kube.kinds import API_V4_DEFINITIONS, MANAGEMENT_CONTEXTS
    from tests.integration.harness import context, v4_api

    await env.create(v4_api("early"))
    await env.wait_condition(API_V4_DEFINITIONS, "early", "False")
    await wait_for(
        lambda: _async(_not_accepted().get(("ApiV4Definition", "ReconcileFailed")) == 1),
        what="gauge counting the API",
    )
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_condition(API_V4_DEFINITIONS, "early", timeout=15)
    await wait_for(lambda: _async(not _not_accepted()), what="gauge back to nothing")


async def _async(value: bool) -> bool:
    return value

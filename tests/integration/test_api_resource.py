"""ApiResource: finalizer and events, inlining into v2/v4 APIs, propagation, delete guard.

``docs/behavior/api-resource.md`` (and ``docs/behavior/references.md`` for propagation), and
upstream's controller scenarios for ApiResources.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from controller.kube.kinds import (
    API_DEFINITIONS,
    API_RESOURCES,
    API_V4_DEFINITIONS,
    SECRETS,
)
from controller.kube.rest import MERGE_PATCH, request_json
from sim.apim.testing import RunningSimulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.api_v2_helpers import (
    automation_api_puts,
    definition_of,
    event_messages,
    imports,
    production_logging,
    stored_api,
    v2,
    wait_configmap,
)
from tests.integration.harness import (
    Env,
    api_resource,
    context,
    missing_ref,
    operator_env,
    secret,
    v4_api,
    wait_for,
    wait_idle,
)

FINALIZER = "finalizers.gravitee.io/apiresource"
REFERENCED = (
    "[cache] cannot be deleted because 2 APIs are relying on this resource: ApiDefinition "
    "team/holder-v2, ApiV4Definition team/holder-v4. Remove it from their spec.resources; the "
    "deletion then completes by itself. You can review every API's resource references by "
    "running: kubectl get apidefinitions.gravitee.io,apiv4definitions.gravitee.io -A -o "
    "jsonpath='{range .items[*]}{.kind} {.metadata.namespace}/{.metadata.name}: "
    '{.spec.resources[*].ref.name}{"\\n"}{end}\''
)
CACHE = {
    "name": "my-cache",
    "type": "cache",
    "enabled": True,
    "configuration": {"timeToIdleSeconds": 0, "maxEntriesLocalHeap": 1000},
}
INLINE = {"name": "inline-cache", "type": "cache", "enabled": True, "configuration": {}}


@pytest.fixture(autouse=True)
def operator_logs():
    with production_logging() as buffer:
        yield buffer


def ref(name: str, namespace: str | None = "team") -> dict[str, Any]:
    target = {"name": name}
    if namespace:
        target["namespace"] = namespace
    return {"ref": target}


async def reconciled_resource(env: Env, name: str = "cache", **spec) -> dict[str, Any]:
    manifest = api_resource(name)
    # The resource's own ``name`` cannot go through the builder's keyword arguments.
    manifest["spec"] = {**CACHE, **spec}
    await env.create(manifest)

    async def probe():
        obj = await env.get(API_RESOURCES, name)
        return obj if FINALIZER in (obj["metadata"].get("finalizers") or []) else None

    return await wait_for(probe, what=f"ApiResource {name} finalizer")


async def test_resource_gets_finalizer_hash_events_and_accepted(env: Env):
    resource = await reconciled_resource(env)
    assert "gravitee.io/last-spec-hash" in resource["metadata"]["annotations"]

    async def both_events():
        reasons = await env.event_reasons("cache")
        return "UpdateSucceeded" in reasons and reasons

    reasons = await wait_for(both_events, what="ApiResource events")
    assert reasons.index("UpdateStarted") < reasons.index("UpdateSucceeded")
    events = await env.events("cache")
    assert {e["source"]["component"] for e in events} == {"apiresource-controller"}
    # Upstream keeps no status; ours reports Accepted like every other kind (lead's decision).
    accepted = await env.wait_condition(API_RESOURCES, "cache")
    assert accepted["reason"] == "Accepted"
    assert accepted["message"] == "Successfully reconciled"
    assert "processingStatus" not in (await env.get(API_RESOURCES, "cache"))["status"]
    assert len(env.apim.requests) == 0


async def test_resource_is_inlined_into_the_v2_import_body(env: Env):
    await reconciled_resource(env)
    await env.create(context("apim", env.apim))
    await env.create(v2("cached", resources=[ref("cache"), INLINE]))
    await env.wait_condition(API_DEFINITIONS, "cached")
    [call] = imports(env)
    assert call.body["resources"] == [CACHE, INLINE]
    [record] = env.apim.state.apis_in()
    assert record.spec["resources"] == [CACHE, INLINE]
    # The live spec is never written back: the ref stays a ref.
    api = await env.get(API_DEFINITIONS, "cached")
    assert api["spec"]["resources"][0]["ref"] == ref("cache")["ref"]
    assert "type" not in api["spec"]["resources"][0]


async def test_ref_without_namespace_means_the_api_namespace(env: Env):
    await reconciled_resource(env)
    await env.create(context("apim", env.apim))
    await env.create(v2("nearby", resources=[ref("cache", namespace=None)]))
    await env.wait_condition(API_DEFINITIONS, "nearby")
    assert imports(env)[-1].body["resources"] == [CACHE]


async def test_resource_is_inlined_into_the_local_configmap(env: Env):
    await reconciled_resource(env)
    await env.create(v2("cached-local", context_ref=None, local=True, resources=[ref("cache")]))
    await env.wait_condition(API_DEFINITIONS, "cached-local")
    cm = await wait_configmap(env, "cached-local")
    assert definition_of(cm)["resources"] == [CACHE]


async def test_resource_templates_are_compiled_when_inlined(env: Env, operator_logs):
    await env.create(secret("redis", {"password": "s3cr3t"}))
    templated = {"host": "redis", "password": '[[ secret "redis/password" ]]'}
    await reconciled_resource(env, configuration=templated)
    await env.create(context("apim", env.apim))
    await env.create(v2("templated-cache", resources=[ref("cache")]))
    await env.wait_condition(API_DEFINITIONS, "templated-cache")
    sent = imports(env)[-1].body["resources"][0]["configuration"]
    assert sent == {"host": "redis", "password": "s3cr3t"}
    # The compiled value goes to APIM only: never to logs, events or status.
    assert "s3cr3t" not in operator_logs.getvalue()
    for name in ("cache", "templated-cache"):
        assert all("s3cr3t" not in str(e.get("message")) for e in await env.events(name))
    assert "s3cr3t" not in str((await env.get(API_DEFINITIONS, "templated-cache"))["status"])


async def test_rotated_secret_of_a_resource_reaches_its_apis(env: Env):
    await env.create(secret("redis", {"password": "before"}))
    templated = {"host": "redis", "password": '[[ secret "redis/password" ]]'}
    await reconciled_resource(env, configuration=templated)
    await env.create(context("apim", env.apim))
    await env.create(v2("rotating", resources=[ref("cache")]))
    await env.wait_condition(API_DEFINITIONS, "rotating")
    mark = env.apim.requests.mark()
    await env.patch(SECRETS, "redis", {"data": {"password": base64.b64encode(b"after").decode()}})
    call = await env.apim.requests.wait_for(
        lambda r: r.method == "PUT" and "import-crd" in r.path, since=mark, timeout=3
    )
    assert call.body["resources"][0]["configuration"]["password"] == "after"


async def test_missing_resource_fails_refs_until_it_is_created(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v2("early", resources=[ref("later")]))
    failed = await env.wait_condition(API_DEFINITIONS, "early", "False")
    assert failed["reason"] == "ReconcileFailed"
    assert failed["message"] == missing_ref('apiresources.gravitee.io "later" not found')
    refs = await env.condition(API_DEFINITIONS, "early", "ResolvedRefs")
    assert refs is not None
    assert refs["status"] == "False"
    assert refs["reason"] == "ResolvedRefs"
    assert refs["message"] == 'apiresources.gravitee.io "later" not found'
    assert imports(env) == []

    await reconciled_resource(env, "later")
    await env.wait_condition(API_DEFINITIONS, "early")
    assert imports(env)[-1].body["resources"] == [CACHE]


async def test_editing_a_resource_reimports_every_api_using_it(env: Env):
    await reconciled_resource(env)
    await env.create(context("apim", env.apim))
    await env.create(v2("user-v2", resources=[ref("cache")]))
    await env.create(v4_api("user-v4", resources=[ref("cache")]))
    await env.create(v2("bystander"))
    await env.wait_condition(API_DEFINITIONS, "user-v2")
    await env.wait_condition(API_V4_DEFINITIONS, "user-v4")
    await env.wait_condition(API_DEFINITIONS, "bystander")
    await wait_idle(env)
    v2_before = await env.get(API_DEFINITIONS, "user-v2")
    mark = env.apim.requests.mark()

    await env.patch(API_RESOURCES, "cache", {"spec": {"enabled": False}})

    disabled = {**CACHE, "enabled": False}

    async def propagated():
        v2_calls = [c for c in imports(env, since=mark) if c.body["name"] == "user-v2"]
        v4_calls = automation_api_puts(env, since=mark)
        return v2_calls and v4_calls and (v2_calls, v4_calls)

    v2_calls, v4_calls = await wait_for(propagated, what="re-imports after the resource edit")
    assert v2_calls[-1].body["resources"] == [disabled]
    assert v4_calls[-1].body["resources"] == [disabled]
    await wait_idle(env)
    v2_record = stored_api(env, api_id=v2_before["status"]["id"])
    assert v2_record.spec["resources"] == [disabled]
    v4_record = stored_api(env, hrid="team-user-v4")
    assert v4_record.spec["resources"] == [disabled]
    # Only the APIs that use the resource were touched, and their CRs were not edited.
    assert [c.body["name"] for c in imports(env, since=mark)] == ["user-v2"]
    v2_after = await env.get(API_DEFINITIONS, "user-v2")
    assert v2_after["metadata"]["generation"] == v2_before["metadata"]["generation"]


async def test_deleting_a_referenced_resource_waits_for_its_apis(env: Env):
    await reconciled_resource(env)
    await env.create(v2("holder-v2", context_ref=None, local=True, resources=[ref("cache")]))
    await env.create(
        v4_api(
            "holder-v4",
            context_ref=None,
            resources=[ref("cache")],
            definitionContext={"syncFrom": "KUBERNETES"},
        )
    )
    await env.wait_condition(API_DEFINITIONS, "holder-v2")
    await env.wait_condition(API_V4_DEFINITIONS, "holder-v4")

    await env.delete(API_RESOURCES, "cache")

    async def refused():
        return REFERENCED in event_messages(await env.events("cache"), "DeleteFailed")

    await wait_for(refused, what="DeleteFailed event")
    events = await env.events("cache")
    assert {e["type"] for e in events if e["reason"] == "DeleteFailed"} == {"Warning"}
    held = await env.get(API_RESOURCES, "cache")
    assert held["metadata"].get("deletionTimestamp")
    assert FINALIZER in held["metadata"]["finalizers"]
    blocked = await env.wait_condition(API_RESOURCES, "cache", "False")
    assert blocked["reason"] == "ReconcileFailed"
    assert blocked["message"] == REFERENCED

    await env.delete(API_DEFINITIONS, "holder-v2")
    await env.wait_gone(API_DEFINITIONS, "holder-v2")
    assert await env.get(API_RESOURCES, "cache") is not None  # the v4 API still uses it

    await env.delete(API_V4_DEFINITIONS, "holder-v4")
    await env.wait_gone(API_RESOURCES, "cache")
    assert "DeleteSucceeded" in await env.deletion_reasons("cache")


async def test_unreferenced_resource_is_deleted_at_once(env: Env):
    await reconciled_resource(env)
    await env.delete(API_RESOURCES, "cache")
    await env.wait_gone(API_RESOURCES, "cache")
    reasons = await env.deletion_reasons("cache")
    assert "DeleteStarted" in reasons
    assert "DeleteFailed" not in reasons


async def test_resource_without_type_is_refused_until_fixed(env: Env):
    manifest = api_resource("typeless")
    del manifest["spec"]["type"]
    await env.create(manifest)
    failed = await env.wait_condition(API_RESOURCES, "typeless", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"] == "missing required value in property [type]"
    messages = event_messages(await env.events("typeless"), "UpdateFailed")
    assert messages == ["missing required value in property [type]"]
    await wait_idle(env, "apiresource")
    await env.patch(API_RESOURCES, "typeless", {"spec": {"type": "cache"}})
    await env.wait_condition(API_RESOURCES, "typeless")


async def test_editing_a_resource_rewrites_the_local_configmap(env: Env):
    await reconciled_resource(env)
    await env.create(v2("local-user", context_ref=None, local=True, resources=[ref("cache")]))
    await env.wait_condition(API_DEFINITIONS, "local-user")
    await wait_configmap(env, "local-user")
    await env.patch(API_RESOURCES, "cache", {"spec": {"configuration": {"timeToIdleSeconds": 5}}})

    async def rewritten():
        cm = await wait_configmap(env, "local-user")
        resources = definition_of(cm)["resources"]
        # A merge patch: the other configuration keys stay.
        expected = {"timeToIdleSeconds": 5, "maxEntriesLocalHeap": 1000}
        return resources[0]["configuration"] == expected and resources

    await wait_for(rewritten, what="ConfigMap with the edited resource")


async def test_resource_edited_while_the_operator_was_down_reaches_its_apis_at_start(
    kubeapi: RunningEmulator, apim: RunningSimulator, kube_client
):
    async with operator_env(kubeapi, apim) as env:
        await reconciled_resource(env)
        await env.create(context("apim", env.apim))
        await env.create(v2("after-restart", resources=[ref("cache")]))
        await env.wait_condition(API_DEFINITIONS, "after-restart")
        await wait_idle(env)
    await request_json(
        kube_client,
        "PATCH",
        API_RESOURCES.object_path("team", "cache"),
        body={"spec": {"enabled": False}},
        content_type=MERGE_PATCH,
    )
    mark = apim.requests.mark()
    async with operator_env(kubeapi, apim) as env:
        call = await apim.requests.wait_for(
            lambda r: r.method == "PUT" and "import-crd" in r.path, since=mark
        )
        assert call.body["resources"] == [{**CACHE, "enabled": False}]
        await env.wait_condition(API_DEFINITIONS, "after-restart")

"""ManagementContext end to end: APIM probe in Accepted, auth Secret bookkeeping, change
propagation to dependants, and the deletion guard (docs/behavior/management-context.md).

The operator runs in-process against the Kubernetes API emulator and the APIM simulator.
"""

from typing import Any

import pytest

from controller.kube.kinds import (
    API_DEFINITIONS,
    API_V4_DEFINITIONS,
    APPLICATIONS,
    MANAGEMENT_CONTEXTS,
    SECRETS,
)
from tests.integration.api_v2_helpers import event_messages
from tests.integration.context_app_helpers import (
    APIS_V4_PATH,
    APPLICATIONS_PATH,
    IMPORT_CRD_PATH,
    V2_ENV_PATH,
    annotations_of,
    closed_port_url,
    condition,
    create_namespace,
    finalizers,
    leaks,
    patch_offline,
    settle,
    wait_object,
    wait_request,
)
from tests.integration.harness import (
    Env,
    application,
    context,
    missing_ref,
    operator_env,
    secret,
    v2_api,
    v4_api,
    wait_for,
)

CONTEXT_FINALIZER = "finalizers.gravitee.io/managementcontextdeletion"
SECRET_FINALIZER = "finalizers.gravitee.io/managementcontextSecret"
LAST_SECRET_REF = "gravitee.io/last-secret-ref"
SPEC_HASH = "gravitee.io/last-spec-hash"


def _secret_auth(name: str) -> dict[str, Any]:
    return {"secretRef": {"name": name}}


async def test_context_is_probed_and_accepted_with_finalizer_and_events(env: Env):
    mark = env.apim.requests.mark()
    await env.create(context("apim", env.apim))

    accepted = await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    assert accepted["reason"] == "Accepted"
    assert accepted["message"] == "Successfully reconciled"
    resolved = await env.wait_condition(MANAGEMENT_CONTEXTS, "apim", type_="ResolvedRefs")
    assert resolved["reason"] == "ResolvedRefs"
    assert resolved["message"] == "All References successfully resolved"

    obj = await env.get(MANAGEMENT_CONTEXTS, "apim")
    assert CONTEXT_FINALIZER in finalizers(obj)
    assert len(annotations_of(obj)[SPEC_HASH]) == 64
    # ManagementContext status carries conditions only (no processingStatus).
    assert "processingStatus" not in obj["status"]
    probes = env.apim.requests.find(method="GET", path=V2_ENV_PATH, since=mark)
    assert probes
    assert probes[0].status == 200
    assert probes[0].auth_scheme == "basic"
    assert probes[0].user == "admin"
    # A context reconcile never writes to APIM.
    assert env.apim.requests.writes(since=mark) == []
    events = await env.events("apim")
    assert [e["reason"] for e in events][:2] == ["UpdateStarted", "UpdateSucceeded"]
    assert {e["type"] for e in events} == {"Normal"}
    assert {e["source"]["component"] for e in events} == {"managementcontext-controller"}


@pytest.mark.parametrize(
    "auth",
    [
        {"bearerToken": "apim-sim-token"},
        # Both given: the token wins (docs/behavior/management-context.md#credentials).
        {
            "bearerToken": "apim-sim-token",
            "credentials": {"username": "admin", "password": "wrong"},
        },
    ],
    ids=["token", "token-and-credentials"],
)
async def test_bearer_token_is_sent_as_bearer(env: Env, auth: dict[str, Any]):
    mark = env.apim.requests.mark()
    await env.create(context("apim", env.apim, auth=auth))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    probe = env.apim.requests.find(method="GET", path=V2_ENV_PATH, since=mark)[0]
    assert probe.auth_scheme == "bearer"
    assert probe.status == 200


async def test_unreachable_apim_is_reported_in_accepted(env: Env):
    url = closed_port_url()
    manifest = context("apim", env.apim)
    manifest["spec"]["baseUrl"] = url
    await env.create(manifest)

    refused = await env.wait_condition(MANAGEMENT_CONTEXTS, "apim", "False")
    assert refused["reason"] == "ControlPlaneError"
    assert refused["message"].startswith(f"unable to reach APIM, [{url}] is not available")
    resolved = await env.condition(MANAGEMENT_CONTEXTS, "apim", "ResolvedRefs")
    assert resolved is not None
    assert resolved["status"] == "True"


@pytest.mark.parametrize("suffix", ["/management", "/management/"])
async def test_base_url_ending_with_management_is_refused_with_the_fix(env: Env, suffix: str):
    manifest = context("apim", env.apim)
    manifest["spec"]["baseUrl"] = env.apim.url + suffix
    await env.create(manifest)

    refused = await env.wait_condition(MANAGEMENT_CONTEXTS, "apim", "False")
    assert refused["reason"] == "IllegalStateError"
    assert refused["message"] == (
        f"invalid management context [team/apim]: [baseUrl] {env.apim.url}{suffix} ends with "
        "/management, so every APIM call would go to /management/management/... and fail: set "
        f"baseUrl to {env.apim.url} (the operator adds /management itself), or set spec.path "
        "if APIM is really served under another prefix"
    )
    assert refused["message"] in event_messages(await env.events("apim"), "UpdateFailed")

    await env.patch(MANAGEMENT_CONTEXTS, "apim", {"spec": {"baseUrl": env.apim.url}})
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")


@pytest.mark.parametrize(
    "auth",
    [
        {"credentials": {"username": "admin", "password": "Wr0ng-Pa55word"}},
        {"bearerToken": "Wr0ng-Pa55word"},
    ],
    ids=["basic", "bearer"],
)
async def test_bad_credentials_are_reported_and_never_leaked(env: Env, auth: dict[str, Any]):
    await env.create(context("apim", env.apim, auth=auth))

    rejected = await env.wait_condition(MANAGEMENT_CONTEXTS, "apim", "False")
    assert rejected["reason"] == "ControlPlaneError"
    assert rejected["message"] == "bad credentials for context [apim]"
    events = await env.events("apim")
    assert [e["reason"] for e in events][:2] == ["UpdateStarted", "UpdateFailed"]
    failed = next(e for e in events if e["reason"] == "UpdateFailed")
    assert failed["type"] == "Warning"
    assert failed["message"] == "bad credentials for context [apim]"
    obj = await env.get(MANAGEMENT_CONTEXTS, "apim")
    assert leaks(obj["status"], "Wr0ng-Pa55word") == []
    assert leaks(events, "Wr0ng-Pa55word") == []


async def test_unknown_environment_is_reported_and_not_retried(env: Env):
    await env.create(context("apim", env.apim, environmentId="unknown"))

    rejected = await env.wait_condition(MANAGEMENT_CONTEXTS, "apim", "False")
    assert rejected["reason"] == "ControlPlaneError"
    assert "Invalid organization or environment" in rejected["message"]
    probe_path = "/management/v2/organizations/DEFAULT/environments/unknown"
    assert rejected["message"].startswith(
        f"request [GET] {env.apim.url}{probe_path} failed with status 400"
    )
    # 400 is not recoverable: after the first failure the context is left alone.
    await settle(env, await env.get(MANAGEMENT_CONTEXTS, "apim"))
    assert len(env.apim.requests.find(method="GET", path=probe_path)) == 1


async def test_credentials_from_secret_ref_hold_the_secret(env: Env):
    await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
    mark = env.apim.requests.mark()
    await env.create(context("apim", env.apim, auth=_secret_auth("apim-creds")))

    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    obj = await env.get(MANAGEMENT_CONTEXTS, "apim")
    assert annotations_of(obj)[LAST_SECRET_REF] == "team/apim-creds"
    held = await env.get(SECRETS, "apim-creds")
    assert SECRET_FINALIZER in finalizers(held)
    probe = env.apim.requests.find(method="GET", path=V2_ENV_PATH, since=mark)[0]
    assert probe.auth_scheme == "basic"
    assert probe.user == "admin"


async def test_bearer_token_from_secret_ref(env: Env):
    await env.create(secret("apim-token", {"bearerToken": "apim-sim-token"}))
    mark = env.apim.requests.mark()
    await env.create(context("apim", env.apim, auth=_secret_auth("apim-token")))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    probe = env.apim.requests.find(method="GET", path=V2_ENV_PATH, since=mark)[0]
    assert probe.auth_scheme == "bearer"


async def test_missing_auth_secret_then_created(env: Env):
    await env.create(context("apim", env.apim, auth=_secret_auth("apim-creds")))

    unresolved = await env.wait_condition(
        MANAGEMENT_CONTEXTS, "apim", "False", type_="ResolvedRefs"
    )
    assert unresolved["reason"] == "ResolvedRefs"
    assert unresolved["message"] == 'secrets "apim-creds" not found'
    accepted = await env.condition(MANAGEMENT_CONTEXTS, "apim")
    assert accepted is not None
    assert (accepted["status"], accepted["reason"], accepted["message"]) == (
        "False",
        "ReconcileFailed",
        missing_ref('secrets "apim-creds" not found'),
    )

    await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    held = await env.get(SECRETS, "apim-creds")
    assert SECRET_FINALIZER in finalizers(held)


async def test_switching_secrets_releases_the_old_one(env: Env):
    await env.create(secret("creds-a", {"username": "admin", "password": "admin"}))
    await env.create(secret("creds-b", {"username": "admin", "password": "admin"}))
    await env.create(context("apim", env.apim, auth=_secret_auth("creds-a")))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")

    await env.patch(MANAGEMENT_CONTEXTS, "apim", {"spec": {"auth": _secret_auth("creds-b")}})

    await wait_object(
        env,
        MANAGEMENT_CONTEXTS,
        "apim",
        lambda o: annotations_of(o).get(LAST_SECRET_REF) == "team/creds-b",
        what="last-secret-ref to follow the switch",
    )
    await wait_object(
        env, SECRETS, "creds-b", lambda o: SECRET_FINALIZER in finalizers(o), what="new held"
    )
    await wait_object(
        env,
        SECRETS,
        "creds-a",
        lambda o: SECRET_FINALIZER not in finalizers(o),
        what="old secret released",
    )
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")


async def test_dropping_secret_ref_releases_it_and_it_can_be_deleted(env: Env):
    await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
    await env.create(context("apim", env.apim, auth=_secret_auth("apim-creds")))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")

    await env.patch(
        MANAGEMENT_CONTEXTS,
        "apim",
        {
            "spec": {
                "auth": {
                    "secretRef": None,
                    "credentials": {"username": "admin", "password": "admin"},
                }
            }
        },
    )
    await wait_object(
        env,
        MANAGEMENT_CONTEXTS,
        "apim",
        lambda o: annotations_of(o).get(LAST_SECRET_REF) == "",
        what="last-secret-ref cleared",
    )
    await wait_object(
        env, SECRETS, "apim-creds", lambda o: not finalizers(o), what="secret released"
    )
    await env.delete(SECRETS, "apim-creds")
    await env.wait_gone(SECRETS, "apim-creds")
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")

    await env.delete(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim")


async def test_secret_in_use_is_kept_until_its_context_is_deleted(env: Env):
    await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
    await env.create(context("apim", env.apim, auth=_secret_auth("apim-creds")))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")

    await env.delete(SECRETS, "apim-creds")
    terminating = await wait_object(
        env,
        SECRETS,
        "apim-creds",
        lambda o: bool(o["metadata"].get("deletionTimestamp")),
        what="secret terminating",
    )
    assert finalizers(terminating) == [SECRET_FINALIZER]

    await env.delete(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_gone(SECRETS, "apim-creds")
    reasons = await env.deletion_reasons("apim")
    assert "DeleteStarted" in reasons


async def test_shared_secret_stays_held_while_another_context_uses_it(env: Env):
    await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
    await env.create(context("one", env.apim, auth=_secret_auth("apim-creds")))
    await env.create(context("two", env.apim, auth=_secret_auth("apim-creds")))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "one")
    await env.wait_condition(MANAGEMENT_CONTEXTS, "two")

    await env.delete(MANAGEMENT_CONTEXTS, "one")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "one")
    await settle(env)
    assert SECRET_FINALIZER in finalizers(await env.get(SECRETS, "apim-creds"))

    await env.delete(MANAGEMENT_CONTEXTS, "two")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "two")
    await wait_object(
        env, SECRETS, "apim-creds", lambda o: not finalizers(o), what="secret released"
    )


async def test_context_change_re_sends_every_dependant(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(v4_api("petstore"))
    await env.create(v2_api("legacy"))
    await env.create(application("app"))
    for kind, name in (
        (API_V4_DEFINITIONS, "petstore"),
        (API_DEFINITIONS, "legacy"),
        (APPLICATIONS, "app"),
    ):
        await env.wait_condition(kind, name)

    mark = env.apim.requests.mark()
    await env.patch(
        MANAGEMENT_CONTEXTS,
        "apim",
        {"spec": {"auth": {"credentials": None, "bearerToken": "apim-sim-token"}}},
    )

    v4 = await wait_request(
        env, method="PUT", path=APIS_V4_PATH, since=mark, body_field=("hrid", "team-petstore")
    )
    v2 = await wait_request(env, method="PUT", path=IMPORT_CRD_PATH, since=mark)
    app = await wait_request(
        env, method="PUT", path=APPLICATIONS_PATH, since=mark, body_field=("hrid", "team-app")
    )
    # The dependants use the context's new credentials.
    assert {v4.auth_scheme, v2.auth_scheme, app.auth_scheme} == {"bearer"}
    assert {v4.status, v2.status, app.status} == {200}


async def test_auth_secret_change_re_sends_every_dependant(env: Env):
    env.apim.faults.set_credentials(users={"admin": "admin", "ops": "rotated"})
    await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
    await env.create(context("apim", env.apim, auth=_secret_auth("apim-creds")))
    await env.create(v4_api("petstore"))
    await env.create(application("app"))
    await env.wait_condition(API_V4_DEFINITIONS, "petstore")
    await env.wait_condition(APPLICATIONS, "app")

    mark = env.apim.requests.mark()
    await env.patch(
        SECRETS,
        "apim-creds",
        {"data": secret("x", {"username": "ops", "password": "rotated"})["data"]},
    )

    v4 = await wait_request(
        env, method="PUT", path=APIS_V4_PATH, since=mark, body_field=("hrid", "team-petstore")
    )
    app = await wait_request(
        env, method="PUT", path=APPLICATIONS_PATH, since=mark, body_field=("hrid", "team-app")
    )
    assert (v4.user, app.user) == ("ops", "ops")
    # The context itself re-checks the new credentials.
    probe = await env.apim.requests.wait_for(
        lambda e: e.method == "GET" and e.path == V2_ENV_PATH, since=mark
    )
    assert probe.user == "ops"


async def test_unrelated_secret_change_sends_nothing(env: Env):
    await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
    await env.create(secret("unrelated", {"token": "one"}))
    await env.create(context("apim", env.apim, auth=_secret_auth("apim-creds")))
    await env.create(application("app"))
    await env.wait_condition(APPLICATIONS, "app")
    await settle(env)

    mark = env.apim.requests.mark()
    patched = await env.patch(SECRETS, "unrelated", {"data": secret("x", {"token": "two"})["data"]})
    await settle(env, patched)
    assert env.apim.requests.since(mark) == []


DEPENDANTS = [
    pytest.param(
        v2_api("legacy"),
        API_DEFINITIONS,
        "APIs",
        "apidefinitions.gravitee.io",
        id="v2-api",
    ),
    pytest.param(
        v4_api("petstore"),
        API_V4_DEFINITIONS,
        "APIs",
        "apiv4definitions.gravitee.io",
        id="v4-api",
    ),
    pytest.param(
        application("app"),
        APPLICATIONS,
        "applications",
        "applications.gravitee.io",
        id="application",
    ),
]


@pytest.mark.parametrize(("dependant", "kind", "label", "resource"), DEPENDANTS)
async def test_deletion_blocked_while_referenced_then_completes(
    env: Env, dependant, kind, label, resource
):
    await env.create(context("apim", env.apim))
    await env.create(dependant)
    name = dependant["metadata"]["name"]
    await env.wait_condition(kind, name)

    await env.delete(MANAGEMENT_CONTEXTS, "apim")

    expected = (
        f"[apim] cannot be deleted because 1 {label} are relying on this context: "
        f"{kind.kind} team/{name}. You can review those by running the following command: "
        f"kubectl get {resource} -A -o jsonpath='{{range "
        ".items[?(@.spec.contextRef.name==\"apim\")]}{.kind} "
        '{.metadata.namespace}/{.metadata.name}{"\\n"}{end}\''
    )

    async def delete_failed():
        events = await env.events("apim")
        return next((e for e in events if e["reason"] == "DeleteFailed"), None)

    failed = await wait_for(delete_failed, what="DeleteFailed event")
    assert failed["type"] == "Warning"
    assert failed["message"] == expected
    blocked = await wait_object(
        env,
        MANAGEMENT_CONTEXTS,
        "apim",
        lambda o: (condition(o, "Accepted") or {}).get("status") == "False",
        what="context status saying why it is not deleted",
    )
    assert (condition(blocked, "Accepted") or {}).get("message") == expected
    assert blocked["metadata"].get("deletionTimestamp")
    assert CONTEXT_FINALIZER in finalizers(blocked)

    await env.delete(kind, name)
    await env.wait_gone(kind, name)
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim")
    reasons = await env.deletion_reasons("apim")
    assert reasons[-1] == "DeleteSucceeded"


async def test_unreferenced_context_deletes_cleanly(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    mark = env.apim.requests.mark()

    await env.delete(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim")

    reasons = await env.deletion_reasons("apim")
    assert reasons[-2:] == ["DeleteStarted", "DeleteSucceeded"]
    assert env.apim.requests.writes(since=mark) == []


@pytest.mark.parametrize("status", [403, 404, 500, 503])
async def test_other_probe_answers_do_not_fail_the_context(env: Env, status: int):
    """Upstream's probe only rejects 400 and 401 (docs/behavior/management-context.md): a token
    allowed to import but not to read the environment (403), a proxy hiding the endpoint (404) or
    a flaky APIM (5xx) must not mark the context as broken."""
    env.apim.faults.fail_fraction(1.0, method="GET", path_prefix=V2_ENV_PATH, status=status)
    await env.create(context("apim", env.apim))

    accepted = await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    assert accepted["message"] == "Successfully reconciled"
    probes = env.apim.requests.find(method="GET", path=V2_ENV_PATH)
    assert [p.status for p in probes] == [status]


async def test_cross_namespace_references(env: Env):
    """A context and its Secret in one namespace, used from another namespace."""
    await create_namespace(env, "shared")
    shared_secret = secret("apim-creds", {"username": "admin", "password": "admin"})
    shared_secret["metadata"]["namespace"] = "shared"
    await env.create(shared_secret)
    shared_context = context(
        "apim", env.apim, auth={"secretRef": {"name": "apim-creds", "namespace": "shared"}}
    )
    shared_context["metadata"]["namespace"] = "shared"
    await env.create(shared_context)
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim", namespace="shared")
    held = await env.get(SECRETS, "apim-creds", namespace="shared")
    assert SECRET_FINALIZER in finalizers(held)
    obj = await env.get(MANAGEMENT_CONTEXTS, "apim", namespace="shared")
    assert annotations_of(obj)[LAST_SECRET_REF] == "shared/apim-creds"

    app = application("app")
    app["spec"]["contextRef"] = {"name": "apim", "namespace": "shared"}
    await env.create(app)
    await env.wait_condition(APPLICATIONS, "app")

    await env.delete(MANAGEMENT_CONTEXTS, "apim", namespace="shared")
    blocked = await wait_object(
        env,
        MANAGEMENT_CONTEXTS,
        "apim",
        lambda o: (condition(o, "Accepted") or {}).get("status") == "False",
        what="deletion blocked by a dependant in another namespace",
        namespace="shared",
    )
    assert "cannot be deleted because 1 applications" in (condition(blocked, "Accepted") or {}).get(
        "message", ""
    )
    await env.delete(APPLICATIONS, "app")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim", namespace="shared")
    await wait_object(
        env,
        SECRETS,
        "apim-creds",
        lambda o: not finalizers(o),
        what="secret released",
        namespace="shared",
    )


async def test_blocked_deletion_completes_when_the_dependant_moves_away(env: Env):
    await env.create(context("old", env.apim))
    await env.create(context("new", env.apim))
    await env.create(application("app", context_ref="old"))
    await env.wait_condition(APPLICATIONS, "app")

    await env.delete(MANAGEMENT_CONTEXTS, "old")
    await wait_object(
        env,
        MANAGEMENT_CONTEXTS,
        "old",
        lambda o: (condition(o, "Accepted") or {}).get("status") == "False",
        what="deletion blocked",
    )
    await env.patch(APPLICATIONS, "app", {"spec": {"contextRef": {"name": "new"}}})
    await env.wait_gone(MANAGEMENT_CONTEXTS, "old")
    await env.wait_condition(APPLICATIONS, "app")


async def test_bad_credentials_from_a_secret_are_never_leaked(env: Env):
    wrong = "S3cret-From-Secret"
    await env.create(secret("apim-creds", {"username": "admin", "password": wrong}))
    await env.create(context("apim", env.apim, auth=_secret_auth("apim-creds")))
    await env.create(application("app"))

    rejected = await env.wait_condition(MANAGEMENT_CONTEXTS, "apim", "False")
    assert rejected["message"] == "bad credentials for context [apim]"
    app_failed = await env.wait_condition(APPLICATIONS, "app", "False")
    assert "failed with status 401" in app_failed["message"]
    for kind, name in ((MANAGEMENT_CONTEXTS, "apim"), (APPLICATIONS, "app")):
        obj = await env.get(kind, name)
        assert leaks(obj["status"], wrong) == []
        assert leaks(obj["metadata"], wrong) == []
        assert leaks(await env.events(name), wrong) == []

    # Fixing the Secret heals the context and its dependants (401 is not retried by itself).
    await env.patch(SECRETS, "apim-creds", {"data": secret("x", {"password": "admin"})["data"]})
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_condition(APPLICATIONS, "app")


async def test_switch_to_a_missing_secret_keeps_the_old_one_until_the_new_one_exists(env: Env):
    await env.create(secret("creds-a", {"username": "admin", "password": "admin"}))
    await env.create(context("apim", env.apim, auth=_secret_auth("creds-a")))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")

    await env.patch(MANAGEMENT_CONTEXTS, "apim", {"spec": {"auth": _secret_auth("creds-b")}})
    unresolved = await env.wait_condition(
        MANAGEMENT_CONTEXTS, "apim", "False", type_="ResolvedRefs"
    )
    assert unresolved["message"] == 'secrets "creds-b" not found'
    obj = await env.get(MANAGEMENT_CONTEXTS, "apim")
    assert annotations_of(obj)[LAST_SECRET_REF] == "team/creds-a"
    assert SECRET_FINALIZER in finalizers(await env.get(SECRETS, "creds-a"))

    await env.create(secret("creds-b", {"username": "admin", "password": "admin"}))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await wait_object(
        env,
        SECRETS,
        "creds-a",
        lambda o: SECRET_FINALIZER not in finalizers(o),
        what="old secret released",
    )
    obj = await env.get(MANAGEMENT_CONTEXTS, "apim")
    assert annotations_of(obj)[LAST_SECRET_REF] == "team/creds-b"
    assert SECRET_FINALIZER in finalizers(await env.get(SECRETS, "creds-b"))


async def test_context_with_a_missing_secret_can_be_deleted(env: Env):
    await env.create(context("apim", env.apim, auth=_secret_auth("never-created")))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim", "False", type_="ResolvedRefs")
    await env.delete(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim")


async def test_removing_auth_releases_the_secret(env: Env):
    """Upstream scenario delete_withContext_for_secret: drop ``auth`` altogether, then the
    Secret and the context both delete cleanly."""
    await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
    await env.create(context("apim", env.apim, auth=_secret_auth("apim-creds")))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")

    await env.patch(MANAGEMENT_CONTEXTS, "apim", {"spec": {"auth": None}})
    await wait_object(
        env, SECRETS, "apim-creds", lambda o: not finalizers(o), what="secret released"
    )
    obj = await env.get(MANAGEMENT_CONTEXTS, "apim")
    assert annotations_of(obj)[LAST_SECRET_REF] == ""
    await env.delete(SECRETS, "apim-creds")
    await env.wait_gone(SECRETS, "apim-creds")
    await env.delete(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim")


async def test_auth_secret_rotated_while_operator_down(kubeapi, apim):
    apim.faults.set_credentials(users={"admin": "admin", "ops": "rotated"})
    async with operator_env(kubeapi, apim) as env:
        await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
        await env.create(context("apim", apim, auth=_secret_auth("apim-creds")))
        await env.create(application("app"))
        await env.wait_condition(APPLICATIONS, "app")
        await settle(env)

    mark = apim.requests.mark()
    await patch_offline(
        kubeapi,
        SECRETS,
        "apim-creds",
        {"data": secret("x", {"username": "ops", "password": "rotated"})["data"]},
    )
    async with operator_env(kubeapi, apim) as env:
        await settle(env)
        sent = [(e.method, e.path, e.user) for e in apim.requests.since(mark)]
        assert ("GET", V2_ENV_PATH, "ops") in sent
        assert ("PUT", APPLICATIONS_PATH, "ops") in sent
        assert all(user == "ops" for _, _, user in sent)


async def test_deletion_message_counts_the_dependants(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    for name in ("app-1", "app-2"):
        await env.create(application(name))
        await env.wait_condition(APPLICATIONS, name)

    await env.delete(MANAGEMENT_CONTEXTS, "apim")
    blocked = await wait_object(
        env,
        MANAGEMENT_CONTEXTS,
        "apim",
        lambda o: (condition(o, "Accepted") or {}).get("status") == "False",
        what="deletion blocked",
    )
    message = (condition(blocked, "Accepted") or {}).get("message", "")
    assert message.startswith(
        "[apim] cannot be deleted because 2 applications are relying on this context: "
        "Application team/app-1, Application team/app-2. "
    )

    await env.delete(APPLICATIONS, "app-1")
    await env.wait_gone(APPLICATIONS, "app-1")
    await wait_object(
        env,
        MANAGEMENT_CONTEXTS,
        "apim",
        lambda o: "because 1 applications" in (condition(o, "Accepted") or {}).get("message", ""),
        what="count follows the remaining dependants",
    )
    await env.delete(APPLICATIONS, "app-2")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim")


async def test_deletion_message_counts_and_names_every_kind_of_dependant(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(v4_api("petstore"))
    await env.create(application("app"))
    await env.wait_condition(API_V4_DEFINITIONS, "petstore")
    await env.wait_condition(APPLICATIONS, "app")

    await env.delete(MANAGEMENT_CONTEXTS, "apim")
    blocked = await wait_object(
        env,
        MANAGEMENT_CONTEXTS,
        "apim",
        lambda o: (condition(o, "Accepted") or {}).get("status") == "False",
        what="deletion blocked",
    )
    message = (condition(blocked, "Accepted") or {}).get("message", "")
    assert message.startswith(
        "[apim] cannot be deleted because 2 objects are relying on this context: "
        "ApiV4Definition team/petstore, Application team/app. "
    )
    assert "kubectl get apiv4definitions.gravitee.io,applications.gravitee.io -A" in message


async def test_deleting_a_secret_still_in_use_warns_on_the_secret_and_its_users(env: Env):
    await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
    await env.create(context("apim", env.apim, auth=_secret_auth("apim-creds")))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await wait_object(env, SECRETS, "apim-creds",
                      lambda o: SECRET_FINALIZER in finalizers(o), what="secret held")

    await env.delete(SECRETS, "apim-creds")

    async def warned(name: str, reason: str) -> dict[str, Any] | None:
        return next((e for e in await env.events(name) if e["reason"] == reason), None)

    on_secret = await wait_for(lambda: warned("apim-creds", "DeletionBlocked"),
                               what="Warning on the Secret")
    assert on_secret["type"] == "Warning"
    assert on_secret["involvedObject"]["kind"] == "Secret"
    assert on_secret["message"].startswith(
        "secret [team/apim-creds] is being deleted but 1 objects still use it: "
        "ManagementContext team/apim. "
    )
    on_user = await wait_for(lambda: warned("apim", "ReferenceDeleting"),
                             what="Warning on the context")
    assert on_user["type"] == "Warning"
    assert on_user["message"].startswith(
        "secret [team/apim-creds], which this object reads, is being deleted"
    )
    assert "admin" not in on_secret["message"] + on_user["message"]

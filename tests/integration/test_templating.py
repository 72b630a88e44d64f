"""``[[ secret `name/key` ]]`` / ``[[ configmap `name/key` ]]`` templating end to end: APIM
receives resolved values, failures map to the upstream conditions, source changes re-send, and
the sources carry (then lose) the bookkeeping annotations and finalizer
(docs/behavior/templating.md).

The operator runs in-process against the Kubernetes API emulator and the APIM simulator.
"""

import json
from typing import Any

import pytest

from controller.config import Settings
from controller.kube.kinds import (
    API_DEFINITIONS,
    API_V4_DEFINITIONS,
    APPLICATIONS,
    CONFIG_MAPS,
    MANAGEMENT_CONTEXTS,
    SECRETS,
)
from sim.apim.requestlog import LoggedRequest
from sim.apim.testing import start_simulator
from tests.integration.context_app_helpers import (
    APIS_V4_PATH,
    APPLICATIONS_PATH,
    IMPORT_CRD_PATH,
    V2_ENV_PATH,
    annotations_of,
    app_puts,
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
    configmap,
    context,
    missing_ref,
    operator_env,
    secret,
    v2_api,
    v4_api,
    wait_for,
)

TEMPLATING_FINALIZER = "finalizers.gravitee.io/templating"
REFERENCES = "gravitee.io/references"
SOURCE = "graviteeio-templating"


def v4_puts(env: Env, *, since: int = 0) -> list[LoggedRequest]:
    return env.apim.requests.find(method="PUT", path=APIS_V4_PATH, since=since)


def endpoint_target(body: dict[str, Any]) -> str:
    target: str = body["endpointGroups"][0]["endpoints"][0]["configuration"]["target"]
    return target


def templated_v4(name: str, *, target: str, description: str) -> dict[str, Any]:
    manifest = v4_api(name, description=description)
    endpoint = manifest["spec"]["endpointGroups"][0]["endpoints"][0]
    endpoint["configuration"]["target"] = target
    return manifest


async def test_v4_api_receives_resolved_values(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(secret("backend", {"url": "https://backend.internal/echo"}))
    await env.create(configmap("api-texts", {"description": "Pets, resolved"}))
    mark = env.apim.requests.mark()
    await env.create(
        templated_v4(
            "petstore",
            target="[[ secret `backend/url` ]]",
            description='[[ configmap "api-texts/description" ]] (v[[ "1" ]])',
        )
    )

    await env.wait_condition(API_V4_DEFINITIONS, "petstore")
    [put] = v4_puts(env, since=mark)
    assert endpoint_target(put.body) == "https://backend.internal/echo"
    assert put.body["description"] == "Pets, resolved (v1)"
    # The live spec is never written back: the CR keeps its templates.
    obj = await env.get(API_V4_DEFINITIONS, "petstore")
    assert endpoint_target(obj["spec"]) == "[[ secret `backend/url` ]]"
    # Non-string values pass through untouched.
    assert put.body["endpointGroups"][0]["endpoints"][0]["inheritConfiguration"] is False


async def test_v2_api_receives_resolved_values(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(secret(SOURCE, {"description": "v2 from a secret"}))
    mark = env.apim.requests.mark()
    await env.create(v2_api("legacy", description=f"[[ secret `{SOURCE}/description` ]]"))

    await env.wait_condition(API_DEFINITIONS, "legacy")
    put = await wait_request(env, method="PUT", path=IMPORT_CRD_PATH, since=mark)
    assert put.body["description"] == "v2 from a secret"


async def test_application_receives_resolved_values(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(configmap(SOURCE, {"domain": "apps.example.com"}))
    await env.create(secret("app-texts", {"description": "resolved description"}))
    mark = env.apim.requests.mark()
    await env.create(
        application(
            "app",
            domain=f'[[ configmap "{SOURCE}/domain" ]]',
            description="[[ secret `app-texts/description` ]]",
            metadata=[{"name": "owner", "value": "[[ secret `app-texts/description` ]]"}],
        )
    )

    await env.wait_condition(APPLICATIONS, "app")
    [put] = app_puts(env, since=mark)
    assert put.body["domain"] == "apps.example.com"
    assert put.body["description"] == "resolved description"
    # Strings nested in lists are templated too.
    assert put.body["metadata"] == [{"name": "owner", "value": "resolved description"}]


async def test_context_credentials_from_templates(env: Env):
    await env.create(secret("apim-token", {"token": "apim-sim-token"}))
    await env.create(configmap("apim-settings", {"url": env.apim.url}))
    mark = env.apim.requests.mark()
    manifest = context("apim", env.apim, auth={"bearerToken": "[[ secret `apim-token/token` ]]"})
    manifest["spec"]["baseUrl"] = '[[ configmap "apim-settings/url" ]]'
    await env.create(manifest)
    await env.create(application("app"))

    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_condition(APPLICATIONS, "app")
    probe = env.apim.requests.find(method="GET", path=V2_ENV_PATH, since=mark)[0]
    assert probe.auth_scheme == "bearer"
    # A dependant resolves the context's templates too.
    put = app_puts(env, since=mark)[-1]
    assert put.auth_scheme == "bearer"
    token = await env.get(SECRETS, "apim-token")
    assert json.loads(annotations_of(token)["gravitee.io/managementcontexts"]) == ["team/apim"]
    assert TEMPLATING_FINALIZER in finalizers(token)


@pytest.mark.parametrize("kind", ["secret", "configmap"])
async def test_missing_key_is_a_compile_error_and_nothing_is_sent(env: Env, kind: str):
    source = secret if kind == "secret" else configmap
    source_kind = SECRETS if kind == "secret" else CONFIG_MAPS
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(source(SOURCE, {"known": "value"}))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    mark = env.apim.requests.mark()
    await env.create(application("app", domain=f"[[ {kind} `{SOURCE}/unknown` ]]"))

    failed = await env.wait_condition(APPLICATIONS, "app", "False")
    assert failed["reason"] == "CompileTemplateError"
    assert failed["message"] == f"key [unknown] not found in {kind} [team/{SOURCE}]"
    resolved = await env.condition(APPLICATIONS, "app", "ResolvedRefs")
    assert resolved is not None
    assert resolved["status"] == "True"
    obj = await env.get(APPLICATIONS, "app")
    assert obj["status"]["processingStatus"] == "Failed"
    await settle(env, obj)
    assert env.apim.requests.writes(since=mark) == []
    # Upstream compiles templates before the event pair and emits no Event for this failure;
    # here every failure says so in one Warning Event (and the pair never starts).
    assert await env.event_reasons("app") == ["UpdateFailed"]

    # Adding the key to the source re-triggers the application.
    patched = await env.patch(
        source_kind, SOURCE, {"data": source("x", {"unknown": "now-known"})["data"]}
    )
    await wait_request(env, method="PUT", path=APPLICATIONS_PATH, since=mark)
    await env.wait_condition(APPLICATIONS, "app")
    assert app_puts(env, since=mark)[-1].body["domain"] == "now-known"
    assert patched is not None


async def test_empty_value_is_a_compile_error(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(configmap(SOURCE, {"empty": ""}))
    await env.create(application("app", domain=f"[[ configmap `{SOURCE}/empty` ]]"))
    failed = await env.wait_condition(APPLICATIONS, "app", "False")
    assert failed["reason"] == "CompileTemplateError"
    assert failed["message"] == f"key [empty] not found in configmap [team/{SOURCE}]"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("[[ secret `no-key` ]]", "wrong secret name. Example my-secret/key1"),
        ('[[ configmap "" ]]', "empty configmap name"),
        ("[[ secret `a/b/c` ]]", "wrong secret name. Example my-secret/key1"),
    ],
    ids=["no-slash", "empty", "two-slashes"],
)
async def test_malformed_reference_is_a_compile_error(env: Env, template: str, message: str):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(application("app", domain=template))
    failed = await env.wait_condition(APPLICATIONS, "app", "False")
    assert failed["reason"] == "CompileTemplateError"
    assert failed["message"] == message
    assert app_puts(env) == []


@pytest.mark.parametrize("kind", ["secret", "configmap"])
async def test_missing_source_then_created(env: Env, kind: str):
    source = secret if kind == "secret" else configmap
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(application("app", domain=f"[[ {kind} `missing-{kind}/domain` ]]"))

    unresolved = await env.wait_condition(APPLICATIONS, "app", "False", type_="ResolvedRefs")
    assert unresolved["reason"] == "ResolvedRefs"
    assert unresolved["message"] == f"{kind} [team/missing-{kind}] not found"
    accepted = await env.condition(APPLICATIONS, "app")
    assert accepted is not None
    assert (accepted["reason"], accepted["message"]) == (
        "ReconcileFailed", missing_ref(f"{kind} [team/missing-{kind}] not found")
    )
    assert app_puts(env) == []

    await env.create(source(f"missing-{kind}", {"domain": "late.example.com"}))
    await env.wait_condition(APPLICATIONS, "app")
    assert app_puts(env)[-1].body["domain"] == "late.example.com"


async def test_source_data_change_re_sends_the_new_value(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(secret("backend", {"url": "https://one.internal"}))
    await env.create(
        templated_v4("petstore", target="[[ secret `backend/url` ]]", description="pets")
    )
    await env.create(application("app", domain="[[ secret `backend/url` ]]"))
    await env.wait_condition(API_V4_DEFINITIONS, "petstore")
    await env.wait_condition(APPLICATIONS, "app")

    mark = env.apim.requests.mark()
    await env.patch(
        SECRETS, "backend", {"data": secret("x", {"url": "https://two.internal"})["data"]}
    )

    api_put = await wait_request(env, method="PUT", path=APIS_V4_PATH, since=mark)
    app_put = await wait_request(env, method="PUT", path=APPLICATIONS_PATH, since=mark)
    assert endpoint_target(api_put.body) == "https://two.internal"
    assert app_put.body["domain"] == "https://two.internal"


async def test_unchanged_source_metadata_sends_nothing(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(configmap(SOURCE, {"domain": "apps.example.com"}))
    await env.create(application("app", domain=f"[[ configmap `{SOURCE}/domain` ]]"))
    await env.wait_condition(APPLICATIONS, "app")
    await settle(env)

    mark = env.apim.requests.mark()
    # A label is not data: the referencing application must not be re-sent.
    patched = await env.patch(CONFIG_MAPS, SOURCE, {"metadata": {"labels": {"team": "a"}}})
    await settle(env, patched)
    assert env.apim.requests.writes(since=mark) == []


async def test_bookkeeping_on_sources_and_release_on_delete(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(secret(SOURCE, {"url": "https://backend.internal", "domain": "x.example"}))
    await env.create(
        templated_v4("petstore", target=f"[[ secret `{SOURCE}/url` ]]", description="pets")
    )
    await env.create(application("app", domain=f"[[ secret `{SOURCE}/domain` ]]"))
    await env.wait_condition(API_V4_DEFINITIONS, "petstore")
    await env.wait_condition(APPLICATIONS, "app")

    held = await wait_object(
        env,
        SECRETS,
        SOURCE,
        lambda o: annotations_of(o).get(REFERENCES) == "2",
        what="two references recorded",
    )
    notes = annotations_of(held)
    assert notes["gravitee.io/apiv4definitions"] == '["team/petstore"]'
    assert notes["gravitee.io/applications"] == '["team/app"]'
    assert finalizers(held) == [TEMPLATING_FINALIZER]

    await env.delete(APPLICATIONS, "app")
    await env.wait_gone(APPLICATIONS, "app")
    one_left = await wait_object(
        env,
        SECRETS,
        SOURCE,
        lambda o: annotations_of(o).get(REFERENCES) == "1",
        what="application released",
    )
    assert annotations_of(one_left)["gravitee.io/applications"] == "[]"
    assert finalizers(one_left) == [TEMPLATING_FINALIZER]

    # While referenced, the source cannot go away.
    await env.delete(SECRETS, SOURCE)
    terminating = await wait_object(
        env,
        SECRETS,
        SOURCE,
        lambda o: bool(o["metadata"].get("deletionTimestamp")),
        what="source terminating",
    )
    assert finalizers(terminating) == [TEMPLATING_FINALIZER]

    async def warned(name: str, reason: str) -> list[str]:
        return [e["message"] for e in await env.events(name)
                if e["reason"] == reason and e["type"] == "Warning"]

    on_source = await wait_for(lambda: warned(SOURCE, "DeletionBlocked"), what="on the Secret")
    assert on_source[0].startswith(
        f"secret [team/{SOURCE}] is being deleted but 1 objects still use it: "
        "ApiV4Definition team/petstore. "
    )
    await wait_for(lambda: warned("petstore", "ReferenceDeleting"), what="on the API")

    await env.delete(API_V4_DEFINITIONS, "petstore")
    await env.wait_gone(API_V4_DEFINITIONS, "petstore")
    await env.wait_gone(SECRETS, SOURCE)


async def test_context_releases_its_template_sources_on_delete(env: Env):
    await env.create(secret("apim-token", {"token": "apim-sim-token"}))
    await env.create(
        context("apim", env.apim, auth={"bearerToken": "[[ secret `apim-token/token` ]]"})
    )
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await wait_object(
        env,
        SECRETS,
        "apim-token",
        lambda o: annotations_of(o).get(REFERENCES) == "1",
        what="context recorded on its token secret",
    )

    await env.delete(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_gone(MANAGEMENT_CONTEXTS, "apim")
    released = await wait_object(
        env,
        SECRETS,
        "apim-token",
        lambda o: TEMPLATING_FINALIZER not in finalizers(o),
        what="token secret released",
    )
    assert annotations_of(released)["gravitee.io/managementcontexts"] == "[]"
    assert annotations_of(released)[REFERENCES] == "0"


async def test_templated_credentials_never_appear_in_status_or_events(env: Env):
    wrong = "Sup3r-S3cret-Wrong"
    await env.create(secret("apim-creds", {"password": wrong}))
    await env.create(
        context(
            "apim",
            env.apim,
            auth={
                "credentials": {
                    "username": "admin",
                    "password": "[[ secret `apim-creds/password` ]]",
                }
            },
        )
    )
    await env.create(application("app"))

    rejected = await env.wait_condition(MANAGEMENT_CONTEXTS, "apim", "False")
    assert rejected["message"] == "bad credentials for context [apim]"
    app_failed = await env.wait_condition(APPLICATIONS, "app", "False")
    assert app_failed["reason"] == "ControlPlaneError"
    for kind, name in ((MANAGEMENT_CONTEXTS, "apim"), (APPLICATIONS, "app")):
        obj = await env.get(kind, name)
        assert leaks(obj["status"], wrong) == []
        assert leaks(obj["spec"], wrong) == []
        assert leaks(await env.events(name), wrong) == []


async def test_templating_disabled_sends_strings_verbatim(kubeapi, apim):
    settings = Settings(
        probes_port=0,
        metrics_port=0,
        enable_metrics=True,
        max_concurrent_reconciles=4,
        enable_templating=False,
    )
    async with operator_env(kubeapi, apim, settings=settings) as env:
        await env.create(context("apim", apim))
        await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
        await env.create(application("app", domain="[[ secret `absent/domain` ]]"))
        await env.wait_condition(APPLICATIONS, "app")
        [put] = app_puts(env)
        assert put.body["domain"] == "[[ secret `absent/domain` ]]"


async def test_context_token_rotation_through_a_template(env: Env):
    """The context's token comes from a template; rotating the Secret re-checks the context, and
    the next reconcile of a dependant uses the new token."""
    env.apim.faults.set_credentials(tokens=["token-one", "token-two"])
    await env.create(secret("apim-token", {"token": "token-one"}))
    await env.create(
        context("apim", env.apim, auth={"bearerToken": "[[ secret `apim-token/token` ]]"})
    )
    await env.create(application("app"))
    await env.wait_condition(APPLICATIONS, "app")

    mark = env.apim.requests.mark()
    env.apim.faults.set_credentials(tokens=["token-two"])
    await env.patch(SECRETS, "apim-token", {"data": secret("x", {"token": "token-two"})["data"]})
    probe = await env.apim.requests.wait_for(
        lambda e: e.method == "GET" and e.path == V2_ENV_PATH, since=mark
    )
    assert probe.status == 200
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")

    await env.patch(APPLICATIONS, "app", {"spec": {"description": "after rotation"}})
    put = await wait_request(
        env,
        method="PUT",
        path=APPLICATIONS_PATH,
        since=mark,
        body_field=("description", "after rotation"),
    )
    assert put.status == 200


async def test_source_edited_while_operator_down_re_sends(kubeapi, apim):
    async with operator_env(kubeapi, apim) as env:
        await env.create(context("apim", apim))
        await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
        await env.create(configmap(SOURCE, {"domain": "before.example.com"}))
        await env.create(application("app", domain=f"[[ configmap `{SOURCE}/domain` ]]"))
        await env.wait_condition(APPLICATIONS, "app")
        await settle(env)

    mark = apim.requests.mark()
    await patch_offline(kubeapi, CONFIG_MAPS, SOURCE, {"data": {"domain": "after.example.com"}})
    async with operator_env(kubeapi, apim) as env:
        await settle(env)
        puts = app_puts(env, since=mark)
        assert [p.body["domain"] for p in puts] == ["after.example.com"]


async def test_concurrent_users_of_one_source_are_all_recorded(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(secret(SOURCE, {"domain": "shared.example.com"}))
    names = [f"app-{i}" for i in range(4)]
    for name in names:
        await env.create(application(name, domain=f"[[ secret `{SOURCE}/domain` ]]"))
    for name in names:
        await env.wait_condition(APPLICATIONS, name)

    held = await wait_object(
        env,
        SECRETS,
        SOURCE,
        lambda o: annotations_of(o).get(REFERENCES) == "4",
        what="four references recorded",
    )
    users = json.loads(annotations_of(held)["gravitee.io/applications"])
    assert sorted(users) == [f"team/{name}" for name in names]
    assert finalizers(held) == [TEMPLATING_FINALIZER]


async def test_source_also_held_by_a_context_keeps_both_finalizers(env: Env):
    await env.create(
        secret("apim-creds", {"username": "admin", "password": "admin", "domain": "a.example"})
    )
    await env.create(context("apim", env.apim, auth={"secretRef": {"name": "apim-creds"}}))
    await env.create(application("app", domain="[[ secret `apim-creds/domain` ]]"))
    await env.wait_condition(APPLICATIONS, "app")
    both = await wait_object(
        env,
        SECRETS,
        "apim-creds",
        lambda o: len(finalizers(o)) == 2,
        what="context and templating finalizers",
    )
    assert set(finalizers(both)) == {
        TEMPLATING_FINALIZER,
        "finalizers.gravitee.io/managementcontextSecret",
    }

    await env.delete(APPLICATIONS, "app")
    await env.wait_gone(APPLICATIONS, "app")
    context_only = await wait_object(
        env,
        SECRETS,
        "apim-creds",
        lambda o: TEMPLATING_FINALIZER not in finalizers(o),
        what="templating finalizer released",
    )
    assert finalizers(context_only) == ["finalizers.gravitee.io/managementcontextSecret"]


async def test_templated_context_url_change_moves_dependants(env: Env):
    """The context's ``baseUrl`` comes from a ConfigMap; pointing it at another APIM re-sends the
    context's dependants there, as a direct ``baseUrl`` edit does."""
    other = await start_simulator(tokens=["apim-sim-token"])
    try:
        await env.create(configmap("apim-settings", {"url": env.apim.url}))
        manifest = context("apim", env.apim)
        manifest["spec"]["baseUrl"] = "[[ configmap `apim-settings/url` ]]"
        await env.create(manifest)
        await env.create(application("app"))
        await env.wait_condition(APPLICATIONS, "app")

        await env.patch(CONFIG_MAPS, "apim-settings", {"data": {"url": other.url}})
        # The context itself follows (it reads the ConfigMap through its template)...
        await other.requests.wait_for(lambda e: e.method == "GET" and e.path == V2_ENV_PATH)
        await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
        await settle(env)
        # ... and so must its dependants.
        puts = other.requests.find(method="PUT", path=APPLICATIONS_PATH)
        assert [p.body["hrid"] for p in puts] == ["team-app"]
    finally:
        await other.close()


async def test_secret_written_with_string_data(env: Env):
    """Users often write ``stringData``; the API server turns it into ``data``."""
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SOURCE},
            "stringData": {"domain": "plain.example.com"},
        }
    )
    await env.create(application("app", domain=f"[[ secret `{SOURCE}/domain` ]]"))
    await env.wait_condition(APPLICATIONS, "app")
    assert app_puts(env)[-1].body["domain"] == "plain.example.com"

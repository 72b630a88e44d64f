"""One test per admission rule: ``kubectl apply`` refused with upstream's message (or admitted
with a warning), through the API server calling the operator's webhooks
(docs/behavior/admission.md). Runs against the emulator, and against the real kube-apiserver
with ``TESTENV_DIR`` (``make test-real``)."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from controller.keys import ObjectKey
from tests.integration.harness import (
    api_resource,
    application,
    group,
    kind_of,
    notification,
    secret,
    shared_policy_group,
    subscription,
    v2_api,
    v4_api,
    wait_for,
)
from tests.webhooks.stack import Stack, context

pytestmark = pytest.mark.asyncio(loop_scope="module")

PEM = """-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIUW5l0WQvV0hQvM8r0b6yjJ2mX2vEwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNZXhhbXBsZS5sb2NhbDAeFw0yNDAxMDEwMDAwMDBaFw0zNDAx
-----END CERTIFICATE-----"""


async def refused(stack: Stack, obj: dict[str, Any], message: str) -> None:
    result = await stack.apply(obj)
    assert result.refused, f"{obj['kind']} {obj['metadata']['name']} was admitted: {result.out}"
    assert "denied the request" in result.err, result.err
    assert message in result.err, result.err


def v4(name: str, **spec: Any) -> dict[str, Any]:
    return v4_api(name, context_ref="ctx", **spec)


def local_v4(name: str, path: str) -> dict[str, Any]:
    return v4_api(name, context_ref=None, path=path,
                  definitionContext={"origin": "KUBERNETES", "syncFrom": "KUBERNETES"})


# --- every kind: templates ------------------------------------------------------------------


async def test_a_template_that_does_not_compile_refuses_the_object(operator: Stack) -> None:
    api = v4("tpl", description="[[ secret `missing-secret/key` ]]")
    await refused(operator, api, "missing-secret")


async def test_a_template_reading_an_existing_secret_is_admitted(operator: Stack) -> None:
    # The caches hold no Secret data: admission loads what the templates read.
    result = await operator.apply(secret("tpl-source", {"text": "from a secret"}))
    assert result.code == 0, result.err
    result = await operator.apply(
        v4("tpl-ok", state="STOPPED", description="[[ secret `tpl-source/text` ]]")
    )
    assert result.code == 0, result.err


# --- APIs, common rules ---------------------------------------------------------------------


async def test_v4_context_must_exist(operator: Stack) -> None:
    await refused(operator, v4_api("v4-noctx", context_ref="nope"),
                  f"resource [v4-noctx] references management context [{operator.ns}/nope] that "
                  "doesn't exist in the cluster")


async def test_v2_context_must_exist(operator: Stack) -> None:
    await refused(operator, v2_api("v2-noctx", context_ref="nope"),
                  f"resource [v2-noctx] references management context [{operator.ns}/nope] that "
                  "doesn't exist in the cluster")


async def test_v4_started_without_plans(operator: Stack) -> None:
    await refused(operator, v4("v4-noplans", plans={}),
                  "cannot apply API [v4-noplans]. Its state is set to STARTED, but the API has "
                  "no plans. APIs must have at least one plan in order to be deployed.")


async def test_v2_started_without_plans(operator: Stack) -> None:
    await refused(operator, v2_api("v2-noplans", context_ref="ctx", plans=[]),
                  "cannot apply API [v2-noplans]. Its state is set to STARTED, but the API has "
                  "no plans. APIs must have at least one plan in order to be deployed.")


async def test_a_v2_template_is_not_checked(operator: Stack) -> None:
    api = v2_api("v2-template", context_ref="nope", plans=[])
    api["metadata"]["annotations"] = {"gravitee.io/template": "true"}
    result = await operator.apply(api)
    assert result.code == 0, result.err


async def test_context_path_taken_by_another_api(operator: Stack) -> None:
    await operator.applied(local_v4("path-owner", "/taken"))
    await refused(operator, local_v4("path-thief", "/taken/"),
                  f"invalid API context path [/taken]. API [{operator.ns}/path-owner] is already "
                  "defined with the same path")


async def test_resource_reference_must_exist(operator: Stack) -> None:
    await refused(operator, v4("res-ref", resources=[{"ref": {"name": "nope"}}]),
                  f"api references resource [{operator.ns}/nope] that does not exist in the "
                  "cluster")


async def test_inline_resource_needs_its_fields(operator: Stack) -> None:
    await refused(operator,
                  v4("res-inline", resources=[{"name": "cache", "configuration": {"a": 1}}]),
                  "missing required value in property [type]")


async def test_page_parent_must_exist(operator: Stack) -> None:
    pages = {"child": {"name": "child", "type": "MARKDOWN", "parent": "nope",
                       "content": "hello"}}
    await refused(operator, v4("pages", pages=pages),
                  "can not apply API [pages]. Parent page [nope] can not be found for page "
                  "[child]")


async def test_notification_reference_must_exist(operator: Stack) -> None:
    await refused(operator, v4("notif-missing", notificationsRefs=[{"name": "nope"}]),
                  f"api references notification [{operator.ns}/nope] that does not exist in the "
                  "cluster")


async def test_one_console_notification_only(operator: Stack) -> None:
    await operator.applied(notification("n1", apiEvents=["API_STARTED"]),
                           notification("n2", apiEvents=["API_STOPPED"]))
    await refused(operator,
                  v4("notif-two", notificationsRefs=[{"name": "n1"}, {"name": "n2"}]),
                  f"api references notification [{operator.ns}/n2] but there is already another "
                  "console notification referenced")


async def test_notification_without_events_is_a_warning(operator: Stack) -> None:
    await operator.applied(notification("n-empty"))
    result = await operator.apply(
        v4("notif-warn", state="STOPPED", notificationsRefs=[{"name": "n-empty"}])
    )
    assert result.code == 0, result.err
    assert (f"Warning: api references notification [{operator.ns}/n-empty] configured without "
            "any API events") in result.err


async def test_plan_used_by_a_subscription_cannot_go(operator: Stack) -> None:
    api = v4("subscribed", plans={"jwt": {"name": "JWT", "security": {"type": "JWT"}}})
    app_settings = {"app": {"type": "backend", "clientId": "abc"}}
    await operator.applied(api, application("sub-app", context_ref="ctx", settings=app_settings))
    await operator.applied(subscription("sub", api="subscribed", application="sub-app",
                                        plan="jwt"))
    changed = copy.deepcopy(api)
    changed["spec"]["plans"] = {"other": {"name": "Other", "security": {"type": "JWT"}}}
    await refused(operator, changed,
                  f"Plan [jwt] could not be found in API [{operator.ns}/subscribed] but there "
                  "is a subscription referencing it.")


# --- v4 rules -----------------------------------------------------------------------------


async def test_v4_connect_flow_in_a_proxy_api(operator: Stack) -> None:
    flows = [{"name": "f", "enabled": True, "connect": [{"name": "s", "policy": "p"}]}]
    await refused(operator, v4("connect-flow", flows=flows),
                  "Connect Flow is not supported in V4 API [connect-flow]")


def native(name: str, **spec: Any) -> dict[str, Any]:
    api = v4(name, type="NATIVE", **spec)
    api["spec"]["listeners"] = [{"type": "KAFKA", "host": f"{name}.kafka.local", "port": 9092,
                                 "entrypoints": [{"type": "native-kafka"}]}]
    api["spec"]["endpointGroups"] = [{"name": "kafka", "type": "native-kafka",
                                      "endpoints": [{"name": "k", "type": "native-kafka",
                                                     "inheritConfiguration": False,
                                                     "configuration": {
                                                         "bootstrapServers": "k:9092"}}]}]
    return api


async def test_native_flow_execution(operator: Stack) -> None:
    execution = {"mode": "DEFAULT", "matchRequired": False}
    await refused(operator, native("native-exec", flowExecution=execution),
                  "FlowExecution is not supported in Native API [native-exec]")


async def test_native_request_flow(operator: Stack) -> None:
    flows = [{"name": "f", "enabled": True, "request": [{"name": "s", "policy": "p"}]}]
    await refused(operator, native("native-flow", flows=flows),
                  "Request Flow is not supported in Native API [native-flow]")


async def test_native_bootstrap_port_needs_a_range(operator: Stack) -> None:
    plans = {"kp": {"name": "K", "security": {"type": "KEY_LESS"}, "bootstrapPort": 9000}}
    await refused(operator, native("native-ports", plans=plans),
                  "plan [kp] has bootstrapPort set but brokerRangeStart/brokerRangeEnd are "
                  "missing in Native API [native-ports]")


async def test_shared_policy_group_must_exist(operator: Stack) -> None:
    flows = [{"name": "f", "enabled": True,
              "request": [{"sharedPolicyGroupRef": {"name": "nope"}}]}]
    await refused(operator, v4("spg-missing", flows=flows),
                  f"unable to get Shared Policy Group [nope] in namespace [{operator.ns}]")


async def test_v4_type_is_immutable(operator: Stack) -> None:
    api = v4("typed", state="STOPPED")
    await operator.applied(api)
    changed = copy.deepcopy(api)
    changed["spec"]["type"] = "MESSAGE"
    await refused(operator, changed,
                  "it is not possible to change API Type. Old type 'PROXY', new type 'MESSAGE'")


# --- ManagementContext ----------------------------------------------------------------------


def bare_context(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "gravitee.io/v1alpha1", "kind": "ManagementContext",
            "metadata": {"name": name}, "spec": spec}


async def test_context_base_url_is_mandatory(operator: Stack) -> None:
    await refused(operator, bare_context("c1", organizationId="DEFAULT", environmentId="DEFAULT",
                                         auth={"bearerToken": "t"}),
                  "[baseUrl] is mandatory when cloud is not enabled")


async def test_context_base_url_must_be_a_url(operator: Stack) -> None:
    await refused(operator, bare_context("c2", baseUrl="apim.local", organizationId="DEFAULT",
                                         environmentId="DEFAULT", auth={"bearerToken": "t"}),
                  "[baseUrl] is not a valid URL")


async def test_context_auth_is_mandatory(operator: Stack) -> None:
    await refused(operator, bare_context("c3", baseUrl="http://apim.local",
                                         organizationId="DEFAULT", environmentId="DEFAULT"),
                  "[auth] is mandatory when cloud is not enabled")


async def test_context_secret_must_exist(operator: Stack) -> None:
    await refused(operator, bare_context("c4", baseUrl="http://apim.local",
                                         organizationId="DEFAULT", environmentId="DEFAULT",
                                         auth={"secretRef": {"name": "nope"}}),
                  f"secret [{operator.ns}/nope] doesn't exist in the cluster")


# --- ApiResource ----------------------------------------------------------------------------


async def test_api_resource_needs_a_type(operator: Stack) -> None:
    resource = api_resource("r1")
    del resource["spec"]["type"]
    await refused(operator, resource, "missing required value in property [type]")


# --- Application ----------------------------------------------------------------------------


async def test_application_context_must_exist(operator: Stack) -> None:
    await refused(operator, application("app-noctx", context_ref="nope"),
                  f"resource [app-noctx] references management context [{operator.ns}/nope] that "
                  "doesn't exist in the cluster")


async def test_application_oauth_and_simple(operator: Stack) -> None:
    settings = {"app": {"type": "web"},
                "oauth": {"applicationType": "BACKEND_TO_BACKEND",
                          "grantTypes": ["client_credentials"]}}
    await refused(operator, application("app-both", context_ref="ctx", settings=settings),
                  "configuring both OAuth and simple settings is not allowed")


async def test_application_certificate_content_and_ref(operator: Stack) -> None:
    settings = {"app": {"type": "web"},
                "tls": {"clientCertificates": [{"content": PEM, "ref": {"name": "s"}}]}}
    await refused(operator, application("app-cert", context_ref="ctx", settings=settings),
                  "clientCertificates[0]: content and ref cannot both be set")


async def test_application_certificate_ref_must_resolve(operator: Stack) -> None:
    settings = {"app": {"type": "web"},
                "tls": {"clientCertificates": [{"ref": {"name": "no-cert"}}]}}
    await refused(operator, application("app-ref", context_ref="ctx", settings=settings),
                  f"failed to resolve certificate ref [{operator.ns}/no-cert] key [tls.crt]")


async def test_application_certificate_ref_to_an_existing_secret_is_admitted(
    operator: Stack,
) -> None:
    result = await operator.apply(secret("app-cert-src", {"tls.crt": PEM}))
    assert result.code == 0, result.err
    settings = {"app": {"type": "web"},
                "tls": {"clientCertificates": [{"ref": {"name": "app-cert-src"}}]}}
    result = await operator.apply(application("app-ref-ok", context_ref="ctx",
                                              settings=settings))
    assert result.code == 0, result.err


async def test_application_deprecated_certificate_is_a_warning(operator: Stack) -> None:
    settings = {"app": {"type": "web"}, "tls": {"clientCertificate": PEM}}
    result = await operator.apply(application("app-old-cert", context_ref="ctx",
                                              settings=settings))
    assert result.code == 0, result.err
    assert "Warning: clientCertificate is deprecated, use clientCertificates instead" in result.err


async def test_application_cannot_move_from_simple_to_oauth(operator: Stack) -> None:
    app = application("app-move", context_ref="ctx")
    await operator.applied(app)
    changed = copy.deepcopy(app)
    changed["spec"]["settings"] = {"oauth": {"applicationType": "BACKEND_TO_BACKEND",
                                             "grantTypes": ["client_credentials"]}}
    await refused(operator, changed, "moving from simple to Oauth settings is not allowed")


# --- Subscription ---------------------------------------------------------------------------


async def test_subscription_api_must_resolve(operator: Stack) -> None:
    await refused(operator, subscription("sub-noapi", api="nope", application="x", plan="p"),
                  f"unable to resolve API [{operator.ns}/nope]")


async def test_subscription_plan_must_exist(operator: Stack) -> None:
    await operator.applied(v4("sub-api"),
                           application("sub-app2", context_ref="ctx"))
    await refused(operator,
                  subscription("sub-noplan", api="sub-api", application="sub-app2", plan="nope"),
                  f"unable to subscribe to API [{operator.ns}/sub-api] because plan [nope] "
                  "cannot be found")


async def test_subscription_ending_date_in_the_future(operator: Stack) -> None:
    await refused(operator, subscription("sub-date", api="a", application="b", plan="p",
                                         endingAt="2020-01-01T00:00:00Z"),
                  "ending date [2020-01-01T00:00:00Z] should be at least one minute from now")


async def test_subscription_plan_is_immutable(operator: Stack) -> None:
    plans = {"a": {"name": "A", "security": {"type": "JWT"}},
             "b": {"name": "B", "security": {"type": "JWT"}}}
    await operator.applied(v4("imm-api", plans=plans),
                           application("imm-app", context_ref="ctx",
                                       settings={"app": {"type": "backend", "clientId": "imm"}}))
    sub = subscription("imm-sub", api="imm-api", application="imm-app", plan="a")
    await operator.applied(sub)
    changed = copy.deepcopy(sub)
    changed["spec"]["plan"] = "b"
    await refused(operator, changed, "Plan is immutable. Detected change from [a] to [b]")


async def test_subscription_api_must_be_synced_from_management(operator: Stack) -> None:
    gateway_only = {"origin": "KUBERNETES", "syncFrom": "KUBERNETES"}
    await operator.applied(v4("sub-local-api", definitionContext=gateway_only),
                           application("sub-local-app", context_ref="ctx"))
    await refused(operator,
                  subscription("sub-local", api="sub-local-api", application="sub-local-app",
                               plan="key-less"),
                  f"unable to subscribe to API [{operator.ns}/sub-local-api] because its "
                  "definition is not synced from the management API (sourcing subscriptions "
                  "from a Kubernetes cluster is not supported at the moment)")


async def test_subscription_api_must_be_started(operator: Stack) -> None:
    await operator.applied(v4("sub-stopped-api", state="STOPPED"),
                           application("sub-stopped-app", context_ref="ctx"))
    await refused(operator,
                  subscription("sub-stopped", api="sub-stopped-api",
                               application="sub-stopped-app", plan="key-less"),
                  f"unable to subscribe to API [{operator.ns}/sub-stopped-api] because it is "
                  "not started")


async def failed(operator: Stack, obj: dict[str, Any], *, refusing: str) -> None:
    """Apply ``obj`` while APIM refuses every PUT under ``refusing`` (an Automation API
    collection), and wait until its reconcile has failed."""
    operator.apim.faults.fail_fraction(1.0, method="PUT", status=400,
                                       path_prefix=f"/automation/organizations/DEFAULT/"
                                                   f"environments/DEFAULT/{refusing}")
    try:
        await operator.applied(obj)
        assert operator.manager is not None
        store = operator.manager.informers.informer_for(kind_of(obj)).store
        key = ObjectKey(operator.ns, obj["metadata"]["name"])

        async def is_failed() -> bool:
            stored = store.get(key) or {}
            return (stored.get("status") or {}).get("processingStatus") == "Failed"

        await wait_for(is_failed, what=f"{key} failing its reconcile")
    finally:
        operator.apim.faults.clear()


async def test_subscription_api_must_not_be_failed(operator: Stack) -> None:
    await failed(operator, v4("sub-failed-api"), refusing="apis")
    await operator.applied(application("sub-failed-api-app", context_ref="ctx"))
    await refused(operator,
                  subscription("sub-on-failed", api="sub-failed-api",
                               application="sub-failed-api-app", plan="key-less"),
                  f"unable to subscribe to API [{operator.ns}/sub-failed-api] because it is in a "
                  "failed state")


async def test_subscription_application_must_not_be_failed(operator: Stack) -> None:
    await operator.applied(v4("sub-failed-app-api"))
    await failed(operator, application("sub-failed-app", context_ref="ctx"),
                 refusing="applications")
    await refused(operator,
                  subscription("sub-from-failed", api="sub-failed-app-api",
                               application="sub-failed-app", plan="key-less"),
                  f"unable to subscribe from application [{operator.ns}/sub-failed-app] because "
                  "it is in a failed state")


async def test_subscription_state_rules_are_for_new_subscriptions(operator: Stack) -> None:
    """An existing subscription stays editable when its API is stopped afterwards."""
    plans = {"jwt": {"name": "JWT", "security": {"type": "JWT"}}}
    api = v4("later-stopped", plans=plans)
    await operator.applied(api, application("later-app", context_ref="ctx",
                                            settings={"app": {"type": "backend",
                                                              "clientId": "later"}}))
    sub = subscription("later-sub", api="later-stopped", application="later-app", plan="jwt")
    await operator.applied(sub)
    stopped_api = copy.deepcopy(api)
    stopped_api["spec"]["state"] = "STOPPED"
    await operator.applied(stopped_api)
    edited = copy.deepcopy(sub)
    edited["spec"]["metadata"] = {"team": "a"}
    result = await operator.apply(edited)
    assert result.code == 0, result.err


# --- SharedPolicyGroup, Group, Dictionary ---------------------------------------------------


async def test_shared_policy_group_context_must_exist(operator: Stack) -> None:
    await refused(operator, shared_policy_group("spg-noctx", context_ref="nope"),
                  f"resource [spg-noctx] references management context [{operator.ns}/nope] that "
                  "doesn't exist in the cluster")


async def test_shared_policy_group_phase_is_immutable(operator: Stack) -> None:
    spg = shared_policy_group("spg-phase", context_ref="ctx")
    await operator.applied(spg)
    changed = copy.deepcopy(spg)
    changed["spec"]["phase"] = "RESPONSE"
    await refused(operator, changed,
                  "can not change Shared Policy Group [spg-phase] Phase [REQUEST], once it is "
                  "created")


async def test_group_context_must_exist(operator: Stack) -> None:
    await refused(operator, group("grp-noctx", context_ref="nope"),
                  f"resource [grp-noctx] references management context [{operator.ns}/nope] that "
                  "doesn't exist in the cluster")


async def test_dictionary_type_matches_its_content(operator: Stack) -> None:
    dictionary = {"apiVersion": "gravitee.io/v1alpha1", "kind": "Dictionary",
                  "metadata": {"name": "dict"},
                  "spec": {"contextRef": {"name": "ctx"}, "name": "dict", "type": "MANUAL",
                           "deployed": False,
                           "dynamic": {"provider": {"type": "HTTP", "url": "http://x",
                                                    "method": "GET", "specification": "{}"},
                                       "trigger": {"rate": 1, "unit": "MINUTES"}}}}
    await refused(operator, dictionary,
                  "dictionary type is MANUAL but 'dynamic' field is set, use 'manual' instead")


# --- what is always admitted ----------------------------------------------------------------


async def test_a_metadata_only_update_is_admitted(operator: Stack) -> None:
    api = v4("relabel", state="STOPPED")
    await operator.applied(api)
    result = await operator.kubectl("label", "-n", operator.ns, "apiv4definitions", "relabel",
                                    "team=a")
    assert result.code == 0, result.err


async def test_a_secret_is_not_reviewed(operator: Stack) -> None:
    result = await operator.apply(secret("plain", {"k": "v"}))
    assert result.code == 0, result.err


async def test_subscription_api_keys_need_an_api_key_plan(operator: Stack) -> None:
    plans = {"jwt": {"name": "JWT", "security": {"type": "JWT"}}}
    await operator.applied(v4("keys-api", plans=plans),
                           application("keys-app", context_ref="ctx",
                                       settings={"app": {"type": "backend", "clientId": "k"}}))
    await refused(operator,
                  subscription("keys-sub", api="keys-api", application="keys-app", plan="jwt",
                               apiKeys=[{"key": "a" * 32}]),
                  "apiKeys can only be set when subscribing to an API_KEY plan, got [JWT]")


async def test_subscription_jwt_plan_needs_a_client_id(operator: Stack) -> None:
    plans = {"jwt": {"name": "JWT", "security": {"type": "JWT"}}}
    await operator.applied(v4("jwt-api", plans=plans),
                           application("no-client-id", context_ref="ctx"))
    await refused(operator,
                  subscription("jwt-sub", api="jwt-api", application="no-client-id", plan="jwt"),
                  f"unable to subscribe from application [{operator.ns}/no-client-id] because it "
                  "does not have any client id")


async def test_subscription_mtls_plan_needs_a_certificate(operator: Stack) -> None:
    plans = {"mtls": {"name": "MTLS", "security": {"type": "MTLS"}}}
    await operator.applied(v4("mtls-api", plans=plans),
                           application("no-cert", context_ref="ctx"))
    await refused(operator,
                  subscription("mtls-sub", api="mtls-api", application="no-cert", plan="mtls"),
                  f"unable to subscribe to MTLS plan from application [{operator.ns}/no-cert] "
                  "because it does not have any client certificate")


def mtls_app(name: str, ends_at: str) -> dict[str, Any]:
    return application(name, context_ref="ctx", settings={
        "app": {"type": "backend"},
        "tls": {"clientCertificates": [{"name": "c", "content": PEM, "endsAt": ends_at}]},
    })


async def test_mtls_subscription_cannot_outlive_the_certificates(operator: Stack) -> None:
    plans = {"mtls": {"name": "MTLS", "security": {"type": "MTLS"}}}
    await operator.applied(v4("mtls-end-api", plans=plans),
                           mtls_app("mtls-end-app", "2030-01-01T00:00:00Z"))
    await refused(operator,
                  subscription("mtls-late", api="mtls-end-api", application="mtls-end-app",
                               plan="mtls", endingAt="2031-01-01T00:00:00Z"),
                  "subscription ending date [2031-01-01T00:00:00Z] is after all client "
                  f"certificate end dates in application [{operator.ns}/mtls-end-app]")


async def test_application_certificates_cannot_end_before_a_subscription(
    operator: Stack,
) -> None:
    plans = {"mtls": {"name": "MTLS", "security": {"type": "MTLS"}}}
    app = mtls_app("mtls-short-app", "2030-01-01T00:00:00Z")
    await operator.applied(v4("mtls-short-api", plans=plans), app)
    await operator.applied(subscription("mtls-short-sub", api="mtls-short-api",
                                        application="mtls-short-app", plan="mtls",
                                        endingAt="2029-01-01T00:00:00Z"))
    shorter = mtls_app("mtls-short-app", "2028-01-01T00:00:00Z")
    await refused(operator, shorter,
                  f"subscription [{operator.ns}/mtls-short-sub] ending date "
                  "[2029-01-01T00:00:00Z] is after all client certificate end dates in "
                  f"application [{operator.ns}/mtls-short-app]")


def cloud_token(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.signature"


async def test_a_cloud_context_is_filled_from_its_token(operator: Stack) -> None:
    token = cloud_token({"org": "acme", "envs": ["prod"], "cpg": "eu"})
    ctx = bare_context("cloud-ctx", baseUrl=operator.apim.url, cloud={"token": token})
    result = await operator.apply(ctx)
    assert result.code == 0, result.err
    got = await operator.kubectl("get", "-n", operator.ns, "managementcontexts", "cloud-ctx",
                                 "-o", "json")
    spec = json.loads(got.out)["spec"]
    assert (spec["organizationId"], spec["environmentId"]) == ("acme", "prod")
    assert spec["baseUrl"] == operator.apim.url  # kept when set
    assert spec["auth"] == {"bearerToken": token}


async def test_a_cloud_context_is_filled_from_its_token_secret(operator: Stack) -> None:
    token = cloud_token({"org": "acme", "envs": ["prod"], "cpg": "eu"})
    result = await operator.apply(secret("cloud-token", {"cloudToken": token}))
    assert result.code == 0, result.err
    ctx = bare_context("cloud-sec", baseUrl=operator.apim.url,
                       cloud={"secretRef": {"name": "cloud-token"}})
    result = await operator.apply(ctx)
    assert result.code == 0, result.err
    got = await operator.kubectl("get", "-n", operator.ns, "managementcontexts", "cloud-sec",
                                 "-o", "json")
    spec = json.loads(got.out)["spec"]
    assert (spec["organizationId"], spec["environmentId"]) == ("acme", "prod")
    assert spec["auth"] == {"secretRef": {"name": "cloud-token"}}


async def test_a_cloud_token_with_several_environments_needs_one_named(operator: Stack) -> None:
    token = cloud_token({"org": "acme", "envs": ["dev", "prod"], "cpg": "eu"})
    await refused(operator, bare_context("cloud-two", cloud={"token": token}),
                  "cloud token contains more than one environment (2), environmentId is then "
                  "required")


async def test_a_cloud_token_that_is_not_a_jwt(operator: Stack) -> None:
    await refused(operator, bare_context("cloud-bad", cloud={"token": "not-a-jwt"}),
                  "cannot parse cloud token")


# --- Portal kinds ---------------------------------------------------------------------------

NAVBAR = [{"path": "/projects/alpha", "displayName": "Alpha"}]


def portal(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "gravitee.io/v1alpha1", "kind": "Portal", "metadata": {"name": name},
            "spec": {"contextRef": {"name": "ctx"}, "name": "Developer portal",
                     "structure": {"topNavbar": NAVBAR}, **spec}}


def portal_link(name: str, portal_name: str) -> dict[str, Any]:
    return {"apiVersion": "gravitee.io/v1alpha1", "kind": "PortalLink",
            "metadata": {"name": name},
            "spec": {"portalRef": {"name": portal_name}, "name": "Docs",
                     "href": "https://docs.example.com", "location": "/projects/alpha",
                     "order": 1}}


def page(name: str, **parent: Any) -> dict[str, Any]:
    return {"apiVersion": "gravitee.io/v1alpha1", "kind": "Documentation",
            "metadata": {"name": name},
            "spec": {"name": "Getting started", "type": "GRAVITEE_MARKDOWN", "content": "# Hi",
                     **parent}}


async def test_portal_navigation_and_structure_together(operator: Stack) -> None:
    await refused(operator, portal("both", navigation=[{"path": "/a", "order": 1}]),
                  "navigation and structure cannot be used at the same time")


async def test_portal_navigation_is_deprecated(operator: Stack) -> None:
    navigation = [{"path": "/projects/alpha", "displayName": "Alpha", "order": 1}]
    obj = portal("old-nav", navigation=navigation)
    del obj["spec"]["structure"]
    result = await operator.apply(obj)
    assert result.code == 0, result.err
    assert "Warning: spec.navigation is deprecated, use spec.structure.topNavbar instead" in (
        result.err)


async def test_portal_context_must_exist(operator: Stack) -> None:
    await refused(operator, portal("noctx-portal", contextRef={"name": "nope"}),
                  f"resource [noctx-portal] references management context [{operator.ns}/nope] "
                  "that doesn't exist in the cluster")


async def test_portal_link_keeps_its_portal(operator: Stack) -> None:
    await operator.applied(portal("portal-a"), portal("portal-b"))
    await operator.applied(portal_link("docs-link", "portal-a"))
    await refused(operator, portal_link("docs-link", "portal-b"),
                  f"portalRef is immutable. Detected change from [{operator.ns}/portal-a] to "
                  f"[{operator.ns}/portal-b]")


async def test_documentation_cannot_move_from_a_portal_to_an_api(operator: Stack) -> None:
    await operator.applied(portal("portal-c"), v4("documented", state="STOPPED"))
    await operator.applied(page("moving-page", portalRef={"name": "portal-c"}))
    await refused(operator, page("moving-page", apiRef={"name": "documented"}),
                  "a documentation cannot be reassigned from a portal to an API")


def listing(name: str, portal_name: str, *apis: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "gravitee.io/v1alpha1", "kind": "PortalListing",
            "metadata": {"name": name},
            "spec": {"portalRef": {"name": portal_name},
                     "apis": [{"ref": ref, "location": "/projects/alpha"} for ref in apis]}}


async def test_portal_link_portal_must_exist(operator: Stack) -> None:
    await refused(operator, portal_link("orphan-link", "no-portal"),
                  f"portal link [orphan-link] references portal [{operator.ns}/no-portal] that "
                  "can't be resolved")


async def test_portal_listing_portal_must_exist(operator: Stack) -> None:
    await operator.applied(v4("listed-nowhere", state="STOPPED"))
    await refused(operator, listing("orphan-listing", "no-portal", {"name": "listed-nowhere"}),
                  f"portal listing [orphan-listing] references portal [{operator.ns}/no-portal] "
                  "that can't be resolved")


async def test_documentation_portal_must_exist(operator: Stack) -> None:
    await refused(operator, page("orphan-page", portalRef={"name": "no-portal"}),
                  f"documentation [orphan-page] references portal [{operator.ns}/no-portal] that "
                  "can't be resolved")


async def test_documentation_api_must_exist(operator: Stack) -> None:
    await refused(operator, page("orphan-api-page", apiRef={"name": "no-api"}),
                  f"documentation [orphan-api-page] references API [{operator.ns}/no-api] that "
                  "can't be resolved")


async def test_portal_listing_lists_v4_apis_only(operator: Stack) -> None:
    await operator.applied(portal("portal-v2"), v2_api("listed-v2", context_ref="ctx",
                                                       state="STOPPED"))
    await refused(operator,
                  listing("v2-listing", "portal-v2", {"name": "listed-v2",
                                                      "kind": "ApiDefinition"}),
                  f"portal listing [v2-listing] references API [{operator.ns}/listed-v2] which "
                  "is not a v4 API (only ApiV4Definition can be used)")


async def test_documentation_documents_v4_apis_only(operator: Stack) -> None:
    await operator.applied(v2_api("documented-v2", context_ref="ctx", state="STOPPED"))
    await refused(operator,
                  page("v2-page", apiRef={"name": "documented-v2", "kind": "ApiDefinition"}),
                  f"documentation [v2-page] references API [{operator.ns}/documented-v2] which "
                  "is not a v4 API (only ApiV4Definition can be used)")


async def test_portal_listing_apis_share_the_portal_context(operator: Stack) -> None:
    await operator.applied(context("ctx-other", operator.apim))
    await operator.applied(portal("portal-ctx"),
                           v4_api("other-ctx-api", context_ref="ctx-other", state="STOPPED"))
    await refused(operator, listing("mixed-listing", "portal-ctx", {"name": "other-ctx-api"}),
                  f"API [other-ctx-api] belongs to context [{operator.ns}/ctx-other], not to "
                  f"the portal's context [{operator.ns}/ctx]")


async def test_portal_listing_apis_need_a_context(operator: Stack) -> None:
    await operator.applied(portal("portal-noctx-api"),
                           local_v4("contextless-api", "/contextless"))
    await refused(operator,
                  listing("contextless-listing", "portal-noctx-api", {"name": "contextless-api"}),
                  f"referenced API [{operator.ns}/contextless-api] has no management context "
                  "(spec.contextRef)")


async def test_a_portal_and_its_children_applied_together_are_admitted(operator: Stack) -> None:
    """The children's parent is read from the API server when the cache lags behind."""
    await operator.applied(v4("together-listed", state="STOPPED"))
    result = await operator.apply(portal("together-portal"),
                                  listing("together-listing", "together-portal",
                                          {"name": "together-listed"}),
                                  portal_link("together-link", "together-portal"),
                                  page("together-page", portalRef={"name": "together-portal"}))
    assert result.code == 0, result.err


async def test_a_context_outside_the_cache_is_read_before_refusing(operator: Stack) -> None:
    """The operator caches its own namespace only: a context elsewhere is read once from the
    API server instead of being reported missing."""
    other = f"{operator.ns}-other"
    created = await operator.kubectl("create", "namespace", other)
    assert created.code == 0, created.err
    elsewhere = bare_context("far-ctx", baseUrl=operator.apim.url, organizationId="DEFAULT",
                             environmentId="DEFAULT", auth={"bearerToken": "t"})
    elsewhere["metadata"]["namespace"] = other
    placed = await operator.kubectl("apply", "-f", "-", stdin=json.dumps(elsewhere))
    assert placed.code == 0, placed.err
    api = v4_api("far-api", context_ref=None, state="STOPPED",
                 contextRef={"name": "far-ctx", "namespace": other})
    result = await operator.apply(api)
    assert result.code == 0, result.err
    missing = v4_api("far-missing", context_ref=None, state="STOPPED",
                     contextRef={"name": "nope", "namespace": other})
    await refused(operator, missing,
                  f"resource [far-missing] references management context [{other}/nope] that "
                  "doesn't exist in the cluster")


async def test_objects_applied_together_are_admitted(operator: Stack) -> None:
    resource = api_resource("together-res")
    api = v4("together-api", state="STOPPED", resources=[{"ref": {"name": "together-res"}}])
    result = await operator.apply(resource, api)
    assert result.code == 0, result.err

"""Every upstream Application, ManagementContext, Group, Notification, SharedPolicyGroup,
Subscription and next-gen portal example reconciles (issue 6 acceptance, issue 19 for the portal).

The v2 and v4 API examples are covered in test_api_v2.py and test_api_v4.py. Contexts are pointed
at the simulator ("a context named as in the examples pointing at the simulator"); everything
else is applied as written, in namespace ``default`` as the examples assume.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from controller.kube.kinds import (
    API_V4_DEFINITIONS,
    APPLICATIONS,
    GROUPS,
    MANAGEMENT_CONTEXTS,
    NOTIFICATIONS,
    PORTALS,
    SHARED_POLICY_GROUPS,
    SUBSCRIPTIONS,
)
from controller.kube.rest import KubeApiError
from sim.apim.testing import RunningSimulator, start_simulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.harness import (
    Env,
    application,
    context,
    kind_of,
    operator_env,
    v4_api,
    wait_for,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "gko" / "examples"
APPLICATION_DIR = SHARED / "apim" / "application"
CONTEXT_DIR = SHARED / "management_context"
# The dev example's own comment says to replace its placeholder token; the simulator accepts it.
EXAMPLE_BEARER_TOKEN = "xxxx-yyyy-zzzz"

pytestmark = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"upstream examples not found at {SHARED}"
)


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


def files_with(directory: Path, kind: str) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.rglob("*.yml") if any(d.get("kind") == kind for d in documents(p))
    )


@pytest_asyncio.fixture
async def simulator() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(tokens=[EXAMPLE_BEARER_TOKEN])
    try:
        yield running
    finally:
        await running.close()


@pytest_asyncio.fixture
async def default_env(kubeapi: RunningEmulator, simulator: RunningSimulator) -> AsyncIterator[Env]:
    async with operator_env(kubeapi, simulator, namespace="default") as env:
        yield env


async def create_all(env: Env, docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        if await env.get_kind(doc) is None:
            await env.create(doc)


@pytest.mark.parametrize(
    "example", files_with(APPLICATION_DIR, "Application"), ids=lambda p: p.stem
)
async def test_application_example_is_accepted_lands_in_apim_and_is_removed(
    default_env: Env, example: Path
):
    env = default_env
    await env.create(context("dev-ctx", env.apim))
    # The certificate sources the examples reference, then the example's own documents.
    sources = [
        d
        for p in sorted(APPLICATION_DIR.glob("*.yml"))
        for d in documents(p)
        if d.get("kind") in ("Secret", "ConfigMap")
    ]
    await create_all(env, sources)
    apps = [d for d in documents(example) if d.get("kind") == "Application"]
    assert apps
    await create_all(env, [d for d in documents(example) if d.get("kind") != "Application"])
    for app in apps:
        await env.create(app)
    for app in apps:
        name = app["metadata"]["name"]
        accepted = await env.wait_condition(APPLICATIONS, name, timeout=15)
        assert accepted["reason"] == "Accepted"
        live = await env.get(APPLICATIONS, name)
        record = env.apim.state.application(live["status"]["id"])
        assert record is not None, f"{name} not in APIM"

    mark = env.apim.requests.mark()
    for app in apps:
        await env.delete(APPLICATIONS, app["metadata"]["name"])
    for app in apps:
        name = app["metadata"]["name"]
        await env.wait_gone(APPLICATIONS, name, timeout=15)
        deletes = env.apim.requests.find(
            method="DELETE", since=mark, path_contains=f"/applications/default-{name}"
        )
        assert deletes, f"{name} was not deleted from APIM"
        assert deletes[-1].status in (204, 404)


CONTEXT_EXAMPLES = [
    p for p in files_with(CONTEXT_DIR, "ManagementContext") if p.parent.name != "cloud"
]


@pytest.mark.parametrize("example", CONTEXT_EXAMPLES, ids=lambda p: f"{p.parent.name}-{p.stem}")
async def test_context_example_pointed_at_the_simulator_is_accepted_and_deletes(
    default_env: Env, example: Path
):
    env = default_env
    await create_all(env, [d for d in documents(example.parent / "management-context-secret.yml")])
    [manifest] = [d for d in documents(example) if d.get("kind") == "ManagementContext"]
    manifest = copy.deepcopy(manifest)
    manifest["spec"]["baseUrl"] = env.apim.url
    await env.create(manifest)
    name = manifest["metadata"]["name"]
    accepted = await env.wait_condition(MANAGEMENT_CONTEXTS, name)
    assert accepted["message"] == "Successfully reconciled"
    # The probe went to the simulator, authenticated.
    probes = env.apim.requests.find(method="GET", path_contains="/management/v2/organizations/")
    assert probes
    assert probes[-1].status == 200

    await env.delete(MANAGEMENT_CONTEXTS, name)
    await env.wait_gone(MANAGEMENT_CONTEXTS, name)
    if manifest["spec"]["auth"].get("secretRef"):
        # The credentials Secret is released with the context.
        async def released() -> bool:
            secret = await env.get_kind(
                {"kind": "Secret", "metadata": {"name": "apim-context-credentials"}}
            )
            return secret is not None and not (secret["metadata"].get("finalizers") or [])

        await wait_for(released, what="credentials Secret released")


async def test_cloud_example_with_an_unknown_secret_says_so(default_env: Env):
    """The other cloud examples need Gravitee Cloud itself (their JWT claims pick a cloudgate
    host on the internet), so only the failure this example is about is checked here."""
    env = default_env
    example = CONTEXT_DIR / "cloud" / "cloud-mctx-with-unknown-secret-ref.yml"
    if not example.is_file():
        pytest.skip(f"{example} not found")
    [manifest] = documents(example)
    await env.create(manifest)
    refs = await env.wait_condition(MANAGEMENT_CONTEXTS, "dev-ctx", "False", type_="ResolvedRefs")
    assert refs["message"] == 'secrets "unknown" not found'
    accepted = await env.condition(MANAGEMENT_CONTEXTS, "dev-ctx")
    assert accepted is not None
    assert (accepted["status"], accepted["reason"]) == ("False", "ReconcileFailed")
    assert env.apim.requests.find(path_contains="/organizations/") == []


APIM_EXAMPLES = SHARED / "apim"


async def test_group_example_is_accepted_lands_in_apim_and_is_removed(default_env: Env):
    env = default_env
    [manifest] = documents(APIM_EXAMPLES / "group" / "group.yml")
    await env.create(context("dev-ctx", env.apim))
    await env.create(manifest)
    accepted = await env.wait_condition(GROUPS, "developers")
    assert accepted["reason"] == "Accepted"
    live = await env.get(GROUPS, "developers")
    record = env.apim.state.group(live["status"]["id"])
    assert record is not None
    assert record.name == "developers"
    await env.delete(GROUPS, "developers")
    await env.wait_gone(GROUPS, "developers")
    assert not env.apim.state.groups


@pytest.mark.parametrize("name", ["notification-no-group", "notification-with-groups"])
async def test_notification_example_is_accepted_and_deletes(default_env: Env, name: str):
    env = default_env
    await env.create(context("dev-ctx", env.apim))
    await create_all(env, documents(APIM_EXAMPLES / "group" / "group.yml"))
    [manifest] = documents(APIM_EXAMPLES / "notification" / f"{name}.yml")
    await env.create(manifest)
    notification = manifest["metadata"]["name"]
    await env.wait_condition(NOTIFICATIONS, notification)
    refs = await env.wait_condition(NOTIFICATIONS, notification, type_="ResolvedRefs")
    assert refs["message"] == "All References successfully resolved"
    await env.delete(NOTIFICATIONS, notification)
    await env.wait_gone(NOTIFICATIONS, notification)


async def test_shared_policy_group_example_is_accepted_lands_in_apim_and_is_removed(
    default_env: Env,
):
    env = default_env
    [manifest] = documents(APIM_EXAMPLES / "shared_policy_groups" / "shared_policy_groups.yml")
    name = manifest["metadata"]["name"]
    await env.create(context("dev-ctx", env.apim))
    await env.create(manifest)
    await env.wait_condition(SHARED_POLICY_GROUPS, name)
    live = await env.get(SHARED_POLICY_GROUPS, name)
    record = env.apim.state.shared_policy_group(live["status"]["id"])
    assert record is not None
    assert record.name == "simple-shared-policy-groups"
    await env.delete(SHARED_POLICY_GROUPS, name)
    await env.wait_gone(SHARED_POLICY_GROUPS, name)
    assert not env.apim.state.shared_policy_groups


USECASES = SHARED / "usecase"
API_KEY_SECRET_TEMPLATE = "[[ secret `custom-api-key-secret/customApiKey` ]]"


def _pointed_at(doc: dict[str, Any], env: Env) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    if doc.get("kind") == "ManagementContext":
        doc["spec"]["baseUrl"] = env.apim.url
    return doc


async def _subscribed_then_removed(env: Env, docs: list[dict[str, Any]]) -> None:
    """Apply ``docs``, wait for every Subscription to be Accepted and ACCEPTED in APIM, then
    delete everything and check nothing is left open in APIM."""
    if await env.get(MANAGEMENT_CONTEXTS, "dev-ctx") is None:
        await env.create(context("dev-ctx", env.apim))
    await create_all(env, [_pointed_at(d, env) for d in docs])
    subscriptions = [d["metadata"]["name"] for d in docs if d.get("kind") == "Subscription"]
    assert subscriptions
    for name in subscriptions:
        await env.wait_condition(SUBSCRIPTIONS, name, timeout=20)
        live = await env.get(SUBSCRIPTIONS, name)
        record = env.apim.state.subscription(live["status"]["id"])
        assert record is not None
        assert record.status == "ACCEPTED"
    # Subscriptions first: the API and the application wait for them anyway.
    for doc in reversed(docs):
        if doc.get("kind") not in ("Secret", "ConfigMap", "ManagementContext"):
            await env.delete(kind_of(doc), doc["metadata"]["name"])
    for doc in docs:
        if doc.get("kind") not in ("Secret", "ConfigMap", "ManagementContext"):
            await env.wait_gone(kind_of(doc), doc["metadata"]["name"], timeout=20)
    assert all(s.status == "CLOSED" for s in env.apim.state.subscriptions.values())
    assert env.apim.state.apis_in() == []


@pytest.mark.parametrize("usecase", ["subscribe-to-jwt-plan", "subscribe-to-mtls-plan"])
async def test_subscribe_usecase_is_accepted_and_removed(default_env: Env, usecase: str):
    folder = USECASES / usecase / "resources"
    order = ("management-context", "jwt-key", "tls-client", "api", "application", "subscription")
    docs = [d for stem in order if (folder / f"{stem}.yml").is_file()
            for d in documents(folder / f"{stem}.yml")]
    await _subscribed_then_removed(default_env, docs)


async def test_subscribe_to_api_key_usecase_with_its_custom_key(default_env: Env):
    """The folder only holds the custom key's Secret: the API, the application and the
    subscription reading the key from it are ours."""
    env = default_env
    [secret] = documents(USECASES / "subscribe-to-api-key-plan" / "resources"
                         / "custom-api-key-secret.yml")
    api = v4_api("api-key-demo", context_ref="dev-ctx",
                 plans={"API_KEY": {"name": "keys", "security": {"type": "API_KEY"}}})
    app = application("key-client", context_ref="dev-ctx")
    sub = {
        "apiVersion": "gravitee.io/v1alpha1", "kind": "Subscription",
        "metadata": {"name": "key-client-subscription"},
        "spec": {"api": {"name": "api-key-demo"}, "application": {"name": "key-client"},
                 "plan": "API_KEY", "apiKeys": [{"key": API_KEY_SECRET_TEMPLATE}]},
    }
    await create_all(env, [secret])
    live = await env.get_kind(secret)
    key = base64.b64decode(live["data"]["customApiKey"]).decode()
    await env.create(context("dev-ctx", env.apim))
    await env.create(api)
    await env.create(app)
    await env.create(sub)
    await env.wait_condition(SUBSCRIPTIONS, "key-client-subscription", timeout=20)
    live_sub = await env.get(SUBSCRIPTIONS, "key-client-subscription")
    record = env.apim.state.subscription(live_sub["status"]["id"])
    assert record is not None
    assert [k.key for k in record.api_keys] == [key]
    await _subscribed_then_removed(env, [api, app, sub])


# The application subscription.yml names exists in no example folder: ours stands in for it.
CLIENT_ID_APP = application(
    "simple-application-with-client-id", context_ref="dev-ctx",
    settings={"app": {"type": "WEB", "clientId": "simple-client"}},
)
SUBSCRIPTION_EXAMPLE_NEEDS = {
    "subscription": [("api_definition/v4", "api-v4-with-jwt-plan")],
    "subscription-mtls-with-cert-dates": [
        ("../usecase/subscribe-to-mtls-plan/resources", "mtls-demo"),
        ("application", "app-with-cert-dates"),
    ],
}


def _named(directory: Path, name: str) -> list[dict[str, Any]]:
    return [d for p in sorted(directory.glob("*.yml")) for d in documents(p)
            if (d.get("metadata") or {}).get("name") == name]


@pytest.mark.parametrize("example", sorted(SUBSCRIPTION_EXAMPLE_NEEDS))
async def test_subscription_example_is_accepted_and_removed(default_env: Env, example: str):
    env = default_env
    needed = [d for folder, name in SUBSCRIPTION_EXAMPLE_NEEDS[example]
              for d in _named(APIM_EXAMPLES / folder, name)]
    sources = [d for p in sorted((APIM_EXAMPLES / "application").glob("*.yml"))
               for d in documents(p) if d.get("kind") in ("Secret", "ConfigMap")]
    await create_all(env, sources)
    if example == "subscription":
        needed.append(CLIENT_ID_APP)
    docs = needed + documents(APIM_EXAMPLES / "subscription" / f"{example}.yml")
    await _subscribed_then_removed(env, docs)


async def test_subscription_example_without_a_plan_is_refused_by_the_schema(default_env: Env):
    """Upstream's CRD requires ``plan`` too: this example never reaches a controller."""
    [doc] = documents(APIM_EXAMPLES / "subscription" / "subscription-with-metadata.yml")
    with pytest.raises(KubeApiError) as refused:
        await default_env.create(doc)
    assert refused.value.status == 422


PORTAL_DIR = APIM_EXAMPLES / "portal"
# The listing and the API page name this v4 API, which no example folder defines: ours stands in.
PORTAL_EXAMPLES_API = v4_api("api-v4-with-context", context_ref="dev-ctx")


def _portal_children() -> list[dict[str, Any]]:
    return [d for p in sorted(PORTAL_DIR.glob("*.yml")) for d in documents(p)
            if d.get("kind") != "Portal"]


@pytest.mark.parametrize("portal_file", ["portal.yml", "portal-structure.yml"])
async def test_portal_examples_are_accepted_land_in_apim_and_are_removed(
    default_env: Env, portal_file: str
):
    """Both forms of the portal (deprecated navigation, structure), then every listing, link
    and documentation example on it (and on the stand-in API)."""
    env = default_env
    [manifest] = documents(PORTAL_DIR / portal_file)
    children = _portal_children()
    assert {d["kind"] for d in children} == {"PortalListing", "PortalLink", "Documentation"}
    await env.create(context("dev-ctx", env.apim))
    await env.create(PORTAL_EXAMPLES_API)
    await env.create(manifest)
    for doc in children:
        await env.create(doc)
    await env.wait_condition(PORTALS, "default-portal")
    live = await env.get(PORTALS, "default-portal")
    state = env.apim.state
    [portal] = [r for r in state.portal_objects.values() if r.kind == "portal"]
    assert (portal.id, portal.hrid) == (live["status"]["id"], "default-default-portal")
    assert portal.spec == {k: v for k, v in manifest["spec"].items() if k != "contextRef"}
    for doc in children:
        name = doc["metadata"]["name"]
        accepted = await env.wait_condition(kind_of(doc), name, timeout=15)
        assert accepted["reason"] == "Accepted"
        live = await env.get(kind_of(doc), name)
        landed = [r for r in state.portal_objects.values() if r.id == live["status"]["id"]]
        assert [r.hrid for r in landed] == [f"default-{name}"], name
    kinds = sorted(r.kind for r in state.portal_objects.values())
    assert kinds == ["api-documentation", "documentation", "documentation", "documentation",
                     "link", "listing", "portal"]

    for doc in [*children, manifest, PORTAL_EXAMPLES_API]:
        await env.delete(kind_of(doc), doc["metadata"]["name"])
    for doc in [*children, manifest, PORTAL_EXAMPLES_API]:
        await env.wait_gone(kind_of(doc), doc["metadata"]["name"], timeout=20)
    assert state.portal_objects == {}
    assert state.apis_in() == []
    assert await env.get(API_V4_DEFINITIONS, "api-v4-with-context") is None

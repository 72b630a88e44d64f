"""Drift (issue 20): what a console user changes in APIM is read back, reported as ``Drifted``
and, by policy, pushed back (docs/behavior/drift.md).

The operator runs with a short ``DRIFT_CHECK_INTERVAL``; the console user is the simulator's
``/_sim/console`` endpoint, which edits or deletes what APIM stored outside the operator's calls.
Tests wait on conditions and on read-backs the simulator received, never on sleeps.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from controller import metrics
from controller.config import DriftPolicy, DriftSettings, Settings
from controller.kube.kinds import (
    API_DEFINITIONS,
    API_V4_DEFINITIONS,
    APPLICATIONS,
    MANAGEMENT_CONTEXTS,
    SUBSCRIPTIONS,
)
from controller.kube.resources import ResourceKind
from sim.apim.testing import RunningSimulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.harness import (
    Env,
    application,
    context,
    operator_env,
    secret,
    subscription,
    v2_api,
    v4_api,
    wait_for,
)

INTERVAL = 0.4
DRIFTED = "Drifted"


def drift_settings(policy: DriftPolicy = "report") -> Settings:
    return Settings(
        probes_port=0, metrics_port=0, enable_metrics=True, max_concurrent_reconciles=4,
        drift=DriftSettings(policy=policy, check_interval=INTERVAL, check_rate=50.0),
    )


@pytest_asyncio.fixture
async def env(kubeapi: RunningEmulator, apim: RunningSimulator) -> AsyncIterator[Env]:
    async with operator_env(kubeapi, apim, settings=drift_settings()) as running:
        await running.create(context("apim", apim))
        await running.wait_condition(MANAGEMENT_CONTEXTS, "apim")
        yield running


def with_policy(manifest: dict[str, Any], policy: str) -> dict[str, Any]:
    manifest["metadata"]["annotations"] = {"gravitee.io/drift-policy": policy}
    return manifest


async def read_backs_after(env: Env, path: str, count: int, *, since: int) -> None:
    """Wait until APIM has answered ``count`` more read-backs of ``path`` (periods passed)."""

    async def probe() -> bool:
        return len(env.apim.requests.find(method="GET", path=path, since=since)) >= count

    await wait_for(probe, timeout=15, what=f"{count} read-backs of {path}")


def api_path(env: Env, name: str) -> str:
    return env.apim.automation_url().split(env.apim.url, 1)[1] + f"/apis/team-{name}"


def app_path(env: Env, name: str) -> str:
    return env.apim.automation_url().split(env.apim.url, 1)[1] + f"/applications/team-{name}"


async def drifted(env: Env, kind: ResourceKind, name: str, status: str, reason: str
                  ) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await env.condition(kind, name, DRIFTED)
        return found if found and (found["status"], found["reason"]) == (status, reason) else None

    return await wait_for(probe, timeout=15, what=f"{kind.kind} {name} Drifted={status} {reason}")


async def reasons(env: Env, name: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in await env.events(name) if e["reason"] == reason]


# -- report ---------------------------------------------------------------------------------------


async def test_console_edit_of_an_api_is_reported_once_and_clears_when_undone(env: Env):
    await env.create(v4_api("petstore", description="from the cluster"))
    await env.wait_condition(API_V4_DEFINITIONS, "petstore")
    mark = env.apim.requests.mark()
    # Freshly reconciled: read back several times, never drifted.
    await read_backs_after(env, api_path(env, "petstore"), 3, since=mark)
    assert await env.condition(API_V4_DEFINITIONS, "petstore", DRIFTED) is None

    before = metrics.DRIFT_DETECTED.labels(kind="ApiV4Definition")._value.get()
    assert await env.apim.console("PATCH", "apis", "team-petstore",
                                  {"description": "edited in the console"}) == 204
    found = await drifted(env, API_V4_DEFINITIONS, "petstore", "True", "DriftDetected")
    assert found["message"] == (
        "1 field differs in APIM: description; not repaired (drift policy report)"
    )
    assert "edited in the console" not in found["message"]
    # Reported, not repaired: APIM keeps the console's value over further periods.
    mark = env.apim.requests.mark()
    await read_backs_after(env, api_path(env, "petstore"), 3, since=mark)
    record = env.apim.state.api_by_hrid("team-petstore")
    assert record is not None
    assert record.spec["description"] == "edited in the console"
    assert env.apim.requests.find(method="PUT", since=mark) == []
    assert len(await reasons(env, "petstore", "DriftDetected")) == 1
    assert metrics.DRIFT_DETECTED.labels(kind="ApiV4Definition")._value.get() == before + 1
    gauge = 'gravitee_operator_drifted_objects{kind="ApiV4Definition"} 1.0'

    async def counted() -> bool:  # read from the informer cache at each scrape
        return gauge in metrics.render_metrics().decode()

    await wait_for(counted, what="the drifted-objects gauge")

    # The console user puts it back: in sync again, one Event for that transition too.
    await env.apim.console("PATCH", "apis", "team-petstore", {"description": "from the cluster"})
    found = await drifted(env, API_V4_DEFINITIONS, "petstore", "False", "InSync")
    assert found["message"] == "APIM matches the cluster again"
    assert len(await reasons(env, "petstore", "DriftResolved")) == 1
    gauge_zero = 'gravitee_operator_drifted_objects{kind="ApiV4Definition"} 0.0'

    async def uncounted() -> bool:
        return gauge_zero in metrics.render_metrics().decode()

    await wait_for(uncounted, what="the drifted-objects gauge back to 0")


async def test_console_edit_of_an_application_is_reported(env: Env):
    await env.create(application("shop"))
    await env.wait_condition(APPLICATIONS, "shop")
    await env.apim.console("PATCH", "applications", "team-shop",
                           {"description": "console", "settings": {"app": {"type": "native"}}})
    found = await drifted(env, APPLICATIONS, "shop", "True", "DriftDetected")
    assert found["message"].startswith(
        "2 fields differ in APIM: description, settings.app.type;"
    )
    [event] = await reasons(env, "shop", "DriftDetected")
    assert event["type"] == "Warning"
    assert event["message"] == found["message"]


async def test_console_delete_of_an_api_is_reported(env: Env):
    await env.create(v4_api("gone"))
    await env.wait_condition(API_V4_DEFINITIONS, "gone")
    assert await env.apim.console("DELETE", "apis", "team-gone") == 204
    found = await drifted(env, API_V4_DEFINITIONS, "gone", "True", "DriftDetected")
    assert found["message"].startswith("the object was deleted in APIM;")
    assert env.apim.state.api_by_hrid("team-gone") is None


async def test_console_edit_of_a_v2_api_is_reported_and_repaired(env: Env):
    manifest = v2_api("legacy")
    manifest["spec"]["plans"][0]["description"] = "free plan"
    await env.create(with_policy(manifest, "repair"))
    await env.wait_condition(API_DEFINITIONS, "legacy")
    live = await env.get(API_DEFINITIONS, "legacy")
    # strip_context_path is not in the manifest: the console's to set, not drift.
    await env.apim.console("PATCH", "apis", live["status"]["id"],
                           {"description": "console", "proxy": {"strip_context_path": True}})
    await drifted(env, API_DEFINITIONS, "legacy", "False", "Repaired")
    [detected] = await reasons(env, "legacy", "DriftDetected")
    assert detected["message"] == (
        "1 field differs in APIM: description; pushing the cluster's version back "
        "(drift policy repair)"
    )
    record = env.apim.state.api(live["status"]["id"])
    assert record is not None
    assert record.spec["description"] == "legacy API"


# -- repair ---------------------------------------------------------------------------------------


async def test_repair_pushes_the_api_back_and_says_so(env: Env):
    await env.create(with_policy(v4_api("fixed", description="cluster", visibility="PUBLIC"),
                                 "repair"))
    await env.wait_condition(API_V4_DEFINITIONS, "fixed")
    await env.apim.console("PATCH", "apis", "team-fixed",
                           {"description": "console", "visibility": "PRIVATE"})
    found = await drifted(env, API_V4_DEFINITIONS, "fixed", "False", "Repaired")
    assert found["message"] == "The cluster's version was pushed back to APIM"
    record = env.apim.state.api_by_hrid("team-fixed")
    assert record is not None
    assert record.spec["description"] == "cluster"
    assert record.spec["visibility"] == "PUBLIC"
    [detected] = await reasons(env, "fixed", "DriftDetected")
    assert detected["message"] == (
        "2 fields differ in APIM: description, visibility; pushing the cluster's version back "
        "(drift policy repair)"
    )
    [repaired] = await reasons(env, "fixed", "DriftRepaired")
    assert repaired["type"] == "Normal"


async def test_repair_recreates_an_api_deleted_in_the_console(env: Env):
    await env.create(with_policy(v4_api("phoenix"), "repair"))
    await env.wait_condition(API_V4_DEFINITIONS, "phoenix")
    first = env.apim.state.api_by_hrid("team-phoenix")
    assert first is not None
    await env.apim.console("DELETE", "apis", "team-phoenix")
    await drifted(env, API_V4_DEFINITIONS, "phoenix", "False", "Repaired")
    again = env.apim.state.api_by_hrid("team-phoenix")
    assert again is not None
    assert again.id == first.id  # same HRID, same id: subscriptions made before still match
    assert [p.status for p in env.apim.state.plans_of(again)] == ["PUBLISHED"]


async def test_repair_undoes_a_console_edit_of_an_application(env: Env):
    await env.create(with_policy(application("kept", description="cluster"), "repair"))
    await env.wait_condition(APPLICATIONS, "kept")
    await env.apim.console("PATCH", "applications", "team-kept", {"description": "console"})
    await drifted(env, APPLICATIONS, "kept", "False", "Repaired")
    live = await env.get(APPLICATIONS, "kept")
    record = env.apim.state.application(live["status"]["id"])
    assert record is not None
    assert record.spec["description"] == "cluster"


async def test_repair_recreates_an_application_deleted_in_the_console(env: Env):
    await env.create(with_policy(application("lazarus"), "repair"))
    await env.wait_condition(APPLICATIONS, "lazarus")
    await env.apim.console("DELETE", "applications", "team-lazarus")
    await drifted(env, APPLICATIONS, "lazarus", "False", "Repaired")
    live = await env.get(APPLICATIONS, "lazarus")
    record = env.apim.state.application(live["status"]["id"])
    assert record is not None
    assert record.status == "ACTIVE"


# -- off, secrets ---------------------------------------------------------------------------------


async def test_policy_off_reads_nothing_back(env: Env):
    await env.create(with_policy(v4_api("ignored"), "off"))
    await env.create(v4_api("watched"))
    await env.wait_condition(API_V4_DEFINITIONS, "ignored")
    await env.wait_condition(API_V4_DEFINITIONS, "watched")
    await env.apim.console("PATCH", "apis", "team-ignored", {"description": "console"})
    mark = env.apim.requests.mark()
    await read_backs_after(env, api_path(env, "watched"), 3, since=mark)
    assert env.apim.requests.find(method="GET", path=api_path(env, "ignored"), since=mark) == []
    assert await env.condition(API_V4_DEFINITIONS, "ignored", DRIFTED) is None


async def test_secret_values_never_appear_in_the_condition_or_events(env: Env):
    await env.create(secret("backend", {"token": "s3cr3t-cluster-value"}))
    api = v4_api("guarded")
    endpoint = api["spec"]["endpointGroups"][0]["endpoints"][0]
    endpoint["configuration"]["headers"] = [
        {"name": "Authorization", "value": "[[ secret `backend/token` ]]"}
    ]
    await env.create(api)
    await env.wait_condition(API_V4_DEFINITIONS, "guarded")
    record = env.apim.state.api_by_hrid("team-guarded")
    assert record is not None
    groups = copy.deepcopy(record.spec["endpointGroups"])
    groups[0]["endpoints"][0]["configuration"]["headers"][0]["value"] = "s3cr3t-console-value"
    await env.apim.console("PATCH", "apis", "team-guarded", {"endpointGroups": groups})
    found = await drifted(env, API_V4_DEFINITIONS, "guarded", "True", "DriftDetected")
    assert "endpointGroups[default].endpoints[default].configuration.headers" in found["message"]
    events = await env.events("guarded")
    for text in [found["message"], *(e["message"] for e in events)]:
        assert "s3cr3t" not in text


async def test_a_subscription_and_its_api_and_application_never_drift_by_themselves(env: Env):
    plans = {"api-key": {"name": "Key", "security": {"type": "API_KEY"}}}
    await env.create(v4_api("keyed", plans=plans))
    await env.create(application("client"))
    await env.create(subscription(
        "sub", api="keyed", application="client", plan="api-key",
        apiKeys=[{"key": "k" * 40, "expireAt": "2040-01-01T00:00:00Z"}],
        metadata={"team": "core"}, endingAt="2040-12-25T09:12:28Z",
    ))
    await env.wait_condition(SUBSCRIPTIONS, "sub", timeout=15)
    mark = env.apim.requests.mark()
    await read_backs_after(env, api_path(env, "keyed") + "/subscriptions/team-sub", 3,
                           since=mark)
    await read_backs_after(env, app_path(env, "client"), 3, since=mark)
    for kind, name in ((SUBSCRIPTIONS, "sub"), (API_V4_DEFINITIONS, "keyed"),
                       (APPLICATIONS, "client")):
        assert await env.condition(kind, name, DRIFTED) is None, name
    assert "k" * 40 not in str(await env.events("sub"))

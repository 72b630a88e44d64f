"""Several environments, several operators, several clusters against one APIM.

Multi-environment: contexts pointing at different organizations/environments put each API in
its own environment. Namespace scoping (``NAMESPACE``): two operators sharing a cluster and an
APIM never touch each other's objects or APIs. Multi-cluster: the same object in two clusters
is one API in APIM, because both operators derive the same HRID (docs/behavior/ids.md).
"""

from __future__ import annotations

import pathlib

from controller.config import Settings
from controller.kube.kinds import API_V4_DEFINITIONS, MANAGEMENT_CONTEXTS
from controller.kube.rest import request_json
from sim.apim.testing import RunningSimulator, start_simulator
from sim.kubeapi.testing import RunningEmulator, start_emulator
from tests.integration.harness import context, operator_env, v4_api, wait_idle
from tests.integration.v4_helpers import (
    automation_puts,
    conditions_by_type,
    last_upsert,
    upserts_of,
)


def scoped(*namespaces: str, strategy: str = "onSpecChange") -> Settings:
    return Settings(
        probes_port=0,
        metrics_port=0,
        max_concurrent_reconciles=4,
        namespaces=namespaces,
        reconcile_strategy=strategy,  # type: ignore[arg-type]
    )


async def test_each_api_lands_in_the_environment_of_its_context(kubeapi: RunningEmulator):
    sim = await start_simulator(orgs_envs={"DEFAULT": ["DEFAULT"], "ACME": ["PROD", "TEST"]})
    try:
        async with operator_env(kubeapi, sim) as env:
            await env.create(context("prod", sim, organizationId="ACME", environmentId="PROD"))
            # An environment may be named by its hrid; status carries APIM's id for it.
            await env.create(context("test", sim, organizationId="ACME", environmentId="test"))
            await env.create(context("default", sim))
            await env.create(v4_api("checkout", context_ref="prod"))
            await env.create(v4_api("checkout-test", context_ref="test", path="/checkout"))
            await env.create(v4_api("legacy-app", context_ref="default", path="/checkout2"))
            placed = {}
            for name in ("checkout", "checkout-test", "legacy-app"):
                await env.wait_condition(API_V4_DEFINITIONS, name)
                status = (await env.get(API_V4_DEFINITIONS, name))["status"]
                placed[name] = (status["organizationId"], status["environmentId"])
            assert placed == {
                "checkout": ("ACME", "PROD"),
                "checkout-test": ("ACME", "TEST"),
                "legacy-app": ("DEFAULT", "DEFAULT"),
            }
            state = sim.state
            assert [a.hrid for a in state.apis_in(org="ACME", env="PROD")] == ["team-checkout"]
            assert [a.hrid for a in state.apis_in(org="ACME", env="TEST")] == ["team-checkout-test"]
            assert [a.hrid for a in state.apis_in()] == ["team-legacy-app"]
            put = last_upsert(env, "team-checkout-test")
            assert put.path == "/automation/organizations/ACME/environments/test/apis"

            # Deleting removes it from its own environment only.
            await env.delete(API_V4_DEFINITIONS, "checkout")
            await env.wait_gone(API_V4_DEFINITIONS, "checkout")
            assert state.apis_in(org="ACME", env="PROD") == []
            assert len(state.apis_in(org="ACME", env="TEST")) == 1
            assert len(state.apis_in()) == 1
    finally:
        await sim.close()


async def test_unknown_environment_is_reported_on_the_api(kubeapi: RunningEmulator):
    sim = await start_simulator(orgs_envs={"ACME": ["PROD"]})
    try:
        async with operator_env(kubeapi, sim) as env:
            await env.create(context("typo", sim, organizationId="ACME", environmentId="PORD"))
            await env.create(v4_api("lost", context_ref="typo"))
            failed = await env.wait_condition(API_V4_DEFINITIONS, "lost", "False")
            assert failed["reason"] == "ControlPlaneError"
            assert "/organizations/ACME/environments/PORD/apis" in failed["message"]
            assert sim.state.apis_in(org="ACME", env="PROD") == []
    finally:
        await sim.close()


async def test_namespace_scoped_operators_share_one_apim_without_interfering(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    async with (
        operator_env(kubeapi, apim, settings=scoped("team-a"), namespace="team-a") as env_a,
        operator_env(kubeapi, apim, settings=scoped("team-b"), namespace="team-b") as env_b,
    ):
        for env in (env_a, env_b):
            await env.create(context("apim", apim))
            for name in ("petstore", "orders"):
                await env.create(v4_api(name, path=f"/{env.namespace}/{name}"))
        ids: dict[str, str] = {}
        for env in (env_a, env_b):
            for name in ("petstore", "orders"):
                await env.wait_condition(API_V4_DEFINITIONS, name)
                ids[f"{env.namespace}-{name}"] = (await env.get(API_V4_DEFINITIONS, name))[
                    "status"
                ]["id"]
        assert {a.hrid: a.id for a in apim.state.apis_in()} == ids

        events_a = await env_a.events("petstore", "team-a")
        assert {e["source"]["component"] for e in events_a} == {"apiv4definition-controller"}

        # Deleting team-a/petstore removes that API only.
        await env_a.delete(API_V4_DEFINITIONS, "petstore")
        await env_a.wait_gone(API_V4_DEFINITIONS, "petstore")
        remaining = {a.hrid for a in apim.state.apis_in()}
        assert remaining == {"team-a-orders", "team-b-petstore", "team-b-orders"}
        await wait_idle(env_b)
        assert [r for r in apim.requests.find(method="DELETE") if "team-b" in r.path] == []

    # Operator B is gone: a change in team-b is seen by nobody while A runs alone.
    async with operator_env(kubeapi, apim, settings=scoped("team-a"), namespace="team-a") as env_a:
        mark = apim.requests.mark()
        await env_a.patch(
            API_V4_DEFINITIONS, "orders", {"spec": {"description": "b-only"}}, "team-b"
        )
        await env_a.patch(API_V4_DEFINITIONS, "orders", {"spec": {"description": "a-only"}})
        await env_a.wait_condition(API_V4_DEFINITIONS, "orders")
        await wait_idle(env_a)
        assert last_upsert(env_a, "team-a-orders", since=mark).body["description"] == "a-only"
        assert upserts_of(env_a, "team-b-orders", since=mark) == []
        b_orders = await env_a.get(API_V4_DEFINITIONS, "orders", "team-b")
        assert b_orders["metadata"]["generation"] == 2
        assert conditions_by_type(b_orders)["Accepted"]["observedGeneration"] == 1

    # A cluster-wide operator told to reconcile everything agrees on every id: no duplicates.
    mark = apim.requests.mark()
    async with operator_env(kubeapi, apim, settings=scoped(strategy="always")) as env_all:
        for namespace, name in (("team-a", "orders"), ("team-b", "petstore"), ("team-b", "orders")):
            await env_all.wait_condition(API_V4_DEFINITIONS, name, namespace=namespace)
        await wait_idle(env_all)
        rewritten = {r.body["hrid"] for r in automation_puts(env_all, since=mark)}
        assert rewritten == {"team-a-orders", "team-b-petstore", "team-b-orders"}
        assert {a.hrid: a.id for a in apim.state.apis_in()} == {
            k: v for k, v in ids.items() if k != "team-a-petstore"
        }


async def test_same_object_in_two_clusters_is_one_api(
    kubeapi: RunningEmulator, apim: RunningSimulator, tmp_path: pathlib.Path
):
    second = await start_emulator(kubeconfig_path=tmp_path / "second-kubeconfig")
    try:
        async with (
            operator_env(kubeapi, apim) as east,
            operator_env(second, apim) as west,
        ):
            statuses = []
            for env in (east, west):
                await env.create(context("apim", apim))
                await env.create(v4_api("petstore"))
            for env in (east, west):
                await env.wait_condition(API_V4_DEFINITIONS, "petstore")
                await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
                statuses.append((await env.get(API_V4_DEFINITIONS, "petstore"))["status"])
            east_status, west_status = statuses
            assert east_status["id"] == west_status["id"]
            assert east_status["crossId"] == west_status["crossId"]
            assert east_status["plans"] == west_status["plans"]
            (record,) = apim.state.apis_in()
            assert record.hrid == "team-petstore"
            assert record.id == east_status["id"]
    finally:
        await second.close()


async def test_scoped_operator_uses_a_context_from_an_unwatched_namespace(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    async with operator_env(kubeapi, apim, settings=scoped("team-a"), namespace="team-a") as env:
        await request_json(
            env.api, "POST", "/api/v1/namespaces", body={"metadata": {"name": "platform"}}
        )
        shared = context("shared", apim)
        shared["metadata"]["namespace"] = "platform"
        await env.create(shared)
        ref = {"name": "shared", "namespace": "platform"}
        await env.create(v4_api("petstore", context_ref=None, contextRef=ref))
        await env.wait_condition(API_V4_DEFINITIONS, "petstore")
        assert apim.state.api_by_hrid("team-a-petstore") is not None
        # The context itself is outside the scope: nobody reconciles it.
        await wait_idle(env)
        live = await env.get(MANAGEMENT_CONTEXTS, "shared", "platform")
        assert "status" not in live or not live["status"]

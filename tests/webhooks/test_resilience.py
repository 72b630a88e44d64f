"""What upstream's webhooks get wrong, done right (docs/behavior/admission.md#webhooks):

* the operator down: CREATE and UPDATE follow ``WEBHOOK_FAILURE_POLICY``, a DELETE always works;
* the APIM dry run (opt-in) never turns a slow APIM into a refusal: past its budget the object is
  admitted with a warning, and a context with bad credentials is still refused;
* two installs in two namespaces register configurations that do not collide.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from controller.kube.rest import request_json
from controller.webhook import registration
from sim.apim.pytest_plugin import FIXTURE_TOKEN
from sim.apim.testing import RunningSimulator
from tests.integration.harness import application, v2_api, v4_api, wait_for
from tests.webhooks.stack import ApiServer, context, stack

pytestmark = pytest.mark.asyncio(loop_scope="module")


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def local_api(name: str) -> dict[str, Any]:
    """Nothing for the reconcile to send to APIM: a STOPPED local API."""
    return v4_api(name, context_ref=None, state="STOPPED",
                  definitionContext={"origin": "KUBERNETES", "syncFrom": "KUBERNETES"})


async def test_operator_down_with_fail_refuses_writes_but_never_deletes(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    async with stack(server, simulator, fresh("down-fail")) as running:
        api = local_api("kept")
        await running.applied(api)
        await running.stop_operator()

        created = await running.apply(local_api("new"))
        assert created.refused
        assert "failed calling webhook" in created.err, created.err

        changed = copy.deepcopy(api)
        changed["spec"]["description"] = "changed while the operator is down"
        updated = await running.apply(changed)
        assert updated.refused
        assert "failed calling webhook" in updated.err, updated.err

        deleted = await running.kubectl("delete", "-n", running.ns, "apiv4definitions", "kept",
                                        "--wait=false")
        assert deleted.code == 0, deleted.err


async def test_operator_down_with_ignore_admits(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    async with stack(server, simulator, fresh("down-ignore"),
                     failure_policy="Ignore") as running:
        await running.stop_operator()
        created = await running.apply(local_api("admitted"))
        assert created.code == 0, created.err


async def test_slow_apim_past_the_budget_admits_with_a_warning(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    async with stack(server, simulator, fresh("slow"), apim_dry_run=True,
                     apim_dry_run_budget=0.5) as running:
        await running.applied(context("ctx", simulator))
        simulator.faults.set_latency(15.0)  # longer than the API server waits for a webhook
        try:
            result = await running.apply(v4_api("slow-api", context_ref="ctx"))
        finally:
            simulator.faults.clear()
        assert result.code == 0, result.err
        assert ("Warning: APIM dry run skipped: APIM did not answer within 0.5s; the object is "
                "admitted and checked against APIM when it is reconciled") in result.err


async def test_dry_run_refuses_a_context_with_bad_credentials(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    async with stack(server, simulator, fresh("creds"), apim_dry_run=True) as running:
        bad = context("bad-creds", simulator, auth={"bearerToken": "not-a-token"})
        result = await running.apply(bad)
        assert result.refused
        assert "bad credentials for context [bad-creds]" in result.err, result.err


async def test_dry_run_warns_when_apim_is_unreachable(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    async with stack(server, simulator, fresh("unreachable"), apim_dry_run=True) as running:
        gone = context("gone", simulator, baseUrl="http://127.0.0.1:9")
        result = await running.apply(gone)
        assert result.code == 0, result.err
        assert "Warning: unable to reach APIM, [http://127.0.0.1:9] is not available" in result.err


async def test_two_installs_register_their_own_configurations(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    first_ns, second_ns = fresh("install-a"), fresh("install-b")
    async with stack(server, simulator, first_ns) as first, \
            stack(server, simulator, second_ns) as second:
        assert first.api is not None
        names = []
        for running in (first, second):
            webhook = running.settings.webhook
            for collection, name in (
                (registration.VALIDATING, webhook.validating_name(running.ns)),
                (registration.MUTATING, webhook.mutating_name(running.ns)),
            ):
                found = await request_json(first.api, "GET",
                                           f"{registration.API_PREFIX}/{collection}/{name}")
                for hook in found["webhooks"]:
                    selector = hook["namespaceSelector"]["matchExpressions"][0]
                    assert selector["values"] == [running.ns]
                    assert hook["clientConfig"]["url"].startswith(
                        running.settings.webhook.self_register_url)
                names.append(name)
        assert len(set(names)) == 4

        # Each install reviews its own namespace only: with the first one down, the second
        # one's namespace is unaffected.
        await first.stop_operator()
        refused = await first.apply(v4_api("no-plans", context_ref=None, plans={}))
        assert "failed calling webhook" in refused.err, refused.err
        checked = await second.apply(v4_api("no-plans", context_ref=None, plans={}))
        assert checked.refused
        assert "Its state is set to STARTED, but the API has no plans" in checked.err


async def test_a_context_token_is_never_echoed(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    async with stack(server, simulator, fresh("secret"), apim_dry_run=True) as running:
        bad = context("leaky", simulator, auth={"bearerToken": "very-secret-token-123"})
        result = await running.apply(bad)
        assert "very-secret-token-123" not in result.err + result.out
        assert FIXTURE_TOKEN not in result.err + result.out


async def test_a_rotated_certificate_is_served_and_its_ca_written_again(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    async with stack(server, simulator, fresh("rotate"),
                     cert_secret_name="gko-webhook-cert") as running:
        api, webhook = running.api, running.webhook
        assert api is not None
        assert webhook is not None
        secret_path = f"/api/v1/namespaces/{running.ns}/secrets/gko-webhook-cert"
        config_path = (f"{registration.API_PREFIX}/{registration.VALIDATING}/"
                       f"{running.settings.webhook.validating_name(running.ns)}")

        async def ca_bundle() -> str:
            found = await request_json(api, "GET", config_path)
            return str(found["webhooks"][0]["clientConfig"]["caBundle"])

        stored = await request_json(api, "GET", secret_path)
        before = await ca_bundle()
        assert before == stored["data"]["ca"]  # the Secret's CA is what the API server trusts
        assert not await webhook.refresh_certificate()  # nothing changed: kept

        stored["data"] = {}  # e.g. someone deleting the keys to force a rotation
        await request_json(api, "PUT", secret_path, body=stored)
        assert await webhook.refresh_certificate()
        rotated = await request_json(api, "GET", secret_path)
        assert await ca_bundle() == rotated["data"]["ca"] != before

        result = await running.apply(v4_api("after-rotation", context_ref=None, plans={}))
        assert "Its state is set to STARTED, but the API has no plans" in result.err, result.err


async def test_dry_run_warnings_from_apim_are_admission_warnings(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    async with stack(server, simulator, fresh("dryrun"), apim_dry_run=True) as running:
        await running.applied(context("ctx", simulator))
        api = await running.apply(v4_api("categorized", context_ref="ctx", categories=["nope"]))
        assert api.code == 0, api.err
        assert "Warning: category [nope] is not defined in environment [DEFAULT]" in api.err
        app = await running.apply(application("grouped", context_ref="ctx", groups=["nope"]))
        assert app.code == 0, app.err
        assert "Warning: Group [nope] could not be found in environment [DEFAULT]" in app.err


async def test_dry_run_of_a_v2_api(server: ApiServer, simulator: RunningSimulator) -> None:
    async with stack(server, simulator, fresh("dryrun-v2"), apim_dry_run=True) as running:
        await running.applied(context("ctx", simulator))
        result = await running.apply(v2_api("v2-categorized", context_ref="ctx",
                                            categories=["nope"]))
        assert result.code == 0, result.err
        assert "Warning: category [nope] is not defined in environment [DEFAULT]" in result.err


async def test_an_object_admitted_while_down_is_still_finalized_and_deleted(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    """Admitted with Ignore while the operator was down, the object breaks a rule: the
    operator's own metadata writes (finalizer) and the finalizer's removal on delete are still
    admitted, so the deletion completes."""
    async with stack(server, simulator, fresh("finalize"), failure_policy="Ignore") as running:
        await running.stop_operator()
        bad = v4_api("bad-api", context_ref=None, plans={},
                     definitionContext={"origin": "KUBERNETES", "syncFrom": "KUBERNETES"})
        created = await running.apply(bad)
        assert created.code == 0, created.err
        await running.start_operator()

        async def finalized() -> bool:
            got = await running.kubectl("get", "-n", running.ns, "apiv4definitions", "bad-api",
                                        "-o", "jsonpath={.metadata.finalizers}")
            return "finalizers.gravitee.io/apidefinitiondeletion" in got.out

        await wait_for(finalized, timeout=20, what="the operator's finalizer on bad-api")
        deleted = await running.kubectl("delete", "-n", running.ns, "apiv4definitions",
                                        "bad-api", "--timeout=20s")
        assert deleted.code == 0, deleted.err

"""Drift at admission (issue 20, docs/behavior/drift.md#at-admission): an update of an object whose
APIM copy was changed outside the operator is warned about (default) or refused, per
``DRIFT_DETECTION_*`` and the ``gravitee.io/drift-detection`` annotation.

The operator runs with its webhooks behind the emulator; the console user is the simulator's
``/_sim/console`` endpoint. Everything goes through ``kubectl apply`` and what it prints.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from controller.config import DriftDetectionSettings
from controller.informers.predicates import converged
from controller.informers.store import Store
from controller.keys import ObjectKey
from sim.apim.testing import RunningSimulator
from tests.integration.harness import application, kind_of, secret, v2_api, v4_api, wait_for
from tests.webhooks.stack import ApiServer, Stack, context, stack

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONSOLE = "edited in the console"


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def denying(server: ApiServer, simulator: RunningSimulator) -> AsyncIterator[Stack]:
    """``DRIFT_DETECTION_POLICY=deny``; a ManagementContext ``ctx`` in place."""
    async with stack(server, simulator, fresh("drift-deny"),
                     drift_detection=DriftDetectionSettings(policy="deny")) as running:
        await running.applied(context("ctx", simulator))
        yield running


async def _converged(store: Store, key: ObjectKey) -> bool:
    obj = store.get(key)
    return obj is not None and converged(obj, processing_status=False)


async def synced(stack: Stack, obj: dict[str, Any]) -> dict[str, Any]:
    """Apply ``obj`` and wait until the operator has pushed it to APIM (its last reconcile
    finished at this generation): the state drift is measured against."""
    await stack.applied(obj)
    assert stack.manager is not None
    store = stack.manager.informers.informer_for(kind_of(obj)).store
    key = ObjectKey(stack.ns, obj["metadata"]["name"])
    await wait_for(functools.partial(_converged, store, key), timeout=20,
                   what=f"{obj['kind']} {key} synced to APIM")
    return obj


def changed(obj: dict[str, Any], **spec: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["spec"].update(spec)
    return out


def annotated(obj: dict[str, Any], value: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["annotations"] = {"gravitee.io/drift-detection": value}
    return out


def hrid(stack: Stack, name: str) -> str:
    return f"{stack.ns}-{name}"


def v4(name: str, **spec: Any) -> dict[str, Any]:
    return v4_api(name, context_ref="ctx", description="from the cluster", **spec)


async def test_console_edit_then_update_is_admitted_with_a_warning(operator: Stack) -> None:
    api = await synced(operator, v4("edited"))
    assert await operator.apim.console("PATCH", "apis", hrid(operator, "edited"),
                                       {"description": CONSOLE}) == 204

    result = await operator.apply(changed(api, labels=["new-label"]))
    assert result.code == 0, result.err
    assert (f"Warning: drift detected: [ApiV4Definition] [{operator.ns}/edited] was changed in "
            "APIM since the operator last applied it (1 field differs in APIM: description); "
            "update the resource to match, undo the change in APIM, or annotate it "
            "gravitee.io/drift-detection=false to overwrite it") in result.err, result.err
    assert CONSOLE not in result.err


async def test_no_drift_no_warning(operator: Stack) -> None:
    api = await synced(operator, v4("untouched"))
    result = await operator.apply(changed(api, labels=["new-label"]))
    assert result.code == 0, result.err
    assert "drift" not in result.err, result.err


async def test_an_application_edited_in_the_console_is_warned_about(operator: Stack) -> None:
    app = await synced(operator, application("shop", context_ref="ctx"))
    assert await operator.apim.console("PATCH", "applications", hrid(operator, "shop"),
                                       {"description": CONSOLE}) == 204
    result = await operator.apply(changed(app, domain="shop.example.com"))
    assert result.code == 0, result.err
    assert (f"Warning: drift detected: [Application] [{operator.ns}/shop] was changed in APIM "
            "since the operator last applied it (1 field differs in APIM: description)"
            ) in result.err, result.err


async def test_a_v2_api_edited_in_the_console_is_warned_about(operator: Stack) -> None:
    api = await synced(operator, v2_api("legacy", context_ref="ctx"))
    assert await operator.apim.console("PATCH", "apis", api_id(operator, "legacy"),
                                       {"description": CONSOLE}) == 204
    result = await operator.apply(changed(api, tags=["t"]))
    assert result.code == 0, result.err
    assert f"Warning: drift detected: [ApiDefinition] [{operator.ns}/legacy]" in result.err, (
        result.err)
    assert "description" in result.err


def api_id(stack: Stack, name: str) -> str:
    """The APIM id of a synced API (v2 APIs have no HRID in APIM)."""
    assert stack.manager is not None
    store = stack.manager.informers.informer_for(kind_of(v2_api(name))).store
    obj = store.get(ObjectKey(stack.ns, name))
    assert obj is not None
    return str(obj["status"]["id"])


async def test_create_and_unchanged_spec_are_never_checked(operator: Stack) -> None:
    api = await synced(operator, v4("relabelled"))
    assert await operator.apim.console("PATCH", "apis", hrid(operator, "relabelled"),
                                       {"description": CONSOLE}) == 204
    # Only metadata changes: nothing the operator would send changes, nothing is checked.
    relabelled = copy.deepcopy(api)
    relabelled["metadata"]["labels"] = {"team": "a"}
    result = await operator.apply(relabelled)
    assert result.code == 0, result.err
    assert "drift" not in result.err, result.err


async def test_the_same_change_in_apim_and_in_the_update_is_not_drift(denying: Stack) -> None:
    api = await synced(denying, v4("agreed"))
    assert await denying.apim.console("PATCH", "apis", hrid(denying, "agreed"),
                                      {"description": CONSOLE}) == 204
    result = await denying.apply(changed(api, description=CONSOLE))
    assert result.code == 0, result.err
    assert "drift" not in result.err, result.err


async def test_deny_policy_refuses_the_update_and_apim_keeps_its_copy(denying: Stack) -> None:
    api = await synced(denying, v4("guarded"))
    assert await denying.apim.console("PATCH", "apis", hrid(denying, "guarded"),
                                      {"description": CONSOLE}) == 204
    result = await denying.apply(changed(api, labels=["new-label"]))
    assert result.refused, result.out
    assert "denied the request" in result.err, result.err
    assert (f"drift detected: [ApiV4Definition] [{denying.ns}/guarded] was changed in APIM "
            "since the operator last applied it (1 field differs in APIM: description)"
            ) in result.err, result.err
    record = denying.apim.state.api_by_hrid(hrid(denying, "guarded"))
    assert record is not None
    assert record.spec["description"] == CONSOLE

    # The annotation turns the check off for this object: the update goes through and the
    # cluster's version replaces the console's.
    result = await denying.apply(annotated(changed(api, labels=["new-label"]), "false"))
    assert result.code == 0, result.err

    async def overwritten() -> bool:
        found = denying.apim.state.api_by_hrid(hrid(denying, "guarded"))
        return found is not None and found.spec.get("description") == "from the cluster"

    await wait_for(overwritten, timeout=20, what="the cluster's description back in APIM")


async def test_annotation_true_checks_an_object_when_the_setting_is_off(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    settings = DriftDetectionSettings(enabled=False, policy="deny")
    async with stack(server, simulator, fresh("drift-off"), drift_detection=settings) as running:
        await running.applied(context("ctx", simulator))
        plain = await synced(running, v4("plain"))
        watched = await synced(running, annotated(v4("watched"), "true"))
        for name in ("plain", "watched"):
            assert await running.apim.console("PATCH", "apis", hrid(running, name),
                                              {"description": CONSOLE}) == 204
        assert (await running.apply(changed(plain, labels=["x"]))).code == 0
        result = await running.apply(changed(watched, labels=["x"]))
        assert result.refused, result.out
        assert f"drift detected: [ApiV4Definition] [{running.ns}/watched]" in result.err


async def test_an_object_deleted_in_apim_is_warned_about(operator: Stack) -> None:
    app = await synced(operator, application("gone-app", context_ref="ctx"))
    assert await operator.apim.console("DELETE", "applications", hrid(operator, "gone-app")) == 204
    result = await operator.apply(changed(app, domain="gone.example.com"))
    assert result.code == 0, result.err
    assert (f"Warning: remote [Application] [{operator.ns}/gone-app] not found during drift "
            "detection") in result.err, result.err


async def test_secret_values_never_appear_in_the_message(denying: Stack) -> None:
    cluster_value, console_value = "s3cr3t-from-the-cluster", "s3cr3t-from-the-console"
    await denying.applied(secret("api-token", {"token": cluster_value}))
    properties = [{"key": "token", "value": '[[ secret "api-token/token" ]]'}]
    api = await synced(denying, v4("secretive", properties=properties))
    assert await denying.apim.console(
        "PATCH", "apis", hrid(denying, "secretive"),
        {"properties": [{"key": "token", "value": console_value}]},
    ) == 204
    result = await denying.apply(changed(api, labels=["new-label"]))
    assert result.refused, result.out
    assert "drift detected" in result.err, result.err
    assert "properties" in result.err, result.err
    assert cluster_value not in result.err
    assert console_value not in result.err


async def test_slow_apim_past_the_budget_admits_with_a_warning(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    # Even with drift denied, an APIM that cannot answer in time never blocks an update.
    async with stack(server, simulator, fresh("drift-slow"), apim_dry_run_budget=0.5,
                     drift_detection=DriftDetectionSettings(policy="deny")) as running:
        await running.applied(context("ctx", simulator))
        api = await synced(running, v4("slow"))
        simulator.faults.set_latency(15.0)  # longer than the API server waits for a webhook
        try:
            result = await running.apply(changed(api, labels=["new-label"]))
        finally:
            simulator.faults.clear()
        assert result.code == 0, result.err
        assert (f"Warning: failed to fetch remote [ApiV4Definition] [{running.ns}/slow] for "
                "drift detection: APIM did not answer within 0.5s") in result.err, result.err


async def test_an_apim_error_admits_with_a_warning_even_when_drift_is_denied(
    denying: Stack
) -> None:
    api = await synced(denying, v4("failing"))
    denying.apim.faults.fail_next(10, method="GET", status=500)
    try:
        result = await denying.apply(changed(api, labels=["new-label"]))
    finally:
        denying.apim.faults.clear()
    assert result.code == 0, result.err
    assert (f"Warning: failed to fetch remote [ApiV4Definition] [{denying.ns}/failing] for drift "
            "detection:") in result.err, result.err


async def test_allow_policy_admits_a_drifted_update_without_a_warning(
    server: ApiServer, simulator: RunningSimulator
) -> None:
    settings = DriftDetectionSettings(policy="allow", on_remote_missing="deny")
    async with stack(server, simulator, fresh("drift-allow"), drift_detection=settings) as running:
        await running.applied(context("ctx", simulator))
        api = await synced(running, v4("tolerated"))
        assert await running.apim.console("PATCH", "apis", hrid(running, "tolerated"),
                                          {"description": CONSOLE}) == 204
        result = await running.apply(changed(api, labels=["new-label"]))
        assert result.code == 0, result.err
        assert "drift" not in result.err, result.err
        # The other policies still apply: an object deleted in APIM is refused here.
        app = await synced(running, application("vanished", context_ref="ctx"))
        assert await running.apim.console("DELETE", "applications",
                                          hrid(running, "vanished")) == 204
        result = await running.apply(changed(app, domain="vanished.example.com"))
        assert result.refused, result.out
        assert f"remote [Application] [{running.ns}/vanished] not found during drift" in result.err

"""Application end to end: Automation API upserts in HRID and legacy UUID mode, client
certificates from every kind of source, deletion, failures and restarts
(docs/behavior/application.md).

The operator runs in-process against the Kubernetes API emulator and the APIM simulator.
"""

import base64
from typing import Any

from controller.kube.kinds import APPLICATIONS, MANAGEMENT_CONTEXTS, SECRETS
from sim.apim.state import ApplicationRecord, utcnow
from tests.integration.context_app_helpers import (
    APPLICATIONS_PATH,
    V2_ENV_PATH,
    app_puts,
    client_certificate_pem,
    condition,
    finalizers,
    patch_offline,
    seed,
    settle,
    wait_object,
)
from tests.integration.harness import (
    Env,
    application,
    configmap,
    context,
    operator_env,
    secret,
)

APP_FINALIZER = "finalizers.gravitee.io/applicationdeletion"
LEGACY_ID = "1f0c9a52-6b3e-4d7a-9c1e-2a4b6c8d0e1f"


def app_record(env: Env, hrid: str) -> ApplicationRecord | None:
    for record in env.apim.state.applications.values():
        if record.hrid == hrid:
            return record
    return None


def certificates_sent(env: Env, *, since: int = 0) -> list[dict[str, Any]]:
    put = app_puts(env, since=since)[-1]
    certificates: list[dict[str, Any]] = put.body["settings"]["tls"]["clientCertificates"]
    return certificates


def with_certificates(name: str, certificates: list[dict[str, Any]]) -> dict[str, Any]:
    return application(
        name, settings={"app": {"type": "web"}, "tls": {"clientCertificates": certificates}}
    )


async def test_application_is_created_in_hrid_mode(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    mark = env.apim.requests.mark()
    metadata = [{"name": "team", "value": "payments", "format": "STRING"}]
    await env.create(application("app", metadata=metadata))

    accepted = await env.wait_condition(APPLICATIONS, "app")
    assert (accepted["reason"], accepted["message"]) == ("Accepted", "Successfully reconciled")
    obj = await env.get(APPLICATIONS, "app")
    managed = condition(obj, "AutomationAPIManaged")
    assert managed is not None
    assert (managed["status"], managed["reason"], managed["message"]) == (
        "True",
        "AutomationAPIManaged",
        "",
    )
    assert condition(obj, "ResolvedRefs")["status"] == "True"  # type: ignore[index]
    assert obj["status"]["processingStatus"] == "Completed"
    assert APP_FINALIZER in finalizers(obj)

    record = app_record(env, "team-app")
    assert record is not None
    assert record.status == "ACTIVE"
    assert obj["status"]["id"] == record.id
    assert obj["status"]["organizationId"] == "DEFAULT"
    assert obj["status"]["environmentId"] == "DEFAULT"
    assert record.name == "app"
    assert record.spec["metadata"] == metadata

    [put] = app_puts(env, since=mark)
    assert put.query == {"dryRun": "false"}
    assert put.body["hrid"] == "team-app"
    assert "id" not in put.body
    assert put.body["contextRef"] == {"name": "apim"}
    events = await env.events("app")
    assert [e["reason"] for e in events][:2] == ["UpdateStarted", "UpdateSucceeded"]
    assert [e["message"] for e in events][:2] == ["Update started", "Update succeeded"]
    assert {e["source"]["component"] for e in events} == {"application-controller"}
    assert {e["involvedObject"]["kind"] for e in events} == {"Application"}


async def test_update_is_reflected_in_apim(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(application("app", metadata=[{"name": "tier", "value": "gold"}]))
    await env.wait_condition(APPLICATIONS, "app")
    first = app_record(env, "team-app")
    assert first is not None
    first_id = first.id

    mark = env.apim.requests.mark()
    updated = await env.patch(
        APPLICATIONS,
        "app",
        {"spec": {"name": "renamed", "metadata": [{"name": "tier", "value": "platinum"}]}},
    )
    await wait_object(
        env,
        APPLICATIONS,
        "app",
        lambda o: (
            (condition(o, "Accepted") or {}).get("observedGeneration")
            == updated["metadata"]["generation"]
        ),
        what="update reconciled",
    )

    record = app_record(env, "team-app")
    assert record is not None
    assert record.id == first_id
    assert record.name == "renamed"
    assert record.spec["metadata"] == [{"name": "tier", "value": "platinum"}]
    assert len(app_puts(env, since=mark)) == 1


async def test_delete_archives_the_application_in_apim(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(application("app"))
    await env.wait_condition(APPLICATIONS, "app")
    mark = env.apim.requests.mark()

    await env.delete(APPLICATIONS, "app")
    await env.wait_gone(APPLICATIONS, "app")

    record = app_record(env, "team-app")
    assert record is not None
    assert record.status == "ARCHIVED"
    [delete] = env.apim.requests.find(method="DELETE", since=mark)
    assert delete.path == f"{APPLICATIONS_PATH}/team-app"
    assert delete.query == {"hridContainsUUID": "false"}
    assert delete.status == 204
    reasons = await env.deletion_reasons("app")
    assert reasons[-2:] == ["DeleteStarted", "DeleteSucceeded"]


async def test_delete_succeeds_when_apim_already_lost_it(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(application("app"))
    await env.wait_condition(APPLICATIONS, "app")
    record = app_record(env, "team-app")
    assert record is not None
    record.status = "ARCHIVED"  # someone archived it in the console

    mark = env.apim.requests.mark()
    await env.delete(APPLICATIONS, "app")
    await env.wait_gone(APPLICATIONS, "app")
    [delete] = env.apim.requests.find(method="DELETE", since=mark)
    assert delete.status == 404
    assert "DeleteFailed" not in await env.event_reasons("app")


async def test_legacy_application_keeps_its_uuid(kubeapi, apim):
    """An application created before 4.12 (UUID in status, no AutomationAPIManaged) is
    addressed by UUID with hridContainsUUID=true, now and when deleted."""
    now = utcnow()
    apim.state.applications[("DEFAULT", "DEFAULT", LEGACY_ID)] = ApplicationRecord(
        org="DEFAULT",
        env="DEFAULT",
        id=LEGACY_ID,
        hrid=None,
        name="app",
        status="ACTIVE",
        spec={"name": "app"},
        created_at=now,
        updated_at=now,
    )
    legacy_status = {"id": LEGACY_ID, "processingStatus": "Completed"}
    await seed(
        kubeapi,
        [context("apim", apim), application("app")],
        statuses={"app": legacy_status},
    )

    async with operator_env(kubeapi, apim) as env:
        await env.wait_condition(APPLICATIONS, "app")
        [put] = app_puts(env)
        assert put.query == {"dryRun": "false", "hridContainsUUID": "true"}
        assert put.body["hrid"] == LEGACY_ID
        assert put.body["id"] == LEGACY_ID
        obj = await env.get(APPLICATIONS, "app")
        assert obj["status"]["id"] == LEGACY_ID
        assert condition(obj, "AutomationAPIManaged") is None
        assert len(apim.state.applications) == 1  # updated in place, no duplicate

        mark = apim.requests.mark()
        await env.delete(APPLICATIONS, "app")
        await env.wait_gone(APPLICATIONS, "app")
        [delete] = apim.requests.find(method="DELETE", since=mark)
        assert delete.path == f"{APPLICATIONS_PATH}/{LEGACY_ID}"
        assert delete.query == {"hridContainsUUID": "true"}
        assert apim.state.applications[("DEFAULT", "DEFAULT", LEGACY_ID)].status == "ARCHIVED"


async def test_automation_api_managed_survives_a_failure(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(application("app"))
    await env.wait_condition(APPLICATIONS, "app")

    env.apim.faults.fail_next(1, method="PUT", path_prefix=APPLICATIONS_PATH, status=400)
    await env.patch(APPLICATIONS, "app", {"spec": {"description": "second"}})
    failed = await env.wait_condition(APPLICATIONS, "app", "False")
    assert failed["reason"] == "ControlPlaneError"
    assert failed["message"].startswith(
        f"request [PUT] {env.apim.url}{APPLICATIONS_PATH}?dryRun=false failed with status 400"
    )
    obj = await env.get(APPLICATIONS, "app")
    assert obj["status"]["processingStatus"] == "Failed"
    assert (condition(obj, "AutomationAPIManaged") or {}).get("status") == "True"
    assert "UpdateFailed" in await env.event_reasons("app")

    mark = env.apim.requests.mark()
    await env.patch(APPLICATIONS, "app", {"spec": {"description": "third"}})
    await env.wait_condition(APPLICATIONS, "app")
    [put] = app_puts(env, since=mark)
    # Still HRID mode: the sticky condition kept the identity.
    assert put.query == {"dryRun": "false"}
    assert put.body["hrid"] == "team-app"
    record = app_record(env, "team-app")
    assert record is not None
    assert record.spec["description"] == "third"


async def test_apim_errors_are_retried_until_accepted(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    env.apim.faults.fail_next(2, method="PUT", path_prefix=APPLICATIONS_PATH, status=503)
    await env.create(application("app"))

    await env.wait_condition(APPLICATIONS, "app")
    assert [p.status for p in app_puts(env)] == [503, 503, 200]
    assert app_record(env, "team-app") is not None


async def test_missing_context_then_created(env: Env):
    await env.create(application("app"))
    unresolved = await env.wait_condition(APPLICATIONS, "app", "False", type_="ResolvedRefs")
    assert unresolved["message"] == (
        "resource [app] references management context [team/apim] that doesn't exist in the "
        "cluster"
    )
    accepted = await env.condition(APPLICATIONS, "app")
    assert accepted is not None
    assert accepted["reason"] == "ReconcileFailed"
    assert app_puts(env) == []

    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.wait_condition(APPLICATIONS, "app")
    assert app_record(env, "team-app") is not None


async def test_client_certificates_from_every_source(env: Env):
    inline = client_certificate_pem("inline")
    from_secret = client_certificate_pem("from-secret")
    from_configmap = client_certificate_pem("from-configmap")
    encoded = client_certificate_pem("encoded")
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(secret("client-tls", {"tls.crt": from_secret}))
    await env.create(configmap("client-pem", {"cert.pem": from_configmap}))
    mark = env.apim.requests.mark()
    await env.create(
        with_certificates(
            "app",
            [
                {"name": "inline", "content": inline},
                {"ref": {"name": "client-tls"}},
                {"ref": {"kind": "configmaps", "name": "client-pem", "key": "cert.pem"}},
                {
                    "name": "b64",
                    "content": base64.b64encode(encoded.encode()).decode(),
                    "encoded": True,
                },
            ],
        )
    )

    await env.wait_condition(APPLICATIONS, "app")
    sent = certificates_sent(env, since=mark)
    assert [c["name"] for c in sent] == ["inline", "app-1", "app-2", "b64"]
    assert [c["content"] for c in sent] == [inline, from_secret, from_configmap, encoded]
    assert all("ref" not in c and not c.get("encoded") for c in sent)
    # The CR keeps what the user wrote.
    obj = await env.get(APPLICATIONS, "app")
    assert obj["spec"]["settings"]["tls"]["clientCertificates"][1]["ref"]["name"] == "client-tls"


async def test_missing_certificate_secret_then_created(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(with_certificates("app", [{"name": "c", "ref": {"name": "client-tls"}}]))

    unresolved = await env.wait_condition(APPLICATIONS, "app", "False", type_="ResolvedRefs")
    assert unresolved["message"].startswith(
        "failed to resolve certificate ref [team/client-tls] key [tls.crt]: "
    )
    assert app_puts(env) == []

    pem = client_certificate_pem("late")
    await env.create(secret("client-tls", {"tls.crt": pem}))
    await env.wait_condition(APPLICATIONS, "app")
    assert certificates_sent(env)[0]["content"] == pem


async def test_missing_certificate_key_is_reported(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(configmap("client-pem", {"other.pem": "x"}))
    await env.create(
        with_certificates(
            "app",
            [{"name": "c", "ref": {"kind": "configmaps", "name": "client-pem", "key": "cert.pem"}}],
        )
    )
    unresolved = await env.wait_condition(APPLICATIONS, "app", "False", type_="ResolvedRefs")
    assert unresolved["message"].startswith(
        "failed to resolve certificate ref [team/client-pem] key [cert.pem]: "
    )
    assert app_puts(env) == []


async def test_certificate_secret_change_re_sends(env: Env):
    first = client_certificate_pem("first")
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(secret("client-tls", {"tls.crt": first}))
    await env.create(with_certificates("app", [{"name": "c", "ref": {"name": "client-tls"}}]))
    await env.wait_condition(APPLICATIONS, "app")
    assert certificates_sent(env)[0]["content"] == first

    rotated = client_certificate_pem("rotated")
    mark = env.apim.requests.mark()
    await env.patch(SECRETS, "client-tls", {"data": secret("x", {"tls.crt": rotated})["data"]})
    put = await env.apim.requests.wait_for(
        lambda e: e.method == "PUT" and e.path == APPLICATIONS_PATH, since=mark
    )
    assert put.body["settings"]["tls"]["clientCertificates"][0]["content"] == rotated


async def test_undecodable_encoded_certificate_is_an_illegal_state(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(
        with_certificates("app", [{"name": "c", "content": "not base64!", "encoded": True}])
    )
    failed = await env.wait_condition(APPLICATIONS, "app", "False")
    assert failed["reason"] == "IllegalStateError"
    assert failed["message"].startswith("failed to base64-decode certificate [0]: ")
    assert app_puts(env) == []


async def test_converged_objects_are_not_resent_after_restart(kubeapi, apim):
    """Nothing changed while the operator was down: a restart sends nothing for the converged
    context (no probe), application or its template/certificate sources."""
    async with operator_env(kubeapi, apim) as env:
        await env.create(secret("apim-creds", {"username": "admin", "password": "admin"}))
        await env.create(configmap("texts", {"domain": "apps.example.com"}))
        await env.create(secret("client-tls", {"tls.crt": client_certificate_pem("c")}))
        await env.create(context("apim", apim, auth={"secretRef": {"name": "apim-creds"}}))
        app = with_certificates("app", [{"ref": {"name": "client-tls"}}])
        app["spec"]["domain"] = "[[ configmap `texts/domain` ]]"
        await env.create(app)
        await env.wait_condition(APPLICATIONS, "app")
        await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
        await settle(env)

    mark = apim.requests.mark()
    async with operator_env(kubeapi, apim) as env:
        # Positive signal: the restarted operator does reconcile what is new.
        await env.create(application("other"))
        await env.wait_condition(APPLICATIONS, "other")
        await settle(env)
        sent = [(e.method, e.path, (e.body or {}).get("hrid")) for e in apim.requests.since(mark)]
        assert sent == [("PUT", APPLICATIONS_PATH, "team-other")]


async def test_apim_warnings_are_kept_in_status(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(application("app", groups=["ghost"]))
    await env.wait_condition(APPLICATIONS, "app")
    obj = await env.get(APPLICATIONS, "app")
    assert obj["status"]["errors"] == {
        "severe": [],
        "warning": ["Group [ghost] could not be found in environment [DEFAULT]"],
    }


async def test_encoded_certificate_from_a_secret(env: Env):
    pem = client_certificate_pem("encoded-ref")
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(secret("client-tls", {"tls.crt": base64.b64encode(pem.encode()).decode()}))
    await env.create(with_certificates("app", [{"ref": {"name": "client-tls"}, "encoded": True}]))
    await env.wait_condition(APPLICATIONS, "app")
    [sent] = certificates_sent(env)
    assert (sent["name"], sent["content"]) == ("app-0", pem)


async def test_context_edited_while_operator_down_re_sends(kubeapi, apim):
    async with operator_env(kubeapi, apim) as env:
        await env.create(context("apim", apim))
        await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
        await env.create(application("app"))
        await env.wait_condition(APPLICATIONS, "app")
        await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
        await settle(env)

    mark = apim.requests.mark()
    await patch_offline(
        kubeapi,
        MANAGEMENT_CONTEXTS,
        "apim",
        {"spec": {"auth": {"credentials": None, "bearerToken": "apim-sim-token"}}},
    )
    async with operator_env(kubeapi, apim) as env:
        # Positive signal: the restarted operator re-checks the edited context...
        probe = await env.apim.requests.wait_for(
            lambda e: e.method == "GET" and e.path == V2_ENV_PATH, since=mark
        )
        assert probe.auth_scheme == "bearer"
        await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
        await settle(env)
        # ... and re-sends its dependants with the new credentials.
        puts = app_puts(env, since=mark)
        assert [p.auth_scheme for p in puts] == ["bearer"]


async def test_context_path_replaces_both_prefixes(env: Env):
    await env.create(context("apim", env.apim, path="/gateway-api"))
    await env.create(application("app"))
    failed = await env.wait_condition(APPLICATIONS, "app", "False")
    expected = "/gateway-api/organizations/DEFAULT/environments/DEFAULT/applications"
    assert failed["message"].startswith(
        f"request [PUT] {env.apim.url}{expected}?dryRun=false failed with status 404"
    )
    probe = "/gateway-api/v2/organizations/DEFAULT/environments/DEFAULT"
    assert env.apim.requests.find(method="GET", path=probe)


async def test_failed_delete_is_retried_until_done(env: Env):
    await env.create(context("apim", env.apim))
    await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
    await env.create(application("app"))
    await env.wait_condition(APPLICATIONS, "app")
    env.apim.faults.fail_next(2, method="DELETE", path_prefix=APPLICATIONS_PATH, status=503)

    await env.delete(APPLICATIONS, "app")
    await env.wait_gone(APPLICATIONS, "app")
    deletes = env.apim.requests.find(method="DELETE", path=f"{APPLICATIONS_PATH}/team-app")
    assert [d.status for d in deletes] == [503, 503, 204]
    events = await env.deletion_events("app")
    failed = [e for e in events if e["reason"] == "DeleteFailed"]
    assert failed
    assert failed[0]["type"] == "Warning"
    assert "failed with status 503" in failed[0]["message"]
    assert events[-1]["reason"] == "DeleteSucceeded"


async def test_certificate_rotated_while_operator_down_is_re_sent(kubeapi, apim):
    async with operator_env(kubeapi, apim) as env:
        await env.create(context("apim", apim))
        await env.wait_condition(MANAGEMENT_CONTEXTS, "apim")
        await env.create(secret("client-tls", {"tls.crt": client_certificate_pem("before")}))
        await env.create(with_certificates("app", [{"ref": {"name": "client-tls"}}]))
        await env.wait_condition(APPLICATIONS, "app")
        await settle(env)

    rotated = client_certificate_pem("after")
    mark = apim.requests.mark()
    await patch_offline(
        kubeapi, SECRETS, "client-tls", {"data": secret("x", {"tls.crt": rotated})["data"]}
    )
    async with operator_env(kubeapi, apim) as env:
        await settle(env)
        puts = app_puts(env, since=mark)
        assert [p.body["settings"]["tls"]["clientCertificates"][0]["content"] for p in puts] == [
            rotated
        ]

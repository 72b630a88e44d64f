"""Authentication, org/env resolution and error shapes per API family."""

import aiohttp
import pytest

from sim.apim.pytest_plugin import FIXTURE_TOKEN
from sim.apim.testing import start_simulator


async def test_context_check_answers_the_environment(apim, http):
    async with http.get(apim.v2_url()) as r:
        assert r.status == 200
        body = await r.json()
    assert body["id"] == "DEFAULT"
    assert body["name"] == "DEFAULT"


@pytest.mark.parametrize(
    ("org", "env"), [("DEFAULT", "NOPE"), ("NOPE", "DEFAULT")]
)
async def test_unknown_org_or_env_is_400_invalid_organization_or_environment(apim, http, org, env):
    for url in (apim.v2_url(org, env), apim.automation_url(org, env) + "/apis/x",
                apim.v1_url(org, env) + "/apis"):
        async with http.get(url) as r:
            assert r.status == 400, url
            body = await r.json()
        assert body["message"] == "Invalid organization or environment"
        assert "status" not in body  # GKO would read it as the HTTP status


async def test_environment_is_resolved_by_hrid_and_without_org_segment(apim, http):
    async with http.get(apim.v2_url(env="default")) as r:
        assert r.status == 200
        assert (await r.json())["id"] == "DEFAULT"
    async with http.get(f"{apim.url}/management/v2/environments/DEFAULT") as r:
        assert r.status == 200


async def test_bad_basic_credentials_get_401_with_basic_challenge(apim):
    headers = {"Authorization": aiohttp.encode_basic_auth("admin", "wrong")}
    async with aiohttp.ClientSession() as s, s.get(apim.v2_url(), headers=headers) as r:
        assert r.status == 401
        assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
        body = await r.json()
    assert body["httpStatus"] == 401


async def test_missing_credentials_get_401(apim):
    async with aiohttp.ClientSession() as s, s.get(apim.v2_url()) as r:
        assert r.status == 401


async def test_bearer_token_accepted_and_unknown_token_gets_empty_401(apim):
    async with aiohttp.ClientSession() as s:
        ok = {"Authorization": f"Bearer {FIXTURE_TOKEN}"}
        async with s.get(apim.v2_url(), headers=ok) as r:
            assert r.status == 200
        bad = {"Authorization": "Bearer xxxx-yyyy-zzzz"}
        async with s.get(apim.v2_url(), headers=bad) as r:
            assert r.status == 401
            assert await r.read() == b""
    assert [e.auth_scheme for e in apim.requests] == ["bearer", "bearer"]


async def test_credentials_can_be_flipped_and_restored(apim, http):
    apim.faults.set_credentials(users={"admin": "rotated"})
    async with http.get(apim.v2_url()) as r:
        assert r.status == 401
    apim.faults.restore_credentials()
    async with http.get(apim.v2_url()) as r:
        assert r.status == 200


async def test_custom_orgs_envs_users_and_tokens():
    sim = await start_simulator(users={"ops": "s3cret"}, tokens=["t1"],
                                orgs_envs={"ACME": ["DEV", "PROD"]})
    try:
        async with aiohttp.ClientSession() as s:
            headers = {"Authorization": aiohttp.encode_basic_auth("ops", "s3cret")}
            async with s.get(sim.v2_url("ACME", "PROD"), headers=headers) as r:
                assert r.status == 200
            async with s.get(sim.v2_url("DEFAULT", "DEFAULT"), headers=headers) as r:
                assert r.status == 400
            admin = {"Authorization": aiohttp.encode_basic_auth("admin", "admin")}
            async with s.get(sim.v2_url("ACME", "DEV"), headers=admin) as r:
                assert r.status == 401
    finally:
        await sim.close()


async def test_unknown_route_is_404_in_the_family_shape(apim, http):
    async with http.get(apim.v1_url() + "/nothing-here") as r:
        assert r.status == 404
        assert (await r.json())["http_status"] == 404
    async with http.get(apim.automation_url() + "/nothing/here/at/all") as r:
        assert r.status == 404
        assert (await r.json())["httpStatus"] == 404


async def test_tls_fixture_serves_https_trusting_only_the_test_ca(apim_tls):
    assert apim_tls.url.startswith("https://127.0.0.1:")
    assert apim_tls.ca_path is not None
    assert apim_tls.ca_path.exists()
    headers = {"Authorization": f"Bearer {FIXTURE_TOKEN}"}
    async with aiohttp.ClientSession() as s:
        async with s.get(apim_tls.v2_url(), headers=headers,
                         ssl=apim_tls.client_ssl_context()) as r:
            assert r.status == 200
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await s.get(apim_tls.v2_url(), headers=headers)


async def test_secrets_never_reach_log_or_reprs(apim, http):
    async with http.get(apim.v2_url()) as r:
        assert r.status == 200
    entry = apim.requests.entries[-1]
    assert entry.user == "admin"
    text = repr(entry) + repr(apim) + repr(apim.simulator) + repr(apim.faults.credentials)
    assert "admin:admin" not in text
    assert FIXTURE_TOKEN not in text
    assert "YWRtaW46YWRtaW4" not in text  # base64 of admin:admin


async def test_simulator_as_async_context_manager_stops_listening():
    async with (
        await start_simulator() as sim,
        aiohttp.ClientSession() as s,
        s.get(sim.url + "/_sim/health") as r,
    ):
        assert r.status == 200
    await sim.close()  # idempotent
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientConnectionError):
            await s.get(sim.url + "/_sim/health")


async def test_dropped_connection_over_tls(apim_tls):
    apim_tls.faults.fail_next(2, status="drop")  # 2: aiohttp retries an idempotent call once
    headers = {"Authorization": f"Bearer {FIXTURE_TOKEN}"}
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientError):
            await s.get(apim_tls.v2_url(), headers=headers, ssl=apim_tls.client_ssl_context())
        async with s.get(apim_tls.v2_url(), headers=headers,
                         ssl=apim_tls.client_ssl_context()) as r:
            assert r.status == 200

"""The client's HTTP behaviour against the simulator over loopback: URLs, auth, errors,
timeouts, connection reuse, logging hygiene."""

import asyncio
import base64
import contextlib
import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog

from controller.apim import environments
from controller.apim.auth import Credentials
from controller.apim.errors import ApimError, ErrorKind
from controller.apim.options import ClientOptions
from sim.apim.pytest_plugin import FIXTURE_TOKEN
from sim.apim.testing import start_simulator

from .helpers import client_for

ENV_PATH = "/management/v2/organizations/DEFAULT/environments/DEFAULT"


@pytest.mark.parametrize("suffix", ["", "/", "//"])
async def test_environment_probe_with_and_without_trailing_slash(apim, suffix):
    async with client_for(apim.url + suffix) as client:
        env = await environments.get_environment(client)
    assert env.id == "DEFAULT"
    logged = apim.requests.entries[-1]
    assert (logged.method, logged.path, logged.status) == ("GET", ENV_PATH, 200)
    assert (logged.auth_scheme, logged.user) == ("basic", "admin")


async def test_other_org_and_env_ids_reach_their_own_paths():
    sim = await start_simulator(orgs_envs={"ORG1": ["ENV-A", "ENV-B"]})
    try:
        async with client_for(sim.url, organization_id="ORG1", environment_id="ENV-B") as client:
            env = await environments.get_environment(client)
            assert env.id == "ENV-B"
        assert sim.requests.entries[-1].path == (
            "/management/v2/organizations/ORG1/environments/ENV-B"
        )
    finally:
        await sim.close()


async def test_unknown_environment_is_a_terminal_400(apim):
    async with client_for(apim.url, environment_id="NOPE") as client:
        with pytest.raises(ApimError) as info:
            await environments.get_environment(client)
    error = info.value
    assert error.status == 400
    assert error.recoverable is False
    assert error.message == "Invalid organization or environment"
    assert str(error).startswith(
        f"request [GET] {apim.url}/management/v2/organizations/DEFAULT/environments/NOPE "
        "failed with status 400 (Invalid organization or environment)"
    )


async def test_bearer_wins_over_basic(apim):
    creds = Credentials(bearer_token=FIXTURE_TOKEN, username="admin", password="wrong")
    async with client_for(apim.url, credentials=creds) as client:
        await environments.get_environment(client)
    assert apim.requests.entries[-1].auth_scheme == "bearer"


async def test_no_auth_sends_no_header_and_gets_a_terminal_401(apim):
    async with client_for(apim.url, credentials=Credentials.none()) as client:
        with pytest.raises(ApimError) as info:
            await environments.get_environment(client)
    assert info.value.status == 401
    assert info.value.recoverable is False
    assert apim.requests.entries[-1].auth_scheme is None


@contextlib.contextmanager
def every_log_line() -> Iterator[list[MutableMapping[str, Any]]]:
    """The lines logged meanwhile, debug included, whatever an earlier test configured.

    ``structlog.testing.capture_logs`` swaps the processors only: after a suite that configured
    logging at ``info`` (the operator's default), the level filter of the configured wrapper
    drops the client's debug lines before any processor sees them. The previous configuration
    (or none) is put back afterwards."""
    was_configured = structlog.is_configured()
    previous = structlog.get_config()
    capture = structlog.testing.LogCapture()
    structlog.configure(processors=[capture],
                        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
                        cache_logger_on_first_use=False)
    try:
        yield capture.entries
    finally:
        if was_configured:
            structlog.configure(**previous)
        else:
            structlog.reset_defaults()


async def test_401_with_basic_auth_leaks_no_credential(apim):
    secret = "wrong-pass-s3cr3t"
    creds = Credentials.basic("admin", secret)
    encoded = base64.b64encode(f"admin:{secret}".encode()).decode()
    with every_log_line() as logs:
        async with client_for(apim.url, credentials=creds) as client:
            with pytest.raises(ApimError) as info:
                await environments.get_environment(client)
            texts = [str(info.value), repr(info.value), repr(client), repr(creds)]
    assert info.value.status == 401
    assert logs, "the request was logged"
    texts.extend(repr(entry) for entry in logs)
    for text in texts:
        assert secret not in text
        assert encoded not in text


async def test_userinfo_in_base_url_is_used_as_basic_and_never_shown(apim):
    secret = "userinfo-s3cr3t"
    base = f"http://admin:{secret}@127.0.0.1:{apim.port}"
    async with client_for(base, credentials=Credentials.none()) as client:
        assert secret not in repr(client)
        assert secret not in client.urls.v2
        with pytest.raises(ApimError) as info:
            await environments.get_environment(client)
    # The userinfo was sent as Basic auth (user admin, wrong password) and nowhere else.
    assert apim.requests.entries[-1].user == "admin"
    assert info.value.status == 401
    assert secret not in str(info.value)
    assert secret not in repr(info.value)
    assert info.value.url == f"http://127.0.0.1:{apim.port}{ENV_PATH}"
    good = f"http://admin:admin@127.0.0.1:{apim.port}"
    async with client_for(good, credentials=Credentials.none()) as client:
        assert (await environments.get_environment(client)).id == "DEFAULT"


@pytest.mark.parametrize("status", [403, 404, 409, 500, 502, 503])
async def test_recoverable_statuses(apim, status):
    apim.faults.fail_next(1, path_prefix=ENV_PATH, status=status)
    async with client_for(apim.url) as client:
        with pytest.raises(ApimError) as info:
            await environments.get_environment(client)
        assert info.value.status == status
        assert info.value.kind is ErrorKind.HTTP
        assert info.value.recoverable is True
        # The fault was consumed: the next call succeeds.
        assert (await environments.get_environment(client)).id == "DEFAULT"


async def test_one_dropped_connection_is_retried_once_on_a_new_connection(apim):
    # aiohttp retries idempotent requests (GET, PUT, DELETE: all our calls) once when the
    # server drops the connection; APIM upserts are idempotent, so this is safe.
    apim.faults.fail_next(1, path_prefix=ENV_PATH, status="drop")
    async with client_for(apim.url) as client:
        assert (await environments.get_environment(client)).id == "DEFAULT"
        assert client.stats.connections_opened == 2
    assert [e.status for e in apim.requests.entries] == [0, 200]


async def test_dropped_connections_are_a_recoverable_transport_error(apim):
    apim.faults.fail_next(2, path_prefix=ENV_PATH, status="drop")
    async with client_for(apim.url) as client:
        with pytest.raises(ApimError) as info:
            await environments.get_environment(client)
    assert info.value.kind is ErrorKind.TRANSPORT
    assert info.value.status is None
    assert info.value.recoverable is True
    assert str(info.value).startswith(f"unable to perform request [GET] {apim.url}{ENV_PATH}: (")


async def test_connection_refused_is_a_recoverable_transport_error():
    sim = await start_simulator()
    url = sim.url
    await sim.close()  # nothing listens on that port any more
    async with client_for(url) as client:
        with pytest.raises(ApimError) as info:
            await environments.get_environment(client)
    assert info.value.kind is ErrorKind.TRANSPORT
    assert info.value.recoverable is True


async def test_timeout_when_apim_is_slower_than_the_client(apim):
    apim.faults.set_latency(2.0)
    options = ClientOptions(timeout_seconds=0.2)
    async with client_for(apim.url, options=options) as client:
        with pytest.raises(ApimError) as info:
            await asyncio.wait_for(environments.get_environment(client), timeout=5)
    assert info.value.kind is ErrorKind.TIMEOUT
    assert info.value.status is None
    assert info.value.recoverable is True
    assert "no response within 0.2s" in str(info.value)


async def test_connections_are_reused(apim):
    async with client_for(apim.url) as client:
        for _ in range(5):
            await environments.get_environment(client)
        await asyncio.gather(*(environments.get_environment(client) for _ in range(3)))
        assert client.stats.requests == 8
        # Sequential calls share one connection; the concurrent burst may open a few more.
        assert 1 <= client.stats.connections_opened <= 3
        first_connections = client.stats.connections_opened
        await environments.get_environment(client)
        assert client.stats.connections_opened == first_connections


async def test_json_body_and_content_type_on_writes(apim):
    async with client_for(apim.url) as client:
        body = await client.put_json(
            client.urls.automation + "/applications",
            {"hrid": "default-app", "name": "app", "description": "d", "settings": {}},
            params={"dryRun": True},
        )
    assert body["hrid"] == "default-app"
    logged = apim.requests.entries[-1]
    assert logged.query == {"dryRun": "true"}
    assert logged.body["name"] == "app"


async def test_closed_client_refuses_requests(apim):
    client = client_for(apim.url)
    await environments.get_environment(client)
    await client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await environments.get_environment(client)


async def test_credentials_flip_turns_into_a_terminal_401(apim):
    async with client_for(apim.url) as client:
        await environments.get_environment(client)
        apim.faults.set_credentials(users={"admin": "rotated"})
        with pytest.raises(ApimError) as info:
            await environments.get_environment(client)
        assert info.value.status == 401
        apim.faults.restore_credentials()
        await environments.get_environment(client)


async def test_observer_sees_every_outcome_without_paths_or_secrets(apim):
    from controller.apim.client import ApimClient, RequestOutcome
    from controller.apim.context import ContextSpec, resolve_context

    seen: list[RequestOutcome] = []
    context = resolve_context(
        ContextSpec(
            base_url=apim.url,
            organization_id="DEFAULT",
            environment_id="DEFAULT",
            credentials=Credentials.basic("admin", "admin"),
        )
    )
    apim.faults.fail_next(1, path_prefix=ENV_PATH, status=503)
    async with ApimClient(context, observer=seen.append) as client:
        with pytest.raises(ApimError):
            await environments.get_environment(client)
        await environments.get_environment(client)
    assert [(o.method, o.status, o.outcome) for o in seen] == [
        ("GET", 503, "response"),
        ("GET", 200, "response"),
    ]
    assert {o.host for o in seen} == {f"127.0.0.1:{apim.port}"}
    assert all(o.duration_seconds >= 0 for o in seen)

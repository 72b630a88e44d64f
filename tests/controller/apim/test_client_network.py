"""TLS, proxies, path prefixes, cloud contexts and client pooling, over loopback."""

import base64
import re

import pytest

from controller.apim import apis_v2, apis_v4, environments, ids
from controller.apim.auth import Credentials
from controller.apim.client import ApimClient
from controller.apim.context import ContextSpec, resolve_context
from controller.apim.errors import ApimError, ClientConfigError, ErrorKind
from controller.apim.options import ClientOptions, Proxy
from controller.apim.pool import ApimClientPool
from sim.apim.testing import start_simulator

from .forward_proxy import start_forward_proxy
from .helpers import client_for, v2_api, v4_api
from .jwt_helpers import cloud_token
from .rewriting_proxy import Rule, start_rewriting_proxy

ENV_PATH = "/management/v2/organizations/DEFAULT/environments/DEFAULT"


# --- TLS ---------------------------------------------------------------------------------------


async def test_tls_trusted_through_the_ca_bundle(apim_tls):
    options = ClientOptions(ca_bundle=str(apim_tls.ca_path))
    async with client_for(apim_tls.url, options=options) as client:
        assert (await environments.get_environment(client)).id == "DEFAULT"
    assert apim_tls.url.startswith("https://127.0.0.1:")


async def test_tls_untrusted_certificate_fails_as_a_transport_error(apim_tls):
    async with client_for(apim_tls.url) as client:
        with pytest.raises(ApimError) as info:
            await environments.get_environment(client)
    assert info.value.kind is ErrorKind.TRANSPORT
    assert info.value.recoverable is True
    assert "certificate" in str(info.value).lower()
    assert len(apim_tls.requests) == 0  # the handshake failed: APIM never saw a request


async def test_tls_insecure_skip_verify(apim_tls):
    options = ClientOptions(insecure_skip_verify=True)
    async with client_for(apim_tls.url, options=options) as client:
        assert (await environments.get_environment(client)).id == "DEFAULT"


def test_unreadable_or_invalid_ca_bundle_fails_client_creation(tmp_path):
    context = resolve_context(
        ContextSpec(base_url="https://127.0.0.1:1", organization_id="o", environment_id="e")
    )
    with pytest.raises(ClientConfigError, match="does not exist"):
        ApimClient(context, options=ClientOptions(ca_bundle=str(tmp_path / "missing.pem")))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ClientConfigError, match="cannot be loaded"):
        ApimClient(context, options=ClientOptions(ca_bundle=str(garbage)))


# --- proxy -------------------------------------------------------------------------------------


async def test_requests_go_through_the_configured_proxy_with_its_credentials(apim):
    proxy = await start_forward_proxy()
    try:
        options = ClientOptions(
            proxy=Proxy(url=proxy.url, username="proxy-user", password="proxy-s3cr3t")
        )
        async with client_for(apim.url, options=options) as client:
            assert (await environments.get_environment(client)).id == "DEFAULT"
            assert "proxy-s3cr3t" not in repr(client.options)
    finally:
        await proxy.close()
    assert len(proxy.relayed) == 1
    relayed = proxy.relayed[0]
    assert (relayed.method, relayed.target) == ("GET", apim.url + ENV_PATH)
    expected = base64.b64encode(b"proxy-user:proxy-s3cr3t").decode()
    assert relayed.proxy_authorization == f"Basic {expected}"
    # APIM got the request, with the APIM credentials (not the proxy's).
    logged = apim.requests.entries[-1]
    assert (logged.path, logged.user) == (ENV_PATH, "admin")


async def test_https_goes_through_a_connect_tunnel_and_proxy_credentials_stay_outside(apim_tls):
    proxy = await start_forward_proxy()
    try:
        options = ClientOptions(
            ca_bundle=str(apim_tls.ca_path),
            proxy=Proxy(url=proxy.url, username="proxy-user", password="proxy-s3cr3t"),
        )
        async with client_for(apim_tls.url, options=options) as client:
            assert (await environments.get_environment(client)).id == "DEFAULT"
    finally:
        await proxy.close()
    assert len(proxy.relayed) == 1
    relayed = proxy.relayed[0]
    assert (relayed.method, relayed.target) == ("CONNECT", f"127.0.0.1:{apim_tls.port}")
    expected = base64.b64encode(b"proxy-user:proxy-s3cr3t").decode()
    assert relayed.proxy_authorization == f"Basic {expected}"
    assert apim_tls.requests.entries[-1].user == "admin"


async def test_unreachable_proxy_error_leaks_no_proxy_password(apim):
    proxy = await start_forward_proxy()
    await proxy.close()  # nothing listens there any more
    options = ClientOptions(proxy=Proxy.from_url(f"http://u:proxy-s3cr3t@127.0.0.1:{proxy.port}"))
    async with client_for(apim.url, options=options) as client:
        with pytest.raises(ApimError) as info:
            await environments.get_environment(client)
    assert info.value.kind is ErrorKind.TRANSPORT
    assert "proxy-s3cr3t" not in str(info.value)
    assert len(apim.requests) == 0


# --- path prefix and cloud, behind a rewriting reverse proxy -----------------------------------


async def test_path_replaces_both_prefixes_behind_a_reverse_proxy(apim):
    org_env = r"/organizations/[^/]+/environments/[^/]+"
    rules: list[Rule] = [
        (None, re.compile(r"^/gw/v2/"), "/management/v2/"),
        # With `path`, {AUTO} == {V1}: the proxy routes the Automation collection PUT by method.
        ("PUT", re.compile(rf"^/gw(?={org_env}/apis$)"), "/automation"),
        (None, re.compile(r"^/gw/"), "/management/"),
    ]
    gateway = await start_rewriting_proxy(apim.url, rules)
    try:
        async with client_for(gateway.url, path="/gw") as client:
            assert client.urls.automation == client.urls.v1
            assert (await environments.get_environment(client)).id == "DEFAULT"
            api_id = "7b1f8c0e-6a0b-4c55-9d7e-0b8f1a2c3d4e"
            status = await apis_v2.import_api(client, v2_api(api_id, ids.uuid_from_strings("x")))
            assert status.id == api_id
            state = await apis_v4.upsert_api(client, v4_api("default-gw-api"))
            assert state.id == ids.apim_id("DEFAULT", "DEFAULT", "default-gw-api")
    finally:
        await gateway.close()
    assert gateway.seen_paths == [
        "/gw/v2/organizations/DEFAULT/environments/DEFAULT",
        "/gw/organizations/DEFAULT/environments/DEFAULT/apis/import-crd",
        "/gw/organizations/DEFAULT/environments/DEFAULT/apis",
    ]
    assert [e.path for e in apim.requests.entries] == [
        ENV_PATH,
        "/management/organizations/DEFAULT/environments/DEFAULT/apis/import-crd",
        "/automation/organizations/DEFAULT/environments/DEFAULT/apis",
    ]


async def test_cloud_token_picks_org_env_paths_and_bearer_auth():
    token = cloud_token({"org": "ACME", "envs": ["PROD"], "cpg": "eu"})
    sim = await start_simulator(tokens=[token], orgs_envs={"ACME": ["PROD"]})
    rules: list[Rule] = [
        (None, re.compile(r"^/apim/rest/"), "/management/"),
        (None, re.compile(r"^/apim/automation/"), "/automation/"),
    ]
    gateway = await start_rewriting_proxy(sim.url, rules)
    try:
        # A user-given base URL is kept (the cloud gate is only the default); the inline
        # credentials are replaced by the cloud token.
        async with client_for(
            gateway.url,
            organization_id="ignored",
            environment_id="",
            credentials=Credentials.basic("admin", "admin"),
            cloud_token=token,
        ) as client:
            assert (await environments.get_environment(client)).id == "PROD"
            state = await apis_v4.upsert_api(client, v4_api("default-cloud-api"))
            assert (state.organization_id, state.environment_id) == ("ACME", "PROD")
    finally:
        await gateway.close()
        await sim.close()
    assert gateway.seen_paths == [
        "/apim/rest/v2/organizations/ACME/environments/PROD",
        "/apim/automation/organizations/ACME/environments/PROD/apis",
    ]
    assert {e.auth_scheme for e in sim.requests.entries} == {"bearer"}


# --- pool --------------------------------------------------------------------------------------


async def test_pool_reuses_a_client_until_its_context_changes(apim):
    pool = ApimClientPool()
    spec = ContextSpec(
        base_url=apim.url,
        organization_id="DEFAULT",
        environment_id="DEFAULT",
        credentials=Credentials.basic("admin", "admin"),
    )
    try:
        first = pool.get("default/ctx", resolve_context(spec))
        await environments.get_environment(first)
        assert pool.get("default/ctx", resolve_context(spec)) is first
        rotated = ContextSpec(
            base_url=apim.url,
            organization_id="DEFAULT",
            environment_id="DEFAULT",
            credentials=Credentials.basic("admin", "other"),
        )
        second = pool.get("default/ctx", resolve_context(rotated))
        assert second is not first
        with pytest.raises(ApimError) as info:
            await environments.get_environment(second)
        assert info.value.status == 401
        assert len(pool) == 1
        pool.discard("default/ctx")
        assert len(pool) == 0
    finally:
        await pool.close()
    assert first.closed
    assert second.closed

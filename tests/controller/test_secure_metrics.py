"""SECURE_METRICS: /metrics over HTTPS behind TokenReview + SubjectAccessReview, against the
emulator's reviews (tokens and grants configured per test)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiohttp
import pytest
import trustme
from kubernetes_asyncio.client import ApiClient, Configuration

from controller.config import Settings, SettingsError
from controller.health import MetricsServer, metrics_server
from controller.kube.client import connect
from controller.manager import Manager, ManagerOptions
from controller.metrics_auth import AuthError, AuthOptions, MetricsAuth, TtlCache, UserInfo
from controller.servingcert import CertificateError, from_directory, self_signed
from sim.kubeapi.reviews import User
from sim.kubeapi.testing import RunningEmulator
from tests.controller.secure_metrics import scrape, serving, trusting

READER, OUTSIDER = "reader-token-0123456789", "outsider-token-9876543210"


@pytest.fixture
def grants(kubeapi: RunningEmulator) -> RunningEmulator:
    reviews = kubeapi.emulator.reviews
    reviews.add_token(READER, User(username="system:serviceaccount:monitoring:prometheus",
                                   groups=("system:serviceaccounts", "system:authenticated")))
    reviews.add_token(OUTSIDER, User(username="outsider"))
    reviews.allow_non_resource(verbs=("get",), url="/metrics",
                               user="system:serviceaccount:monitoring:prometheus")
    return kubeapi


def _secured(api: ApiClient, **options: float) -> MetricsServer:
    return MetricsServer(host="127.0.0.1", port=0, certificate=self_signed(),
                         auth=MetricsAuth(api, AuthOptions(**options)))  # type: ignore[arg-type]


async def test_an_allowed_token_reads_the_metrics(grants: RunningEmulator, kube_client: ApiClient):
    async with serving(_secured(kube_client)) as server:
        assert server.url.startswith("https://")
        status, body = await scrape(server, READER)
    assert status == 200
    assert "process_cpu_seconds_total" in body


async def test_a_token_without_the_right_is_forbidden(grants: RunningEmulator,
                                                      kube_client: ApiClient):
    async with serving(_secured(kube_client)) as server:
        status, body = await scrape(server, OUTSIDER)
    assert status == 403
    assert body.strip() == "Authorization denied for user outsider"


@pytest.mark.parametrize("authorization", [None, "", "Bearer ", "Basic dXNlcjpwYXNz",
                                           "Bearer unknown-token"])
async def test_no_or_an_unknown_token_is_unauthorized(grants: RunningEmulator,
                                                      kube_client: ApiClient,
                                                      authorization: str | None):
    async with serving(_secured(kube_client)) as server:
        status, body = await scrape(server, None, authorization=authorization)
    assert status == 401
    assert "process_cpu" not in body


async def test_the_server_speaks_tls_only(grants: RunningEmulator, kube_client: ApiClient):
    async with serving(_secured(kube_client)) as server:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                await session.get(f"http://127.0.0.1:{server.port}/metrics",
                                  headers={"Authorization": f"Bearer {READER}"},
                                  timeout=aiohttp.ClientTimeout(total=10))
        # A client that does not trust the self-signed certificate refuses it.
        connector = aiohttp.TCPConnector(ssl=ssl.create_default_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(f"https://localhost:{server.port}/metrics")


async def test_reviews_are_cached_between_scrapes(grants: RunningEmulator,
                                                  kube_client: ApiClient):
    reviews = grants.emulator.reviews
    async with serving(_secured(kube_client)) as server:
        for _ in range(3):
            assert (await scrape(server, READER))[0] == 200
        for _ in range(3):
            assert (await scrape(server, OUTSIDER))[0] == 403
        for _ in range(2):
            assert (await scrape(server, "Bearer unknown"))[0] == 401
    # One TokenReview per token, one SubjectAccessReview per user: not one per scrape.
    assert reviews.token_reviews == 3
    assert reviews.access_reviews == 2


async def test_without_caching_every_scrape_is_reviewed(grants: RunningEmulator,
                                                        kube_client: ApiClient):
    reviews = grants.emulator.reviews
    async with serving(_secured(kube_client, authn_ttl=0, allow_ttl=0, deny_ttl=0)) as server:
        for _ in range(2):
            assert (await scrape(server, READER))[0] == 200
    assert (reviews.token_reviews, reviews.access_reviews) == (2, 2)


async def test_a_grant_withdrawn_is_honoured_once_the_cached_answer_expires(
    grants: RunningEmulator, kube_client: ApiClient
):
    now = [0.0]
    auth = MetricsAuth(kube_client, clock=lambda: now[0])
    user = UserInfo(username="outsider")
    assert await auth.authorize(user, "get", "/metrics") is False
    grants.emulator.reviews.allow_non_resource(verbs=("get",), url="/metrics", user="outsider")
    now[0] = 29.0
    assert await auth.authorize(user, "get", "/metrics") is False  # denial cached 30 s
    now[0] = 30.5
    assert await auth.authorize(user, "get", "/metrics") is True
    grants.emulator.reviews.reset()
    now[0] = 30.5 + 299
    assert await auth.authorize(user, "get", "/metrics") is True  # allowance cached 5 min
    now[0] = 30.5 + 301
    assert await auth.authorize(user, "get", "/metrics") is False


async def test_an_unreachable_api_server_means_unauthorized_and_the_token_is_never_logged(
    unused_tcp_port: int, capsys: pytest.CaptureFixture[str]
):
    async with ApiClient(Configuration(host=f"http://127.0.0.1:{unused_tcp_port}")) as api:
        auth = MetricsAuth(api)
        with pytest.raises(AuthError) as info:
            await auth.authenticate(READER)
        assert READER not in str(info.value)
        async with serving(_secured(api)) as server:
            status, _ = await scrape(server, READER)
    assert status == 401
    captured = capsys.readouterr()
    assert READER not in captured.out + captured.err


def test_the_cache_is_bounded_and_expires():
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(2, clock=lambda: now[0])
    cache.put("a", 1, ttl=10)
    cache.put("b", 2, ttl=10)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3, ttl=10)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
    now[0] = 10.0
    assert cache.get("a") is None
    with pytest.raises(ValueError):
        TtlCache(0)


async def test_a_mounted_certificate_is_served(tmp_path: Path, grants: RunningEmulator,
                                               kube_client: ApiClient):
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    (tmp_path / "tls.crt").write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    (tmp_path / "tls.key").write_bytes(leaf.private_key_pem.bytes())
    settings = Settings(enable_metrics=True, secure_metrics=True, metrics_port=0,
                        metrics_cert_dir=str(tmp_path))
    server = metrics_server(settings, kube_client, host="127.0.0.1")
    assert server.secured
    assert server.certificate is not None
    assert server.certificate.self_signed is False
    async with serving(server):
        connector = aiohttp.TCPConnector(ssl=trusting(ca.cert_pem.bytes()))
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(f"https://localhost:{server.port}/metrics",
                        headers={"Authorization": f"Bearer {READER}"}) as response,
        ):
            assert response.status == 200


def test_an_unusable_cert_dir_is_a_configuration_error(tmp_path: Path):
    (tmp_path / "tls.crt").write_text("not a certificate")
    with pytest.raises(CertificateError) as info:
        from_directory(tmp_path)
    assert isinstance(info.value, SettingsError)
    assert "METRICS_CERT_DIR" in str(info.value)


async def test_the_settings_pick_the_server(kube_client: ApiClient):
    plain = metrics_server(Settings(enable_metrics=True, metrics_port=0), kube_client,
                           host="127.0.0.1")
    assert not plain.secured
    assert plain.certificate is None
    secured = metrics_server(Settings(enable_metrics=True, secure_metrics=True, metrics_port=0),
                             kube_client, host="127.0.0.1")
    assert secured.secured
    assert secured.certificate is not None
    assert secured.certificate.self_signed
    with pytest.raises(ValueError):
        MetricsServer(certificate=self_signed())


async def test_the_manager_serves_secured_metrics(grants: RunningEmulator):
    api = await connect(kubeconfig=str(grants.kubeconfig))
    settings = Settings(probes_port=0, metrics_port=0, enable_metrics=True, secure_metrics=True,
                        namespaces=("default",))
    manager = Manager(settings, api, options=ManagerOptions(bind_host="127.0.0.1",
                                                            handle_signals=False))
    task = asyncio.create_task(manager.run())
    try:
        await asyncio.wait_for(manager.wait_serving(), 10)
        assert manager.metrics is not None
        assert manager.metrics.secured
        assert (await scrape(manager.metrics, READER))[0] == 200
        assert (await scrape(manager.metrics, OUTSIDER))[0] == 403
        assert (await scrape(manager.metrics, None))[0] == 401
    finally:
        manager.request_stop()
        assert await asyncio.wait_for(task, 15) == 0
        await api.close()


def _write_pair(directory: Path, ca: trustme.CA) -> None:
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    (directory / "tls.crt").write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    (directory / "tls.key").write_bytes(leaf.private_key_pem.bytes())


async def _status_trusting(server: MetricsServer, ca: trustme.CA) -> int:
    connector = aiohttp.TCPConnector(ssl=trusting(ca.cert_pem.bytes()))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"https://localhost:{server.port}/metrics",
                    headers={"Authorization": f"Bearer {READER}"}) as response,
    ):
        return response.status


async def test_a_renewed_mounted_certificate_is_served_without_a_restart(
    tmp_path: Path, grants: RunningEmulator, kube_client: ApiClient
):
    first, second = trustme.CA(), trustme.CA()
    _write_pair(tmp_path, first)
    certificate = from_directory(tmp_path)
    server = MetricsServer(host="127.0.0.1", port=0, certificate=certificate,
                           auth=MetricsAuth(kube_client), cert_check_interval=0.05)
    async with serving(server):
        assert await _status_trusting(server, first) == 200
        assert certificate.reload_if_changed() is False  # nothing changed yet
        # A broken pair (a new certificate, a garbled key) keeps the previous certificate.
        _write_pair(tmp_path, second)
        (tmp_path / "tls.key").write_text("garbage")
        with pytest.raises(CertificateError):
            certificate.reload_if_changed()
        assert await _status_trusting(server, first) == 200
        _write_pair(tmp_path, second)
        deadline = asyncio.get_running_loop().time() + 10
        while certificate.reloads < 1:  # the server's own watch picks it up
            assert asyncio.get_running_loop().time() < deadline, "certificate never reloaded"
            await asyncio.sleep(0.02)
        assert await _status_trusting(server, second) == 200
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await _status_trusting(server, first)

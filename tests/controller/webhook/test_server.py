"""The webhook server alone (narrow: no API server): HTTPS with a mounted certificate, upstream's
path, 503 until the caches have synced, then verdicts; metrics per path."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp

from controller import metrics
from controller.config import Settings, WebhookSettings
from controller.kube.kinds import API_V4_DEFINITIONS
from controller.models.api_v4 import ApiV4DefinitionSpec
from controller.reconcilers.framework.admission import Admission, AdmissionRules
from controller.servingcert import issue
from controller.webhook.server import WebhookServer

PATH = "/validate-gravitee-io-v1alpha1-apiv4definition"


def review(spec: dict[str, Any]) -> bytes:
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": {"uid": "u1", "operation": "CREATE", "namespace": "team",
                                   "object": {"metadata": {"name": "a"}, "spec": spec}}}).encode()


async def test_503_until_synced_then_verdicts_over_https(tmp_path: Path) -> None:
    pair = issue(common_name="localhost", hosts=("127.0.0.1",))
    (tmp_path / "tls.crt").write_bytes(pair.cert_pem)
    (tmp_path / "tls.key").write_bytes(pair.key_pem)
    synced = False

    async def wait_synced(timeout: float) -> bool:
        return synced

    settings = Settings(webhook=WebhookSettings(enabled=True, service_port=0,
                                                cert_dir=str(tmp_path), timeout_seconds=1))
    admission = Admission({API_V4_DEFINITIONS: AdmissionRules(ApiV4DefinitionSpec)},
                          deps=None)  # type: ignore[arg-type]  # model-only rules need no deps
    server = WebhookServer(admission, settings, api_client=None,  # type: ignore[arg-type]
                           namespace="team", host="127.0.0.1", wait_synced=wait_synced,
                           synced=lambda: synced)
    await server.start()
    try:
        assert sorted(server.routes) == [PATH]
        context = ssl.create_default_context(cadata=pair.cert_pem.decode())
        url = f"https://127.0.0.1:{server.port}{PATH}"
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=review({}), ssl=context) as response:
                assert response.status == 503
            synced = True
            async with session.post(url, data=review({}), ssl=context) as response:
                assert response.status == 200
                answer = (await response.json())["response"]
            async with session.post(url, data=b"{}", ssl=context) as response:
                assert response.status == 400
    finally:
        await server.stop()
    assert answer["uid"] == "u1"
    assert answer["allowed"] is False
    assert answer["status"]["message"].startswith("invalid spec: ")
    assert metrics.WEBHOOK_REQUESTS.labels(PATH, "503")._value.get() >= 1
    assert metrics.WEBHOOK_REQUESTS.labels(PATH, "200")._value.get() >= 1


async def test_a_failing_rule_answers_500_and_counts_a_panic(tmp_path: Path) -> None:
    pair = issue(common_name="localhost", hosts=("127.0.0.1",))
    (tmp_path / "tls.crt").write_bytes(pair.cert_pem)
    (tmp_path / "tls.key").write_bytes(pair.key_pem)

    def broken(review: Any, deps: Any) -> list[Any]:
        raise RuntimeError("bug")

    settings = Settings(webhook=WebhookSettings(enabled=True, service_port=0,
                                                cert_dir=str(tmp_path)))
    admission = Admission({API_V4_DEFINITIONS: AdmissionRules(ApiV4DefinitionSpec, (broken,))},
                          deps=None)  # type: ignore[arg-type]
    server = WebhookServer(admission, settings, api_client=None,  # type: ignore[arg-type]
                           namespace="team", host="127.0.0.1")
    before = metrics.WEBHOOK_PANICS._value.get()
    await server.start()
    try:
        spec = {"name": "a", "version": "1", "type": "PROXY", "listeners": [],
                "endpointGroups": []}
        async with aiohttp.ClientSession() as session, session.post(
            f"https://127.0.0.1:{server.port}{PATH}", data=review(spec),
            ssl=ssl.create_default_context(cadata=pair.cert_pem.decode()),
        ) as response:
            assert response.status == 500
    finally:
        await server.stop()
    assert metrics.WEBHOOK_PANICS._value.get() == before + 1

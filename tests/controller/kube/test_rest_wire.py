"""What ``controller.kube.rest`` puts on the wire: a recording HTTP server stands in for the API
server, so the bearer token from the kubeconfig, the headers, the query string and the JSON body
are checked exactly as sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from aiohttp import web

from controller.kube.client import connect
from controller.kube.rest import MERGE_PATCH, KubeApiError, request_json


@pytest.fixture
async def recorder(unused_tcp_port_factory):
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append({
            "method": request.method,
            "path": request.path,
            "query": list(request.query.items()),
            "headers": dict(request.headers),
            "body": await request.read(),
        })
        if request.path.endswith("/missing"):
            return web.json_response({"kind": "Status", "reason": "NotFound", "code": 404,
                                      "message": "not found"}, status=404)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = unused_tcp_port_factory()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


def kubeconfig(tmp_path, server: str, token: str) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "c", "user": "u"}}],
    }))
    return str(path)


async def test_bearer_token_headers_query_and_body_reach_the_server(tmp_path, recorder):
    server, seen = recorder
    api = await connect(kubeconfig=kubeconfig(tmp_path, server, "s3cr3t-token"))
    try:
        answer = await request_json(
            api, "PATCH", "/apis/gravitee.io/v1alpha1/namespaces/ns/things/a",
            query=[("fieldManager", "gko"), ("dryRun", "All")],
            body={"metadata": {"annotations": {"k": "v"}}}, content_type=MERGE_PATCH,
        )
        with pytest.raises(KubeApiError) as missing:
            await request_json(api, "GET", "/api/v1/namespaces/ns/configmaps/missing")
    finally:
        await api.close()
    assert answer == {"ok": True}
    assert missing.value.not_found
    patch, get = seen
    assert patch["method"] == "PATCH"
    assert patch["path"] == "/apis/gravitee.io/v1alpha1/namespaces/ns/things/a"
    assert patch["query"] == [("fieldManager", "gko"), ("dryRun", "All")]
    assert patch["headers"]["Authorization"] == "Bearer s3cr3t-token"
    assert patch["headers"]["Content-Type"] == MERGE_PATCH
    assert patch["headers"]["Accept"] == "application/json"
    assert patch["headers"]["User-Agent"] == api.default_headers["User-Agent"]
    assert json.loads(patch["body"]) == {"metadata": {"annotations": {"k": "v"}}}
    assert get["method"] == "GET"
    assert get["query"] == []
    assert get["headers"]["Authorization"] == "Bearer s3cr3t-token"
    assert get["body"] == b""


async def test_a_refreshed_token_is_used_on_the_next_request(tmp_path, recorder):
    server, seen = recorder
    api = await connect(kubeconfig=kubeconfig(tmp_path, server, "first"))
    tokens = iter(["second"])

    async def refresh(configuration: Any) -> None:
        configuration.api_key["BearerToken"] = f"Bearer {next(tokens)}"

    api.configuration.refresh_api_key_hook = refresh
    try:
        await request_json(api, "GET", "/api/v1/namespaces")
    finally:
        await api.close()
    assert seen[0]["headers"]["Authorization"] == "Bearer second"

"""Shared builders for the client tests that run against the APIM simulator."""

from __future__ import annotations

from typing import Any

from controller.apim.auth import Credentials
from controller.apim.client import ApimClient
from controller.apim.context import ContextSpec, resolve_context
from controller.apim.options import ClientOptions

ADMIN = Credentials.basic("admin", "admin")


def client_for(
    base_url: str,
    *,
    credentials: Credentials = ADMIN,
    organization_id: str = "DEFAULT",
    environment_id: str = "DEFAULT",
    path: str | None = None,
    cloud_token: str | None = None,
    options: ClientOptions | None = None,
) -> ApimClient:
    context = resolve_context(
        ContextSpec(
            base_url=base_url,
            organization_id=organization_id,
            environment_id=environment_id,
            path=path,
            credentials=credentials,
            cloud_token=cloud_token,
        )
    )
    return ApimClient(context, options=options)


def v4_api(hrid: str, **extra: Any) -> dict[str, Any]:
    """A minimal valid Automation API body for a v4 proxy API."""
    body: dict[str, Any] = {
        "hrid": hrid,
        "name": hrid,
        "version": "1.0",
        "type": "PROXY",
        "state": "STARTED",
        "lifecycleState": "UNPUBLISHED",
        "definitionContext": {"origin": "KUBERNETES", "syncFrom": "MANAGEMENT"},
        "listeners": [
            {
                "type": "HTTP",
                "paths": [{"path": f"/{hrid}"}],
                "entrypoints": [{"type": "http-proxy"}],
            }
        ],
        "endpointGroups": [
            {
                "name": "default",
                "type": "http-proxy",
                "endpoints": [
                    {
                        "name": "default",
                        "type": "http-proxy",
                        "configuration": {"target": "https://api.gravitee.io/echo"},
                    }
                ],
            }
        ],
        "plans": [
            {
                "hrid": "key-less",
                "name": "Free",
                "security": {"type": "KEY_LESS"},
                "status": "PUBLISHED",
            }
        ],
    }
    body.update(extra)
    return body


def v2_api(api_id: str, cross_id: str, **extra: Any) -> dict[str, Any]:
    """A minimal v2 ``import-crd`` body."""
    body: dict[str, Any] = {
        "id": api_id,
        "crossId": cross_id,
        "name": "my-api",
        "version": "1.0",
        "description": "test",
        "state": "STARTED",
        "gravitee": "2.0.0",
        "definition_context": {
            "origin": "kubernetes",
            "mode": "fully_managed",
            "syncFrom": "MANAGEMENT",
        },
        "proxy": {
            "virtual_hosts": [{"path": "/my-api"}],
            "groups": [{"name": "default", "endpoints": [{"name": "e", "target": "http://x"}]}],
        },
        "plans": [],
    }
    body.update(extra)
    return body

"""Request bodies shaped like the ones GKO sends (from the upstream example manifests' facts)."""

from __future__ import annotations

import copy
from typing import Any


def v4_api(hrid: str = "default-my-api", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hrid": hrid,
        "name": "my api",
        "description": "API v4 managed by the operator",
        "version": "1.0",
        "type": "PROXY",
        "state": "STARTED",
        "lifecycleState": "UNPUBLISHED",
        "visibility": "PRIVATE",
        "definitionVersion": "V4",
        "definitionContext": {"origin": "KUBERNETES", "syncFrom": "MANAGEMENT"},
        "listeners": [
            {
                "type": "HTTP",
                "paths": [{"path": "/echo-v4"}],
                "entrypoints": [{"type": "http-proxy", "qos": "AUTO"}],
            }
        ],
        "endpointGroups": [
            {
                "name": "Default HTTP proxy group",
                "type": "http-proxy",
                "endpoints": [
                    {
                        "name": "Default HTTP proxy",
                        "type": "http-proxy",
                        "inheritConfiguration": False,
                        "configuration": {"target": "https://api.gravitee.io/echo"},
                        "secondary": False,
                    }
                ],
            }
        ],
        "flowExecution": {"mode": "DEFAULT", "matchRequired": False},
        "plans": [
            {
                "hrid": "key-less",
                "name": "Free plan",
                "description": "no authentication",
                "security": {"type": "KEY_LESS"},
                "status": "PUBLISHED",
                "type": "API",
                "mode": "STANDARD",
                "validation": "AUTO",
            }
        ],
    }
    body.update(copy.deepcopy(overrides))
    return body


def api_key_plan(hrid: str = "api-key") -> dict[str, Any]:
    return {
        "hrid": hrid,
        "name": "API key plan",
        "security": {"type": "API_KEY"},
        "status": "PUBLISHED",
        "type": "API",
        "mode": "STANDARD",
        "validation": "AUTO",
    }


def v2_api(
    cross_id: str = "5fb2ddf1-9f4c-4bfa-b2dd-f19f4c6bfa11",
    api_id: str = "e0e9d3d6-4f0a-4a8f-a9d3-d64f0a5a8f11",
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": api_id,
        "crossId": cross_id,
        "name": "K8s Basic Example",
        "version": "1.0",
        "description": "Basic api managed by the operator",
        "state": "STARTED",
        "visibility": "PRIVATE",
        "lifecycle_state": "CREATED",
        "gravitee": "2.0.0",
        "flow_mode": "DEFAULT",
        "definition_context": {"origin": "kubernetes", "mode": "fully_managed",
                               "syncFrom": "MANAGEMENT"},
        "proxy": {
            "virtual_hosts": [{"path": "/k8s-basic"}],
            "groups": [{"endpoints": [{"name": "Default",
                                       "target": "https://api.gravitee.io/echo"}]}],
        },
        "plans": [
            {
                "id": "8b1d7a0e-37a4-4c8e-9d7a-0e37a4bc8e11",
                "crossId": "3c7f0a52-1b7e-4b0c-bf0a-521b7e8b0c11",
                "name": "KEY_LESS",
                "description": "FREE",
                "security": "KEY_LESS",
                "status": "PUBLISHED",
            }
        ],
        "notifyMembers": True,
    }
    body.update(copy.deepcopy(overrides))
    return body


def application(hrid: str = "default-my-app", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hrid": hrid,
        "name": "simple-app",
        "description": "A hands-free application",
        "domain": "https://example.com",
        "settings": {"app": {"type": "WEB"}},
        "metadata": [{"name": "test metadata 1", "format": "STRING"}],
        "contextRef": {"name": "dev-ctx", "namespace": "default"},
    }
    body.update(copy.deepcopy(overrides))
    return body


def subscription(hrid: str = "default-my-sub", *, app: str = "default-my-app",
                 plan: str = "api-key", **overrides: Any) -> dict[str, Any]:
    # GKO always sends apiHrid/status/startingAt (ignored by APIM) and endingAt ("" when unset).
    body: dict[str, Any] = {
        "hrid": hrid,
        "applicationHrid": app,
        "planHrid": plan,
        "apiHrid": "default-my-api",
        "status": "",
        "startingAt": "",
        "endingAt": "",
    }
    body.update(copy.deepcopy(overrides))
    return body

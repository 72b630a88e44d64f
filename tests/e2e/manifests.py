"""Objects the journeys apply, as plain dicts (what a user would write in YAML).

Owns minimal valid manifests for each custom resource kind the journeys use, plus Secrets and
ConfigMaps; keyword arguments replace or add top-level ``spec`` fields. Never sets a
namespace (the suite's ``Cluster.create`` does) and never holds real credentials (the
simulator accepts ``admin``/``admin``).
"""

from __future__ import annotations

import base64
from typing import Any, Final

Obj = dict[str, Any]

API_VERSION: Final = "gravitee.io/v1alpha1"
ECHO: Final = "https://api.gravitee.io/echo"


def _cr(kind: str, name: str, spec: Obj) -> Obj:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def secret(name: str, **data: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "data": encoded(**data)}


def encoded(**data: str) -> dict[str, str]:
    """Secret ``data``: every value base64-encoded."""
    return {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}


def config_map(name: str, **data: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def management_context(name: str, *, base_url: str, **spec: Any) -> Obj:
    body: Obj = {
        "baseUrl": base_url,
        "organizationId": "DEFAULT",
        "environmentId": "DEFAULT",
        "auth": {"credentials": {"username": "admin", "password": "admin"}},
    }
    return _cr("ManagementContext", name, {**body, **spec})


def v4_api(name: str, *, context: str | None, path: str, target: str = ECHO,
           **spec: Any) -> Obj:
    body: Obj = {
        "name": name,
        "version": "1.0",
        "type": "PROXY",
        "state": "STARTED",
        "listeners": [{
            "type": "HTTP",
            "paths": [{"path": path}],
            "entrypoints": [{"type": "http-proxy"}],
        }],
        "endpointGroups": [{
            "name": "default",
            "type": "http-proxy",
            "endpoints": [{
                "name": "default",
                "type": "http-proxy",
                "inheritConfiguration": False,
                "configuration": {"target": target},
            }],
        }],
        "plans": {"key-less": {"name": "Free", "security": {"type": "KEY_LESS"}}},
    }
    if context is not None:
        body["contextRef"] = {"name": context}
    return _cr("ApiV4Definition", name, {**body, **spec})


def v2_api(name: str, *, context: str | None, path: str, target: str = ECHO,
           **spec: Any) -> Obj:
    body: Obj = {
        "name": name,
        "version": "1.0",
        "description": f"{name}, applied by the e2e suite",
        "proxy": {
            "virtual_hosts": [{"path": path}],
            "groups": [{"name": "default", "endpoints": [{"name": "default", "target": target}]}],
        },
        "plans": [{"name": "free", "description": "free plan", "security": "KEY_LESS"}],
    }
    if context is not None:
        body["contextRef"] = {"name": context}
    return _cr("ApiDefinition", name, {**body, **spec})


def api_resource(name: str, *, resource_name: str, **configuration: Any) -> Obj:
    """A cache resource named ``resource_name`` (the name APIs see)."""
    return _cr("ApiResource", name, {
        "name": resource_name,
        "type": "cache",
        "enabled": True,
        "configuration": {"timeToIdleSeconds": 0, "maxEntriesLocalHeap": 1000, **configuration},
    })


def application(name: str, *, context: str, **spec: Any) -> Obj:
    body: Obj = {
        "contextRef": {"name": context},
        "name": name,
        "description": f"{name}, applied by the e2e suite",
        "settings": {"app": {"type": "web"}},
    }
    return _cr("Application", name, {**body, **spec})

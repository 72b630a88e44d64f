"""Management API v2 (``/management/v2/[organizations/{org}/]environments/{env}/...``).

Owns the ManagementContext probe ``GET {V2}`` (the environment), the v4 read-back
``GET /apis/{id}`` and the export ``GET /apis/{id}/_export/crd``. v2 writes dates as ISO-8601 and
enums upper-case; its error bodies carry ``httpStatus``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sim.apim.errors import SimHttpError, json_response
from sim.apim.export import v4_api_manifest
from sim.apim.http_common import iso, resolve_org_env, sim_of
from sim.apim.state import ApiRecord

V2_WITH_ORG = "/management/v2/organizations/{org}/environments/{env}"
V2_NO_ORG = "/management/v2/environments/{env}"

# Fields of a v4 import body that the v2 ``ApiV4`` read model carries under the same name.
_V4_PASSTHROUGH = (
    "type", "listeners", "endpointGroups", "analytics", "failover", "flowExecution", "flows",
    "services", "resources", "properties", "responseTemplates", "tags", "labels", "categories",
    "groups", "allowedInApiProducts", "allowMultiJwtOauth2Subscriptions", "description",
)


async def get_environment(request: web.Request) -> web.Response:
    org, env_id = resolve_org_env(request)
    env = sim_of(request).state.resolve_env(org, env_id)
    assert env is not None  # resolve_org_env answered 400 otherwise
    return json_response({"id": env.id, "name": env.name, "organizationId": org,
                          "hrids": list(env.hrids)})


def _find(request: web.Request, org: str, env: str) -> ApiRecord:
    api_id = request.match_info["api"]
    api = sim_of(request).state.api(api_id, org=org, env=env)
    if api is None:
        raise SimHttpError(404, f"Api [{api_id}] cannot be found.", technical_code="api.notFound",
                           parameters={"apiId": api_id})
    return api


def api_read_model(api: ApiRecord) -> dict[str, Any]:
    """v2 ``ApiV4`` (or the generic part of ``ApiV2``) for a stored API."""
    out: dict[str, Any] = {
        "id": api.id,
        "crossId": api.cross_id,
        "name": api.name,
        "definitionVersion": api.definition_version,
        "state": api.state,
        "deploymentState": "DEPLOYED",
        "definitionContext": {
            "origin": api.origin.upper(),
            "mode": "FULLY_MANAGED",
            "syncFrom": api.sync_from,
        },
        "createdAt": iso(api.created_at),
        "updatedAt": iso(api.updated_at),
    }
    if api.hrid:
        out["hrid"] = api.hrid
    if api.version is not None:
        out["apiVersion"] = api.version
    if api.visibility:
        out["visibility"] = api.visibility.upper()
    if api.lifecycle_state:
        out["lifecycleState"] = api.lifecycle_state.upper()
    if api.deployed_at is not None:
        out["deployedAt"] = iso(api.deployed_at)
    if api.definition_version == "V4":
        for key in _V4_PASSTHROUGH:
            if key in api.spec:
                out[key] = api.spec[key]
    return out


async def get_api(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    return json_response(api_read_model(_find(request, org, env)))


async def export_crd(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    api = _find(request, org, env)
    if api.definition_version != "V4":
        raise SimHttpError(400, "Only V4 APIs can be exported as a CRD",
                           technical_code="api.invalid")
    text = v4_api_manifest(sim_of(request).state, api)
    return web.Response(text=text, content_type="application/x-yaml")


def add_routes(app: web.Application) -> None:
    for base in (V2_WITH_ORG, V2_NO_ORG):
        app.router.add_get(base, get_environment)
        app.router.add_get(base + "/apis/{api}", get_api)
        app.router.add_get(base + "/apis/{api}/_export/crd", export_crd)

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
from sim.apim.state import ApiRecord, PlanRecord

V2_WITH_ORG = "/management/v2/organizations/{org}/environments/{env}"
V2_NO_ORG = "/management/v2/environments/{env}"

# Fields of a v4 import body that the v2 ``ApiV4`` read model carries under the same name.
_V4_PASSTHROUGH = (
    "type",
    "listeners",
    "endpointGroups",
    "analytics",
    "failover",
    "flowExecution",
    "flows",
    "services",
    "resources",
    "properties",
    "responseTemplates",
    "tags",
    "labels",
    "categories",
    "groups",
    "allowedInApiProducts",
    "allowMultiJwtOauth2Subscriptions",
    "description",
)


async def get_environment(request: web.Request) -> web.Response:
    org, env_id = resolve_org_env(request)
    env = sim_of(request).state.resolve_env(org, env_id)
    assert env is not None  # resolve_org_env answered 400 otherwise
    return json_response(
        {"id": env.id, "name": env.name, "organizationId": org, "hrids": list(env.hrids)}
    )


def _find(request: web.Request, org: str, env: str) -> ApiRecord:
    api_id = request.match_info["api"]
    api = sim_of(request).state.api(api_id, org=org, env=env)
    if api is None:
        raise SimHttpError(
            404,
            f"Api [{api_id}] cannot be found.",
            technical_code="api.notFound",
            parameters={"apiId": api_id},
        )
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
        raise SimHttpError(
            400, "Only V4 APIs can be exported as a CRD", technical_code="api.invalid"
        )
    text = v4_api_manifest(sim_of(request).state, api)
    return web.Response(text=text, content_type="application/x-yaml")


# Plan fields the v2 read model carries under the same name as the v4 import body.
_V4_PLAN_PASSTHROUGH = (
    "description",
    "characteristics",
    "excludedGroups",
    "selectionRule",
    "tags",
    "order",
    "commentRequired",
    "commentMessage",
    "validation",
    "type",
    "mode",
    "flows",
    "bootstrapPort",
    "brokerRangeStart",
    "brokerRangeEnd",
)


def plan_read_model(api: ApiRecord, plan: PlanRecord) -> dict[str, Any]:
    """v2 ``PlanV4`` / ``PlanV2`` for a stored plan (v2 plans keep only the common fields)."""
    out: dict[str, Any] = {
        "id": plan.id,
        "name": plan.name,
        "apiId": plan.api_id,
        "definitionVersion": api.definition_version,
        "status": plan.status,
        "security": {"type": plan.security_type or "KEY_LESS"},
    }
    if plan.cross_id:
        out["crossId"] = plan.cross_id
    if plan.closed_at is not None:
        out["closedAt"] = iso(plan.closed_at)
    if api.definition_version == "V4":
        for key in _V4_PLAN_PASSTHROUGH:
            if key in plan.spec:
                out[key] = plan.spec[key]
        security = plan.spec.get("security")
        if isinstance(security, dict) and isinstance(security.get("configuration"), dict):
            out["security"]["configuration"] = security["configuration"]
    else:
        if isinstance(plan.spec.get("description"), str):
            out["description"] = plan.spec["description"]
        out["validation"] = str(plan.spec.get("validation") or "AUTO").upper()
        out["type"] = str(plan.spec.get("type") or "API").upper()
    return out


def _plans_of(request: web.Request, api: ApiRecord) -> list[PlanRecord]:
    # Closed plans stay listed (with statuses=CLOSED), as APIM keeps them.
    state = sim_of(request).state
    return [
        p
        for p in state.plans.values()
        if p.api_id == api.id and p.org == api.org and p.env == api.env
    ]


async def list_plans(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    api = _find(request, org, env)
    wanted = {
        s.strip().upper()
        for s in request.query.get("statuses", "PUBLISHED").split(",")
        if s.strip()
    }
    securities = {
        s.strip().upper() for s in request.query.get("securities", "").split(",") if s.strip()
    }
    plans = [
        plan_read_model(api, p)
        for p in _plans_of(request, api)
        if p.status in wanted and (not securities or (p.security_type or "") in securities)
    ]
    return json_response(
        {
            "data": plans,
            "pagination": {
                "page": 1,
                "perPage": max(len(plans), 10),
                "pageCount": 1,
                "pageItemsCount": len(plans),
                "totalCount": len(plans),
            },
            "links": {},
        }
    )


async def get_plan(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    api = _find(request, org, env)
    plan_id = request.match_info["plan"]
    plan = next((p for p in _plans_of(request, api) if p.id == plan_id), None)
    if plan is None:
        raise SimHttpError(
            404,
            f"Plan [{plan_id}] cannot be found.",
            technical_code="plan.notFound",
            parameters={"plan": plan_id},
        )
    return json_response(plan_read_model(api, plan))


def add_routes(app: web.Application) -> None:
    for base in (V2_WITH_ORG, V2_NO_ORG):
        app.router.add_get(base, get_environment)
        app.router.add_get(base + "/apis/{api}", get_api)
        app.router.add_get(base + "/apis/{api}/_export/crd", export_crd)
        app.router.add_get(base + "/apis/{api}/plans", list_plans)
        app.router.add_get(base + "/apis/{api}/plans/{plan}", get_plan)

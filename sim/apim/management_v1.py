"""Management API v1 (``/management/organizations/{org}/environments/{env}/...``).

Owns ``PUT /apis/import-crd`` (v2 APIs: create-or-update by crossId, dry run, ``severe`` and
``warning`` errors, deploy only for ``syncFrom: MANAGEMENT``, plans keyed by crossId) and the
read-backs and deletes GKO and its tests use, plus the console-side setup calls (categories,
groups) tests need to make APIM know a referenced name. v1 writes dates as epoch milliseconds and
its error bodies carry ``http_status``.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from sim.apim.errors import INVALID_ORG_OR_ENV, SimHttpError, json_response
from sim.apim.export import v2_api_manifest
from sim.apim.http_common import epoch_ms, flag, json_object, resolve_org_env, sim_of, upper
from sim.apim.schema_rules import v2_plan_errors
from sim.apim.state import (
    ApiRecord,
    GroupRecord,
    PageRecord,
    PlanRecord,
    SimulatorState,
    utcnow,
)
from sim.apim.validation import validate_api

V1 = "/management/organizations/{org}/environments/{env}"

_NOT_STORED_IN_SPEC = ("plans", "pages")


def _not_found(api_id: str) -> SimHttpError:
    return SimHttpError(
        404,
        f"Api [{api_id}] cannot be found.",
        technical_code="api.notFound",
        parameters={"api": api_id},
    )


async def import_crd(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    dry_run = flag(request, "dryRun")

    cross_id = body.get("crossId") if isinstance(body.get("crossId"), str) else None
    given_id = body.get("id") if isinstance(body.get("id"), str) and body.get("id") else None
    existing = None
    if cross_id:
        existing = state.api_by_cross_id(cross_id, org=org, env=env)
    if existing is None and given_id:
        existing = state.api(given_id, org=org, env=env)
    api_id = existing.id if existing else (given_id or str(uuid.uuid4()))
    cross_id = cross_id or (existing.cross_id if existing else str(uuid.uuid4()))

    findings = validate_api(state, org, env, body)
    findings.severe.extend(v2_plan_errors(body))
    errors = findings.as_json()
    if findings.severe and not dry_run:
        # v1 answers with the validation result itself as the error body.
        raise SimHttpError(400, "invalid", body=errors)

    now = utcnow()
    context = body.get("definition_context") or {}
    plans = [
        _v2_plan(state, existing, org, env, api_id, p)
        for p in body.get("plans") or []
        if isinstance(p, dict)
    ]
    pages_in = body.get("pages") or {}
    pages = [
        _v2_page(org, env, api_id, name, p)
        for name, p in (pages_in.items() if isinstance(pages_in, dict) else [])
        if isinstance(p, dict)
    ]
    api = ApiRecord(
        org=org,
        env=env,
        id=api_id,
        cross_id=cross_id,
        hrid=None,
        definition_version="V2",
        name=str(body.get("name", "")),
        version=body.get("version"),
        state=upper(body.get("state"), existing.state if existing else "STOPPED"),
        lifecycle_state=body.get("lifecycle_state"),
        visibility=body.get("visibility"),
        origin=str(context.get("origin") or "kubernetes").lower(),
        sync_from=upper(context.get("syncFrom"), "MANAGEMENT"),
        spec={k: v for k, v in body.items() if k not in _NOT_STORED_IN_SPEC},
        created_at=existing.created_at if existing else now,
        updated_at=now,
        plan_ids=[p.id for p in plans],
        page_ids=[p.id for p in pages],
        deployed_at=existing.deployed_at if existing else None,
        deployments=existing.deployments if existing else 0,
        imports=existing.imports if existing else 0,
        errors=errors,
    )
    plan_map: dict[str, str] = {}
    if not dry_run:
        keep_plans = {p.id for p in plans}
        keep_pages = {p.id for p in pages}
        if existing is not None:
            for plan in state.plans_of(existing):
                if plan.id not in keep_plans:
                    state.close_plan(plan)
            for page_id in existing.page_ids:
                if page_id not in keep_pages:
                    state.pages.pop((org, env, page_id), None)
        for plan in plans:
            state.plans[(org, env, plan.id)] = plan
            plan_map[plan.cross_id or plan.id] = plan.id
        for page in pages:
            state.pages[(org, env, page.id)] = page
        api.imports += 1
        if api.sync_from == "MANAGEMENT":
            api.deployments += 1
            api.deployed_at = now
        state.store_api(api)
    return json_response(
        {
            "id": api.id,
            "crossId": api.cross_id,
            "organizationId": org,
            "environmentId": env,
            "state": api.state,
            "plans": plan_map,
            "errors": errors,
        }
    )


def _v2_plan(
    state: SimulatorState,
    existing: ApiRecord | None,
    org: str,
    env: str,
    api_id: str,
    spec: dict[str, Any],
) -> PlanRecord:
    cross_id = spec.get("crossId") if isinstance(spec.get("crossId"), str) else None
    plan_id = None
    if existing is not None and cross_id:
        plan_id = next((p.id for p in state.plans_of(existing) if p.cross_id == cross_id), None)
    if plan_id is None:
        given = spec.get("id")
        plan_id = given if isinstance(given, str) and given else str(uuid.uuid4())
    security = spec.get("security")
    return PlanRecord(
        org=org,
        env=env,
        id=plan_id,
        cross_id=cross_id,
        hrid=None,
        api_id=api_id,
        name=str(spec.get("name", "")),
        status=upper(spec.get("status"), "PUBLISHED"),
        security_type=upper(security, "") or None if isinstance(security, str) else None,
        spec={k: v for k, v in spec.items() if k != "id"},
    )


def _v2_page(org: str, env: str, api_id: str, name: str, spec: dict[str, Any]) -> PageRecord:
    given = spec.get("id")
    page_id = given if isinstance(given, str) and given else str(uuid.uuid4())
    return PageRecord(
        org=org,
        env=env,
        id=page_id,
        cross_id=spec.get("crossId") if isinstance(spec.get("crossId"), str) else None,
        hrid=name,  # the key of the page in the v2 ``pages`` map
        api_id=api_id,
        name=str(spec.get("name") or name),
        spec={k: v for k, v in spec.items() if k != "id"},
    )


def _definition_context(api: ApiRecord) -> dict[str, str]:
    return {"origin": api.origin.lower(), "mode": "fully_managed", "syncFrom": api.sync_from}


def _plan_entity(plan: PlanRecord) -> dict[str, Any]:
    out = dict(plan.spec)
    out.update(
        id=plan.id,
        name=plan.name,
        api=plan.api_id,
        status=plan.status,
    )
    if plan.cross_id:
        out["crossId"] = plan.cross_id
    if plan.security_type:
        out["security"] = plan.security_type
    if plan.closed_at is not None:
        out["closed_at"] = epoch_ms(plan.closed_at)
    return out


def api_entity(state: SimulatorState, api: ApiRecord) -> dict[str, Any]:
    """v1 ``ApiEntity``: the stored definition in v1's snake_case plus server-side fields."""
    out = dict(api.spec) if api.definition_version == "V2" else {}
    out.update(
        id=api.id,
        crossId=api.cross_id,
        name=api.name,
        state=api.state,
        definition_context=_definition_context(api),
        plans=[_plan_entity(p) for p in state.plans_of(api)],
        created_at=epoch_ms(api.created_at),
        updated_at=epoch_ms(api.updated_at),
    )
    if api.version is not None:
        out["version"] = api.version
    if api.visibility:
        out["visibility"] = api.visibility.upper()
    if api.lifecycle_state:
        out["lifecycle_state"] = api.lifecycle_state.upper()
    if api.deployed_at is not None:
        out["deployed_at"] = epoch_ms(api.deployed_at)
    out["gravitee"] = "2.0.0" if api.definition_version == "V2" else "4.0.0"
    return out


def _list_item(api: ApiRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": api.id,
        "crossId": api.cross_id,
        "name": api.name,
        "state": api.state,
        "definition_context": _definition_context(api),
        "created_at": epoch_ms(api.created_at),
        "updated_at": epoch_ms(api.updated_at),
        "gravitee": "2.0.0" if api.definition_version == "V2" else "4.0.0",
    }
    if api.version is not None:
        item["version"] = api.version
    if api.visibility:
        item["visibility"] = api.visibility.upper()
    if api.lifecycle_state:
        item["lifecycle_state"] = api.lifecycle_state.upper()
    return item


async def list_apis(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    cross_id = request.query.get("crossId")
    apis = state.apis_in(org=org, env=env)
    if cross_id is not None:
        apis = [a for a in apis if a.cross_id == cross_id]
    return json_response([_list_item(a) for a in apis])


def _find(request: web.Request, org: str, env: str) -> ApiRecord:
    api_id = request.match_info["api"]
    api = sim_of(request).state.api(api_id, org=org, env=env)
    if api is None:
        raise _not_found(api_id)
    return api


async def get_api(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    return json_response(api_entity(sim_of(request).state, _find(request, org, env)))


async def get_plans(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    state = sim_of(request).state
    api = _find(request, org, env)
    return json_response([_plan_entity(p) for p in state.plans_of(api)])


async def delete_api(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    api = _find(request, org, env)
    open_plans = [p for p in state.plans_of(api) if p.status not in ("CLOSED", "STAGING")]
    if open_plans and not flag(request, "closePlans"):
        raise SimHttpError(
            400,
            f"Api [{api.id}] has open plans: close them first or use closePlans=true",
            technical_code="api.notDeletable",
        )
    state.delete_api(api)
    return web.Response(status=204)


async def export_crd(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    state = sim_of(request).state
    api = _find(request, org, env)
    if api.definition_version != "V2":
        raise SimHttpError(
            400,
            f"Api [{api.id}] is not a V2 API: export it with the v2 API",
            technical_code="api.definition.version.notSupported",
        )
    text = v2_api_manifest(
        state,
        api,
        remove_ids=request.query.get("removeIds", "").lower() == "true",
        context_name=request.query.get("managementContextName"),
        context_namespace=request.query.get("managementContextNamespace", "default"),
    )
    return web.Response(text=text, content_type="application/yaml")


async def create_category(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    body = json_object(request)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise SimHttpError(400, "name is required")
    sim_of(request).state.add_category(name, org=org, env=env)
    return json_response(
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "name": name,
            "key": name.lower().replace(" ", "-"),
        },
        status=201,
    )


async def create_group(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise SimHttpError(400, "name is required")
    group = GroupRecord(
        org=org,
        env=env,
        id=str(uuid.uuid4()),
        hrid=None,
        name=name,
        member_count=0,
        spec={"name": name},
    )
    state.groups[(org, env, group.id)] = group
    return json_response({"id": group.id, "name": name}, status=201)


async def create_user(request: web.Request) -> web.Response:
    """``POST {ORG}/users``: a user members can then refer to by id or email."""
    state = sim_of(request).state
    org = request.match_info["org"]
    if org not in state.environments:
        raise SimHttpError(400, INVALID_ORG_OR_ENV)
    body = json_object(request)
    email = body.get("email")
    if not isinstance(email, str) or not email:
        raise SimHttpError(400, "email is required")
    user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{org}/{email}"))
    state.add_user(user_id, org=org)
    state.add_user(email, org=org)
    return json_response(
        {
            "id": user_id,
            "email": email,
            "firstname": body.get("firstname"),
            "lastname": body.get("lastname"),
            "source": "gravitee",
            "sourceId": email,
            "service": bool(body.get("service", False)),
        },
        status=201,
    )


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/management/organizations/{org}/users", create_user)
    r.add_put(V1 + "/apis/import-crd", import_crd)
    r.add_get(V1 + "/apis", list_apis)
    r.add_get(V1 + "/apis/{api}", get_api)
    r.add_delete(V1 + "/apis/{api}", delete_api)
    r.add_get(V1 + "/apis/{api}/crd", export_crd)
    r.add_get(V1 + "/apis/{api}/plans", get_plans)
    r.add_post(V1 + "/configuration/categories", create_category)
    r.add_post(V1 + "/configuration/groups", create_group)

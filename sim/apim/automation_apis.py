"""Automation API v4 APIs: ``PUT /apis``, ``GET`` and ``DELETE /apis/{hrid}``.

Owns the HRID-mode identity of APIs, plans and pages (ids derived from HRIDs, or the HRID taken
as an existing UUID with ``hridContainsUUID=true``, in which case APIM clears the hrid), dry runs
that store nothing, create-or-update by crossId, the deploy rule (``syncFrom: MANAGEMENT``,
``STARTED``, a published or deprecated plan), and closing the plans that leave the spec.

Responses are ``ApiV4State``: the accepted spec echoed back plus ids and ``errors``. Plan ids are
always filled in the echo (``docs/behavior/apim-calls.md#what-apim-does-with-what-it-receives``):
the operator builds ``.status.plans`` from them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sim.apim import ids
from sim.apim.automation_common import find_api, hrid_of, with_status
from sim.apim.errors import SimHttpError, invalid_import, json_response
from sim.apim.http_common import flag, json_object, resolve_org_env, sim_of, upper
from sim.apim.schema_rules import check_v4_enums, v4_plugin_errors, with_upper_enums
from sim.apim.state import ApiRecord, PageRecord, PlanRecord, SimulatorState, utcnow
from sim.apim.validation import validate_api

# Write-only or unmodelled fields of the request that ``ApiV4State`` does not echo.
_NOT_ECHOED_API = frozenset({"notifyMembers", "contextRef", "plans", "pages", "crossId", "id"})

DEPLOYABLE_PLAN_STATUSES = frozenset({"PUBLISHED", "DEPRECATED"})


def _duplicates(items: list[Any]) -> bool:
    seen: set[str] = set()
    for item in items:
        hrid = item.get("hrid") if isinstance(item, dict) else None
        if isinstance(hrid, str):
            if hrid in seen:
                return True
            seen.add(hrid)
    return False


# -- APIs ---------------------------------------------------------------------------------------


def api_v4_state(
    api: ApiRecord, plans: list[PlanRecord], pages: list[PageRecord], errors: dict[str, list[str]]
) -> dict[str, Any]:
    out = {k: v for k, v in api.spec.items() if k not in _NOT_ECHOED_API}
    if api.hrid:
        out["hrid"] = api.hrid
    else:
        out.pop("hrid", None)  # legacy (UUID) mode: APIM clears the hrid
    out["state"] = api.state
    out["plans"] = [_plan_state(p) for p in plans if p.status != "CLOSED"]
    out["pages"] = [{**p.spec, "id": p.id, "crossId": p.cross_id} for p in pages]
    with_status(out, api.org, api.env, api.id)
    out["crossId"] = api.cross_id
    out["errors"] = errors
    return out


def _plan_state(plan: PlanRecord) -> dict[str, Any]:
    out = {**plan.spec, "id": plan.id, "status": plan.status}
    if plan.hrid:
        out["hrid"] = plan.hrid
    return out


async def put_api(request: web.Request) -> web.Response:
    sim = sim_of(request)
    state = sim.state
    org, env = resolve_org_env(request)
    body = json_object(request)
    # An enum value APIM cannot read fails the request before anything else, dry run or not.
    check_v4_enums(body)
    body = with_upper_enums(body)
    hrid = hrid_of(body)
    dry_run = flag(request, "dryRun")
    legacy = flag(request, "hridContainsUUID")
    plans_in = body.get("plans") or []
    pages_in = body.get("pages") or []
    if not isinstance(plans_in, list) or not isinstance(pages_in, list):
        raise SimHttpError(400, "plans and pages must be lists", technical_code="invalid")
    if _duplicates(plans_in):
        raise SimHttpError(400, "Duplicate hrid found in plans", technical_code="invalid")
    if _duplicates(pages_in):
        raise SimHttpError(400, "Duplicate hrid found in pages", technical_code="invalid")

    user_cross_id = body.get("crossId") if isinstance(body.get("crossId"), str) else None
    existing: ApiRecord | None
    if legacy:
        api_hrid: str | None = None
        existing = state.api(hrid, org=org, env=env)
        if existing is None and user_cross_id:
            existing = state.api_by_cross_id(user_cross_id, org=org, env=env)
        cross_id = user_cross_id or (existing.cross_id if existing else ids.cross_id(org, hrid))
        api_id = existing.id if existing else hrid
        parent_ref = api_id
    else:
        api_hrid = hrid
        cross_id = user_cross_id or ids.cross_id(org, hrid)
        existing = state.api_by_cross_id(cross_id, org=org, env=env) or state.api_by_hrid(
            hrid, org=org, env=env
        )
        api_id = existing.id if existing else ids.java_name_uuid(cross_id, env)
        parent_ref = hrid

    findings = validate_api(state, org, env, body)
    findings.severe.extend(v4_plugin_errors(body))
    errors = findings.as_json()
    if findings.severe and not dry_run:
        raise invalid_import(findings.severe)

    now = utcnow()
    definition_context = body.get("definitionContext") or {}
    plans = [
        _v4_plan(state, org, env, api_id, parent_ref, legacy, p)
        for p in plans_in
        if isinstance(p, dict)
    ]
    pages = [
        _v4_page(org, env, api_id, parent_ref, legacy, p) for p in pages_in if isinstance(p, dict)
    ]
    api = ApiRecord(
        org=org,
        env=env,
        id=api_id,
        cross_id=cross_id,
        hrid=api_hrid,
        definition_version="V4",
        name=str(body.get("name", "")),
        version=body.get("version"),
        state=upper(body.get("state"), existing.state if existing else "STOPPED"),
        lifecycle_state=body.get("lifecycleState"),
        visibility=body.get("visibility"),
        origin=upper(definition_context.get("origin"), "KUBERNETES"),
        sync_from=upper(definition_context.get("syncFrom"), "MANAGEMENT"),
        spec={k: v for k, v in body.items() if k not in ("plans", "pages")},
        created_at=existing.created_at if existing else now,
        updated_at=now,
        plan_ids=[p.id for p in plans],
        page_ids=[p.id for p in pages],
        deployed_at=existing.deployed_at if existing else None,
        deployments=existing.deployments if existing else 0,
        imports=existing.imports if existing else 0,
        errors=errors,
    )
    if dry_run:
        return json_response(api_v4_state(api, plans, pages, errors))

    _replace_children(state, existing, api, plans, pages)
    api.imports += 1
    if (
        api.sync_from == "MANAGEMENT"
        and api.state == "STARTED"
        and any(p.status in DEPLOYABLE_PLAN_STATUSES for p in plans)
    ):
        api.deployments += 1
        api.deployed_at = now
    state.store_api(api)
    return json_response(api_v4_state(api, plans, pages, errors))


def _v4_plan(
    state: SimulatorState,
    org: str,
    env: str,
    api_id: str,
    parent_ref: str,
    legacy: bool,
    spec: dict[str, Any],
) -> PlanRecord:
    hrid = spec.get("hrid") if isinstance(spec.get("hrid"), str) else None
    key = hrid or str(spec.get("name", ""))
    given_id = spec.get("id") if isinstance(spec.get("id"), str) and spec.get("id") else None
    plan_id = given_id if legacy and given_id else ids.child_id(org, env, parent_ref, key)
    security = spec.get("security")
    security_type = security.get("type") if isinstance(security, dict) else None
    status = upper(spec.get("status"), "PUBLISHED")
    # APIM answers with its stored plan, where schema defaults have been applied.
    stored = {k: v for k, v in spec.items() if k not in ("id", "hrid")}
    stored.setdefault("validation", "AUTO")
    stored.setdefault("type", "API")
    stored.setdefault("name", key)
    return PlanRecord(
        org=org,
        env=env,
        id=plan_id,
        cross_id=ids.child_cross_id(org, parent_ref, key),
        hrid=hrid,
        api_id=api_id,
        name=str(spec.get("name", key)),
        status=status,
        security_type=upper(security_type, "") or None,
        spec=stored,
    )


def _v4_page(
    org: str, env: str, api_id: str, parent_ref: str, legacy: bool, spec: dict[str, Any]
) -> PageRecord:
    hrid = spec.get("hrid") if isinstance(spec.get("hrid"), str) else None
    key = hrid or str(spec.get("name", ""))
    given_id = spec.get("id") if isinstance(spec.get("id"), str) and spec.get("id") else None
    page_id = given_id if (legacy and given_id) else ids.child_id(org, env, parent_ref, key)
    return PageRecord(
        org=org,
        env=env,
        id=page_id,
        cross_id=ids.child_cross_id(org, parent_ref, key),
        hrid=hrid,
        api_id=api_id,
        name=spec.get("name"),
        spec={k: v for k, v in spec.items() if k != "id"},
    )


def _replace_children(
    state: SimulatorState,
    existing: ApiRecord | None,
    api: ApiRecord,
    plans: list[PlanRecord],
    pages: list[PageRecord],
) -> None:
    """Store new plans/pages; close plans that left the spec (subscriptions first), drop pages."""
    keep_plans = {p.id for p in plans}
    keep_pages = {p.id for p in pages}
    if existing is not None:
        for plan in state.plans_of(existing):
            if plan.id not in keep_plans:
                state.close_plan(plan)
        for page_id in existing.page_ids:
            if page_id not in keep_pages:
                state.pages.pop((api.org, api.env, page_id), None)
    for plan in plans:
        state.plans[(plan.org, plan.env, plan.id)] = plan
    for page in pages:
        state.pages[(page.org, page.env, page.id)] = page


async def get_api(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    state = sim_of(request).state
    ref = request.match_info["hrid"]
    api = find_api(request, org, env, ref, by_uuid=flag(request, "hridContainsUUID"))
    return json_response(api_v4_state(api, state.plans_of(api), state.pages_of(api), api.errors))


async def delete_api(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    ref = request.match_info["hrid"]
    api = find_api(request, org, env, ref, by_uuid=flag(request, "hridContainsUUID"))
    sim_of(request).state.delete_api(api)
    return web.Response(status=204)

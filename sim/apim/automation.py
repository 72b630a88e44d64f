"""The Automation API (``/automation/organizations/{org}/environments/{env}/...``).

Owns the HRID-mode upserts, reads and deletes of v4 APIs, applications, subscriptions, groups,
shared policy groups and dictionaries, with APIM's identity rules (ids derived from HRIDs, or the
HRID taken as an existing UUID with ``hridContainsUUID=true``), dry runs that store nothing, and
the side effects an operator observes (deploys, plan closing, subscription closing).

Responses are ``<Kind>State`` objects: the accepted spec echoed back plus ids and ``errors``.
Unlike the open question in the contract (section 12.3), plan ids are always filled in the echo:
GKO builds ``.status.plans`` from them.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from sim.apim import ids
from sim.apim.errors import SimHttpError, hrid_not_found, invalid_import, json_response
from sim.apim.http_common import flag, iso, json_object, resolve_org_env, sim_of, upper
from sim.apim.state import (
    ApiKeyRecord,
    ApiRecord,
    ApplicationRecord,
    DictionaryRecord,
    GroupRecord,
    PageRecord,
    PlanRecord,
    SharedPolicyGroupRecord,
    SimulatorState,
    SubscriptionRecord,
    utcnow,
)
from sim.apim.validation import (
    Findings,
    validate_api,
    validate_application,
    validate_group,
)

AUTO = "/automation/organizations/{org}/environments/{env}"

# Fields of request bodies that the Automation resources do not model (GKO sends them anyway,
# APIM's lenient mapper drops them) or that are write-only in the OpenAPI schema.
_NOT_ECHOED_API = frozenset({"notifyMembers", "contextRef", "plans", "pages", "crossId", "id"})
_NOT_ECHOED_APP = frozenset({"contextRef", "id"})
_NOT_ECHOED_SUB = frozenset({"apiKeys", "apiHrid", "status", "startingAt", "endingAt"})
_NOT_ECHOED_PLAIN = frozenset({"contextRef", "id", "crossId"})

DEPLOYABLE_PLAN_STATUSES = frozenset({"PUBLISHED", "DEPRECATED"})


def _hrid(body: dict[str, Any]) -> str:
    hrid = body.get("hrid")
    if not isinstance(hrid, str) or not hrid:
        raise SimHttpError(400, "hrid is required", technical_code="invalid")
    return hrid


def _status(obj: dict[str, Any], org: str, env: str, object_id: str) -> dict[str, Any]:
    obj["id"] = object_id
    obj["organizationId"] = org
    obj["environmentId"] = env
    return obj


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
    _status(out, api.org, api.env, api.id)
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
    hrid = _hrid(body)
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


def _find_api(request: web.Request, org: str, env: str, ref: str, *, by_uuid: bool) -> ApiRecord:
    state = sim_of(request).state
    api = state.api(ref, org=org, env=env) if by_uuid else state.api_by_hrid(ref, org=org, env=env)
    if api is None:
        raise hrid_not_found(ref)
    return api


async def get_api(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    state = sim_of(request).state
    ref = request.match_info["hrid"]
    api = _find_api(request, org, env, ref, by_uuid=flag(request, "hridContainsUUID"))
    return json_response(api_v4_state(api, state.plans_of(api), state.pages_of(api), api.errors))


async def delete_api(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    ref = request.match_info["hrid"]
    api = _find_api(request, org, env, ref, by_uuid=flag(request, "hridContainsUUID"))
    sim_of(request).state.delete_api(api)
    return web.Response(status=204)


# -- applications -------------------------------------------------------------------------------


def application_state(app: ApplicationRecord) -> dict[str, Any]:
    out = {k: v for k, v in app.spec.items() if k not in _NOT_ECHOED_APP}
    if app.hrid:
        out["hrid"] = app.hrid
    out["status"] = app.status
    out["errors"] = app.errors
    return _status(out, app.org, app.env, app.id)


async def put_application(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    hrid = _hrid(body)
    legacy = flag(request, "hridContainsUUID")
    app_id = hrid if legacy else ids.top_level_id(org, env, hrid)
    findings = validate_application(state, org, env, body)
    if findings.severe and not flag(request, "dryRun"):
        raise invalid_import(findings.severe)
    existing = state.application(app_id, org=org, env=env)
    now = utcnow()
    app = ApplicationRecord(
        org=org,
        env=env,
        id=app_id,
        hrid=hrid,  # in UUID mode the UUID itself, echoed back as sent
        name=str(body.get("name", "")),
        status="ACTIVE",
        spec={k: v for k, v in body.items() if k != "hrid"},
        created_at=existing.created_at if existing else now,
        updated_at=now,
        errors=findings.as_json(),
    )
    if not flag(request, "dryRun"):
        state.applications[(org, env, app_id)] = app
    return json_response(application_state(app))


def _find_application(request: web.Request, org: str, env: str) -> ApplicationRecord:
    state = sim_of(request).state
    ref = request.match_info["hrid"]
    app_id = ref if flag(request, "hridContainsUUID") else ids.top_level_id(org, env, ref)
    app = state.application(app_id, org=org, env=env)
    if app is None or app.status == "ARCHIVED":
        raise hrid_not_found(ref)
    return app


async def get_application(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    return json_response(application_state(_find_application(request, org, env)))


async def delete_application(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    app = _find_application(request, org, env)
    # APIM archives rather than deletes, closing the application's subscriptions.
    for sub in state.subscriptions.values():
        if sub.org == org and sub.env == env and sub.application_id == app.id:
            state.close_subscription(sub)
    app.status = "ARCHIVED"
    app.updated_at = utcnow()
    return web.Response(status=204)


# -- subscriptions ------------------------------------------------------------------------------


def subscription_state(sub: SubscriptionRecord, api: ApiRecord | None) -> dict[str, Any]:
    out = {k: v for k, v in sub.spec.items() if k not in _NOT_ECHOED_SUB}
    if sub.hrid:
        out["hrid"] = sub.hrid
    out["apiHrid"] = api.hrid if api is not None and api.hrid else sub.api_id
    out["startingAt"] = iso(sub.starting_at)
    if sub.ending_at:
        out["endingAt"] = sub.ending_at
    out["errors"] = {"severe": [], "warning": []}
    return _status(out, sub.org, sub.env, sub.id)


async def put_subscription(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    hrid = _hrid(body)
    api_ref = request.match_info["api"]
    api = _find_api(request, org, env, api_ref, by_uuid=flag(request, "hridContainsApiUUID"))

    app_ref = body.get("applicationHrid")
    if not isinstance(app_ref, str) or not app_ref:
        raise SimHttpError(400, "applicationHrid is required", technical_code="invalid")
    by_uuid = flag(request, "hridContainsAppUUID")
    app_id = app_ref if by_uuid else ids.top_level_id(org, env, app_ref)
    app = state.application(app_id, org=org, env=env)
    if app is None or app.status != "ACTIVE":
        raise hrid_not_found(app_ref)

    plan_ref = body.get("planHrid")
    if not isinstance(plan_ref, str) or not plan_ref:
        raise SimHttpError(400, "planHrid is required", technical_code="invalid")
    plan = next(
        (p for p in state.plans_of(api) if plan_ref in (p.hrid, p.id) and p.status != "CLOSED"),
        None,
    )
    if plan is None:
        raise hrid_not_found(plan_ref)
    if plan.security_type == "KEY_LESS":
        # APIM's subscription service refuses keyless plans with this exact message.
        raise SimHttpError(400, "A key_less plan is not subscribable !")

    legacy = flag(request, "hridContainsUUID")
    sub_id = hrid if legacy else ids.child_id(org, env, api_ref, hrid)
    existing = state.subscription(sub_id, org=org, env=env)
    if existing is not None:
        # APIM refuses to move a subscription to another plan or application.
        if existing.plan_id != plan.id:
            raise SimHttpError(400, f"Subscription [{sub_id}] cannot change its plan",
                               technical_code="subscription.plan.immutable")
        if existing.application_id != app.id:
            raise SimHttpError(400, f"Subscription [{sub_id}] cannot change its application",
                               technical_code="subscription.application.immutable")
        if existing.status == "CLOSED":
            existing = None  # restored as a new acceptance: startingAt is now again
    ending_at = body.get("endingAt") if isinstance(body.get("endingAt"), str) else None
    sub = SubscriptionRecord(
        org=org,
        env=env,
        id=sub_id,
        hrid=hrid,  # in UUID mode the UUID itself, echoed back as sent
        api_id=api.id,
        application_id=app.id,
        plan_id=plan.id,
        status="ACCEPTED",  # "Kubernetes subscriptions are always auto accepted"
        spec={k: v for k, v in body.items() if k != "hrid" and v != ""},
        starting_at=existing.starting_at if existing else utcnow(),
        ending_at=ending_at or None,
        api_keys=_reconcile_api_keys(existing, body, plan),
    )
    state.subscriptions[(org, env, sub_id)] = sub
    return json_response(subscription_state(sub, api))


def _reconcile_api_keys(
    existing: SubscriptionRecord | None, body: dict[str, Any], plan: PlanRecord
) -> list[ApiKeyRecord]:
    """Custom keys from the spec; keys that left it are revoked; API_KEY plans get one key."""
    given = [k for k in body.get("apiKeys") or [] if isinstance(k, dict) and k.get("key")]
    wanted = {str(k["key"]): k.get("expireAt") for k in given}
    keys: list[ApiKeyRecord] = []
    for old in existing.api_keys if existing else []:
        if old.key in wanted:
            old.expire_at = wanted.pop(old.key)
            old.revoked = False
        elif given:
            old.revoked = True
        keys.append(old)
    keys.extend(ApiKeyRecord(key=k, expire_at=exp) for k, exp in wanted.items())
    if not keys and plan.security_type == "API_KEY":
        keys.append(ApiKeyRecord(key=secrets.token_hex(16), expire_at=None))
    return keys


def _find_subscription(
    request: web.Request, org: str, env: str
) -> tuple[SubscriptionRecord, ApiRecord]:
    state = sim_of(request).state
    api_ref = request.match_info["api"]
    api = _find_api(request, org, env, api_ref, by_uuid=flag(request, "hridContainsApiUUID"))
    ref = request.match_info["hrid"]
    sub_id = ref if flag(request, "hridContainsUUID") else ids.child_id(org, env, api_ref, ref)
    sub = state.subscription(sub_id, org=org, env=env)
    if sub is None or sub.status == "CLOSED" or sub.api_id != api.id:
        raise hrid_not_found(ref)
    return sub, api


async def get_subscription(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    sub, api = _find_subscription(request, org, env)
    return json_response(subscription_state(sub, api))


async def delete_subscription(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    sub, _ = _find_subscription(request, org, env)
    sim_of(request).state.close_subscription(sub)
    return web.Response(status=204)


# -- groups ---------------------------------------------------------------------------------------


def group_state(group: GroupRecord) -> dict[str, Any]:
    out = {k: v for k, v in group.spec.items() if k not in _NOT_ECHOED_PLAIN}
    if group.hrid:
        out["hrid"] = group.hrid
    out["memberCount"] = group.member_count
    out["errors"] = group.errors
    return _status(out, group.org, group.env, group.id)


async def put_group(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    hrid = _hrid(body)
    legacy = flag(request, "hridContainsUUID")
    group_id = hrid if legacy else ids.top_level_id(org, env, hrid)
    findings = validate_group(state, org, body)
    members = [m for m in body.get("members") or [] if isinstance(m, dict)]
    group = GroupRecord(
        org=org,
        env=env,
        id=group_id,
        hrid=hrid,  # in UUID mode the UUID itself, echoed back as sent
        name=str(body.get("name", "")),
        member_count=sum(1 for m in members if state.user_exists(org, str(m.get("sourceId")))),
        spec={k: v for k, v in body.items() if k != "hrid"},
        errors=findings.as_json(),
    )
    if not flag(request, "dryRun"):
        state.groups[(org, env, group_id)] = group
    return json_response(group_state(group))


def _find_group(request: web.Request, org: str, env: str) -> GroupRecord:
    ref = request.match_info["hrid"]
    group_id = ref if flag(request, "hridContainsUUID") else ids.top_level_id(org, env, ref)
    group = sim_of(request).state.group(group_id, org=org, env=env)
    if group is None:
        raise hrid_not_found(ref)
    return group


async def get_group(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    return json_response(group_state(_find_group(request, org, env)))


async def delete_group(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    group = _find_group(request, org, env)
    sim_of(request).state.groups.pop((org, env, group.id), None)
    return web.Response(status=204)


# -- shared policy groups -------------------------------------------------------------------------


def spg_state(spg: SharedPolicyGroupRecord) -> dict[str, Any]:
    out = {k: v for k, v in spg.spec.items() if k not in _NOT_ECHOED_PLAIN}
    if spg.hrid:
        out["hrid"] = spg.hrid
    out["crossId"] = spg.cross_id
    out["errors"] = spg.errors
    return _status(out, spg.org, spg.env, spg.id)


async def put_shared_policy_group(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    hrid = _hrid(body)
    legacy = flag(request, "hridContainsUUID")
    user_cross_id = body.get("crossId") if isinstance(body.get("crossId"), str) else None
    if legacy:
        # APIM treats the value as the SPG id (contract 12.6), even when GKO meant a crossId.
        spg_id = hrid
        existing = state.shared_policy_group(spg_id, org=org, env=env)
        cross_id = user_cross_id or (existing.cross_id if existing else hrid)
    else:
        cross_id = user_cross_id or ids.cross_id(org, hrid)
        spg_id = ids.java_name_uuid(cross_id, env)
    spg = SharedPolicyGroupRecord(
        org=org,
        env=env,
        id=spg_id,
        cross_id=cross_id,
        hrid=hrid,  # in UUID mode the UUID itself, echoed back as sent
        name=str(body.get("name", "")),
        spec={k: v for k, v in body.items() if k != "hrid"},
        errors=Findings().as_json(),
    )
    if not flag(request, "dryRun"):
        state.shared_policy_groups[(org, env, spg_id)] = spg
    return json_response(spg_state(spg))


def _find_spg(request: web.Request, org: str, env: str) -> SharedPolicyGroupRecord:
    state = sim_of(request).state
    ref = request.match_info["hrid"]
    spg_id = ref if flag(request, "hridContainsUUID") else ids.top_level_id(org, env, ref)
    spg = state.shared_policy_group(spg_id, org=org, env=env)
    if spg is None and not flag(request, "hridContainsUUID"):
        # HRID given but the SPG was created with a user crossId: fall back to a hrid scan.
        spg = next(
            (s for s in state.shared_policy_groups.values()
             if s.org == org and s.env == env and s.hrid == ref),
            None,
        )
    if spg is None:
        raise hrid_not_found(ref)
    return spg


async def get_shared_policy_group(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    return json_response(spg_state(_find_spg(request, org, env)))


async def delete_shared_policy_group(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    spg = _find_spg(request, org, env)
    sim_of(request).state.shared_policy_groups.pop((org, env, spg.id), None)
    return web.Response(status=204)


# -- dictionaries ---------------------------------------------------------------------------------


def dictionary_state(record: DictionaryRecord) -> dict[str, Any]:
    out = {k: v for k, v in record.spec.items() if k not in _NOT_ECHOED_PLAIN}
    out["hrid"] = record.hrid
    out["errors"] = record.errors
    return _status(out, record.org, record.env, record.id)


async def put_dictionary(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    hrid = _hrid(body)
    record = DictionaryRecord(
        org=org,
        env=env,
        id=ids.top_level_id(org, env, hrid),
        hrid=hrid,
        spec={k: v for k, v in body.items() if k != "hrid"},
        errors=Findings().as_json(),
    )
    if not flag(request, "dryRun"):
        state.dictionaries[(org, env, record.id)] = record
    return json_response(dictionary_state(record))


def _find_dictionary(request: web.Request, org: str, env: str) -> DictionaryRecord:
    ref = request.match_info["hrid"]
    record = sim_of(request).state.dictionary(ids.top_level_id(org, env, ref), org=org, env=env)
    if record is None:
        raise hrid_not_found(ref)
    return record


async def get_dictionary(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    return json_response(dictionary_state(_find_dictionary(request, org, env)))


async def delete_dictionary(request: web.Request) -> web.Response:
    org, env = resolve_org_env(request)
    record = _find_dictionary(request, org, env)
    sim_of(request).state.dictionaries.pop((org, env, record.id), None)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_put(AUTO + "/apis", put_api)
    r.add_get(AUTO + "/apis/{hrid}", get_api)
    r.add_delete(AUTO + "/apis/{hrid}", delete_api)
    r.add_put(AUTO + "/apis/{api}/subscriptions", put_subscription)
    r.add_get(AUTO + "/apis/{api}/subscriptions/{hrid}", get_subscription)
    r.add_delete(AUTO + "/apis/{api}/subscriptions/{hrid}", delete_subscription)
    r.add_put(AUTO + "/applications", put_application)
    r.add_get(AUTO + "/applications/{hrid}", get_application)
    r.add_delete(AUTO + "/applications/{hrid}", delete_application)
    r.add_put(AUTO + "/groups", put_group)
    r.add_get(AUTO + "/groups/{hrid}", get_group)
    r.add_delete(AUTO + "/groups/{hrid}", delete_group)
    r.add_put(AUTO + "/shared-policy-groups", put_shared_policy_group)
    r.add_get(AUTO + "/shared-policy-groups/{hrid}", get_shared_policy_group)
    r.add_delete(AUTO + "/shared-policy-groups/{hrid}", delete_shared_policy_group)
    r.add_put(AUTO + "/dictionaries", put_dictionary)
    r.add_get(AUTO + "/dictionaries/{hrid}", get_dictionary)
    r.add_delete(AUTO + "/dictionaries/{hrid}", delete_dictionary)

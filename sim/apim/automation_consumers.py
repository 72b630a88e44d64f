"""Automation API applications and subscriptions (the consumer side).

Owns ``PUT/GET/DELETE /applications`` (delete archives and closes the application's
subscriptions) and ``PUT/GET/DELETE /apis/{api}/subscriptions`` (auto-accepted, RFC 3339
``startingAt``, custom API keys reconciled, plan and application immutable, keyless plans
refused, delete closes), with the ``hridContainsUUID`` / ``hridContainsApiUUID`` /
``hridContainsAppUUID`` flags the OpenAPI file does not declare but APIM reads.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from sim.apim import ids
from sim.apim.automation_common import find_api, hrid_of, top_level_id, with_status
from sim.apim.errors import SimHttpError, hrid_not_found, invalid_import, json_response
from sim.apim.http_common import flag, iso, json_object, resolve_org_env, sim_of
from sim.apim.state import (
    ApiKeyRecord,
    ApiRecord,
    ApplicationRecord,
    PlanRecord,
    SubscriptionRecord,
    utcnow,
)
from sim.apim.validation import validate_application

_NOT_ECHOED_APP = frozenset({"contextRef", "id"})
# GKO sends these subscription fields; APIM ignores them (``apiKeys`` is write-only).
_NOT_ECHOED_SUB = frozenset({"apiKeys", "apiHrid", "status", "startingAt", "endingAt"})


def application_state(app: ApplicationRecord) -> dict[str, Any]:
    out = {k: v for k, v in app.spec.items() if k not in _NOT_ECHOED_APP}
    if app.hrid:
        out["hrid"] = app.hrid
    out["status"] = app.status
    out["errors"] = app.errors
    return with_status(out, app.org, app.env, app.id)


async def put_application(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    hrid = hrid_of(body)
    app_id = top_level_id(request, org, env, hrid)
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
    app_id = top_level_id(request, org, env, ref)
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
    return with_status(out, sub.org, sub.env, sub.id)


async def put_subscription(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    hrid = hrid_of(body)
    api_ref = request.match_info["api"]
    api = find_api(request, org, env, api_ref, by_uuid=flag(request, "hridContainsApiUUID"))

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
            raise SimHttpError(
                400,
                f"Subscription [{sub_id}] cannot change its plan",
                technical_code="subscription.plan.immutable",
            )
        if existing.application_id != app.id:
            raise SimHttpError(
                400,
                f"Subscription [{sub_id}] cannot change its application",
                technical_code="subscription.application.immutable",
            )
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
    api = find_api(request, org, env, api_ref, by_uuid=flag(request, "hridContainsApiUUID"))
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

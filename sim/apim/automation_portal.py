"""Automation API next-gen portal objects: portals, their listings, documentation pages and
links, and API documentation pages (APIM 4.12+, links 4.13).

Owns their ids (``docs/behavior/ids.md#what-apim-derives-in-hrid-mode``: portals like any
top-level object, portal children from
``U(U(org + "portal" + p) + env + hrid)``, API pages from ``U(U(org + "api" + a) + env +
hrid)``), the parent checks (404 ``hrid.notFound`` for an unknown portal or API, also for an API
a listing names), the refusal of a portal giving both ``navigation`` and ``structure`` (400), dry
runs that store nothing, and deletes (a portal takes its children with it). Contents are stored
as sent.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sim.apim import ids
from sim.apim.automation_common import NOT_ECHOED_PLAIN, hrid_of, with_status
from sim.apim.errors import SimHttpError, hrid_not_found, json_response
from sim.apim.http_common import flag, json_object, resolve_org_env, sim_of
from sim.apim.state import PortalObjectRecord, SimulatorState
from sim.apim.validation import Findings

# Kinds that live under a portal, by the path segment that names them.
PORTAL_CHILD_KINDS = {"listings": "listing", "documentations": "documentation", "links": "link"}


def _state_of(record: PortalObjectRecord) -> dict[str, Any]:
    out = {k: v for k, v in record.spec.items() if k not in NOT_ECHOED_PLAIN}
    out["hrid"] = record.hrid
    out["errors"] = record.errors
    if record.kind == "api-documentation":
        out["apiHrid"] = record.parent_hrid
    elif record.kind != "portal":
        out["portalHrid"] = record.parent_hrid
    return with_status(out, record.org, record.env, record.id)


def _portal(state: SimulatorState, org: str, env: str, portal_hrid: str) -> PortalObjectRecord:
    portal = state.portal_object(
        "portal", ids.top_level_id(org, env, portal_hrid), org=org, env=env
    )
    if portal is None:
        raise hrid_not_found(portal_hrid)
    return portal


def _kind_and_parent(request: web.Request, org: str, env: str) -> tuple[str, str | None]:
    """Which kind this path addresses, checking that its parent portal or API exists."""
    state = sim_of(request).state
    collection = request.match_info.get("collection")
    if "portal" in request.match_info:
        portal_hrid = request.match_info["portal"]
        _portal(state, org, env, portal_hrid)
        return PORTAL_CHILD_KINDS[collection or ""], portal_hrid
    if "api" in request.match_info:
        api_hrid = request.match_info["api"]
        if state.api_by_hrid(api_hrid, org=org, env=env) is None:
            raise hrid_not_found(api_hrid)
        return "api-documentation", api_hrid
    return "portal", None


def _check_contents(
    request: web.Request, kind: str, body: dict[str, Any], org: str, env: str
) -> None:
    """What APIM refuses in a body before storing anything (dry run or not)."""
    if kind == "portal" and body.get("navigation") is not None and body.get("structure"):
        raise SimHttpError(
            400, "navigation and structure cannot be set at the same time",
            technical_code="invalid",
        )
    if kind == "listing":
        state = sim_of(request).state
        for entry in body.get("apis") or []:
            api_hrid = str((entry or {}).get("apiHrid") or "") if isinstance(entry, dict) else ""
            if state.api_by_hrid(api_hrid, org=org, env=env) is None:
                raise hrid_not_found(api_hrid)


def _object_id(org: str, env: str, kind: str, parent: str | None, hrid: str) -> str:
    if kind == "portal" or parent is None:
        return ids.top_level_id(org, env, hrid)
    if kind == "api-documentation":
        return ids.api_documentation_id(org, env, parent, hrid)
    return ids.portal_child_id(org, env, parent, hrid)


async def put_object(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    kind, parent = _kind_and_parent(request, org, env)
    body = json_object(request)
    hrid = hrid_of(body)
    _check_contents(request, kind, body, org, env)
    record = PortalObjectRecord(
        kind=kind,
        org=org,
        env=env,
        id=_object_id(org, env, kind, parent, hrid),
        hrid=hrid,
        parent_hrid=parent,
        spec={k: v for k, v in body.items() if k != "hrid"},
        errors=Findings().as_json(),
    )
    if not flag(request, "dryRun"):
        state.portal_objects[(org, env, kind, record.id)] = record
    return json_response(_state_of(record))


def _find(request: web.Request) -> PortalObjectRecord:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    kind, parent = _kind_and_parent(request, org, env)
    hrid = request.match_info["hrid"]
    record = state.portal_object(kind, _object_id(org, env, kind, parent, hrid), org=org, env=env)
    if record is None:
        raise hrid_not_found(hrid)
    return record


async def get_object(request: web.Request) -> web.Response:
    return json_response(_state_of(_find(request)))


async def delete_object(request: web.Request) -> web.Response:
    state = sim_of(request).state
    record = _find(request)
    del state.portal_objects[(record.org, record.env, record.kind, record.id)]
    if record.kind == "portal":
        for key, child in list(state.portal_objects.items()):
            if (
                child.kind in PORTAL_CHILD_KINDS.values()
                and child.parent_hrid == record.hrid
                and child.org == record.org
                and child.env == record.env
            ):
                del state.portal_objects[key]
    return web.Response(status=204)


def add_routes(app: web.Application, base: str) -> None:
    r = app.router
    r.add_put(base + "/portals", put_object)
    r.add_get(base + "/portals/{hrid}", get_object)
    r.add_delete(base + "/portals/{hrid}", delete_object)
    collections = "{collection:listings|documentations|links}"
    r.add_put(base + "/portals/{portal}/" + collections, put_object)
    r.add_get(base + "/portals/{portal}/" + collections + "/{hrid}", get_object)
    r.add_delete(base + "/portals/{portal}/" + collections + "/{hrid}", delete_object)
    r.add_put(base + "/apis/{api}/documentations", put_object)
    r.add_get(base + "/apis/{api}/documentations/{hrid}", get_object)
    r.add_delete(base + "/apis/{api}/documentations/{hrid}", delete_object)

"""What a console user does to stored objects, outside the operator's calls: edit an API or an
application, or delete it (``/_sim/console/...``, part of the control plane in ``control.py``).

Lets tests and benchmarks make drift happen (docs/behavior/drift.md). An edit is a JSON merge
patch (RFC 7386) of the stored definition, the way the console's save replaces what the form
shows; a deletion removes an API (plans closed first) or archives an application, as APIM does.
Objects are addressed by id, HRID or crossId, in the default organization and environment unless
``?org=`` / ``?env=`` say otherwise.

Endpoints::

    PATCH  /_sim/console/apis/{ref}            merge patch of the stored API definition
    DELETE /_sim/console/apis/{ref}            delete the API
    PATCH  /_sim/console/applications/{ref}    merge patch of the stored application
    DELETE /_sim/console/applications/{ref}    archive the application
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sim.apim import ids
from sim.apim.http_common import SIM_KEY, read_json_object
from sim.apim.state import ApiRecord, ApplicationRecord, SimulatorState, utcnow


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _where(request: web.Request) -> tuple[str, str]:
    return request.query.get("org", "DEFAULT"), request.query.get("env", "DEFAULT")


def find_api(state: SimulatorState, ref: str, org: str, env: str) -> ApiRecord | None:
    return (
        state.api(ref, org=org, env=env)
        or state.api_by_hrid(ref, org=org, env=env)
        or state.api_by_cross_id(ref, org=org, env=env)
    )


def find_application(
    state: SimulatorState, ref: str, org: str, env: str
) -> ApplicationRecord | None:
    app = state.application(ref, org=org, env=env) or state.application(
        ids.top_level_id(org, env, ref), org=org, env=env
    )
    return app if app is not None and app.status != "ARCHIVED" else None


def edit_api(api: ApiRecord, patch: dict[str, Any]) -> None:
    """Apply a console edit to ``api`` (plans and pages are edited through their own forms and
    are not part of this patch)."""
    api.spec = merge_patch(api.spec, {k: v for k, v in patch.items()
                                      if k not in ("plans", "pages")})
    if isinstance(patch.get("name"), str):
        api.name = patch["name"]
    if isinstance(patch.get("state"), str):
        api.state = patch["state"].upper()
    if "version" in patch:
        api.version = patch["version"]
    api.updated_at = utcnow()


def edit_application(app: ApplicationRecord, patch: dict[str, Any]) -> None:
    app.spec = merge_patch(app.spec, patch)
    if isinstance(patch.get("name"), str):
        app.name = patch["name"]
    app.updated_at = utcnow()


def _api(request: web.Request) -> tuple[SimulatorState, ApiRecord]:
    state = request.app[SIM_KEY].state
    api = find_api(state, request.match_info["ref"], *_where(request))
    if api is None:
        raise web.HTTPNotFound(text="no such API")
    return state, api


def _application(request: web.Request) -> tuple[SimulatorState, ApplicationRecord]:
    state = request.app[SIM_KEY].state
    app = find_application(state, request.match_info["ref"], *_where(request))
    if app is None:
        raise web.HTTPNotFound(text="no such application")
    return state, app


MERGE_PATCH = "a JSON object (a merge patch)"


async def patch_api(request: web.Request) -> web.Response:
    _, api = _api(request)
    edit_api(api, await read_json_object(request, what=MERGE_PATCH))
    return web.Response(status=204)


async def delete_api(request: web.Request) -> web.Response:
    state, api = _api(request)
    state.delete_api(api)
    return web.Response(status=204)


async def patch_application(request: web.Request) -> web.Response:
    _, app = _application(request)
    edit_application(app, await read_json_object(request, what=MERGE_PATCH))
    return web.Response(status=204)


async def delete_application(request: web.Request) -> web.Response:
    state, app = _application(request)
    for sub in state.subscriptions.values():
        if sub.org == app.org and sub.env == app.env and sub.application_id == app.id:
            state.close_subscription(sub)
    app.status = "ARCHIVED"
    app.updated_at = utcnow()
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_patch("/_sim/console/apis/{ref}", patch_api)
    r.add_delete("/_sim/console/apis/{ref}", delete_api)
    r.add_patch("/_sim/console/applications/{ref}", patch_application)
    r.add_delete("/_sim/console/applications/{ref}", delete_application)

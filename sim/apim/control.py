"""The simulator's private control plane under ``/_sim/`` for out-of-process users.

Owns the HTTP face of fault injection, the request log, credentials, setup helpers and reset, so
benchmarks and e2e runs (simulator in another process) can do what in-process tests do through
:class:`~sim.apim.testing.RunningSimulator`. Unauthenticated on purpose: it only ever listens on
loopback in tests. Never part of APIM's contract, never subject to faults, never logged.

Endpoints::

    GET    /_sim/health                      {"status": "ok"}
    GET    /_sim/requests[?since=N]          {"mark": N, "requests": [...]}
    DELETE /_sim/requests                    clear the log
    POST   /_sim/faults                      {"latency", "failNext": {...}, "failFraction": {...}}
    DELETE /_sim/faults                      no latency, no failures, original credentials
    PUT    /_sim/credentials                 {"users": {name: password}, "tokens": [...]}
    DELETE /_sim/credentials                 original credentials
    GET    /_sim/state                       object counts and API summaries
    POST   /_sim/categories                  {"name", "org"?, "env"?}
    POST   /_sim/users                       {"sourceId", "org"?}
    POST   /_sim/reset                       empty everything
    POST   /_sim/outage                      {"seconds"}: stop listening (connections refused,
                                             open ones cut) then listen again, data kept
    GET    /_sim/outage                      {"outages": [{"downAt", "upAt"}]} (monotonic s)
    PATCH/DELETE /_sim/console/...           a console user's edit or deletion (``console.py``)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sim.apim.errors import json_response
from sim.apim.faults import FailWith
from sim.apim.http_common import SIM_KEY, read_json_object


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def get_requests(request: web.Request) -> web.Response:
    log = request.app[SIM_KEY].requests
    since = int(request.query.get("since", "0"))
    return json_response({"mark": log.mark(), "requests": [e.to_json() for e in log.since(since)]})


async def clear_requests(request: web.Request) -> web.Response:
    request.app[SIM_KEY].requests.clear()
    return web.Response(status=204)


def _fail_args(spec: dict[str, Any]) -> tuple[str | None, str | None, FailWith]:
    status = spec.get("status", 500)
    if not (status == "drop" or isinstance(status, int)):
        raise web.HTTPBadRequest(text="status must be an integer or 'drop'")
    return spec.get("method"), spec.get("pathPrefix"), status


async def set_faults(request: web.Request) -> web.Response:
    faults = request.app[SIM_KEY].faults
    body = await read_json_object(request)
    try:
        if "latency" in body:
            faults.set_latency(float(body["latency"]))
        if isinstance(body.get("failNext"), dict):
            spec = body["failNext"]
            method, prefix, status = _fail_args(spec)
            faults.fail_next(
                int(spec.get("count", 1)), method=method, path_prefix=prefix, status=status
            )
        if isinstance(body.get("failFraction"), dict):
            spec = body["failFraction"]
            method, prefix, status = _fail_args(spec)
            faults.fail_fraction(
                float(spec["fraction"]), method=method, path_prefix=prefix, status=status
            )
    except (ValueError, KeyError) as error:
        raise web.HTTPBadRequest(text=str(error)) from error
    return web.Response(status=204)


async def clear_faults(request: web.Request) -> web.Response:
    request.app[SIM_KEY].faults.clear()
    return web.Response(status=204)


async def set_credentials(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    users = body.get("users")
    tokens = body.get("tokens")
    request.app[SIM_KEY].faults.set_credentials(
        users={str(k): str(v) for k, v in users.items()} if isinstance(users, dict) else None,
        tokens=[str(t) for t in tokens] if isinstance(tokens, list) else None,
    )
    return web.Response(status=204)


async def restore_credentials(request: web.Request) -> web.Response:
    request.app[SIM_KEY].faults.restore_credentials()
    return web.Response(status=204)


async def get_state(request: web.Request) -> web.Response:
    state = request.app[SIM_KEY].state
    apis = [
        {
            "org": a.org,
            "env": a.env,
            "id": a.id,
            "crossId": a.cross_id,
            "hrid": a.hrid,
            "definitionVersion": a.definition_version,
            "name": a.name,
            "state": a.state,
            "syncFrom": a.sync_from,
            "deployments": a.deployments,
            "imports": a.imports,
            "plans": {
                p.hrid or p.cross_id or p.id: {"id": p.id, "status": p.status}
                for p in state.plans_of(a)
            },
        }
        for a in state.apis.values()
    ]
    return json_response({"counts": state.counts(), "apis": apis})


async def add_category(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    request.app[SIM_KEY].state.add_category(
        str(body["name"]), org=str(body.get("org", "DEFAULT")), env=str(body.get("env", "DEFAULT"))
    )
    return web.Response(status=204)


async def add_user(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    request.app[SIM_KEY].state.add_user(str(body["sourceId"]), org=str(body.get("org", "DEFAULT")))
    return web.Response(status=204)


async def start_outage(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    body = await read_json_object(request)
    try:
        seconds = float(body["seconds"])
    except (KeyError, TypeError, ValueError) as error:
        raise web.HTTPBadRequest(text="seconds must be a number") from error
    if not 0 < seconds <= 3600:
        raise web.HTTPBadRequest(text="seconds must be in (0, 3600]")
    if sim.outage_hook is None:
        raise web.HTTPConflict(text="this simulator is not served by start_simulator")
    sim.outage_hook(seconds)
    return json_response({"seconds": seconds}, status=202)


async def get_outages(request: web.Request) -> web.Response:
    outages = request.app[SIM_KEY].outages
    return json_response(
        {"outages": [{"downAt": o.down_at, "upAt": o.up_at} for o in outages]}
    )


async def reset(request: web.Request) -> web.Response:
    request.app[SIM_KEY].reset()
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/health", health)
    r.add_get("/_sim/requests", get_requests)
    r.add_delete("/_sim/requests", clear_requests)
    r.add_post("/_sim/faults", set_faults)
    r.add_delete("/_sim/faults", clear_faults)
    r.add_put("/_sim/credentials", set_credentials)
    r.add_delete("/_sim/credentials", restore_credentials)
    r.add_get("/_sim/state", get_state)
    r.add_post("/_sim/categories", add_category)
    r.add_post("/_sim/users", add_user)
    r.add_post("/_sim/reset", reset)
    r.add_post("/_sim/outage", start_outage)
    r.add_get("/_sim/outage", get_outages)

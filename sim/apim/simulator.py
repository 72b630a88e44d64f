"""The APIM simulator as an aiohttp application.

Owns :func:`build_app` around a :class:`~sim.apim.instance.Simulator` (which lives apart so the
handlers can name it without importing this module); its single middleware does, per request and in
APIM's order: one JSON parse of the body, fault injection (latency, failure, dropped connection),
authentication (401 before anything else), dispatch to the v1 / v2 / Automation handlers, error
rendering in the family's shape, and one request-log entry. ``/_sim/...`` control paths skip all
of it.

Never listens on anything but the address it is given (tests use 127.0.0.1), never logs secrets.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from sim.apim import automation, console, control, management_v1, management_v2
from sim.apim.auth import BASIC_REALM, AuthResult
from sim.apim.errors import (
    ApiFamily,
    SimHttpError,
    error_response,
    family_of,
)
from sim.apim.http_common import BODY_KEY, SIM_KEY
from sim.apim.instance import Simulator
from sim.apim.requestlog import DROPPED

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_log = logging.getLogger(__name__)


def _unauthorized(family: ApiFamily, auth: AuthResult) -> web.Response:
    if auth.scheme == "bearer":
        # APIM's token filter answers with sendError(401): no body.
        return web.Response(status=401)
    response = error_response(family, SimHttpError(401, "Unauthorized"))
    response.headers["WWW-Authenticate"] = BASIC_REALM
    return response


def _drop_connection(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        transport.abort()
    # Nothing reaches the client: the transport is gone. aiohttp still wants a response object.
    return web.Response(status=500)


@web.middleware
async def pipeline(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path.startswith("/_sim/"):
        return await handler(request)
    sim = request.app[SIM_KEY]
    family = family_of(path)
    method = request.method
    body = None
    unparsable = False
    raw = b""
    if request.body_exists:
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                unparsable = True
    request[BODY_KEY] = body
    auth = sim.credentials.check(request.headers.get("Authorization"))
    query = dict(request.query)

    response: web.StreamResponse | None = None
    if sim.faults.active:
        if sim.faults.latency_s > 0:
            await asyncio.sleep(sim.faults.latency_s)
        failure = sim.faults.pick_failure(method, path)
        if failure == "drop":
            sim.requests.append(
                method=method,
                path=path,
                query=query,
                raw_body=raw,
                status=DROPPED,
                auth_scheme=auth.scheme,
                user=auth.user,
            )
            return _drop_connection(request)
        if failure is not None:
            response = error_response(family, SimHttpError(failure, "Simulated failure"))

    if response is not None:
        pass  # an injected failure: the request has no effect
    elif not auth.ok:
        response = _unauthorized(family, auth)
    elif unparsable:
        response = error_response(
            family,
            SimHttpError(400, "Unable to parse the request body as JSON", technical_code="invalid"),
        )
    else:
        try:
            response = await handler(request)
        except SimHttpError as error:
            response = error_response(family, error)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            response = error_response(family, SimHttpError(error.status, error.reason))
        except Exception:
            # A simulator bug: answer like APIM's generic handler, keep the trace for the tester.
            _log.exception("simulator handler failed for %s %s", method, path)
            response = error_response(family, SimHttpError(500, "Internal Server Error"))
    entry = sim.requests.append(
        method=method,
        path=path,
        query=query,
        raw_body=raw,
        status=response.status,
        auth_scheme=auth.scheme,
        user=auth.user,
    )
    if sim.options.record_responses and isinstance(response, web.Response):
        sim.requests.attach_response(entry, body=response.body, content_type=response.content_type)
    return response


def build_app(sim: Simulator) -> web.Application:
    # The default 1 MiB body limit is below what a large API definition with pages can reach.
    app = web.Application(middlewares=[pipeline], client_max_size=32 * 1024 * 1024)
    app[SIM_KEY] = sim
    management_v1.add_routes(app)
    management_v2.add_routes(app)
    automation.add_routes(app)
    control.add_routes(app)
    console.add_routes(app)
    return app

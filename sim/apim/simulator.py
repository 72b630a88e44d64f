"""The APIM simulator as an aiohttp application.

Owns :class:`Simulator` (state, request log, credentials and faults of one simulated APIM) and
:func:`build_app`, whose single middleware does, per request and in APIM's order: one JSON parse
of the body, fault injection (latency, failure, dropped connection), authentication (401 before
anything else), dispatch to the v1 / v2 / Automation handlers, error rendering in the family's
shape, and one request-log entry. ``/_sim/...`` control paths skip all of it.

Never listens on anything but the address it is given (tests use 127.0.0.1), never logs secrets.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping

import attrs
from aiohttp import web

from sim.apim import automation, control, management_v1, management_v2
from sim.apim.auth import BASIC_REALM, AuthResult, Credentials
from sim.apim.errors import (
    ApiFamily,
    SimHttpError,
    error_response,
    family_of,
)
from sim.apim.faults import Faults
from sim.apim.http_common import BODY_KEY, SIM_KEY
from sim.apim.requestlog import DROPPED, RequestLog
from sim.apim.state import SimulatorState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_log = logging.getLogger(__name__)

DEFAULT_USERS: Mapping[str, str] = {"admin": "admin"}
DEFAULT_ORGS_ENVS: Mapping[str, Iterable[str]] = {"DEFAULT": ["DEFAULT"]}


Users = tuple[tuple[str, str], ...]
OrgsEnvs = tuple[tuple[str, tuple[str, ...]], ...]


def _frozen_users(value: Mapping[str, str] | Users) -> Users:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(name), str(password)) for name, password in items)


def _frozen_tokens(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _frozen_orgs_envs(value: Mapping[str, Iterable[str]] | OrgsEnvs) -> OrgsEnvs:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(org), tuple(envs)) for org, envs in items)


@attrs.frozen
class SimulatorOptions:
    """How a simulated APIM is set up.

    * ``users``: accepted Basic credentials, name -> password (default ``admin``/``admin``).
    * ``tokens``: accepted bearer tokens (default none).
    * ``orgs_envs``: organizations and their environment ids (default ``DEFAULT``/``DEFAULT``);
      every environment also answers to its lower-cased id as hrid.
    * ``request_log_limit``: entries kept in the request log, oldest dropped (default 50,000,
      about 75 MB with 1.5 kB bodies).
    * ``fault_seed``: seed of the random draws of ``fail_fraction`` (default: unseeded).
    * ``record_responses``: also keep each response body in the log (default off; contract
      tests turn it on to validate every answer).
    """

    users: Users = attrs.field(default=DEFAULT_USERS, converter=_frozen_users)
    tokens: tuple[str, ...] = attrs.field(default=(), converter=_frozen_tokens)
    orgs_envs: OrgsEnvs = attrs.field(default=DEFAULT_ORGS_ENVS, converter=_frozen_orgs_envs)
    request_log_limit: int = 50_000
    fault_seed: int | None = None
    record_responses: bool = False

    def __repr__(self) -> str:
        users = [name for name, _ in self.users]
        return (
            f"SimulatorOptions(users={users}, tokens=<{len(self.tokens)} hidden>, "
            f"orgs_envs={dict(self.orgs_envs)})"
        )


@attrs.define
class Outage:
    """One period without a listener (``POST /_sim/outage``), in ``time.monotonic()`` seconds:
    comparable across processes of one Linux host (CLOCK_MONOTONIC is system-wide)."""

    down_at: float
    up_at: float | None = None


class Simulator:
    """One simulated APIM installation: its database, who may call it, and what goes wrong."""

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        self.options = options or SimulatorOptions()
        self._orgs_envs = {org: list(envs) for org, envs in self.options.orgs_envs}
        self._user_names = [name for name, _ in self.options.users]
        self.state = SimulatorState(orgs_envs=self._orgs_envs, users=self._user_names)
        self.requests = RequestLog(max_entries=self.options.request_log_limit)
        self.credentials = Credentials(users=dict(self.options.users), tokens=self.options.tokens)
        self.faults = Faults(self.credentials, seed=self.options.fault_seed)
        self.outages: list[Outage] = []
        #: Set by whoever serves the app (``testing.start_simulator``): starts an outage of the
        #: given seconds in the background (``POST /_sim/outage``); None when nothing can.
        self.outage_hook: Callable[[float], None] | None = None

    def __repr__(self) -> str:
        return f"Simulator(orgs={sorted(self._orgs_envs)}, {self.credentials!r})"

    def reset(self) -> None:
        """Empty database and request log, no faults, original credentials."""
        self.state = SimulatorState(orgs_envs=self._orgs_envs, users=self._user_names)
        self.requests.clear()
        self.faults.clear()


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
    return app

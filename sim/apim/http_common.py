"""Request helpers shared by the simulator's handlers.

Owns the typed application key, the org/env resolution every APIM path goes through (unknown →
400 ``Invalid organization or environment``), boolean query flags parsed as APIM's JAX-RS does,
and access to the JSON body the middleware parsed once. Never touches stored objects.
"""

from __future__ import annotations

import datetime
from typing import Any

from aiohttp import web

from sim.apim.errors import INVALID_ORG_OR_ENV, SimHttpError
from sim.apim.instance import Simulator

SIM_KEY: web.AppKey[Simulator] = web.AppKey("apim_simulator")
# aiohttp >= 3.14 wants typed request keys; older releases only know plain strings.
BODY_KEY: Any = (
    web.RequestKey("apim_json_body", object) if hasattr(web, "RequestKey") else "apim_json_body"
)


def sim_of(request: web.Request) -> Simulator:
    return request.app[SIM_KEY]


def resolve_org_env(request: web.Request) -> tuple[str, str]:
    """The resolved (org id, env id) of an APIM path; env may be given by id or hrid."""
    sim = sim_of(request)
    env_ref = request.match_info["env"]
    org = request.match_info.get("org")
    if org is None:
        org = sim.state.org_of_env(env_ref)
        if org is None:
            raise SimHttpError(400, INVALID_ORG_OR_ENV)
    env = sim.state.resolve_env(org, env_ref)
    if env is None:
        raise SimHttpError(400, INVALID_ORG_OR_ENV)
    return org, env.id


def flag(request: web.Request, name: str) -> bool:
    """A boolean query parameter: JAX-RS reads ``true`` (any case) as true, anything else false."""
    return request.query.get(name, "").lower() == "true"


def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 when it is missing or not an object."""
    body = request.get(BODY_KEY)
    if not isinstance(body, dict):
        raise SimHttpError(400, "The request body must be a JSON object", technical_code="invalid")
    return body


def iso(ts: datetime.datetime | None) -> str | None:
    """ISO-8601 with a ``Z`` suffix, as v2 and Automation write dates."""
    if ts is None:
        return None
    return ts.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(ts: datetime.datetime | None) -> int | None:
    """Epoch milliseconds, as v1 writes dates."""
    return None if ts is None else int(ts.timestamp() * 1000)


def upper(value: Any, default: str) -> str:
    """Enum values are matched case-insensitively by APIM; stored upper-case."""
    return value.upper() if isinstance(value, str) and value else default


async def read_json_object(request: web.Request, *, what: str = "a JSON object") -> dict[str, Any]:
    """The request's body, which must be a JSON object (400 otherwise): for the simulator's own
    control and console endpoints, which the APIM middleware does not parse."""
    try:
        body = await request.json()
    except ValueError as error:
        raise web.HTTPBadRequest(text=f"invalid JSON: {error}") from error
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=f"expected {what}")
    return body

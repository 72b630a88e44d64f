"""Helpers shared by the Automation API handlers: hrid checks, state envelopes, API lookup.

Owns nothing stored; never answers a request by itself.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sim.apim import ids
from sim.apim.errors import SimHttpError, hrid_not_found
from sim.apim.http_common import flag, sim_of
from sim.apim.state import ApiRecord

AUTO = "/automation/organizations/{org}/environments/{env}"

# Fields of request bodies that the Automation resources do not model (GKO sends them anyway,
# APIM's lenient mapper drops them).
NOT_ECHOED_PLAIN = frozenset({"contextRef", "id", "crossId"})


def hrid_of(body: dict[str, Any]) -> str:
    hrid = body.get("hrid")
    if not isinstance(hrid, str) or not hrid:
        raise SimHttpError(400, "hrid is required", technical_code="invalid")
    return hrid


def top_level_id(request: web.Request, org: str, env: str, ref: str) -> str:
    """The id APIM gives a top-level object (group, SPG, application): ``ref`` itself with
    ``hridContainsUUID=true`` (objects from before HRIDs), else derived from the HRID."""
    return ref if flag(request, "hridContainsUUID") else ids.top_level_id(org, env, ref)


def with_status(obj: dict[str, Any], org: str, env: str, object_id: str) -> dict[str, Any]:
    """Add the ``BaseStatus`` ids to a state object."""
    obj["id"] = object_id
    obj["organizationId"] = org
    obj["environmentId"] = env
    return obj


def find_api(request: web.Request, org: str, env: str, ref: str, *, by_uuid: bool) -> ApiRecord:
    """The API addressed by HRID (or by id with ``by_uuid``), else 404 ``hrid.notFound``."""
    state = sim_of(request).state
    api = state.api(ref, org=org, env=env) if by_uuid else state.api_by_hrid(ref, org=org, env=env)
    if api is None:
        raise hrid_not_found(ref)
    return api

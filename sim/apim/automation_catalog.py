"""Automation API groups, shared policy groups and dictionaries.

Owns their HRID-mode ids (``hridContainsUUID=true`` takes the HRID as the id; for SPGs APIM does
so even where GKO meant a crossId,
``docs/behavior/apim-calls.md#what-apim-does-with-what-it-receives``), dry runs that store
nothing, and plain deletes (404 ``hrid.notFound`` when absent).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sim.apim import ids
from sim.apim.automation_common import NOT_ECHOED_PLAIN, hrid_of, top_level_id, with_status
from sim.apim.errors import hrid_not_found, json_response
from sim.apim.http_common import flag, json_object, resolve_org_env, sim_of
from sim.apim.state import DictionaryRecord, GroupRecord, SharedPolicyGroupRecord
from sim.apim.validation import Findings, validate_group


def group_state(group: GroupRecord) -> dict[str, Any]:
    out = {k: v for k, v in group.spec.items() if k not in NOT_ECHOED_PLAIN}
    if group.hrid:
        out["hrid"] = group.hrid
    out["memberCount"] = group.member_count
    out["errors"] = group.errors
    return with_status(out, group.org, group.env, group.id)


async def put_group(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    hrid = hrid_of(body)
    group_id = top_level_id(request, org, env, hrid)
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
    group_id = top_level_id(request, org, env, ref)
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
    out = {k: v for k, v in spg.spec.items() if k not in NOT_ECHOED_PLAIN}
    if spg.hrid:
        out["hrid"] = spg.hrid
    out["crossId"] = spg.cross_id
    out["errors"] = spg.errors
    return with_status(out, spg.org, spg.env, spg.id)


async def put_shared_policy_group(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    hrid = hrid_of(body)
    legacy = flag(request, "hridContainsUUID")
    user_cross_id = body.get("crossId") if isinstance(body.get("crossId"), str) else None
    if legacy:
        # APIM treats the value as the SPG id even when GKO meant a crossId
        # (docs/behavior/apim-calls.md).
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
    spg_id = top_level_id(request, org, env, ref)
    spg = state.shared_policy_group(spg_id, org=org, env=env)
    if spg is None and not flag(request, "hridContainsUUID"):
        # HRID given but the SPG was created with a user crossId: fall back to a hrid scan.
        spg = next(
            (
                s
                for s in state.shared_policy_groups.values()
                if s.org == org and s.env == env and s.hrid == ref
            ),
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
    out = {k: v for k, v in record.spec.items() if k not in NOT_ECHOED_PLAIN}
    out["hrid"] = record.hrid
    out["errors"] = record.errors
    return with_status(out, record.org, record.env, record.id)


async def put_dictionary(request: web.Request) -> web.Response:
    state = sim_of(request).state
    org, env = resolve_org_env(request)
    body = json_object(request)
    hrid = hrid_of(body)
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

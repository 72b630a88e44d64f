"""v4 APIs (``ApiV4Definition``) through the Automation API.

This module owns upsert (with dry run), delete (404 is success) and read-backs for v4 APIs, in
both id modes: HRID (``ref`` = ``namespace-name``) and legacy UUID (``hrid_contains_uuid=True``,
``ref`` = the API's UUID). The body is the caller's automation DTO (plans and pages as lists),
passed through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from controller.apim.automation import AutomationCollection
from controller.apim.client import ApimClient
from controller.apim.results import ImportErrors, as_object, text_field
from controller.apim.urls import join_path, segment


@attrs.frozen
class ApiV4State:
    """What the Automation API answers. ``plans`` maps plan HRID to plan id (the id may be empty
    when APIM only echoes the request in HRID mode).
    """

    id: str
    cross_id: str
    hrid: str
    organization_id: str
    environment_id: str
    state: str
    plans: Mapping[str, str]
    errors: ImportErrors
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)

    @classmethod
    def from_json(cls, body: Any) -> ApiV4State:
        data = as_object(body)
        plans: dict[str, str] = {}
        plans_raw = data.get("plans")
        if isinstance(plans_raw, list):
            for plan in plans_raw:
                plan_obj = as_object(plan)
                key = text_field(plan_obj, "hrid")
                if key:
                    plans[key] = text_field(plan_obj, "id")
        return cls(
            id=text_field(data, "id"),
            cross_id=text_field(data, "crossId"),
            hrid=text_field(data, "hrid"),
            organization_id=text_field(data, "organizationId"),
            environment_id=text_field(data, "environmentId"),
            state=text_field(data, "state"),
            plans=plans,
            errors=ImportErrors.from_json(data.get("errors")),
            raw=data,
        )


APIS = AutomationCollection("apis")


async def upsert_api(
    client: ApimClient,
    spec: Mapping[str, Any],
    *,
    dry_run: bool = False,
    hrid_contains_uuid: bool = False,
) -> ApiV4State:
    """``PUT {AUTO}/apis?dryRun=[&hridContainsUUID=true]``."""
    body = await APIS.upsert(client, spec, dry_run=dry_run, hrid_contains_uuid=hrid_contains_uuid)
    return ApiV4State.from_json(body)


async def delete_api(client: ApimClient, ref: str, *, hrid_contains_uuid: bool = False) -> bool:
    """``DELETE {AUTO}/apis/{ref}?hridContainsUUID=``; False when already gone."""
    return await APIS.delete(client, ref, hrid_contains_uuid=hrid_contains_uuid)


async def get_api(client: ApimClient, ref: str, *, hrid_contains_uuid: bool = False) -> ApiV4State:
    """``GET {AUTO}/apis/{ref}`` (read-back)."""
    return ApiV4State.from_json(await APIS.get(client, ref, hrid_contains_uuid=hrid_contains_uuid))


async def get_api_by_id(client: ApimClient, api_id: str) -> dict[str, Any]:
    """``GET {V2}/apis/{id}`` (mAPI v2 read-back)."""
    return as_object(await client.get_json(join_path(client.urls.v2, "apis", segment(api_id))))


async def export_api_crd(client: ApimClient, api_id: str) -> str:
    """``GET {V2}/apis/{id}/_export/crd``: the API as an ``ApiV4Definition`` manifest (YAML)."""
    return await client.get_text(join_path(client.urls.v2, "apis", segment(api_id), "_export/crd"))

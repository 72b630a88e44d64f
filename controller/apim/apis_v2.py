"""v2 APIs (``ApiDefinition``) through the v1 Management API's ``import-crd``.

This module owns the calls for v2 APIs: import (create/update, with dry run), delete (404 is
success) and the read-backs tests use (get by id, find by crossId, export as CRD YAML). Bodies are
the user's v2 definition, passed through untouched; the caller computes ids (``ids.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from controller.apim.client import ApimClient
from controller.apim.results import ImportErrors, as_object, text_field
from controller.apim.urls import join_path, segment


@attrs.frozen
class ApiV2Status:
    """What ``import-crd`` answers. ``plans`` maps plan crossId to plan id (empty on dry run)."""

    id: str
    cross_id: str
    organization_id: str
    environment_id: str
    state: str
    plans: Mapping[str, str]
    errors: ImportErrors
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)

    @classmethod
    def from_json(cls, body: Any) -> ApiV2Status:
        data = as_object(body)
        plans_raw = data.get("plans")
        plans = (
            {str(k): str(v) for k, v in plans_raw.items() if v is not None}
            if isinstance(plans_raw, Mapping)
            else {}
        )
        return cls(
            id=text_field(data, "id"),
            cross_id=text_field(data, "crossId"),
            organization_id=text_field(data, "organizationId"),
            environment_id=text_field(data, "environmentId"),
            state=text_field(data, "state"),
            plans=plans,
            errors=ImportErrors.from_json(data.get("errors")),
            raw=data,
        )


async def import_api(
    client: ApimClient, definition: Mapping[str, Any], *, dry_run: bool = False
) -> ApiV2Status:
    """``PUT {V1}/apis/import-crd?dryRun=``. A real import with severe errors raises a 400
    ``ApimError`` whose ``severe_errors`` lists them; a dry run reports them in ``errors``.
    """
    url = join_path(client.urls.v1, "apis/import-crd")
    body = await client.put_json(url, dict(definition), params={"dryRun": dry_run})
    return ApiV2Status.from_json(body)


async def delete_api(client: ApimClient, api_id: str) -> bool:
    """``DELETE {V1}/apis/{id}?closePlans=true``; False when the API was already gone."""
    url = join_path(client.urls.v1, "apis", segment(api_id))
    return await client.delete(url, params={"closePlans": True}, missing_ok=True)


async def get_api(client: ApimClient, api_id: str) -> dict[str, Any]:
    """``GET {V1}/apis/{id}`` (read-back)."""
    return as_object(await client.get_json(join_path(client.urls.v1, "apis", segment(api_id))))


async def find_apis_by_cross_id(client: ApimClient, cross_id: str) -> list[dict[str, Any]]:
    """``GET {V1}/apis?crossId=`` (read-back)."""
    body = await client.get_json(join_path(client.urls.v1, "apis"), params={"crossId": cross_id})
    return [as_object(item) for item in body] if isinstance(body, list) else []


async def export_api_crd(
    client: ApimClient, api_id: str, *, params: Mapping[str, str | bool] | None = None
) -> str:
    """``GET {V1}/apis/{id}/crd``: the API as an ``ApiDefinition`` manifest (YAML text)."""
    url = join_path(client.urls.v1, "apis", segment(api_id), "crd")
    return await client.get_text(url, params=params)

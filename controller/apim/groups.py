"""APIM user groups through the Automation API (``{AUTO}/groups``).

Owns upsert (with dry run), delete and read-back in HRID or legacy UUID mode. A 404 on delete is
success here (upstream reports it as an error; ``docs/behavior/apim-calls.md#deletes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from controller.apim.automation import AutomationCollection
from controller.apim.client import ApimClient
from controller.apim.results import ImportErrors, as_object, int_field, text_field


@attrs.frozen
class GroupState:
    id: str
    member_count: int
    organization_id: str
    environment_id: str
    errors: ImportErrors
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)

    @classmethod
    def from_json(cls, body: Any) -> GroupState:
        data = as_object(body)
        return cls(
            id=text_field(data, "id"),
            member_count=int_field(data, "memberCount"),
            organization_id=text_field(data, "organizationId"),
            environment_id=text_field(data, "environmentId"),
            errors=ImportErrors.from_json(data.get("errors")),
            raw=data,
        )


GROUPS = AutomationCollection("groups")


async def upsert_group(
    client: ApimClient,
    spec: Mapping[str, Any],
    *,
    dry_run: bool = False,
    hrid_contains_uuid: bool = False,
) -> GroupState:
    """``PUT {AUTO}/groups?dryRun=[&hridContainsUUID=true]``."""
    body = await GROUPS.upsert(client, spec, dry_run=dry_run, hrid_contains_uuid=hrid_contains_uuid)
    return GroupState.from_json(body)


async def delete_group(client: ApimClient, ref: str, *, hrid_contains_uuid: bool = False) -> bool:
    """``DELETE {AUTO}/groups/{ref}?hridContainsUUID=``; False when already gone."""
    return await GROUPS.delete(client, ref, hrid_contains_uuid=hrid_contains_uuid)


async def get_group(
    client: ApimClient, ref: str, *, hrid_contains_uuid: bool = False
) -> GroupState:
    """``GET {AUTO}/groups/{ref}`` (read-back)."""
    return GroupState.from_json(
        await GROUPS.get(client, ref, hrid_contains_uuid=hrid_contains_uuid)
    )

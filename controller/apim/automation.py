"""Conventions shared by every top-level Automation API collection.

Owns the id-mode flags: HRID mode by default, ``hridContainsUUID=true`` when the object predates
HRIDs and is addressed by its UUID (``docs/behavior/ids.md#hrid-mode-and-uuid-mode``). Upserts
only send the flag in UUID mode; deletes always send it, as upstream does.
``AutomationCollection`` makes the three calls every collection has (upsert, delete, read-back);
the family modules type their answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from controller.apim.client import ApimClient, QueryParams
from controller.apim.results import ImportErrors, as_object, text_field
from controller.apim.urls import join_path, segment


@attrs.frozen
class AutomationState:
    """What the Automation API answers for an application or a shared policy group."""

    id: str
    hrid: str
    organization_id: str
    environment_id: str
    errors: ImportErrors
    cross_id: str = ""
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @classmethod
    def from_json(cls, body: Any) -> AutomationState:
        data = as_object(body)
        return cls(
            id=text_field(data, "id"),
            hrid=text_field(data, "hrid"),
            organization_id=text_field(data, "organizationId"),
            environment_id=text_field(data, "environmentId"),
            errors=ImportErrors.from_json(data.get("errors")),
            cross_id=text_field(data, "crossId"),
            raw=data,
        )


@attrs.frozen
class AutomationCollection:
    """``{AUTO}/<name>``: e.g. ``apis``, ``applications``, ``groups``."""

    name: str

    def url(self, client: ApimClient, ref: str | None = None) -> str:
        if ref is None:
            return join_path(client.urls.automation, self.name)
        return join_path(client.urls.automation, self.name, segment(ref))

    async def upsert(
        self,
        client: ApimClient,
        spec: Mapping[str, Any],
        *,
        dry_run: bool = False,
        hrid_contains_uuid: bool = False,
    ) -> Any:
        """``PUT {AUTO}/<name>?dryRun=[&hridContainsUUID=true]``: the decoded answer."""
        return await client.put_json(
            self.url(client),
            dict(spec),
            params=upsert_params(dry_run=dry_run, hrid_contains_uuid=hrid_contains_uuid),
        )

    async def delete(
        self, client: ApimClient, ref: str, *, hrid_contains_uuid: bool = False
    ) -> bool:
        """``DELETE {AUTO}/<name>/{ref}?hridContainsUUID=``; False when it was already gone."""
        return await client.delete(
            self.url(client, ref),
            params=delete_params(hrid_contains_uuid=hrid_contains_uuid),
            missing_ok=True,
        )

    async def get(self, client: ApimClient, ref: str, *, hrid_contains_uuid: bool = False) -> Any:
        """``GET {AUTO}/<name>/{ref}`` (read-back): the decoded answer."""
        return await client.get_json(
            self.url(client, ref), params=get_params(hrid_contains_uuid=hrid_contains_uuid)
        )


def upsert_params(*, dry_run: bool, hrid_contains_uuid: bool) -> QueryParams:
    params: dict[str, str | bool | int] = {"dryRun": dry_run}
    if hrid_contains_uuid:
        params["hridContainsUUID"] = True
    return params


def delete_params(*, hrid_contains_uuid: bool) -> QueryParams:
    return {"hridContainsUUID": hrid_contains_uuid}


def get_params(*, hrid_contains_uuid: bool) -> QueryParams | None:
    return {"hridContainsUUID": True} if hrid_contains_uuid else None

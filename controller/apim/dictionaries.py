"""Dictionaries through the Automation API (``{AUTO}/dictionaries``, APIM 4.12+).

Owns upsert (with dry run), delete (404 is success, ``docs/behavior/apim-calls.md#deletes``) and
read-back.
Dictionaries have no legacy UUID mode: they are always addressed by HRID.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from controller.apim.client import ApimClient
from controller.apim.results import ImportErrors, as_object, text_field
from controller.apim.urls import join_path, segment


@attrs.frozen
class DictionaryState:
    id: str
    hrid: str
    organization_id: str
    environment_id: str
    errors: ImportErrors
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)

    @classmethod
    def from_json(cls, body: Any) -> DictionaryState:
        data = as_object(body)
        return cls(
            id=text_field(data, "id"),
            hrid=text_field(data, "hrid"),
            organization_id=text_field(data, "organizationId"),
            environment_id=text_field(data, "environmentId"),
            errors=ImportErrors.from_json(data.get("errors")),
            raw=data,
        )


async def upsert_dictionary(
    client: ApimClient, spec: Mapping[str, Any], *, dry_run: bool = False
) -> DictionaryState:
    """``PUT {AUTO}/dictionaries?dryRun=``."""
    body = await client.put_json(
        join_path(client.urls.automation, "dictionaries"), dict(spec), params={"dryRun": dry_run}
    )
    return DictionaryState.from_json(body)


async def delete_dictionary(client: ApimClient, hrid: str) -> bool:
    """``DELETE {AUTO}/dictionaries/{hrid}``; False when already gone."""
    return await client.delete(
        join_path(client.urls.automation, "dictionaries", segment(hrid)), missing_ok=True
    )


async def get_dictionary(client: ApimClient, hrid: str) -> DictionaryState:
    """``GET {AUTO}/dictionaries/{hrid}`` (read-back)."""
    body = await client.get_json(join_path(client.urls.automation, "dictionaries", segment(hrid)))
    return DictionaryState.from_json(body)

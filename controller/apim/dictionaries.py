"""Dictionaries through the Automation API (``{AUTO}/dictionaries``, APIM 4.12+).

Owns upsert (with dry run), delete (404 is success, ``docs/behavior/apim-calls.md#deletes``) and
read-back.
Dictionaries have no legacy UUID mode: they are always addressed by HRID.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.apim.automation import AutomationState
from controller.apim.client import ApimClient
from controller.apim.urls import join_path, segment

DictionaryState = AutomationState


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

"""Applications through the Automation API.

Owns upsert (with dry run), delete (APIM archives; 404 is success) and the read-back, in HRID
mode or legacy UUID mode. The body is the caller's application spec, passed through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.apim.automation import AutomationCollection, AutomationState
from controller.apim.client import ApimClient

ApplicationState = AutomationState
"""Kept as a name of its own for readers of this family's calls."""


APPLICATIONS = AutomationCollection("applications")


async def upsert_application(
    client: ApimClient,
    spec: Mapping[str, Any],
    *,
    dry_run: bool = False,
    hrid_contains_uuid: bool = False,
) -> ApplicationState:
    """``PUT {AUTO}/applications?dryRun=[&hridContainsUUID=true]``."""
    body = await APPLICATIONS.upsert(
        client, spec, dry_run=dry_run, hrid_contains_uuid=hrid_contains_uuid
    )
    return ApplicationState.from_json(body)


async def delete_application(
    client: ApimClient, ref: str, *, hrid_contains_uuid: bool = False
) -> bool:
    """``DELETE {AUTO}/applications/{ref}?hridContainsUUID=``; False when already gone."""
    return await APPLICATIONS.delete(client, ref, hrid_contains_uuid=hrid_contains_uuid)


async def get_application(
    client: ApimClient, ref: str, *, hrid_contains_uuid: bool = False
) -> ApplicationState:
    """``GET {AUTO}/applications/{ref}`` (read-back)."""
    return ApplicationState.from_json(
        await APPLICATIONS.get(client, ref, hrid_contains_uuid=hrid_contains_uuid)
    )

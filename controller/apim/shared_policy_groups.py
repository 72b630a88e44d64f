"""Shared policy groups through the Automation API (``{AUTO}/shared-policy-groups``).

Owns upsert (with dry run), delete (404 is success) and read-back. In legacy mode upstream sends
the SPG's *crossId* as the ref with ``hridContainsUUID=true`` (APIM reads it as the id); callers
pass whatever ref they chose, this module does not second-guess it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.apim.automation import AutomationCollection, AutomationState
from controller.apim.client import ApimClient

SharedPolicyGroupState = AutomationState
"""Kept as a name of its own for readers of this family's calls."""


SHARED_POLICY_GROUPS = AutomationCollection("shared-policy-groups")


async def upsert_shared_policy_group(
    client: ApimClient,
    spec: Mapping[str, Any],
    *,
    dry_run: bool = False,
    hrid_contains_uuid: bool = False,
) -> SharedPolicyGroupState:
    """``PUT {AUTO}/shared-policy-groups?dryRun=[&hridContainsUUID=true]``."""
    body = await SHARED_POLICY_GROUPS.upsert(
        client, spec, dry_run=dry_run, hrid_contains_uuid=hrid_contains_uuid
    )
    return SharedPolicyGroupState.from_json(body)


async def delete_shared_policy_group(
    client: ApimClient, ref: str, *, hrid_contains_uuid: bool = False
) -> bool:
    """``DELETE {AUTO}/shared-policy-groups/{ref}?hridContainsUUID=``; False when already gone."""
    return await SHARED_POLICY_GROUPS.delete(client, ref, hrid_contains_uuid=hrid_contains_uuid)


async def get_shared_policy_group(
    client: ApimClient, ref: str, *, hrid_contains_uuid: bool = False
) -> SharedPolicyGroupState:
    """``GET {AUTO}/shared-policy-groups/{ref}`` (read-back)."""
    return SharedPolicyGroupState.from_json(
        await SHARED_POLICY_GROUPS.get(client, ref, hrid_contains_uuid=hrid_contains_uuid)
    )

"""Query conventions shared by every Automation API resource.

Owns the id-mode flags: HRID mode by default, ``hridContainsUUID=true`` when the object predates
HRIDs and is addressed by its UUID (gko-behavior.md 3.5). Upserts only send the flag in UUID mode;
deletes always send it, as upstream does.
"""

from __future__ import annotations

from controller.apim.client import QueryParams


def upsert_params(*, dry_run: bool, hrid_contains_uuid: bool) -> QueryParams:
    params: dict[str, str | bool | int] = {"dryRun": dry_run}
    if hrid_contains_uuid:
        params["hridContainsUUID"] = True
    return params


def delete_params(*, hrid_contains_uuid: bool) -> QueryParams:
    return {"hridContainsUUID": hrid_contains_uuid}


def get_params(*, hrid_contains_uuid: bool) -> QueryParams | None:
    return {"hridContainsUUID": True} if hrid_contains_uuid else None

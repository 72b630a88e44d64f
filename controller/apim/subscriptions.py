"""Subscriptions through the Automation API (``{AUTO}/apis/{api}/subscriptions``).

Owns upsert, delete and read-back. Three id-mode flags address the subscription, its API and its
application independently (legacy objects are addressed by UUID). The response must carry an
RFC 3339 ``startingAt`` (upstream fails the reconcile otherwise); a 404 on delete is success here
(upstream treats it as an error; ``docs/behavior/apim-calls.md#deletes``).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import attrs

from controller.apim.client import ApimClient, QueryParams
from controller.apim.errors import ApimError, ErrorKind
from controller.apim.results import ImportErrors, as_object, text_field
from controller.apim.urls import join_path, segment


def parse_rfc3339(value: str) -> datetime.datetime:
    """An RFC 3339 timestamp; naive or malformed values raise ``ValueError``."""
    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp [{value}] has no timezone")
    return parsed


@attrs.frozen
class SubscriptionState:
    id: str
    starting_at: datetime.datetime
    ending_at: datetime.datetime | None
    organization_id: str
    environment_id: str
    errors: ImportErrors
    raw: Mapping[str, Any] = attrs.field(eq=False, repr=False)


def _flags(
    *, hrid_contains_uuid: bool, hrid_contains_api_uuid: bool, hrid_contains_app_uuid: bool | None
) -> QueryParams:
    params: dict[str, str | bool | int] = {
        "hridContainsUUID": hrid_contains_uuid,
        "hridContainsApiUUID": hrid_contains_api_uuid,
    }
    if hrid_contains_app_uuid is not None:
        params["hridContainsAppUUID"] = hrid_contains_app_uuid
    return params


def _collection_url(client: ApimClient, api_ref: str) -> str:
    return join_path(client.urls.automation, "apis", segment(api_ref), "subscriptions")


def _state(body: Any, *, method: str, url: str) -> SubscriptionState:
    data = as_object(body)
    starting_raw = text_field(data, "startingAt")
    ending_raw = text_field(data, "endingAt")
    try:
        starting_at = parse_rfc3339(starting_raw)
        ending_at = parse_rfc3339(ending_raw) if ending_raw else None
    except ValueError as exc:
        raise ApimError(
            kind=ErrorKind.RESPONSE,
            method=method,
            url=url,
            status=200,
            message=f"invalid subscription dates: {exc}",
        ) from None
    return SubscriptionState(
        id=text_field(data, "id"),
        starting_at=starting_at,
        ending_at=ending_at,
        organization_id=text_field(data, "organizationId"),
        environment_id=text_field(data, "environmentId"),
        errors=ImportErrors.from_json(data.get("errors")),
        raw=data,
    )


async def upsert_subscription(
    client: ApimClient,
    api_ref: str,
    spec: Mapping[str, Any],
    *,
    hrid_contains_uuid: bool = False,
    hrid_contains_api_uuid: bool = False,
    hrid_contains_app_uuid: bool = False,
) -> SubscriptionState:
    """``PUT {AUTO}/apis/{api_ref}/subscriptions`` with the three id-mode flags (no dry run)."""
    url = _collection_url(client, api_ref)
    params = _flags(
        hrid_contains_uuid=hrid_contains_uuid,
        hrid_contains_api_uuid=hrid_contains_api_uuid,
        hrid_contains_app_uuid=hrid_contains_app_uuid,
    )
    body = await client.put_json(url, dict(spec), params=params)
    return _state(body, method="PUT", url=url)


async def delete_subscription(
    client: ApimClient,
    api_ref: str,
    subscription_ref: str,
    *,
    hrid_contains_uuid: bool = False,
    hrid_contains_api_uuid: bool = False,
) -> bool:
    """``DELETE {AUTO}/apis/{api}/subscriptions/{sub}`` (APIM closes it); False when gone."""
    return await client.delete(
        join_path(_collection_url(client, api_ref), segment(subscription_ref)),
        params=_flags(
            hrid_contains_uuid=hrid_contains_uuid,
            hrid_contains_api_uuid=hrid_contains_api_uuid,
            hrid_contains_app_uuid=None,
        ),
        missing_ok=True,
    )


async def get_subscription(
    client: ApimClient,
    api_ref: str,
    subscription_ref: str,
    *,
    hrid_contains_uuid: bool = False,
    hrid_contains_api_uuid: bool = False,
) -> SubscriptionState:
    """``GET {AUTO}/apis/{api}/subscriptions/{sub}`` (read-back)."""
    url = join_path(_collection_url(client, api_ref), segment(subscription_ref))
    params: dict[str, str | bool | int] = {}
    if hrid_contains_uuid:
        params["hridContainsUUID"] = True
    if hrid_contains_api_uuid:
        params["hridContainsApiUUID"] = True
    body = await client.get_json(url, params=params or None)
    return _state(body, method="GET", url=url)

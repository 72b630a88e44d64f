"""How an API object is identified in APIM and in gateways (docs/behavior/ids.md).

Pure functions from (spec, metadata, status) to the spec that is sent, with upstream's ID
formulas, so that this operator and upstream GKO (and two clusters managing one APIM) agree on
every id. Inputs are never modified. The formulas themselves live in ``controller.apim.ids``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from controller import jsonfast
from controller.apim import ids

# --- v2 ----------------------------------------------------------------------------------------


def v2_definition_context(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The effective ``definition_context`` of a v2 API
    (docs/behavior/api-v2.md#definition-context)."""
    context = dict(
        spec.get("definition_context") or {"mode": "fully_managed", "origin": "kubernetes"}
    )
    local = bool(spec.get("local", False))
    user_sync = str(context.get("syncFrom") or "")
    context["syncFrom"] = (
        "MANAGEMENT" if not local or user_sync.lower() == "management" else "KUBERNETES"
    )
    return context


def populate_v2_ids(
    spec: Mapping[str, Any],
    *,
    namespace: str,
    name: str,
    uid: str,
    status: Mapping[str, Any],
) -> dict[str, Any]:
    """Upstream ``PopulateIDs`` for v2: API, plan and page ids and crossIds
    (docs/behavior/ids.md#v2-apis)."""
    out: dict[str, Any] = jsonfast.copy(dict(spec))
    api_id = status.get("id") or out.get("id") or uid
    out["id"] = api_id
    out["crossId"] = (
        status.get("crossId") or out.get("crossId") or ids.default_cross_id(namespace, name)
    )
    status_plans: Mapping[str, str] = status.get("plans") or {}
    for plan in out.get("plans") or []:
        plan_name = str(plan.get("name", ""))
        cross_id = plan.get("crossId") or ids.v2_plan_cross_id(api_id, plan_name)
        plan["crossId"] = cross_id
        plan["id"] = status_plans.get(cross_id) or ids.v2_plan_id(cross_id, plan_name)
    for key, page in (out.get("pages") or {}).items():
        page["api"] = api_id
        page["crossId"] = page.get("crossId") or ids.page_cross_id(namespace, name, key)
        page["id"] = page.get("id") or ids.page_id(api_id, key)
        if page.get("parent"):
            page["parentId"] = ids.page_id(api_id, page["parent"])
    return out


# --- v4 ----------------------------------------------------------------------------------------

IdentityMode = Literal["hrid", "uuid"]


def v4_definition_context(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Effective v4 ``definitionContext``: defaults overridden by non-empty user values
    (docs/behavior/api-v4.md#definition-context)."""
    effective: dict[str, Any] = {"origin": "KUBERNETES", "syncFrom": "MANAGEMENT"}
    for key, value in (spec.get("definitionContext") or {}).items():
        if value:
            effective[key] = value
    return effective


@attrs.frozen
class V4Identity:
    """The spec to send and how APIM addresses the API.

    ``mode`` ``hrid``: APIM knows the API by ``api_ref`` = its HRID (``hridContainsUUID=false``);
    ``uuid``: by ``api_ref`` = its UUID (objects from before the Automation API era).
    """

    spec: dict[str, Any]
    mode: IdentityMode
    api_ref: str

    @property
    def hrid_contains_uuid(self) -> bool:
        return self.mode == "uuid"


def v4_identity_mode(
    spec: Mapping[str, Any], status: Mapping[str, Any], *, automation_managed: bool
) -> IdentityMode:
    existing_id = spec.get("id") or status.get("id")
    return "hrid" if not existing_id or automation_managed else "uuid"


def populate_v4_ids(
    spec: Mapping[str, Any],
    *,
    namespace: str,
    name: str,
    status: Mapping[str, Any],
    automation_managed: bool,
    has_context: bool,
) -> V4Identity:
    """Upstream v4 ``PopulateIDs`` for the Automation API era (docs/behavior/ids.md#v4-apis)."""
    out: dict[str, Any] = jsonfast.copy(dict(spec))
    mode = v4_identity_mode(spec, status, automation_managed=automation_managed)
    api_hrid = ids.hrid(namespace, name)
    status_plans: Mapping[str, str] = status.get("plans") or {}
    plans: dict[str, Any] = out.get("plans") or {}
    pages: dict[str, Any] = out.get("pages") or {}

    if mode == "hrid":
        out["hrid"] = api_hrid
        if "pages" in out:
            rekeyed: dict[str, Any] = {}
            for key, page in pages.items():
                page["hrid"] = ids.sanitize_key(key)
                if page.get("parent"):
                    page["parentHrid"] = ids.sanitize_key(page["parent"])
                page["api"] = api_hrid
                rekeyed[ids.sanitize_key(key)] = page
            out["pages"] = rekeyed
        for key, plan in plans.items():
            plan["hrid"] = ids.sanitize_key(key)
            if plan.get("generalConditions"):
                plan["generalConditionsHrid"] = ids.sanitize_key(plan["generalConditions"])
                del plan["generalConditions"]
        if not has_context:
            # Gateways need ids even when APIM never sees the API.
            out["id"] = ids.v4_local_api_id(api_hrid)
            for key, plan in plans.items():
                plan["id"] = status_plans.get(key) or ids.v4_legacy_plan_id(out["id"], key)
        return V4Identity(out, "hrid", api_hrid)

    api_id = str(spec.get("id") or status.get("id"))
    out["id"] = api_id
    out["crossId"] = (
        status.get("crossId") or out.get("crossId") or ids.default_cross_id(namespace, name)
    )
    for key, page in pages.items():
        page["api"] = api_id
        page["hrid"] = ids.sanitize_key(key)
        page["id"] = page.get("id") or ids.page_id(api_id, key)
        page["crossId"] = page.get("crossId") or ids.page_cross_id(namespace, name, key)
        if page.get("parent"):
            page["parentId"] = ids.page_id(api_id, page["parent"])
    for key, plan in plans.items():
        plan["hrid"] = ids.sanitize_key(key)
        plan["id"] = status_plans.get(key) or ids.v4_legacy_plan_id(api_id, key)
    # In UUID mode the Automation API expects the UUID in the hrid field.
    out["hrid"] = api_id
    return V4Identity(out, "uuid", api_id)


def automation_body(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The Automation API body: the v4 model with its ``plans``/``pages`` maps as lists
    (docs/behavior/api-v4.md#update)."""
    body = {k: value for k, value in spec.items() if k not in ("contextRef",)}
    for field in ("plans", "pages"):
        if isinstance(body.get(field), dict):
            body[field] = list(body[field].values())
    return body

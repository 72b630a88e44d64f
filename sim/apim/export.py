"""The "export as CRD" documents: v1 ``GET /apis/{id}/crd`` and v2 ``GET /apis/{id}/_export/crd``.

Owns turning a stored API back into an ``ApiDefinition`` / ``ApiV4Definition`` manifest (YAML):
plans and pages become maps again, ids are kept unless asked to remove them. Pure functions over
the state; never mutates it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from sim.apim.state import ApiRecord, SimulatorState

API_VERSION = "gravitee.io/v1alpha1"


def kubernetes_name(name: str) -> str:
    """A DNS-1123 name derived from an API name (lower case, dashes)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return slug[:63].strip("-") or "api"


def v2_api_manifest(
    state: SimulatorState,
    api: ApiRecord,
    *,
    remove_ids: bool = False,
    context_name: str | None = None,
    context_namespace: str = "default",
) -> str:
    spec: dict[str, Any] = {k: v for k, v in api.spec.items() if k not in ("contextRef", "local")}
    spec["name"] = api.name
    spec["state"] = api.state
    plans = []
    for plan in state.plans_of(api):
        entry = dict(plan.spec)
        if not remove_ids:
            entry["id"] = plan.id
        elif "crossId" in entry:
            entry.pop("crossId")
        plans.append(entry)
    spec["plans"] = plans
    pages = {}
    for page in state.pages_of(api):
        entry = dict(page.spec)
        if not remove_ids:
            entry["id"] = page.id
        pages[page.hrid or page.id] = entry
    if pages:
        spec["pages"] = pages
    if remove_ids:
        spec.pop("id", None)
        spec.pop("crossId", None)
    else:
        spec["id"] = api.id
        spec["crossId"] = api.cross_id
    if context_name:
        spec["contextRef"] = {"name": context_name, "namespace": context_namespace}
    manifest = {
        "apiVersion": API_VERSION,
        "kind": "ApiDefinition",
        "metadata": {"name": kubernetes_name(api.name)},
        "spec": spec,
    }
    return yaml.safe_dump(manifest, sort_keys=False)


def v4_api_manifest(state: SimulatorState, api: ApiRecord) -> str:
    spec: dict[str, Any] = {
        k: v for k, v in api.spec.items() if k not in ("contextRef", "hrid", "notifyMembers")
    }
    spec["id"] = api.id
    spec["crossId"] = api.cross_id
    spec["name"] = api.name
    spec["state"] = api.state
    plans = {}
    for plan in state.plans_of(api):
        if plan.status == "CLOSED":
            continue
        plans[plan.hrid or plan.name] = {**plan.spec, "id": plan.id}
    spec["plans"] = plans
    pages = {}
    for page in state.pages_of(api):
        pages[page.hrid or page.id] = {
            **{k: v for k, v in page.spec.items() if k != "hrid"},
            "id": page.id,
        }
    if pages:
        spec["pages"] = pages
    manifest = {
        "apiVersion": API_VERSION,
        "kind": "ApiV4Definition",
        "metadata": {"name": api.name},
        "spec": spec,
    }
    return yaml.safe_dump(manifest, sort_keys=False)

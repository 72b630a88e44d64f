"""The ConfigMaps a Gravitee gateway loads in local mode (docs/behavior/local-configmaps.md).

Owns the exact layout (name, labels, keys, owner reference) and the v4 "gateway definition"
conversion, as pure functions. Writing, comparing with the live object and deleting are the
reconcilers' job; ``needs_write`` tells them whether the live object already matches, so a
converged API costs no ConfigMap write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from controller import jsonfast
from controller import vocabulary as v
from controller.informers.predicates import source_data_hash

ApiKind = Literal["ApiDefinition", "ApiV4Definition"]

V4_DEFINITION_VERSION = "4.0.0"


def api_configmap(
    *,
    kind: ApiKind,
    name: str,
    namespace: str,
    uid: str,
    definition: Mapping[str, Any],
    organization_id: str | None,
    environment_id: str | None,
) -> dict[str, Any]:
    """The desired ConfigMap for a local API; org/env fall back to DEFAULT without a context."""
    data = {
        v.CONFIGMAP_KEY_DEFINITION: json.dumps(definition, separators=(",", ":")),
        v.CONFIGMAP_KEY_ORGANIZATION: organization_id or v.DEFAULT_ORGANIZATION,
        v.CONFIGMAP_KEY_ENVIRONMENT: environment_id or v.DEFAULT_ENVIRONMENT,
    }
    if kind == "ApiV4Definition":
        data[v.CONFIGMAP_KEY_DEFINITION_VERSION] = V4_DEFINITION_VERSION
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                v.LABEL_MANAGED_BY: v.LABEL_MANAGED_BY_VALUE,
                v.LABEL_GIO_TYPE: v.LABEL_GIO_TYPE_API,
            },
            # The hash of the data as written: an edit by anyone else no longer matches it,
            # which is how the owner's controller tells a hand edit from its own write.
            "annotations": {v.ANNOTATION_LAST_SPEC_HASH: source_data_hash({"data": data})},
            "ownerReferences": [
                {"apiVersion": v.API_VERSION, "kind": kind, "name": name, "uid": uid}
            ],
        },
        "data": data,
    }


def needs_write(live: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    """Whether ``live`` differs from ``desired`` in anything this module owns.

    Labels added by others are tolerated; ours must be present with our values.
    """
    if live is None:
        return True
    live_meta = live.get("metadata") or {}
    desired_meta = desired["metadata"]
    live_labels = live_meta.get("labels") or {}
    if any(live_labels.get(k) != value for k, value in desired_meta["labels"].items()):
        return True
    if (live_meta.get("ownerReferences") or []) != desired_meta["ownerReferences"]:
        return True
    live_annotations = live_meta.get("annotations") or {}
    if any(live_annotations.get(k) != value for k, value in desired_meta["annotations"].items()):
        return True
    # The cache keeps ConfigMaps without their data, only its hash (docs/architecture.md).
    return source_data_hash(live) != source_data_hash(desired)


# --- v4 gateway definition -------------------------------------------------------------------


def _gateway_enum(value: Any) -> Any:
    """Console style ``LLM_PROXY`` becomes gateway style ``llm-proxy``."""
    return value.lower().replace("_", "-") if isinstance(value, str) else value


def _convert(obj: Any, key: str) -> None:
    if isinstance(obj, dict) and key in obj:
        obj[key] = _gateway_enum(obj[key])


def _convert_flows(flows: Any) -> None:
    for flow in flows or []:
        for selector in (flow or {}).get("selectors") or []:
            _convert(selector, "type")


def gateway_definition(spec: Mapping[str, Any], *, api_id: str) -> dict[str, Any]:
    """The v4 definition a gateway reads, derived from a spec whose IDs are populated.

    ``api_id`` seeds the names of unnamed endpoint groups: upstream picks random names, which
    would rewrite the ConfigMap on every reconcile; a name derived from the API id and position
    is just as unique and keeps a converged API write-free.
    """
    definition: dict[str, Any] = jsonfast.copy(dict(spec))
    definition["definitionVersion"] = V4_DEFINITION_VERSION
    if "version" in definition:
        definition["apiVersion"] = definition["version"]
    _convert(definition, "type")
    for listener in definition.get("listeners") or []:
        _convert(listener, "type")
        for entrypoint in (listener or {}).get("entrypoints") or []:
            _convert(entrypoint, "qos")
    _convert_flows(definition.get("flows"))
    _convert(definition.get("flowExecution"), "mode")
    for index, group in enumerate(definition.get("endpointGroups") or []):
        if isinstance(group, dict):
            _convert(group.get("loadBalancer"), "type")
            if not group.get("name"):
                group["name"] = f"{api_id}-endpoint-group-{index}"
    plans = definition.get("plans")
    if isinstance(plans, dict):
        plan_list = []
        for plan_key, plan in plans.items():
            plan = dict(plan or {})
            plan["name"] = plan_key
            _convert(plan.get("security"), "type")
            _convert(plan, "mode")
            _convert(plan, "status")
            _convert_flows(plan.get("flows"))
            plan_list.append(plan)
        definition["plans"] = plan_list
    return definition

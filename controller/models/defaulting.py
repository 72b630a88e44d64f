"""API-server style pruning and defaulting of JSON against a structural schema.

Owns what kube-apiserver does to a custom resource before storing it: drop fields the schema does
not declare (unless ``x-kubernetes-preserve-unknown-fields``), drop nulls of non-nullable fields,
then fill ``default`` values top-down (a default is itself defaulted). Used to predict what the API
server returns (tests, dry runs) and by the emulator-independent checks.

Must never validate (types, enums, required) nor mutate its input: it returns new values.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["apply_defaults", "prune"]


def _preserves(schema: dict[str, Any]) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields"))


def prune(value: Any, schema: dict[str, Any], *, root: bool = True) -> Any:
    """A copy of ``value`` without the fields ``schema`` does not declare.

    At the root, ``metadata`` is left alone: it is ObjectMeta, which the API server owns.
    """
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        out: dict[str, Any] = {}
        for key, item in value.items():
            if root and key == "metadata":
                out[key] = copy.deepcopy(item)
            elif properties is not None and key in properties:
                sub = properties[key]
                if item is None and not sub.get("nullable"):
                    continue
                out[key] = prune(item, sub, root=False)
            elif isinstance(additional, dict):
                out[key] = prune(item, additional, root=False)
            elif _preserves(schema) or additional is True:
                out[key] = copy.deepcopy(item)
        return out
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            return [prune(item, items, root=False) for item in value]
        return copy.deepcopy(value)
    return value


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """A copy of ``value`` with the schema's defaults filled in where fields are absent."""
    if isinstance(value, dict):
        out = dict(value)
        for key, sub in (schema.get("properties") or {}).items():
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
            if key in out:
                out[key] = apply_defaults(out[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            known = schema.get("properties") or {}
            for key in out:
                if key not in known:
                    out[key] = apply_defaults(out[key], additional)
        return out
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            return [apply_defaults(item, items) for item in value]
        return list(value)
    return value

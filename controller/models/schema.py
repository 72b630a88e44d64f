"""OpenAPI v3 (structural) schema of a model class, derived from its fields.

Owns the mapping from Python types and ``prop`` facts to schema nodes: ``str``/``int``/``bool``/
``float`` -> scalar types, ``list[X]`` -> array, ``dict[str, X]`` -> object with
``additionalProperties``, ``Raw`` -> object with ``x-kubernetes-preserve-unknown-fields``, a model
class -> object with ``properties``/``required`` and the class docstring's first paragraph as the
description; a class's ``EXACTLY_ONE_OF`` field names -> ``oneOf`` over their ``required``.

Must never read upstream CRDs or hold hand-written schema fragments: the models are the only source.
"""

from __future__ import annotations

import copy
import inspect
import types
import typing
from typing import Any

import attrs

from controller.models.base import Raw, UnsetType, json_name, prop_info

__all__ = ["schema_of", "schema_of_type"]

_SCALARS: dict[Any, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        members = [m for m in typing.get_args(tp) if m not in (UnsetType, type(None))]
        if len(members) != 1:
            raise TypeError(f"cannot build a schema for union {tp!r}")
        return members[0]
    return tp


def _describe(cls: type[Any]) -> str:
    doc = inspect.getdoc(cls) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def schema_of_type(tp: Any) -> dict[str, Any]:
    """The schema node of a (possibly optional) field type."""
    tp = _strip_optional(tp)
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    if tp is Raw:
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": schema_of_type(item)}
    if origin is dict:
        key, value = typing.get_args(tp)
        if key is not str:
            raise TypeError(f"map keys must be strings: {tp!r}")
        return {"type": "object", "additionalProperties": schema_of_type(value)}
    if isinstance(tp, type) and attrs.has(tp):
        return schema_of(tp)
    raise TypeError(f"no schema for type {tp!r}")


def _field_schema(field: attrs.Attribute[Any]) -> dict[str, Any]:
    info = prop_info(field)
    node = schema_of_type(field.type)
    if info.description:
        node["description"] = info.description
    if info.enum:
        node["enum"] = list(info.enum)
    if info.items_enum:
        node["items"]["enum"] = list(info.items_enum)
    if info.has_default:
        node["default"] = copy.deepcopy(info.default)
    for key, value in (
        ("format", info.format),
        ("minimum", info.minimum),
        ("maximum", info.maximum),
        ("minLength", info.min_length),
        ("maxLength", info.max_length),
        ("pattern", info.pattern),
        ("minItems", info.min_items),
        ("maxItems", info.max_items),
        ("x-kubernetes-list-type", info.list_type),
    ):
        if value is not None:
            node[key] = value
    if info.list_map_keys:
        node["x-kubernetes-list-map-keys"] = list(info.list_map_keys)
    return node


def schema_of(cls: type[Any]) -> dict[str, Any]:
    """The object schema of a model class (a fresh dict each call, safe to mutate)."""
    attrs.resolve_types(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        key = json_name(field)
        properties[key] = _field_schema(field)
        if prop_info(field).required:
            required.append(key)
    node: dict[str, Any] = {"type": "object"}
    description = _describe(cls)
    if description:
        node["description"] = description
    if properties:
        node["properties"] = properties
    if required:
        node["required"] = sorted(required)
    exactly_one = getattr(cls, "EXACTLY_ONE_OF", ())
    if exactly_one:
        # A structural schema may say "exactly one of these fields" with ``oneOf`` over
        # ``required`` alone; both kube-apiserver and the emulator enforce it.
        node["oneOf"] = [{"required": [name]} for name in exactly_one]
    return node

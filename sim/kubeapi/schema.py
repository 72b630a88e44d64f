"""Structural-schema handling of custom resources: pruning, defaulting and validation.

Owns what kube-apiserver does with a CRD's ``openAPIV3Schema`` on every write: drop fields
the schema does not know (unless ``x-kubernetes-preserve-unknown-fields``), fill ``default``
values, and report violations (required, enum, type, bounds, patterns) as field errors with
kube-style paths and messages. Must never reach storage or HTTP; it works on plain dicts.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from sim.kubeapi.errors import FieldError

JsonObj = dict[str, Any]
Schema = dict[str, Any]

_ROOT_KEEP = ("apiVersion", "kind", "metadata")


def prune(
    obj: Any,
    schema: Schema | None,
    *,
    root: bool = False,
    path: str = "",
    dropped: list[str] | None = None,
) -> Any:
    """Drop unknown fields in place and return ``obj``; ``dropped`` collects their paths."""
    if schema is None:
        return obj
    if isinstance(obj, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields") and not schema.get("properties"):
            return obj
        props: Schema = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        for name in list(obj):
            if (root or embedded) and name in _ROOT_KEEP:
                continue
            child = _child(path, name)
            if name in props:
                prune(obj[name], props[name], path=child, dropped=dropped)
            elif isinstance(additional, dict):
                prune(obj[name], additional, path=child, dropped=dropped)
            elif additional is True or preserve:
                continue
            else:
                del obj[name]
                if dropped is not None:
                    dropped.append(child)
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(obj):
                prune(item, items, path=f"{path}[{index}]", dropped=dropped)
    return obj


def apply_defaults(obj: Any, schema: Schema | None) -> Any:
    """Fill ``default`` values of absent properties in place (recursively) and return ``obj``."""
    if schema is None:
        return obj
    if isinstance(obj, dict):
        props: Schema = schema.get("properties") or {}
        for name, sub in props.items():
            if name not in obj and "default" in sub:
                obj[name] = copy.deepcopy(sub["default"])
            if name in obj:
                apply_defaults(obj[name], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for name in obj:
                if name not in props:
                    apply_defaults(obj[name], additional)
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in obj:
                apply_defaults(item, items)
    return obj


def _render(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return json.dumps(value)


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, schema: Schema) -> bool:
    expected: str | None = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, str | int) and not isinstance(value, bool)
    if not expected:
        return True
    actual = _type_of(value)
    if actual == "null":
        return bool(schema.get("nullable"))
    if expected == "number":
        return actual in ("number", "integer")
    if expected == "integer" and actual == "number":
        return bool(float(value).is_integer())
    return actual == expected


def validate(obj: Any, schema: Schema | None, path: str = "") -> list[FieldError]:
    """Field errors for ``obj`` against ``schema``; an empty list means valid."""
    if schema is None:
        return []
    errors: list[FieldError] = []
    _validate(obj, schema, path, errors)
    return errors


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _validate(value: Any, schema: Schema, path: str, errors: list[FieldError]) -> None:
    if not _type_ok(value, schema):
        if value is None:
            errors.append(
                FieldError(path, "FieldValueRequired", "Required value")
                if not schema.get("nullable")
                else FieldError(path, "FieldValueInvalid", "Invalid value: null")
            )
            return
        expected = schema.get("type") or "string"
        errors.append(
            FieldError(
                path,
                "FieldValueTypeInvalid",
                f'Invalid value: "{_type_of(value)}": {path or "body"} in body must be of type '
                f"{expected}: {_render(value)}",
            )
        )
        return
    if value is None:
        return
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        supported = ", ".join(_render(v) for v in enum)
        errors.append(
            FieldError(
                path,
                "FieldValueNotSupported",
                f"Unsupported value: {_render(value)}: supported values: {supported}",
            )
        )
    if isinstance(value, str):
        _validate_string(value, schema, path, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(value, schema, path, errors)
    elif isinstance(value, list):
        _validate_array(value, schema, path, errors)
    elif isinstance(value, dict):
        _validate_object(value, schema, path, errors)
    for sub in schema.get("allOf") or ():
        _validate(value, sub, path, errors)
    for keyword in ("anyOf", "oneOf"):
        options = schema.get(keyword)
        if options:
            passing = sum(1 for sub in options if not validate(value, sub, path))
            if passing == 0 or (keyword == "oneOf" and passing > 1):
                errors.append(
                    FieldError(
                        path,
                        "FieldValueInvalid",
                        f"Invalid value: {_render(value)}: {path or 'body'} in body must "
                        f"match {'exactly one' if keyword == 'oneOf' else 'at least one'} schema",
                    )
                )


def _validate_string(value: str, schema: Schema, path: str, errors: list[FieldError]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(
            FieldError(
                path,
                "FieldValueTooLong",
                f"Too long: may not be more than {schema['maxLength']} bytes",
            )
        )
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"Invalid value: {_render(value)}: {path} in body should be at least "
                f"{schema['minLength']} chars long",
            )
        )
    pattern = schema.get("pattern")
    if pattern and not re.search(pattern, value):
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"Invalid value: {_render(value)}: {path} in body should match '{pattern}'",
            )
        )


def _validate_number(value: float, schema: Schema, path: str, errors: list[FieldError]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"Invalid value: {_render(value)}: {path} in body should be greater than or "
                f"equal to {schema['minimum']}",
            )
        )
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"Invalid value: {_render(value)}: {path} in body should be less than or "
                f"equal to {schema['maximum']}",
            )
        )


def _validate_array(value: list[Any], schema: Schema, path: str, errors: list[FieldError]) -> None:
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(
            FieldError(
                path,
                "FieldValueTooMany",
                f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
            )
        )
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"Invalid value: {len(value)}: {path} in body should have at least "
                f"{schema['minItems']} items",
            )
        )
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", errors)


def _validate_object(value: JsonObj, schema: Schema, path: str, errors: list[FieldError]) -> None:
    for name in schema.get("required") or ():
        if name not in value:
            errors.append(FieldError(_child(path, name), "FieldValueRequired", "Required value"))
    props: Schema = schema.get("properties") or {}
    for name, sub in props.items():
        if name in value and not (path == "" and name in _ROOT_KEEP):
            _validate(value[name], sub, _child(path, name), errors)
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        for name, item in value.items():
            if name not in props:
                _validate(item, additional, _child(path, name), errors)
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errors.append(
            FieldError(
                path,
                "FieldValueTooMany",
                f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
            )
        )

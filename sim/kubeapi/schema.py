"""Structural-schema handling of custom resources: pruning, defaulting and validation.

Owns what kube-apiserver does with a CRD's ``openAPIV3Schema`` on every write: drop fields
the schema does not know (unless ``x-kubernetes-preserve-unknown-fields``), fill ``default``
values, and report violations (required, enum, type, bounds, patterns) as field errors with
kube-style paths and messages. Must never reach storage or HTTP; it works on plain dicts.

Each schema is compiled once into a tree of :class:`_Plan` nodes (cached by the schema
object's identity, so a schema must not be changed after first use) and the walks read only
those plans. Pruning and defaulting never mutate a nested container: one that changes is
replaced by a fresh copy and only the top-level object is updated in place, so objects may
share unchanged subtrees with stored (immutable) versions.

Validation ratcheting (as kube-apiserver >= 1.30 does for custom resources): when
:func:`validate` gets the previous version as ``old``, a property value strictly equal to
the same property of ``old`` (same JSON types, same content) is not validated again, so an
object that became invalid under a newer schema can still be updated as long as the invalid
fields are left alone. Items of a changed list are not correlated with old items: all are
validated. ``required`` is checked on every changed object.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from sim.kubeapi.errors import FieldError

JsonObj = dict[str, Any]
Schema = dict[str, Any]

_ROOT_KEEP = frozenset(("apiVersion", "kind", "metadata"))
_ABSENT: Any = object()
# JSON type names by exact Python type; other types fall back to ``_type_of``.
_TYPE_NAMES: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}
# Values of these types never need a walk for pruning or defaulting.
_CONTAINERS = (dict, list)
_SCALARS = frozenset((str, int, float, bool, type(None)))
_PLAN_CACHE_SIZE = 128


class _Plan:
    """One schema node, read once: everything the three walks ask of it."""

    __slots__ = (
        "accepts",
        "additional",
        "additional_true",
        "all_of",
        "any_of",
        "defaults",
        "embedded",
        "enum",
        "enum_text",
        "expected",
        "idempotent",
        "int_from_float",
        "items",
        "keep_all",
        "max_items",
        "max_length",
        "max_properties",
        "maximum",
        "min_items",
        "min_length",
        "minimum",
        "nullable",
        "one_of",
        "pass_types",
        "pattern",
        "pattern_re",
        "preserve",
        "prop_index",
        "props",
        "required",
    )

    def __init__(self) -> None:
        self.props: dict[str, _Plan] = {}
        self.prop_index: dict[str, int] = {}
        self.additional: _Plan | None = None
        self.additional_true = False
        self.preserve = False
        self.keep_all = False
        self.embedded = False
        self.items: _Plan | None = None
        self.defaults: tuple[tuple[str, Any, _Plan], ...] = ()
        self.accepts: frozenset[str] = frozenset()
        self.int_from_float = False
        self.nullable = False
        self.expected = "string"
        self.enum: list[Any] | None = None
        self.enum_text = ""
        self.max_length: Any = _ABSENT
        self.min_length: Any = _ABSENT
        self.pattern: Any = None
        self.pattern_re: re.Pattern[str] | None = None
        self.minimum: Any = _ABSENT
        self.maximum: Any = _ABSENT
        self.max_items: Any = _ABSENT
        self.min_items: Any = _ABSENT
        self.max_properties: Any = _ABSENT
        self.required: tuple[str, ...] = ()
        self.all_of: tuple[_Plan, ...] = ()
        self.any_of: tuple[_Plan, ...] = ()
        self.one_of: tuple[_Plan, ...] = ()
        # JSON types for which validation of a value can report nothing at all.
        self.pass_types: frozenset[str] = frozenset()
        # Set on a root plan: walking an object it already walked changes nothing.
        self.idempotent = False


_ALL_TYPES = frozenset(_TYPE_NAMES.values())
_plans: dict[int, tuple[Schema, _Plan]] = {}


def _plan(schema: Schema) -> _Plan:
    """The compiled plan of ``schema``, cached by identity (the cache keeps the schema alive,
    so its id cannot be reused while cached)."""
    entry = _plans.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    memo: dict[int, _Plan] = {}
    plan = _compile(schema, memo)
    plan.idempotent = all(
        _default_is_pruned(d, sub) for p in memo.values() for _, d, sub in p.defaults
    )
    if len(_plans) >= _PLAN_CACHE_SIZE:
        del _plans[next(iter(_plans))]
    _plans[id(schema)] = (schema, plan)
    return plan


def _compile(schema: Schema, memo: dict[int, _Plan]) -> _Plan:
    known = memo.get(id(schema))
    if known is not None:
        return known
    plan = memo[id(schema)] = _Plan()
    if not isinstance(schema, dict):
        # Not a structural schema node (the CRD is not validated that deeply): no rules.
        schema = {}
    get = schema.get
    props: Schema = get("properties") or {}
    plan.props = {name: _compile(sub, memo) for name, sub in props.items()}
    plan.prop_index = {name: index for index, name in enumerate(plan.props)}
    plan.defaults = tuple(
        (name, sub["default"], plan.props[name]) for name, sub in props.items() if "default" in sub
    )
    additional = get("additionalProperties")
    plan.additional = _compile(additional, memo) if isinstance(additional, dict) else None
    plan.additional_true = additional is True
    plan.preserve = bool(get("x-kubernetes-preserve-unknown-fields"))
    plan.keep_all = plan.preserve and not get("properties")
    plan.embedded = bool(get("x-kubernetes-embedded-resource"))
    items = get("items")
    plan.items = _compile(items, memo) if isinstance(items, dict) else None

    expected: str | None = get("type")
    plan.nullable = bool(get("nullable"))
    plan.expected = expected or "string"
    if get("x-kubernetes-int-or-string"):
        plan.accepts = frozenset(("string", "integer"))
    elif not expected:
        plan.accepts = _ALL_TYPES
    else:
        accepts = {"number", "integer"} if expected == "number" else {expected}
        if plan.nullable:
            accepts.add("null")
        else:
            accepts.discard("null")
        plan.accepts = frozenset(accepts)
        plan.int_from_float = expected == "integer"

    enum = get("enum")
    if enum is not None:
        plan.enum = enum
        plan.enum_text = ", ".join(_render(v) for v in enum)
    for key, attr in (
        ("maxLength", "max_length"),
        ("minLength", "min_length"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("maxItems", "max_items"),
        ("minItems", "min_items"),
        ("maxProperties", "max_properties"),
    ):
        if key in schema:
            setattr(plan, attr, schema[key])
    pattern = get("pattern")
    if pattern:
        plan.pattern = pattern
        try:
            plan.pattern_re = re.compile(pattern)
        except (re.error, TypeError):
            # Reported when a string meets it, by re.search, exactly as before compiling.
            plan.pattern_re = None
    plan.required = tuple(get("required") or ())
    plan.all_of = tuple(_compile(sub, memo) for sub in get("allOf") or ())
    plan.any_of = tuple(_compile(sub, memo) for sub in get("anyOf") or ())
    plan.one_of = tuple(_compile(sub, memo) for sub in get("oneOf") or ())
    plan.pass_types = _pass_types(plan)
    return plan


def _default_is_pruned(default: Any, plan: _Plan) -> bool:
    """Whether pruning leaves a filled-in default alone. Defaults are filled after pruning,
    so one that is not (the CRD is not checked for this) loses fields on the next write."""
    filled = _fix(copy.deepcopy(default), plan, "", False, False, True, None)
    dropped: list[str] = []
    _fix(filled, plan, "", False, True, False, dropped)
    return not dropped


def _pass_types(plan: _Plan) -> frozenset[str]:
    passing = set(plan.accepts)
    if plan.enum is not None or plan.all_of or plan.any_of or plan.one_of:
        passing &= {"null"}
    if plan.max_length is not _ABSENT or plan.min_length is not _ABSENT or plan.pattern:
        passing.discard("string")
    if plan.minimum is not _ABSENT or plan.maximum is not _ABSENT:
        passing -= {"integer", "number"}
    if plan.max_items is not _ABSENT or plan.min_items is not _ABSENT or plan.items is not None:
        passing.discard("array")
    if (
        plan.required
        or plan.props
        or plan.additional is not None
        or plan.max_properties is not _ABSENT
    ):
        passing.discard("object")
    return frozenset(passing)


# -- pruning and defaulting ----------------------------------------------------------------


def prune(
    obj: Any,
    schema: Schema | None,
    *,
    root: bool = False,
    path: str = "",
    dropped: list[str] | None = None,
) -> Any:
    """Drop unknown fields and return ``obj`` (updated in place at the top level only);
    ``dropped`` collects their paths."""
    if schema is None:
        return obj
    return _in_place(obj, _fix(obj, _plan(schema), path, root, True, False, dropped))


def apply_defaults(obj: Any, schema: Schema | None) -> Any:
    """Fill ``default`` values of absent properties (recursively) and return ``obj`` (updated
    in place at the top level only)."""
    if schema is None:
        return obj
    return _in_place(obj, _fix(obj, _plan(schema), "", False, False, True, None))


def prune_and_default(
    obj: JsonObj, schema: Schema | None, *, dropped: list[str], admitted: JsonObj | None = None
) -> JsonObj:
    """:func:`prune` (as the root of an object) then :func:`apply_defaults`, in one walk.

    ``admitted`` is a previous version that went through this function with this same
    schema: its top-level values are already pruned and defaulted, so values of ``obj``
    that are the very same objects are not walked again.
    """
    if schema is None:
        return obj
    plan = _plan(schema)
    if not plan.idempotent:
        admitted = None
    _in_place(obj, _fix(obj, plan, "", True, True, True, dropped, admitted))
    return obj


def _in_place(obj: Any, result: Any) -> Any:
    if result is not obj:
        if isinstance(obj, dict):
            obj.clear()
            obj.update(result)
        elif isinstance(obj, list):
            obj[:] = result
    return obj


def _fix(
    value: Any,
    plan: _Plan,
    path: str,
    root: bool,
    pruning: bool,
    defaulting: bool,
    dropped: list[str] | None,
    admitted: JsonObj | None = None,
) -> Any:
    """``value`` pruned and/or defaulted: the same object when nothing changes, otherwise a
    copy (only along the changed paths). Order of ``dropped`` and of inserted keys is that of
    a full prune followed by a full defaulting pass. ``admitted``: see prune_and_default."""
    if isinstance(value, dict):
        done = admitted if admitted is not None else {}
        props = plan.props
        additional = plan.additional
        pruning_here = pruning and not plan.keep_all
        keep_root = pruning_here and (root or plan.embedded)
        drops = pruning_here and not (plan.additional_true or plan.preserve)
        out = value
        for name, child in value.items():
            if done.get(name, _ABSENT) is child:
                # Walking a walk's own output under the same plan changes nothing.
                continue
            sub = props.get(name)
            if sub is None:
                sub = additional
            if keep_root and name in _ROOT_KEEP:
                # Never pruned; defaults still reach it when the schema describes it.
                if sub is None or not defaulting or not isinstance(child, _CONTAINERS):
                    continue
                new = _fix(child, sub, "", False, False, True, None)
            elif sub is not None:
                if not isinstance(child, _CONTAINERS) or not (pruning_here or defaulting):
                    continue
                new = _fix(
                    child,
                    sub,
                    (f"{path}.{name}" if path else name) if pruning_here else "",
                    False,
                    pruning_here,
                    defaulting,
                    dropped,
                )
            elif drops:
                if out is value:
                    out = dict(value)
                del out[name]
                if dropped is not None:
                    dropped.append(f"{path}.{name}" if path else name)
                continue
            else:
                continue
            if new is not child:
                if out is value:
                    out = dict(value)
                out[name] = new
        if defaulting:
            for name, default, sub in plan.defaults:
                if name not in out:
                    if out is value:
                        out = dict(value)
                    filled = _copy_default(default)
                    if isinstance(filled, _CONTAINERS):
                        filled = _fix(filled, sub, "", False, False, True, None)
                    out[name] = filled
        return out
    if isinstance(value, list):
        items = plan.items
        if items is None:
            return value
        out_list = value
        for index, item in enumerate(value):
            if not isinstance(item, _CONTAINERS):
                continue
            new = _fix(item, items, f"{path}[{index}]", False, pruning, defaulting, dropped)
            if new is not item:
                if out_list is value:
                    out_list = list(value)
                out_list[index] = new
        return out_list
    return value


def _copy_default(default: Any) -> Any:
    if type(default) in _SCALARS:
        return default
    if not default and type(default) in _CONTAINERS:
        return type(default)()
    return copy.deepcopy(default)


# -- validation ----------------------------------------------------------------------------


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


def validate(
    obj: Any, schema: Schema | None, path: str = "", *, old: JsonObj | None = None
) -> list[FieldError]:
    """Field errors for ``obj`` against ``schema``; an empty list means valid.

    ``old`` (the previous version of the object, on updates) turns on ratcheting: unchanged
    properties are not validated again.
    """
    if schema is None:
        return []
    errors: list[FieldError] = []
    _validate(obj, _plan(schema), path, errors, _ABSENT if old is None else old)
    return errors


def _unchanged(new: Any, old: Any) -> bool:
    """Strict JSON equality: ``1``, ``1.0`` and ``true`` differ, unlike with ``==``."""
    if new is old:
        return True
    kind = type(new)
    if kind is not type(old) or new != old:
        return False
    if kind is dict or kind is list:
        try:
            return json.dumps(new) == json.dumps(old)
        except (TypeError, ValueError):
            return False
    return True


def _validate(value: Any, plan: _Plan, path: str, errors: list[FieldError], old: Any) -> None:
    actual = _TYPE_NAMES.get(type(value)) or _type_of(value)
    if actual not in plan.accepts and not (
        plan.int_from_float and actual == "number" and float(value).is_integer()
    ):
        if value is None:
            errors.append(
                FieldError(path, "FieldValueRequired", "Required value")
                if not plan.nullable
                else FieldError(path, "FieldValueInvalid", "Invalid value: null")
            )
            return
        errors.append(
            FieldError(
                path,
                "FieldValueTypeInvalid",
                f'Invalid value: "{actual}": {path or "body"} in body must be of type '
                f"{plan.expected}: {_render(value)}",
            )
        )
        return
    if value is None:
        return
    enum = plan.enum
    if enum is not None and value not in enum:
        errors.append(
            FieldError(
                path,
                "FieldValueNotSupported",
                f"Unsupported value: {_render(value)}: supported values: {plan.enum_text}",
            )
        )
    if actual == "string":
        _validate_string(value, plan, path, errors)
    elif actual == "integer" or actual == "number":
        _validate_number(value, plan, path, errors)
    elif actual == "array":
        _validate_array(value, plan, path, errors)
    elif isinstance(value, dict):
        _validate_object(value, plan, path, errors, old)
    for sub in plan.all_of:
        _validate(value, sub, path, errors, _ABSENT)
    for keyword, options in (("anyOf", plan.any_of), ("oneOf", plan.one_of)):
        if options:
            passing = sum(1 for sub in options if _passes(value, sub, path))
            if passing == 0 or (keyword == "oneOf" and passing > 1):
                errors.append(
                    FieldError(
                        path,
                        "FieldValueInvalid",
                        f"Invalid value: {_render(value)}: {path or 'body'} in body must "
                        f"match {'exactly one' if keyword == 'oneOf' else 'at least one'} schema",
                    )
                )


def _passes(value: Any, plan: _Plan, path: str) -> bool:
    found: list[FieldError] = []
    _validate(value, plan, path, found, _ABSENT)
    return not found


def _validate_string(value: str, plan: _Plan, path: str, errors: list[FieldError]) -> None:
    if plan.max_length is not _ABSENT and len(value) > plan.max_length:
        errors.append(
            FieldError(
                path,
                "FieldValueTooLong",
                f"Too long: may not be more than {plan.max_length} bytes",
            )
        )
    if plan.min_length is not _ABSENT and len(value) < plan.min_length:
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"Invalid value: {_render(value)}: {path} in body should be at least "
                f"{plan.min_length} chars long",
            )
        )
    pattern = plan.pattern
    if pattern:
        compiled = plan.pattern_re
        found = compiled.search(value) if compiled is not None else re.search(pattern, value)
        if not found:
            errors.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    f"Invalid value: {_render(value)}: {path} in body should match '{pattern}'",
                )
            )


def _validate_number(value: float, plan: _Plan, path: str, errors: list[FieldError]) -> None:
    if plan.minimum is not _ABSENT and value < plan.minimum:
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"Invalid value: {_render(value)}: {path} in body should be greater than or "
                f"equal to {plan.minimum}",
            )
        )
    if plan.maximum is not _ABSENT and value > plan.maximum:
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"Invalid value: {_render(value)}: {path} in body should be less than or "
                f"equal to {plan.maximum}",
            )
        )


def _validate_array(value: list[Any], plan: _Plan, path: str, errors: list[FieldError]) -> None:
    if plan.max_items is not _ABSENT and len(value) > plan.max_items:
        errors.append(
            FieldError(
                path,
                "FieldValueTooMany",
                f"Too many: {len(value)}: must have at most {plan.max_items} items",
            )
        )
    if plan.min_items is not _ABSENT and len(value) < plan.min_items:
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"Invalid value: {len(value)}: {path} in body should have at least "
                f"{plan.min_items} items",
            )
        )
    items = plan.items
    if items is not None:
        passing = items.pass_types
        for index, item in enumerate(value):
            if (_TYPE_NAMES.get(type(item)) or _type_of(item)) not in passing:
                _validate(item, items, f"{path}[{index}]", errors, _ABSENT)


def _validate_object(
    value: JsonObj, plan: _Plan, path: str, errors: list[FieldError], old: Any
) -> None:
    for name in plan.required:
        if name not in value:
            child = f"{path}.{name}" if path else name
            errors.append(FieldError(child, "FieldValueRequired", "Required value"))
    props = plan.props
    old_map: JsonObj = old if isinstance(old, dict) else {}
    # Schema order, whichever side is shorter to scan.
    if len(value) < len(props):
        names = [name for name in value if name in props]
        if len(names) > 1:
            names.sort(key=plan.prop_index.__getitem__)
    else:
        names = [name for name in props if name in value]
    at_root = path == ""
    for name in names:
        if not (at_root and name in _ROOT_KEEP):
            _validate_child(name, value[name], props[name], old_map, path, errors)
    additional = plan.additional
    if additional is not None:
        for name, item in value.items():
            if name not in props:
                _validate_child(name, item, additional, old_map, path, errors)
    if plan.max_properties is not _ABSENT and len(value) > plan.max_properties:
        errors.append(
            FieldError(
                path,
                "FieldValueTooMany",
                f"Too many: {len(value)}: must have at most {plan.max_properties} items",
            )
        )


def _validate_child(
    name: str, child: Any, sub: _Plan, old_map: JsonObj, path: str, errors: list[FieldError]
) -> None:
    if (_TYPE_NAMES.get(type(child)) or _type_of(child)) in sub.pass_types:
        return
    previous = old_map.get(name, _ABSENT)
    if previous is not _ABSENT and _unchanged(child, previous):
        return
    _validate(child, sub, f"{path}.{name}" if path else name, errors, previous)

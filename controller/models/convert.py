"""JSON <-> model conversion (a cattrs converter with our own hooks).

Owns the exact round trip: a key absent from the JSON is ``UNSET`` and stays absent, JSON null is
``None`` and stays null, ``[]``/``{}`` stay empty, raw (preserve-unknown-fields) subtrees are kept
verbatim. Scalars are checked, never coerced (``"5"`` never becomes ``5``), so a round trip cannot
change a value. Keys a model does not declare are dropped, as the API server prunes them.

Must never apply defaults, resolve references or log values (specs may carry secrets).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import cattrs

from controller import jsonfast
from controller.models.base import UNSET, Raw, UnsetType, json_name

__all__ = ["ModelError", "converter", "structure", "unstructure"]

M = TypeVar("M")


class ModelError(ValueError):
    """A JSON document does not fit a model; ``path`` is the JSON path of the offending value."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


def _join(parent: str, child: str) -> str:
    if not parent or not child:
        return parent or child
    if child.startswith("["):
        return parent + child
    return f"{parent}.{child}"


def _rethrow(step: str, err: Exception) -> ModelError:
    if isinstance(err, ModelError):
        return ModelError(_join(step, err.path), err.reason)
    return ModelError(step, str(err))


def _union_members(tp: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(tp)
    return None


def _is_list(tp: Any) -> bool:
    return typing.get_origin(tp) is list


def _is_dict(tp: Any) -> bool:
    return typing.get_origin(tp) is dict


def _type_name(value: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _make_converter() -> cattrs.Converter:
    # Long on purpose: the hooks share the converter and each other's closures; split apart
    # they would need the converter threaded through every one of them.
    conv = cattrs.Converter(detailed_validation=False)

    def scalar(expected: type, label: str) -> Callable[[Any, Any], Any]:
        def hook(value: Any, _: Any) -> Any:
            ok = isinstance(value, expected) and not (
                expected is not bool and isinstance(value, bool)
            )
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                ok = True
            if not ok:
                raise ModelError("", f"expected {label}, got {_type_name(value)}")
            return value

        return hook

    conv.register_structure_hook(str, scalar(str, "string"))
    conv.register_structure_hook(int, scalar(int, "integer"))
    conv.register_structure_hook(bool, scalar(bool, "boolean"))
    conv.register_structure_hook(float, scalar(float, "number"))

    def structure_raw(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise ModelError("", f"expected object, got {_type_name(value)}")
        return Raw(jsonfast.copy(value))

    def unstructure_raw(value: Raw) -> dict[str, Any]:
        copied: dict[str, Any] = jsonfast.copy(dict(value))
        return copied

    conv.register_structure_hook(Raw, structure_raw)
    conv.register_unstructure_hook(Raw, unstructure_raw)
    conv.register_structure_hook(Any, lambda value, _: jsonfast.copy(value))

    def union_hook(tp: Any) -> Callable[[Any, Any], Any]:
        # Resolved once per union type, not per value: hashing typing unions is not cheap.
        members = [m for m in (_union_members(tp) or ()) if m is not UnsetType]
        concrete_types = [m for m in members if m is not type(None)]
        if len(concrete_types) != 1:
            raise TypeError(f"unsupported union {tp!r}")
        nullable = type(None) in members
        concrete = concrete_types[0]
        resolved: list[Callable[[Any, Any], Any]] = []

        def structure_union(value: Any, _: Any) -> Any:
            if value is None:
                if nullable:
                    return None
                raise ModelError("", "null is not allowed here")
            if not resolved:
                # Looked up on first use, so models may refer to each other in any order.
                resolved.append(conv.get_structure_hook(concrete))
            return resolved[0](value, concrete)

        return structure_union

    conv.register_structure_hook_factory(lambda tp: _union_members(tp) is not None, union_hook)

    def structure_list(value: Any, tp: Any) -> Any:
        if not isinstance(value, list):
            raise ModelError("", f"expected array, got {_type_name(value)}")
        (item_type,) = typing.get_args(tp) or (Any,)
        item_hook = conv.get_structure_hook(item_type)
        out = []
        for index, item in enumerate(value):
            try:
                out.append(item_hook(item, item_type))
            except (ModelError, TypeError, ValueError) as err:
                raise _rethrow(f"[{index}]", err) from None
        return out

    conv.register_structure_hook_func(_is_list, structure_list)

    def structure_dict(value: Any, tp: Any) -> Any:
        if not isinstance(value, dict):
            raise ModelError("", f"expected object, got {_type_name(value)}")
        args = typing.get_args(tp)
        item_type = args[1] if len(args) == 2 else Any
        item_hook = conv.get_structure_hook(item_type)
        out = {}
        for key, item in value.items():
            try:
                out[key] = item_hook(item, item_type)
            except (ModelError, TypeError, ValueError) as err:
                raise _rethrow(f"[{key}]" if "." in key else key, err) from None
        return out

    conv.register_structure_hook_func(_is_dict, structure_dict)

    def unstructure_list(value: list[Any]) -> list[Any]:
        return [conv.unstructure(item) for item in value]

    def unstructure_dict(value: dict[str, Any]) -> dict[str, Any]:
        return {key: conv.unstructure(item) for key, item in value.items()}

    conv.register_unstructure_hook(list, unstructure_list)
    conv.register_unstructure_hook(dict, unstructure_dict)

    def structure_factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        attrs.resolve_types(cls)
        fields = [
            (f.name, json_name(f), f.type, f.default is attrs.NOTHING) for f in attrs.fields(cls)
        ]
        # field hooks are looked up on first use, so models may refer to each other in any order
        hooks: dict[str, Callable[[Any, Any], Any]] = {}

        def hook(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise ModelError("", f"expected object, got {_type_name(value)}")
            kwargs: dict[str, Any] = {}
            for name, key, field_type, mandatory in fields:
                if key not in value:
                    if mandatory:
                        raise ModelError(key, "required value is missing")
                    continue
                field_hook = hooks.get(name)
                if field_hook is None:
                    field_hook = hooks[name] = conv.get_structure_hook(field_type)
                try:
                    kwargs[name] = field_hook(value[key], field_type)
                except (ModelError, TypeError, ValueError) as err:
                    raise _rethrow(key, err) from None
            return cls(**kwargs)

        return hook

    def unstructure_factory(cls: type[Any]) -> Callable[[Any], Any]:
        fields = [(f.name, json_name(f)) for f in attrs.fields(cls)]

        def hook(obj: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name, key in fields:
                value = getattr(obj, name)
                if value is UNSET:
                    continue
                out[key] = None if value is None else conv.unstructure(value)
            return out

        return hook

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


converter: cattrs.Converter = _make_converter()


def structure(data: Any, cls: type[M]) -> M:
    """Build a model from JSON-like data; raises ``ModelError`` with the offending JSON path."""
    try:
        return converter.structure(data, cls)
    except ModelError:
        raise
    except (TypeError, ValueError) as err:
        raise ModelError("", str(err)) from None


def unstructure(obj: Any) -> Any:
    """The JSON-like data of a model (absent fields omitted, nulls kept)."""
    return converter.unstructure(obj)

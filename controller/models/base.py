"""The model DSL: the ``UNSET`` sentinel, raw-JSON types and the ``prop`` field declaration.

Owns how a model field carries its CRD schema facts (JSON name, description, enum, API-server
default, required-ness, validation bounds, ``x-kubernetes-*`` markers) in attrs field metadata, so
that one hand-written class is both the Python model and the source of the generated CRD schema.

Must never do I/O, talk to Kubernetes or APIM, or apply defaults itself: defaults are facts for the
schema (the API server applies them); a model keeps exactly what the JSON said.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, TypeAlias, TypeGuard, TypeVar, Union

import attrs

__all__ = [
    "UNSET",
    "JsonObject",
    "Opt",
    "PropInfo",
    "Raw",
    "UnsetType",
    "given",
    "json_name",
    "or_default",
    "prop",
    "prop_info",
]

T = TypeVar("T")

JsonObject: TypeAlias = dict[str, Any]


class Raw(dict[str, Any]):
    """A JSON object kept verbatim (``x-kubernetes-preserve-unknown-fields``): policy, endpoint
    and resource ``configuration``, listeners, selectors, object metadata.

    A plain dict except for ``repr``, which never shows the content: configurations routinely
    carry credentials (LDAP passwords, OAuth client secrets, keystores).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Raw(<{len(self)} keys>)"


class UnsetType(enum.Enum):
    """The type of ``UNSET``: a field absent from the JSON (distinct from ``None`` = JSON null)."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET = UnsetType.UNSET

# An optional field: a value, an explicit JSON null (None), or absent (UNSET).
Opt: TypeAlias = Union[T, UnsetType, None]  # noqa: UP007 - a generic alias needs Union


def given(value: T | UnsetType | None) -> TypeGuard[T]:
    """True when an optional field holds a value (neither absent nor null)."""
    return value is not None and value is not UNSET


def or_default(value: T | UnsetType | None, default: T) -> T:
    """The field's value, or ``default`` when it is absent or null."""
    if value is None or value is UNSET:
        return default
    return value


_NO_DEFAULT: Any = object()


@attrs.frozen(kw_only=True)
class PropInfo:
    """Schema facts about one model field, read by the converter and the CRD generator."""

    json_name: str | None = None
    description: str = ""
    required: bool = False
    default: Any = _NO_DEFAULT
    enum: tuple[Any, ...] = ()
    items_enum: tuple[Any, ...] = ()
    format: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    min_items: int | None = None
    max_items: int | None = None
    list_type: str | None = None
    list_map_keys: tuple[str, ...] = ()

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


_META_KEY = "gravitee.prop"


def prop(
    *,
    json: str | None = None,
    doc: str = "",
    required: bool = False,
    default: Any = _NO_DEFAULT,
    enum: Sequence[Any] = (),
    items_enum: Sequence[Any] = (),
    format: str | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    min_items: int | None = None,
    max_items: int | None = None,
    list_type: str | None = None,
    list_map_keys: Sequence[str] = (),
    secret: bool = False,
) -> Any:
    """Declare a model field and its schema facts.

    ``json`` overrides the JSON name (default: the attribute name in camelCase). ``default`` is the
    API-server default written into the CRD, never applied by the model. A ``required`` field with
    no ``default`` is mandatory in Python too (the API server guarantees it); every other field
    defaults to ``UNSET``. ``secret`` hides the value from ``repr``.
    """
    info = PropInfo(
        json_name=json,
        description=doc,
        required=required,
        default=default,
        enum=tuple(enum),
        items_enum=tuple(items_enum),
        format=format,
        minimum=minimum,
        maximum=maximum,
        min_length=min_length,
        max_length=max_length,
        pattern=pattern,
        min_items=min_items,
        max_items=max_items,
        list_type=list_type,
        list_map_keys=tuple(list_map_keys),
    )
    metadata = {_META_KEY: info}
    if required and not info.has_default:
        return attrs.field(metadata=metadata, repr=not secret)
    return attrs.field(default=UNSET, metadata=metadata, repr=not secret)


def prop_info(field: attrs.Attribute[Any]) -> PropInfo:
    """The schema facts of a model field (fields declared without ``prop`` get empty facts)."""
    info = field.metadata.get(_META_KEY)
    return info if isinstance(info, PropInfo) else PropInfo()


def json_name(field: attrs.Attribute[Any]) -> str:
    """The JSON key of a model field: explicit, else the attribute name in camelCase."""
    explicit = prop_info(field).json_name
    if explicit is not None:
        return explicit
    head, *rest = field.name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)

"""Decoding of the Kubernetes protobuf envelope for the built-in kinds kubectl creates with
protobuf bodies (``kubectl create namespace|configmap|secret|serviceaccount``).

Owns the wire-format reading (``k8s\\0`` magic, ``runtime.Unknown``, and the field numbers of
ObjectMeta, ConfigMap, Secret, Namespace and ServiceAccount). Responses stay JSON: clients
accept either. Must never be used for custom resources (they are JSON-only on real servers).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from sim.kubeapi.errors import ApiError

JsonObj = dict[str, Any]
MAGIC = b"k8s\x00"
Fields = dict[int, list[Any]]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> Fields:
    """Field number -> values (ints for varints, bytes for length-delimited)."""
    fields: Fields = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value = data[pos : pos + length]
            pos += length
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _text(fields: Fields, number: int) -> str | None:
    values = fields.get(number)
    return bytes(values[-1]).decode() if values else None


def _texts(fields: Fields, number: int) -> list[str]:
    return [bytes(v).decode() for v in fields.get(number, [])]


def _map(fields: Fields, number: int, *, binary: bool = False) -> dict[str, str] | None:
    entries = fields.get(number)
    if not entries:
        return None
    result: dict[str, str] = {}
    for entry in entries:
        inner = _fields(bytes(entry))
        key = _text(inner, 1) or ""
        raw = bytes(inner.get(2, [b""])[-1])
        result[key] = base64.b64encode(raw).decode() if binary else raw.decode()
    return result


def _bool(fields: Fields, number: int) -> bool | None:
    values = fields.get(number)
    return bool(values[-1]) if values else None


def _put(target: JsonObj, key: str, value: Any) -> None:
    if value not in (None, "", [], {}):
        target[key] = value


def _owner_reference(data: bytes) -> JsonObj:
    f = _fields(data)
    ref: JsonObj = {}
    for key, number in (("apiVersion", 5), ("kind", 1), ("name", 3), ("uid", 4)):
        _put(ref, key, _text(f, number))
    for key, number in (("controller", 6), ("blockOwnerDeletion", 7)):
        _put(ref, key, _bool(f, number))
    return ref


def _metadata(data: bytes) -> JsonObj:
    f = _fields(data)
    meta: JsonObj = {}
    for key, number in (
        ("name", 1),
        ("generateName", 2),
        ("namespace", 3),
        ("uid", 5),
        ("resourceVersion", 6),
    ):
        _put(meta, key, _text(f, number))
    _put(meta, "labels", _map(f, 11))
    _put(meta, "annotations", _map(f, 12))
    _put(meta, "ownerReferences", [_owner_reference(bytes(v)) for v in f.get(13, [])])
    _put(meta, "finalizers", _texts(f, 14))
    return meta


def _config_map(f: Fields) -> JsonObj:
    obj: JsonObj = {}
    _put(obj, "data", _map(f, 2))
    _put(obj, "binaryData", _map(f, 3, binary=True))
    _put(obj, "immutable", _bool(f, 4))
    return obj


def _secret(f: Fields) -> JsonObj:
    obj: JsonObj = {}
    _put(obj, "data", _map(f, 2, binary=True))
    _put(obj, "type", _text(f, 3))
    _put(obj, "stringData", _map(f, 4))
    _put(obj, "immutable", _bool(f, 5))
    return obj


def _namespace(f: Fields) -> JsonObj:
    obj: JsonObj = {}
    if f.get(2):
        _put(obj, "spec", {"finalizers": _texts(_fields(bytes(f[2][-1])), 1)})
    return obj


def _service_account(f: Fields) -> JsonObj:
    obj: JsonObj = {}
    secrets = []
    for raw in f.get(2, []):
        ref = _fields(bytes(raw))
        entry: JsonObj = {}
        for key, number in (("kind", 1), ("namespace", 2), ("name", 3), ("apiVersion", 5)):
            _put(entry, key, _text(ref, number))
        secrets.append(entry)
    _put(obj, "secrets", secrets)
    pulls = [{"name": _text(_fields(bytes(raw)), 1) or ""} for raw in f.get(3, [])]
    _put(obj, "imagePullSecrets", pulls)
    _put(obj, "automountServiceAccountToken", _bool(f, 4))
    return obj


_KINDS: dict[str, Callable[[Fields], JsonObj]] = {
    "ConfigMap": _config_map,
    "Secret": _secret,
    "Namespace": _namespace,
    "ServiceAccount": _service_account,
}


def decode(body: bytes) -> JsonObj:
    """A JSON-shaped object from a protobuf request body, or 415 for kinds not covered."""
    if not body.startswith(MAGIC):
        raise ApiError(415, "UnsupportedMediaType", "protobuf body without the k8s envelope")
    try:
        unknown = _fields(body[len(MAGIC) :])
        type_meta = _fields(bytes(unknown.get(1, [b""])[-1]))
        api_version = _text(type_meta, 1) or ""
        kind = _text(type_meta, 2) or ""
        decoder = _KINDS.get(kind)
        if decoder is None:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the emulator decodes protobuf only for {sorted(_KINDS)}, not {kind!r}; "
                f"send application/json",
            )
        fields = _fields(bytes(unknown.get(2, [b""])[-1]))
        obj: JsonObj = {"apiVersion": api_version, "kind": kind}
        obj["metadata"] = _metadata(bytes(fields[1][-1])) if fields.get(1) else {}
        obj.update(decoder(fields))
        return obj
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "BadRequest", "the protobuf body could not be decoded") from exc

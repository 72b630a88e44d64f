"""``metadata.managedFields``: which field manager set which fields, recorded on every write as
kube-apiserver does, so clients see objects of a realistic size and shape.

Owns the manager name (the ``fieldManager`` parameter, else the User-Agent up to its first
``/``), the entry of each write (``manager``, ``operation`` ``Update`` or ``Apply``,
``apiVersion``, ``time``, ``fieldsType: FieldsV1``, ``fieldsV1``, ``subresource``) and the
hand-over of fields between managers. Must never decide whether a write is allowed.

An approximation of the real field tracking, close enough for sizes and for clients that only
read the entries: the fields of a write are the leaves whose value changed (all of them on
create; the whole applied document for ``Apply``); lists are atomic except lists of objects
that all carry ``uid``, ``name`` or ``type``, which are keyed (``k:{...}``); a nested map below
the top-level fields carries the ``.`` marker. Real servers also know the schema's list types
and report apply conflicts; this module does neither.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

JsonObj = dict[str, Any]
Path = tuple[str, ...]

UPDATE: Final = "Update"
APPLY: Final = "Apply"
_MAX_MANAGER: Final = 128
_UNTRACKED_METADATA: Final = frozenset({
    "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink",
})
_LIST_KEYS: Final = ("uid", "name", "type")
_MAP_MARKER: Final = "."
_PRESENT: Final = object()


def manager_from_user_agent(user_agent: str | None) -> str:
    """The manager of a write that names none: the User-Agent's product (before ``/``)."""
    return (user_agent or "").split("/", 1)[0][:_MAX_MANAGER]


def _list_key(items: list[Any]) -> str | None:
    for key in _LIST_KEYS:
        if items and all(isinstance(i, dict) and key in i for i in items):
            return key
    return None


def _leaves(value: Any, prefix: Path, depth: int) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict):
        if depth > 1 and value:
            yield (*prefix, _MAP_MARKER), _PRESENT
        for key, member in value.items():
            yield from _leaves(member, (*prefix, f"f:{key}"), depth + 1)
        return
    if isinstance(value, list):
        key = _list_key(value)
        if key is not None:
            for item in value:
                token = "k:" + json.dumps({key: item[key]}, separators=(",", ":"))
                yield (*prefix, token, _MAP_MARKER), _PRESENT
                for field, member in item.items():
                    yield from _leaves(member, (*prefix, token, f"f:{field}"), depth + 2)
            return
    yield prefix, value


def _tracked(obj: Mapping[str, Any], subresource: str | None, has_status: bool) -> JsonObj:
    """The part of ``obj`` a write of ``subresource`` may own."""
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    tracked = {k: v for k, v in obj.items()
               if k not in ("apiVersion", "kind") and not (has_status and k == "status")}
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        tracked["metadata"] = {k: v for k, v in metadata.items() if k not in _UNTRACKED_METADATA}
        if not tracked["metadata"]:
            del tracked["metadata"]
    return tracked


def flatten(obj: Mapping[str, Any]) -> dict[Path, Any]:
    return dict(_leaves(dict(obj), (), 0))


def to_fields_v1(paths: Iterator[Path] | set[Path]) -> JsonObj:
    root: JsonObj = {}
    for path in sorted(paths):
        node = root
        for token in path:
            node = node.setdefault(token, {})
    return root


def from_fields_v1(fields: Mapping[str, Any], prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for token, children in fields.items():
        path = (*prefix, token)
        if isinstance(children, Mapping) and children:
            paths |= from_fields_v1(children, path)
        else:
            paths.add(path)
    return paths


def record(
    old: Mapping[str, Any] | None,
    new: JsonObj,
    *,
    manager: str,
    operation: str,
    time: str,
    subresource: str | None = None,
    has_status: bool = False,
    applied: Mapping[str, Any] | None = None,
) -> None:
    """Set ``new``'s ``metadata.managedFields`` after a write by ``manager``.

    ``old`` is the stored object (None on create); ``applied`` the document of an apply patch.
    A write that changes no tracked field leaves the entries as they were (no-op writes stay
    no-ops)."""
    before = flatten(_tracked(old, subresource, has_status)) if old is not None else {}
    after = flatten(_tracked(new, subresource, has_status))
    changed = {path for path in before.keys() | after.keys()
               if path not in before or path not in after or before[path] != after[path]}
    metadata = new["metadata"]
    entries = [dict(e) for e in (old or {}).get("metadata", {}).get("managedFields") or []
               if isinstance(e, Mapping)]
    if old is None and isinstance(metadata.get("managedFields"), list):
        # A create may carry entries (e.g. a restored backup): they are kept as given.
        entries = [dict(e) for e in metadata["managedFields"] if isinstance(e, Mapping)]
    if applied is not None:
        owned = set(flatten(_tracked(applied, subresource, has_status))) & after.keys()
    else:
        owned = changed & after.keys()
    if not changed and old is not None:
        metadata["managedFields"] = old["metadata"].get("managedFields") or []
        if not metadata["managedFields"]:
            metadata.pop("managedFields", None)
        return
    taken = owned | (changed - after.keys())
    kept: list[JsonObj] = []
    mine: set[Path] = set()
    for entry in entries:
        paths = from_fields_v1(entry.get("fieldsV1") or {})
        same = (entry.get("manager"), entry.get("operation"), entry.get("subresource")) == (
            manager, operation, subresource)
        if same:
            mine = paths & after.keys()
            continue
        paths -= taken
        if paths:
            entry["fieldsV1"] = to_fields_v1(paths)
            kept.append(entry)
    if operation == APPLY:
        mine = owned
    else:
        mine |= owned
    if mine:
        entry = {"manager": manager, "operation": operation, "apiVersion": new.get("apiVersion"),
                 "time": time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(mine)}
        if subresource:
            entry["subresource"] = subresource
        kept.append(entry)
    if kept:
        metadata["managedFields"] = kept
    else:
        metadata.pop("managedFields", None)

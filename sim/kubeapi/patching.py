"""Patch formats: JSON merge patch, JSON patch, strategic merge (approximated) and the
field-set bookkeeping of server-side apply.

Owns how a patch document turns an old object into a new one. Must never store anything
or decide API semantics (who may change ``status``, resourceVersion checks): callers do.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from sim.kubeapi.errors import ApiError, bad_request

JsonObj = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"
_REJECTED = "the server rejected our request due to an error in our request"


_SCALARS = frozenset((str, int, float, bool, type(None)))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces.

    The result shares what the patch leaves alone with ``target`` and holds copies of what
    the patch sets (scalars are immutable and not copied)."""
    if not isinstance(patch, dict):
        return patch if type(patch) in _SCALARS else copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: JsonObj, operations: Any) -> JsonObj:
    """RFC 6902 via ``jsonpatch``; a failing ``test`` is 422 Invalid like kube-apiserver."""
    if not isinstance(operations, list):
        raise bad_request("json patch must be a list of operations")
    try:
        result = jsonpatch.apply_patch(target, operations, in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise ApiError(422, "Invalid", f"{_REJECTED}: testing value failed: {exc}") from exc
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise ApiError(422, "Invalid", f"{_REJECTED}: {exc}") from exc
    except (TypeError, KeyError, IndexError, ValueError) as exc:
        raise bad_request(f"invalid json patch: {exc}") from exc
    if not isinstance(result, dict):
        raise bad_request("json patch result is not an object")
    return result


_DIRECTIVE_PREFIXES = ("$setElementOrder/", "$deleteFromPrimitiveList/", "$retainKeys")
# Lists of built-in kinds that strategic merge merges by key instead of replacing.
_MERGE_KEYS = {"ownerReferences": "uid", "secrets": "name", "imagePullSecrets": "name"}


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge for the built-in kinds the emulator serves.

    Those kinds are maps of scalars plus a few keyed lists, so a merge patch that understands
    the ``$patch`` and ordering directives kubectl emits is a faithful approximation.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key == "$patch" or key.startswith(_DIRECTIVE_PREFIXES):
            if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
                field = key.split("/", 1)[1]
                current = result.get(field)
                if isinstance(current, list):
                    result[field] = [v for v in current if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif key in _MERGE_KEYS and isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_keyed_list(result[key], value, _MERGE_KEYS[key])
        else:
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    return result


def _merge_keyed_list(current: list[Any], patch: list[Any], merge_key: str) -> list[Any]:
    merged = [copy.deepcopy(item) for item in current]
    for item in patch:
        if not isinstance(item, dict):
            continue
        index = next(
            (
                i
                for i, old in enumerate(merged)
                if isinstance(old, dict) and old.get(merge_key) == item.get(merge_key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(copy.deepcopy(item))
        else:
            merged[index] = strategic_merge_patch(merged[index], item)
    return merged


def apply_patch(live: JsonObj | None, applied: JsonObj, previous: JsonObj | None) -> JsonObj:
    """Server-side apply for one field manager, without managedFields tracking.

    Fields this manager applied before and no longer applies are removed; the applied
    configuration is merged over the live object (maps merge, lists and scalars replace).
    """
    result: JsonObj = copy.deepcopy(live) if live is not None else {}
    if previous is not None:
        _remove_dropped(result, previous, applied)
    return _deep_merge(result, applied)


def _remove_dropped(
    live: JsonObj, previous: JsonObj, applied: JsonObj, *, top: bool = True
) -> None:
    """Drop what ``previous`` set and ``applied`` no longer sets. Maps are owned leaf by leaf,
    so keys other managers added to the same map survive."""
    for key, old_value in previous.items():
        if top and key in ("apiVersion", "kind"):
            continue
        current = live.get(key)
        new_value = applied.get(key)
        if isinstance(old_value, dict) and isinstance(current, dict):
            _remove_dropped(
                current, old_value, new_value if isinstance(new_value, dict) else {}, top=False
            )
            if key not in applied and not current:
                live.pop(key, None)
        elif key not in applied:
            live.pop(key, None)


def _deep_merge(base: JsonObj, overlay: JsonObj) -> JsonObj:
    for key, value in overlay.items():
        current = base.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            base[key] = _deep_merge(current, value)
        elif value is None:
            base.pop(key, None)
        else:
            base[key] = copy.deepcopy(value)
    return base

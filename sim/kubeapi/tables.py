"""``meta.k8s.io/v1`` Table responses for ``kubectl get``: printer columns evaluated with a
small JSONPath subset, ages rendered the way kube-apiserver renders them.

Owns column evaluation and Table assembly. Must never read storage: callers pass objects.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from typing import Any

from sim.kubeapi.resources import PrinterColumn, ResourceType

JsonObj = dict[str, Any]

_SEGMENT = re.compile(
    r"\.(?P<field>[A-Za-z0-9_\-$]+)"
    r"|\[(?P<index>-?\d+|\*)\]"
    r"|\[\?\(@\.(?P<filter_field>[A-Za-z0-9_.\-]+)\s*==\s*(?P<quote>[\"'])(?P<filter_value>.*?)(?P=quote)\)\]"
)


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Values selected by a kubectl-style JSONPath (fields, indexes, ``[*]``, ``==`` filters)."""
    expression = path.strip()
    if expression.startswith("{") and expression.endswith("}"):
        expression = expression[1:-1]
    if expression.startswith("$"):
        expression = expression[1:]
    current: list[Any] = [obj]
    pos = 0
    while pos < len(expression):
        match = _SEGMENT.match(expression, pos)
        if match is None:
            return []
        pos = match.end()
        nxt: list[Any] = []
        for value in current:
            if match.group("field") is not None:
                if isinstance(value, dict) and match.group("field") in value:
                    nxt.append(value[match.group("field")])
            elif match.group("index") is not None:
                if not isinstance(value, list):
                    continue
                if match.group("index") == "*":
                    nxt.extend(value)
                else:
                    index = int(match.group("index"))
                    if -len(value) <= index < len(value):
                        nxt.append(value[index])
            else:
                if isinstance(value, list):
                    wanted = match.group("filter_value")
                    for item in value:
                        found = jsonpath(item, "." + match.group("filter_field"))
                        if found and str(found[0]) == wanted:
                            nxt.append(item)
        current = nxt
    return current


def human_duration(seconds: float) -> str:
    """Elapsed time the way ``kubectl get`` shows an age (``45s``, ``3m20s``, ``5h``, ``2d``)."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _parse_time(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _cell(obj: JsonObj, column: PrinterColumn, now: datetime.datetime) -> Any:
    path = column.json_path
    if path.startswith("len("):
        total = 0
        for part in path.split("+"):
            found = jsonpath(obj, part.strip()[4:-1])
            total += len(found[0]) if found and isinstance(found[0], dict | list) else 0
        return total
    if path.startswith("object("):
        found = jsonpath(obj, path[7:-1])
        ref = found[0] if found and isinstance(found[0], dict) else {}
        return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"
    values = jsonpath(obj, path)
    if not values:
        return "<unknown>" if column.type == "date" else None
    if column.type == "date":
        moment = _parse_time(values[0])
        return human_duration((now - moment).total_seconds()) if moment else "<unknown>"
    if len(values) == 1:
        value = values[0]
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":"))
        return value
    return ",".join(v if isinstance(v, str) else json.dumps(v) for v in values)


def column_definitions(rt: ResourceType) -> list[JsonObj]:
    name_column = {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": "Name must be unique within a namespace.",
        "priority": 0,
    }
    columns = [name_column] if rt.plural != "events" or rt.group else []
    for column in rt.printer_columns:
        columns.append(
            {
                "name": column.name,
                "type": column.type,
                "format": column.format,
                "description": column.description,
                "priority": column.priority,
            }
        )
    return columns


def row(rt: ResourceType, obj: JsonObj, *, include_object: str, now: datetime.datetime) -> JsonObj:
    cells: list[Any] = [] if rt.plural == "events" and not rt.group else [obj["metadata"]["name"]]
    cells.extend(_cell(obj, column, now) for column in rt.printer_columns)
    result: JsonObj = {"cells": cells}
    if include_object == "Object":
        result["object"] = obj
    elif include_object != "None":
        result["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }
    return result


def table(
    rt: ResourceType,
    objects: list[JsonObj],
    *,
    resource_version: str,
    continue_token: str = "",
    include_object: str = "Metadata",
    clock: Callable[[], datetime.datetime],
    with_columns: bool = True,
) -> JsonObj:
    now = clock()
    metadata: JsonObj = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    result: JsonObj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}
    if with_columns:
        result["columnDefinitions"] = column_definitions(rt)
    result["rows"] = [row(rt, obj, include_object=include_object, now=now) for obj in objects]
    return result

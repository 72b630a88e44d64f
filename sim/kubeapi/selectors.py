"""Label and field selectors: parsing the query-string syntax and matching objects.

Owns the selector grammar kube-apiserver accepts (``=``, ``==``, ``!=``, ``in``, ``notin``,
existence and ``!`` for labels; ``=``, ``==``, ``!=`` on dotted paths for fields). Must never
touch storage or the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sim.kubeapi.errors import bad_request

JsonObj = dict[str, Any]
Matcher = Callable[[JsonObj], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def _split_top_level(expr: str) -> list[str]:
    """Split on commas that are not inside ``( ... )`` value sets."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _label_requirement(term: str) -> Callable[[dict[str, str]], bool]:
    for op in ("!=", "==", "="):
        if op in term and "(" not in term:
            key, value = (s.strip() for s in term.split(op, 1))
            if not key:
                raise bad_request(f"unable to parse requirement: {term!r}")
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    match = _SET_RE.match(term)
    if not match:
        raise bad_request(f"unable to parse requirement: {term!r}")
    negate, key, set_op, values_text = match.groups()
    if set_op:
        values = {v.strip() for v in (values_text or "").split(",") if v.strip()}
        if set_op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if negate:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def parse_label_selector(expr: str | None) -> Matcher | None:
    """A predicate on objects, or ``None`` when the selector selects everything."""
    if not expr or not expr.strip():
        return None
    requirements = [_label_requirement(t) for t in _split_top_level(expr)]

    def matches(obj: JsonObj) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(req(labels) for req in requirements)

    return matches


def field_value(obj: JsonObj, path: str) -> str | None:
    """The string form of a dotted field path, as field selectors compare it."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    if current is None or isinstance(current, dict | list):
        return None
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def parse_field_selector(expr: str | None) -> Matcher | None:
    if not expr or not expr.strip():
        return None
    checks: list[tuple[str, bool, str]] = []
    for term in _split_top_level(expr):
        for op in ("!=", "==", "="):
            if op in term:
                path, value = (s.strip() for s in term.split(op, 1))
                checks.append((path, op == "!=", value))
                break
        else:
            raise bad_request(f"invalid selector: {expr!r}; can't understand {term!r}")

    def matches(obj: JsonObj) -> bool:
        for path, negated, value in checks:
            actual = field_value(obj, path)
            # An absent namespace reads as "" as on a real server (cluster-scoped objects).
            if actual is None and path == "metadata.namespace":
                actual = ""
            if (actual == value) == negated:
                return False
        return True

    return matches


def combine(*matchers: Matcher | None) -> Matcher | None:
    active = [m for m in matchers if m is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(m(obj) for m in active)

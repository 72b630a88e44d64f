"""Decoding of the built-in kinds' ``MicroTime`` fields, as kube-apiserver's JSON decoder does.

Owns which fields are ``metav1.MicroTime`` (Lease ``spec.acquireTime``/``spec.renewTime``, Event
``eventTime``/``series.lastObservedTime`` in both event APIs), the one format they accept
(RFC 3339 with exactly six fractional digits: Go's ``2006-01-02T15:04:05.000000Z07:00``) and the
normalisation to UTC the server's round trip applies. A value in any other form (no fraction,
three digits, a bare ``+00:00`` as Python's ``isoformat`` writes) is a 400 on a real server, so
it is one here too. Must never touch custom resources: their date-times are schema strings.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

MICRO_LAYOUT = "2006-01-02T15:04:05.000000Z07:00"

# (group, plural) -> dotted paths of MicroTime fields.
FIELDS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("coordination.k8s.io", "leases"): (("spec", "acquireTime"), ("spec", "renewTime")),
    ("", "events"): (("eventTime",), ("series", "lastObservedTime")),
    ("events.k8s.io", "events"): (("eventTime",), ("series", "lastObservedTime")),
}

_HEAD = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_FRACTION = re.compile(r"\.(\d*)")
_ZONE = re.compile(r"^(Z|[+-]\d{2}:\d{2})$")


class MicroTimeError(ValueError):
    """A MicroTime value the server cannot parse; the message is the decoder's."""


def _parse(value: str) -> str:
    """The UTC form the server stores, or :class:`MicroTimeError` worded like Go's parser."""
    prefix = f'parsing time "{value}" as "{MICRO_LAYOUT}": '
    head = _HEAD.match(value)
    if head is None:
        raise MicroTimeError(prefix + f'cannot parse "{value}" as "2006"')
    rest = value[head.end():]
    fraction = _FRACTION.match(rest)
    if fraction is None or len(fraction.group(1)) < 6:
        raise MicroTimeError(prefix + f'cannot parse "{rest}" as ".000000"')
    zone = rest[1 + 6:]
    if _ZONE.match(zone) is None:
        raise MicroTimeError(prefix + f'cannot parse "{zone}" as "Z07:00"')
    try:
        parsed = datetime.datetime.fromisoformat(value[: head.end()] + rest[:7] + (
            "+00:00" if zone == "Z" else zone))
    except ValueError as exc:
        raise MicroTimeError(prefix + str(exc)) from None
    return parsed.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise(group: str, plural: str, obj: dict[str, Any]) -> None:
    """Rewrite the object's MicroTime fields in the server's UTC form, in place; raises
    :class:`MicroTimeError` for the first value a real server would refuse to decode."""
    for path in FIELDS.get((group, plural), ()):
        parent: Any = obj
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        value = parent.get(path[-1])
        if value is None:
            continue
        if not isinstance(value, str):
            raise MicroTimeError(f"parsing time {value!r}: not a string")
        parent[path[-1]] = _parse(value)

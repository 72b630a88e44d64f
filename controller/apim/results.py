"""Small typed views of APIM responses shared by the resource modules.

This module owns the lenient reading of response bodies: APIM omits nulls, so every field is
optional here and a missing one becomes an empty value rather than an exception. Reconcilers get
attrs objects for the fields they copy into status; the raw body stays available for anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class ImportErrors:
    """``errors`` of an import or dry-run: severe ones block, warnings are informational."""

    severe: tuple[str, ...] = ()
    warning: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, value: Any) -> ImportErrors:
        if not isinstance(value, Mapping):
            return cls()
        return cls(severe=_strings(value.get("severe")), warning=_strings(value.get("warning")))

    def __bool__(self) -> bool:
        return bool(self.severe or self.warning)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(item) for item in value)


def as_object(body: Any) -> dict[str, Any]:
    """The body if it is a JSON object, else an empty dict."""
    return dict(body) if isinstance(body, Mapping) else {}


def text_field(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


def int_field(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0

"""JSON on the hot paths (watch events, API responses, spec copies), with orjson.

Every watch event and every Kubernetes response the operator receives is decoded, and every spec
it reconciles is copied before it is changed: with the standard library that is a large share of
the operator's CPU. orjson decodes about 3x and copies about 4x faster (measured on a defaulted
ApiV4Definition). Where orjson refuses input the standard library accepts (a lone surrogate in a
string, an integer beyond 64 bits to encode), the standard library takes over, so nothing that
worked before fails now. One difference is left on purpose: an integer beyond 64 bits decodes as
a float, which is also what kube-apiserver stores for one.

Not for text whose exact bytes matter (spec hashes, ConfigMap contents): those keep the
standard library's output.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(data: bytes | str) -> Any:
    """Decode a JSON document."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:
        # ASCII escapes also carry what UTF-8 cannot (lone surrogates).
        return json.dumps(value, separators=(",", ":")).encode()


def copy(value: Any) -> Any:
    """A deep copy of JSON data (much cheaper than ``copy.deepcopy`` for it)."""
    return loads(dumps(value))

"""controller.jsonfast: orjson speed without losing what the standard library accepted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from controller import jsonfast


def test_round_trips_ordinary_documents_like_the_standard_library():
    doc = {"a": [1, 2.5, True, None, "é"], "b": {"c": -0.0, "d": 2**63 - 1}}
    assert jsonfast.loads(json.dumps(doc)) == doc
    assert jsonfast.loads(json.dumps(doc).encode()) == doc
    assert json.loads(jsonfast.dumps(doc)) == doc


def test_a_lone_surrogate_still_decodes_and_copies():
    text = '{"name": "\\ud800x"}'
    assert jsonfast.loads(text) == json.loads(text)
    assert jsonfast.copy(json.loads(text)) == {"name": "\ud800x"}


def test_integers_beyond_64_bits_still_encode():
    value = {"big": 2**70}
    assert json.loads(jsonfast.dumps(value)) == value


def test_copy_is_deep_and_equal():
    original: dict[str, Any] = {"spec": {"plans": [{"name": "p", "flows": [{"x": 1}]}]}}
    copied = jsonfast.copy(original)
    assert copied == original
    copied["spec"]["plans"][0]["flows"][0]["x"] = 2
    assert original["spec"]["plans"][0]["flows"][0]["x"] == 1


def test_invalid_json_raises_a_value_error():
    with pytest.raises(ValueError):
        jsonfast.loads(b"{nope")

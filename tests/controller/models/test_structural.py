"""Rules kube-apiserver enforces on CRD schemas (structural schemas, defaults, list maps), checked
here because the emulator accepts any CRD."""

import subprocess
import sys
from pathlib import Path

import pytest

from controller.models.crdgen import build_crd
from controller.models.defaulting import prune
from controller.models.kinds import KINDS

REPO = Path(__file__).resolve().parents[3]
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
    "array": list,
    "object": dict,
}


def nodes(schema, path=""):
    yield path, schema
    for key, sub in schema.get("properties", {}).items():
        yield from nodes(sub, f"{path}.{key}")
    if isinstance(schema.get("items"), dict):
        yield from nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}{{}}")


def value_fits(value, schema):
    expected = JSON_TYPES[schema["type"]]
    if schema["type"] in ("integer", "number") and isinstance(value, bool):
        return False
    if not isinstance(value, expected):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value and "default" not in schema["properties"][key]:
                return False
        return all(
            value_fits(v, schema["properties"][k])
            for k, v in value.items()
            if k in schema.get("properties", {})
        )
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return all(value_fits(v, schema["items"]) for v in value)
    return True


@pytest.mark.parametrize("info", KINDS, ids=lambda info: info.kind)
def test_schema_is_structural_and_defaults_are_valid(info):
    root = build_crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert root["properties"]["metadata"] == {"type": "object"}
    for path, node in nodes(root):
        where = f"{info.kind}{path}"
        assert "type" in node, where
        assert not ("properties" in node and "additionalProperties" in node), where
        assert node.get("x-kubernetes-preserve-unknown-fields", True) is True, where
        for key in node.get("required", []):
            assert key in node.get("properties", {}), f"{where}: required {key} is not declared"
        if "enum" in node:
            assert all(isinstance(v, JSON_TYPES[node["type"]]) for v in node["enum"]), where
        if "default" in node:
            default = node["default"]
            assert value_fits(default, node), f"{where}: default {default!r} does not validate"
            assert prune(default, node, root=False) == default, f"{where}: default gets pruned"
        if node.get("x-kubernetes-list-type") == "map":
            items = node["items"]
            assert items["type"] == "object", where
            for key in node["x-kubernetes-list-map-keys"]:
                sub = items["properties"][key]
                assert sub["type"] in ("string", "integer", "boolean"), where
                assert key in items.get("required", []) or "default" in sub, where


def test_module_entry_point_checks_the_committed_files():
    result = subprocess.run(
        [sys.executable, "-m", "controller.models.crdgen", "--check", "manifests/crds"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr

"""Walks an upstream CRD and ours side by side and lists every incompatibility.

Ours may accept more (extra properties, looser bounds), never less, and must default the same way.
"""

from typing import Any

_COMPARED_KEYWORDS = (
    "type",
    "enum",
    "default",
    "format",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-int-or-string",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)


def _has_default(schema: dict[str, Any]) -> bool:
    if "default" in schema:
        return True
    children = list(schema.get("properties", {}).values())
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            children.append(schema[key])
    return any(_has_default(child) for child in children)


def schema_differences(upstream: dict[str, Any], ours: dict[str, Any], path: str = "") -> list[str]:
    out: list[str] = []
    for key in _COMPARED_KEYWORDS:
        if upstream.get(key) != ours.get(key):
            out.append(
                f"{path or '.'}: {key} upstream={upstream.get(key)!r} ours={ours.get(key)!r}"
            )
    up_required = set(upstream.get("required", []))
    our_required = set(ours.get("required", []))
    if up_required != our_required:
        out.append(
            f"{path or '.'}: required upstream={sorted(up_required)} ours={sorted(our_required)}"
        )
    up_props = upstream.get("properties", {})
    our_props = ours.get("properties", {})
    for name, sub in our_props.items():
        if name not in up_props and _has_default(sub):
            out.append(
                f"{path}.{name}: only in ours but carries a default (changes stored objects)"
            )
    for name, sub in up_props.items():
        if name not in our_props:
            out.append(f"{path}.{name}: missing in ours")
            continue
        out.extend(schema_differences(sub, our_props[name], f"{path}.{name}"))
    if "items" in upstream:
        if "items" not in ours:
            out.append(f"{path}[]: items missing in ours")
        else:
            out.extend(schema_differences(upstream["items"], ours["items"], f"{path}[]"))
    up_additional = upstream.get("additionalProperties")
    if isinstance(up_additional, dict):
        our_additional = ours.get("additionalProperties")
        if not isinstance(our_additional, dict):
            out.append(f"{path}{{}}: additionalProperties missing in ours")
        else:
            out.extend(schema_differences(up_additional, our_additional, f"{path}{{}}"))
    return out


def _version(crd: dict[str, Any]) -> dict[str, Any]:
    versions = crd["spec"]["versions"]
    assert len(versions) == 1
    version: dict[str, Any] = versions[0]
    return version


def _columns(crd: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (c["name"], c["jsonPath"], c.get("type", ""))
        for c in _version(crd).get("additionalPrinterColumns", [])
    ]


def crd_differences(upstream: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if upstream["metadata"]["name"] != ours["metadata"]["name"]:
        out.append(f"name: {upstream['metadata']['name']} != {ours['metadata']['name']}")
    for key in ("group", "scope"):
        if upstream["spec"][key] != ours["spec"][key]:
            out.append(f"spec.{key}: {upstream['spec'][key]!r} != {ours['spec'][key]!r}")
    up_names, our_names = upstream["spec"]["names"], ours["spec"]["names"]
    for key in ("kind", "listKind", "plural", "singular", "shortNames", "categories"):
        if up_names.get(key) != our_names.get(key):
            out.append(f"names.{key}: {up_names.get(key)!r} != {our_names.get(key)!r}")
    up_version, our_version = _version(upstream), _version(ours)
    for key in ("name", "served", "storage", "subresources"):
        if up_version.get(key) != our_version.get(key):
            out.append(f"version.{key}: {up_version.get(key)!r} != {our_version.get(key)!r}")
    # Upstream's columns come first, unchanged; ours (the outcome and the age) may follow.
    if _columns(ours)[: len(_columns(upstream))] != _columns(upstream):
        out.append(f"printer columns: {_columns(upstream)} != {_columns(ours)}")
    out.extend(
        schema_differences(
            up_version["schema"]["openAPIV3Schema"], our_version["schema"]["openAPIV3Schema"]
        )
    )
    return out

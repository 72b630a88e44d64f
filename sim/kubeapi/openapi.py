"""OpenAPI documents, enough for kubectl.

kubectl fetches ``/openapi/v2`` as protobuf before ``apply`` to validate objects client-side;
a document without definitions makes it skip client validation (kinds it cannot find are not
checked) and rely on the server, which validates custom resources against their CRD schema.
``/openapi/v3`` answers with an index listing each group-version and a per-group-version
document carrying the CRD schemas, for clients that read them.

Owns the documents only. Must never affect how the emulator validates objects
(:mod:`sim.kubeapi.schema` does that).
"""

from __future__ import annotations

from typing import Any

from sim.kubeapi.resources import Registry, ResourceType

JsonObj = dict[str, Any]

PROTOBUF_V2 = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
_TITLE = "Kubernetes"
_VERSION = "v1.32.0"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def v2_protobuf() -> bytes:
    """A gnostic ``openapi_v2.Document`` with ``swagger`` (1) and ``info`` (2: title 1,
    version 2), hand-encoded: the only two fields kubectl needs to accept the document."""
    info = _length_delimited(1, _TITLE.encode()) + _length_delimited(2, _VERSION.encode())
    return _length_delimited(1, b"2.0") + _length_delimited(2, info)


def v2_document(registry: Registry) -> JsonObj:
    del registry
    return {
        "swagger": "2.0",
        "info": {"title": _TITLE, "version": _VERSION},
        "paths": {},
        "definitions": {},
    }


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def v3_index(registry: Registry) -> JsonObj:
    paths: JsonObj = {}
    for group, versions in registry.groups().items():
        for version in versions:
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}"}
    return {"paths": paths}


def _resource_path(rt: ResourceType) -> str:
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    if rt.namespaced:
        return f"{prefix}/namespaces/{{namespace}}/{rt.plural}/{{name}}"
    return f"{prefix}/{rt.plural}/{{name}}"


def _operations(rt: ResourceType, ref: str) -> JsonObj:
    """GET and PATCH of one object: kubectl finds a resource's kind from the GET operation's
    ``x-kubernetes-group-version-kind`` and learns server-side field validation from PATCH."""
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    response = {"200": {"content": {"application/json": {"schema": {"$ref": ref}}}}}
    field_validation = {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
    return {
        "get": {
            "x-kubernetes-group-version-kind": gvk,
            "x-kubernetes-action": "get",
            "responses": response,
        },
        "patch": {
            "x-kubernetes-group-version-kind": gvk,
            "x-kubernetes-action": "patch",
            "parameters": [field_validation],
            "responses": response,
        },
    }


def v3_document(registry: Registry, path: str) -> JsonObj | None:
    for group, versions in registry.groups().items():
        for version in versions:
            if _gv_path(group, version) != path.strip("/"):
                continue
            schemas: JsonObj = {}
            paths: JsonObj = {}
            for rt in registry.in_group_version(group, version):
                name = f"{group or 'core'}.{version}.{rt.kind}"
                schema: JsonObj = dict(rt.schema) if rt.schema else {"type": "object"}
                schema["x-kubernetes-group-version-kind"] = [
                    {"group": group, "version": version, "kind": rt.kind}
                ]
                schemas[name] = schema
                paths[_resource_path(rt)] = _operations(rt, f"#/components/schemas/{name}")
            return {
                "openapi": "3.0.0",
                "info": {"title": _TITLE, "version": _VERSION},
                "paths": paths,
                "components": {"schemas": schemas},
            }
    return None

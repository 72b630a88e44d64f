"""Discovery documents: ``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/{g}``,
``/apis/{g}/{v}`` (legacy, non-aggregated discovery, which kubectl falls back to).

Owns the JSON shapes clients use to map kinds to resources. Must never serve objects.
"""

from __future__ import annotations

from typing import Any

from sim.kubeapi.resources import Registry, ResourceType

JsonObj = dict[str, Any]

SERVER_VERSION: JsonObj = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-kubeapi-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(server_address: str) -> JsonObj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _resource_entries(rt: ResourceType) -> list[JsonObj]:
    entry: JsonObj = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": rt.verbs(),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entries = [entry]
    if rt.has_status:
        entries.append(
            {
                "name": f"{rt.plural}/status",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    return entries


def resource_list(registry: Registry, group: str, version: str) -> JsonObj | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[JsonObj] = []
    for rt in sorted(types, key=lambda r: r.plural):
        resources.extend(_resource_entries(rt))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def api_group(registry: Registry, group: str) -> JsonObj | None:
    versions = registry.groups().get(group)
    if not versions or not group:
        return None
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": entries,
        "preferredVersion": entries[0],
    }


def api_group_list(registry: Registry) -> JsonObj:
    groups = []
    for group in sorted(g for g in registry.groups() if g):
        doc = api_group(registry, group)
        if doc is not None:
            doc.pop("kind")
            doc.pop("apiVersion")
            groups.append(doc)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

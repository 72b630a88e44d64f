"""The registry of served resource types: built-in kinds and those registered by CRDs.

Owns what each REST path means (group, version, plural, kind, scope, subresources, printer
columns, schema) and answers lookups by path segment, short name or kind. It must never hold
objects: storage lives in :mod:`sim.kubeapi.store`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

JsonObj = dict[str, Any]
# Storage identity of a resource: all versions of one CRD share one collection, like etcd.
ResourceKey = tuple[str, str]


@attrs.frozen
class PrinterColumn:
    """One column of ``kubectl get``: ``json_path`` is evaluated against the object."""

    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


@attrs.frozen
class ResourceType:
    """One served (group, version, plural)."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # Custom resources (and CRDs themselves) carry ``metadata.generation``; core kinds without spec
    # do not, matching kube-apiserver.
    tracks_generation: bool = False
    has_status: bool = False
    custom: bool = False
    printer_columns: tuple[PrinterColumn, ...] = ()
    # ``openAPIV3Schema`` of the version for custom resources, ``None`` for built-ins.
    schema: JsonObj | None = attrs.field(default=None, eq=False, repr=False)
    # Built-ins may be updated without ``metadata.resourceVersion``; custom resources may not.
    allow_unconditional_update: bool = True
    # Built-in kinds whose status only changes through ``/status`` (Ingress, Service), as for
    # custom resources with a status subresource.
    status_via_subresource_only: bool = False

    @property
    def key(self) -> ResourceKey:
        return (self.group, self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> tuple[str, str]:
        return (self.group, self.version)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def verbs(self) -> list[str]:
        return [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]


def _age() -> PrinterColumn:
    return PrinterColumn(name="Age", type="date", json_path=".metadata.creationTimestamp")


BUILTINS: tuple[ResourceType, ...] = (
    ResourceType(
        group="",
        version="v1",
        plural="namespaces",
        singular="namespace",
        kind="Namespace",
        namespaced=False,
        short_names=("ns",),
        has_status=True,
        printer_columns=(
            PrinterColumn(name="Status", type="string", json_path=".status.phase"),
            _age(),
        ),
    ),
    ResourceType(
        group="",
        version="v1",
        plural="configmaps",
        singular="configmap",
        kind="ConfigMap",
        namespaced=True,
        short_names=("cm",),
        printer_columns=(
            PrinterColumn(name="Data", type="integer", json_path="len(.data)+len(.binaryData)"),
            _age(),
        ),
    ),
    ResourceType(
        group="",
        version="v1",
        plural="secrets",
        singular="secret",
        kind="Secret",
        namespaced=True,
        printer_columns=(
            PrinterColumn(name="Type", type="string", json_path=".type"),
            PrinterColumn(name="Data", type="integer", json_path="len(.data)"),
            _age(),
        ),
    ),
    ResourceType(
        group="",
        version="v1",
        plural="serviceaccounts",
        singular="serviceaccount",
        kind="ServiceAccount",
        namespaced=True,
        short_names=("sa",),
        printer_columns=(
            PrinterColumn(name="Secrets", type="integer", json_path="len(.secrets)"),
            _age(),
        ),
    ),
    ResourceType(
        group="",
        version="v1",
        plural="events",
        singular="event",
        kind="Event",
        namespaced=True,
        short_names=("ev",),
        printer_columns=(
            PrinterColumn(name="Last Seen", type="date", json_path=".lastTimestamp"),
            PrinterColumn(name="Type", type="string", json_path=".type"),
            PrinterColumn(name="Reason", type="string", json_path=".reason"),
            PrinterColumn(name="Object", type="string", json_path="object(.involvedObject)"),
            PrinterColumn(name="Message", type="string", json_path=".message"),
        ),
    ),
    ResourceType(
        group="events.k8s.io",
        version="v1",
        plural="events",
        singular="event",
        kind="Event",
        namespaced=True,
        short_names=("ev",),
        printer_columns=(
            PrinterColumn(name="Type", type="string", json_path=".type"),
            PrinterColumn(name="Reason", type="string", json_path=".reason"),
            PrinterColumn(name="Object", type="string", json_path="object(.regarding)"),
            PrinterColumn(name="Note", type="string", json_path=".note"),
            _age(),
        ),
    ),
    ResourceType(
        group="coordination.k8s.io",
        version="v1",
        plural="leases",
        singular="lease",
        kind="Lease",
        namespaced=True,
        printer_columns=(
            PrinterColumn(name="Holder", type="string", json_path=".spec.holderIdentity"),
            _age(),
        ),
    ),
    ResourceType(
        group="",
        version="v1",
        plural="services",
        singular="service",
        kind="Service",
        namespaced=True,
        short_names=("svc",),
        categories=("all",),
        has_status=True,
        status_via_subresource_only=True,
        printer_columns=(
            PrinterColumn(name="Type", type="string", json_path=".spec.type"),
            PrinterColumn(name="Cluster-IP", type="string", json_path=".spec.clusterIP"),
            _age(),
        ),
    ),
    ResourceType(
        group="networking.k8s.io",
        version="v1",
        plural="ingresses",
        singular="ingress",
        kind="Ingress",
        namespaced=True,
        short_names=("ing",),
        tracks_generation=True,
        has_status=True,
        status_via_subresource_only=True,
        printer_columns=(
            PrinterColumn(name="Class", type="string", json_path=".spec.ingressClassName"),
            PrinterColumn(name="Hosts", type="string", json_path=".spec.rules[*].host"),
            PrinterColumn(
                name="Address", type="string", json_path=".status.loadBalancer.ingress[*].ip"
            ),
            _age(),
        ),
    ),
    ResourceType(
        group="networking.k8s.io",
        version="v1",
        plural="ingressclasses",
        singular="ingressclass",
        kind="IngressClass",
        namespaced=False,
        tracks_generation=True,
        printer_columns=(
            PrinterColumn(name="Controller", type="string", json_path=".spec.controller"),
            _age(),
        ),
    ),
    ResourceType(
        group="apiextensions.k8s.io",
        version="v1",
        plural="customresourcedefinitions",
        singular="customresourcedefinition",
        kind="CustomResourceDefinition",
        namespaced=False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        tracks_generation=True,
        has_status=True,
        printer_columns=(
            PrinterColumn(name="Created At", type="date", json_path=".metadata.creationTimestamp"),
        ),
    ),
    ResourceType(
        group="admissionregistration.k8s.io",
        version="v1",
        plural="mutatingwebhookconfigurations",
        singular="mutatingwebhookconfiguration",
        kind="MutatingWebhookConfiguration",
        namespaced=False,
        categories=("api-extensions",),
        tracks_generation=True,
        printer_columns=(
            PrinterColumn(name="Webhooks", type="integer", json_path="len(.webhooks)"),
            _age(),
        ),
    ),
    ResourceType(
        group="admissionregistration.k8s.io",
        version="v1",
        plural="validatingwebhookconfigurations",
        singular="validatingwebhookconfiguration",
        kind="ValidatingWebhookConfiguration",
        namespaced=False,
        categories=("api-extensions",),
        tracks_generation=True,
        printer_columns=(
            PrinterColumn(name="Webhooks", type="integer", json_path="len(.webhooks)"),
            _age(),
        ),
    ),
)


class Registry:
    """Served resource types, indexed for path routing and discovery."""

    def __init__(self) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        # Preferred (first-listed) version per group, as discovery reports it.
        self._group_versions: dict[str, list[str]] = {}
        for rt in BUILTINS:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        self._by_gvr[(rt.group, rt.version, rt.plural)] = rt
        versions = self._group_versions.setdefault(rt.group, [])
        if rt.version not in versions:
            versions.append(rt.version)

    def remove_key(self, key: ResourceKey) -> None:
        """Unregister every version of one resource (a CRD was deleted or replaced)."""
        group = key[0]
        for gvr in [g for g in self._by_gvr if (g[0], g[2]) == key]:
            del self._by_gvr[gvr]
        live = {v for (g, v, _p) in self._by_gvr if g == group}
        if group in self._group_versions:
            remaining = [v for v in self._group_versions[group] if v in live]
            if remaining:
                self._group_versions[group] = remaining
            else:
                del self._group_versions[group]

    def set_version_order(self, group: str, versions: list[str]) -> None:
        live = {v for (g, v, _p) in self._by_gvr if g == group}
        ordered = [v for v in versions if v in live]
        ordered += [v for v in self._group_versions.get(group, []) if v not in ordered]
        if ordered:
            self._group_versions[group] = ordered

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def all(self) -> Iterator[ResourceType]:
        return iter(self._by_gvr.values())

    def groups(self) -> dict[str, list[str]]:
        return {g: list(vs) for g, vs in self._group_versions.items()}

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self._by_gvr.values() if rt.group == group and rt.version == version]

    def versions_of(self, key: ResourceKey) -> list[ResourceType]:
        return [rt for rt in self._by_gvr.values() if rt.key == key]

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        for rt in self._by_gvr.values():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None

"""Which REST collection a kind lives in: group, version, plural, scope.

This module owns the URL paths of Kubernetes collections and objects. It must never perform a
request.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

import attrs


@attrs.frozen(kw_only=True)
class ResourceKind:
    """One kind of Kubernetes object, enough to build its REST paths."""

    group: str
    """API group; ``""`` for the core group (ConfigMaps, Secrets, Events)."""
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def _prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None = None) -> str:
        """Path of the collection, across all namespaces when ``namespace`` is None."""
        if self.namespaced and namespace:
            return f"{self._prefix()}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{self._prefix()}/{self.plural}"

    def object_path(self, namespace: str | None, name: str, subresource: str = "") -> str:
        path = f"{self.collection_path(namespace)}/{quote(name, safe='')}"
        return f"{path}/{subresource}" if subresource else path

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


CONFIG_MAPS: Final = ResourceKind(group="", version="v1", plural="configmaps", kind="ConfigMap")
SECRETS: Final = ResourceKind(group="", version="v1", plural="secrets", kind="Secret")
EVENTS: Final = ResourceKind(group="", version="v1", plural="events", kind="Event")
LEASES: Final = ResourceKind(
    group="coordination.k8s.io", version="v1", plural="leases", kind="Lease"
)

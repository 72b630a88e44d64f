"""A small Kubernetes REST client for drivers (demo, benchmarks), on plain aiohttp.

Owns the paths of the few kinds the drivers touch, create/get/list/patch/delete, "apply" (create,
or replace the spec of what exists), and a raw watch stream. Drivers use it instead of kubectl
(which may be absent) and instead of the operator's own client (they measure the operator, so
they must not share its code paths). Talks to an API server without authentication (the
emulator); must never log object contents (Secrets pass through it).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Final

import aiohttp
import attrs

from sim import jsonwire

JsonObj = dict[str, Any]

MERGE_PATCH: Final = "application/merge-patch+json"


@attrs.frozen
class Kind:
    """Where a kind lives in the REST API."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    def collection(self, namespace: str | None) -> str:
        prefix = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"

    def item(self, namespace: str | None, name: str) -> str:
        return f"{self.collection(namespace)}/{name}"


_GRAVITEE = "gravitee.io/v1alpha1"
KINDS: Final = {
    k.kind: k
    for k in (
        Kind("v1", "Namespace", "namespaces", namespaced=False),
        Kind("v1", "Secret", "secrets"),
        Kind("v1", "ConfigMap", "configmaps"),
        Kind("v1", "Event", "events"),
        Kind(_GRAVITEE, "ManagementContext", "managementcontexts"),
        Kind(_GRAVITEE, "ApiDefinition", "apidefinitions"),
        Kind(_GRAVITEE, "ApiV4Definition", "apiv4definitions"),
        Kind(_GRAVITEE, "ApiResource", "apiresources"),
        Kind(_GRAVITEE, "Application", "applications"),
        Kind(_GRAVITEE, "Subscription", "subscriptions"),
        Kind(_GRAVITEE, "Group", "groups"),
        Kind(_GRAVITEE, "SharedPolicyGroup", "sharedpolicygroups"),
        Kind(_GRAVITEE, "Notification", "notifications"),
        Kind(_GRAVITEE, "Dictionary", "dictionaries"),
        Kind(_GRAVITEE, "Portal", "portals"),
        Kind(_GRAVITEE, "PortalListing", "portallistings"),
        Kind(_GRAVITEE, "PortalLink", "portallinks"),
        Kind(_GRAVITEE, "Documentation", "documentations"),
        Kind("networking.k8s.io/v1", "Ingress", "ingresses"),
    )
}


class KubeError(Exception):
    """The API server answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def kind_of(obj: JsonObj) -> Kind:
    try:
        return KINDS[str(obj["kind"])]
    except KeyError as error:
        raise ValueError(f"unsupported kind {obj.get('kind')!r}") from error


def key_of(obj: JsonObj) -> str:
    """``namespace/name`` of an object."""
    meta = obj.get("metadata", {})
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


class KubeClient:
    """JSON requests against one API server URL; use as an async context manager."""

    def __init__(self, url: str, *, connections: int = 32) -> None:
        self.url = url.rstrip("/")
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> KubeClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("KubeClient used outside 'async with'")
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> JsonObj:
        data = None if body is None else jsonwire.dumps(body)
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        async with self.session.request(method, self.url + path, data=data, headers=headers,
                                        params=params) as response:
            payload = await response.read()
            if response.status >= 400:
                try:
                    message = str(json.loads(payload).get("message", ""))
                except (ValueError, AttributeError):
                    message = payload[:300].decode(errors="replace")
                raise KubeError(response.status, message)
            decoded: JsonObj = jsonwire.loads(payload) if payload else {}
            return decoded

    async def create(self, obj: JsonObj) -> JsonObj:
        kind = kind_of(obj)
        return await self.request("POST", kind.collection(obj["metadata"].get("namespace")),
                                  body=obj)

    async def get(self, kind: str, namespace: str | None, name: str) -> JsonObj:
        return await self.request("GET", KINDS[kind].item(namespace, name))

    async def get_or_none(self, kind: str, namespace: str | None, name: str) -> JsonObj | None:
        try:
            return await self.get(kind, namespace, name)
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    async def list(
        self, kind: str, namespace: str | None = None, *, label_selector: str = ""
    ) -> JsonObj:
        params = {"labelSelector": label_selector} if label_selector else None
        return await self.request("GET", KINDS[kind].collection(namespace), params=params)

    async def merge_patch(self, kind: str, namespace: str | None, name: str,
                          patch: JsonObj, *, subresource: str = "") -> JsonObj:
        path = KINDS[kind].item(namespace, name) + (f"/{subresource}" if subresource else "")
        return await self.request("PATCH", path, body=patch, content_type=MERGE_PATCH)

    async def delete(self, kind: str, namespace: str | None, name: str) -> None:
        try:
            await self.request("DELETE", KINDS[kind].item(namespace, name))
        except KubeError as error:
            if error.status != 404:
                raise

    async def apply(self, obj: JsonObj) -> JsonObj:
        """Create ``obj``, or replace the spec/data/labels/annotations of the existing one."""
        try:
            return await self.create(obj)
        except KubeError as error:
            if error.status != 409:
                raise
        meta = obj["metadata"]
        patch: JsonObj = {k: v for k, v in obj.items()
                          if k not in ("apiVersion", "kind", "metadata", "status")}
        patch["metadata"] = {k: meta[k] for k in ("labels", "annotations") if k in meta}
        # A merge patch cannot remove keys of the old spec: null them out explicitly.
        current = await self.get(obj["kind"], meta.get("namespace"), meta["name"])
        for field in ("spec", "data", "stringData"):
            if isinstance(current.get(field), dict) and isinstance(patch.get(field), dict):
                for stale in set(current[field]) - set(patch[field]):
                    patch[field][stale] = None
        return await self.merge_patch(obj["kind"], meta.get("namespace"), meta["name"], patch)

    async def watch(
        self, kind: str, namespace: str | None, *, resource_version: str,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[JsonObj]:
        """Raw watch events ``{"type", "object"}`` from ``resource_version`` (with bookmarks).

        Ends when the server closes the stream; an ``ERROR`` event is yielded as is (410 Gone
        means: list again).
        """
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        timeout = aiohttp.ClientTimeout(total=None, sock_read=timeout_seconds + 30)
        async with self.session.get(self.url + KINDS[kind].collection(namespace), params=params,
                                    timeout=timeout) as response:
            if response.status >= 400:
                raise KubeError(response.status, (await response.text())[:300])
            buffer = b""
            async for chunk in response.content.iter_any():
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        event: JsonObj = jsonwire.loads(line)
                        yield event

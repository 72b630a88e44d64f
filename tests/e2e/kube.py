"""The suite's view of the cluster: create, read, patch, delete and wait, through a kubeconfig.

Owns the few kinds the journeys touch (the five reconciled ``gravitee.io`` kinds, Secrets,
ConfigMaps, Namespaces, Events, Ingresses) over kubernetes-asyncio's public API, and condition waits
with deadlines. It deliberately shares no code with the operator (``controller.kube``): the
suite checks the operator, so it must not reuse the operator's code paths. It must never log
object contents (Secrets pass through it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import attrs
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

Obj = dict[str, Any]
T = TypeVar("T")

GROUP: Final = "gravitee.io"
VERSION: Final = "v1alpha1"
MERGE_PATCH: Final = "application/merge-patch+json"
PLURALS: Final = {
    "ManagementContext": "managementcontexts",
    "ApiDefinition": "apidefinitions",
    "ApiV4Definition": "apiv4definitions",
    "ApiResource": "apiresources",
    "Application": "applications",
}
POLL_INTERVAL: Final = 0.1


async def wait_for(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float,
    what: str,
    describe: Callable[[], Awaitable[str]] | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``timeout``.

    ``describe`` (optional) says what the world looked like when the deadline passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            detail = f"; last seen: {await describe()}" if describe is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        await asyncio.sleep(POLL_INTERVAL)


def condition_of(obj: Obj, type_: str) -> Obj | None:
    """The condition ``type_`` if it was observed for the object's current generation."""
    for found in (obj.get("status") or {}).get("conditions") or []:
        if found.get("type") != type_:
            continue
        if found.get("observedGeneration") not in (None, obj["metadata"].get("generation")):
            return None
        return dict(found)
    return None


@attrs.define
class Cluster:
    """A kubeconfig's cluster, as the journeys use it. Close it with :meth:`close`."""

    api: client.ApiClient
    timeout: float
    """Default deadline of every ``wait_*`` call, in seconds."""
    # Any: the generated signatures want model objects, and plain dicts are what we send.
    _custom: Any = attrs.field(init=False)
    _core: Any = attrs.field(init=False)
    _networking: Any = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._custom = client.CustomObjectsApi(self.api)
        self._core = client.CoreV1Api(self.api)
        self._networking = client.NetworkingV1Api(self.api)

    @classmethod
    async def connect(cls, kubeconfig: str, *, timeout: float) -> Cluster:
        api = await config.new_client_from_config(config_file=kubeconfig,
                                                  persist_config=False)
        return cls(api=api, timeout=timeout)

    async def close(self) -> None:
        await self.api.close()

    def _plain(self, model: Any) -> Obj:
        plain: Obj = self.api.sanitize_for_serialization(model)
        return plain

    # -- namespaces ----------------------------------------------------------------------

    async def create_namespace(self, name: str) -> None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        await self._core.create_namespace(body)

    async def delete_namespace(self, name: str) -> None:
        try:
            await self._core.delete_namespace(name)
        except ApiException as error:
            if error.status != 404:
                raise

    # -- objects -------------------------------------------------------------------------

    async def create(self, obj: Obj, namespace: str) -> Obj:
        kind = obj["kind"]
        body = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
        if kind in PLURALS:
            created: Obj = await self._custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURALS[kind], body)
            return created
        if kind == "Secret":
            return self._plain(await self._core.create_namespaced_secret(namespace, body))
        if kind == "ConfigMap":
            return self._plain(await self._core.create_namespaced_config_map(namespace, body))
        if kind == "Ingress":
            return self._plain(await self._networking.create_namespaced_ingress(namespace, body))
        raise ValueError(f"the e2e suite does not create {kind} objects")

    async def get(self, kind: str, name: str, namespace: str) -> Obj | None:
        """The object, or None when it does not exist."""
        try:
            if kind in PLURALS:
                found: Obj = await self._custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURALS[kind], name)
                return found
            if kind == "ConfigMap":
                return self._plain(await self._core.read_namespaced_config_map(name, namespace))
            if kind == "Ingress":
                return self._plain(await self._networking.read_namespaced_ingress(name, namespace))
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        raise ValueError(f"the e2e suite does not read {kind} objects")

    async def patch(self, kind: str, name: str, namespace: str, body: Obj) -> Obj:
        """A JSON merge patch (``null`` removes a field)."""
        if kind == "Secret":
            return self._plain(await self._core.patch_namespaced_secret(
                name, namespace, body, _content_type=MERGE_PATCH))
        if kind == "ConfigMap":
            return self._plain(await self._core.patch_namespaced_config_map(
                name, namespace, body, _content_type=MERGE_PATCH))
        patched: Obj = await self._custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURALS[kind], name, body, _content_type=MERGE_PATCH)
        return patched

    async def patch_ingress(self, name: str, namespace: str, body: Obj) -> Obj:
        """A JSON merge patch of an Ingress."""
        return self._plain(await self._networking.patch_namespaced_ingress(
            name, namespace, body, _content_type=MERGE_PATCH))

    async def delete(self, kind: str, name: str, namespace: str) -> None:
        """Ask for deletion (finalizers may keep the object a while); absent is fine."""
        try:
            if kind in PLURALS:
                await self._custom.delete_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURALS[kind], name)
            elif kind == "Secret":
                await self._core.delete_namespaced_secret(name, namespace)
            elif kind == "ConfigMap":
                await self._core.delete_namespaced_config_map(name, namespace)
            elif kind == "Ingress":
                await self._networking.delete_namespaced_ingress(name, namespace)
            else:
                raise ValueError(f"the e2e suite does not delete {kind} objects")
        except ApiException as error:
            if error.status != 404:
                raise

    async def secret_metadata(self, name: str, namespace: str) -> Obj | None:
        """A Secret's metadata only (its data never leaves this method), or None."""
        try:
            found = await self._core.read_namespaced_secret(name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        metadata: Obj = self._plain(found.metadata)
        return metadata

    async def names(self, kind: str, namespace: str) -> list[str]:
        listing = await self._custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURALS[kind])
        return [item["metadata"]["name"] for item in listing.get("items", [])]

    async def events(self, name: str, namespace: str) -> list[Obj]:
        """Events about the object ``name``, oldest first."""
        listing = await self._core.list_namespaced_event(namespace)
        events = [self._plain(e) for e in listing.items]
        mine = [e for e in events if e["involvedObject"].get("name") == name]
        return sorted(mine, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")

    # -- waiting -------------------------------------------------------------------------

    async def wait_condition(
        self,
        kind: str,
        name: str,
        namespace: str,
        *,
        status: str = "True",
        type_: str = "Accepted",
        timeout: float | None = None,
    ) -> Obj:
        """Wait until ``type_`` has ``status`` for the current generation; the object then."""

        async def probe() -> Obj | None:
            obj = await self.get(kind, name, namespace)
            if obj is None:
                return None
            found = condition_of(obj, type_)
            return obj if found is not None and found.get("status") == status else None

        return await wait_for(
            probe, timeout=timeout or self.timeout,
            what=f"{kind} {namespace}/{name} {type_}={status}",
            describe=lambda: self._status_of(kind, name, namespace),
        )

    async def wait_gone(
        self, kind: str, name: str, namespace: str, *, timeout: float | None = None
    ) -> None:
        async def probe() -> bool:
            return await self.get(kind, name, namespace) is None

        await wait_for(probe, timeout=timeout or self.timeout,
                       what=f"{kind} {namespace}/{name} to be gone",
                       describe=lambda: self._status_of(kind, name, namespace))

    async def wait_finalizer(self, kind: str, name: str, namespace: str, finalizer: str) -> Obj:
        async def probe() -> Obj | None:
            obj = await self.get(kind, name, namespace)
            if obj is None:
                return None
            return obj if finalizer in (obj["metadata"].get("finalizers") or []) else None

        return await wait_for(probe, timeout=self.timeout,
                              what=f"{kind} {namespace}/{name} to carry {finalizer}")

    async def _status_of(self, kind: str, name: str, namespace: str) -> str:
        obj = await self.get(kind, name, namespace)
        if obj is None:
            return "absent"
        meta = obj["metadata"]
        return (f"generation={meta.get('generation')} finalizers={meta.get('finalizers')} "
                f"deletionTimestamp={meta.get('deletionTimestamp')} status={obj.get('status')}")

"""Writing and removing the local-mode ConfigMaps (layout in ``local_configmap.py``).

Owns the I/O: a write happens only when the cached ConfigMap differs from the desired one, and a
removal only touches ConfigMaps this operator manages (our labels), never a user's ConfigMap that
happens to share the API's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio.client import ApiClient

from controller import vocabulary as v
from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.objects import get_object
from controller.kube.resources import CONFIG_MAPS
from controller.kube.rest import MERGE_PATCH, KubeApiError, request_json
from controller.reconcilers.framework.errors import IllegalStateError
from controller.reconcilers.support.local_configmap import needs_write


def _managed(configmap: Mapping[str, Any]) -> bool:
    labels = (configmap.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(v.LABEL_MANAGED_BY) == v.LABEL_MANAGED_BY_VALUE)


def _not_ours(namespace: str, name: str) -> IllegalStateError:
    return IllegalStateError(
        f"configmap [{namespace}/{name}] exists and is not managed by the operator"
    )


class GatewayConfigMaps:
    def __init__(self, api_client: ApiClient, configmaps: Store) -> None:
        self._api = api_client
        self._store = configmaps

    async def write(self, desired: Mapping[str, Any]) -> None:
        metadata = desired["metadata"]
        namespace, name = metadata["namespace"], metadata["name"]
        live = self._store.get(ObjectKey(namespace, name))
        if live is not None and not _managed(live):
            raise _not_ours(namespace, name)
        if not needs_write(live, desired):
            return
        if live is None:
            try:
                await request_json(
                    self._api, "POST", CONFIG_MAPS.collection_path(namespace), body=dict(desired)
                )
                return
            except KubeApiError as error:
                if error.status != 409:
                    raise
            # The cache had not seen it yet: it may be a user's ConfigMap, look before touching.
            live = await get_object(self._api, CONFIG_MAPS, namespace, name)
            if live is not None and not _managed(live):
                raise _not_ours(namespace, name)
        patch_metadata: dict[str, Any] = {
            k: metadata[k] for k in ("labels", "annotations", "ownerReferences")
        }
        if live is not None:
            # Pinned: a concurrent edit makes this fail (and retry) instead of slipping in.
            patch_metadata["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
        await request_json(
            self._api,
            "PATCH",
            CONFIG_MAPS.object_path(namespace, name),
            body={"metadata": patch_metadata, "data": desired["data"]},
            content_type=MERGE_PATCH,
        )

    async def remove(self, key: ObjectKey) -> None:
        namespace, name = key
        live = self._store.get(key)
        if live is None or not _managed(live):
            return
        try:
            await request_json(self._api, "DELETE", CONFIG_MAPS.object_path(namespace, name))
        except KubeApiError as error:
            if not error.not_found:
                raise

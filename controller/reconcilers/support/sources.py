"""The one reader of Secrets and ConfigMaps (docs/behavior/templating.md).

``CachedSources`` serves ``[[ secret ]]``/``[[ configmap ]]`` lookups, context credentials and
certificates from the informer caches (Secret values decoded from base64), and reads an object
directly from the API server when it lives outside the cached scope. Writing anything on the
sources (finalizers, reference annotations, the data hash) is the reference keeper's job
(``framework/keeper.py``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio.client import ApiClient

from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.objects import get_object
from controller.kube.resources import ResourceKind


def decode_secret_data(data: Mapping[str, str] | None) -> dict[str, str]:
    """Secret ``data`` values as text; undecodable entries are left out rather than guessed."""
    decoded: dict[str, str] = {}
    for key, value in (data or {}).items():
        try:
            decoded[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return decoded


class CachedSources:
    """A ``SourceReader`` over the Secret and ConfigMap caches, with a direct-read fallback."""

    def __init__(self, api_client: ApiClient, secrets: Store, configmaps: Store) -> None:
        self._api = api_client
        self._secrets = secrets
        self._configmaps = configmaps

    def secret_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        secret = self._secrets.get(ObjectKey(namespace, name))
        return None if secret is None else decode_secret_data(secret.get("data"))

    def configmap_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        configmap = self._configmaps.get(ObjectKey(namespace, name))
        return None if configmap is None else dict(configmap.get("data") or {})

    async def read(self, kind: ResourceKind, store: Store, key: ObjectKey) -> dict[str, Any] | None:
        """``key`` from ``store``, or from the API server when the cache does not hold it
        (a namespace outside the watched scope)."""
        cached = store.get(key)
        if cached is not None:
            return cached
        return await get_object(self._api, kind, key.namespace, key.name)

"""From a ``contextRef`` to a ready APIM client (gko-behavior.md 5.2).

Owns the translation of a ManagementContext object (and its auth Secret) into the APIM layer's
plain values: the context is read from the cache (falling back to a direct read for namespaces
outside the watched scope), its templates compiled, its Secret read, and the resulting
``ResolvedContext`` handed to the client pool, which keeps one client per context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from kubernetes_asyncio.client import ApiClient

from controller.apim import (
    ApimClient,
    ApimClientPool,
    ContextSpec,
    Credentials,
    ResolvedContext,
    resolve_context,
)
from controller.informers.store import Store
from controller.kube.objects import get_object
from controller.reconcilers.errors import IllegalStateError, ResolveRefError
from controller.reconcilers.kinds import MANAGEMENT_CONTEXTS, SECRETS
from controller.reconcilers.refs import context_secret_refs, ref_key
from controller.reconcilers.sources import CachedSources, decode_secret_data
from controller.reconcilers.templating import compile_spec, contains_templates


@attrs.frozen
class ContextClient:
    key: str
    context: Mapping[str, Any]
    resolved: ResolvedContext
    client: ApimClient


Fingerprint = tuple[str, tuple[tuple[str, str], ...]]
"""What a resolved client was derived from: the context's resourceVersion and those of the
Secrets it reads. Equal fingerprints give equal clients."""


def _split(key: str) -> tuple[str, str]:
    namespace, _, name = key.partition("/")
    return namespace, name


class ContextResolver:
    def __init__(
        self,
        api_client: ApiClient,
        *,
        contexts: Store,
        secrets: Store,
        sources: CachedSources,
        pool: ApimClientPool,
        templating: bool = True,
    ) -> None:
        self._api = api_client
        self._contexts = contexts
        self._secrets = secrets
        self._sources = sources
        self._pool = pool
        self._templating = templating
        # Every API reconcile needs its context's client: reuse it while neither the context nor
        # its Secrets changed, rather than re-reading, re-compiling and re-resolving each time.
        self._resolved: dict[str, tuple[Fingerprint, ContextClient]] = {}

    async def _read(self, store: Store, kind_plural: str, key: str) -> dict[str, Any] | None:
        cached = store.get(key)
        if cached is not None:
            return cached
        namespace, name = _split(key)
        kind = MANAGEMENT_CONTEXTS if kind_plural == "managementcontexts" else SECRETS
        return await get_object(self._api, kind, namespace, name)

    async def context_object(self, key: str) -> dict[str, Any]:
        context = await self._read(self._contexts, "managementcontexts", key)
        if context is None:
            _, name = _split(key)
            raise ResolveRefError(f'managementcontexts.gravitee.io "{name}" not found')
        return context

    async def secret_data(self, key: str) -> dict[str, str]:
        secret = await self._read(self._secrets, "secrets", key)
        if secret is None:
            _, name = _split(key)
            raise ResolveRefError(f'secrets "{name}" not found')
        return decode_secret_data(secret.get("data"))

    def compiled_spec(self, context: Mapping[str, Any]) -> dict[str, Any]:
        spec = dict(context.get("spec") or {})
        if not self._templating:
            return spec
        namespace = str((context.get("metadata") or {}).get("namespace") or "")
        compiled: dict[str, Any] = compile_spec(
            spec, namespace=namespace, reader=self._sources
        ).spec
        return compiled

    async def context_spec(self, context: Mapping[str, Any]) -> ContextSpec:
        """The APIM layer's view of a context, with its Secret read."""
        namespace = str((context.get("metadata") or {}).get("namespace") or "")
        spec = self.compiled_spec(context)
        auth = spec.get("auth") or {}
        cloud = spec.get("cloud") or None
        inline = auth.get("credentials") or {}
        if auth.get("bearerToken"):
            credentials = Credentials.bearer(str(auth["bearerToken"]))
        elif inline:
            credentials = Credentials.basic(
                str(inline.get("username") or ""), str(inline.get("password") or "")
            )
        else:
            credentials = Credentials.none()
        cloud_token: str | None = None
        if isinstance(cloud, Mapping):
            cloud_token = str(cloud.get("token") or "") or None
            cloud_secret = ref_key(cloud.get("secretRef"), namespace)
            if cloud_secret:
                cloud_token = (await self.secret_data(cloud_secret)).get("cloudToken") or None
        secret_key = ref_key(auth.get("secretRef"), namespace)
        if secret_key:
            credentials = Credentials.from_secret(
                await self.secret_data(secret_key), cloud=cloud is not None
            )
        return ContextSpec(
            base_url=spec.get("baseUrl"),
            organization_id=spec.get("organizationId"),
            environment_id=spec.get("environmentId"),
            path=spec.get("path"),
            credentials=credentials,
            cloud_token=cloud_token,
        )

    async def client_for_context(self, key: str, context: Mapping[str, Any]) -> ContextClient:
        fingerprint = self._fingerprint(context)
        cached = self._resolved.get(key)
        if (
            fingerprint is not None
            and cached is not None
            and cached[0] == fingerprint
            and not cached[1].client.closed
        ):
            return attrs.evolve(cached[1], context=context)
        context_spec = await self.context_spec(context)
        try:
            resolved = resolve_context(context_spec)
        except ValueError as error:
            raise IllegalStateError(f"invalid management context [{key}]: {error}") from error
        client = ContextClient(key, context, resolved, self._pool.get(key, resolved))
        if fingerprint is not None and not self._has_templates(context):
            self._resolved[key] = (fingerprint, client)
        else:
            self._resolved.pop(key, None)
        return client

    def _fingerprint(self, context: Mapping[str, Any]) -> Fingerprint | None:
        """None when the inputs cannot be pinned (an uncached Secret or no resourceVersion)."""
        version = str((context.get("metadata") or {}).get("resourceVersion") or "")
        if not version:
            return None
        secrets = []
        for secret_key in context_secret_refs(context):
            secret = self._secrets.get(secret_key)
            secret_version = (secret or {}).get("metadata", {}).get("resourceVersion")
            if not secret_version:
                return None
            secrets.append((secret_key, str(secret_version)))
        return version, tuple(secrets)

    def _has_templates(self, context: Mapping[str, Any]) -> bool:
        # Template sources are not part of the fingerprint: such contexts are never reused.
        return self._templating and contains_templates(context.get("spec"))

    async def client_for(self, obj: Mapping[str, Any]) -> ContextClient | None:
        """The client for ``obj``'s ``spec.contextRef``, or None when it has none."""
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        key = ref_key((obj.get("spec") or {}).get("contextRef"), namespace)
        if key is None:
            return None
        return await self.client_for_context(key, await self.context_object(key))

    def forget(self, key: str) -> None:
        self._resolved.pop(key, None)
        self._pool.discard(key)

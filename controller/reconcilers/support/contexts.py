"""From a ``contextRef`` to a ready APIM client (docs/behavior/management-context.md).

Owns the translation of a ManagementContext object (and its auth Secret) into the APIM layer's
plain values: the context is read from the cache (falling back to a direct read for namespaces
outside the watched scope), its templates compiled, its Secret read, and the resulting
``ResolvedContext`` handed to the client pool, which keeps one client per context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from controller.apim import (
    ApimClient,
    ApimClientPool,
    ContextSpec,
    Credentials,
    ResolvedContext,
    resolve_context,
)
from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.kinds import MANAGEMENT_CONTEXTS
from controller.reconcilers.framework.errors import IllegalStateError, ResolveRefError
from controller.reconcilers.support.references import context_credential_sources
from controller.reconcilers.support.sources import CachedSources
from controller.reconcilers.support.templating import contains_templates


class UsesContext(Protocol):
    """A reconcile attempt: the object, and where to note which context it talks to."""

    obj: dict[str, Any]
    uses_context: ObjectKey | None


@attrs.frozen
class ContextClient:
    key: ObjectKey
    context: Mapping[str, Any]
    resolved: ResolvedContext
    client: ApimClient


Fingerprint = tuple[str, tuple[tuple[ObjectKey, str], ...]]
"""What a resolved client was derived from: the context's resourceVersion and those of the
Secrets it reads. Equal fingerprints give equal clients."""


class ContextResolver:
    def __init__(
        self,
        *,
        contexts: Store,
        secrets: Store,
        sources: CachedSources,
        pool: ApimClientPool,
        templating: bool = True,
    ) -> None:
        self._contexts = contexts
        self._secrets = secrets
        self._sources = sources
        self._pool = pool
        self._templating = templating
        # Every API reconcile needs its context's client: reuse it while neither the context nor
        # its Secrets changed, rather than re-reading, re-compiling and re-resolving each time.
        self._resolved: dict[ObjectKey, tuple[Fingerprint, ContextClient]] = {}

    async def context_object(self, key: ObjectKey, *, referrer: str) -> dict[str, Any]:
        """The context ``key`` that the object named ``referrer`` references."""
        context = await self._sources.read(MANAGEMENT_CONTEXTS, self._contexts, key)
        if context is None:
            # Upstream's admission wording (docs/behavior/management-context.md).
            raise ResolveRefError(
                f"resource [{referrer}] references management context [{key}] that doesn't "
                "exist in the cluster"
            )
        return context

    async def secret_data(self, key: ObjectKey) -> dict[str, str]:
        data = await self._sources.secret(key)
        if data is None:
            raise ResolveRefError(f'secrets "{key.name}" not found')
        return data

    async def compiled_spec(self, context: Mapping[str, Any]) -> dict[str, Any]:
        spec = dict(context.get("spec") or {})
        if not self._templating:
            return spec
        namespace = str((context.get("metadata") or {}).get("namespace") or "")
        compiled: dict[str, Any] = (await self._sources.compile(spec, namespace=namespace)).spec
        return compiled

    async def context_spec(self, context: Mapping[str, Any]) -> ContextSpec:
        """The APIM layer's view of a context, with its Secret read."""
        namespace = str((context.get("metadata") or {}).get("namespace") or "")
        spec = await self.compiled_spec(context)
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
            cloud_secret = ObjectKey.from_ref(cloud.get("secretRef"), namespace)
            if cloud_secret:
                cloud_token = (await self.secret_data(cloud_secret)).get("cloudToken") or None
        secret_key = ObjectKey.from_ref(auth.get("secretRef"), namespace)
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

    async def client_for_context(
        self, key: ObjectKey, context: Mapping[str, Any]
    ) -> ContextClient:
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

    async def candidate_client(
        self, key: ObjectKey, context: Mapping[str, Any]
    ) -> ContextClient:
        """A client for a context that is not stored yet (admission): never cached as the
        context's client, and kept apart from it in the pool, so a refused edit cannot leak
        into the reconciles."""
        context_spec = await self.context_spec(context)
        try:
            resolved = resolve_context(context_spec)
        except ValueError as error:
            raise IllegalStateError(f"invalid management context [{key}]: {error}") from error
        return ContextClient(key, context, resolved, self._pool.get(("admission", key), resolved))

    def _fingerprint(self, context: Mapping[str, Any]) -> Fingerprint | None:
        """None when the inputs cannot be pinned (an uncached Secret or no resourceVersion)."""
        version = str((context.get("metadata") or {}).get("resourceVersion") or "")
        if not version:
            return None
        secrets = []
        for source in context_credential_sources(context):
            secret_key = source.key
            secret = self._secrets.get(secret_key)
            secret_version = (secret or {}).get("metadata", {}).get("resourceVersion")
            if not secret_version:
                return None
            secrets.append((secret_key, str(secret_version)))
        return version, tuple(secrets)

    def _has_templates(self, context: Mapping[str, Any]) -> bool:
        # Template sources are not part of the fingerprint: such contexts are never reused.
        return self._templating and contains_templates(context.get("spec"))

    async def client_for(self, attempt: UsesContext) -> ContextClient | None:
        """The client for the attempt's ``spec.contextRef``, or None when it has none; notes
        the context on the attempt (an unreachable APIM parks the object under it)."""
        obj = attempt.obj
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        key = ObjectKey.from_ref((obj.get("spec") or {}).get("contextRef"), namespace)
        if key is None:
            return None
        referrer = str((obj.get("metadata") or {}).get("name") or "")
        return await self.client_through(attempt, key, referrer=referrer)

    async def client_through(
        self, attempt: UsesContext, key: ObjectKey, *, referrer: str
    ) -> ContextClient:
        """The client of context ``key``, which the attempt's object uses through another
        object (a portal listing through its portal); notes the context on the attempt."""
        attempt.uses_context = key
        context = await self.context_object(key, referrer=referrer)
        return await self.client_for_context(key, context)

    async def client_of_context(self, attempt: UsesContext) -> ContextClient:
        """The client of the context being reconciled itself."""
        key = ObjectKey.of(attempt.obj)
        attempt.uses_context = key
        return await self.client_for_context(key, attempt.obj)

    def forget(self, key: ObjectKey) -> None:
        self._resolved.pop(key, None)
        self._pool.discard(key)

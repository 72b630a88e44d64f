"""ManagementContext: credentials bookkeeping, an APIM reachability check, guarded deletion.

Unlike upstream (which never calls APIM here), the reconcile checks the context against APIM with
``GET {V2}`` and reports unreachable APIM, bad credentials or an unknown organization/environment
in ``Accepted``. A context still referenced cannot be deleted: the deletion waits, says why in an
Event and in its status, and completes by itself once the last reference is gone (deleting a
dependant enqueues its context).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from controller.apim import ApimError
from controller.apim.environments import get_environment
from controller.informers.store import Store
from controller.kube.objects import get_object, patch_metadata
from controller.kube.rest import KubeApiError
from controller.reconcilers import vocabulary as v
from controller.reconcilers.base import Attempt, KindReconciler, SkeletonDeps
from controller.reconcilers.contexts import ContextResolver
from controller.reconcilers.errors import ControlPlaneError, ReconcileError, ResolveRefError
from controller.reconcilers.kinds import MANAGEMENT_CONTEXTS, SECRETS
from controller.reconcilers.predicates import source_data_hash
from controller.reconcilers.refs import CONTEXT_INDEX, SECRET_REF_INDEX, ref_key

# APIM answers to the environment probe that mean the context itself is wrong.
_PROBE_FAILURES = frozenset({400, 401})


@attrs.frozen
class Dependants:
    """One kind of object that can reference a context, for the deletion guard's message."""

    label: str
    """How the message names them, e.g. ``APIs``."""
    resource: str
    """What ``kubectl get`` lists, e.g. ``apidefinitions.gravitee.io``."""
    store: Store


def deletion_blocked_message(name: str, count: int, dependants: Dependants) -> str:
    return (
        f"[{name}] cannot be deleted because {count} {dependants.label} are relying on this "
        "context. You can review those by running the following command: kubectl get "
        f'{dependants.resource} -A -o jsonpath=\'{{.items[?(@.spec.contextRef.name=="{name}")]'
        ".metadata.name}'"
    )


class ManagementContextReconciler(KindReconciler):
    controller = "managementcontext"
    kind = MANAGEMENT_CONTEXTS
    finalizer = v.FINALIZER_CONTEXT
    has_processing_status = False

    def __init__(
        self,
        deps: SkeletonDeps,
        store: Store,
        *,
        resolver: ContextResolver,
        dependants: Sequence[Dependants],
    ) -> None:
        super().__init__(deps, store)
        self.resolver = resolver
        self.dependants = tuple(dependants)

    async def apply(self, attempt: Attempt) -> None:
        await self._track_secret(attempt)
        context = await self.resolver.client_for_context(attempt.key, attempt.obj)
        try:
            await get_environment(context.client)
        except ApimError as error:
            # Like upstream's probe (gko-behavior.md 5.5), only an unreachable APIM, bad
            # credentials (401) or an unknown org/env (400) fail the context: a token that may
            # import but not read the environment (403), a proxy hiding the endpoint (404) or a
            # flaky APIM (5xx) say nothing about the context being wrong.
            if error.status is None or error.status in _PROBE_FAILURES:
                raise _probe_error(
                    error, name=attempt.name, base_url=context.resolved.base_url
                ) from error

    async def cleanup(self, attempt: Attempt) -> None:
        for dependants in self.dependants:
            count = len(dependants.store.keys_by_index(CONTEXT_INDEX, attempt.key))
            if count:
                raise ReconcileError(deletion_blocked_message(attempt.name, count, dependants))
        last = _annotations(attempt.obj).get(v.ANNOTATION_LAST_SECRET_REF) or ""
        current = ref_key(
            (attempt.obj.get("spec") or {}).get("auth", {}).get("secretRef"), attempt.namespace
        )
        for secret_key in {last, current or ""} - {""}:
            await self._release_secret(secret_key, context_key=attempt.key)
        self.resolver.forget(attempt.key)

    async def _track_secret(self, attempt: Attempt) -> None:
        """Keep the auth Secret alive while used, and let the previous one go (fixes upstream's
        secret-switch bug, which released the new Secret instead of the old one)."""
        auth = attempt.spec.get("auth") or {}
        current = ref_key(auth.get("secretRef"), attempt.namespace) or ""
        last = _annotations(attempt.obj).get(v.ANNOTATION_LAST_SECRET_REF) or ""
        if current:
            await self._hold_secret(current)
        if last and last != current:
            await self._release_secret(last, context_key=attempt.key)
        if last != current:
            await patch_metadata(
                self.api,
                self.kind,
                attempt.namespace,
                attempt.name,
                annotations={v.ANNOTATION_LAST_SECRET_REF: current},
            )

    async def _secret(self, key: str) -> dict[str, Any] | None:
        namespace, _, name = key.partition("/")
        cached = self.deps.secrets.get(key)
        if cached is not None:
            return cached
        return await get_object(self.api, SECRETS, namespace, name)

    async def _hold_secret(self, key: str) -> None:
        """Finalizer on the auth Secret, and the hash of what was read from it (so credentials
        rotated while the operator is down re-check the context at start-up)."""
        secret = await self._secret(key)
        if secret is None:
            raise ResolveRefError(f'secrets "{key.partition("/")[2]}" not found')
        finalizers = list(secret["metadata"].get("finalizers") or [])
        annotations = secret["metadata"].get("annotations") or {}
        data_hash = source_data_hash(secret)
        add_finalizer = v.FINALIZER_CONTEXT_SECRET not in finalizers
        if not add_finalizer and annotations.get(v.ANNOTATION_LAST_SPEC_HASH) == data_hash:
            return
        namespace, _, name = key.partition("/")
        await patch_metadata(
            self.api,
            SECRETS,
            namespace,
            name,
            finalizers=[*finalizers, v.FINALIZER_CONTEXT_SECRET] if add_finalizer else None,
            annotations={v.ANNOTATION_LAST_SPEC_HASH: data_hash},
            resource_version=str(secret["metadata"].get("resourceVersion") or "") or None,
        )

    async def _release_secret(self, key: str, *, context_key: str) -> None:
        users = set(self.store.keys_by_index(SECRET_REF_INDEX, key)) - {context_key}
        if users:
            return
        secret = await self._secret(key)
        if secret is None:
            return
        finalizers = list(secret["metadata"].get("finalizers") or [])
        if v.FINALIZER_CONTEXT_SECRET not in finalizers:
            return
        namespace, _, name = key.partition("/")
        try:
            await patch_metadata(
                self.api,
                SECRETS,
                namespace,
                name,
                finalizers=[f for f in finalizers if f != v.FINALIZER_CONTEXT_SECRET],
                resource_version=str(secret["metadata"].get("resourceVersion") or "") or None,
            )
        except KubeApiError as error:
            if not error.not_found:
                raise


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def _probe_error(error: ApimError, *, name: str, base_url: str) -> ControlPlaneError:
    """Upstream's admission-probe wording, turned into conditions (gko-behavior.md 5.5)."""
    if error.status is None:
        return ControlPlaneError(
            f"unable to reach APIM, [{base_url}] is not available: {error.message}", status=None
        )
    if error.status == 401:
        return ControlPlaneError(f"bad credentials for context [{name}]", status=401)
    return ControlPlaneError(str(error), status=error.status)

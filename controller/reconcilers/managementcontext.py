"""ManagementContext: an APIM reachability check, guarded deletion
(docs/behavior/management-context.md).

Unlike upstream (which never calls APIM here), the reconcile checks the context against APIM with
``GET {V2}`` and reports unreachable APIM, bad credentials or an unknown organization/environment
in ``Accepted``. A context still referenced cannot be deleted: the deletion waits, says why in an
Event and in its status, and completes by itself once the last reference is gone. The finalizer
on the credentials Secret is the reference keeper's (derived from who uses the Secret).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controller import vocabulary as v
from controller.apim import ApimError
from controller.apim.environments import get_environment
from controller.keys import ObjectKey
from controller.kube.kinds import (
    API_DEFINITIONS,
    API_V4_DEFINITIONS,
    MANAGEMENT_CONTEXTS,
    SECRETS,
)
from controller.reconcilers.framework import referrers
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import ControlPlaneError, ReconcileError
from controller.reconcilers.framework.metadata import annotations_of
from controller.reconcilers.framework.referrers import ReferrerGroup
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    RuntimeDeps,
)
from controller.reconcilers.support.references import spec_of, template_sources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER, SourceRef

# APIM answers to the environment probe that mean the context itself is wrong.
_PROBE_FAILURES = frozenset({400, 401})


def _secret_source(ref: Any, namespace: str) -> list[SourceRef]:
    key = ObjectKey.from_ref(ref, namespace)
    return [] if key is None else [SourceRef("secret", key.namespace, key.name)]


def _auth_secret(obj: Mapping[str, Any]) -> ObjectKey | None:
    namespace = ObjectKey.of(obj).namespace
    return ObjectKey.from_ref((spec_of(obj).get("auth") or {}).get("secretRef"), namespace)


def _last_secret(obj: Mapping[str, Any]) -> ObjectKey | None:
    last = annotations_of(obj).get(v.ANNOTATION_LAST_SECRET_REF) or ""
    try:
        return ObjectKey.parse(last) if last else None
    except ValueError:
        return None


def auth_secrets(obj: Mapping[str, Any]) -> Iterable[SourceRef]:
    """The Secrets holding the context's credentials: the one its spec names, and the last one
    that worked (``gravitee.io/last-secret-ref``), kept until the new one exists."""
    keys = dict.fromkeys(key for key in (_auth_secret(obj), _last_secret(obj)) if key)
    return [SourceRef("secret", key.namespace, key.name) for key in keys]


def _credentials_inputs(obj: Mapping[str, Any]) -> object:
    return obj.get("spec"), annotations_of(obj).get(v.ANNOTATION_LAST_SECRET_REF)


def cloud_secret(obj: Mapping[str, Any]) -> Iterable[SourceRef]:
    """The Secret holding a Gravitee Cloud token."""
    namespace = ObjectKey.of(obj).namespace
    return _secret_source((spec_of(obj).get("cloud") or {}).get("secretRef"), namespace)


def setup(builder: Builder) -> None:
    (
        builder.reconciles(MANAGEMENT_CONTEXTS, finalizer=v.FINALIZER_CONTEXT,
                           processing_status=False)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .reads_sources(
            auth_secrets, finalizer=v.FINALIZER_CONTEXT_SECRET, reads=_credentials_inputs
        )
        .reads_sources(cloud_secret)
        .deletion_waits_for_referrers()
        .complete(ManagementContext)
    )


def deletion_blocked_message(name: str, groups: list[ReferrerGroup]) -> str:
    """Upstream's sentence, with the total over every referring kind, the first referrers named,
    and a command listing them all with their namespace (a context named alike in another
    namespace is someone else's)."""
    kinds = {group.kind for group in groups}
    if kinds <= {API_DEFINITIONS, API_V4_DEFINITIONS}:
        label = "APIs"
    elif len(kinds) == 1:
        label = next(iter(kinds)).plural
    else:
        label = "objects"
    return (
        f"[{name}] cannot be deleted because {referrers.total(groups)} {label} are relying on "
        f"this context: {referrers.named(groups)}. You can review those by running the "
        "following command: "
        f"{referrers.kubectl_listing(groups, '.spec.contextRef.name', name)}"
    )


class ManagementContext(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps
        self.secrets = deps.stores[SECRETS.plural]

    def annotations(self, obj: Mapping[str, Any]) -> Mapping[str, str]:
        """``gravitee.io/last-secret-ref``: the credentials Secret in use, recorded once it
        exists (until then the previous one stays recorded, and held)."""
        current = _auth_secret(obj)
        if current is None:
            return {v.ANNOTATION_LAST_SECRET_REF: ""}
        if self.secrets.get(current) is None:
            return {}
        return {v.ANNOTATION_LAST_SECRET_REF: str(current)}

    async def apply(self, attempt: Attempt) -> Outcome:
        context = await self.deps.resolver.client_of_context(attempt)
        try:
            await get_environment(context.client)
        except ApimError as error:
            # Like upstream's probe (docs/behavior/management-context.md), only an unreachable
            # APIM, bad credentials (401) or an unknown org/env (400) fail the context: a token
            # that may import but not read the environment (403), a proxy hiding the endpoint
            # (404) or a flaky APIM (5xx) say nothing about the context being wrong.
            if error.status is None or error.status in _PROBE_FAILURES:
                raise _probe_error(
                    error, name=attempt.name, base_url=context.resolved.base_url
                ) from error
        return Outcome()

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        groups = self.deps.referrers.of(MANAGEMENT_CONTEXTS, attempt.key)
        if groups:
            raise ReconcileError(deletion_blocked_message(attempt.name, groups))
        self.deps.resolver.forget(attempt.key)
        self.deps.health.forget(attempt.key)
        return Cleanup()


def _probe_error(error: ApimError, *, name: str, base_url: str) -> ControlPlaneError:
    """Upstream's admission-probe wording, turned into conditions."""
    if error.status is None:
        return ControlPlaneError(
            f"unable to reach APIM, [{base_url}] is not available: {error.message}", status=None
        )
    if error.status == 401:
        return ControlPlaneError(f"bad credentials for context [{name}]", status=401)
    return ControlPlaneError(str(error), status=error.status)

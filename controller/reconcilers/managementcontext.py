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
from controller.apim.cloud import CloudTokenError, parse_cloud_token
from controller.apim.environments import get_environment
from controller.informers.store import KubeObject
from controller.keys import ObjectKey
from controller.kube.kinds import (
    API_DEFINITIONS,
    API_V4_DEFINITIONS,
    MANAGEMENT_CONTEXTS,
    SECRETS,
)
from controller.models.management_context import ManagementContextSpec
from controller.models.validation import FieldError, validate_management_context
from controller.reconcilers.framework import referrers
from controller.reconcilers.framework.admission import Review
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import (
    ControlPlaneError,
    IllegalStateError,
    ReconcileError,
)
from controller.reconcilers.framework.metadata import annotations_of
from controller.reconcilers.framework.referrers import ReferrerGroup
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    RuntimeDeps,
)
from controller.reconcilers.support.admission import exists, rules
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
        .admits(
            ManagementContextSpec,
            rules(validate_management_context),
            secrets_exist,
            remote=probe,
            default=cloud_defaults,
        )
        .complete(ManagementContext)
    )


async def secrets_exist(
    review: Review[ManagementContextSpec], deps: RuntimeDeps
) -> list[FieldError]:
    """The credentials and cloud token Secrets are in the cluster (upstream's message)."""
    for path, field in (("spec.auth.secretRef", "auth"), ("spec.cloud.secretRef", "cloud")):
        ref = (review.spec.get(field) or {}).get("secretRef")
        key = ObjectKey.from_ref(ref, review.namespace)
        if key is not None and not await exists(deps, SECRETS, key):
            return [FieldError(path, f"secret [{key}] doesn't exist in the cluster")]
    return []


async def probe(review: Review[ManagementContextSpec], deps: RuntimeDeps) -> list[FieldError]:
    """``GET {V2}`` with the submitted spec: unreachable APIM warns, bad credentials (401) and
    an unknown organization or environment (400) refuse, any other answer admits."""
    obj = {**review.obj, "metadata": {
        k: value for k, value in (review.obj.get("metadata") or {}).items()
        if k != "resourceVersion"}}
    try:
        context = await deps.resolver.candidate_client(review.key, obj)
    except ReconcileError:
        return []  # the static checks (or the reconcile) say what is wrong
    try:
        await get_environment(context.client)
    except ApimError as error:
        base_url = context.resolved.base_url
        if error.status is None:
            return [FieldError("spec.baseUrl",
                               f"unable to reach APIM, [{base_url}] is not available", "warning")]
        if error.status in _PROBE_FAILURES:
            return [FieldError("spec", str(_probe_error(error, name=review.name,
                                                        base_url=base_url)))]
    return []


async def cloud_defaults(obj: KubeObject, deps: RuntimeDeps) -> KubeObject | None:
    """Gravitee Cloud contexts: base URL, organization, environment and auth derived from the
    token's claims (docs/behavior/admission.md#managementcontext)."""
    spec = obj.get("spec") or {}
    cloud = spec.get("cloud")
    if not isinstance(cloud, dict) or not (cloud.get("token") or cloud.get("secretRef")):
        return None
    namespace = ObjectKey.of(obj).namespace
    secret_key = ObjectKey.from_ref(cloud.get("secretRef"), namespace)
    token = str(cloud.get("token") or "")
    if secret_key is not None:
        data = await deps.sources.secret(secret_key)
        if data is None:
            raise IllegalStateError(f"secret [{secret_key}] doesn't exist in the cluster")
        token = data.get("cloudToken") or ""
    try:
        claims = parse_cloud_token(token)
        environment = claims.pick_environment(spec.get("environmentId") or None)
    except CloudTokenError as error:
        raise IllegalStateError(str(error)) from None
    spec.setdefault("baseUrl", claims.base_url)
    spec["organizationId"] = claims.organization_id
    spec["environmentId"] = environment
    auth: dict[str, Any] = {}
    if cloud.get("secretRef"):
        auth["secretRef"] = cloud["secretRef"]
    else:
        auth["bearerToken"] = token
    spec["auth"] = auth
    obj["spec"] = spec
    return obj


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

"""Application: Automation API upsert/delete with client certificates resolved
(docs/behavior/application.md).

Identity follows the v4 rules: HRID mode for new objects (and those already marked
``AutomationAPIManaged``), UUID mode (``hridContainsUUID=true``) for applications an older
operator created. TLS client certificates may come inline or from Secrets/ConfigMaps; those
sources are declared so that changing one re-reconciles the applications using it, and carry the
hash of the data last sent (``gravitee.io/last-spec-hash``, written by the reference keeper) so
that an edit made while the operator was down is noticed at start-up.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Iterable, Mapping
from typing import Any

from controller import vocabulary as v
from controller.apim.applications import (
    delete_application,
    get_application,
    upsert_application,
)
from controller.apim.ids import hrid
from controller.apim.results import ImportErrors
from controller.keys import ObjectKey
from controller.kube.kinds import (
    API_DEFINITIONS,
    API_V4_DEFINITIONS,
    APPLICATIONS,
    MANAGEMENT_CONTEXTS,
    SUBSCRIPTIONS,
)
from controller.models.application import ApplicationSpec
from controller.models.validation import (
    FieldError,
    certificates_end,
    validate_application,
    validate_application_update,
    validate_subscription_within_certificates,
)
from controller.reconcilers import subscription
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework.admission import Review
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import (
    IllegalStateError,
    ReconcileError,
    ResolveRefError,
)
from controller.reconcilers.framework.readback import remote_copy
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    ReadBack,
    RuntimeDeps,
)
from controller.reconcilers.support.admission import context_exists, dry_run, on_update, rules
from controller.reconcilers.support.api_common import (
    context_for_cleanup,
    errors_status,
    refuse_while_subscribed,
)
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.references import context_refs, template_sources
from controller.reconcilers.support.sources import CachedSources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER, SourceRef

DEFAULT_CERT_KEY = "tls.crt"


def _certificates(spec: Mapping[str, Any]) -> list[Any]:
    tls = ((spec.get("settings") or {}).get("tls")) or {}
    certificates = tls.get("clientCertificates")
    return certificates if isinstance(certificates, list) else []


def _cert_ref(ref: Mapping[str, Any], namespace: str) -> tuple[str, str, str, str]:
    kind = "configmap" if ref.get("kind") == "configmaps" else "secret"
    return (
        kind,
        str(ref.get("namespace") or namespace),
        str(ref.get("name") or ""),
        str(ref.get("key") or DEFAULT_CERT_KEY),
    )


def certificate_sources(obj: Mapping[str, Any]) -> Iterable[SourceRef]:
    """The Secrets and ConfigMaps an application's client certificates come from."""
    return _certificate_refs(obj.get("spec") or {}, ObjectKey.of(obj).namespace)


def _certificate_refs(spec: Mapping[str, Any], namespace: str) -> list[SourceRef]:
    sources: list[SourceRef] = []
    for certificate in _certificates(spec):
        ref = certificate.get("ref") if isinstance(certificate, Mapping) else None
        if isinstance(ref, Mapping) and ref.get("name"):
            kind, ref_namespace, name, _ = _cert_ref(ref, namespace)
            source = SourceRef(kind, ref_namespace, name)  # type: ignore[arg-type]
            if source not in sources:
                sources.append(source)
    return sources


async def resolve_certificates(
    spec: dict[str, Any], namespace: str, cached: CachedSources
) -> None:
    """Inline every certificate ``ref`` of ``spec`` (and decode ``encoded`` ones), their data
    loaded first (the caches hold no Secret or ConfigMap data); raises ``ResolveRefError`` for a
    missing source or key, ``IllegalStateError`` for bad base64."""
    sources = await cached.load(_certificate_refs(spec, namespace))
    for index, certificate in enumerate(_certificates(spec)):
        if not isinstance(certificate, dict):
            continue
        ref = certificate.pop("ref", None)
        if isinstance(ref, Mapping) and ref.get("name"):
            kind, ref_namespace, name, key = _cert_ref(ref, namespace)
            data = (
                sources.secret_data(ref_namespace, name)
                if kind == "secret"
                else sources.configmap_data(ref_namespace, name)
            )
            plural = "secrets" if kind == "secret" else "configmaps"
            if data is None:
                raise ResolveRefError(
                    f"failed to resolve certificate ref [{ref_namespace}/{name}] key [{key}]: "
                    f'{plural} "{name}" not found'
                )
            if not data.get(key):
                raise ResolveRefError(
                    f"failed to resolve certificate ref [{ref_namespace}/{name}] key [{key}]: "
                    f"key [{key}] not found"
                )
            certificate["content"] = data[key]
        if certificate.pop("encoded", False):
            try:
                certificate["content"] = base64.b64decode(
                    str(certificate.get("content") or ""), validate=True
                ).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError) as error:
                raise IllegalStateError(
                    f"failed to base64-decode certificate [{index}]: {error}"
                ) from error
        if not certificate.get("name"):
            certificate["name"] = f"{spec.get('name', '')}-{index}"


async def certificates_resolve(
    review: Review[ApplicationSpec], deps: RuntimeDeps
) -> list[FieldError]:
    """Certificate references resolve (the reconcile's own resolution, sources loaded on
    demand)."""
    try:
        await resolve_certificates(copy.deepcopy(review.spec), review.namespace, deps.sources)
    except ReconcileError as error:
        return [FieldError("spec.settings.tls.clientCertificates", str(error))]
    return []


def subscriptions_within_certificates(
    review: Review[ApplicationSpec], deps: RuntimeDeps
) -> list[FieldError]:
    """On UPDATE, no MTLS subscription of the application ends after all its certificates."""
    if not review.is_update:
        return []
    end = certificates_end(review.model)
    if end is None:
        return []
    out: list[FieldError] = []
    subscriptions = deps.stores[SUBSCRIPTIONS.plural]
    for group in deps.referrers.of(APPLICATIONS, review.key):
        for key in group.keys if group.kind == SUBSCRIPTIONS else ():
            found = subscriptions.get(key)
            api_key = subscription.api_ref(found) if found is not None else None
            if found is None or api_key is None:
                continue
            spec = found.get("spec") or {}
            api_kind = API_DEFINITIONS if subscription.is_v2(spec) else API_V4_DEFINITIONS
            api = deps.stores[api_kind.plural].get(api_key)
            if api is None or not subscription.mtls_plan(api_kind, api, str(spec.get("plan"))):
                continue
            out += validate_subscription_within_certificates(
                str(spec.get("endingAt") or ""), end, application=str(review.key),
                subscription=str(key),
            )
    return out


async def dry_run_application(
    review: Review[ApplicationSpec], deps: RuntimeDeps
) -> list[FieldError]:
    """``PUT {AUTO}/applications?dryRun=true`` with the reconcile's body."""
    spec = copy.deepcopy(review.spec)
    try:
        await resolve_certificates(spec, review.namespace, deps.sources)
    except ReconcileError:
        return []  # the cache checks said so already
    attempt = Attempt(review.key, review.old or review.obj, spec)
    status_id = attempt.live_status.get("id")
    hrid_mode = not status_id or attempt.automation_managed
    spec["hrid"] = hrid(review.namespace, review.name) if hrid_mode else str(status_id)
    if not hrid_mode:
        spec["id"] = str(status_id)

    async def call(context: ContextClient) -> ImportErrors:
        state = await upsert_application(context.client, spec, dry_run=True,
                                         hrid_contains_uuid=not hrid_mode)
        return state.errors

    return await dry_run(review, deps, call)


def setup(builder: Builder) -> None:
    (
        builder.reconciles(APPLICATIONS, finalizer=v.FINALIZER_APPLICATION)
        .references(MANAGEMENT_CONTEXTS, refs=context_refs, follow=True)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        # Certificates carry the hash of what was sent, but no finalizer: upstream never
        # blocks the deletion of a certificate Secret or ConfigMap.
        .reads_sources(certificate_sources)
        .derived_status("subscriptions", from_referrers=SUBSCRIPTIONS)
        .deletion_waits_for_referrers()
        .admits(
            ApplicationSpec,
            on_update(validate_application_update),
            context_exists,
            rules(validate_application),
            certificates_resolve,
            subscriptions_within_certificates,
            remote=dry_run_application,
        )
        .reads_back()
        .complete(Application)
    )


class Application(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps

    def skip_update(self, obj: Mapping[str, Any]) -> bool:
        # Without a context an application has nowhere to go; the CRD requires one anyway.
        return not ((obj.get("spec") or {}).get("contextRef") or {}).get("name")

    async def _resolve_certificates(self, attempt: Attempt) -> None:
        """Inline every certificate ``ref``."""
        await resolve_certificates(attempt.spec, attempt.namespace, self.deps.sources)

    async def _identify(self, attempt: Attempt) -> bool:
        """Resolve certificates and set the ids of ``attempt.spec``; True in HRID mode."""
        spec = attempt.spec
        await self._resolve_certificates(attempt)
        status_id = attempt.live_status.get("id")
        hrid_mode = not status_id or attempt.automation_managed
        if hrid_mode:
            spec["hrid"] = hrid(attempt.namespace, attempt.name)
        else:
            spec["id"] = str(status_id)
            spec["hrid"] = str(status_id)
        return bool(hrid_mode)

    async def read_back(self, attempt: Attempt) -> ReadBack | None:
        context = await self.deps.resolver.client_for(attempt)
        if context is None:
            return None
        hrid_mode = await self._identify(attempt)
        remote = await remote_copy(get_application(context.client, str(attempt.spec["hrid"]),
                                                   hrid_contains_uuid=not hrid_mode))
        return ReadBack("Application", attempt.spec, remote)

    async def apply(self, attempt: Attempt) -> Outcome:
        spec = attempt.spec
        context = await self.deps.resolver.client_for(attempt)
        if context is None:
            return Outcome()
        hrid_mode = await self._identify(attempt)
        state = await upsert_application(context.client, spec, hrid_contains_uuid=not hrid_mode)
        return Outcome(
            status={
                "id": state.id,
                "organizationId": state.organization_id,
                "environmentId": state.environment_id,
                "errors": errors_status(state.errors.severe, state.errors.warning),
            },
            conditions=(cond.automation_api_managed(attempt.generation),) if hrid_mode else (),
        )

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        refuse_while_subscribed(self.deps, APPLICATIONS, attempt)
        application = f"application [{hrid(attempt.namespace, attempt.name)}]"
        context, leftovers = await context_for_cleanup(attempt, self.deps, application)
        if context is None:
            return Cleanup(leftovers=leftovers)
        status_id = attempt.live_status.get("id")
        if attempt.automation_managed or not status_id:
            await delete_application(context.client, hrid(attempt.namespace, attempt.name))
        else:
            await delete_application(context.client, str(status_id), hrid_contains_uuid=True)
        return Cleanup()

"""Application: Automation API upsert/delete with client certificates resolved (gko-behavior.md 9).

Identity follows the v4 rules: HRID mode for new objects (and those already marked
``AutomationAPIManaged``), UUID mode (``hridContainsUUID=true``) for applications an older
operator created. TLS client certificates may come inline or from Secrets/ConfigMaps; those
sources are indexed so that changing one re-reconciles the applications using it, and carry the
hash of the data last sent (``gravitee.io/last-spec-hash``) so that an edit made while the
operator was down is noticed at start-up.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from controller.apim.applications import delete_application, upsert_application
from controller.apim.ids import hrid
from controller.informers.store import Store
from controller.kube.objects import patch_metadata
from controller.kube.rest import KubeApiError
from controller.reconcilers import conditions as cond
from controller.reconcilers import vocabulary as v
from controller.reconcilers.apidefinition import errors_status
from controller.reconcilers.base import Attempt, KindReconciler, SkeletonDeps
from controller.reconcilers.contexts import ContextResolver
from controller.reconcilers.errors import IllegalStateError, ResolveRefError
from controller.reconcilers.kinds import APPLICATIONS, CONFIG_MAPS, SECRETS
from controller.reconcilers.predicates import source_data_hash
from controller.reconcilers.refs import source_index_value, template_sources

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


def application_sources(obj: Mapping[str, Any]) -> Iterable[str]:
    """Index values of the template sources and certificate sources of an application."""
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    values = list(template_sources(obj))
    for certificate in _certificates(obj.get("spec") or {}):
        ref = certificate.get("ref") if isinstance(certificate, Mapping) else None
        if isinstance(ref, Mapping) and ref.get("name"):
            kind, ref_namespace, name, _ = _cert_ref(ref, namespace)
            value = source_index_value(kind, f"{ref_namespace}/{name}")
            if value not in values:
                values.append(value)
    return values


class ApplicationReconciler(KindReconciler):
    controller = "application"
    kind = APPLICATIONS
    finalizer = v.FINALIZER_APPLICATION

    def __init__(self, deps: SkeletonDeps, store: Store, *, resolver: ContextResolver) -> None:
        super().__init__(deps, store)
        self.resolver = resolver

    def skip_update(self, obj: Mapping[str, Any]) -> bool:
        # Without a context an application has nowhere to go; the CRD requires one anyway.
        return not ((obj.get("spec") or {}).get("contextRef") or {}).get("name")

    def _resolve_certificates(self, attempt: Attempt) -> list[tuple[str, str, str]]:
        """Inline every certificate ``ref``; returns the (kind, namespace, name) sources read."""
        spec = attempt.spec
        read: list[tuple[str, str, str]] = []
        for index, certificate in enumerate(_certificates(spec)):
            if not isinstance(certificate, dict):
                continue
            ref = certificate.pop("ref", None)
            if isinstance(ref, Mapping) and ref.get("name"):
                kind, namespace, name, key = _cert_ref(ref, attempt.namespace)
                data = (
                    self.sources.secret_data(namespace, name)
                    if kind == "secret"
                    else self.sources.configmap_data(namespace, name)
                )
                plural = "secrets" if kind == "secret" else "configmaps"
                if data is None:
                    raise ResolveRefError(
                        f"failed to resolve certificate ref [{namespace}/{name}] key [{key}]: "
                        f'{plural} "{name}" not found'
                    )
                if not data.get(key):
                    raise ResolveRefError(
                        f"failed to resolve certificate ref [{namespace}/{name}] key [{key}]: "
                        f"key [{key}] not found"
                    )
                certificate["content"] = data[key]
                read.append((kind, namespace, name))
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
        return read

    async def _remember_certificate_sources(self, sources: Iterable[tuple[str, str, str]]) -> None:
        """Record on each certificate source the hash of the data APIM was given, so that a
        certificate rotated while the operator is down is noticed at start-up (the wiring's
        stale-source check); template sources get the same from the skeleton's bookkeeping.
        No finalizer: upstream never blocks the deletion of a certificate Secret/ConfigMap."""
        for kind, namespace, name in dict.fromkeys(sources):
            store = self.deps.secrets if kind == "secret" else self.deps.configmaps
            source = store.get(f"{namespace}/{name}")
            if source is None:
                continue
            data_hash = source_data_hash(source)
            annotations = (source.get("metadata") or {}).get("annotations") or {}
            if annotations.get(v.ANNOTATION_LAST_SPEC_HASH) == data_hash:
                continue
            try:
                await patch_metadata(
                    self.api,
                    SECRETS if kind == "secret" else CONFIG_MAPS,
                    namespace,
                    name,
                    annotations={v.ANNOTATION_LAST_SPEC_HASH: data_hash},
                )
            except KubeApiError as error:
                if not error.not_found:
                    raise

    async def apply(self, attempt: Attempt) -> None:
        spec = attempt.spec
        context = await self.resolver.client_for(attempt.obj)
        if context is None:
            return
        certificate_sources = self._resolve_certificates(attempt)
        status_id = attempt.live_status.get("id")
        hrid_mode = not status_id or attempt.automation_managed
        if hrid_mode:
            spec["hrid"] = hrid(attempt.namespace, attempt.name)
        else:
            spec["id"] = str(status_id)
            spec["hrid"] = str(status_id)
        state = await upsert_application(context.client, spec, hrid_contains_uuid=not hrid_mode)
        attempt.status.update(
            id=state.id,
            organizationId=state.organization_id,
            environmentId=state.environment_id,
            errors=errors_status(state.errors.severe, state.errors.warning),
        )
        if hrid_mode:
            attempt.extra_conditions.append(cond.automation_api_managed(attempt.generation))
        await self._remember_certificate_sources(certificate_sources)

    async def cleanup(self, attempt: Attempt) -> None:
        context = await self.resolver.client_for(attempt.obj)
        if context is None:
            return
        status_id = attempt.live_status.get("id")
        if attempt.automation_managed or not status_id:
            await delete_application(context.client, hrid(attempt.namespace, attempt.name))
        else:
            await delete_application(context.client, str(status_id), hrid_contains_uuid=True)

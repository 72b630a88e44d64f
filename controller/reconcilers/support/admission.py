"""Admission rules shared by several kinds, at reconcile time and in the webhooks
(docs/behavior/admission.md).

``enforce`` runs the rules of ``controller.models.validation`` that need no lookup at the start of
a reconcile: the first severe one becomes ``IllegalStateError`` (``Accepted=False``, no retry until
the spec changes), so an object created while the webhook was down is still stopped before it
reaches APIM or a gateway ConfigMap. The checks below are what the kinds declare with
``builder.admits``: the same rules plus those that look other objects up in the informer caches
(never a list call), and the APIM dry run helpers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from controller.apim import ApimError
from controller.apim.results import ImportErrors
from controller.keys import ObjectKey
from controller.kube.kinds import CONFIG_MAPS, MANAGEMENT_CONTEXTS, SECRETS
from controller.kube.resources import ResourceKind
from controller.kube.rest import KubeApiError
from controller.models.convert import ModelError, structure
from controller.models.validation import FieldError, severe
from controller.reconcilers.framework.admission import Review, unreachable_warning
from controller.reconcilers.framework.errors import IllegalStateError, ReconcileError
from controller.reconcilers.framework.runtime import RuntimeDeps
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.templating import SourceRef

M = TypeVar("M")


def enforce(
    spec: Mapping[str, Any], model: type[M], rules: Callable[[M], list[FieldError]]
) -> None:
    """Raise ``IllegalStateError`` for a spec the model rejects or that breaks a severe rule."""
    try:
        structured = structure(dict(spec), model)
    except ModelError as error:
        raise IllegalStateError(f"invalid spec: {error}") from error
    problems = severe(rules(structured))
    if problems:
        raise IllegalStateError(problems[0].message)


def rules(check: Callable[[M], Sequence[FieldError]]) -> Callable[[Review[M], RuntimeDeps],
                                                                 Sequence[FieldError]]:
    """A pure rule over the structured spec, as an admission check."""

    def run(review: Review[M], deps: RuntimeDeps) -> Sequence[FieldError]:
        return check(review.model)

    return run


def on_update(check: Callable[[M, M], Sequence[FieldError]]) -> Callable[
        [Review[M], RuntimeDeps], Sequence[FieldError]]:
    """A rule over the old and new specs, run on UPDATE only."""

    def run(review: Review[M], deps: RuntimeDeps) -> Sequence[FieldError]:
        if review.old_model is None:
            return []
        return check(review.old_model, review.model)

    return run


def watched(deps: RuntimeDeps, namespace: str) -> bool:
    """Whether the caches hold ``namespace`` (all namespaces, or one of ``NAMESPACE``)."""
    return not deps.namespaces or namespace in deps.namespaces


def context_key(review: Review[Any]) -> ObjectKey | None:
    return ObjectKey.from_ref(review.spec.get("contextRef"), review.namespace)


async def exists(deps: RuntimeDeps, kind: ResourceKind, key: ObjectKey) -> bool:
    """``key`` is in the cache, or, on a miss, in the API server: one GET, only when the cache
    does not hold it (an object applied a moment ago in the same ``kubectl apply -f dir/`` may
    not have reached the cache yet)."""
    store = deps.stores[kind.plural]
    if store.get(key) is not None:
        return True
    try:
        if kind in (SECRETS, CONFIG_MAPS):
            # Secrets and ConfigMaps are read through the sources (their cached copies have
            # no data), which GET them on a miss likewise.
            ref = SourceRef("secret" if kind == SECRETS else "configmap", key.namespace, key.name)
            return (await deps.sources.load([ref])).found[(ref.kind, ref.key)] is not None
        return await deps.sources.read(kind, store, key) is not None
    except KubeApiError:
        return False


async def context_exists(review: Review[Any], deps: RuntimeDeps) -> list[FieldError]:
    """The ManagementContext a ``contextRef`` names is in the cluster (upstream's message)."""
    key = context_key(review)
    if key is None or await exists(deps, MANAGEMENT_CONTEXTS, key):
        return []
    return [
        FieldError(
            "spec.contextRef",
            f"resource [{review.name}] references management context [{key}] that doesn't "
            "exist in the cluster",
        )
    ]


# --- the APIM dry run ---------------------------------------------------------------------------


async def context_client(review: Review[Any], deps: RuntimeDeps) -> ContextClient | None:
    """The APIM client of the object's (stored) context, or None when it has none or the
    context cannot be used (the cache checks reported that already)."""
    key = context_key(review)
    if key is None:
        return None
    try:
        context = await deps.resolver.context_object(key, referrer=review.name)
        return await deps.resolver.client_for_context(key, context)
    except ReconcileError:
        return None


def dry_run_findings(errors: ImportErrors) -> list[FieldError]:
    """APIM's answer to a dry run: its severe errors refuse (the first is reported), its
    warnings are admission warnings."""
    out = [FieldError("spec", message) for message in errors.severe]
    out += [FieldError("spec", message, "warning") for message in errors.warning]
    return out


async def dry_run(
    review: Review[Any],
    deps: RuntimeDeps,
    call: Callable[[ContextClient], Awaitable[ImportErrors]],
) -> list[FieldError]:
    """Run ``call`` (a ``dryRun=true`` upsert) through the object's context. APIM refusing the
    request (4xx) refuses the object with APIM's message; an APIM that does not answer, or
    answers 5xx, admits it with a warning."""
    context = await context_client(review, deps)
    if context is None:
        return []
    try:
        return dry_run_findings(await call(context))
    except ApimError as error:
        if error.status is not None and 400 <= error.status < 500:
            return [FieldError("spec", error.message or str(error))]
        cause = (
            f"unable to reach APIM, [{context.resolved.base_url}] is not available"
            if error.status is None
            else f"APIM answered {error.status}"
        )
        return [FieldError("spec", unreachable_warning(cause), "warning")]


def named_rules(check: Callable[..., Sequence[FieldError]]) -> Callable[
        [Review[Any], RuntimeDeps], Sequence[FieldError]]:
    """A pure rule over the structured spec that names the object (``api_name=``)."""

    def run(review: Review[Any], deps: RuntimeDeps) -> Sequence[FieldError]:
        return check(review.model, api_name=review.name)

    return run

"""What the v2 and v4 API kinds share: inlining the ApiResources they reference, the status
``errors`` shape, what they reference, and where their gateway ConfigMap lives
(docs/behavior/api-resource.md, docs/behavior/local-configmaps.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from controller import vocabulary as v
from controller.apim.results import ImportErrors
from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.kinds import (
    API_RESOURCES,
    GROUPS,
    INGRESSES,
    MANAGEMENT_CONTEXTS,
    NOTIFICATIONS,
    SUBSCRIPTIONS,
)
from controller.kube.resources import ResourceKind
from controller.models.convert import ModelError, structure
from controller.models.notification import NotificationSpec
from controller.models.validation import (
    FieldError,
    validate_notification_refs,
    validate_subscribed_plans_kept,
)
from controller.reconcilers.framework.admission import Check, Review
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import (
    IllegalStateError,
    ReconcileError,
    ResolveRefError,
)
from controller.reconcilers.framework.referrers import ReferrerGroup
from controller.reconcilers.framework.runtime import Attempt, Cleanup, RuntimeDeps
from controller.reconcilers.support.admission import exists
from controller.reconcilers.support.context_paths import declare_claims
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.references import (
    context_refs,
    group_refs,
    notification_group_refs,
    notification_refs,
    resource_refs,
    spec_of,
    template_sources,
)
from controller.reconcilers.support.sources import CachedSources
from controller.reconcilers.support.templating import (
    TEMPLATING_FINALIZER,
)

RESOURCE_FIELDS = ("enabled", "name", "type", "configuration")


def declare_api(builder: Builder) -> Builder:
    """The references both API kinds declare: an edit of any of these objects (or one
    appearing) re-reconciles the APIs using it, and a Group or Notification still used cannot
    be deleted (docs/behavior/references.md#propagation); and the context paths they claim."""
    return declare_claims(
        builder.references(MANAGEMENT_CONTEXTS, refs=context_refs, follow=True)
        .references(API_RESOURCES, refs=resource_refs, follow=True)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .references(GROUPS, refs=group_refs)
        .references(NOTIFICATIONS, refs=notification_refs)
        .references(GROUPS, refs=notification_group_refs, via=NOTIFICATIONS)
    )


def refuse_while_subscribed(deps: RuntimeDeps, kind: ResourceKind, attempt: Attempt) -> None:
    """An API or Application with Subscriptions is not deleted behind their back: the deletion
    waits, names them (read from the indexes now), and completes once the last one is gone
    (docs/behavior/subscription.md#deleting-what-a-subscription-uses)."""
    keys = sorted(
        key
        for group in deps.referrers.of(kind, attempt.key)
        if group.kind == SUBSCRIPTIONS  # portal listings and pages hold an API too
        for key in group.keys
    )
    if keys:
        what = "the application" if kind.kind == "Application" else "the API definition"
        raise ReconcileError(
            f"cannot delete [{attempt.key}] because it is referenced in {len(keys)} "
            f"subscriptions. Subscriptions must be deleted before {what}. Subscriptions: "
            f"[{' '.join(str(key) for key in keys)}]"
        )


def errors_status(severe_errors: Any, warnings: Any) -> dict[str, list[str]]:
    return {"severe": list(severe_errors), "warning": list(warnings)}


class _Remote(Protocol):
    """What the Automation API answers for an object it keeps (``AutomationState``,
    ``GroupState``)."""

    @property
    def id(self) -> str: ...
    @property
    def organization_id(self) -> str: ...
    @property
    def environment_id(self) -> str: ...
    @property
    def errors(self) -> ImportErrors: ...


def automation_status(
    state: _Remote, context: ContextClient, **fields: Any
) -> dict[str, Any]:
    """The status of an object the Automation API keeps: its id, where it lives (from the
    context when APIM's answer leaves it out), ``fields``, and the import errors."""
    return {
        "id": state.id,
        "organizationId": state.organization_id or context.resolved.organization_id,
        "environmentId": state.environment_id or context.resolved.environment_id,
        **fields,
        "errors": errors_status(state.errors.severe, state.errors.warning),
    }


async def inline_resources(attempt: Attempt, deps: RuntimeDeps) -> None:
    """Replace every ``resources[].ref`` of ``attempt.spec`` by the resource's content."""
    resources = await resolve_resources(
        attempt.spec,
        namespace=attempt.namespace,
        resources=deps.stores[API_RESOURCES.plural],
        sources=deps.sources if deps.templating else None,
    )
    if resources is not None:
        attempt.spec["resources"] = resources


async def resolve_resources(
    spec: Mapping[str, Any],
    *,
    namespace: str,
    resources: Store,
    sources: CachedSources | None,
) -> list[Any] | None:
    """``spec.resources`` with every ``{ref}`` replaced by the referenced resource's content."""
    entries = spec.get("resources")
    if entries is None:
        return None
    resolved: list[Any] = []
    for entry in entries:
        key = ObjectKey.from_ref(entry.get("ref") if isinstance(entry, Mapping) else None,
                                 namespace)
        if key is None:
            resolved.append(entry)
            continue
        resource = resources.get(key)
        if resource is None:
            raise ResolveRefError(f'apiresources.gravitee.io "{key.name}" not found')
        resource_spec: dict[str, Any] = dict(resource.get("spec") or {})
        if sources is not None:
            resource_spec = (await sources.compile(resource_spec, namespace=key.namespace)).spec
        resolved.append({k: resource_spec[k] for k in RESOURCE_FIELDS if k in resource_spec})
    return resolved


async def context_for_cleanup(
    attempt: Attempt, deps: RuntimeDeps, what: str
) -> tuple[ContextClient | None, str | None]:
    """The context client a deletion needs, or, when the context (or its credentials) no
    longer exists, None and what may remain in APIM: a deletion never waits for it."""
    try:
        return await deps.resolver.client_for(attempt), None
    except ResolveRefError as gone:
        return None, f"{what} may remain in APIM: {gone}"


async def delete_when_unreferenced(
    attempt: Attempt,
    deps: RuntimeDeps,
    *,
    kind: ResourceKind,
    still_used: Callable[[str, list[ReferrerGroup]], str],
    what: str,
    delete: Callable[[ContextClient], Awaitable[object]],
) -> Cleanup:
    """The deletion of an object others name (a group, a shared policy group): refused with
    ``still_used``'s message while any object of the cluster references it, then ``delete``
    in APIM, or, when the context is gone, what may remain there."""
    holders = deps.referrers.of(kind, attempt.key)
    if holders:
        raise ReconcileError(still_used(attempt.name, holders))
    context, leftovers = await context_for_cleanup(attempt, deps, what)
    if context is None:
        return Cleanup(leftovers=leftovers)
    await delete(context)
    return Cleanup()


def stopped(definition: Mapping[str, Any]) -> bool:
    return bool(definition.get("state", "STARTED") == "STOPPED")


def is_template(obj: Mapping[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return bool(annotations.get(v.ANNOTATION_TEMPLATE) == "true")


def refuse_while_template_used(deps: RuntimeDeps, kind: ResourceKind, attempt: Attempt) -> None:
    """An Ingress API template is not deleted while an Ingress names it: the deletion waits,
    names them (from the Ingresses' template index), and completes once the last one let go
    (docs/behavior/ingress.md#templates)."""
    names = sorted(key.name for group in deps.referrers.of(kind, attempt.key)
                   if group.kind == INGRESSES for key in group.keys)
    if names:
        raise ReconcileError(f"can not delete {attempt.name} [{' '.join(names)}] depends on it")


# --- moving an API to another context -----------------------------------------------------------


def context_annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """``gravitee.io/last-context-ref`` for an object that has none yet (a new object, or one
    reconciled before the operator recorded it): there is nothing to move from, so the current
    context is recorded in the reconcile's first metadata write. A recorded value is only ever
    changed after a successful sync (``leave_previous_context``)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if v.ANNOTATION_LAST_CONTEXT_REF in annotations:
        return {}
    current = ObjectKey.from_ref(
        (obj.get("spec") or {}).get("contextRef"), ObjectKey.of(obj).namespace
    )
    return {v.ANNOTATION_LAST_CONTEXT_REF: str(current) if current else ""}


async def leave_previous_context(
    attempt: Attempt,
    deps: RuntimeDeps,
    current: ContextClient | None,
    *,
    what: str,
    delete: Callable[[ContextClient], Awaitable[None]],
) -> tuple[dict[str, str], tuple[str, ...]]:
    """After the API was synced to ``current``: remove the copy it left in the context it was
    moved from, then record ``current``. Returns the annotations to record and the warnings.

    Nothing is deleted when both contexts lead to the same APIM environment (the delete would
    remove the copy just synced). When the previous context no longer exists the copy may
    remain, and a warning says so: the move itself is never blocked by it.
    """
    annotations = (attempt.obj.get("metadata") or {}).get("annotations") or {}
    recorded = annotations.get(v.ANNOTATION_LAST_CONTEXT_REF)
    now = str(current.key) if current is not None else ""
    if recorded is None or recorded == now:
        return {}, ()
    record = {v.ANNOTATION_LAST_CONTEXT_REF: now}
    if not recorded:
        return record, ()
    try:
        previous_key = ObjectKey.parse(recorded)
        previous = await deps.resolver.client_for_context(
            previous_key,
            await deps.resolver.context_object(previous_key, referrer=attempt.name),
        )
    except (ResolveRefError, IllegalStateError, ValueError) as gone:
        return record, (f"{what} may remain in the APIM of management context [{recorded}]: "
                        f"{gone}",)
    if current is not None and previous.resolved.urls == current.resolved.urls:
        return record, ()
    await delete(previous)
    return record, ()


# --- admission (docs/behavior/admission.md#apis-v2-and-v4) ----------------------------------------


def skip_templates(check: Check[Any]) -> Check[Any]:
    """Objects annotated ``gravitee.io/template: "true"`` (Ingress templates) are not checked."""

    def run(
        review: Review[Any], deps: RuntimeDeps
    ) -> Sequence[FieldError] | Awaitable[Sequence[FieldError]]:
        return [] if is_template(review.obj) else check(review, deps)

    return run


async def resource_refs_exist(review: Review[Any], deps: RuntimeDeps) -> list[FieldError]:
    """Every ``resources[].ref`` names an ApiResource of the cluster."""
    for index, entry in enumerate(review.spec.get("resources") or []):
        ref = entry.get("ref") if isinstance(entry, Mapping) else None
        key = ObjectKey.from_ref(ref, review.namespace)
        if key is not None and not await exists(deps, API_RESOURCES, key):
            return [
                FieldError(
                    f"spec.resources[{index}].ref",
                    f"api references resource [{key}] that does not exist in the cluster",
                )
            ]
    return []


def notifications_checked(review: Review[Any], deps: RuntimeDeps) -> list[FieldError]:
    """Notification references: they exist, are for APIs, one console notification at most;
    a console group that does not exist is a warning."""
    notifications: dict[str, NotificationSpec | None] = {}
    groups = deps.stores[GROUPS.plural]
    existing_groups: set[str] = set()
    for key in notification_refs(review.obj):
        found = deps.stores[NOTIFICATIONS.plural].get(key)
        spec = None
        if found is not None:
            try:
                spec = structure(dict(found.get("spec") or {}), NotificationSpec)
            except ModelError:
                spec = None
        notifications[str(key)] = spec
        for group in notification_group_refs(found) if found is not None else ():
            if groups.get(group) is not None:
                existing_groups.add(str(group))
    return validate_notification_refs(
        review.model.notifications_refs,
        namespace=review.namespace,
        notifications=notifications,
        existing_groups=existing_groups,
    )


def subscribed_plans_kept(kind: ResourceKind, plan_names: Callable[[Mapping[str, Any]], set[str]]
                          ) -> Check[Any]:
    """On UPDATE, every plan a Subscription of this API uses is still in the spec."""

    def run(review: Review[Any], deps: RuntimeDeps) -> Sequence[FieldError]:
        if not review.is_update:
            return []
        subscriptions = deps.stores[SUBSCRIPTIONS.plural]
        used = [
            str(spec_of(found).get("plan") or "")
            for group in deps.referrers.of(kind, review.key)
            if group.kind == SUBSCRIPTIONS
            for key in group.keys
            if (found := subscriptions.get(key)) is not None
        ]
        return validate_subscribed_plans_kept(
            plan_names(review.spec), used, api_key=str(review.key), api_name=review.name
        )

    return run

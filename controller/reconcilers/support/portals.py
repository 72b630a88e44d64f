"""What the portal kinds share (docs/behavior/portal.md): who references which Portal or v4
API, where a listing, link or page lives in APIM and through which context, and the sentence a
blocked deletion says.

A listing, a link or a page has no context of its own: it lives under its Portal (or, for a
page, under its v4 API) in that object's context, so the parent is read from the informer cache
and must already be synced to APIM. A missing or unsynced parent is a missing reference: the
object is reconciled again when the parent appears or gets its APIM id (the builder's
declarations in each kind's ``setup``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar

import attrs

from controller import vocabulary as v
from controller.apim import portals
from controller.apim.ids import hrid
from controller.informers.predicates import dependency_or_status_changed
from controller.keys import ObjectKey
from controller.kube.kinds import API_V4_DEFINITIONS, PORTALS
from controller.kube.resources import ResourceKind
from controller.kube.rest import KubeApiError
from controller.models.validation import FieldError, validate_parent_update
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework import referrers
from controller.reconcilers.framework.admission import Review
from controller.reconcilers.framework.errors import (
    IllegalStateError,
    ReconcileError,
    ResolveRefError,
)
from controller.reconcilers.framework.readback import remote_copy
from controller.reconcilers.framework.referrers import ReferrerGroup
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    ReadBack,
    RuntimeDeps,
)
from controller.reconcilers.support.api_common import automation_status
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.references import spec_of

# A parent is only usable once it exists in APIM: its id arriving re-queues its dependants.
PARENT_SYNCED = dependency_or_status_changed("id")
V4_KINDS = ("", "ApiV4Definition", "apiv4definitions")


def _namespace(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _keys(refs: Iterable[Any], namespace: str) -> list[ObjectKey]:
    return list(dict.fromkeys(k for k in (ObjectKey.from_ref(r, namespace) for r in refs) if k))


def portal_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    """The Portal a listing, a link or a page belongs to."""
    return _keys([spec_of(obj).get("portalRef")], _namespace(obj))


def listed_api_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    """The v4 APIs a PortalListing lists."""
    apis = spec_of(obj).get("apis")
    entries = apis if isinstance(apis, list) else []
    return _keys([e.get("ref") for e in entries if isinstance(e, Mapping)], _namespace(obj))


def documented_api_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    """The v4 API a Documentation page documents."""
    return _keys([spec_of(obj).get("apiRef")], _namespace(obj))


@attrs.frozen
class Placement:
    """Where an object lives in APIM, and the context that APIM belongs to."""

    parent: portals.Parent
    context: ObjectKey


def _synced(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("status") or {}).get("id"))


def _legacy_id(obj: Mapping[str, Any]) -> str | None:
    """The UUID an older operator gave an API (never marked AutomationAPIManaged)."""
    status = obj.get("status") or {}
    if cond.is_true(status.get("conditions") or [], cond.AUTOMATION_API_MANAGED):
        return None
    return str(status["id"]) if status.get("id") else None


# -- the rules on parents, shared by the reconcile and the admission check below ---------------


def portal_key(what: str, name: str, spec: Mapping[str, Any], namespace: str) -> ObjectKey:
    key = ObjectKey.from_ref(spec.get("portalRef"), namespace)
    if key is None:
        raise IllegalStateError(f"{what} [{name}] needs spec.portalRef")
    return key


def portal_context(what: str, name: str, key: ObjectKey,
                   portal: Mapping[str, Any] | None) -> ObjectKey:
    """The context of the Portal ``key`` (``portal``: the object read, None when missing)."""
    if portal is None:
        raise ResolveRefError(f"{what} [{name}] references portal [{key}] that can't be resolved")
    context = ObjectKey.from_ref(spec_of(portal).get("contextRef"), key.namespace)
    if context is None:
        raise IllegalStateError(
            f"referenced portal [{key}] has no management context (spec.contextRef)"
        )
    return context


def v4_api_key(what: str, name: str, ref: Any, namespace: str) -> ObjectKey:
    """The key of the API ``ref`` names, which must be a v4 API."""
    key = ObjectKey.from_ref(ref, namespace)
    if key is None:
        raise IllegalStateError(f"{what} [{name}] has an API entry without a ref")
    if str((ref or {}).get("kind") or "") not in V4_KINDS:
        raise IllegalStateError(
            f"{what} [{name}] references API [{key}] which is not a v4 API "
            "(only ApiV4Definition can be used)"
        )
    return key


def api_context(what: str, name: str, key: ObjectKey, api: Mapping[str, Any] | None) -> ObjectKey:
    """The context of the v4 API ``key`` (``api``: the object read, None when missing)."""
    if api is None:
        raise ResolveRefError(f"{what} [{name}] references API [{key}] that can't be resolved")
    context = ObjectKey.from_ref(spec_of(api).get("contextRef"), key.namespace)
    if context is None:
        raise IllegalStateError(
            f"referenced API [{key}] has no management context (spec.contextRef)"
        )
    return context


def same_context(ref: Any, context: ObjectKey, portal: ObjectKey) -> None:
    """A listed API lives in the portal's context."""
    if context != portal:
        raise IllegalStateError(
            f"API [{(ref or {}).get('name')}] belongs to context [{context}], "
            f"not to the portal's context [{portal}]"
        )


class PortalChild(KindLogic):
    """A listing, a link or a page: upserted under its parent, deleted from it."""

    what: ClassVar[str]
    """How messages name the kind (``portal listing``)."""

    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps
        self.portals = deps.stores[PORTALS.plural]
        self.apis = deps.stores[API_V4_DEFINITIONS.plural]

    # -- what each kind says ----------------------------------------------------------------

    def validate(self, attempt: Attempt) -> None:
        """Rules checked before anything is resolved or sent."""

    def placement(self, attempt: Attempt) -> Placement:
        raise NotImplementedError

    def body(self, attempt: Attempt, placement: Placement) -> dict[str, Any]:
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------

    def portal(self, attempt: Attempt, child: portals.PortalChild) -> Placement:
        key = portal_key(self.what, attempt.name, attempt.spec, attempt.namespace)
        portal = self.portals.get(key)
        context = portal_context(self.what, attempt.name, key, portal)
        if not _synced(portal or {}):
            raise ResolveRefError(f"portal [{key}] is not synced to APIM yet")
        return Placement(portals.Parent.portal(hrid(key.namespace, key.name), child), context)

    def api(self, attempt: Attempt, ref: Any) -> tuple[str, ObjectKey]:
        """The APIM HRID and the context of the v4 API ``ref`` names."""
        key = v4_api_key(self.what, attempt.name, ref, attempt.namespace)
        api = self.apis.get(key)
        context = api_context(self.what, attempt.name, key, api)
        if api is None or not _synced(api):
            raise ResolveRefError(f"API [{key}] is not synced to APIM yet")
        return _legacy_id(api) or hrid(key.namespace, key.name), context

    async def read_back(self, attempt: Attempt) -> ReadBack | None:
        placement = self.placement(attempt)
        body = self.body(attempt, placement)
        context = await self.deps.resolver.client_through(
            attempt, placement.context, referrer=attempt.name
        )
        remote = await remote_copy(portals.get(context.client, placement.parent,
                                               str(body["hrid"])))
        return ReadBack(type(self).__name__, body, remote)

    async def apply(self, attempt: Attempt) -> Outcome:
        self.validate(attempt)
        placement = self.placement(attempt)
        body = self.body(attempt, placement)
        context = await self.deps.resolver.client_through(
            attempt, placement.context, referrer=attempt.name
        )
        state = await portals.upsert(context.client, placement.parent, body)
        annotations, warnings = await self._leave_previous_parent(attempt, placement, context)
        return Outcome(
            status=automation_status(state, context),
            conditions=(cond.automation_api_managed(attempt.generation),),
            annotations=annotations,
            warnings=warnings,
        )

    async def _leave_previous_parent(
        self, attempt: Attempt, placement: Placement, current: ContextClient
    ) -> tuple[dict[str, str], tuple[str, ...]]:
        """After the upsert under ``placement``: remove the copy left under the parent the
        object was last synced under (another portal, an API, another context), then record
        the new one. A previous context that is gone leaves the copy, with a warning; the move
        itself is never blocked."""
        annotations = (attempt.obj.get("metadata") or {}).get("annotations") or {}
        recorded = str(annotations.get(v.ANNOTATION_LAST_PARENT_REF) or "")
        now = f"{placement.context} {placement.parent.path}"
        if recorded == now:
            return {}, ()
        record = {v.ANNOTATION_LAST_PARENT_REF: now}
        if not recorded:
            return record, ()
        ref = hrid(attempt.namespace, attempt.name)
        context_text, _, parent_path = recorded.partition(" ")
        try:
            parent = portals.Parent.parse(parent_path)
            previous_key = ObjectKey.parse(context_text)
            previous = await self.deps.resolver.client_for_context(
                previous_key,
                await self.deps.resolver.context_object(previous_key, referrer=attempt.name),
            )
        except (ResolveRefError, IllegalStateError, ValueError) as gone:
            return record, (
                f"{self.what} [{ref}] may remain under [{parent_path}] in the APIM of "
                f"management context [{context_text}]: {gone}",
            )
        if parent != placement.parent or previous.resolved.urls != current.resolved.urls:
            await portals.delete(previous.client, parent, ref)
        return record, ()

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        ref = hrid(attempt.namespace, attempt.name)
        try:
            placement = self.placement(attempt)
            context = await self.deps.resolver.client_through(
                attempt, placement.context, referrer=attempt.name
            )
        except (IllegalStateError, ResolveRefError) as gone:
            if not attempt.live_status.get("id"):
                return Cleanup()  # never reached APIM: nothing to remove
            # The parent (or its context) went first: nowhere to delete from; never wait.
            return Cleanup(leftovers=f"{self.what} [{ref}] may remain in APIM: {gone}")
        await portals.delete(context.client, placement.parent, ref)
        return Cleanup()


LABELS = {
    "PortalListing": "portal listings",
    "PortalLink": "portal links",
    "Documentation": "documentation pages",
}


def refuse_while_relied_on(name: str, groups: list[ReferrerGroup], target: str) -> None:
    """A Portal (or a v4 API) is not deleted behind the backs of what is placed on it: the
    deletion waits and names them (read from the indexes now), and completes by itself once the
    last one is gone or no longer references it."""
    if not groups:
        return
    labels = {LABELS.get(group.kind.kind, group.kind.plural) for group in groups}
    label = labels.pop() if len(labels) == 1 else "portal objects"
    raise ReconcileError(
        f"[{name}] cannot be deleted because {referrers.total(groups)} {label} are relying on "
        f"this {target}: {referrers.named(groups)}. Delete them, or remove this {target} from "
        "them, first"
    )


def parent_unchanged(review: Review[Any], deps: RuntimeDeps) -> list[FieldError]:
    """On UPDATE, the child's parent (``portalRef``, a page's ``apiRef``) is the one it was
    created with (docs/behavior/admission.md#portal-kinds)."""
    if review.old is None:
        return []

    def ref(obj: Mapping[str, Any], field: str) -> str | None:
        key = ObjectKey.from_ref((obj.get("spec") or {}).get(field), review.namespace)
        return str(key) if key is not None else None

    return validate_parent_update(
        ref(review.old, "portalRef"), ref(review.obj, "portalRef"),
        ref(review.old, "apiRef"), ref(review.obj, "apiRef"),
    )


async def _read(deps: RuntimeDeps, kind: ResourceKind, key: ObjectKey) -> dict[str, Any] | None:
    """From the cache, or one GET when the cache does not hold it (a parent applied a moment
    ago in the same ``kubectl apply -f dir/``, a namespace outside the watched ones)."""
    try:
        return await deps.sources.read(kind, deps.stores[kind.plural], key)
    except KubeApiError:
        return None


def parents_resolve(what: str) -> Callable[[Review[Any], RuntimeDeps],
                                           Awaitable[list[FieldError]]]:
    """The admission check of a listing, a link or a page: its parent (the Portal, or a page's
    v4 API) exists and has a context, and every listed API is a v4 API of the portal's context,
    with the reconcile's rules. Whether they are synced to APIM yet is left to the reconcile,
    which waits for them (docs/behavior/admission.md#portal-kinds)."""

    async def check(review: Review[Any], deps: RuntimeDeps) -> list[FieldError]:
        spec, namespace, name = review.spec, review.namespace, review.name
        try:
            if spec.get("apiRef"):
                key = v4_api_key(what, name, spec["apiRef"], namespace)
                api_context(what, name, key, await _read(deps, API_V4_DEFINITIONS, key))
                return []
            key = portal_key(what, name, spec, namespace)
            context = portal_context(what, name, key, await _read(deps, PORTALS, key))
            entries = spec.get("apis")
            for entry in entries if isinstance(entries, list) else []:
                ref = entry.get("ref") if isinstance(entry, Mapping) else None
                api_key = v4_api_key(what, name, ref, namespace)
                listed = api_context(what, name, api_key,
                                     await _read(deps, API_V4_DEFINITIONS, api_key))
                same_context(ref, listed, context)
        except ReconcileError as error:
            return [FieldError("spec", str(error))]
        return []

    return check

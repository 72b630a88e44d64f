"""Portal: a next-generation developer portal and its navigation, upserted and deleted through
the Automation API (docs/behavior/portal.md).

Always addressed by its HRID (``<namespace>-<name>``). The top navbar is given as
``structure.topNavbar``, or through the deprecated ``navigation`` list (a warning says so); both
at once are refused before anything reaches APIM. Listings, links and documentation pages placed
on the portal hold its deletion: it waits, names them (from the indexes), and completes by
itself once the last one is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller import vocabulary as v
from controller.apim import portals
from controller.apim.ids import hrid
from controller.kube.kinds import MANAGEMENT_CONTEXTS, PORTALS
from controller.models.base import given
from controller.models.portal import PortalSpec
from controller.models.validation import FieldError
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import IllegalStateError
from controller.reconcilers.framework.readback import remote_copy
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    ReadBack,
    RuntimeDeps,
)
from controller.reconcilers.support.admission import context_exists, enforce, rules
from controller.reconcilers.support.api_common import (
    automation_status,
    context_annotations,
    context_for_cleanup,
    leave_previous_context,
)
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.portals import refuse_while_relied_on
from controller.reconcilers.support.references import context_refs, template_sources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER

NO_CONTEXT = "a context is required to reconcile a portal"
BOTH_NAVIGATIONS = "navigation and structure cannot be used at the same time"
DEPRECATED_NAVIGATION = "spec.navigation is deprecated, use spec.structure.topNavbar instead"


def setup(builder: Builder) -> None:
    (
        builder.reconciles(PORTALS, finalizer=v.FINALIZER_PORTAL, processing_status=False)
        .references(MANAGEMENT_CONTEXTS, refs=context_refs, follow=True)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .deletion_waits_for_referrers()
        .admits(PortalSpec, context_exists, rules(navigation_rules))
        .reads_back()
        .complete(Portal)
    )


def navigation_rules(spec: PortalSpec) -> list[FieldError]:
    """Upstream's admission rules on the two ways of giving the navigation."""
    if given(spec.navigation) and given(spec.structure):
        return [FieldError("spec.navigation", BOTH_NAVIGATIONS)]
    if given(spec.navigation):
        return [FieldError("spec.navigation", DEPRECATED_NAVIGATION, severity="warning")]
    return []


def body(spec: Mapping[str, Any], ref: str) -> dict[str, Any]:
    """What APIM receives: the spec without the cluster-only reference, named by its HRID."""
    out = {k: value for k, value in spec.items() if k != "contextRef"}
    out["hrid"] = ref
    return out


class Portal(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps

    async def read_back(self, attempt: Attempt) -> ReadBack | None:
        context = await self.deps.resolver.client_for(attempt)
        if context is None:
            return None
        ref = hrid(attempt.namespace, attempt.name)
        remote = await remote_copy(
            portals.get(context.client, portals.Parent.environment(), ref)
        )
        return ReadBack("Portal", body(attempt.spec, ref), remote)

    async def apply(self, attempt: Attempt) -> Outcome:
        enforce(attempt.spec, PortalSpec, navigation_rules)
        context = await self.deps.resolver.client_for(attempt)
        if context is None:  # the schema allows it; there is nowhere to send the portal
            raise IllegalStateError(NO_CONTEXT)
        state = await portals.upsert(
            context.client,
            portals.Parent.environment(),
            body(attempt.spec, hrid(attempt.namespace, attempt.name)),
        )
        deprecated = "navigation" in attempt.spec
        ref = hrid(attempt.namespace, attempt.name)
        annotations, moved = await leave_previous_context(
            attempt, self.deps, context, what=f"portal [{ref}]",
            delete=lambda previous: self._delete(previous, ref),
        )
        return Outcome(
            status=automation_status(state, context),
            conditions=(cond.automation_api_managed(attempt.generation),),
            annotations=annotations,
            warnings=((DEPRECATED_NAVIGATION,) if deprecated else ()) + moved,
        )

    def annotations(self, obj: Mapping[str, Any]) -> Mapping[str, str]:
        return context_annotations(obj)

    async def _delete(self, context: ContextClient, ref: str) -> None:
        await portals.delete(context.client, portals.Parent.environment(), ref)

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        refuse_while_relied_on(
            attempt.name, self.deps.referrers.of(PORTALS, attempt.key), "portal"
        )
        ref = hrid(attempt.namespace, attempt.name)
        context, leftovers = await context_for_cleanup(attempt, self.deps, f"portal [{ref}]")
        if context is None:
            return Cleanup(leftovers=leftovers)
        await self._delete(context, ref)
        return Cleanup()

"""Group: an APIM user group, upserted and deleted through the Automation API
(docs/behavior/group.md).

HRID mode for new objects (and those already ``AutomationAPIManaged``); a group an older
operator created keeps its UUID (``hridContainsUUID=true``). APIs name groups through
``groupRefs`` (and Notifications through ``console.groupRefs``): editing a group re-reconciles
them, and a group still named by any of them cannot be deleted; the deletion waits, says who
holds it, and completes by itself once the last one lets go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller import vocabulary as v
from controller.apim.groups import delete_group, get_group, upsert_group
from controller.apim.ids import hrid
from controller.apim.results import ImportErrors
from controller.kube.kinds import GROUPS, MANAGEMENT_CONTEXTS
from controller.models.group import GroupSpec
from controller.models.validation import FieldError
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework.admission import Review
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import IllegalStateError
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
from controller.reconcilers.support.admission import context_exists, dry_run
from controller.reconcilers.support.api_common import automation_status, delete_when_unreferenced
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.references import context_refs, template_sources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER

NO_CONTEXT = "a context is required to reconcile a group"


def setup(builder: Builder) -> None:
    (
        builder.reconciles(GROUPS, finalizer=v.FINALIZER_GROUP)
        .references(MANAGEMENT_CONTEXTS, refs=context_refs, follow=True)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .deletion_waits_for_referrers()
        .admits(GroupSpec, context_exists, remote=dry_run_group)
        .reads_back()
        .complete(Group)
    )


def still_used_message(name: str, holders: list[ReferrerGroup]) -> str:
    """Who still names the group, computed from the indexes at this moment."""
    parts = [
        f"{group.kind.kind} [{', '.join(str(key) for key in sorted(group.keys))}]"
        for group in holders
    ]
    return (
        f"[{name}] cannot be deleted because it is still referenced by "
        f"{'; '.join(parts)}: remove those references first"
    )


def _legacy_id(attempt: Attempt) -> str | None:
    """The UUID of a group an older operator created (it has an id and was never marked
    ``AutomationAPIManaged``); None for a group in HRID mode."""
    status_id = attempt.live_status.get("id")
    if attempt.automation_managed or not status_id:
        return None
    return str(status_id)


def body(spec: Mapping[str, Any], ref: str, legacy: bool) -> dict[str, Any]:
    out = {k: value for k, value in spec.items() if k not in ("contextRef", "id", "hrid")}
    out["hrid"] = ref
    if legacy:
        out["id"] = ref
    return out


async def dry_run_group(review: Review[GroupSpec], deps: RuntimeDeps) -> list[FieldError]:
    """``PUT {AUTO}/groups?dryRun=true`` with the body the reconcile would send."""
    attempt = Attempt(review.key, review.old or review.obj, review.spec)
    legacy = _legacy_id(attempt)
    ref = legacy or hrid(review.namespace, review.name)

    async def call(context: ContextClient) -> ImportErrors:
        state = await upsert_group(context.client, body(review.spec, ref, legacy is not None),
                                   dry_run=True, hrid_contains_uuid=legacy is not None)
        return state.errors

    return await dry_run(review, deps, call)


class Group(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps

    def required_status(self) -> Mapping[str, Any]:
        return {"members": 0}

    async def read_back(self, attempt: Attempt) -> ReadBack | None:
        context = await self.deps.resolver.client_for(attempt)
        if context is None:
            return None
        legacy = _legacy_id(attempt)
        ref = legacy or hrid(attempt.namespace, attempt.name)
        remote = await remote_copy(
            get_group(context.client, ref, hrid_contains_uuid=legacy is not None)
        )
        return ReadBack("Group", body(attempt.spec, ref, legacy is not None), remote)

    async def apply(self, attempt: Attempt) -> Outcome:
        context = await self.deps.resolver.client_for(attempt)
        if context is None:
            raise IllegalStateError(NO_CONTEXT)
        legacy = _legacy_id(attempt)
        ref = legacy or hrid(attempt.namespace, attempt.name)
        state = await upsert_group(
            context.client, body(attempt.spec, ref, legacy is not None),
            hrid_contains_uuid=legacy is not None,
        )
        return Outcome(
            status=automation_status(state, context, members=state.member_count),
            conditions=()
            if legacy
            else (cond.automation_api_managed(attempt.generation),),
        )

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        legacy = _legacy_id(attempt)
        ref = legacy or hrid(attempt.namespace, attempt.name)
        return await delete_when_unreferenced(
            attempt, self.deps, kind=GROUPS, still_used=still_used_message,
            what=f"group [{hrid(attempt.namespace, attempt.name)}]",
            delete=lambda context: delete_group(
                context.client, ref, hrid_contains_uuid=legacy is not None),
        )

"""SharedPolicyGroup: a reusable chain of policy steps, upserted and deleted through the
Automation API (docs/behavior/shared-policy-group.md).

HRID mode for new objects (and those already ``AutomationAPIManaged``); a group an older
operator created keeps being addressed by its crossId (``hridContainsUUID=true``). v4 APIs name
groups in their flow steps; the v4 reconciler resolves them against this kind's objects, an
edit here re-reconciles those APIs, and a group still used cannot be deleted: the deletion
waits, names the APIs, and completes by itself once the last one lets go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller import vocabulary as v
from controller.apim.ids import hrid
from controller.apim.results import ImportErrors
from controller.apim.shared_policy_groups import (
    delete_shared_policy_group,
    get_shared_policy_group,
    upsert_shared_policy_group,
)
from controller.kube.kinds import MANAGEMENT_CONTEXTS, SHARED_POLICY_GROUPS
from controller.models.shared_policy_group import SharedPolicyGroupSpec
from controller.models.validation import FieldError, validate_shared_policy_group_update
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
from controller.reconcilers.support.admission import context_exists, dry_run, enforce, on_update
from controller.reconcilers.support.api_common import delete_when_unreferenced, errors_status
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.references import context_refs, template_sources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER


def setup(builder: Builder) -> None:
    (
        builder.reconciles(SHARED_POLICY_GROUPS, finalizer=v.FINALIZER_SHARED_POLICY_GROUP)
        .references(MANAGEMENT_CONTEXTS, refs=context_refs, follow=True)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .deletion_waits_for_referrers()
        .admits(
            SharedPolicyGroupSpec,
            on_update(validate_shared_policy_group_update),
            context_exists,
            remote=dry_run_spg,
        )
        .reads_back()
        .complete(SharedPolicyGroup)
    )


def still_used_message(name: str, holders: list[ReferrerGroup]) -> str:
    """Upstream's wording, with the APIs named (read from the indexes at this moment)."""
    keys = sorted(key for group in holders for key in group.keys)
    return (
        f"[{name}] cannot be deleted because {len(keys)} APIs are relying on this Shared Policy "
        f"Group: [{' '.join(str(key) for key in keys)}]"
    )


def legacy_ref(attempt: Attempt) -> str | None:
    """The crossId a group an older operator created is addressed by; None in HRID mode."""
    cross_id = attempt.live_status.get("crossId")
    if attempt.automation_managed or not cross_id:
        return None
    return str(cross_id)


def body(spec: Mapping[str, Any], ref: str, legacy: bool) -> dict[str, Any]:
    out = {k: value for k, value in spec.items() if k not in ("contextRef", "hrid")}
    out["hrid"] = ref
    if legacy:
        out["crossId"] = ref
    return out


async def dry_run_spg(
    review: Review[SharedPolicyGroupSpec], deps: RuntimeDeps
) -> list[FieldError]:
    """``PUT {AUTO}/shared-policy-groups?dryRun=true`` with the reconcile's body."""
    legacy = legacy_ref(Attempt(review.key, review.old or review.obj, review.spec))
    ref = legacy or hrid(review.namespace, review.name)

    async def call(context: ContextClient) -> ImportErrors:
        state = await upsert_shared_policy_group(
            context.client, body(review.spec, ref, bool(legacy)), dry_run=True,
            hrid_contains_uuid=legacy is not None,
        )
        return state.errors

    return await dry_run(review, deps, call)


class SharedPolicyGroup(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps

    async def read_back(self, attempt: Attempt) -> ReadBack | None:
        context = await self.deps.resolver.client_for(attempt)
        if context is None:
            return None
        legacy = legacy_ref(attempt)
        ref = legacy or hrid(attempt.namespace, attempt.name)
        remote = await remote_copy(
            get_shared_policy_group(context.client, ref, hrid_contains_uuid=legacy is not None)
        )
        return ReadBack("SharedPolicyGroup", body(attempt.spec, ref, bool(legacy)), remote)

    async def apply(self, attempt: Attempt) -> Outcome:
        enforce(attempt.spec, SharedPolicyGroupSpec, lambda _: [])
        context = await self.deps.resolver.client_for(attempt)
        if context is None:  # the schema requires it; an object written without the CRD
            raise IllegalStateError("a context is required to reconcile a shared policy group")
        legacy = legacy_ref(attempt)
        state = await upsert_shared_policy_group(
            context.client,
            body(attempt.spec, legacy or hrid(attempt.namespace, attempt.name), bool(legacy)),
            hrid_contains_uuid=legacy is not None,
        )
        return Outcome(
            status={
                "id": state.id,
                "crossId": state.cross_id,
                "organizationId": state.organization_id,
                "environmentId": state.environment_id,
                "errors": errors_status(state.errors.severe, state.errors.warning),
            },
            conditions=() if legacy else (cond.automation_api_managed(attempt.generation),),
        )

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        legacy = legacy_ref(attempt)
        ref = legacy or hrid(attempt.namespace, attempt.name)
        return await delete_when_unreferenced(
            attempt, self.deps, kind=SHARED_POLICY_GROUPS, still_used=still_used_message,
            what=f"shared policy group [{hrid(attempt.namespace, attempt.name)}]",
            delete=lambda context: delete_shared_policy_group(
                context.client, ref, hrid_contains_uuid=legacy is not None),
        )

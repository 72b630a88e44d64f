"""ApiV4Definition: Automation API upsert and/or a gateway ConfigMap (docs/behavior/api-v4.md).

``definitionContext.syncFrom: MANAGEMENT`` + ``contextRef`` upserts through the Automation API
(HRID mode, or UUID mode for objects an older operator created); ``syncFrom: KUBERNETES`` writes
the gateway ConfigMap, and also upserts when a context is set. Rules a schema cannot express
(e.g. STARTED without plans) are checked before anything is sent. A v4 API with neither a context
nor ``syncFrom: KUBERNETES`` has nowhere to go and says so (upstream silently accepted it).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import attrs

from controller import vocabulary as v
from controller.apim.apis_v4 import delete_api, get_api, upsert_api
from controller.apim.ids import hrid
from controller.apim.results import ImportErrors
from controller.informers.predicates import dependency_or_status_changed
from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.kinds import (
    API_RESOURCES,
    API_V4_DEFINITIONS,
    CONFIG_MAPS,
    DOCUMENTATIONS,
    GROUPS,
    NOTIFICATIONS,
    PORTAL_LISTINGS,
    SHARED_POLICY_GROUPS,
    SUBSCRIPTIONS,
)
from controller.models.api_v4 import ApiV4DefinitionSpec
from controller.models.convert import ModelError, structure
from controller.models.shared_policy_group import SharedPolicyGroupSpec
from controller.models.validation import (
    FieldError,
    validate_api_v4,
    validate_api_v4_update,
    validate_shared_policy_group_phases,
)
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework.admission import Review
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import IllegalStateError, ResolveRefError
from controller.reconcilers.framework.readback import remote_copy
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    ReadBack,
    RuntimeDeps,
)
from controller.reconcilers.support import context_paths
from controller.reconcilers.support.admission import (
    context_exists,
    dry_run,
    enforce,
    named_rules,
    on_update,
    watched,
)
from controller.reconcilers.support.api_common import (
    context_annotations,
    context_for_cleanup,
    declare_api,
    errors_status,
    inline_resources,
    leave_previous_context,
    notifications_checked,
    refuse_while_subscribed,
    resolve_resources,
    resource_refs_exist,
    stopped,
    subscribed_plans_kept,
)
from controller.reconcilers.support.context_paths import check_context_paths
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.groups import console_notification, resolve_group_refs
from controller.reconcilers.support.identity import (
    V4Identity,
    automation_body,
    populate_v4_ids,
    v4_definition_context,
)
from controller.reconcilers.support.local_configmap import api_configmap, gateway_definition
from controller.reconcilers.support.portals import refuse_while_relied_on
from controller.reconcilers.support.references import flow_steps, shared_policy_group_refs

NOWHERE = (
    "the API has no contextRef and definitionContext.syncFrom is MANAGEMENT: it is neither "
    "synced to APIM nor deployed to a gateway ConfigMap"
)


def gateway_configmaps(obj: Mapping[str, Any]) -> list[ObjectKey]:
    """A v4 API synced from Kubernetes and not STOPPED has a gateway ConfigMap."""
    spec = obj.get("spec") or {}
    if v4_definition_context(spec)["syncFrom"] != "KUBERNETES" or stopped(spec):
        return []
    return [ObjectKey.of(obj)]


SHARED_POLICY_GROUP_POLICY = "shared-policy-group-policy"


def setup(builder: Builder) -> None:
    declare_api(
        builder.reconciles(API_V4_DEFINITIONS, finalizer=v.FINALIZER_API).owns(
            CONFIG_MAPS, expected=gateway_configmaps
        )
    ).references(
        # A group's crossId only exists once it was reconciled: its arrival re-queues too.
        SHARED_POLICY_GROUPS,
        refs=shared_policy_group_refs,
        when=dependency_or_status_changed("crossId"),
    ).derived_status(
        "subscriptions", from_referrers=SUBSCRIPTIONS
    ).deletion_waits_for_referrers().reads_back().admits(
        ApiV4DefinitionSpec,
        on_update(validate_api_v4_update),
        subscribed_plans_kept(API_V4_DEFINITIONS, plan_keys),
        named_rules(validate_api_v4),
        shared_policy_groups_checked,
        context_exists,
        context_paths.admission_check,
        resource_refs_exist,
        notifications_checked,
        remote=dry_run_v4,
    ).complete(ApiV4Definition)


def plan_keys(spec: Mapping[str, Any]) -> set[str]:
    """What a Subscription names a v4 plan by: its key in ``plans``."""
    return set(spec.get("plans") or {})


def shared_policy_groups_checked(
    review: Review[ApiV4DefinitionSpec], deps: RuntimeDeps
) -> list[FieldError]:
    """Flow steps name SharedPolicyGroups of the cluster that run in the step's phase."""
    store = deps.stores[SHARED_POLICY_GROUPS.plural]
    groups: dict[str, SharedPolicyGroupSpec | None] = {}
    for key in shared_policy_group_refs(review.obj):
        found = store.get(key)
        if found is None and not watched(deps, key.namespace):
            continue  # not in the caches: the reconcile resolves it
        try:
            groups[str(key)] = (
                structure(dict(found.get("spec") or {}), SharedPolicyGroupSpec)
                if found is not None else None
            )
        except ModelError:
            groups[str(key)] = None
    return validate_shared_policy_group_phases(
        review.model, namespace=review.namespace, groups=groups
    )


async def dry_run_v4(review: Review[ApiV4DefinitionSpec], deps: RuntimeDeps) -> list[FieldError]:
    """``PUT {AUTO}/apis?dryRun=true`` with the body the reconcile would send."""
    old_status = (review.old or {}).get("status") or {}
    spec = dict(review.spec)
    resources = await resolve_resources(
        spec, namespace=review.namespace, resources=deps.stores[API_RESOURCES.plural],
        sources=deps.sources if deps.templating else None,
    )
    if resources is not None:
        spec["resources"] = resources
    spec["definitionContext"] = v4_definition_context(spec)
    identity = populate_v4_ids(
        spec, namespace=review.namespace, name=review.name, status=old_status,
        automation_managed=cond.is_true(old_status.get("conditions") or [],
                                        cond.AUTOMATION_API_MANAGED),
        has_context=True,
    )

    async def call(context: ContextClient) -> ImportErrors:
        state = await upsert_api(context.client, automation_body(identity.spec), dry_run=True,
                                 hrid_contains_uuid=identity.hrid_contains_uuid)
        return state.errors

    return await dry_run(review, deps, call)


def validate(spec: Mapping[str, Any], name: str) -> None:
    enforce(spec, ApiV4DefinitionSpec, partial(validate_api_v4, api_name=name))


@attrs.frozen
class _Prepared:
    context: ContextClient | None
    identity: V4Identity
    unresolved: tuple[cond.Condition, ...]
    to_kubernetes: bool


class ApiV4Definition(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps
        self.configmaps = deps.gateway_configmaps
        self.groups: Store = deps.stores[GROUPS.plural]
        self.notifications: Store = deps.stores[NOTIFICATIONS.plural]
        self.shared_policy_groups: Store = deps.stores[SHARED_POLICY_GROUPS.plural]

    async def _prepare(self, attempt: Attempt) -> _Prepared:
        """Everything ``apply`` computes before it sends: also what a read-back compares."""
        spec = attempt.spec
        validate(spec, attempt.name)
        check_context_paths(attempt, self.deps)
        await inline_resources(attempt, self.deps)
        unresolved = resolve_group_refs(self.groups, spec, attempt.namespace, attempt.generation)
        definition_context = v4_definition_context(spec)
        spec["definitionContext"] = definition_context
        to_kubernetes = definition_context["syncFrom"] == "KUBERNETES"
        context = await self.deps.resolver.client_for(attempt)
        self._resolve_shared_policy_groups(attempt, context.key if context else None)
        if context is None and not to_kubernetes:
            # A local API switched to MANAGEMENT without a context must still leave the
            # gateway: otherwise its stale ConfigMap keeps serving it while it says it failed.
            await self.configmaps.remove(attempt.key)
            raise IllegalStateError(NOWHERE)
        identity = populate_v4_ids(
            spec,
            namespace=attempt.namespace,
            name=attempt.name,
            status=attempt.live_status,
            automation_managed=attempt.automation_managed,
            has_context=context is not None,
        )
        if context is not None:
            self._console_notification(attempt, identity.spec)
        return _Prepared(context, identity, unresolved, to_kubernetes)

    async def read_back(self, attempt: Attempt) -> ReadBack | None:
        prepared = await self._prepare(attempt)
        if prepared.context is None:
            return None  # only deployed to a gateway ConfigMap: repaired as an owned object
        identity = prepared.identity
        remote = await remote_copy(get_api(prepared.context.client, identity.api_ref,
                                           hrid_contains_uuid=identity.hrid_contains_uuid))
        return ReadBack("ApiV4Definition", automation_body(identity.spec), remote)

    async def apply(self, attempt: Attempt) -> Outcome:
        prepared = await self._prepare(attempt)
        context, identity, to_kubernetes = (
            prepared.context, prepared.identity, prepared.to_kubernetes
        )
        definition = identity.spec
        organization = environment = None
        status: dict[str, Any] = {"state": definition.get("state", "STARTED")}
        conditions: tuple[cond.Condition, ...] = prepared.unresolved
        if context is not None:
            state = await upsert_api(
                context.client,
                automation_body(definition),
                hrid_contains_uuid=identity.hrid_contains_uuid,
            )
            organization, environment = state.organization_id, state.environment_id
            status = {
                "id": state.id,
                "crossId": state.cross_id,
                "organizationId": organization,
                "environmentId": environment,
                "state": state.state or definition.get("state", "STARTED"),
                "plans": dict(state.plans),
                "errors": errors_status(state.errors.severe, state.errors.warning),
            }
            if identity.mode == "hrid":
                conditions += (cond.automation_api_managed(attempt.generation),)
            definition = dict(definition, id=state.id or definition.get("id"))
            for key, plan in (definition.get("plans") or {}).items():
                plan_id = state.plans.get(str(plan.get("hrid") or key))
                if plan_id:
                    plan["id"] = plan_id
        await self._sync_configmap(attempt, definition, to_kubernetes, organization, environment)
        annotations, warnings = await leave_previous_context(
            attempt, self.deps, context, what=f"API [{hrid(attempt.namespace, attempt.name)}]",
            delete=lambda previous: self._delete_remote(attempt, previous),
        )
        return Outcome(
            status=status, conditions=conditions, annotations=annotations, warnings=warnings
        )

    def annotations(self, obj: Mapping[str, Any]) -> Mapping[str, str]:
        return context_annotations(obj)

    def _resolve_shared_policy_groups(self, attempt: Attempt, context: ObjectKey | None) -> None:
        """Every flow step naming a SharedPolicyGroup runs it: the step becomes the shared
        policy group policy with the group's crossId (docs/behavior/shared-policy-group.md)."""
        for step in flow_steps(attempt.spec):
            ref = step.get("sharedPolicyGroupRef") if isinstance(step, dict) else None
            key = ObjectKey.from_ref(ref, attempt.namespace)
            if key is None:
                continue
            group = self.shared_policy_groups.get(key)
            if group is None:
                raise ResolveRefError(f'sharedpolicygroups.gravitee.io "{key.name}" not found')
            group_spec = group.get("spec") or {}
            group_context = ObjectKey.from_ref(group_spec.get("contextRef"), key.namespace)
            if context is not None and group_context != context:
                raise IllegalStateError(
                    f"shared policy group [{key}] belongs to context [{group_context}], "
                    f"not to the API's context [{context}]"
                )
            cross_id = (group.get("status") or {}).get("crossId")
            if not cross_id:
                raise ResolveRefError(
                    f"shared policy group [{key}] has not been synced to APIM yet"
                )
            configuration: dict[str, Any] = {"sharedPolicyGroupId": cross_id}
            if group_spec.get("hrid"):
                configuration["hrid"] = group_spec["hrid"]
            step.update(
                name=key.name, policy=SHARED_POLICY_GROUP_POLICY, configuration=configuration
            )

    def _console_notification(self, attempt: Attempt, definition: dict[str, Any]) -> None:
        """The first console API Notification referenced, in the v4 shape
        (docs/behavior/notification.md)."""
        definition.pop("consoleNotification", None)
        settings = console_notification(
            self.notifications, self.groups, definition, attempt.namespace
        )
        if settings is not None:
            definition["consoleNotification"] = {
                "events": settings.events,
                "groups": settings.groups,
            }

    async def _sync_configmap(
        self,
        attempt: Attempt,
        definition: dict[str, Any],
        to_kubernetes: bool,
        organization: str | None,
        environment: str | None,
    ) -> None:
        if not to_kubernetes or stopped(definition):
            await self.configmaps.remove(attempt.key)
            return
        api_id = str(definition.get("id") or hrid(attempt.namespace, attempt.name))
        await self.configmaps.write(
            api_configmap(
                kind="ApiV4Definition",
                name=attempt.name,
                namespace=attempt.namespace,
                uid=str(attempt.obj["metadata"].get("uid") or ""),
                definition=gateway_definition(definition, api_id=api_id),
                organization_id=organization,
                environment_id=environment,
            )
        )

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        refuse_while_subscribed(self.deps, API_V4_DEFINITIONS, attempt)
        placed = [
            group
            for group in self.deps.referrers.of(API_V4_DEFINITIONS, attempt.key)
            if group.kind in (DOCUMENTATIONS, PORTAL_LISTINGS)
        ]
        refuse_while_relied_on(attempt.name, placed, "API")
        leftovers = None
        if (attempt.spec.get("contextRef") or {}).get("name"):
            api = f"API [{hrid(attempt.namespace, attempt.name)}]"
            context, leftovers = await context_for_cleanup(attempt, self.deps, api)
            if context is not None:
                await self._delete_remote(attempt, context)
        await self.configmaps.remove(attempt.key)
        return Cleanup(leftovers=leftovers)

    async def _delete_remote(self, attempt: Attempt, context: ContextClient) -> None:
        """Delete the API from ``context``'s APIM, addressed as it was last synced."""
        status_id = attempt.live_status.get("id")
        if attempt.automation_managed or not status_id:
            await delete_api(context.client, hrid(attempt.namespace, attempt.name))
        else:
            await delete_api(context.client, str(status_id), hrid_contains_uuid=True)

"""ApiDefinition (v2 API): import into APIM and/or a ConfigMap for gateways
(docs/behavior/api-v2.md).

``local: false`` + ``contextRef`` imports through ``PUT {V1}/apis/import-crd``; ``local: true``
writes the gateway ConfigMap (and imports too when a context is set); STOPPED local APIs have no
ConfigMap. Rules a schema cannot express (e.g. STARTED without plans, an inline resource without
a type) are checked before anything is sent, as for v4 APIs. Switching ``local`` off removes the
ConfigMap here, in the reconciler (upstream relied on a webhook side effect). An API with no
context and ``local: false`` has nowhere to go and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import attrs

from controller import vocabulary as v
from controller.apim.apis_v2 import delete_api, get_api, import_api
from controller.apim.client import ApimClient
from controller.apim.results import ImportErrors
from controller.informers.store import Store
from controller.keys import ObjectKey
from controller.kube.kinds import (
    API_DEFINITIONS,
    API_RESOURCES,
    CONFIG_MAPS,
    GROUPS,
    NOTIFICATIONS,
    SUBSCRIPTIONS,
)
from controller.models.api_v2 import ApiDefinitionSpec
from controller.models.validation import FieldError, validate_api_v2
from controller.reconcilers.framework import conditions as cond
from controller.reconcilers.framework.admission import Review
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
from controller.reconcilers.support import context_paths
from controller.reconcilers.support.admission import (
    context_exists,
    dry_run,
    enforce,
    named_rules,
)
from controller.reconcilers.support.api_common import (
    context_annotations,
    context_for_cleanup,
    declare_api,
    errors_status,
    inline_resources,
    is_template,
    leave_previous_context,
    notifications_checked,
    refuse_while_subscribed,
    refuse_while_template_used,
    resolve_resources,
    resource_refs_exist,
    skip_templates,
    stopped,
    subscribed_plans_kept,
)
from controller.reconcilers.support.context_paths import check_context_paths
from controller.reconcilers.support.contexts import ContextClient
from controller.reconcilers.support.groups import console_notification, resolve_group_refs
from controller.reconcilers.support.identity import populate_v2_ids, v2_definition_context
from controller.reconcilers.support.local_configmap import api_configmap

NO_CONTEXT = "a context is required when setting local to false"


def gateway_configmaps(obj: Mapping[str, Any]) -> list[ObjectKey]:
    """A local, not STOPPED, non-template v2 API has a gateway ConfigMap."""
    spec = obj.get("spec") or {}
    if not spec.get("local", False) or stopped(spec) or is_template(obj):
        return []
    return [ObjectKey.of(obj)]


def setup(builder: Builder) -> None:
    declare_api(
        builder.reconciles(API_DEFINITIONS, finalizer=v.FINALIZER_API).owns(
            CONFIG_MAPS, expected=gateway_configmaps
        )
    ).derived_status(
        "subscriptions", from_referrers=SUBSCRIPTIONS
    ).deletion_waits_for_referrers().reads_back().admits(
        ApiDefinitionSpec,
        *(
            skip_templates(check)
            for check in (
                subscribed_plans_kept(API_DEFINITIONS, plan_names),
                context_exists,
                named_rules(validate_api_v2),
                context_paths.admission_check,
                resource_refs_exist,
                notifications_checked,
            )
        ),
        remote=dry_run_v2,
    ).complete(ApiDefinition)


def plan_names(spec: Mapping[str, Any]) -> set[str]:
    """What a Subscription names a v2 plan by: its ``name``."""
    return {str(plan.get("name")) for plan in spec.get("plans") or [] if isinstance(plan, Mapping)}


async def dry_run_v2(review: Review[ApiDefinitionSpec], deps: RuntimeDeps) -> list[FieldError]:
    """``PUT {V1}/apis/import-crd?dryRun=true`` with the body the reconcile would send."""
    if is_template(review.obj):
        return []
    spec = dict(review.spec)
    spec["definition_context"] = v2_definition_context(spec)
    resources = await resolve_resources(
        spec, namespace=review.namespace, resources=deps.stores[API_RESOURCES.plural],
        sources=deps.sources if deps.templating else None,
    )
    if resources is not None:
        spec["resources"] = resources
    populated = populate_v2_ids(
        spec, namespace=review.namespace, name=review.name,
        uid=str((review.obj.get("metadata") or {}).get("uid") or ""),
        status=(review.old or {}).get("status") or {},
    )
    body = {k: value for k, value in populated.items() if k not in ("contextRef", "local")}

    async def call(context: ContextClient) -> ImportErrors:
        return (await import_api(context.client, body, dry_run=True)).errors

    return await dry_run(review, deps, call)


def validate(spec: Mapping[str, Any], name: str) -> None:
    enforce(spec, ApiDefinitionSpec, partial(validate_api_v2, api_name=name))


@attrs.frozen
class _V1Entity:
    """The v1 API entity, as a read-back answer."""

    raw: Mapping[str, Any]

    @classmethod
    async def read(cls, client: ApimClient, api_id: str) -> _V1Entity:
        return cls(await get_api(client, api_id))


class ApiDefinition(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps
        self.configmaps = deps.gateway_configmaps
        self.groups: Store = deps.stores[GROUPS.plural]
        self.notifications: Store = deps.stores[NOTIFICATIONS.plural]

    def skip_update(self, obj: Mapping[str, Any]) -> bool:
        # Ingress API templates are never pushed anywhere (the Ingress controller reads them).
        return is_template(obj)

    def finalizer_for(self, obj: Mapping[str, Any]) -> str | None:
        # A template only carries the finalizer that keeps it while Ingresses use it.
        return v.FINALIZER_API_TEMPLATE if is_template(obj) else None

    async def _prepare(
        self, attempt: Attempt
    ) -> tuple[dict[str, Any], tuple[cond.Condition, ...]]:
        """The definition ``apply`` sends (also what a read-back compares), and the soft
        reference failures."""
        spec = attempt.spec
        validate(spec, attempt.name)
        check_context_paths(attempt, self.deps)
        spec["definition_context"] = v2_definition_context(spec)
        await inline_resources(attempt, self.deps)
        unresolved = resolve_group_refs(self.groups, spec, attempt.namespace, attempt.generation)
        self._console_notification(attempt, spec)
        metadata = attempt.obj["metadata"]
        populated = populate_v2_ids(
            spec,
            namespace=attempt.namespace,
            name=attempt.name,
            uid=str(metadata.get("uid") or ""),
            status=attempt.live_status,
        )
        return populated, unresolved

    async def read_back(self, attempt: Attempt) -> ReadBack | None:
        populated, _ = await self._prepare(attempt)
        context = await self.deps.resolver.client_for(attempt)
        api_id = attempt.live_status.get("id")
        if context is None or not api_id:
            return None  # only deployed to a gateway ConfigMap: repaired as an owned object
        body = {k: value for k, value in populated.items() if k not in ("contextRef", "local")}
        remote = await remote_copy(_V1Entity.read(context.client, str(api_id)))
        return ReadBack("ApiDefinition", body, remote)

    async def apply(self, attempt: Attempt) -> Outcome:
        populated, unresolved = await self._prepare(attempt)
        local = bool(attempt.spec.get("local", False))
        context = await self.deps.resolver.client_for(attempt)
        if context is None:
            if not local:
                raise IllegalStateError(NO_CONTEXT)
            await self._sync_configmap(attempt, populated, None, None)
            previous_id = attempt.live_status.get("id")
            annotations, warnings = await leave_previous_context(
                attempt, self.deps, None, what=f"API [{previous_id or attempt.key}]",
                delete=lambda previous: self._delete_remote(previous, previous_id),
            )
            return Outcome(
                status={"state": populated.get("state", "STARTED"), "id": populated["id"]},
                conditions=unresolved, annotations=annotations, warnings=warnings,
            )
        body = {k: value for k, value in populated.items() if k not in ("contextRef", "local")}
        result = await import_api(context.client, body)
        status = {
            "id": result.id,
            "crossId": result.cross_id,
            "organizationId": result.organization_id,
            "environmentId": result.environment_id,
            "state": result.state,
            "plans": dict(result.plans),
            "errors": errors_status(result.errors.severe, result.errors.warning),
        }
        if local:
            # APIM matches on crossId and may know the API under another id (created by
            # another cluster, or before the CR was re-created): gateways must serve that id,
            # or subscriptions made in APIM would not match. Upstream kept the computed one.
            populated["id"] = result.id or populated["id"]
            for plan in populated.get("plans") or []:
                plan["id"] = result.plans.get(plan.get("crossId"), plan.get("id"))
                plan["api"] = result.id
            await self._sync_configmap(
                attempt, populated, result.organization_id, result.environment_id
            )
        else:
            await self.configmaps.remove(attempt.key)
        previous_id = attempt.live_status.get("id")
        annotations, warnings = await leave_previous_context(
            attempt, self.deps, context, what=f"API [{previous_id or attempt.key}]",
            delete=lambda previous: self._delete_remote(previous, previous_id),
        )
        return Outcome(
            status=status, conditions=unresolved, annotations=annotations, warnings=warnings
        )

    def annotations(self, obj: Mapping[str, Any]) -> Mapping[str, str]:
        return context_annotations(obj)

    async def _delete_remote(self, context: ContextClient, api_id: Any) -> None:
        # Without an id it was never imported by this operator: nothing to delete.
        if api_id:
            await delete_api(context.client, str(api_id))

    def _console_notification(self, attempt: Attempt, spec: dict[str, Any]) -> None:
        """The first console API Notification referenced becomes the API's console
        notification settings (docs/behavior/api-v2.md#update, step 4)."""
        spec.pop("consoleNotificationConfiguration", None)
        settings = console_notification(self.notifications, self.groups, spec, attempt.namespace)
        if settings is not None:
            spec["consoleNotificationConfiguration"] = {
                "hooks": settings.events,
                "groups": settings.groups,
                "config_type": "PORTAL",
                "origin": "KUBERNETES",
            }

    async def _sync_configmap(
        self, attempt: Attempt, definition: dict[str, Any], org: str | None, env: str | None
    ) -> None:
        if stopped(definition):
            await self.configmaps.remove(attempt.key)
            return
        await self.configmaps.write(
            api_configmap(
                kind="ApiDefinition",
                name=attempt.name,
                namespace=attempt.namespace,
                uid=str(attempt.obj["metadata"].get("uid") or ""),
                definition=definition,
                organization_id=org,
                environment_id=env,
            )
        )

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        if is_template(attempt.obj):
            refuse_while_template_used(self.deps, API_DEFINITIONS, attempt)
            return Cleanup()
        refuse_while_subscribed(self.deps, API_DEFINITIONS, attempt)
        leftovers = None
        api_id = attempt.live_status.get("id")
        if (attempt.spec.get("contextRef") or {}).get("name"):
            context, leftovers = await context_for_cleanup(
                attempt, self.deps, f"API [{api_id or attempt.key}]"
            )
            if context is not None:
                await self._delete_remote(context, api_id)
        await self.configmaps.remove(attempt.key)
        return Cleanup(leftovers=leftovers)

"""ApiDefinition (v2 API): import into APIM and/or a ConfigMap for gateways (gko-behavior.md 6).

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

from controller.apim.apis_v2 import delete_api, import_api
from controller.informers.store import Store
from controller.kube.objects import get_object
from controller.kube.resources import ResourceKind
from controller.models.api_v2 import ApiDefinitionSpec
from controller.models.validation import validate_api_v2
from controller.reconcilers import conditions as cond
from controller.reconcilers import vocabulary as v
from controller.reconcilers.admission import enforce
from controller.reconcilers.apiresource import ApiReconciler
from controller.reconcilers.base import Attempt, SkeletonDeps
from controller.reconcilers.configmaps import LocalConfigMaps
from controller.reconcilers.contexts import ContextResolver
from controller.reconcilers.errors import IllegalStateError, ReconcileError
from controller.reconcilers.identity import populate_v2_ids, v2_definition_context
from controller.reconcilers.kinds import API_DEFINITIONS, GROUPS, NOTIFICATIONS
from controller.reconcilers.local_configmap import api_configmap
from controller.reconcilers.refs import ref_key

NO_CONTEXT = "a context is required when setting local to false"
REASON_GROUP_NOT_FOUND = "GroupNotFound"


def errors_status(severe_errors: Any, warnings: Any) -> dict[str, list[str]]:
    return {"severe": list(severe_errors), "warning": list(warnings)}


def validate(spec: Mapping[str, Any], name: str) -> None:
    enforce(spec, ApiDefinitionSpec, partial(validate_api_v2, api_name=name))


class ApiDefinitionReconciler(ApiReconciler):
    controller = "apidefinition"
    kind = API_DEFINITIONS
    finalizer = v.FINALIZER_API

    def __init__(
        self,
        deps: SkeletonDeps,
        store: Store,
        *,
        resolver: ContextResolver,
        resources: Store,
        configmaps: LocalConfigMaps,
        groups: Store | None = None,
        notifications: Store | None = None,
    ) -> None:
        """``groups``/``notifications``: informer caches of those kinds; without them (None,
        the default) the few APIs that reference Groups or Notifications read them directly."""
        super().__init__(deps, store, resolver=resolver, resources=resources, configmaps=configmaps)
        self.groups = groups
        self.notifications = notifications

    async def _read(
        self, kind: ResourceKind, cache: Store | None, namespace: str, name: str
    ) -> dict[str, Any] | None:
        if cache is not None:
            return cache.get(f"{namespace}/{name}")
        return await get_object(self.api, kind, namespace, name)

    def skip_update(self, obj: Mapping[str, Any]) -> bool:
        # Ingress API templates are never pushed anywhere (the Ingress controller reads them).
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        return bool(annotations.get(v.ANNOTATION_TEMPLATE) == "true")

    async def apply(self, attempt: Attempt) -> None:
        spec = attempt.spec
        validate(spec, attempt.name)
        local = bool(spec.get("local", False))
        spec["definition_context"] = v2_definition_context(spec)
        self.inline_resources(attempt)
        await self._resolve_group_refs(attempt, spec)
        await self._console_notification(attempt, spec)
        metadata = attempt.obj["metadata"]
        populated = populate_v2_ids(
            spec,
            namespace=attempt.namespace,
            name=attempt.name,
            uid=str(metadata.get("uid") or ""),
            status=attempt.live_status,
        )
        context = await self.resolver.client_for(attempt.obj)
        if context is None:
            if not local:
                raise IllegalStateError(NO_CONTEXT)
            await self._sync_configmap(attempt, populated, None, None)
            attempt.status.update(state=populated.get("state", "STARTED"), id=populated["id"])
            return
        body = {k: value for k, value in populated.items() if k not in ("contextRef", "local")}
        result = await import_api(context.client, body)
        attempt.status.update(
            id=result.id,
            crossId=result.cross_id,
            organizationId=result.organization_id,
            environmentId=result.environment_id,
            state=result.state,
            plans=dict(result.plans),
            errors=errors_status(result.errors.severe, result.errors.warning),
        )
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
            await self.configmaps.remove(attempt.namespace, attempt.name)

    async def _group_names(self, refs: Any, namespace: str) -> tuple[list[str], list[str]]:
        """Names of the referenced Group objects, and the ``ns/name`` of the missing ones."""
        names: list[str] = []
        missing: list[str] = []
        for ref in refs or []:
            key = ref_key(ref, namespace)
            if key is None:
                continue
            group_namespace, _, group_name = key.partition("/")
            group = await self._read(GROUPS, self.groups, group_namespace, group_name)
            name = ((group or {}).get("spec") or {}).get("name")
            if group is None or not name:
                missing.append(key)
            elif name not in names:
                names.append(str(name))
        return names, missing

    async def _resolve_group_refs(self, attempt: Attempt, spec: dict[str, Any]) -> None:
        """``groupRefs`` add their Group's ``spec.name`` (upstream sends names, not ids) to
        ``groups``; a missing Group is a soft failure: ResolvedRefs=False, still Accepted."""
        if not spec.get("groupRefs"):
            return
        names, missing = await self._group_names(spec["groupRefs"], attempt.namespace)
        groups = list(spec.get("groups") or [])
        spec["groups"] = groups + [name for name in names if name not in groups]
        if missing:
            # One condition per type: upstream overwrites it per missing group, the last wins.
            attempt.unresolved = [
                cond.Condition(
                    cond.RESOLVED_REFS,
                    "False",
                    REASON_GROUP_NOT_FOUND,
                    f"Group {missing[-1]} could not be found",
                    attempt.generation,
                )
            ]

    async def _console_notification(self, attempt: Attempt, spec: dict[str, Any]) -> None:
        """The first console API Notification referenced becomes the API's console
        notification settings (gko-behavior.md 6.4 step 5)."""
        spec.pop("consoleNotificationConfiguration", None)
        configuration: dict[str, Any] | None = None
        for ref in spec.get("notificationsRefs") or []:
            key = ref_key(ref, attempt.namespace)
            if key is None:
                continue
            namespace, _, name = key.partition("/")
            notification = await self._read(NOTIFICATIONS, self.notifications, namespace, name)
            if notification is None:
                raise ReconcileError(f'notifications.gravitee.io "{name}" not found')
            target = notification.get("spec") or {}
            if configuration is not None or (target.get("eventType") or "api") != "api":
                continue
            if (target.get("target") or "console") != "console":
                continue
            console = target.get("console") or {}
            group_names, _ = await self._group_names(console.get("groupRefs"), namespace)
            groups = list(console.get("groups") or [])
            configuration = {
                "hooks": list(console.get("apiEvents") or []),
                "groups": groups + [g for g in group_names if g not in groups],
                "config_type": "PORTAL",
                "origin": "KUBERNETES",
            }
        if configuration is not None:
            spec["consoleNotificationConfiguration"] = configuration

    async def _sync_configmap(
        self, attempt: Attempt, definition: dict[str, Any], org: str | None, env: str | None
    ) -> None:
        if definition.get("state", "STARTED") == "STOPPED":
            await self.configmaps.remove(attempt.namespace, attempt.name)
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

    async def cleanup(self, attempt: Attempt) -> None:
        api_id = attempt.live_status.get("id")
        if (attempt.spec.get("contextRef") or {}).get("name") and api_id:
            context = await self.resolver.client_for(attempt.obj)
            if context is not None:
                await delete_api(context.client, str(api_id))
        await self.configmaps.remove(attempt.namespace, attempt.name)

"""ApiV4Definition: Automation API upsert and/or a gateway ConfigMap (gko-behavior.md 7).

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

from controller.apim.apis_v4 import delete_api, upsert_api
from controller.apim.ids import hrid
from controller.models.api_v4 import ApiV4DefinitionSpec
from controller.models.validation import validate_api_v4
from controller.reconcilers import conditions as cond
from controller.reconcilers import vocabulary as v
from controller.reconcilers.admission import enforce
from controller.reconcilers.apidefinition import errors_status
from controller.reconcilers.apiresource import ApiReconciler
from controller.reconcilers.base import Attempt
from controller.reconcilers.errors import IllegalStateError
from controller.reconcilers.identity import automation_body, populate_v4_ids, v4_definition_context
from controller.reconcilers.kinds import API_V4_DEFINITIONS
from controller.reconcilers.local_configmap import api_configmap, gateway_definition

NOWHERE = (
    "the API has no contextRef and definitionContext.syncFrom is MANAGEMENT: it is neither "
    "synced to APIM nor deployed to a gateway ConfigMap"
)


def validate(spec: Mapping[str, Any], name: str) -> None:
    enforce(spec, ApiV4DefinitionSpec, partial(validate_api_v4, api_name=name))


class ApiV4DefinitionReconciler(ApiReconciler):
    controller = "apiv4definition"
    kind = API_V4_DEFINITIONS
    finalizer = v.FINALIZER_API

    async def apply(self, attempt: Attempt) -> None:
        spec = attempt.spec
        validate(spec, attempt.name)
        self.inline_resources(attempt)
        definition_context = v4_definition_context(spec)
        spec["definitionContext"] = definition_context
        to_kubernetes = definition_context["syncFrom"] == "KUBERNETES"
        context = await self.resolver.client_for(attempt.obj)
        if context is None and not to_kubernetes:
            # A local API switched to MANAGEMENT without a context must still leave the
            # gateway: otherwise its stale ConfigMap keeps serving it while it says it failed.
            await self.configmaps.remove(attempt.namespace, attempt.name)
            raise IllegalStateError(NOWHERE)
        identity = populate_v4_ids(
            spec,
            namespace=attempt.namespace,
            name=attempt.name,
            status=attempt.live_status,
            automation_managed=attempt.automation_managed,
            has_context=context is not None,
        )
        definition = identity.spec
        organization = environment = None
        if context is not None:
            state = await upsert_api(
                context.client,
                automation_body(definition),
                hrid_contains_uuid=identity.hrid_contains_uuid,
            )
            organization, environment = state.organization_id, state.environment_id
            attempt.status.update(
                id=state.id,
                crossId=state.cross_id,
                organizationId=organization,
                environmentId=environment,
                state=state.state or definition.get("state", "STARTED"),
                plans=dict(state.plans),
                errors=errors_status(state.errors.severe, state.errors.warning),
            )
            if identity.mode == "hrid":
                attempt.extra_conditions.append(cond.automation_api_managed(attempt.generation))
            definition = dict(definition, id=state.id or definition.get("id"))
            for key, plan in (definition.get("plans") or {}).items():
                plan_id = state.plans.get(str(plan.get("hrid") or key))
                if plan_id:
                    plan["id"] = plan_id
        else:
            attempt.status.update(state=definition.get("state", "STARTED"))
        if not to_kubernetes:
            await self.configmaps.remove(attempt.namespace, attempt.name)
            return
        if definition.get("state", "STARTED") == "STOPPED":
            await self.configmaps.remove(attempt.namespace, attempt.name)
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

    async def cleanup(self, attempt: Attempt) -> None:
        if (attempt.spec.get("contextRef") or {}).get("name"):
            context = await self.resolver.client_for(attempt.obj)
            if context is not None:
                status_id = attempt.live_status.get("id")
                if attempt.automation_managed or not status_id:
                    await delete_api(context.client, hrid(attempt.namespace, attempt.name))
                else:
                    await delete_api(context.client, str(status_id), hrid_contains_uuid=True)
        await self.configmaps.remove(attempt.namespace, attempt.name)

"""Which other objects a resource points at, as ``namespace/name`` keys.

Owns the values of the field indexes of ``docs/behavior/references.md`` (a reference without a
namespace lives in the referrer's namespace), so informers, reconcilers and admission agree on them.

Must never look objects up: it only reads the model.
"""

from __future__ import annotations

from typing import Literal

from controller.models.api_v2 import ApiDefinitionSpec
from controller.models.api_v4 import ApiV4DefinitionSpec, Flow
from controller.models.base import Opt, given, or_default
from controller.models.common import ObjectRef
from controller.models.management_context import ManagementContextSpec
from controller.models.subscription import SubscriptionSpec

__all__ = [
    "context_key",
    "group_keys",
    "notification_keys",
    "ref_key",
    "resource_keys",
    "secret_ref_key",
    "shared_policy_group_keys",
    "subscription_api_key",
    "subscription_application_key",
]

ApiSpec = ApiDefinitionSpec | ApiV4DefinitionSpec


def ref_key(ref: ObjectRef, namespace: str) -> str:
    """``ns/name`` of a reference; ``namespace`` (the referrer's) when the ref names none."""
    return f"{or_default(ref.namespace, '') or namespace}/{ref.name}"


def _keys(refs: Opt[list[ObjectRef]], namespace: str) -> list[str]:
    return [ref_key(ref, namespace) for ref in or_default(refs, [])]


def context_key(context_ref: Opt[ObjectRef], namespace: str) -> str | None:
    """The ManagementContext key of any kind's ``spec.contextRef`` (None when absent)."""
    return ref_key(context_ref, namespace) if given(context_ref) else None


def resource_keys(spec: ApiSpec, namespace: str) -> list[str]:
    """ApiResource keys of ``spec.resources[].ref`` (inline resources have none)."""
    return [
        ref_key(resource.ref, namespace)
        for resource in or_default(spec.resources, [])
        if given(resource.ref)
    ]


def notification_keys(spec: ApiSpec, namespace: str) -> list[str]:
    """Notification keys of ``spec.notificationsRefs``."""
    return _keys(spec.notifications_refs, namespace)


def group_keys(spec: ApiSpec, namespace: str) -> list[str]:
    """Group keys of ``spec.groupRefs``."""
    return _keys(spec.group_refs, namespace)


def _flow_spg_keys(flows: Opt[list[Flow]], namespace: str) -> list[str]:
    out = []
    for flow in or_default(flows, []):
        for steps in flow.steps().values():
            for step in steps:
                if given(step.shared_policy_group_ref):
                    out.append(ref_key(step.shared_policy_group_ref, namespace))
    return out


def shared_policy_group_keys(spec: ApiV4DefinitionSpec, namespace: str) -> list[str]:
    """SharedPolicyGroup keys used by any step of API flows and plan flows (deduplicated)."""
    keys = _flow_spg_keys(spec.flows, namespace)
    for plan in or_default(spec.plans, {}).values():
        keys.extend(_flow_spg_keys(plan.flows, namespace))
    return list(dict.fromkeys(keys))


def secret_ref_key(spec: ManagementContextSpec, namespace: str) -> str | None:
    """Key of the Secret holding a context's credentials (``spec.auth.secretRef``)."""
    if given(spec.auth) and given(spec.auth.secret_ref):
        return ref_key(spec.auth.secret_ref, namespace)
    return None


def subscription_api_key(spec: SubscriptionSpec, namespace: str) -> tuple[Literal["v2", "v4"], str]:
    """Which API kind and key a subscription targets (an empty kind means v4)."""
    kind = or_default(spec.api.kind, "")
    version: Literal["v2", "v4"] = "v2" if kind in ("ApiDefinition", "apidefinitions") else "v4"
    return version, ref_key(spec.api, namespace)


def subscription_application_key(spec: SubscriptionSpec, namespace: str) -> str:
    """Key of the subscribing Application."""
    return ref_key(spec.application, namespace)

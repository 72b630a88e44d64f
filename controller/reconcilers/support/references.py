"""Who references whom: the functions behind the indexes that drive change propagation.

Each function maps a raw object (as cached by the informers) to the keys of what it references,
so "every API that uses context X" is one O(1) index lookup instead of a list call
(docs/behavior/references.md#propagation). They work on raw dicts rather than the typed models
because they run on every informer event of every object. A reference without a namespace lives
in the referrer's namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controller.keys import ObjectKey
from controller.reconcilers.support.templating import SourceRef, referenced_sources


def _namespace(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def spec_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _unique(keys: Iterable[ObjectKey | None]) -> list[ObjectKey]:
    return list(dict.fromkeys(key for key in keys if key is not None))


def context_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    return _unique([ObjectKey.from_ref(spec_of(obj).get("contextRef"), _namespace(obj))])


def resource_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    # Upstream uses the ref namespace verbatim (an empty one matches nothing); defaulting to the
    # API's namespace, like every other reference, is one of our documented fixes.
    namespace = _namespace(obj)
    return _unique(
        ObjectKey.from_ref(resource.get("ref"), namespace)
        for resource in spec_of(obj).get("resources") or []
        if isinstance(resource, Mapping)
    )


def _refs_list(refs: Any, namespace: str) -> list[ObjectKey]:
    if not isinstance(refs, list):
        return []
    return _unique(ObjectKey.from_ref(ref, namespace) for ref in refs)


def group_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    """Group objects an API's ``groupRefs`` name."""
    return _refs_list(spec_of(obj).get("groupRefs"), _namespace(obj))


def notification_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    """Notification objects an API's ``notificationsRefs`` name."""
    return _refs_list(spec_of(obj).get("notificationsRefs"), _namespace(obj))


def notification_group_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    """Group objects a Notification's ``console.groupRefs`` name."""
    return _refs_list((spec_of(obj).get("console") or {}).get("groupRefs"), _namespace(obj))


FLOW_PHASES = ("request", "response", "connect", "interact", "publish", "subscribe")


def _flows(spec: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    """The API's flows and every plan's flows (a v4 spec)."""
    yield from (f for f in spec.get("flows") or [] if isinstance(f, Mapping))
    plans = spec.get("plans")
    for plan in plans.values() if isinstance(plans, Mapping) else []:
        if isinstance(plan, Mapping):
            yield from (f for f in plan.get("flows") or [] if isinstance(f, Mapping))


def flow_steps(spec: Mapping[str, Any]) -> Iterable[Any]:
    """Every step of every phase of every flow of a v4 spec (API and plans)."""
    for flow in _flows(spec):
        for phase in FLOW_PHASES:
            steps = flow.get(phase)
            if isinstance(steps, list):
                yield from steps


def shared_policy_group_refs(obj: Mapping[str, Any]) -> Iterable[ObjectKey]:
    """SharedPolicyGroup objects the flow steps of a v4 API name."""
    namespace = _namespace(obj)
    return _unique(
        ObjectKey.from_ref(step.get("sharedPolicyGroupRef"), namespace)
        for step in flow_steps(spec_of(obj))
        if isinstance(step, Mapping)
    )


def context_credential_sources(obj: Mapping[str, Any]) -> Iterable[SourceRef]:
    """The Secrets a ManagementContext reads credentials from (``auth`` and ``cloud``)."""
    spec = spec_of(obj)
    namespace = _namespace(obj)
    keys = _unique(
        ObjectKey.from_ref(ref, namespace)
        for ref in ((spec.get("auth") or {}).get("secretRef"),
                    (spec.get("cloud") or {}).get("secretRef"))
    )
    return [SourceRef("secret", key.namespace, key.name) for key in keys]


def template_sources(obj: Mapping[str, Any]) -> Iterable[SourceRef]:
    return sorted(referenced_sources(spec_of(obj), namespace=_namespace(obj)))

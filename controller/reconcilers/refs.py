"""Who depends on whom: the store index functions behind change propagation (gko-behavior.md 3.10).

Each function maps a raw object (as cached by the informers) to the ``namespace/name`` keys it
references, so "every API that uses context X" is one O(1) index lookup instead of a list call.
They work on raw dicts rather than the typed models because they run on every informer event of
every object. A reference without a namespace lives in the referrer's namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from controller.reconcilers.templating import referenced_sources

# Index names (registered on the dependants' stores).
CONTEXT_INDEX: Final = "context"
RESOURCE_INDEX: Final = "resource"
SECRET_REF_INDEX: Final = "secretRef"
TEMPLATE_SOURCE_INDEX: Final = "template-source"
GROUP_INDEX: Final = "group"
NOTIFICATION_INDEX: Final = "notification"
NOTIFICATION_GROUP_INDEX: Final = "notification-group"


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _namespace(obj: Mapping[str, Any]) -> str:
    return str(_metadata(obj).get("namespace") or "")


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def spec_of(obj: Mapping[str, Any]) -> object:
    """What every index function here reads besides the namespace (which the key fixes): give
    it as ``reads`` so status and metadata writes do not recompute the indexes."""
    return obj.get("spec")


def ref_key(ref: Any, default_namespace: str) -> str | None:
    """``ns/name`` of a ``{name, namespace?}`` reference, or None when it names nothing."""
    if not isinstance(ref, Mapping) or not ref.get("name"):
        return None
    return f"{ref.get('namespace') or default_namespace}/{ref['name']}"


def context_refs(obj: Mapping[str, Any]) -> Iterable[str]:
    key = ref_key(_spec(obj).get("contextRef"), _namespace(obj))
    return (key,) if key else ()


def resource_refs(obj: Mapping[str, Any]) -> Iterable[str]:
    # Upstream uses the ref namespace verbatim (an empty one matches nothing); defaulting to the
    # API's namespace, like every other reference, is one of our documented fixes.
    namespace = _namespace(obj)
    keys = []
    for resource in _spec(obj).get("resources") or []:
        if isinstance(resource, Mapping):
            key = ref_key(resource.get("ref"), namespace)
            if key:
                keys.append(key)
    return keys


def _refs_list(refs: Any, namespace: str) -> list[str]:
    keys = []
    for ref in refs if isinstance(refs, list) else []:
        key = ref_key(ref, namespace)
        if key and key not in keys:
            keys.append(key)
    return keys


def group_refs(obj: Mapping[str, Any]) -> Iterable[str]:
    """Group objects an API's ``groupRefs`` name."""
    return _refs_list(_spec(obj).get("groupRefs"), _namespace(obj))


def notification_refs(obj: Mapping[str, Any]) -> Iterable[str]:
    """Notification objects an API's ``notificationsRefs`` name."""
    return _refs_list(_spec(obj).get("notificationsRefs"), _namespace(obj))


def notification_group_refs(obj: Mapping[str, Any]) -> Iterable[str]:
    """Group objects a Notification's ``console.groupRefs`` name."""
    return _refs_list((_spec(obj).get("console") or {}).get("groupRefs"), _namespace(obj))


def context_secret_refs(obj: Mapping[str, Any]) -> Iterable[str]:
    """The Secrets a ManagementContext reads credentials from (``auth`` and ``cloud``)."""
    spec = _spec(obj)
    namespace = _namespace(obj)
    keys = []
    for ref in (
        (spec.get("auth") or {}).get("secretRef"),
        (spec.get("cloud") or {}).get("secretRef"),
    ):
        key = ref_key(ref, namespace)
        if key and key not in keys:
            keys.append(key)
    return keys


def source_index_value(kind: str, key: str) -> str:
    """Index value of a template source: ``secret:ns/name`` or ``configmap:ns/name``."""
    return f"{kind}:{key}"


def template_sources(obj: Mapping[str, Any]) -> Iterable[str]:
    sources = referenced_sources(_spec(obj), namespace=_namespace(obj))
    return [source_index_value(source.kind, source.key) for source in sorted(sources)]

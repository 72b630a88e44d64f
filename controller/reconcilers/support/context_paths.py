"""Context-path conflicts between APIs, checked at reconcile time from the informer caches
(docs/behavior/admission.md#context-path-conflicts).

Checked between v2 APIs and local v4 APIs (``syncFrom: KUBERNETES``, served by the gateways of
this cluster); a v4 API synced from APIM is left to APIM, which checks its own environment. Both
API kinds declare ``claims`` over v2 and v4 APIs with ``context_paths`` (their cleaned
paths) in one shared index, so that an API whose paths change, or that is deleted, re-triggers
those that conflicted with it. Of two APIs claiming a path, the one created first keeps it; the
other is refused with upstream's message until the conflict goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from controller import vocabulary as v
from controller.informers.store import KubeObject
from controller.keys import ObjectKey
from controller.kube.kinds import API_DEFINITIONS, API_V4_DEFINITIONS
from controller.models.api_v4 import listener_paths
from controller.models.validation import (
    FieldError,
    clean_path,
    validate_context_path_conflicts,
)
from controller.reconcilers.framework.admission import Review
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import IllegalStateError
from controller.reconcilers.framework.runtime import Attempt, RuntimeDeps
from controller.reconcilers.support.identity import v4_definition_context

INDEX: Final = "api-context-paths"
API_KINDS: Final = (API_DEFINITIONS, API_V4_DEFINITIONS)


class ContextPathConflictError(IllegalStateError):
    @property
    def hint(self) -> str:
        return (
            "Change the path of one of them: this API is reconciled again as soon as the other "
            "one's path changes or it is deleted"
        )


def raw_paths(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(JSON path, context path) of a v2 API's virtual hosts or a v4 API's listeners."""
    spec = obj.get("spec") or {}
    out: list[tuple[str, str]] = []
    if obj.get("kind") == API_DEFINITIONS.kind:
        hosts = (spec.get("proxy") or {}).get("virtual_hosts") or []
        for index, host in enumerate(hosts):
            if isinstance(host, Mapping):
                path = str(host.get("path") or "")
                value = f"{host['host']}/{path}" if host.get("host") else path
                out.append((f"spec.proxy.virtual_hosts[{index}].path", value))
        return out
    if v4_definition_context(spec)["syncFrom"] != "KUBERNETES":
        # Served from APIM's repository: APIM itself refuses a path taken in its environment,
        # and the same path in two environments (two contexts) is legitimate.
        return out
    for index, listener in enumerate(spec.get("listeners") or []):
        if isinstance(listener, dict):
            out.extend((f"spec.listeners[{index}]", value) for value in listener_paths(listener))
    return out


def context_paths(obj: KubeObject) -> list[str]:
    """The cleaned context paths ``obj`` claims (none for an Ingress template)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if annotations.get(v.ANNOTATION_TEMPLATE) == "true":
        return []
    return sorted({clean_path(path) for _, path in raw_paths(obj)})


def declare_claims(builder: Builder) -> Builder:
    return builder.claims(API_KINDS, values=context_paths, index=INDEX)


def _seniority(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    metadata = obj.get("metadata") or {}
    return (
        str(metadata.get("creationTimestamp") or ""),
        str(metadata.get("namespace") or ""),
        str(metadata.get("name") or ""),
    )


def conflicts(
    obj: KubeObject, key: ObjectKey, deps: RuntimeDeps, *, seniority: bool
) -> list[FieldError]:
    """The context paths of ``obj`` that another API (in its namespace, or anywhere with
    ``CHECK_API_CONTEXT_PATH_CONFLICT_IN_CLUSTER``) claims, from the index. With ``seniority``
    (reconcile time) only APIs created before ``obj`` count; at admission every other one does,
    since the object under review is the newcomer."""
    mine = raw_paths(obj)
    own = _seniority(obj)
    others: dict[ObjectKey, list[str]] = {}
    for path in context_paths(obj):
        for kind in API_KINDS:
            store = deps.stores[kind.plural]
            for other in store.by_index(INDEX, path):
                other_key = ObjectKey.of(other)
                if other_key == key and kind.kind == obj.get("kind"):
                    continue
                if not deps.claims_in_cluster and other_key.namespace != key.namespace:
                    continue
                if not seniority or _seniority(other) < own:
                    others.setdefault(other_key, []).append(path)
    return validate_context_path_conflicts(
        mine, ((str(other_key), paths) for other_key, paths in sorted(others.items()))
    )


def check_context_paths(attempt: Attempt, deps: RuntimeDeps) -> None:
    """Refuse the API when an API created before it (in its namespace, or anywhere with
    ``CHECK_API_CONTEXT_PATH_CONFLICT_IN_CLUSTER``) claims one of its context paths."""
    problems = conflicts(attempt.obj, attempt.key, deps, seniority=True)
    if problems:
        raise ContextPathConflictError(problems[0].message)


def admission_check(review: Review[Any], deps: RuntimeDeps) -> list[FieldError]:
    """The same rule at admission: any other API holding one of the paths refuses the object."""
    return conflicts(review.obj, review.key, deps, seniority=False)

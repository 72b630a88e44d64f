"""ApiResource: a reusable resource inlined into the APIs that reference it (gko-behavior.md 8).

The reconcile only validates the resource (its templates, then upstream's admission rule: a
type, a name and a configuration) and keeps the finalizer; APIs do the inlining
(``resolve_resources``) and re-reconcile when a resource they use changes. A resource still
referenced by an API cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controller.informers.store import Store
from controller.models.api_resource import ApiResourceSpec
from controller.models.convert import ModelError, structure
from controller.models.validation import severe, validate_api_resource
from controller.reconcilers import vocabulary as v
from controller.reconcilers.base import Attempt, KindReconciler, SkeletonDeps
from controller.reconcilers.configmaps import LocalConfigMaps
from controller.reconcilers.contexts import ContextResolver
from controller.reconcilers.errors import IllegalStateError, ReconcileError, ResolveRefError
from controller.reconcilers.kinds import API_RESOURCES
from controller.reconcilers.refs import RESOURCE_INDEX, ref_key
from controller.reconcilers.templating import SourceReader, compile_spec

RESOURCE_FIELDS = ("enabled", "name", "type", "configuration")


class ApiResourceReconciler(KindReconciler):
    controller = "apiresource"
    kind = API_RESOURCES
    finalizer = v.FINALIZER_API_RESOURCE
    has_processing_status = False

    def __init__(self, deps: SkeletonDeps, store: Store, *, api_stores: Sequence[Store]) -> None:
        super().__init__(deps, store)
        self.api_stores = tuple(api_stores)

    async def apply(self, attempt: Attempt) -> None:
        # Upstream's webhook rejects these; without one, an incomplete resource would only
        # surface later as a failed import of every API that uses it.
        try:
            model = structure(dict(attempt.spec), ApiResourceSpec)
        except ModelError as error:
            raise IllegalStateError(f"invalid spec: {error}") from error
        problems = severe(validate_api_resource(model))
        if problems:
            raise IllegalStateError(problems[0].message)

    async def cleanup(self, attempt: Attempt) -> None:
        if any(store.keys_by_index(RESOURCE_INDEX, attempt.key) for store in self.api_stores):
            raise ReconcileError("resource is referenced and will remain")


class ApiReconciler(KindReconciler):
    """What the v2 and v4 API reconcilers share: a context resolver, the ApiResources they
    inline, and the gateway ConfigMaps they write in local mode."""

    def __init__(
        self,
        deps: SkeletonDeps,
        store: Store,
        *,
        resolver: ContextResolver,
        resources: Store,
        configmaps: LocalConfigMaps,
    ) -> None:
        super().__init__(deps, store)
        self.resolver = resolver
        self.resources = resources
        self.configmaps = configmaps

    def inline_resources(self, attempt: Attempt) -> None:
        """Replace every ``resources[].ref`` of ``attempt.spec`` by the resource's content."""
        resources = resolve_resources(
            attempt.spec,
            namespace=attempt.namespace,
            resources=self.resources,
            reader=self.sources if self.deps.templating else None,
        )
        if resources is not None:
            attempt.spec["resources"] = resources


def resolve_resources(
    spec: Mapping[str, Any],
    *,
    namespace: str,
    resources: Store,
    reader: SourceReader | None,
) -> list[Any] | None:
    """``spec.resources`` with every ``{ref}`` replaced by the referenced resource's content."""
    entries = spec.get("resources")
    if entries is None:
        return None
    resolved: list[Any] = []
    for entry in entries:
        key = ref_key(entry.get("ref") if isinstance(entry, Mapping) else None, namespace)
        if key is None:
            resolved.append(entry)
            continue
        resource = resources.get(key)
        if resource is None:
            raise ResolveRefError(f'apiresources.gravitee.io "{key.partition("/")[2]}" not found')
        resource_spec: dict[str, Any] = dict(resource.get("spec") or {})
        if reader is not None:
            resource_spec = compile_spec(
                resource_spec, namespace=key.partition("/")[0], reader=reader
            ).spec
        resolved.append({k: resource_spec[k] for k in RESOURCE_FIELDS if k in resource_spec})
    return resolved

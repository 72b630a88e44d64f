"""ApiResource: a reusable resource inlined into the APIs that reference it
(docs/behavior/api-resource.md).

The reconcile only validates the resource (its templates, then upstream's admission rule: a
type, a name and a configuration) and keeps the finalizer; APIs do the inlining
(``support/api_common.py``) and re-reconcile when a resource they use changes. A resource still
referenced by an API cannot be deleted.
"""

from __future__ import annotations

from controller import vocabulary as v
from controller.kube.kinds import API_RESOURCES
from controller.models.api_resource import ApiResourceSpec
from controller.models.convert import ModelError, structure
from controller.models.validation import severe, validate_api_resource
from controller.reconcilers.framework import referrers
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import IllegalStateError, ReconcileError
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    RuntimeDeps,
)
from controller.reconcilers.support.admission import rules
from controller.reconcilers.support.references import template_sources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER


def setup(builder: Builder) -> None:
    (
        builder.reconciles(API_RESOURCES, finalizer=v.FINALIZER_API_RESOURCE,
                           processing_status=False)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .deletion_waits_for_referrers()
        .admits(ApiResourceSpec, rules(validate_api_resource))
        .complete(ApiResource)
    )


class ApiResource(KindLogic):
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps

    async def apply(self, attempt: Attempt) -> Outcome:
        # Upstream's webhook rejects these; without one, an incomplete resource would only
        # surface later as a failed import of every API that uses it.
        try:
            model = structure(dict(attempt.spec), ApiResourceSpec)
        except ModelError as error:
            raise IllegalStateError(f"invalid spec: {error}") from error
        problems = severe(validate_api_resource(model))
        if problems:
            raise IllegalStateError(problems[0].message)
        return Outcome()

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        groups = self.deps.referrers.of(API_RESOURCES, attempt.key)
        if groups:
            kinds = ",".join(dict.fromkeys(f"{g.kind.plural}.{g.kind.group}" for g in groups))
            raise ReconcileError(
                f"[{attempt.name}] cannot be deleted because {referrers.total(groups)} APIs are "
                f"relying on this resource: {referrers.named(groups)}. Remove it from their "
                "spec.resources; the deletion then completes by itself. You can review every "
                f"API's resource references by running: kubectl get {kinds} -A -o jsonpath="
                "'{range .items[*]}{.kind} {.metadata.namespace}/{.metadata.name}: "
                '{.spec.resources[*].ref.name}{"\\n"}{end}\''
            )
        return Cleanup()

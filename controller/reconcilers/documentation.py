"""Documentation: a page (Gravitee Markdown, OpenAPI or AsyncAPI) of a Portal or of a v4 API,
upserted under its parent through the Automation API (docs/behavior/documentation.md).

Exactly one of ``portalRef`` and ``apiRef`` is set: the CRD says so, and the reconciler checks
it again for objects stored before the rule existed. A page on an API lives in the API's
context; the API's deletion waits for the page (the API's reconciler asks the indexes).
"""

from __future__ import annotations

from typing import Any

from controller import vocabulary as v
from controller.apim import portals
from controller.apim.ids import hrid
from controller.kube.kinds import API_V4_DEFINITIONS, DOCUMENTATIONS, MANAGEMENT_CONTEXTS, PORTALS
from controller.models.base import given
from controller.models.portal import DocumentationSpec
from controller.models.validation import FieldError
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.runtime import Attempt
from controller.reconcilers.support.admission import enforce, rules
from controller.reconcilers.support.portals import (
    PARENT_SYNCED,
    Placement,
    PortalChild,
    documented_api_refs,
    parent_unchanged,
    portal_refs,
)
from controller.reconcilers.support.references import context_refs, template_sources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER

EXACTLY_ONE = "exactly one of portalRef or apiRef must be set"
SENT = ("name", "type", "content", "location", "order", "area")


def setup(builder: Builder) -> None:
    (
        builder.reconciles(
            DOCUMENTATIONS, finalizer=v.FINALIZER_DOCUMENTATION, processing_status=False
        )
        .references(PORTALS, refs=portal_refs, when=PARENT_SYNCED)
        .references(API_V4_DEFINITIONS, refs=documented_api_refs, when=PARENT_SYNCED)
        .references(MANAGEMENT_CONTEXTS, refs=context_refs, via=PORTALS)
        .references(MANAGEMENT_CONTEXTS, refs=context_refs, via=API_V4_DEFINITIONS)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .admits(DocumentationSpec, parent_unchanged, rules(parent_rules))
        .reads_back()
        .complete(Documentation)
    )


def parent_rules(spec: DocumentationSpec) -> list[FieldError]:
    if given(spec.portal_ref) == given(spec.api_ref):
        return [FieldError("spec", EXACTLY_ONE)]
    return []


class Documentation(PortalChild):
    what = "documentation"

    def validate(self, attempt: Attempt) -> None:
        enforce(attempt.spec, DocumentationSpec, parent_rules)

    def placement(self, attempt: Attempt) -> Placement:
        if attempt.spec.get("apiRef"):
            api_hrid, context = self.api(attempt, attempt.spec["apiRef"])
            return Placement(portals.Parent.api(api_hrid), context)
        return self.portal(attempt, "documentations")

    def body(self, attempt: Attempt, placement: Placement) -> dict[str, Any]:
        out = {k: attempt.spec[k] for k in SENT if attempt.spec.get(k) is not None}
        out["hrid"] = hrid(attempt.namespace, attempt.name)
        return out

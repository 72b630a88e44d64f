"""PortalLink: an external link placed in a Portal's navigation, upserted under the portal
through the Automation API (docs/behavior/portal-link.md).
"""

from __future__ import annotations

from typing import Any

from controller import vocabulary as v
from controller.apim.ids import hrid
from controller.kube.kinds import MANAGEMENT_CONTEXTS, PORTAL_LINKS, PORTALS
from controller.models.portal import PortalLinkSpec
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.runtime import Attempt
from controller.reconcilers.support.admission import enforce
from controller.reconcilers.support.portals import (
    PARENT_SYNCED,
    Placement,
    PortalChild,
    parent_unchanged,
    portal_refs,
)
from controller.reconcilers.support.references import context_refs, template_sources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER

SENT = ("name", "href", "location", "order")


def setup(builder: Builder) -> None:
    (
        builder.reconciles(PORTAL_LINKS, finalizer=v.FINALIZER_PORTAL_LINK, processing_status=False)
        .references(PORTALS, refs=portal_refs, when=PARENT_SYNCED)
        .references(MANAGEMENT_CONTEXTS, refs=context_refs, via=PORTALS)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .admits(PortalLinkSpec, parent_unchanged)
        .reads_back()
        .complete(PortalLink)
    )


class PortalLink(PortalChild):
    what = "portal link"

    def validate(self, attempt: Attempt) -> None:
        enforce(attempt.spec, PortalLinkSpec, lambda _: [])

    def placement(self, attempt: Attempt) -> Placement:
        return self.portal(attempt, "links")

    def body(self, attempt: Attempt, placement: Placement) -> dict[str, Any]:
        out = {k: attempt.spec[k] for k in SENT if attempt.spec.get(k) is not None}
        out["hrid"] = hrid(attempt.namespace, attempt.name)
        return out

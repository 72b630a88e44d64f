"""PortalListing: v4 APIs placed at chosen locations of a Portal's navigation, upserted under
the portal through the Automation API (docs/behavior/portal-listing.md).

The portal and every listed API are read from the informer caches: each must exist and be
synced to APIM, and the APIs must share the portal's context. A listed API's deletion waits for
the listing (the API's reconciler asks the indexes).
"""

from __future__ import annotations

from typing import Any

from controller import vocabulary as v
from controller.apim.ids import hrid
from controller.kube.kinds import API_V4_DEFINITIONS, MANAGEMENT_CONTEXTS, PORTAL_LISTINGS, PORTALS
from controller.models.portal import PortalListingSpec
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import IllegalStateError
from controller.reconcilers.framework.runtime import Attempt
from controller.reconcilers.support.admission import enforce
from controller.reconcilers.support.portals import (
    PARENT_SYNCED,
    Placement,
    PortalChild,
    listed_api_refs,
    parent_unchanged,
    portal_refs,
)
from controller.reconcilers.support.references import context_refs, template_sources
from controller.reconcilers.support.templating import TEMPLATING_FINALIZER


def setup(builder: Builder) -> None:
    (
        builder.reconciles(
            PORTAL_LISTINGS, finalizer=v.FINALIZER_PORTAL_LISTING, processing_status=False
        )
        .references(PORTALS, refs=portal_refs, when=PARENT_SYNCED)
        .references(API_V4_DEFINITIONS, refs=listed_api_refs, when=PARENT_SYNCED)
        .references(MANAGEMENT_CONTEXTS, refs=context_refs, via=PORTALS)
        .reads_sources(template_sources, finalizer=TEMPLATING_FINALIZER)
        .admits(PortalListingSpec, parent_unchanged)
        .reads_back()
        .complete(PortalListing)
    )


class PortalListing(PortalChild):
    what = "portal listing"

    def validate(self, attempt: Attempt) -> None:
        enforce(attempt.spec, PortalListingSpec, lambda _: [])

    def placement(self, attempt: Attempt) -> Placement:
        return self.portal(attempt, "listings")

    def body(self, attempt: Attempt, placement: Placement) -> dict[str, Any]:
        entries = []
        for entry in attempt.spec.get("apis") or []:
            api_hrid, context = self.api(attempt, entry.get("ref"))
            if context != placement.context:
                raise IllegalStateError(
                    f"API [{entry['ref'].get('name')}] belongs to context [{context}], "
                    f"not to the portal's context [{placement.context}]"
                )
            item: dict[str, Any] = {"apiHrid": api_hrid, "location": entry.get("location")}
            if entry.get("order") is not None:
                item["order"] = entry["order"]
            entries.append(item)
        return {"hrid": hrid(attempt.namespace, attempt.name), "apis": entries}

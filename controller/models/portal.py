"""Portal, PortalListing, PortalLink and Documentation: the next-generation developer portal and
what is placed in its navigation (spec and status, docs/behavior/portal.md).

Must never talk to APIM.
"""

from typing import ClassVar

import attrs

from controller.models.base import Opt, prop
from controller.models.common import Condition, Errors, ObjectRef, conditions_prop

DOCUMENTATION_TYPES = ("GRAVITEE_MARKDOWN", "OPENAPI", "ASYNCAPI")
DOCUMENTATION_AREAS = ("TOP_NAVBAR", "HOMEPAGE")
PATH_PATTERN = "^/"


@attrs.frozen(kw_only=True)
class PortalNavigationEntry:
    """A node of the deprecated navigation list (intermediate folders are implied)."""

    display_name: Opt[str] = prop(doc="Label shown for the node.")
    order: Opt[int] = prop(format="int32", doc="Position among its siblings.")
    path: str = prop(required=True, pattern=PATH_PATTERN, doc="Slash-separated node path.")


@attrs.frozen(kw_only=True)
class PortalTopNavbarEntry:
    """A node of the portal's top navbar (intermediate folders are implied)."""

    display_name: Opt[str] = prop(doc="Label shown for the node.")
    path: str = prop(required=True, pattern=PATH_PATTERN, doc="Slash-separated node path.")


@attrs.frozen(kw_only=True)
class PortalStructure:
    """The portal's navigation, grouped by area."""

    top_navbar: Opt[list[PortalTopNavbarEntry]] = prop(
        list_type="map", list_map_keys=("path",), doc="Top navbar nodes, in display order."
    )


@attrs.frozen(kw_only=True)
class PortalSpec:
    """Desired developer portal."""

    context_ref: Opt[ObjectRef] = prop(doc="ManagementContext the portal lives in.")
    name: str = prop(required=True, doc="Display name.")
    navigation: Opt[list[PortalNavigationEntry]] = prop(
        list_type="map",
        list_map_keys=("path",),
        doc="Deprecated: use structure.topNavbar; both cannot be set at the same time.",
    )
    structure: Opt[PortalStructure] = prop(doc="Navigation grouped by area.")


@attrs.frozen(kw_only=True)
class PortalObjectStatus:
    """Observed state of the object in APIM."""

    conditions: Opt[list[Condition]] = conditions_prop()
    environment_id: Opt[str] = prop(doc="APIM environment.")
    errors: Opt[Errors] = prop(doc="APIM errors and warnings from the last push.")
    id: Opt[str] = prop(doc="APIM id.")
    organization_id: Opt[str] = prop(doc="APIM organization.")


@attrs.frozen(kw_only=True)
class PortalListingApi:
    """A v4 API shown at a place of the portal's navigation."""

    location: str = prop(required=True, pattern=PATH_PATTERN, doc="Navigation path of the API.")
    order: Opt[int] = prop(format="int32", doc="Position among its siblings at that path.")
    ref: ObjectRef = prop(required=True, doc="The ApiV4Definition (same context as the portal).")


@attrs.frozen(kw_only=True)
class PortalListingSpec:
    """Desired placement of v4 APIs in a portal."""

    apis: list[PortalListingApi] = prop(required=True, min_items=1, doc="The APIs listed.")
    portal_ref: ObjectRef = prop(required=True, doc="The Portal the APIs are listed on.")


@attrs.frozen(kw_only=True)
class PortalLinkSpec:
    """Desired external link in a portal's navigation."""

    href: str = prop(required=True, doc="URL the link points to.")
    location: Opt[str] = prop(pattern=PATH_PATTERN, doc="Navigation path of the link.")
    name: str = prop(required=True, doc="Display name.")
    order: Opt[int] = prop(format="int32", doc="Position among its siblings at that path.")
    portal_ref: ObjectRef = prop(required=True, doc="The Portal the link belongs to.")


@attrs.frozen(kw_only=True)
class DocumentationSpec:
    """Desired documentation page, attached to exactly one of a Portal or a v4 API."""

    # Enforced by the API server (the CRD says exactly one of them is present) and by the
    # reconciler for objects stored before the rule existed.
    EXACTLY_ONE_OF: ClassVar[tuple[str, ...]] = ("portalRef", "apiRef")

    api_ref: Opt[ObjectRef] = prop(doc="The ApiV4Definition the page documents.")
    area: Opt[str] = prop(
        enum=DOCUMENTATION_AREAS, doc="Where the page shows on a portal (APIM: TOP_NAVBAR)."
    )
    content: str = prop(required=True, doc="The page content.")
    location: Opt[str] = prop(pattern=PATH_PATTERN, doc="Navigation path of the page.")
    name: str = prop(required=True, doc="Display name.")
    order: Opt[int] = prop(format="int32", doc="Position among its siblings at that path.")
    portal_ref: Opt[ObjectRef] = prop(doc="The Portal the page belongs to.")
    type: str = prop(required=True, enum=DOCUMENTATION_TYPES, doc="Content format.")

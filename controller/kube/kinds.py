"""REST coordinates of the kinds the reconcilers read and write."""

from __future__ import annotations

from typing import Final

from controller.kube.resources import CONFIG_MAPS, SECRETS, ResourceKind
from controller.vocabulary import GROUP, VERSION


def _gravitee(plural: str, kind: str) -> ResourceKind:
    return ResourceKind(group=GROUP, version=VERSION, plural=plural, kind=kind)


MANAGEMENT_CONTEXTS: Final = _gravitee("managementcontexts", "ManagementContext")
API_DEFINITIONS: Final = _gravitee("apidefinitions", "ApiDefinition")
API_V4_DEFINITIONS: Final = _gravitee("apiv4definitions", "ApiV4Definition")
API_RESOURCES: Final = _gravitee("apiresources", "ApiResource")
APPLICATIONS: Final = _gravitee("applications", "Application")
DICTIONARIES: Final = _gravitee("dictionaries", "Dictionary")
DOCUMENTATIONS: Final = _gravitee("documentations", "Documentation")
GROUPS: Final = _gravitee("groups", "Group")
NOTIFICATIONS: Final = _gravitee("notifications", "Notification")
PORTALS: Final = _gravitee("portals", "Portal")
PORTAL_LINKS: Final = _gravitee("portallinks", "PortalLink")
PORTAL_LISTINGS: Final = _gravitee("portallistings", "PortalListing")
SHARED_POLICY_GROUPS: Final = _gravitee("sharedpolicygroups", "SharedPolicyGroup")
SUBSCRIPTIONS: Final = _gravitee("subscriptions", "Subscription")
INGRESSES: Final = ResourceKind(
    group="networking.k8s.io", version="v1", plural="ingresses", kind="Ingress"
)
SERVICES: Final = ResourceKind(group="", version="v1", plural="services", kind="Service")

__all__ = [
    "API_DEFINITIONS",
    "API_RESOURCES",
    "API_V4_DEFINITIONS",
    "APPLICATIONS",
    "CONFIG_MAPS",
    "DICTIONARIES",
    "DOCUMENTATIONS",
    "GROUPS",
    "INGRESSES",
    "MANAGEMENT_CONTEXTS",
    "NOTIFICATIONS",
    "PORTALS",
    "PORTAL_LINKS",
    "PORTAL_LISTINGS",
    "SECRETS",
    "SERVICES",
    "SHARED_POLICY_GROUPS",
    "SUBSCRIPTIONS",
]

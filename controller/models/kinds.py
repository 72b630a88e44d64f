"""The catalogue of CRDs in scope: names, short names, printer columns and the spec/status models.

Must never build schemas or YAML (``crdgen`` does) nor talk to the API server.
"""

from typing import Any

import attrs

from controller.models import resources as r
from controller.models.api_resource import ApiResourceSpec, ApiResourceStatus
from controller.models.api_v2 import ApiDefinitionSpec, ApiDefinitionStatus
from controller.models.api_v4 import ApiV4DefinitionSpec, ApiV4DefinitionStatus
from controller.models.application import ApplicationSpec, ApplicationStatus
from controller.models.dictionary import DictionarySpec, DictionaryStatus
from controller.models.group import GroupSpec, GroupStatus
from controller.models.management_context import ManagementContextSpec, ManagementContextStatus
from controller.models.notification import NotificationSpec, NotificationStatus
from controller.models.portal import (
    DocumentationSpec,
    PortalLinkSpec,
    PortalListingSpec,
    PortalObjectStatus,
    PortalSpec,
)
from controller.models.shared_policy_group import SharedPolicyGroupSpec, SharedPolicyGroupStatus
from controller.models.subscription import SubscriptionSpec, SubscriptionStatus

__all__ = ["KINDS", "KindInfo", "PrinterColumn", "kind_info"]


@attrs.frozen(kw_only=True)
class PrinterColumn:
    """An extra column of ``kubectl get``."""

    name: str
    json_path: str
    type: str = "string"
    description: str = ""


OUTCOME_COLUMNS: tuple[PrinterColumn, ...] = (
    PrinterColumn(
        name="Accepted",
        json_path='.status.conditions[?(@.type=="Accepted")].status',
        description="Whether the last reconcile succeeded (the Accepted condition).",
    ),
    PrinterColumn(
        name="Reason",
        json_path='.status.conditions[?(@.type=="Accepted")].reason',
        description="Reason of the Accepted condition; kubectl describe shows its message.",
    ),
    PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date"),
)
"""Appended to every kind's upstream columns: the outcome, not only the spec."""


@attrs.frozen(kw_only=True)
class KindInfo:
    """Everything the CRD generator needs to know about one kind."""

    kind: str
    plural: str
    singular: str
    description: str
    spec_type: type[Any]
    status_type: type[Any]
    resource_type: type[Any]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    printer_columns: tuple[PrinterColumn, ...] = ()

    @property
    def all_printer_columns(self) -> tuple[PrinterColumn, ...]:
        """Upstream's columns, then ours (``OUTCOME_COLUMNS``)."""
        return self.printer_columns + OUTCOME_COLUMNS

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{r.GROUP}"


KINDS: tuple[KindInfo, ...] = (
    KindInfo(
        kind="ManagementContext",
        plural="managementcontexts",
        singular="managementcontext",
        description="Connection settings of an APIM Management API (URL, org, env, credentials).",
        spec_type=ManagementContextSpec,
        status_type=ManagementContextStatus,
        resource_type=r.ManagementContext,
        short_names=("graviteecontexts",),
        printer_columns=(PrinterColumn(name="BaseUrl", json_path=".spec.baseUrl"),),
    ),
    KindInfo(
        kind="ApiDefinition",
        plural="apidefinitions",
        singular="apidefinition",
        description="A Gravitee v2 API, imported into APIM or deployed via a ConfigMap.",
        spec_type=ApiDefinitionSpec,
        status_type=ApiDefinitionStatus,
        resource_type=r.ApiDefinition,
        short_names=("graviteeapis",),
        printer_columns=(
            PrinterColumn(
                name="Entrypoint",
                json_path=".spec.proxy.virtual_hosts[*].path",
                description="Context paths.",
            ),
            PrinterColumn(
                name="Endpoint",
                json_path=".spec.proxy.groups[*].endpoints[*].target",
                description="Backend targets.",
            ),
            PrinterColumn(name="Version", json_path=".spec.version", description="Version."),
        ),
    ),
    KindInfo(
        kind="ApiV4Definition",
        plural="apiv4definitions",
        singular="apiv4definition",
        description="A Gravitee v4 API, pushed to APIM and/or deployed via a ConfigMap.",
        spec_type=ApiV4DefinitionSpec,
        status_type=ApiV4DefinitionStatus,
        resource_type=r.ApiV4Definition,
        short_names=("graviteev4apis",),
        printer_columns=(
            PrinterColumn(name="State", json_path=".spec.state", description="Deployment state."),
            PrinterColumn(
                name="Lifecycle State",
                json_path=".spec.lifecycleState",
                description="Portal lifecycle.",
            ),
            PrinterColumn(name="Version", json_path=".spec.version", description="Version."),
        ),
    ),
    KindInfo(
        kind="ApiResource",
        plural="apiresources",
        singular="apiresource",
        description="A resource (cache, auth provider, OAuth2 server...) APIs can reference.",
        spec_type=ApiResourceSpec,
        status_type=ApiResourceStatus,
        resource_type=r.ApiResource,
    ),
    KindInfo(
        kind="Application",
        plural="applications",
        singular="application",
        description="An APIM application that subscribes to APIs.",
        spec_type=ApplicationSpec,
        status_type=ApplicationStatus,
        resource_type=r.Application,
        short_names=("graviteeapplications",),
        printer_columns=(
            PrinterColumn(name="Name", json_path=".spec.name"),
            PrinterColumn(name="Type", json_path=".spec.applicationType"),
        ),
    ),
    KindInfo(
        kind="Subscription",
        plural="subscriptions",
        singular="subscription",
        description="A subscription of an Application to a plan of an API.",
        spec_type=SubscriptionSpec,
        status_type=SubscriptionStatus,
        resource_type=r.Subscription,
        printer_columns=(
            PrinterColumn(
                name="Started at", json_path=".status.startedAt", description="Start date."
            ),
            PrinterColumn(name="Ending at", json_path=".status.endingAt", description="End date."),
        ),
    ),
    KindInfo(
        kind="SharedPolicyGroup",
        plural="sharedpolicygroups",
        singular="sharedpolicygroup",
        description="A reusable chain of policies that v4 API flows can call.",
        spec_type=SharedPolicyGroupSpec,
        status_type=SharedPolicyGroupStatus,
        resource_type=r.SharedPolicyGroup,
        short_names=("sharedpolicygroups",),
        printer_columns=(
            PrinterColumn(name="name", json_path=".spec.name"),
            PrinterColumn(name="description", json_path=".spec.description"),
            PrinterColumn(name="apiType", json_path=".spec.apiType"),
        ),
    ),
    KindInfo(
        kind="Group",
        plural="groups",
        singular="group",
        description="An APIM user group.",
        spec_type=GroupSpec,
        status_type=GroupStatus,
        resource_type=r.Group,
        short_names=("graviteegroups",),
        printer_columns=(
            PrinterColumn(
                name="Members at", json_path=".status.members", description="Member count."
            ),
        ),
    ),
    KindInfo(
        kind="Notification",
        plural="notifications",
        singular="notification",
        description="Console notification settings APIs refer to.",
        spec_type=NotificationSpec,
        status_type=NotificationStatus,
        resource_type=r.Notification,
        short_names=("graviteenotif",),
        printer_columns=(
            PrinterColumn(name="Target", json_path=".spec.target", description="Channel."),
            PrinterColumn(
                name="Event Type", json_path=".spec.eventType", description="Event source."
            ),
        ),
    ),
    KindInfo(
        kind="Dictionary",
        plural="dictionaries",
        singular="dictionary",
        description="An APIM dictionary of key/value pairs that gateway expressions read.",
        spec_type=DictionarySpec,
        status_type=DictionaryStatus,
        resource_type=r.Dictionary,
        short_names=("graviteedictionaries",),
        printer_columns=(
            PrinterColumn(name="Type", json_path=".spec.type", description="MANUAL or DYNAMIC."),
        ),
    ),
    KindInfo(
        kind="Portal",
        plural="portals",
        singular="portal",
        description="A next-generation developer portal and its navigation.",
        spec_type=PortalSpec,
        status_type=PortalObjectStatus,
        resource_type=r.Portal,
        short_names=("graviteeportals",),
        printer_columns=(
            PrinterColumn(name="Display Name", json_path=".spec.name", description="Name."),
        ),
    ),
    KindInfo(
        kind="PortalListing",
        plural="portallistings",
        singular="portallisting",
        description="v4 APIs placed at chosen locations of a portal's navigation.",
        spec_type=PortalListingSpec,
        status_type=PortalObjectStatus,
        resource_type=r.PortalListing,
        short_names=("graviteeportallistings",),
        printer_columns=(
            PrinterColumn(name="Portal", json_path=".spec.portalRef.name", description="Portal."),
        ),
    ),
    KindInfo(
        kind="PortalLink",
        plural="portallinks",
        singular="portallink",
        description="An external link placed in a portal's navigation.",
        spec_type=PortalLinkSpec,
        status_type=PortalObjectStatus,
        resource_type=r.PortalLink,
        short_names=("graviteeportallinks",),
        printer_columns=(
            PrinterColumn(name="Portal", json_path=".spec.portalRef.name", description="Portal."),
        ),
    ),
    KindInfo(
        kind="Documentation",
        plural="documentations",
        singular="documentation",
        description="A documentation page of a portal or of a v4 API.",
        spec_type=DocumentationSpec,
        status_type=PortalObjectStatus,
        resource_type=r.Documentation,
        short_names=("graviteedocumentations",),
        printer_columns=(
            PrinterColumn(name="Type", json_path=".spec.type", description="Content format."),
            PrinterColumn(
                name="Location", json_path=".spec.location", description="Navigation path."
            ),
        ),
    ),
)

_BY_KIND = {info.kind: info for info in KINDS}


def kind_info(kind: str) -> KindInfo:
    """The catalogue entry of a kind; raises ``KeyError`` for kinds out of scope."""
    return _BY_KIND[kind]

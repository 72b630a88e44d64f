"""Whole custom resources (apiVersion, kind, metadata, spec, status) for every kind in scope.

``metadata`` stays raw JSON (ObjectMeta is Kubernetes' business, not ours); ``spec`` is mandatory
in Python because every spec has required fields; ``status`` is optional. ``parse_resource`` picks
the class from ``kind``.

Must never talk to the API server or mutate objects.
"""

from typing import Any, TypeAlias

import attrs

from controller.models.api_resource import ApiResourceSpec, ApiResourceStatus
from controller.models.api_v2 import ApiDefinitionSpec, ApiDefinitionStatus
from controller.models.api_v4 import ApiV4DefinitionSpec, ApiV4DefinitionStatus
from controller.models.application import ApplicationSpec, ApplicationStatus
from controller.models.base import Opt, Raw, prop
from controller.models.convert import ModelError, structure
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

GROUP = "gravitee.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


def _api_version() -> Any:
    return prop(json="apiVersion", doc="gravitee.io/v1alpha1.")


def _kind() -> Any:
    return prop(doc="Kind name.")


def _metadata() -> Any:
    return prop(doc="Standard Kubernetes object metadata.")


@attrs.frozen(kw_only=True)
class ManagementContext:
    """An APIM Management API that other objects are pushed to."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: ManagementContextSpec = prop(required=True)
    status: Opt[ManagementContextStatus] = prop()


@attrs.frozen(kw_only=True)
class ApiDefinition:
    """A v2 API managed by the operator."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: ApiDefinitionSpec = prop(required=True)
    status: Opt[ApiDefinitionStatus] = prop()


@attrs.frozen(kw_only=True)
class ApiV4Definition:
    """A v4 API managed by the operator."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: ApiV4DefinitionSpec = prop(required=True)
    status: Opt[ApiV4DefinitionStatus] = prop()


@attrs.frozen(kw_only=True)
class ApiResource:
    """A resource shared by several APIs."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: ApiResourceSpec = prop(required=True)
    status: Opt[ApiResourceStatus] = prop()


@attrs.frozen(kw_only=True)
class Application:
    """An APIM application."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: ApplicationSpec = prop(required=True)
    status: Opt[ApplicationStatus] = prop()


@attrs.frozen(kw_only=True)
class Subscription:
    """An application's subscription to an API plan."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: SubscriptionSpec = prop(required=True)
    status: Opt[SubscriptionStatus] = prop()


@attrs.frozen(kw_only=True)
class SharedPolicyGroup:
    """A reusable chain of policies for v4 APIs."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: SharedPolicyGroupSpec = prop(required=True)
    status: Opt[SharedPolicyGroupStatus] = prop()


@attrs.frozen(kw_only=True)
class Group:
    """An APIM user group."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: GroupSpec = prop(required=True)
    status: Opt[GroupStatus] = prop()


@attrs.frozen(kw_only=True)
class Notification:
    """Console notification settings for APIs."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: NotificationSpec = prop(required=True)
    status: Opt[NotificationStatus] = prop()


@attrs.frozen(kw_only=True)
class Dictionary:
    """An APIM dictionary gateway expressions read."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: DictionarySpec = prop(required=True)
    status: Opt[DictionaryStatus] = prop()


@attrs.frozen(kw_only=True)
class Portal:
    """A next-generation developer portal."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: PortalSpec = prop(required=True)
    status: Opt[PortalObjectStatus] = prop()


@attrs.frozen(kw_only=True)
class PortalListing:
    """v4 APIs placed in a portal's navigation."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: PortalListingSpec = prop(required=True)
    status: Opt[PortalObjectStatus] = prop()


@attrs.frozen(kw_only=True)
class PortalLink:
    """An external link in a portal's navigation."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: PortalLinkSpec = prop(required=True)
    status: Opt[PortalObjectStatus] = prop()


@attrs.frozen(kw_only=True)
class Documentation:
    """A documentation page of a portal or of a v4 API."""

    api_version: Opt[str] = _api_version()
    kind: Opt[str] = _kind()
    metadata: Opt[Raw] = _metadata()
    spec: DocumentationSpec = prop(required=True)
    status: Opt[PortalObjectStatus] = prop()


AnyResource: TypeAlias = (
    ManagementContext
    | ApiDefinition
    | ApiV4Definition
    | ApiResource
    | Application
    | Subscription
    | SharedPolicyGroup
    | Group
    | Notification
    | Dictionary
    | Portal
    | PortalListing
    | PortalLink
    | Documentation
)

RESOURCE_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        ManagementContext,
        ApiDefinition,
        ApiV4Definition,
        ApiResource,
        Application,
        Subscription,
        SharedPolicyGroup,
        Group,
        Notification,
        Dictionary,
        Portal,
        PortalListing,
        PortalLink,
        Documentation,
    )
}


def parse_resource(obj: dict[str, Any]) -> AnyResource:
    """The model of a custom resource, chosen by its ``kind``; raises ``ModelError``."""
    kind = obj.get("kind")
    cls = RESOURCE_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ModelError("kind", f"unsupported kind {kind!r}")
    result: AnyResource = structure(obj, cls)
    return result

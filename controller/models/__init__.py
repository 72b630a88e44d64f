"""Models of the gravitee.io/v1alpha1 custom resources, and the CRDs generated from them.

Owns the shape of every spec and status (frozen attrs classes), their exact JSON round trip
(``structure``/``unstructure``/``parse_resource``), the CRD generator and the validation rules a
schema cannot express. Must never do I/O beyond ``crdgen`` writing its files, nor import the
Kubernetes client, the APIM client or any other operator layer.

Usual entry points::

    from controller.models import parse_resource, unstructure, given, UNSET
    api = parse_resource(obj)            # dict from the API server -> ApiV4Definition, ...
    body = unstructure(api.spec)         # back to JSON, exactly as it came
"""

from controller.models.base import UNSET, Opt, Raw, UnsetType, given, or_default
from controller.models.convert import ModelError, structure, unstructure
from controller.models.kinds import KINDS, KindInfo, kind_info
from controller.models.resources import (
    API_VERSION,
    GROUP,
    VERSION,
    AnyResource,
    ApiDefinition,
    ApiResource,
    ApiV4Definition,
    Application,
    Dictionary,
    Documentation,
    Group,
    ManagementContext,
    Notification,
    Portal,
    PortalLink,
    PortalListing,
    SharedPolicyGroup,
    Subscription,
    parse_resource,
)

__all__ = [
    "API_VERSION",
    "GROUP",
    "KINDS",
    "UNSET",
    "VERSION",
    "AnyResource",
    "ApiDefinition",
    "ApiResource",
    "ApiV4Definition",
    "Application",
    "Dictionary",
    "Documentation",
    "Group",
    "KindInfo",
    "ManagementContext",
    "ModelError",
    "Notification",
    "Opt",
    "Portal",
    "PortalLink",
    "PortalListing",
    "Raw",
    "SharedPolicyGroup",
    "Subscription",
    "UnsetType",
    "given",
    "kind_info",
    "or_default",
    "parse_resource",
    "structure",
    "unstructure",
]

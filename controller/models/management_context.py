"""ManagementContext: where and how to reach an APIM Management API (spec and status).

Credentials are hidden from ``repr``. Must never resolve Secrets or build clients.
"""

import attrs

from controller.models.base import Opt, prop
from controller.models.common import Condition, ObjectRef, conditions_prop


@attrs.frozen(kw_only=True)
class BasicCredentials:
    """Username and password for basic authentication."""

    password: str = prop(required=True, secret=True, doc="Password.")
    username: str = prop(required=True, doc="Username.")


@attrs.frozen(kw_only=True)
class ContextAuth:
    """How the operator authenticates against APIM (one of the three)."""

    bearer_token: Opt[str] = prop(secret=True, doc="Personal access token.")
    credentials: Opt[BasicCredentials] = prop(doc="Basic authentication.")
    secret_ref: Opt[ObjectRef] = prop(
        doc="Secret with a bearerToken key, or username and password keys."
    )


@attrs.frozen(kw_only=True)
class CloudAuth:
    """Gravitee Cloud access (token inline or in a Secret's cloudToken key)."""

    secret_ref: Opt[ObjectRef] = prop(doc="Secret holding the cloud token.")
    token: Opt[str] = prop(secret=True, doc="Cloud token (a JWT).")


@attrs.frozen(kw_only=True)
class ManagementContextSpec:
    """An APIM Management API, organization and environment, with credentials."""

    auth: Opt[ContextAuth] = prop(doc="Authentication.")
    base_url: Opt[str] = prop(doc="Management API root URL, e.g. http://apim:8083.")
    cloud: Opt[CloudAuth] = prop(doc="Target Gravitee Cloud instead of a self-hosted APIM.")
    environment_id: Opt[str] = prop(doc="Target environment.")
    organization_id: Opt[str] = prop(doc="Target organization.")
    path: Opt[str] = prop(doc="Replaces the /management and /automation path prefixes.")


@attrs.frozen(kw_only=True)
class ManagementContextStatus:
    """Observed state of the context."""

    conditions: Opt[list[Condition]] = conditions_prop()

"""Application: an APIM consumer application (spec and status).

Must never resolve certificate references or talk to APIM.
"""

import attrs

from controller.models.base import Opt, prop
from controller.models.common import (
    METADATA_FORMATS,
    Condition,
    Errors,
    Member,
    ObjectRef,
    conditions_prop,
)

OAUTH_APPLICATION_TYPES = ("BACKEND_TO_BACKEND", "NATIVE", "BROWSER", "WEB")
GRANT_TYPES = ("authorization_code", "client_credentials", "refresh_token", "password", "implicit")


@attrs.frozen(kw_only=True)
class ApplicationMetadata:
    """A metadata entry of an application."""

    default_value: Opt[str] = prop(doc="Value used when none is given.")
    format: Opt[str] = prop(enum=METADATA_FORMATS, doc="Value format.")
    hidden: Opt[bool] = prop(doc="Hidden from the portal.")
    name: str = prop(required=True, doc="Metadata name.")
    value: Opt[str] = prop(doc="Metadata value.")


@attrs.frozen(kw_only=True)
class SimpleSettings:
    """A simple application: the client id is given by the user."""

    client_id: Opt[str] = prop(doc="Client id used by JWT and OAuth2 plans.")
    type: str = prop(required=True, doc="Free-form application type.")


@attrs.frozen(kw_only=True)
class OAuthSettings:
    """An application registered as an OAuth client (dynamic client registration)."""

    application_type: str = prop(required=True, enum=OAUTH_APPLICATION_TYPES, doc="Client kind.")
    grant_types: list[str] = prop(required=True, items_enum=GRANT_TYPES, doc="Allowed grants.")
    redirect_uris: Opt[list[str]] = prop(doc="Allowed redirect URIs.")


@attrs.frozen(kw_only=True)
class CertificateRef:
    """A Secret or ConfigMap key holding a PEM certificate."""

    key: Opt[str] = prop(default="tls.crt", doc="Key inside the object.")
    kind: Opt[str] = prop(default="secrets", enum=("secrets", "configmaps"), doc="Object kind.")
    name: str = prop(required=True, doc="Object name.")
    namespace: Opt[str] = prop(doc="Object namespace (default: the application's).")


@attrs.frozen(kw_only=True)
class ClientCertificate:
    """A client certificate for mTLS plans, inline or referenced."""

    content: Opt[str] = prop(doc="PEM certificate (base64 when encoded is true).")
    encoded: Opt[bool] = prop(doc="content is base64 encoded.")
    ends_at: Opt[str] = prop(doc="End of validity in APIM (RFC 3339).")
    name: Opt[str] = prop(doc="Certificate name.")
    ref: Opt[CertificateRef] = prop(doc="Where to read the certificate.")
    starts_at: Opt[str] = prop(doc="Start of validity in APIM (RFC 3339).")


@attrs.frozen(kw_only=True)
class TlsSettings:
    """Client certificates of the application."""

    client_certificate: Opt[str] = prop(doc="Single PEM certificate (deprecated).")
    client_certificates: Opt[list[ClientCertificate]] = prop(doc="Client certificates.")


@attrs.frozen(kw_only=True)
class ApplicationSettings:
    """Application settings: simple or OAuth, plus TLS."""

    app: Opt[SimpleSettings] = prop(doc="Simple application.")
    oauth: Opt[OAuthSettings] = prop(doc="OAuth application.")
    tls: Opt[TlsSettings] = prop(doc="Client certificates.")


@attrs.frozen(kw_only=True)
class ApplicationSpec:
    """Desired state of an APIM application."""

    background: Opt[str] = prop(doc="Background image.")
    context_ref: ObjectRef = prop(required=True, doc="ManagementContext the application lives in.")
    description: str = prop(required=True, doc="Description.")
    domain: Opt[str] = prop(doc="Domain.")
    groups: Opt[list[str]] = prop(doc="APIM groups given access.")
    hrid: Opt[str] = prop(doc="Human readable id (filled by the operator).")
    id: Opt[str] = prop(doc="Application id in APIM.")
    members: Opt[list[Member]] = prop(doc="Users given a role on the application.")
    metadata: Opt[list[ApplicationMetadata]] = prop(doc="Application metadata.")
    name: str = prop(required=True, doc="Application name.")
    notify_members: Opt[bool] = prop(doc="Notify members when added.")
    picture: Opt[str] = prop(doc="Picture (data URL).")
    picture_url: Opt[str] = prop(doc="Picture URL.")
    settings: ApplicationSettings = prop(required=True, doc="Settings.")


@attrs.frozen(kw_only=True)
class ApplicationStatus:
    """Observed state of the application in APIM."""

    conditions: Opt[list[Condition]] = conditions_prop()
    environment_id: Opt[str] = prop(doc="APIM environment.")
    errors: Opt[Errors] = prop(doc="APIM errors and warnings from the last push.")
    id: Opt[str] = prop(doc="APIM id.")
    organization_id: Opt[str] = prop(doc="APIM organization.")
    processing_status: Opt[str] = prop(doc="Outcome of the last reconcile (legacy).")
    subscriptions: Opt[int] = prop(doc="Number of Subscription objects using it.")

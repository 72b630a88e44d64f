"""Building blocks shared by several kinds: references, conditions, errors, members, metadata,
properties, resources, pages, response templates, HTTP client / TLS / proxy options.

Must never hold kind-specific fields or behaviour; a block lives here only when two kinds use it.
"""

from typing import Any

import attrs

from controller.models.base import Opt, Raw, prop

HTTP_METHODS = (
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "HEAD",
    "CONNECT",
    "TRACE",
    "OTHER",
)
METADATA_FORMATS = ("STRING", "NUMERIC", "BOOLEAN", "DATE", "MAIL", "URL")
KEYSTORE_TYPES = ("PEM", "PKCS12", "JKS")


@attrs.frozen(kw_only=True)
class ObjectRef:
    """Points at another Kubernetes object by name (namespace defaults to the referrer's)."""

    kind: Opt[str] = prop(doc="Kind of the referenced object, when the field allows several.")
    name: str = prop(required=True, doc="Name of the referenced object.")
    namespace: Opt[str] = prop(doc="Namespace of the referenced object (default: the referrer's).")


@attrs.frozen(kw_only=True)
class Condition:
    """One observed aspect of the object's state (Kubernetes metav1.Condition)."""

    last_transition_time: str = prop(
        required=True, format="date-time", doc="When the status last changed."
    )
    message: str = prop(required=True, max_length=32768, doc="Human readable details.")
    observed_generation: Opt[int] = prop(
        format="int64", minimum=0, doc="metadata.generation this condition was computed from."
    )
    reason: str = prop(
        required=True,
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        doc="CamelCase machine-readable cause of the last transition.",
    )
    status: str = prop(
        required=True, enum=("True", "False", "Unknown"), doc="True, False or Unknown."
    )
    type: str = prop(
        required=True,
        max_length=316,
        pattern=(
            r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
        ),
        doc="Condition type, e.g. Accepted or ResolvedRefs.",
    )


def conditions_prop() -> Any:
    """The usual ``status.conditions``: a list-map keyed by type, at most 8, empty by default."""
    return prop(
        default=[],
        max_items=8,
        list_type="map",
        list_map_keys=("type",),
        doc="Latest observations of the object's state.",
    )


@attrs.frozen(kw_only=True)
class Errors:
    """Messages returned by APIM when the object was last pushed."""

    severe: Opt[list[str]] = prop(doc="Blocking errors.")
    warning: Opt[list[str]] = prop(doc="Non blocking warnings.")


@attrs.frozen(kw_only=True)
class Member:
    """A user given a role on the object in APIM."""

    role: Opt[str] = prop(default="USER", doc="Role name in APIM.")
    source: str = prop(required=True, doc="Identity provider of the user, e.g. memory or gravitee.")
    source_id: str = prop(required=True, doc="User id inside the identity provider.")


@attrs.frozen(kw_only=True)
class ApiMetadata:
    """A metadata entry of an API."""

    default_value: Opt[str] = prop(doc="Value used when none is given.")
    format: str = prop(required=True, enum=METADATA_FORMATS, doc="Value format.")
    key: str = prop(required=True, doc="Metadata key.")
    name: str = prop(required=True, doc="Display name.")
    value: Opt[str] = prop(doc="Metadata value.")


@attrs.frozen(kw_only=True)
class Property:
    """A key/value made available to the API's policies and expressions."""

    dynamic: Opt[bool] = prop(doc="Filled by the dynamic properties service.")
    encryptable: Opt[bool] = prop(doc="The value should be encrypted by APIM.")
    encrypted: Opt[bool] = prop(doc="The value is already encrypted.")
    key: Opt[str] = prop(doc="Property key.")
    value: Opt[str] = prop(doc="Property value.")


@attrs.frozen(kw_only=True)
class ApiResourceRef:
    """An API resource, given inline or as a reference to an ApiResource object."""

    configuration: Opt[Raw] = prop(doc="Resource configuration, specific to its type.")
    enabled: Opt[bool] = prop(default=True, doc="Whether the resource is active.")
    name: Opt[str] = prop(doc="Resource name, used by policies to find it.")
    ref: Opt[ObjectRef] = prop(doc="ApiResource object holding the resource.")
    type: Opt[str] = prop(doc="Resource plugin id, e.g. cache or oauth2-am-resource.")


@attrs.frozen(kw_only=True)
class PageSource:
    """Where APIM fetches the page content from."""

    configuration: Raw = prop(required=True, doc="Fetcher configuration.")
    type: str = prop(required=True, doc="Fetcher plugin id, e.g. http-fetcher.")


@attrs.frozen(kw_only=True)
class AccessControl:
    """A group allowed (or excluded) to see a page."""

    reference_id: str = prop(required=True, doc="Group id or name.")
    reference_type: str = prop(required=True, enum=("GROUP",), doc="Kind of reference.")


@attrs.frozen(kw_only=True)
class Page:
    """A documentation page of an API."""

    api: Opt[str] = prop(doc="Id of the owning API (filled by the operator).")
    configuration: Opt[dict[str, str]] = prop(doc="Rendering options.")
    content: Opt[str] = prop(doc="Inline content.")
    cross_id: Opt[str] = prop(doc="Id shared by every environment.")
    homepage: Opt[bool] = prop(default=False, doc="Page is the API home page.")
    hrid: Opt[str] = prop(doc="Human readable id (filled by the operator).")
    id: Opt[str] = prop(doc="Page id in APIM.")
    name: str = prop(required=True, doc="Page title.")
    order: Opt[int] = prop(format="int64", doc="Position among its siblings.")
    parent: Opt[str] = prop(doc="Key of the parent page (a folder).")
    parent_hrid: Opt[str] = prop(doc="Human readable id of the parent (filled by the operator).")
    parent_id: Opt[str] = prop(doc="Id of the parent page (filled by the operator).")
    published: Opt[bool] = prop(default=False, doc="Visible on the portal.")
    source: Opt[PageSource] = prop(doc="External source of the content.")
    type: str = prop(
        required=True,
        enum=("MARKDOWN", "SWAGGER", "ASYNCAPI", "ASCIIDOC", "FOLDER", "SYSTEM_FOLDER", "ROOT"),
        doc="Page kind.",
    )
    visibility: Opt[str] = prop(
        default="PUBLIC", enum=("PUBLIC", "PRIVATE"), doc="Portal visibility."
    )


@attrs.frozen(kw_only=True)
class PageV2(Page):
    """A documentation page of a v2 API, with portal access control."""

    access_controls: Opt[list[AccessControl]] = prop(
        default=[], doc="Groups the page is restricted to."
    )
    excluded_access_controls: Opt[bool] = prop(doc="accessControls lists excluded groups.")


@attrs.frozen(kw_only=True)
class ResponseTemplate:
    """A response returned instead of an error of a given key."""

    body: Opt[str] = prop(doc="Response body.")
    headers: Opt[dict[str, str]] = prop(doc="Response headers.")
    propagate_error_key_to_logs: Opt[bool] = prop(doc="Also write the error key to logs.")
    status: Opt[int] = prop(doc="HTTP status code.")


# response templates: error key -> media type -> template
ResponseTemplates = dict[str, dict[str, ResponseTemplate]]


@attrs.frozen(kw_only=True)
class HttpHeader:
    """An HTTP header."""

    name: Opt[str] = prop(doc="Header name.")
    value: Opt[str] = prop(doc="Header value.")


@attrs.frozen(kw_only=True)
class HttpClientOptions:
    """How the gateway's HTTP client talks to backends."""

    clear_text_upgrade: Opt[bool] = prop(default=True, doc="Allow h2c upgrade.")
    connect_timeout: Opt[int] = prop(format="int64", doc="Connect timeout (ms).")
    follow_redirects: Opt[bool] = prop(required=True, default=False, doc="Follow 3xx responses.")
    idle_timeout: Opt[int] = prop(format="int64", doc="Idle connection timeout (ms).")
    keep_alive: Opt[bool] = prop(default=True, doc="Reuse connections.")
    keep_alive_timeout: Opt[int] = prop(
        default=30000, format="int64", doc="Keep-alive timeout (ms)."
    )
    max_chunk_size: Opt[int] = prop(doc="Largest chunk size (bytes).")
    max_concurrent_connections: Opt[int] = prop(doc="Connection pool size.")
    max_connection_lifetime: Opt[int] = prop(
        format="int64", minimum=0, doc="Connection lifetime (ms)."
    )
    max_header_size: Opt[int] = prop(doc="Largest header size (bytes).")
    max_wait_queue_size: Opt[int] = prop(
        minimum=-1, doc="Pending requests queue size, -1: unbounded."
    )
    pipelining: Opt[bool] = prop(required=True, default=False, doc="HTTP pipelining.")
    propagate_client_accept_encoding: Opt[bool] = prop(
        default=False, doc="Forward the client's Accept-Encoding."
    )
    read_timeout: Opt[int] = prop(format="int64", doc="Read timeout (ms).")
    use_compression: Opt[bool] = prop(required=True, default=False, doc="Ask for compression.")
    version: Opt[str] = prop(default="HTTP_1_1", enum=("HTTP_1_1", "HTTP_2"), doc="HTTP version.")


@attrs.frozen(kw_only=True)
class KeyStore:
    """Client certificate and key presented to backends."""

    cert_content: Opt[str] = prop(doc="PEM certificate.")
    cert_path: Opt[str] = prop(doc="PEM certificate file.")
    content: Opt[str] = prop(secret=True, doc="Base64 key store.")
    key_content: Opt[str] = prop(secret=True, doc="PEM private key.")
    key_path: Opt[str] = prop(doc="PEM private key file.")
    password: Opt[str] = prop(secret=True, doc="Key store password.")
    path: Opt[str] = prop(doc="Key store file.")
    type: Opt[str] = prop(enum=KEYSTORE_TYPES, doc="Key store format.")


@attrs.frozen(kw_only=True)
class TrustStore:
    """Certificates trusted when talking to backends."""

    content: Opt[str] = prop(doc="Base64 or PEM trust store.")
    password: Opt[str] = prop(secret=True, doc="Trust store password.")
    path: Opt[str] = prop(doc="Trust store file.")
    type: Opt[str] = prop(enum=KEYSTORE_TYPES, doc="Trust store format.")


@attrs.frozen(kw_only=True)
class SslOptions:
    """TLS settings towards backends."""

    headers: Opt[list[HttpHeader]] = prop(doc="Extra headers.")
    hostname_verifier: Opt[bool] = prop(required=True, default=True, doc="Check the host name.")
    key_store: Opt[KeyStore] = prop(doc="Client certificate.")
    trust_all: Opt[bool] = prop(required=True, default=False, doc="Trust any certificate.")
    trust_store: Opt[TrustStore] = prop(doc="Trusted certificates.")


@attrs.frozen(kw_only=True)
class HttpProxy:
    """Forward proxy used to reach backends."""

    enabled: Opt[bool] = prop(default=False, doc="Use the proxy.")
    host: Opt[str] = prop(doc="Proxy host.")
    password: Opt[str] = prop(secret=True, doc="Proxy password.")
    port: Opt[int] = prop(doc="Proxy port.")
    type: Opt[str] = prop(doc="Proxy protocol, e.g. HTTP or SOCKS5.")
    use_system_proxy: Opt[bool] = prop(default=False, doc="Use the gateway's system proxy.")
    username: Opt[str] = prop(doc="Proxy user.")


@attrs.frozen(kw_only=True)
class ApiStatus:
    """Observed state of an API (v2 or v4) in APIM."""

    conditions: Opt[list[Condition]] = conditions_prop()
    cross_id: Opt[str] = prop(doc="Cross-environment id of the API.")
    environment_id: Opt[str] = prop(doc="APIM environment holding the API.")
    errors: Opt[Errors] = prop(doc="APIM errors and warnings from the last push.")
    id: Opt[str] = prop(doc="APIM id of the API.")
    organization_id: Opt[str] = prop(doc="APIM organization holding the API.")
    plans: Opt[dict[str, str]] = prop(doc="APIM plan ids by plan key or name.")
    processing_status: Opt[str] = prop(doc="Outcome of the last reconcile (legacy).")
    state: Opt[str] = prop(enum=("STARTED", "STOPPED"), doc="Deployment state in APIM.")
    subscriptions: Opt[int] = prop(doc="Number of Subscription objects using the API.")


@attrs.frozen(kw_only=True)
class PlanBase:
    """What v2 and v4 plans have in common (upstream embeds the same base in both)."""

    characteristics: Opt[list[str]] = prop(doc="Free-form characteristics shown on the portal.")
    comment_required: Opt[bool] = prop(json="comment_required", doc="Subscribers must comment.")
    cross_id: Opt[str] = prop(doc="Id shared by every environment.")
    id: Opt[str] = prop(doc="Plan id in APIM.")
    name: str = prop(required=True, doc="Plan name.")
    order: Opt[int] = prop(doc="Position on the portal.")
    status: Opt[str] = prop(
        default="PUBLISHED", enum=("PUBLISHED", "DEPRECATED", "STAGING"), doc="Plan status."
    )
    tags: Opt[list[str]] = prop(default=[], doc="Sharding tags.")
    type: Opt[str] = prop(default="API", enum=("API", "CATALOG"), doc="Plan type.")
    validation: Opt[str] = prop(
        default="AUTO", enum=("AUTO", "MANUAL"), doc="Subscription validation."
    )


@attrs.frozen(kw_only=True)
class ApiBase:
    """What v2 and v4 API specs have in common (upstream's ``ApiBase``)."""

    categories: Opt[list[str]] = prop(default=[], doc="Portal categories.")
    context_ref: Opt[ObjectRef] = prop(doc="ManagementContext the API is pushed to.")
    cross_id: Opt[str] = prop(doc="Id shared by every environment.")
    group_refs: Opt[list[ObjectRef]] = prop(default=[], doc="Group objects given access.")
    groups: Opt[list[str]] = prop(default=[], doc="APIM group names given access.")
    id: Opt[str] = prop(doc="API id in APIM.")
    labels: Opt[list[str]] = prop(default=[], doc="Portal labels.")
    members: Opt[list[Member]] = prop(doc="Users given a role on the API.")
    metadata: Opt[list[ApiMetadata]] = prop(default=[], doc="API metadata.")
    name: str = prop(required=True, doc="API name.")
    notifications_refs: Opt[list[ObjectRef]] = prop(default=[], doc="Notification objects.")
    notify_members: Opt[bool] = prop(default=True, doc="Notify members when added.")
    properties: Opt[list[Property]] = prop(default=[], doc="API properties.")
    resources: Opt[list[ApiResourceRef]] = prop(default=[], doc="Resources, inline or referenced.")
    state: Opt[str] = prop(default="STARTED", enum=("STARTED", "STOPPED"), doc="Deployment state.")
    tags: Opt[list[str]] = prop(doc="Sharding tags.")
    version: str = prop(required=True, doc="API version.")

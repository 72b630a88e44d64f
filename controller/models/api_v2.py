"""ApiDefinition: the v2 API model (spec and status). JSON names follow the v2 definition, which
mixes snake_case (``lifecycle_state``, ``virtual_hosts``) and kebab-case (``path-operator``).

Must never compute ids, talk to APIM or apply defaults.
"""

import attrs

from controller.models.base import Opt, Raw, prop
from controller.models.common import (
    HTTP_METHODS,
    ApiBase,
    ApiStatus,
    HttpClientOptions,
    HttpHeader,
    HttpProxy,
    PageV2,
    PlanBase,
    ResponseTemplates,
    SslOptions,
)


@attrs.frozen(kw_only=True)
class ConsoleNotificationConfiguration:
    """Console notification settings (filled by the operator from Notification objects)."""

    config_type: str = prop(json="config_type", required=True, doc="Configuration type.")
    groups: list[str] = prop(required=True, doc="Notified groups.")
    hooks: list[str] = prop(required=True, doc="Notified events.")
    origin: str = prop(required=True, doc="Origin of the settings.")
    reference_id: Opt[str] = prop(doc="Id of the notified object.")
    reference_type: Opt[str] = prop(doc="Type of the notified object.")
    user: Opt[str] = prop(doc="Notified user.")


@attrs.frozen(kw_only=True)
class DefinitionContextV2:
    """Where the API definition comes from and where gateways read it."""

    mode: Opt[str] = prop(default="fully_managed", doc="Management mode.")
    origin: Opt[str] = prop(default="kubernetes", doc="Origin of the API.")
    sync_from: Opt[str] = prop(
        default="kubernetes", doc="management: gateways load it from APIM; kubernetes: ConfigMap."
    )


@attrs.frozen(kw_only=True)
class Consumer:
    """A consumer a flow is restricted to."""

    consumer_id: Opt[str] = prop(doc="Consumer id.")
    consumer_type: Opt[int] = prop(doc="Consumer type (0: tag).")


@attrs.frozen(kw_only=True)
class PathOperator:
    """How a flow matches the request path."""

    operator: Opt[str] = prop(
        default="STARTS_WITH", enum=("STARTS_WITH", "EQUALS"), doc="Matching operator."
    )
    path: Opt[str] = prop(doc="Path pattern.")


@attrs.frozen(kw_only=True)
class FlowStepV2:
    """One policy applied in a v2 flow."""

    condition: Opt[str] = prop(doc="EL condition to run the step.")
    configuration: Opt[Raw] = prop(doc="Policy configuration.")
    description: Opt[str] = prop(doc="Step description.")
    enabled: Opt[bool] = prop(required=True, default=True, doc="Whether the step runs.")
    name: Opt[str] = prop(doc="Step name.")
    policy: Opt[str] = prop(doc="Policy plugin id.")


@attrs.frozen(kw_only=True)
class FlowV2:
    """Policies applied to matching requests."""

    condition: Opt[str] = prop(doc="EL condition to run the flow.")
    consumers: Opt[list[Consumer]] = prop(default=[], doc="Consumers the flow applies to.")
    enabled: Opt[bool] = prop(required=True, default=True, doc="Whether the flow runs.")
    id: Opt[str] = prop(doc="Flow id.")
    methods: Opt[list[str]] = prop(default=[], items_enum=HTTP_METHODS, doc="Matched methods.")
    name: Opt[str] = prop(doc="Flow name.")
    path_operator: Opt[PathOperator] = prop(json="path-operator", doc="Path matching.")
    post: Opt[list[FlowStepV2]] = prop(default=[], doc="Response phase steps.")
    pre: Opt[list[FlowStepV2]] = prop(default=[], doc="Request phase steps.")


@attrs.frozen(kw_only=True)
class PathPolicy:
    """A policy of a legacy path rule."""

    configuration: Opt[Raw] = prop(doc="Policy configuration.")
    name: Opt[str] = prop(doc="Policy plugin id.")


@attrs.frozen(kw_only=True)
class PathRule:
    """A legacy (v1 definition) path rule."""

    description: Opt[str] = prop(doc="Rule description.")
    enabled: Opt[bool] = prop(doc="Whether the rule runs.")
    methods: Opt[list[str]] = prop(items_enum=HTTP_METHODS, doc="Matched methods.")
    policy: Opt[PathPolicy] = prop(doc="Applied policy.")


@attrs.frozen(kw_only=True)
class PlanV2(PlanBase):
    """A v2 plan: how consumers may access the API."""

    api: Opt[str] = prop(doc="Owning API id (filled by the operator).")
    description: str = prop(required=True, doc="Plan description.")
    excluded_groups: Opt[list[str]] = prop(
        json="excluded_groups", default=[], doc="Groups that cannot see the plan."
    )
    flows: Opt[list[FlowV2]] = prop(default=[], doc="Plan flows.")
    paths: Opt[dict[str, list[PathRule]]] = prop(doc="Legacy path rules.")
    security: str = prop(required=True, doc="KEY_LESS, API_KEY, JWT, OAUTH2...")
    security_definition: Opt[str] = prop(doc="Security plugin configuration as a JSON string.")
    selection_rule: Opt[str] = prop(json="selection_rule", doc="EL rule selecting the plan.")


@attrs.frozen(kw_only=True)
class Cors:
    """Cross-origin resource sharing."""

    allow_credentials: bool = prop(required=True, doc="Access-Control-Allow-Credentials.")
    allow_headers: Opt[list[str]] = prop(default=[], doc="Access-Control-Allow-Headers.")
    allow_methods: Opt[list[str]] = prop(default=[], doc="Access-Control-Allow-Methods.")
    allow_origin: Opt[list[str]] = prop(default=[], doc="Allowed origins.")
    enabled: bool = prop(required=True, doc="Enabled.")
    expose_headers: Opt[list[str]] = prop(default=[], doc="Access-Control-Expose-Headers.")
    max_age: int = prop(required=True, doc="Access-Control-Max-Age (s).")
    run_policies: Opt[bool] = prop(default=False, doc="Run policies on preflight requests.")


@attrs.frozen(kw_only=True)
class FailoverV2:
    """Retry on another endpoint."""

    cases: Opt[list[str]] = prop(doc="Failure cases, e.g. TIMEOUT.")
    max_attempts: Opt[int] = prop(doc="Attempts.")
    retry_timeout: Opt[int] = prop(format="int64", doc="Timeout per attempt (ms).")


@attrs.frozen(kw_only=True)
class HealthCheckRequest:
    """Request sent by a health check."""

    body: Opt[str] = prop(doc="Body.")
    from_root: bool = prop(required=True, doc="Path is relative to the endpoint root.")
    headers: Opt[list[HttpHeader]] = prop(default=[], doc="Headers.")
    method: Opt[str] = prop(enum=HTTP_METHODS, doc="Method.")
    path: Opt[str] = prop(doc="Path.")


@attrs.frozen(kw_only=True)
class HealthCheckResponse:
    """Expected health check response."""

    assertions: Opt[list[str]] = prop(doc="EL assertions.")


@attrs.frozen(kw_only=True)
class HealthCheckStep:
    """One health check probe."""

    name: Opt[str] = prop(doc="Step name.")
    request: Opt[HealthCheckRequest] = prop(doc="Probe request.")
    response: Opt[HealthCheckResponse] = prop(doc="Expected response.")


@attrs.frozen(kw_only=True)
class HealthCheckService:
    """Health checking of endpoints."""

    enabled: Opt[bool] = prop(default=False, doc="Enabled.")
    name: Opt[str] = prop(doc="Service name.")
    schedule: Opt[str] = prop(doc="Cron schedule.")
    steps: Opt[list[HealthCheckStep]] = prop(default=[], doc="Probes.")


@attrs.frozen(kw_only=True)
class EndpointHealthCheck:
    """Health checking of one endpoint."""

    enabled: Opt[bool] = prop(default=False, doc="Enabled.")
    inherit: Opt[bool] = prop(default=False, doc="Use the API's health check.")
    name: Opt[str] = prop(doc="Service name.")
    schedule: Opt[str] = prop(doc="Cron schedule.")
    steps: Opt[list[HealthCheckStep]] = prop(default=[], doc="Probes.")


@attrs.frozen(kw_only=True)
class DiscoveryService:
    """Endpoint discovery."""

    configuration: Opt[Raw] = prop(doc="Provider configuration.")
    enabled: Opt[bool] = prop(default=False, doc="Enabled.")
    name: Opt[str] = prop(doc="Service name.")
    provider: Opt[str] = prop(doc="Provider plugin id.")
    secondary: Opt[bool] = prop(doc="Discovered endpoints are secondary.")
    tenants: Opt[list[str]] = prop(default=[], doc="Tenants of discovered endpoints.")


@attrs.frozen(kw_only=True)
class DynamicPropertyService:
    """Periodic fetching of API properties."""

    configuration: Opt[Raw] = prop(doc="Provider configuration.")
    enabled: Opt[bool] = prop(default=False, doc="Enabled.")
    name: Opt[str] = prop(doc="Service name.")
    provider: Opt[str] = prop(enum=("HTTP",), doc="Provider.")
    schedule: Opt[str] = prop(doc="Cron schedule.")


@attrs.frozen(kw_only=True)
class ServicesV2:
    """Background services."""

    discovery: Opt[DiscoveryService] = prop(doc="Endpoint discovery.")
    dynamic_property: Opt[DynamicPropertyService] = prop(
        json="dynamic-property", doc="Dynamic properties."
    )
    health_check: Opt[HealthCheckService] = prop(json="health-check", doc="Health checking.")


@attrs.frozen(kw_only=True)
class EndpointV2:
    """A backend the gateway forwards to."""

    backup: Opt[bool] = prop(doc="Only used when the others fail.")
    headers: Opt[list[HttpHeader]] = prop(default=[], doc="Headers added to requests.")
    healthcheck: Opt[EndpointHealthCheck] = prop(doc="Health checking.")
    http: Opt[HttpClientOptions] = prop(doc="HTTP client options.")
    inherit: Opt[bool] = prop(doc="Use the group's settings.")
    name: Opt[str] = prop(doc="Endpoint name.")
    proxy: Opt[HttpProxy] = prop(doc="Forward proxy.")
    ssl: Opt[SslOptions] = prop(doc="TLS options.")
    target: Opt[str] = prop(doc="Backend URL.")
    tenants: Opt[list[str]] = prop(default=[], doc="Tenants served.")
    type: Opt[str] = prop(doc="Endpoint type, e.g. http.")
    weight: Opt[int] = prop(doc="Load balancing weight.")


@attrs.frozen(kw_only=True)
class LoadBalancing:
    """How requests are spread over endpoints."""

    type: Opt[str] = prop(doc="ROUND_ROBIN, RANDOM, WEIGHTED_ROUND_ROBIN or WEIGHTED_RANDOM.")


@attrs.frozen(kw_only=True)
class EndpointGroupV2:
    """Endpoints sharing settings."""

    endpoints: Opt[list[EndpointV2]] = prop(doc="Group members.")
    headers: Opt[dict[str, str]] = prop(doc="Headers added to requests.")
    http: Opt[HttpClientOptions] = prop(doc="HTTP client options.")
    load_balancing: Opt[LoadBalancing] = prop(json="load_balancing", doc="Load balancing.")
    name: Opt[str] = prop(doc="Group name.")
    proxy: Opt[HttpProxy] = prop(doc="Forward proxy.")
    services: Opt[ServicesV2] = prop(doc="Group services.")
    ssl: Opt[SslOptions] = prop(doc="TLS options.")


@attrs.frozen(kw_only=True)
class LoggingV2:
    """Request logging."""

    condition: Opt[str] = prop(doc="EL condition to log a request.")
    content: Opt[str] = prop(
        enum=("NONE", "HEADERS", "PAYLOADS", "HEADERS_PAYLOADS"), doc="What is logged."
    )
    mode: Opt[str] = prop(enum=("NONE", "CLIENT", "PROXY", "CLIENT_PROXY"), doc="Which side.")
    scope: Opt[str] = prop(
        enum=("NONE", "REQUEST", "RESPONSE", "REQUEST_RESPONSE"), doc="Which phase."
    )


@attrs.frozen(kw_only=True)
class VirtualHost:
    """An entrypoint of the API."""

    host: Opt[str] = prop(doc="Host name.")
    override_entrypoint: Opt[bool] = prop(
        json="override_entrypoint", doc="Use as the portal entrypoint."
    )
    path: Opt[str] = prop(doc="Context path.")


@attrs.frozen(kw_only=True)
class Proxy:
    """Entrypoints and backends of a v2 API."""

    cors: Opt[Cors] = prop(doc="CORS.")
    failover: Opt[FailoverV2] = prop(doc="Failover.")
    groups: Opt[list[EndpointGroupV2]] = prop(default=[], doc="Endpoint groups.")
    logging: Opt[LoggingV2] = prop(doc="Request logging.")
    preserve_host: Opt[bool] = prop(json="preserve_host", doc="Forward the Host header.")
    strip_context_path: Opt[bool] = prop(
        json="strip_context_path", doc="Remove the context path before forwarding."
    )
    virtual_hosts: Opt[list[VirtualHost]] = prop(json="virtual_hosts", doc="Entrypoints.")


@attrs.frozen(kw_only=True)
class ApiDefinitionSpec(ApiBase):
    """Desired state of a v2 API."""

    console_notification_configuration: Opt[ConsoleNotificationConfiguration] = prop(
        doc="Filled by the operator."
    )
    definition_context: Opt[DefinitionContextV2] = prop(
        json="definition_context", doc="Origin and source of truth."
    )
    deployed_at: Opt[int] = prop(format="int64", doc="Last deployment time (epoch ms).")
    description: str = prop(required=True, doc="API description.")
    execution_mode: Opt[str] = prop(
        json="execution_mode",
        default="v4-emulation-engine",
        enum=("v3", "v4-emulation-engine"),
        doc="Gateway engine.",
    )
    flow_mode: Opt[str] = prop(
        json="flow_mode", default="DEFAULT", enum=("DEFAULT", "BEST_MATCH"), doc="Flow selection."
    )
    flows: Opt[list[FlowV2]] = prop(default=[], doc="API flows.")
    gravitee: Opt[str] = prop(default="2.0.0", doc="Definition version.")
    lifecycle_state: Opt[str] = prop(
        json="lifecycle_state",
        default="CREATED",
        enum=("CREATED", "PUBLISHED", "UNPUBLISHED", "DEPRECATED", "ARCHIVED"),
        doc="Portal lifecycle.",
    )
    local: Opt[bool] = prop(default=False, doc="Deploy through a ConfigMap instead of APIM.")
    pages: Opt[dict[str, PageV2]] = prop(doc="Documentation pages by key.")
    path_mappings: Opt[list[str]] = prop(json="path_mappings", doc="Analytics path mappings.")
    plans: Opt[list[PlanV2]] = prop(default=[], doc="Plans.")
    proxy: Opt[Proxy] = prop(doc="Entrypoints and backends.")
    response_templates: Opt[ResponseTemplates] = prop(
        json="response_templates", doc="Templates by error key and media type."
    )
    services: Opt[ServicesV2] = prop(doc="API services.")
    visibility: Opt[str] = prop(
        default="PRIVATE", enum=("PUBLIC", "PRIVATE"), doc="Portal visibility."
    )


ApiDefinitionStatus = ApiStatus

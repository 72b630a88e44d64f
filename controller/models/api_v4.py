"""ApiV4Definition: the v4 API model (spec and status).

Listeners stay raw JSON (the schema preserves them as free objects, typed by their ``type``);
``listener_paths`` reads the context paths out of them.

Must never compute ids, talk to APIM or apply defaults.
"""

from typing import Any

import attrs

from controller.models.base import Opt, Raw, given, prop
from controller.models.common import (
    ApiBase,
    ApiStatus,
    HttpClientOptions,
    ObjectRef,
    Page,
    PlanBase,
    ResponseTemplates,
    SslOptions,
)

API_TYPES = ("PROXY", "MESSAGE", "NATIVE", "LLM_PROXY", "MCP_PROXY", "A2A_PROXY")
FLOW_PHASES = ("request", "response", "connect", "interact", "publish", "subscribe")


@attrs.frozen(kw_only=True)
class FlowStep:
    """One policy (or shared policy group) applied in a flow phase."""

    condition: Opt[str] = prop(doc="EL condition to run the step.")
    configuration: Opt[Raw] = prop(doc="Policy configuration.")
    description: Opt[str] = prop(doc="Step description.")
    enabled: Opt[bool] = prop(required=True, default=True, doc="Whether the step runs.")
    message_condition: Opt[str] = prop(doc="EL condition evaluated per message.")
    name: Opt[str] = prop(doc="Step name.")
    policy: Opt[str] = prop(doc="Policy plugin id.")
    shared_policy_group_ref: Opt[ObjectRef] = prop(doc="SharedPolicyGroup run as this step.")


@attrs.frozen(kw_only=True)
class Flow:
    """Policies applied to matching traffic, per phase."""

    connect: Opt[list[FlowStep]] = prop(doc="Connect phase steps (native APIs).")
    enabled: Opt[bool] = prop(required=True, default=True, doc="Whether the flow runs.")
    id: Opt[str] = prop(doc="Flow id.")
    interact: Opt[list[FlowStep]] = prop(doc="Interact phase steps (native APIs).")
    name: Opt[str] = prop(doc="Flow name.")
    publish: Opt[list[FlowStep]] = prop(doc="Publish phase steps (message APIs).")
    request: Opt[list[FlowStep]] = prop(doc="Request phase steps.")
    response: Opt[list[FlowStep]] = prop(doc="Response phase steps.")
    selectors: Opt[list[Raw]] = prop(doc="What the flow matches (http, channel, condition...).")
    subscribe: Opt[list[FlowStep]] = prop(doc="Subscribe phase steps (message APIs).")
    tags: Opt[list[str]] = prop(doc="Sharding tags.")

    def steps(self) -> dict[str, list[FlowStep]]:
        """Steps per phase name (only phases that are set)."""
        out: dict[str, list[FlowStep]] = {}
        for phase in FLOW_PHASES:
            steps = getattr(self, phase)
            if given(steps):
                out[phase] = steps
        return out


@attrs.frozen(kw_only=True)
class ServiceSettings:
    """A pluggable background service (health check, discovery, dynamic properties)."""

    configuration: Opt[Raw] = prop(doc="Service configuration.")
    enabled: bool = prop(required=True, doc="Whether the service runs.")
    override_configuration: bool = prop(required=True, doc="Override the group's configuration.")
    type: Opt[str] = prop(doc="Service plugin id.")


@attrs.frozen(kw_only=True)
class EndpointServices:
    """Services of one endpoint."""

    health_check: Opt[ServiceSettings] = prop(doc="Health checking.")


@attrs.frozen(kw_only=True)
class EndpointGroupServices:
    """Services of an endpoint group."""

    discovery: Opt[ServiceSettings] = prop(doc="Endpoint discovery.")
    health_check: Opt[ServiceSettings] = prop(doc="Health checking.")


@attrs.frozen(kw_only=True)
class Endpoint:
    """A backend the gateway forwards to."""

    configuration: Opt[Raw] = prop(doc="Connector configuration (target, bootstrap servers...).")
    inherit_configuration: Opt[bool] = prop(
        required=True, doc="Use the group's shared configuration."
    )
    name: Opt[str] = prop(doc="Endpoint name.")
    secondary: Opt[bool] = prop(default=False, doc="Only used when primaries fail.")
    services: Opt[EndpointServices] = prop(doc="Endpoint services.")
    shared_configuration_override: Opt[Raw] = prop(doc="Overrides of the group's configuration.")
    tenants: Opt[list[str]] = prop(default=[], doc="Tenants served by the endpoint.")
    type: str = prop(required=True, doc="Connector plugin id, e.g. http-proxy.")
    weight: Opt[int] = prop(format="int32", doc="Weight for weighted load balancing.")


@attrs.frozen(kw_only=True)
class LoadBalancer:
    """How requests are spread over endpoints."""

    type: Opt[str] = prop(
        required=True,
        default="ROUND_ROBIN",
        enum=("ROUND_ROBIN", "RANDOM", "WEIGHTED_ROUND_ROBIN", "WEIGHTED_RANDOM"),
        doc="Algorithm.",
    )


@attrs.frozen(kw_only=True)
class EndpointGroup:
    """Endpoints sharing a connector type and configuration."""

    endpoints: Opt[list[Endpoint]] = prop(default=[], doc="Group members.")
    headers: Opt[dict[str, str]] = prop(doc="Headers added to backend requests.")
    http: Opt[HttpClientOptions] = prop(doc="HTTP client options.")
    load_balancer: Opt[LoadBalancer] = prop(doc="Load balancing.")
    name: str = prop(required=True, doc="Group name.")
    services: Opt[EndpointGroupServices] = prop(doc="Group services.")
    shared_configuration: Opt[Raw] = prop(doc="Configuration shared by the endpoints.")
    ssl: Opt[SslOptions] = prop(doc="TLS options.")
    type: Opt[str] = prop(doc="Connector plugin id.")


@attrs.frozen(kw_only=True)
class Security:
    """Plan security."""

    configuration: Opt[Raw] = prop(doc="Security plugin configuration.")
    type: str = prop(required=True, doc="KEY_LESS, API_KEY, JWT, OAUTH2, MTLS...")


@attrs.frozen(kw_only=True)
class PlanV4(PlanBase):
    """A v4 plan: how consumers may access the API."""

    bootstrap_port: Opt[int] = prop(doc="Native Kafka bootstrap port.")
    broker_range_end: Opt[int] = prop(doc="Native Kafka last broker port.")
    broker_range_start: Opt[int] = prop(doc="Native Kafka first broker port.")
    definition_version: Opt[str] = prop(default="V4", doc="Plan definition version.")
    description: Opt[str] = prop(doc="Plan description.")
    excluded_groups: Opt[list[str]] = prop(default=[], doc="Groups that cannot see the plan.")
    flows: Opt[list[Flow]] = prop(default=[], doc="Plan flows.")
    general_conditions: Opt[str] = prop(doc="Key of the page holding the terms.")
    general_conditions_hrid: Opt[str] = prop(doc="Terms page human readable id (operator).")
    hrid: Opt[str] = prop(doc="Human readable id (filled by the operator).")
    mode: Opt[str] = prop(default="STANDARD", doc="STANDARD or PUSH.")
    security: Opt[Security] = prop(doc="Plan security.")
    selection_rule: Opt[str] = prop(doc="EL rule selecting the plan.")


@attrs.frozen(kw_only=True)
class LoggingContent:
    """What is logged."""

    headers: bool = prop(required=True, doc="Headers.")
    message_headers: bool = prop(required=True, doc="Message headers.")
    message_metadata: bool = prop(required=True, doc="Message metadata.")
    message_payload: bool = prop(required=True, doc="Message payloads.")
    payload: bool = prop(required=True, doc="Payloads.")


@attrs.frozen(kw_only=True)
class LoggingMode:
    """Which side is logged."""

    endpoint: bool = prop(required=True, doc="Backend side.")
    entrypoint: bool = prop(required=True, doc="Client side.")


@attrs.frozen(kw_only=True)
class LoggingPhase:
    """Which phase is logged."""

    request: bool = prop(required=True, doc="Requests.")
    response: bool = prop(required=True, doc="Responses.")


@attrs.frozen(kw_only=True)
class Logging:
    """Request logging."""

    condition: Opt[str] = prop(doc="EL condition to log a request.")
    content: Opt[LoggingContent] = prop(doc="What is logged.")
    message_condition: Opt[str] = prop(doc="EL condition to log a message.")
    mode: Opt[LoggingMode] = prop(doc="Which side is logged.")
    phase: Opt[LoggingPhase] = prop(doc="Which phase is logged.")


@attrs.frozen(kw_only=True)
class Sampling:
    """Message sampling for analytics."""

    type: str = prop(
        required=True, enum=("PROBABILITY", "TEMPORAL", "COUNT", "WINDOWED_COUNT"), doc="Method."
    )
    value: str = prop(required=True, doc="Method parameter.")


@attrs.frozen(kw_only=True)
class Toggle:
    """An on/off setting."""

    enabled: Opt[bool] = prop(doc="Enabled.")


@attrs.frozen(kw_only=True)
class Tracing:
    """OpenTelemetry tracing."""

    enabled: Opt[bool] = prop(doc="Enabled.")
    verbose: Opt[bool] = prop(doc="Trace every policy.")


@attrs.frozen(kw_only=True)
class Analytics:
    """Analytics, logging and tracing of the API."""

    enabled: Opt[bool] = prop(required=True, default=True, doc="Collect analytics.")
    logging: Opt[Logging] = prop(doc="Request logging.")
    otel_logs: Opt[Toggle] = prop(doc="Send logs through OpenTelemetry.")
    reporter_metrics_enabled: Opt[bool] = prop(doc="Report metrics.")
    sampling: Opt[Sampling] = prop(doc="Message sampling.")
    tracing: Opt[Tracing] = prop(doc="Tracing.")


@attrs.frozen(kw_only=True)
class ConsoleNotification:
    """Console notification settings (filled by the operator from Notification objects)."""

    events: list[str] = prop(required=True, doc="Notified events.")
    groups: list[str] = prop(required=True, doc="Notified groups.")


@attrs.frozen(kw_only=True)
class DefinitionContextV4:
    """Where the API definition comes from and where gateways read it."""

    origin: Opt[str] = prop(default="KUBERNETES", enum=("KUBERNETES",), doc="Origin of the API.")
    sync_from: Opt[str] = prop(
        default="MANAGEMENT",
        enum=("KUBERNETES", "MANAGEMENT"),
        doc="MANAGEMENT: gateways load it from APIM; KUBERNETES: from a ConfigMap.",
    )


@attrs.frozen(kw_only=True)
class Failover:
    """Circuit breaker in front of the endpoints."""

    enabled: Opt[bool] = prop(default=False, doc="Enabled.")
    max_failures: Opt[int] = prop(default=5, doc="Failures before opening the circuit.")
    max_retries: Opt[int] = prop(default=2, doc="Retries on another endpoint.")
    open_state_duration: Opt[int] = prop(default=10000, format="int64", doc="Open time (ms).")
    per_subscription: Opt[bool] = prop(default=True, doc="One circuit per subscription.")
    slow_call_duration: Opt[int] = prop(default=2000, format="int64", doc="Slow call (ms).")


@attrs.frozen(kw_only=True)
class FlowExecution:
    """How flows are selected."""

    match_required: bool = prop(required=True, doc="Reject requests matching no flow.")
    mode: Opt[str] = prop(doc="DEFAULT or BEST_MATCH.")


@attrs.frozen(kw_only=True)
class PortalNavigationItem:
    """An entry of the API's navigation on the new portal."""

    display_name: Opt[str] = prop(doc="Label.")
    order: Opt[int] = prop(format="int32", doc="Position.")
    path: str = prop(required=True, pattern="^/", doc="Page path, starting with /.")


@attrs.frozen(kw_only=True)
class ApiV4Services:
    """API-level services."""

    dynamic_property: Opt[ServiceSettings] = prop(doc="Dynamic properties.")


@attrs.frozen(kw_only=True)
class ApiV4DefinitionSpec(ApiBase):
    """Desired state of a v4 API."""

    allow_multi_jwt_oauth2_subscriptions: Opt[bool] = prop(
        doc="Allow several JWT/OAuth2 subscriptions per application."
    )
    allowed_in_api_products: Opt[bool] = prop(doc="May be part of API products.")
    analytics: Opt[Analytics] = prop(doc="Analytics, logging and tracing.")
    console_notification: Opt[ConsoleNotification] = prop(doc="Filled by the operator.")
    definition_context: Opt[DefinitionContextV4] = prop(doc="Origin and source of truth.")
    definition_version: Opt[str] = prop(default="V4", enum=("V4",), doc="Definition version.")
    description: Opt[str] = prop(doc="API description.")
    endpoint_groups: list[EndpointGroup] = prop(required=True, min_items=1, doc="Backends.")
    failover: Opt[Failover] = prop(doc="Failover.")
    flow_execution: Opt[FlowExecution] = prop(doc="Flow selection.")
    flows: Opt[list[Flow]] = prop(default=[], doc="API flows.")
    hrid: Opt[str] = prop(doc="Human readable id (filled by the operator).")
    lifecycle_state: Opt[str] = prop(
        default="UNPUBLISHED",
        enum=("PUBLISHED", "UNPUBLISHED", "DEPRECATED", "ARCHIVED"),
        doc="Portal lifecycle.",
    )
    listeners: list[Raw] = prop(
        required=True,
        min_items=1,
        doc="How clients reach the API (HTTP, SUBSCRIPTION, TCP, KAFKA).",
    )
    pages: Opt[dict[str, Page]] = prop(doc="Documentation pages by key.")
    plans: Opt[dict[str, PlanV4]] = prop(doc="Plans by key.")
    portal_navigation: Opt[list[PortalNavigationItem]] = prop(doc="New portal navigation.")
    response_templates: Opt[ResponseTemplates] = prop(doc="Templates by error key and media type.")
    services: Opt[ApiV4Services] = prop(doc="API services.")
    type: str = prop(required=True, enum=API_TYPES, doc="API type.")
    visibility: Opt[str] = prop(
        default="PRIVATE", enum=("PUBLIC", "PRIVATE"), doc="Portal visibility."
    )


ApiV4DefinitionStatus = ApiStatus


def listener_paths(listener: dict[str, Any]) -> list[str]:
    """Context paths a listener claims: HTTP ``host/path`` (or ``path``), TCP ``hosts``."""
    kind = listener.get("type")
    if kind == "HTTP":
        out = []
        for entry in listener.get("paths") or []:
            if not isinstance(entry, dict):
                continue
            path = str(entry.get("path") or "")
            host = entry.get("host")
            out.append(f"{host}/{path}" if host else path)
        return out
    if kind == "TCP":
        return [str(host) for host in listener.get("hosts") or []]
    return []

"""What APIM refuses in an API import before storing anything: unknown enum values and plugins.

Owns the enum values the simulator knows (each one equal to the Automation OpenAPI file's, which
``tests/sim/apim/test_schema_rules.py`` checks), where they sit in a v4 body, and the plugin ids
(entrypoints, endpoints) a stock APIM ships. APIM reads bodies with case-insensitive enums
(docs/behavior/apim-calls.md#what-apim-does-with-what-it-receives): an unknown value fails the
whole request with a 400 before any validation, dry run or not; an unknown plugin or a plan
security type a v2 API cannot have is a severe import error (a real import is refused, a dry
run lists it). The wording of these messages is the simulator's own (APIM's exact strings for
them were not traced); their shapes are APIM's. Pure functions over the body; never mutates it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, Final

from sim.apim.errors import SimHttpError

ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "ApiType": ("A2A_PROXY", "LLM_PROXY", "MCP_PROXY", "MESSAGE", "PROXY", "NATIVE"),
    "Visibility": ("PUBLIC", "PRIVATE"),
    "LifecycleState": ("CLOSED", "INITIALIZED", "STARTED", "STOPPED", "STOPPING"),
    "ApiLifecycleState": ("ARCHIVED", "CREATED", "DEPRECATED", "PUBLISHED", "UNPUBLISHED"),
    "FlowMode": ("BEST_MATCH", "DEFAULT"),
    "ListenerType": ("HTTP", "SUBSCRIPTION", "TCP", "KAFKA"),
    "Qos": ("NONE", "AUTO", "AT_MOST_ONCE", "AT_LEAST_ONCE"),
    "LoadBalancerType": ("RANDOM", "ROUND_ROBIN", "WEIGHTED_RANDOM", "WEIGHTED_ROUND_ROBIN"),
    "PlanSecurityType": ("KEY_LESS", "OAUTH2", "JWT", "MTLS", "API_KEY"),
    "PlanStatus": ("STAGING", "PUBLISHED", "DEPRECATED", "CLOSED"),
    "PlanValidation": ("AUTO", "MANUAL"),
    "PlanMode": ("STANDARD", "PUSH"),
    "PlanType": ("API", "CATALOG"),
    "PageType": ("ASCIIDOC", "ASYNCAPI", "MARKDOWN", "MARKDOWN_TEMPLATE", "SWAGGER", "FOLDER",
                 "LINK", "ROOT", "SYSTEM_FOLDER", "TRANSLATION"),
}
"""Enum name (as in the Automation OpenAPI file) -> its values."""

V4_ENUM_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("type", "ApiType"),
    ("visibility", "Visibility"),
    ("state", "LifecycleState"),
    ("lifecycleState", "ApiLifecycleState"),
    ("flowExecution.mode", "FlowMode"),
    ("listeners[].type", "ListenerType"),
    ("listeners[].entrypoints[].qos", "Qos"),
    ("endpointGroups[].loadBalancer.type", "LoadBalancerType"),
    ("plans[].security.type", "PlanSecurityType"),
    ("plans[].status", "PlanStatus"),
    ("plans[].validation", "PlanValidation"),
    ("plans[].mode", "PlanMode"),
    ("plans[].type", "PlanType"),
    ("pages[].type", "PageType"),
    ("pages[].visibility", "Visibility"),
)
"""Where each enum sits in an ``ApiV4Spec`` body (``[]``: every item of a list)."""

ENTRYPOINT_PLUGINS: Final = frozenset({
    "http-proxy", "http-get", "http-post", "sse", "websocket", "webhook", "tcp-proxy",
    "native-kafka", "mcp", "mcp-proxy", "a2a-proxy", "llm-proxy", "agent-to-agent",
})
"""Entrypoint connector ids of a stock APIM (open source and enterprise)."""

ENDPOINT_PLUGINS: Final = frozenset({
    "http-proxy", "tcp-proxy", "native-kafka", "kafka", "mqtt5", "rabbitmq", "solace", "mock",
    "azure-service-bus", "ibmmq", "mcp-proxy", "a2a-proxy", "llm-proxy", "agent-to-agent",
})
"""Endpoint connector ids of a stock APIM (open source and enterprise)."""


def values_at(body: Any, path: str, where: str = "") -> Iterator[tuple[str, Any]]:
    """``(location, value)`` for every value at ``path`` (``a.b[].c``) in ``body``."""
    if not path:
        yield where, body
        return
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if not isinstance(body, dict) or body.get(key) is None:
        return
    here = f"{where}.{key}" if where else key
    value = body[key]
    if not many:
        yield from values_at(value, rest, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from values_at(item, rest, f"{here}[{index}]")


def enum_violations(body: Any) -> list[tuple[str, Any, str]]:
    """``(location, value, enum)`` for every v4 enum field whose value APIM cannot read."""
    out = []
    for path, enum in V4_ENUM_FIELDS:
        allowed = ENUMS[enum]
        for location, value in values_at(body, path):
            if not (isinstance(value, str) and value.upper() in allowed):
                out.append((location, value, enum))
    return out


def check_v4_enums(body: Any) -> None:
    """Raise APIM's 400 for a body with an enum value it cannot read (even on a dry run)."""
    violations = enum_violations(body)
    if not violations:
        return
    details = [
        {"message": f"Invalid value [{value}]: expected one of [{', '.join(ENUMS[enum])}]",
         "location": location}
        for location, value, enum in violations
    ]
    location, value, enum = violations[0]
    raise SimHttpError(
        400,
        f"Invalid value [{value}] for [{location}]: expected one of [{', '.join(ENUMS[enum])}]",
        technical_code="invalid",
        details=details,
    )


def with_upper_enums(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of a (checked) v4 body with its enum values as APIM writes them back: upper case."""
    out = copy.deepcopy(body)
    for path, _ in V4_ENUM_FIELDS:
        *parents, last = path.split(".")
        for _, holder in values_at(out, ".".join(parents)) if parents else [("", out)]:
            if isinstance(holder, dict) and isinstance(holder.get(last), str):
                holder[last] = holder[last].upper()
    return out


def v4_plugin_errors(body: Any) -> list[str]:
    """Severe import errors for unknown entrypoint or endpoint plugins of a v4 body."""
    out = []
    for location, value in values_at(body, "listeners[].entrypoints[].type"):
        if value not in ENTRYPOINT_PLUGINS:
            out.append(f"Plugin [{value}] cannot be found (entrypoint {location})")
    for index, group in enumerate(body.get("endpointGroups") or []):
        if not isinstance(group, dict):
            continue
        group_type = group.get("type")
        if group_type not in ENDPOINT_PLUGINS:
            out.append(f"Plugin [{group_type}] cannot be found "
                       f"(endpoint group endpointGroups[{index}].type)")
        for position, endpoint in enumerate(group.get("endpoints") or []):
            if isinstance(endpoint, dict) and endpoint.get("type") != group_type:
                out.append(
                    f"Endpoint type [{endpoint.get('type')}] of "
                    f"endpointGroups[{index}].endpoints[{position}] does not match the type "
                    f"[{group_type}] of its endpoint group")
    return out


def v2_plan_errors(body: Any) -> list[str]:
    """Severe import errors for v2 plans whose security type APIM does not know."""
    out = []
    for location, value in values_at(body, "plans[].security"):
        if not (isinstance(value, str) and value.upper() in ENUMS["PlanSecurityType"]):
            out.append(f"Plan security type [{value}] of {location} is not valid: expected one "
                       f"of [{', '.join(ENUMS['PlanSecurityType'])}]")
    return out

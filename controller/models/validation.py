"""Validation rules a CRD schema cannot express, as pure functions over the models.

Owns the admission rules of ``docs/behavior/admission.md`` that need no APIM call: plans vs
state, duplicated context paths inside one API, v4 flow phases per API type, native Kafka port
ranges, page parents, inline resources, application settings exclusivity, subscription keys and
dates, immutable fields, and (at the end) the rules over data a caller looked up in the caches.
Each function returns a list of ``FieldError`` (empty when valid); messages are upstream's
wherever upstream has one. Several rules have no caller yet: a comment above each names the issue
that wires it.

Must never do I/O, read the clock itself (callers pass ``now``), or include secret values in
messages.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from controller.models.api_resource import ApiResourceSpec
from controller.models.api_v2 import ApiDefinitionSpec
from controller.models.api_v4 import ApiV4DefinitionSpec, Flow, listener_paths
from controller.models.application import ApplicationSpec
from controller.models.base import UNSET, Opt, Raw, given, or_default
from controller.models.common import ApiResourceRef, ObjectRef, Page
from controller.models.management_context import ManagementContextSpec
from controller.models.notification import NotificationSpec
from controller.models.shared_policy_group import SharedPolicyGroupSpec
from controller.models.subscription import SubscriptionSpec

__all__ = [
    "FieldError",
    "certificates_end",
    "clean_path",
    "severe",
    "v2_context_paths",
    "v4_context_paths",
    "validate_api_resource",
    "validate_api_v2",
    "validate_api_v4",
    "validate_api_v4_update",
    "validate_application",
    "validate_application_update",
    "validate_context_path_conflicts",
    "validate_context_ref",
    "validate_management_context",
    "validate_notification_refs",
    "validate_parent_update",
    "validate_shared_policy_group_phases",
    "validate_shared_policy_group_update",
    "validate_subscribed_plans_kept",
    "validate_subscription",
    "validate_subscription_update",
    "validate_subscription_within_certificates",
    "warnings",
]

Severity = Literal["severe", "warning"]


@attrs.frozen
class FieldError:
    """One violated rule: the JSON path it concerns, upstream's message, and its severity."""

    path: str
    message: str
    severity: Severity = "severe"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def severe(errors: Iterable[FieldError]) -> list[FieldError]:
    """The blocking errors (admission rejects on the first one)."""
    return [e for e in errors if e.severity == "severe"]


# Not called yet: issue 16 (admission webhooks) returns these as AdmissionResponse.warnings.
def warnings(errors: Iterable[FieldError]) -> list[FieldError]:
    """The non-blocking warnings."""
    return [e for e in errors if e.severity == "warning"]


# --- shared pieces ---------------------------------------------------------------------------


def validate_context_ref(
    ref: Opt[ObjectRef], *, path: str = "spec.contextRef", required: bool = False
) -> list[FieldError]:
    """A contextRef must name a context (and be present where the kind needs one)."""
    if not given(ref):
        return [FieldError(path, "a management context reference is required")] if required else []
    if not ref.name.strip():
        return [FieldError(f"{path}.name", "contextRef must name a ManagementContext")]
    return []


def clean_path(path: str) -> str:
    """Go ``path.Clean`` semantics: collapse slashes, resolve ``.``/``..``, drop trailing ``/``."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def _duplicated_paths(paths: Sequence[tuple[str, str]], api_name: str) -> list[FieldError]:
    seen: dict[str, str] = {}
    out = []
    for field_path, raw in paths:
        cleaned = clean_path(raw)
        if cleaned in seen:
            out.append(
                FieldError(
                    field_path,
                    f"invalid API context path [{cleaned}]. It is declared more than once "
                    f"in API [{api_name}] (first at {seen[cleaned]})",
                )
            )
        else:
            seen[cleaned] = field_path
    return out


def _no_plans(api_name: str) -> str:
    return (
        f"cannot apply API [{api_name}]. Its state is set to STARTED, but the API has no plans. "
        "APIs must have at least one plan in order to be deployed."
    )


def _resources(resources: Opt[list[ApiResourceRef]]) -> list[FieldError]:
    out = []
    for index, resource in enumerate(or_default(resources, [])):
        path = f"spec.resources[{index}]"
        if given(resource.ref):
            out.extend(validate_context_ref_like(resource.ref, path=f"{path}.ref"))
            continue
        out.extend(_resource_fields(resource.type, resource.name, resource.configuration, path))
    return out


def validate_context_ref_like(ref: ObjectRef, *, path: str) -> list[FieldError]:
    """Any object reference must carry a non-empty name."""
    return [] if ref.name.strip() else [FieldError(f"{path}.name", "reference must have a name")]


def _resource_fields(
    kind: Opt[str], name: Opt[str], configuration: Opt[Raw], path: str
) -> list[FieldError]:
    out = []
    for key, value in (("type", kind), ("name", name), ("configuration", configuration)):
        if not given(value) or value == "":
            out.append(FieldError(f"{path}.{key}", f"missing required value in property [{key}]"))
    return out


def _pages(pages: Opt[Mapping[str, Page]], api_name: str) -> list[FieldError]:
    out = []
    known: Mapping[str, Page] = or_default(pages, {})
    for key, page in known.items():
        if given(page.parent) and page.parent and page.parent not in known:
            out.append(
                FieldError(
                    f"spec.pages.{key}.parent",
                    f"can not apply API [{api_name}]. Parent page [{page.parent}] can not be found "
                    f"for page [{key}]",
                )
            )
    return out


# --- v2 APIs ---------------------------------------------------------------------------------


def v2_context_paths(spec: ApiDefinitionSpec) -> list[tuple[str, str]]:
    """(JSON path, context path) of every v2 virtual host (``host/path`` when a host is set)."""
    out = []
    proxy = spec.proxy
    hosts = proxy.virtual_hosts if given(proxy) else UNSET
    for index, host in enumerate(or_default(hosts, [])):
        path = or_default(host.path, "")
        value = f"{host.host}/{path}" if given(host.host) and host.host else path
        out.append((f"spec.proxy.virtual_hosts[{index}].path", value))
    return out


def validate_api_v2(spec: ApiDefinitionSpec, *, api_name: str) -> list[FieldError]:
    """Static admission rules of a v2 API (create and update)."""
    out = validate_context_ref(spec.context_ref)
    if not or_default(spec.plans, []) and or_default(spec.state, "STARTED") != "STOPPED":
        out.append(FieldError("spec.plans", _no_plans(api_name)))
    out.extend(_duplicated_paths(v2_context_paths(spec), api_name))
    out.extend(_resources(spec.resources))
    out.extend(_pages(spec.pages, api_name))
    return out


# --- v4 APIs ---------------------------------------------------------------------------------


def v4_context_paths(spec: ApiV4DefinitionSpec) -> list[tuple[str, str]]:
    """(JSON path, context path) of every HTTP listener path and TCP host of a v4 API."""
    out = []
    for index, listener in enumerate(spec.listeners):
        for value in listener_paths(listener):
            out.append((f"spec.listeners[{index}]", value))
    return out


def _flow_phases(
    flows: Opt[list[Flow]], path: str, api_type: str, api_name: str
) -> list[FieldError]:
    if api_type == "NATIVE":
        forbidden = {"request": "Request", "response": "Response"}
        suffix = f"is not supported in Native API [{api_name}]"
    else:
        forbidden = {"connect": "Connect", "interact": "Interact"}
        suffix = f"is not supported in V4 API [{api_name}]"
    out = []
    for index, flow in enumerate(or_default(flows, [])):
        for phase, steps in flow.steps().items():
            if phase in forbidden and steps:
                out.append(
                    FieldError(f"{path}[{index}].{phase}", f"{forbidden[phase]} Flow {suffix}")
                )
    return out


def _native_ports(key: str, plan: Any, api_name: str) -> list[FieldError]:
    if not given(plan.bootstrap_port):
        return []
    path = f"spec.plans.{key}"
    start, end, port = plan.broker_range_start, plan.broker_range_end, plan.bootstrap_port
    if not given(start) or not given(end):
        return [
            FieldError(
                path,
                f"plan [{key}] has bootstrapPort set but brokerRangeStart/brokerRangeEnd are "
                f"missing in Native API [{api_name}]",
            )
        ]
    if start >= end:
        return [
            FieldError(
                path,
                f"plan [{key}] has invalid broker port range (brokerRangeStart must be < "
                f"brokerRangeEnd) in Native API [{api_name}]",
            )
        ]
    if start <= port <= end:
        return [
            FieldError(
                f"{path}.bootstrapPort",
                f"plan [{key}] has bootstrapPort within broker port range [{start},{end}] in "
                f"Native API [{api_name}]",
            )
        ]
    return []


def validate_api_v4(spec: ApiV4DefinitionSpec, *, api_name: str) -> list[FieldError]:
    """Static admission rules of a v4 API (create and update), in upstream's order."""
    native = spec.type == "NATIVE"
    out = _flow_phases(spec.flows, "spec.flows", spec.type, api_name)
    for key, plan in or_default(spec.plans, {}).items():
        out.extend(_flow_phases(plan.flows, f"spec.plans.{key}.flows", spec.type, api_name))
    for index, group in enumerate(spec.endpoint_groups):
        path = f"spec.endpointGroups[{index}]"
        if native and given(group.services):
            out.append(
                FieldError(
                    f"{path}.services",
                    f"EndpointGroup services is not supported in Native API [{api_name}]",
                )
            )
        http = group.http
        if given(http):
            prefix = f"EndpointGroup [{group.name}] in API [{api_name}]"
            if given(http.max_wait_queue_size) and http.max_wait_queue_size < -1:
                out.append(
                    FieldError(
                        f"{path}.http.maxWaitQueueSize", f"{prefix}: maxWaitQueueSize must be >= -1"
                    )
                )
            if given(http.max_connection_lifetime) and http.max_connection_lifetime < 0:
                out.append(
                    FieldError(
                        f"{path}.http.maxConnectionLifetime",
                        f"{prefix}: maxConnectionLifetime must be >= 0",
                    )
                )
    if native and given(spec.flow_execution):
        out.append(
            FieldError(
                "spec.flowExecution", f"FlowExecution is not supported in Native API [{api_name}]"
            )
        )
    if native and given(spec.response_templates):
        out.append(
            FieldError(
                "spec.responseTemplates",
                f"ResponseTemplates is not supported in Native API [{api_name}]",
            )
        )
    if native:
        for key, plan in or_default(spec.plans, {}).items():
            out.extend(_native_ports(key, plan, api_name))
    out.extend(validate_context_ref(spec.context_ref))
    if not or_default(spec.plans, {}) and or_default(spec.state, "STARTED") != "STOPPED":
        out.append(FieldError("spec.plans", _no_plans(api_name)))
    out.extend(_duplicated_paths(v4_context_paths(spec), api_name))
    out.extend(_resources(spec.resources))
    out.extend(_pages(spec.pages, api_name))
    return out


# Not called yet: issue 16 (admission webhooks) wires it on UPDATE of an ApiV4Definition.
def validate_api_v4_update(old: ApiV4DefinitionSpec, new: ApiV4DefinitionSpec) -> list[FieldError]:
    """The API type of a v4 API cannot change."""
    if old.type != new.type:
        return [
            FieldError(
                "spec.type",
                "it is not possible to change API Type. "
                f"Old type '{old.type}', new type '{new.type}'",
            )
        ]
    return []


# --- ApiResource -----------------------------------------------------------------------------


def validate_api_resource(spec: ApiResourceSpec) -> list[FieldError]:
    """An ApiResource needs a type, a name and a configuration."""
    return _resource_fields(spec.type, spec.name, spec.configuration, "spec")


# --- ManagementContext -----------------------------------------------------------------------

_URL = re.compile(r"^http(s?)://.+$")


# Not called yet: issue 16 (admission webhooks) wires it for ManagementContext create/update.
def validate_management_context(spec: ManagementContextSpec) -> list[FieldError]:
    """Mandatory fields of a context that does not target Gravitee Cloud.

    ``docs/behavior/admission.md#managementcontext``.
    """
    cloud = spec.cloud
    if given(cloud) and (given(cloud.token) or given(cloud.secret_ref)):
        return []
    out = []
    if not given(spec.base_url) or not spec.base_url:
        out.append(FieldError("spec.baseUrl", "[baseUrl] is mandatory when cloud is not enabled"))
    elif not _URL.match(spec.base_url):
        out.append(FieldError("spec.baseUrl", "[baseUrl] is not a valid URL"))
    if not given(spec.organization_id) or not spec.organization_id:
        out.append(
            FieldError("spec.organizationId", "[orgId] is mandatory when cloud is not enabled")
        )
    if not given(spec.environment_id) or not spec.environment_id:
        out.append(
            FieldError("spec.environmentId", "[envId] is mandatory when cloud is not enabled")
        )
    if not given(spec.auth):
        out.append(FieldError("spec.auth", "[auth] is mandatory when cloud is not enabled"))
    elif given(spec.auth.secret_ref):
        out.extend(validate_context_ref_like(spec.auth.secret_ref, path="spec.auth.secretRef"))
    return out


# --- Application -----------------------------------------------------------------------------

_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")


# Not called yet: issue 16 (admission webhooks) wires it, and the Application reconcile should
# run it too (the same function at admission and at reconcile, as for the APIs).
def validate_application(spec: ApplicationSpec) -> list[FieldError]:
    """Settings exclusivity and certificate entries of an application.

    ``docs/behavior/admission.md#application``.
    """
    out = validate_context_ref(spec.context_ref, required=True)
    settings = spec.settings
    if given(settings.oauth) and given(settings.app):
        out.append(
            FieldError("spec.settings", "configuring both OAuth and simple settings is not allowed")
        )
    tls = settings.tls
    if not given(tls):
        return out
    certificates = or_default(tls.client_certificates, [])
    if given(tls.client_certificate) and tls.client_certificate and certificates:
        out.append(
            FieldError(
                "spec.settings.tls",
                "clientCertificate and clientCertificates cannot be used at the same time",
            )
        )
    elif given(tls.client_certificate) and tls.client_certificate:
        if _PEM_CERT.search(tls.client_certificate):
            out.append(
                FieldError(
                    "spec.settings.tls.clientCertificate",
                    "clientCertificate is deprecated, use clientCertificates instead",
                    "warning",
                )
            )
        else:
            out.append(
                FieldError(
                    "spec.settings.tls.clientCertificate", "failed to parse TLS client certificate"
                )
            )
    for index, cert in enumerate(certificates):
        path = f"spec.settings.tls.clientCertificates[{index}]"
        has_content = given(cert.content) and cert.content != ""
        if has_content and given(cert.ref):
            out.append(
                FieldError(path, f"clientCertificates[{index}]: content and ref cannot both be set")
            )
        elif not has_content and not given(cert.ref):
            out.append(
                FieldError(path, f"clientCertificates[{index}]: either content or ref must be set")
            )
    return out


# Not called yet: issue 16 (admission webhooks) wires it on UPDATE of an Application.
def validate_application_update(old: ApplicationSpec, new: ApplicationSpec) -> list[FieldError]:
    """An application cannot switch between OAuth and simple settings, nor change OAuth type."""
    old_oauth, new_oauth = old.settings.oauth, new.settings.oauth
    if given(old_oauth) and not given(new_oauth) and given(new.settings.app):
        return [FieldError("spec.settings", "moving from OAuth to simple settings is not allowed")]
    if given(old.settings.app) and not given(old_oauth) and given(new_oauth):
        return [FieldError("spec.settings", "moving from simple to Oauth settings is not allowed")]
    if (
        given(old_oauth)
        and given(new_oauth)
        and old_oauth.application_type != new_oauth.application_type
    ):
        return [
            FieldError(
                "spec.settings.oauth.applicationType",
                "updating OAuth application type is not allowed",
            )
        ]
    return []


# --- Subscription ----------------------------------------------------------------------------

_API_KINDS = ("", "ApiDefinition", "apidefinitions", "ApiV4Definition", "apiv4definitions")


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 date-time (``Z`` or offset required); raises ``ValueError``."""
    if not re.match(
        r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", value
    ):
        raise ValueError("not an RFC 3339 date-time")
    normalised = re.sub(r"(\.\d{6})\d+", r"\1", value.upper())
    return datetime.fromisoformat(normalised)


# Not called yet: issue 16 (admission webhooks) wires it once issue 15 reconciles Subscriptions.
def validate_subscription(spec: SubscriptionSpec, *, now: datetime) -> list[FieldError]:
    """API kind, API keys and ending date of a subscription (``now`` must be timezone-aware)."""
    out = []
    kind = or_default(spec.api.kind, "")
    if kind not in _API_KINDS:
        out.append(
            FieldError(
                "spec.api.kind",
                "API kind is required and should be either ApiDefinition or ApiV4Definition, "
                f"got [{kind}]",
            )
        )
    seen: set[str] = set()
    for index, key in enumerate(or_default(spec.api_keys, [])):
        path = f"spec.apiKeys[{index}]"
        # the key itself is a credential: messages name its position, never its value
        if key.key in seen:
            out.append(FieldError(f"{path}.key", f"duplicate key [apiKeys[{index}]] in apiKeys"))
        seen.add(key.key)
        if given(key.expire_at):
            try:
                parse_rfc3339(key.expire_at)
            except ValueError as err:
                out.append(
                    FieldError(
                        f"{path}.expireAt", f"invalid expireAt for key [apiKeys[{index}]]: {err}"
                    )
                )
    if given(spec.ending_at) and spec.ending_at:
        try:
            ending = parse_rfc3339(spec.ending_at)
        except ValueError:
            out.append(
                FieldError(
                    "spec.endingAt", f"ending date [{spec.ending_at}] is not in RFC3339 format"
                )
            )
        else:
            if ending < now + timedelta(minutes=1):
                out.append(
                    FieldError(
                        "spec.endingAt",
                        f"ending date [{spec.ending_at}] should be at least one minute from now",
                    )
                )
    return out


def _ref_text(ref: ObjectRef, default_namespace: str) -> str:
    return f"{or_default(ref.namespace, '') or default_namespace}/{ref.name}"


# Not called yet: issue 16 (admission webhooks) wires it once issue 15 reconciles Subscriptions.
def validate_subscription_update(
    old: SubscriptionSpec, new: SubscriptionSpec, *, namespace: str
) -> list[FieldError]:
    """The API, plan and application of a subscription are immutable."""
    out = []
    old_api, new_api = _ref_text(old.api, namespace), _ref_text(new.api, namespace)
    if old_api != new_api:
        out.append(
            FieldError(
                "spec.api",
                f"API reference is immutable. Detected change from [{old_api}] to [{new_api}]",
            )
        )
    if old.plan != new.plan:
        out.append(
            FieldError(
                "spec.plan",
                f"Plan is immutable. Detected change from [{old.plan}] to [{new.plan}]",
            )
        )
    old_app = _ref_text(old.application, namespace)
    new_app = _ref_text(new.application, namespace)
    if old_app != new_app:
        out.append(
            FieldError(
                "spec.application",
                "Application reference is immutable. "
                f"Detected change from [{old_app}] to [{new_app}]",
            )
        )
    return out


# --- SharedPolicyGroup -----------------------------------------------------------------------


# Not called yet: issue 16 (admission webhooks) wires it once issue 15 reconciles
# SharedPolicyGroups.
def validate_shared_policy_group_update(
    old: SharedPolicyGroupSpec, new: SharedPolicyGroupSpec
) -> list[FieldError]:
    """crossId (once set), apiType and phase of a shared policy group are immutable."""
    out = []
    if given(old.cross_id) and old.cross_id and old.cross_id != new.cross_id:
        out.append(
            FieldError(
                "spec.crossId",
                f"can not change Shared Policy Group [{old.cross_id}] CrossID, once it is created",
            )
        )
    label = or_default(old.cross_id, "") or old.name
    if old.api_type != new.api_type:
        out.append(
            FieldError(
                "spec.apiType",
                f"can not change Shared Policy Group [{label}] ApiType [{old.api_type}], "
                "once it is created",
            )
        )
    if old.phase != new.phase:
        out.append(
            FieldError(
                "spec.phase",
                f"can not change Shared Policy Group [{label}] Phase [{old.phase}], "
                "once it is created",
            )
        )
    return out


# --- rules over data the caller looked up (still no I/O here) --------------------------------


# Called at reconcile time (controller/reconcilers/support/context_paths.py); issue 16 adds it at
# admission (from the informer cache).
def validate_context_path_conflicts(
    paths: Sequence[tuple[str, str]], others: Iterable[tuple[str, Sequence[str]]]
) -> list[FieldError]:
    """This API's (JSON path, context path) pairs against other APIs' ``(ns/name, paths)``.

    The caller lists the other v2/v4 APIs of the namespace (or cluster), excluding this one.
    """
    taken: dict[str, str] = {}
    for key, other_paths in others:
        for other in other_paths:
            taken.setdefault(clean_path(other), key)
    out = []
    for field_path, raw in paths:
        cleaned = clean_path(raw)
        if cleaned in taken:
            out.append(
                FieldError(
                    field_path,
                    f"invalid API context path [{cleaned}]. API [{taken[cleaned]}] is already "
                    "defined with the same path",
                )
            )
    return out


# Not called yet: issue 16 (admission webhooks, v4 rule 5) wires it; issue 15 resolves the same
# references at reconcile time.
def validate_shared_policy_group_phases(
    spec: ApiV4DefinitionSpec,
    *,
    namespace: str,
    groups: Mapping[str, SharedPolicyGroupSpec | None],
) -> list[FieldError]:
    """Every step's shared policy group must exist (``groups`` maps ``ns/name`` to its spec, or
    None when missing) and run in the step's phase. Unlike upstream, every step is checked."""
    out = []

    def check(flows: Opt[list[Flow]], path: str) -> None:
        for index, flow in enumerate(or_default(flows, [])):
            for phase, steps in flow.steps().items():
                for position, step in enumerate(steps):
                    ref = step.shared_policy_group_ref
                    if not given(ref):
                        continue
                    step_path = f"{path}[{index}].{phase}[{position}].sharedPolicyGroupRef"
                    ref_namespace = or_default(ref.namespace, "") or namespace
                    group = groups.get(f"{ref_namespace}/{ref.name}")
                    if group is None:
                        out.append(
                            FieldError(
                                step_path,
                                f"unable to get Shared Policy Group [{ref.name}] in namespace "
                                f"[{ref_namespace}]",
                            )
                        )
                    elif group.phase != phase.upper():
                        out.append(
                            FieldError(
                                step_path,
                                f"Incompatible Shared Policy Group [{group.name}] with phase "
                                f"[{group.phase}] for FlowStep [{phase.upper()}]",
                            )
                        )

    check(spec.flows, "spec.flows")
    for key, plan in or_default(spec.plans, {}).items():
        check(plan.flows, f"spec.plans.{key}.flows")
    return out


# Not called yet: issue 16 (admission webhooks, API rule 7) wires it; issue 15 brings the
# Notification kind the API reconcilers consume.
def validate_notification_refs(
    refs: Opt[list[ObjectRef]],
    *,
    namespace: str,
    notifications: Mapping[str, NotificationSpec | None],
    existing_groups: Container[str],
) -> list[FieldError]:
    """Notification references of an API (``docs/behavior/admission.md#notifications``).

    ``notifications`` maps ``ns/name`` to the spec (None when missing); ``existing_groups`` holds
    ``ns/name`` of Groups."""
    out: list[FieldError] = []
    console_seen = False
    for index, ref in enumerate(or_default(refs, [])):
        path = f"spec.notificationsRefs[{index}]"
        ref_namespace = or_default(ref.namespace, "") or namespace
        key = f"{ref_namespace}/{ref.name}"
        notification = notifications.get(key)
        if notification is None:
            out.append(
                FieldError(
                    path, f"api references notification [{key}] that does not exist in the cluster"
                )
            )
            break
        event_type = or_default(notification.event_type, "api")
        if event_type != "api":
            out.append(
                FieldError(
                    path,
                    f"api references notification [{key}] is not configured for apis but for "
                    f"[{event_type}]",
                )
            )
            continue
        if or_default(notification.target, "console") != "console":
            continue
        console = notification.console
        events = console.api_events if given(console) else UNSET
        if not or_default(events, []):
            out.append(
                FieldError(
                    path,
                    f"api references notification [{key}] configured without any API events",
                    "warning",
                )
            )
        group_refs = console.group_refs if given(console) else UNSET
        for group in or_default(group_refs, []):
            group_key = f"{or_default(group.namespace, '') or ref_namespace}/{group.name}"
            if group_key not in existing_groups:
                out.append(
                    FieldError(
                        path,
                        f"api references notification [{key}] configured with group [{group_key}] "
                        "that does not exist in the cluster",
                        "warning",
                    )
                )
        if console_seen:
            out.append(
                FieldError(
                    path,
                    f"api references notification [{key}] but there is already another console "
                    "notification referenced",
                )
            )
        console_seen = True
    return out


def validate_parent_update(
    old_portal: str | None, new_portal: str | None,
    old_api: str | None = None, new_api: str | None = None,
) -> list[FieldError]:
    """A portal child keeps its parent: ``portalRef`` (and a page's ``apiRef``) are immutable,
    and a page never moves between a portal and an API (refs given as ``ns/name``)."""
    if old_portal and new_api and not new_portal:
        return [FieldError("spec.apiRef",
                           "a documentation cannot be reassigned from a portal to an API")]
    if old_api and new_portal and not new_api:
        return [FieldError("spec.portalRef",
                           "a documentation cannot be reassigned from an API to a portal")]
    if old_portal and new_portal and old_portal != new_portal:
        return [FieldError("spec.portalRef", f"portalRef is immutable. Detected change from "
                                             f"[{old_portal}] to [{new_portal}]")]
    if old_api and new_api and old_api != new_api:
        return [FieldError("spec.apiRef", f"apiRef is immutable. Detected change from "
                                          f"[{old_api}] to [{new_api}]")]
    return []


def certificates_end(spec: ApplicationSpec) -> datetime | None:
    """The latest ``endsAt`` of an application's client certificates, or None when one of
    them has none (or is unreadable): then no subscription can outlive them all."""
    tls = spec.settings.tls
    certificates = or_default(tls.client_certificates, []) if given(tls) else []
    ends: list[datetime] = []
    for certificate in certificates:
        if not given(certificate.ends_at) or not certificate.ends_at:
            return None
        try:
            ends.append(parse_rfc3339(certificate.ends_at))
        except ValueError:
            return None
    return max(ends) if ends else None


def validate_subscription_within_certificates(
    ending_at: str, certificates_end_at: datetime | None, *, application: str,
    subscription: str | None = None,
) -> list[FieldError]:
    """An MTLS subscription must not end after every client certificate of its application
    (``subscription`` names it when the application is the object under review)."""
    if certificates_end_at is None or not ending_at:
        return []
    try:
        ending = parse_rfc3339(ending_at)
    except ValueError:
        return []
    if ending <= certificates_end_at:
        return []
    if subscription is not None:
        return [FieldError("spec.settings.tls.clientCertificates",
                           f"subscription [{subscription}] ending date [{ending_at}] is after all "
                           f"client certificate end dates in application [{application}]")]
    return [FieldError("spec.endingAt",
                       f"subscription ending date [{ending_at}] is after all client certificate "
                       f"end dates in application [{application}]")]


# Not called yet: issue 16 (admission webhooks) wires it on UPDATE of an API with subscriptions.
def validate_subscribed_plans_kept(
    plan_names: Container[str], subscribed_plans: Iterable[str], *, api_key: str, api_name: str
) -> list[FieldError]:
    """On update, every plan a Subscription uses must still exist (v2: plan name, v4: key)."""
    out = []
    for plan in dict.fromkeys(subscribed_plans):
        if plan not in plan_names:
            out.append(
                FieldError(
                    "spec.plans",
                    f"Plan [{plan}] could not be found in API [{api_key}] but there is a "
                    "subscription referencing it. You can review the depending subscriptions "
                    "using the following command: kubectl get subscriptions.gravitee.io -A -o "
                    f"jsonpath='{{.items[?(@.spec.api.name==\"{api_name}\")].metadata.name}}'",
                )
            )
    return out

"""Runtime settings: the operator's environment variables turned into one frozen object.

This module owns the mapping from the upstream GKO environment variable names (the ones the Helm
chart writes into ConfigMap ``gko-config``) to typed, documented settings, and the validation of
their values. A value that cannot be understood is a start-up error that names the variable: an
operator that silently falls back to a default on a typo is worse than one that refuses to start.

It must never read files, talk to the network or keep global state; ``Settings.from_env`` is a pure
function of the mapping it is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Final, Literal, TypeVar

import attrs

LEADER_ELECTION_ID: Final = "24d975d3.gravitee.io"
"""Name of the coordination.k8s.io/v1 Lease the replicas compete for (same as upstream)."""

SERVICE_ACCOUNT_NAMESPACE_FILE: Final = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

LogFormat = Literal["json", "console"]
LogLevel = Literal["debug", "info", "warn", "error"]
LogLevelCase = Literal["lower", "upper"]
TimestampFormat = Literal["iso-8601", "epoch-second", "epoch-millis", "epoch-nano"]
ReconcileStrategy = Literal["onSpecChange", "always"]
FailurePolicy = Literal["Fail", "Ignore"]
DriftPolicy = Literal["report", "repair", "off"]

WEBHOOK_CERT_DIR: Final = "/tmp/webhook-server/certs"
"""Where the webhook server reads a mounted certificate (upstream's directory)."""

_T = TypeVar("_T")

_NAMESPACE_NAME: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

_TRUE_TURNS_ON: Final = (
    ("ENABLE_GATEWAY_API", "Gateway API objects (Gateway, HTTPRoute...) are not watched"),
    ("APPLY_GATEWAY_API_CRDS", "the Gateway API CRDs are not applied"),
)
_SET_HAS_NO_EFFECT: Final = (
    ("GATEWAY_API_SKIP_API_DEFINITION",
     "Gateway API objects are not watched (ENABLE_GATEWAY_API is not implemented)"),
    ("GATEWAY_API_MATCH_ACROSS_ROUTES",
     "Gateway API objects are not watched (ENABLE_GATEWAY_API is not implemented)"),
)
_DRIFT = "drift is not checked at admission time (no admission webhook is served); the " \
    "periodic read-back (DRIFT_POLICY, DRIFT_CHECK_INTERVAL) detects and repairs it instead"


def unimplemented_settings(
    environ: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """(variable, what happens instead) for each upstream setting present in ``environ`` that
    asks for something this operator reads but does not implement yet
    (docs/behavior/configuration.md)."""
    env = os.environ if environ is None else environ
    out: list[tuple[str, str]] = []
    for name, instead in _TRUE_TURNS_ON:
        if env.get(name, "").strip().lower() == "true":
            out.append((name, instead))
    for name, instead in _SET_HAS_NO_EFFECT:
        if env.get(name, "").strip():
            out.append((name, instead))
    if env.get("ENABLE_DRIFT_DETECTION", "").strip().lower() not in ("", "false"):
        out.append(("ENABLE_DRIFT_DETECTION", _DRIFT))
    for name in sorted(env):
        if name.startswith("DRIFT_DETECTION_") and env[name].strip():
            out.append((name, _DRIFT))
    return out


class SettingsError(ValueError):
    """An environment variable holds a value the operator cannot use.

    The message always names the variable and says what would have been accepted; it never
    echoes the value of a variable that may hold a secret.
    """


@attrs.frozen(kw_only=True)
class LogSettings:
    """How the operator logs (``LOGS_*``)."""

    format: LogFormat = "json"
    """``LOGS_FORMAT``: ``json`` (default) or ``console`` (human-readable, coloured)."""
    level: LogLevel = "info"
    """``LOGS_LEVEL``: ``debug``, ``info`` (default), ``warn`` or ``error``."""
    level_case: LogLevelCase = "upper"
    """``LOGS_LEVEL_CASE``: ``upper`` (default, ``INFO``) or ``lower`` (``info``)."""
    timestamp_field: str = "timestamp"
    """``LOGS_TIMESTAMP_FIELD``: JSON key of the timestamp. Defaults to ``timestamp``."""
    timestamp_format: TimestampFormat = "iso-8601"
    """``LOGS_TIMESTAMP_FORMAT``: ``iso-8601`` (default), ``epoch-second``, ``epoch-millis``,
    ``epoch-nano``. (The Helm chart sets ``epoch-second``.)"""
    dev_mode: bool = False
    """``DEV_MODE``: when true, debug level and console output regardless of the other knobs."""


@attrs.frozen(kw_only=True)
class HttpClientSettings:
    """Global knobs of the APIM HTTP client (``HTTP_CLIENT_*``)."""

    timeout_seconds: float = 5.0
    """``HTTP_CLIENT_TIMEOUT_SECONDS``: per-request timeout towards APIM. Defaults to 5."""
    insecure_skip_cert_verify: bool = False
    """``HTTP_CLIENT_INSECURE_SKIP_CERT_VERIFY``. Defaults to false."""
    truststore_path: str = ""
    """``HTTP_CLIENT_TRUSTSTORE_PATH``: PEM bundle added to the system roots. Empty: none."""
    proxy_enabled: bool = False
    """``HTTP_CLIENT_PROXY_ENABLED``. Defaults to false."""
    proxy_use_system_proxy: bool = False
    """``HTTP_CLIENT_PROXY_USE_SYSTEM_PROXY``: take the proxy from the usual env vars."""
    proxy_url: str = ""
    """``HTTP_CLIENT_PROXY_URL``."""
    proxy_username: str = ""
    """``HTTP_CLIENT_PROXY_USERNAME``."""
    proxy_password: str = attrs.field(default="", repr=False)
    """``HTTP_CLIENT_PROXY_PASSWORD`` (never shown in reprs or errors)."""


@attrs.frozen(kw_only=True)
class DriftSettings:
    """The periodic read-back of what the operator pushed to APIM (docs/behavior/drift.md)."""

    policy: DriftPolicy = "report"
    """``DRIFT_POLICY``: ``report`` (default: condition ``Drifted`` and an Event), ``repair``
    (also push the cluster's version back) or ``off`` (no read-back). The annotation
    ``gravitee.io/drift-policy`` overrides it per object."""
    check_interval: float = 300.0
    """``DRIFT_CHECK_INTERVAL``: seconds between two read-backs of one object (jittered by
    +/-10%). Defaults to 300."""
    check_rate: float = 10.0
    """``DRIFT_CHECK_RATE``: read-back calls per second to APIM, all kinds and contexts
    together, evenly spaced. Defaults to 10. With more objects than ``rate * interval`` the
    budget wins and each object is checked less often than the interval."""


@attrs.frozen(kw_only=True)
class WebhookSettings:
    """Admission webhook server, its registration and its certificates (``WEBHOOK_*``,
    docs/behavior/admission.md#webhooks)."""

    enabled: bool = False
    """``ENABLE_WEBHOOK``. Defaults to false."""
    namespace: str = ""
    """``WEBHOOK_NAMESPACE``: namespace of the webhook Service and cert Secret. Empty: the
    operator's namespace (``POD_NAMESPACE``)."""
    service_name: str = "gko-webhook"
    """``WEBHOOK_SERVICE_NAME``. Defaults to ``gko-webhook``."""
    service_port: int = 9443
    """``WEBHOOK_SERVICE_PORT``: port the webhook server listens on. Defaults to 9443."""
    cert_secret_name: str = ""
    """``WEBHOOK_CERT_SECRET_NAME``: when set, the operator generates its CA and serving
    certificate, keeps them in this Secret (reused when present) and patches the CA into its
    webhook configurations (the chart uses ``gko-webhook-cert``). Empty: a certificate is
    mounted in ``WEBHOOK_CERT_DIR`` (cert-manager)."""
    cert_dir: str = WEBHOOK_CERT_DIR
    """``WEBHOOK_CERT_DIR``: where a mounted certificate is read (``tls.crt``/``tls.key`` or
    ``cert``/``key``, and ``ca.crt`` when present). Defaults to ``/tmp/webhook-server/certs``."""
    validating_configuration_name: str = ""
    """``WEBHOOK_VALIDATING_CONFIGURATION_NAME``. Empty (default):
    ``gko-validating-webhook-configurations-<webhook namespace>``, unique per install."""
    mutating_configuration_name: str = ""
    """``WEBHOOK_MUTATING_CONFIGURATION_NAME``. Empty (default):
    ``gko-mutating-webhook-configurations-<webhook namespace>``."""
    self_register_url: str = ""
    """``WEBHOOK_SELF_REGISTER_URL``: e.g. ``https://127.0.0.1:9443``. When set (out of a
    cluster) the operator creates or updates both configurations itself with
    ``clientConfig.url`` under this address and its own CA bundle. Empty: the manifests create
    them with a Service reference."""
    failure_policy: FailurePolicy = "Fail"
    """``WEBHOOK_FAILURE_POLICY``: ``Fail`` (default, as upstream) or ``Ignore``; CREATE and
    UPDATE only, no webhook is registered for DELETE."""
    timeout_seconds: int = 10
    """``WEBHOOK_TIMEOUT_SECONDS``: the API server's timeout per call (1-30). Defaults to
    ``min(HTTP_CLIENT_TIMEOUT_SECONDS + 5, 30)``, as upstream's chart."""
    apim_dry_run: bool = False
    """``WEBHOOK_APIM_DRY_RUN``: also ask APIM for a dry run at admission. Defaults to false."""
    apim_dry_run_budget: float = 2.0
    """``WEBHOOK_APIM_DRY_RUN_BUDGET_SECONDS``: what the dry run may take; an APIM slower than
    this (or unreachable) admits the object with a warning. Defaults to 2, and must stay under
    ``WEBHOOK_TIMEOUT_SECONDS``."""
    check_api_context_path_conflict_in_cluster: bool = False
    """``CHECK_API_CONTEXT_PATH_CONFLICT_IN_CLUSTER``: path conflicts checked cluster-wide."""

    def validating_name(self, namespace: str) -> str:
        return self.validating_configuration_name or (
            f"gko-validating-webhook-configurations-{namespace}"
        )

    def mutating_name(self, namespace: str) -> str:
        return self.mutating_configuration_name or (
            f"gko-mutating-webhook-configurations-{namespace}"
        )


@attrs.frozen(kw_only=True)
class IngressSettings:
    """The Gravitee ingress controller (``ENABLE_INGRESS`` and friends)."""

    enabled: bool = False
    """``ENABLE_INGRESS``. Defaults to false (the chart turns it on)."""
    classes: tuple[str, ...] = ("graviteeio",)
    """``INGRESS_CLASSES``: comma-separated ingress classes handled. Defaults to ``graviteeio``."""
    template_404_config_map_name: str = ""
    """``TEMPLATE_404_CONFIG_MAP_NAME``."""
    template_404_config_map_namespace: str = ""
    """``TEMPLATE_404_CONFIG_MAP_NAMESPACE``."""
    gateway_service: str = ""
    """``INGRESS_GATEWAY_SERVICE`` (``namespace/name``, not upstream's): the Service in front
    of the gateways; when set, its address is published in every handled Ingress's
    ``status.loadBalancer``. Empty (the default): the status stays empty, as upstream."""


@attrs.frozen(kw_only=True)
class GatewayApiSettings:
    """The Gateway API controllers (``ENABLE_GATEWAY_API`` and friends)."""

    enabled: bool = False
    """``ENABLE_GATEWAY_API``. Defaults to false."""
    apply_crds: bool = False
    """``APPLY_GATEWAY_API_CRDS``. Defaults to false."""
    skip_api_definition: bool = False
    """``GATEWAY_API_SKIP_API_DEFINITION``. Defaults to false."""
    match_across_routes: bool = False
    """``GATEWAY_API_MATCH_ACROSS_ROUTES``. Defaults to false."""


@attrs.frozen(kw_only=True)
class Settings:
    """Everything the operator reads from its environment, with upstream names and defaults.

    Build it with ``Settings.from_env()``; construct it directly in tests.
    """

    namespaces: tuple[str, ...] = ()
    """``NAMESPACE``: comma-separated watched namespaces. Empty (default): all namespaces."""
    pod_namespace: str = ""
    """``POD_NAMESPACE`` (downward API): where the leader-election Lease lives. Empty: fall back
    to the service account's namespace file, see ``operator_namespace``."""
    enable_leader_election: bool = False
    """``ENABLE_LEADER_ELECTION``. Defaults to false (the chart always sets true)."""
    leader_election_id: str = LEADER_ELECTION_ID
    """Lease name; not configurable upstream, kept here so tests can pick their own."""
    apply_crds: bool = False
    """``APPLY_CRDS``: server-side apply the embedded CRDs at start. Defaults to false."""
    reconcile_strategy: ReconcileStrategy = "onSpecChange"
    """``RECONCILE_STRATEGY``: ``onSpecChange`` (default; empty means the same) or ``always``."""
    max_concurrent_reconciles: int = 4
    """``MAX_CONCURRENT_RECONCILES``: workers per controller (>= 1). Defaults to 4."""
    enable_metrics: bool = False
    """``ENABLE_METRICS``: serve ``/metrics``. Defaults to false (the chart turns it on)."""
    metrics_port: int = 8080
    """``METRICS_PORT``. Defaults to 8080. 0 picks a free port (tests)."""
    secure_metrics: bool = False
    """``SECURE_METRICS``: ``/metrics`` over HTTPS, every request authenticated by a TokenReview
    and authorized by a SubjectAccessReview (``get`` on ``/metrics``). Defaults to false (the
    chart turns it on)."""
    metrics_cert_dir: str = ""
    """``METRICS_CERT_DIR``: directory holding ``tls.crt`` and ``tls.key`` for the secured
    metrics server. Empty: a self-signed certificate is generated at start."""
    probes_port: int = 8081
    """``PROBES_PORT``: ``/healthz`` and ``/readyz``. Defaults to 8081. 0 picks a free port."""
    enable_templating: bool = True
    """``ENABLE_TEMPLATING``: ``[[ secret ... ]]`` templating. Defaults to true."""
    enable_drift_detection: bool = True
    """``ENABLE_DRIFT_DETECTION``. Defaults to true."""
    drift: DriftSettings = DriftSettings()
    http_client: HttpClientSettings = HttpClientSettings()
    webhook: WebhookSettings = WebhookSettings()
    ingress: IngressSettings = IngressSettings()
    gateway_api: GatewayApiSettings = GatewayApiSettings()
    logs: LogSettings = LogSettings()

    @property
    def watches_all_namespaces(self) -> bool:
        return not self.namespaces

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``environ`` (default: ``os.environ``).

        Raises ``SettingsError`` naming the first variable whose value is malformed.

        Long on purpose: one line per environment variable, in one place, reads better than
        the same list split across helpers.
        """
        env = _Env(os.environ if environ is None else environ)
        http_timeout = env.number("HTTP_CLIENT_TIMEOUT_SECONDS", 5.0, minimum=0.001)
        webhook_timeout = env.integer_in(
            "WEBHOOK_TIMEOUT_SECONDS", min(int(http_timeout) + 5, 30), minimum=1, maximum=30
        )
        budget = env.number("WEBHOOK_APIM_DRY_RUN_BUDGET_SECONDS",
                            min(2.0, webhook_timeout / 2), minimum=0.001)
        if budget >= webhook_timeout:
            raise SettingsError(
                f"WEBHOOK_APIM_DRY_RUN_BUDGET_SECONDS must be under WEBHOOK_TIMEOUT_SECONDS "
                f"({webhook_timeout}), or the API server gives up before the webhook answers "
                f"(got {budget:g})"
            )
        return cls(
            namespaces=env.namespaces("NAMESPACE"),
            pod_namespace=env.raw("POD_NAMESPACE").strip(),
            enable_leader_election=env.boolean("ENABLE_LEADER_ELECTION", False),
            apply_crds=env.boolean("APPLY_CRDS", False),
            reconcile_strategy=env.choice(
                "RECONCILE_STRATEGY",
                {"onSpecChange": "onSpecChange", "always": "always"},
                "onSpecChange",
            ),
            max_concurrent_reconciles=env.integer("MAX_CONCURRENT_RECONCILES", 4, minimum=1),
            enable_metrics=env.boolean("ENABLE_METRICS", False),
            metrics_port=env.port("METRICS_PORT", 8080),
            secure_metrics=env.boolean("SECURE_METRICS", False),
            metrics_cert_dir=env.raw("METRICS_CERT_DIR"),
            probes_port=env.port("PROBES_PORT", 8081),
            enable_templating=env.boolean("ENABLE_TEMPLATING", True),
            enable_drift_detection=env.boolean("ENABLE_DRIFT_DETECTION", True),
            drift=DriftSettings(
                policy=env.choice(
                    "DRIFT_POLICY", {"report": "report", "repair": "repair", "off": "off"},
                    "report",
                ),
                check_interval=env.number("DRIFT_CHECK_INTERVAL", 300.0, minimum=0.1),
                check_rate=env.number("DRIFT_CHECK_RATE", 10.0, minimum=0.01),
            ),
            http_client=HttpClientSettings(
                timeout_seconds=http_timeout,
                insecure_skip_cert_verify=env.boolean(
                    "HTTP_CLIENT_INSECURE_SKIP_CERT_VERIFY", False
                ),
                truststore_path=env.raw("HTTP_CLIENT_TRUSTSTORE_PATH"),
                proxy_enabled=env.boolean("HTTP_CLIENT_PROXY_ENABLED", False),
                proxy_use_system_proxy=env.boolean("HTTP_CLIENT_PROXY_USE_SYSTEM_PROXY", False),
                proxy_url=env.raw("HTTP_CLIENT_PROXY_URL"),
                proxy_username=env.raw("HTTP_CLIENT_PROXY_USERNAME"),
                proxy_password=env.raw("HTTP_CLIENT_PROXY_PASSWORD"),
            ),
            webhook=WebhookSettings(
                enabled=env.boolean("ENABLE_WEBHOOK", False),
                namespace=env.raw("WEBHOOK_NAMESPACE"),
                service_name=env.raw("WEBHOOK_SERVICE_NAME") or "gko-webhook",
                service_port=env.port("WEBHOOK_SERVICE_PORT", 9443),
                cert_secret_name=env.raw("WEBHOOK_CERT_SECRET_NAME").strip(),
                cert_dir=env.raw("WEBHOOK_CERT_DIR").strip() or WEBHOOK_CERT_DIR,
                validating_configuration_name=env.raw(
                    "WEBHOOK_VALIDATING_CONFIGURATION_NAME").strip(),
                mutating_configuration_name=env.raw("WEBHOOK_MUTATING_CONFIGURATION_NAME").strip(),
                self_register_url=env.url("WEBHOOK_SELF_REGISTER_URL"),
                failure_policy=env.choice(
                    "WEBHOOK_FAILURE_POLICY", {"Fail": "Fail", "Ignore": "Ignore"}, "Fail"
                ),
                timeout_seconds=webhook_timeout,
                apim_dry_run=env.boolean("WEBHOOK_APIM_DRY_RUN", False),
                apim_dry_run_budget=budget,
                check_api_context_path_conflict_in_cluster=env.boolean(
                    "CHECK_API_CONTEXT_PATH_CONFLICT_IN_CLUSTER", False
                ),
            ),
            ingress=IngressSettings(
                enabled=env.boolean("ENABLE_INGRESS", False),
                classes=env.csv("INGRESS_CLASSES") or ("graviteeio",),
                template_404_config_map_name=env.raw("TEMPLATE_404_CONFIG_MAP_NAME"),
                template_404_config_map_namespace=env.raw("TEMPLATE_404_CONFIG_MAP_NAMESPACE"),
                gateway_service=env.object_key("INGRESS_GATEWAY_SERVICE"),
            ),
            gateway_api=GatewayApiSettings(
                enabled=env.boolean("ENABLE_GATEWAY_API", False),
                apply_crds=env.boolean("APPLY_GATEWAY_API_CRDS", False),
                skip_api_definition=env.boolean("GATEWAY_API_SKIP_API_DEFINITION", False),
                match_across_routes=env.boolean("GATEWAY_API_MATCH_ACROSS_ROUTES", False),
            ),
            logs=LogSettings(
                format=env.choice("LOGS_FORMAT", {"json": "json", "console": "console"}, "json"),
                level=env.choice(
                    "LOGS_LEVEL",
                    {"debug": "debug", "info": "info", "warn": "warn", "warning": "warn",
                     "error": "error"},
                    "info",
                ),
                level_case=env.choice("LOGS_LEVEL_CASE", {"lower": "lower", "upper": "upper"},
                                      "upper"),
                timestamp_field=env.raw("LOGS_TIMESTAMP_FIELD").strip() or "timestamp",
                timestamp_format=env.choice(
                    "LOGS_TIMESTAMP_FORMAT",
                    {"iso-8601": "iso-8601", "epoch-second": "epoch-second",
                     "epoch-millis": "epoch-millis", "epoch-nano": "epoch-nano"},
                    "iso-8601",
                ),
                dev_mode=env.boolean("DEV_MODE", False),
            ),
        )


def operator_namespace(
    settings: Settings,
    *,
    service_account_namespace_file: str = SERVICE_ACCOUNT_NAMESPACE_FILE,
) -> str:
    """The namespace the operator runs in: ``POD_NAMESPACE``, else the service account's file.

    Raises ``SettingsError`` when neither is available (e.g. outside a cluster without
    ``POD_NAMESPACE``), because the Lease has nowhere to live then.
    """
    if settings.pod_namespace:
        return settings.pod_namespace
    try:
        with open(service_account_namespace_file, encoding="utf-8") as handle:
            namespace = handle.read().strip()
    except OSError:
        namespace = ""
    if not namespace:
        raise SettingsError(
            "POD_NAMESPACE is not set and the service account namespace file "
            f"{service_account_namespace_file} is unreadable: the leader-election Lease needs "
            "a namespace (set POD_NAMESPACE, e.g. through the downward API)"
        )
    return namespace


class _Env:
    """Typed readers over an environment mapping; every error names the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def raw(self, name: str) -> str:
        return self._environ.get(name, "")

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name).strip().lower()
        if not value:
            return default
        if value == "true":
            return True
        if value == "false":
            return False
        raise SettingsError(f"{name} must be 'true' or 'false' (got {self.raw(name)!r})")

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        return self._parse(name, default, int, f"an integer >= {minimum}",
                           lambda v: v >= minimum)

    def integer_in(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        return self._parse(name, default, int, f"an integer from {minimum} to {maximum}",
                           lambda v: minimum <= v <= maximum)

    def url(self, name: str) -> str:
        """An ``https://host:port`` base URL (no path), or empty."""
        value = self.raw(name).strip().rstrip("/")
        if value and not re.fullmatch(r"https://[^/\s]+", value):
            raise SettingsError(f"{name} must be an https://host:port address without a path "
                                f"(got {value!r})")
        return value

    def number(self, name: str, default: float, *, minimum: float) -> float:
        return self._parse(name, default, float, f"a number >= {minimum}",
                           lambda v: v >= minimum)

    def port(self, name: str, default: int) -> int:
        return self._parse(name, default, int, "a TCP port between 0 and 65535",
                           lambda v: 0 <= v <= 65535)

    def choice(self, name: str, accepted: Mapping[str, _T], default: _T) -> _T:
        value = self.raw(name).strip()
        if not value:
            return default
        lowered = {key.lower(): result for key, result in accepted.items()}
        if value.lower() in lowered:
            return lowered[value.lower()]
        allowed = ", ".join(sorted(set(accepted)))
        raise SettingsError(f"{name} must be one of {allowed} (got {value!r})")

    def namespaces(self, name: str) -> tuple[str, ...]:
        """A comma-separated list of namespace names (RFC 1123 labels)."""
        values = self.csv(name)
        for value in values:
            if len(value) > 63 or not _NAMESPACE_NAME.fullmatch(value):
                raise SettingsError(
                    f"{name} must be a comma-separated list of namespace names (lowercase "
                    f"letters, digits and '-', at most 63 characters, starting and ending with "
                    f"a letter or digit); {value!r} is not one"
                )
        return values

    def object_key(self, name: str) -> str:
        """``namespace/name`` of one object (empty when unset)."""
        value = self.raw(name).strip()
        if not value:
            return ""
        namespace, _, object_name = value.partition("/")
        if not namespace or not object_name or "/" in object_name or not (
            _NAMESPACE_NAME.fullmatch(namespace)
        ):
            raise SettingsError(f"{name} must be namespace/name (got {value!r})")
        return value

    def csv(self, name: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.raw(name).split(",") if part.strip())

    def _parse(
        self,
        name: str,
        default: _T,
        parse: Callable[[str], _T],
        expected: str,
        valid: Callable[[_T], bool],
    ) -> _T:
        text = self.raw(name).strip()
        if not text:
            return default
        try:
            value = parse(text)
        except ValueError:
            raise SettingsError(f"{name} must be {expected} (got {text!r})") from None
        if not valid(value):
            raise SettingsError(f"{name} must be {expected} (got {text!r})")
        return value

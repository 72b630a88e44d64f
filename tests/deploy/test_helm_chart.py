"""The Helm chart (deploy/helm/gko): lint, and what each value and documented variant renders.

Runs the helm binary `make helm` builds from its Go module (skipped with a reason when it has not
been built; `make test` always builds it first).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from controller.config import LEADER_ELECTION_ID, Settings
from tests.deploy.helm import example_files, lint, requires_helm, template, template_error
from tests.deploy.rbac_rules import ResourceRequest, can, granted_rules
from tests.deploy.rendering import (
    CRD_PLURALS,
    OPERATOR_NAME,
    OPERATOR_NAMESPACE,
    SERVICE_ACCOUNT,
    Manifest,
    of_kind,
    operator_container,
    pick,
)

pytestmark = [requires_helm]

kubernetes_validate = pytest.importorskip("kubernetes_validate")

_VARIANTS = example_files()


def _config(objects: list[Manifest], name: str = "gko-config") -> dict[str, str]:
    data: dict[str, str] = pick(objects, "ConfigMap", name)["data"]
    return data


def _grants(objects: list[Manifest]) -> dict[str | None, list[Any]]:
    return granted_rules(objects, namespace=OPERATOR_NAMESPACE, service_account=SERVICE_ACCOUNT)


def _req(verb: str, group: str, resource: str, subresource: str = "", name: str = "") -> (
    ResourceRequest
):
    return ResourceRequest(verb=verb, group=group, resource=resource, subresource=subresource,
                           name=name)


def _reconcile_calls() -> Iterator[ResourceRequest]:
    for plural in CRD_PLURALS:
        for verb in ("get", "list", "watch", "update", "patch"):
            yield _req(verb, "gravitee.io", plural)
        for verb in ("get", "update", "patch"):
            yield _req(verb, "gravitee.io", plural, "status")
        yield _req("update", "gravitee.io", plural, "finalizers")
    for verb in ("get", "list", "watch", "create", "update", "patch", "delete"):
        yield _req(verb, "", "configmaps")
    for verb in ("get", "list", "watch", "update", "patch"):
        yield _req(verb, "", "secrets")


_METRICS_AUTH = [_req("create", "authentication.k8s.io", "tokenreviews"),
                 _req("create", "authorization.k8s.io", "subjectaccessreviews")]


class _RecordingEnviron(Mapping[str, str]):
    def __init__(self, values: Mapping[str, str]) -> None:
        self.given = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.given[key]

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(key)
        return self.given.get(key, default)

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("Settings.from_env must look variables up by name")

    def __len__(self) -> int:
        return len(self.given)


def _settings(objects: list[Manifest]) -> Settings:
    """What the operator makes of the rendered environment; fails on keys it never reads."""
    environ = _RecordingEnviron({**_config(objects), "POD_NAMESPACE": OPERATOR_NAMESPACE})
    settings = Settings.from_env(environ)
    unread = set(environ.given) - environ.read
    assert not unread, f"rendered keys the operator ignores: {sorted(unread)}"
    return settings


# ----------------------------------------------------------------------------- lint


@pytest.mark.parametrize("values", [None, *_VARIANTS])
def test_helm_lint_is_clean(values: str | None) -> None:
    completed = lint(*([values] if values else []))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "[WARNING]" not in completed.stdout
    assert "[ERROR]" not in completed.stdout


@pytest.mark.parametrize("values", [None, *_VARIANTS])
def test_every_object_is_valid_and_namespaced_where_it_must_be(values: str | None) -> None:
    objects = template(*([values] if values else []))
    for obj in objects:
        if obj["apiVersion"] != "monitoring.coreos.com/v1":
            kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)
        cluster_scoped = obj["kind"] in ("ClusterRole", "ClusterRoleBinding")
        assert ("namespace" in obj["metadata"]) is not cluster_scoped, obj["metadata"]
        if not cluster_scoped:
            assert obj["metadata"]["namespace"] == OPERATOR_NAMESPACE
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


# ----------------------------------------------------------------------------- defaults


def test_the_defaults_are_upstreams() -> None:
    objects = template()
    settings = _settings(objects)
    assert settings.watches_all_namespaces
    assert settings.enable_metrics
    assert settings.secure_metrics
    assert settings.metrics_port == 8080
    assert settings.metrics_cert_dir == ""
    assert settings.apply_crds is True
    assert settings.enable_leader_election is True
    assert settings.max_concurrent_reconciles == 1
    assert settings.logs.timestamp_format == "epoch-second"
    assert settings.http_client.timeout_seconds == 5
    assert {r["metadata"]["name"] for r in of_kind(objects, "ClusterRole")} == {
        "gko-manager", "gko-crd-apply", "gko-metrics-auth", "gko-metrics-reader"}
    service = pick(objects, "Service", "gko-controller-manager-metrics-service")
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 8443, "targetPort": "metrics", "protocol": "TCP"}]
    assert not of_kind(objects, "ServiceMonitor")
    assert not of_kind(objects, "PodDisruptionBudget")
    assert not of_kind(objects, "Namespace")


def test_the_default_grants_reconcile_everywhere_and_the_metrics_reviews() -> None:
    grants = _grants(template())
    for call in [*_reconcile_calls(), *_METRICS_AUTH]:
        assert can(grants, call, namespace=None), call
    lease = _req("update", "coordination.k8s.io", "leases")
    assert can(grants, lease, namespace=OPERATOR_NAMESPACE)
    assert not can(grants, lease, namespace="team-a")
    for never in (_req("create", "", "secrets"), _req("delete", "gravitee.io", "apidefinitions"),
                  _req("list", "apiextensions.k8s.io", "customresourcedefinitions")):
        assert not can(grants, never, namespace=None), never


def test_the_metrics_reader_is_for_the_scraper_not_the_operator() -> None:
    objects = template()
    reader = pick(objects, "ClusterRole", "gko-metrics-reader")
    assert reader["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    bound = {b["roleRef"]["name"] for b in of_kind(objects, "ClusterRoleBinding")}
    assert "gko-metrics-reader" not in bound


@pytest.mark.parametrize("values", [None, *_VARIANTS])
def test_probes_and_ports(values: str | None) -> None:
    container = operator_container(template(*([values] if values else [])))
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "metrics": 8080, "probes": 8081}
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": "probes"},
        "initialDelaySeconds": 15, "periodSeconds": 20}
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/readyz", "port": "probes"},
        "initialDelaySeconds": 5, "periodSeconds": 10}


def test_the_probe_and_metrics_ports_follow_their_values() -> None:
    objects = template(manager__probes__port=9091, manager__metrics__port=9090)
    container = operator_container(objects)
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "metrics": 9090, "probes": 9091}
    settings = _settings(objects)
    assert (settings.metrics_port, settings.probes_port) == (9090, 9091)


@pytest.mark.parametrize("values", [None, *_VARIANTS])
def test_every_pod_runs_restricted_on_a_read_only_root(values: str | None) -> None:
    pod = pick(template(*([values] if values else [])), "Deployment", OPERATOR_NAME)
    spec = pod["spec"]["template"]["spec"]
    assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 65532,
                                       "runAsGroup": 65532,
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert spec["serviceAccountName"] == SERVICE_ACCOUNT
    assert spec["terminationGracePeriodSeconds"] == 30
    assert {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}} in spec[
        "volumes"]


# ----------------------------------------------------------------------------- variants


def test_namespaced_scope_is_a_role_in_the_release_namespace() -> None:
    objects = template("namespaced.yaml")
    assert _settings(objects).namespaces == (OPERATOR_NAMESPACE,)
    assert not [r for r in of_kind(objects, "ClusterRole")
                if r["metadata"]["name"].startswith("gko-manager")]
    grants = _grants(objects)
    for call in _reconcile_calls():
        assert can(grants, call, namespace=OPERATOR_NAMESPACE), call
        assert not can(grants, call, namespace="team-a"), call
        assert not can(grants, call, namespace=None), call
    # Secured metrics still need the cluster-scoped reviews, under names of this namespace so
    # that several namespaced releases can coexist.
    for call in _METRICS_AUTH:
        assert can(grants, call, namespace=None), call
    names = {r["metadata"]["name"] for r in of_kind(objects, "ClusterRole")}
    assert names == {f"gko-metrics-auth-{OPERATOR_NAMESPACE}",
                     f"gko-metrics-reader-{OPERATOR_NAMESPACE}",
                     f"gko-crd-apply-{OPERATOR_NAMESPACE}"}


def test_namespaced_without_secured_metrics_or_crds_has_no_cluster_rbac() -> None:
    objects = template("kustomize-namespaced.yaml")
    assert not of_kind(objects, "ClusterRole")
    assert not of_kind(objects, "ClusterRoleBinding")


def test_watching_a_list_of_namespaces() -> None:
    objects = template("watch-namespaces.yaml")
    assert _settings(objects).namespaces == ("team-a", "team-b")
    grants = _grants(objects)
    assert all(can(grants, call, namespace=None) for call in _reconcile_calls())


def test_unsecured_metrics_are_plain_http_without_metrics_rbac() -> None:
    objects = template("metrics-unsecured.yaml")
    settings = _settings(objects)
    assert settings.enable_metrics
    assert not settings.secure_metrics
    assert not [r for r in of_kind(objects, "ClusterRole") if "metrics" in r["metadata"]["name"]]
    service = pick(objects, "Service", "gko-controller-manager-metrics-service")
    assert service["spec"]["ports"] == [
        {"name": "http-metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}]
    grants = _grants(objects)
    assert not any(can(grants, call, namespace=None) for call in _METRICS_AUTH)


def test_a_mounted_metrics_certificate_a_monitor_and_readers() -> None:
    objects = template("metrics-cert-secret.yaml")
    cert_dir = "/tmp/k8s-metrics-server/metrics-certs"
    assert _settings(objects).metrics_cert_dir == cert_dir
    pod = pick(objects, "Deployment", OPERATOR_NAME)["spec"]["template"]["spec"]
    assert {"name": "metrics-certs", "secret": {"secretName": "gko-metrics-cert"}} in pod["volumes"]
    assert {"name": "metrics-certs", "mountPath": cert_dir, "readOnly": True} in (
        operator_container(objects)["volumeMounts"])
    (endpoint,) = pick(objects, "ServiceMonitor", "gko-metrics-monitor")["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["scheme"]) == ("https", "https")
    assert endpoint["tlsConfig"] == {"insecureSkipVerify": False}
    binding = pick(objects, "ClusterRoleBinding", "gko-metrics-reader")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}]
    # An explicit certDir wins over the default mount point.
    assert _settings(template("metrics-cert-secret.yaml", manager__metrics__certDir="/certs")
                     ).metrics_cert_dir == "/certs"


def test_the_unsecured_monitor_scrapes_http() -> None:
    objects = template("metrics-unsecured.yaml", manager__metrics__monitor__create=True)
    (endpoint,) = pick(objects, "ServiceMonitor", "gko-metrics-monitor")["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["scheme"]) == ("http-metrics", "http")
    assert "bearerTokenFile" not in endpoint


def test_ha_runs_two_replicas_with_an_elected_leader() -> None:
    objects = template("ha.yaml")
    assert _settings(objects).enable_leader_election
    deployment = pick(objects, "Deployment", OPERATOR_NAME)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"][
        "topologyKey"] == "kubernetes.io/hostname"
    assert pick(objects, "PodDisruptionBudget", OPERATOR_NAME)["spec"]["minAvailable"] == 1
    grants = _grants(objects)
    for verb in ("get", "create", "update", "patch"):
        assert can(grants, _req(verb, "coordination.k8s.io", "leases",
                                name=LEADER_ELECTION_ID), namespace=OPERATOR_NAMESPACE)


def test_without_leader_election_one_pod_is_replaced_not_rolled() -> None:
    objects = template(manager__leaderElection__enabled=False)
    assert not _settings(objects).enable_leader_election
    assert pick(objects, "Deployment", OPERATOR_NAME)["spec"]["strategy"] == {"type": "Recreate"}
    assert not [r for r in of_kind(objects, "Role") if r["metadata"]["name"] ==
                "gko-leader-election"]


def test_impossible_combinations_fail_to_render() -> None:
    assert "leaderElection" in template_error(manager__replicaCount=2,
                                              manager__leaderElection__enabled=False)
    assert "scope.namespaces" in template_error("namespaced.yaml",
                                                **{"manager__scope__namespaces[0]": "a"})
    assert "certSecret" in template_error("metrics-unsecured.yaml",
                                          manager__metrics__certSecret="x")


# ----------------------------------------------------------------------------- each value


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ({"manager__maxConcurrentReconciles": 4}, {"MAX_CONCURRENT_RECONCILES": "4"}),
        ({"manager__reconcile__strategy": "always"}, {"RECONCILE_STRATEGY": "always"}),
        ({"manager__applyCRDs": False}, {"APPLY_CRDS": "false"}),
        ({"manager__templating__enabled": False}, {"ENABLE_TEMPLATING": "false"}),
        ({"manager__driftDetection__enabled": False}, {"ENABLE_DRIFT_DETECTION": "false"}),
        ({"manager__drift__policy": "repair", "manager__drift__checkInterval": 60,
          "manager__drift__checkRate": 2},
         {"DRIFT_POLICY": "repair", "DRIFT_CHECK_INTERVAL": "60", "DRIFT_CHECK_RATE": "2"}),
        ({"manager__httpClient__timeoutSeconds": 12}, {"HTTP_CLIENT_TIMEOUT_SECONDS": "12"}),
        ({"manager__httpClient__insecureSkipCertVerify": True},
         {"HTTP_CLIENT_INSECURE_SKIP_CERT_VERIFY": "true"}),
        ({"manager__httpClient__trustStore__path": "/etc/apim/ca.pem"},
         {"HTTP_CLIENT_TRUSTSTORE_PATH": "/etc/apim/ca.pem"}),
        ({"manager__httpClient__proxy__enabled": True,
          "manager__httpClient__proxy__url": "http://proxy:3128",
          "manager__httpClient__proxy__username": "gko"},
         {"HTTP_CLIENT_PROXY_ENABLED": "true", "HTTP_CLIENT_PROXY_USE_SYSTEM_PROXY": "false",
          "HTTP_CLIENT_PROXY_URL": "http://proxy:3128", "HTTP_CLIENT_PROXY_USERNAME": "gko"}),
        ({"manager__httpClient__proxy__enabled": True,
          "manager__httpClient__proxy__useSystemProxy": True},
         {"HTTP_CLIENT_PROXY_ENABLED": "true", "HTTP_CLIENT_PROXY_USE_SYSTEM_PROXY": "true"}),
        ({"manager__metrics__enabled": False}, {"ENABLE_METRICS": "false"}),
        ({"manager__metrics__certDir": "/certs"}, {"METRICS_CERT_DIR": "/certs"}),
        ({"manager__logs__format": "console", "manager__logs__level": "debug",
          "manager__logs__levelCase": "lower", "manager__logs__timestamp__field": "ts",
          "manager__logs__timestamp__format": "iso-8601"},
         {"LOGS_FORMAT": "console", "LOGS_LEVEL": "debug", "LOGS_LEVEL_CASE": "lower",
          "LOGS_TIMESTAMP_FIELD": "ts", "LOGS_TIMESTAMP_FORMAT": "iso-8601"}),
        ({"manager__logs__json": False}, {"DEV_MODE": "true"}),
        ({"manager__webhook__enabled": True,
          "manager__webhook__admission__checkApiContextPathConflictInCluster": True},
         {"ENABLE_WEBHOOK": "true", "WEBHOOK_NAMESPACE": OPERATOR_NAMESPACE,
          "WEBHOOK_SERVICE_NAME": "gko-webhook", "WEBHOOK_SERVICE_PORT": "9443",
          "WEBHOOK_CERT_SECRET_NAME": "gko-webhook-cert",
          "WEBHOOK_VALIDATING_CONFIGURATION_NAME":
              f"gko-validating-webhook-configurations-{OPERATOR_NAMESPACE}",
          "WEBHOOK_MUTATING_CONFIGURATION_NAME":
              f"gko-mutating-webhook-configurations-{OPERATOR_NAMESPACE}",
          "WEBHOOK_FAILURE_POLICY": "Fail", "WEBHOOK_TIMEOUT_SECONDS": "10",
          "WEBHOOK_APIM_DRY_RUN": "false", "WEBHOOK_APIM_DRY_RUN_BUDGET_SECONDS": "2",
          "CHECK_API_CONTEXT_PATH_CONFLICT_IN_CLUSTER": "true"}),
        ({"manager__webhook__enabled": True, "manager__webhook__failurePolicy": "Ignore",
          "manager__webhook__apimDryRun__enabled": True,
          "manager__webhook__apimDryRun__budgetSeconds": 3,
          "manager__httpClient__timeoutSeconds": 30},
         {"ENABLE_WEBHOOK": "true", "WEBHOOK_NAMESPACE": OPERATOR_NAMESPACE,
          "WEBHOOK_SERVICE_NAME": "gko-webhook", "WEBHOOK_SERVICE_PORT": "9443",
          "WEBHOOK_CERT_SECRET_NAME": "gko-webhook-cert",
          "WEBHOOK_VALIDATING_CONFIGURATION_NAME":
              f"gko-validating-webhook-configurations-{OPERATOR_NAMESPACE}",
          "WEBHOOK_MUTATING_CONFIGURATION_NAME":
              f"gko-mutating-webhook-configurations-{OPERATOR_NAMESPACE}",
          "WEBHOOK_FAILURE_POLICY": "Ignore", "WEBHOOK_TIMEOUT_SECONDS": "30",
          "HTTP_CLIENT_TIMEOUT_SECONDS": "30",
          "WEBHOOK_APIM_DRY_RUN": "true", "WEBHOOK_APIM_DRY_RUN_BUDGET_SECONDS": "3",
          "CHECK_API_CONTEXT_PATH_CONFLICT_IN_CLUSTER": "false"}),
        ({"ingress__controller__enabled": True, "ingress__ingressClasses[0]": "graviteeio",
          "ingress__ingressClasses[1]": "other",
          "ingress__templates__404__name": "not-found",
          "ingress__templates__404__namespace": "gateway",
          "ingress__gatewayService": "gateway/gio-gateway"},
         {"INGRESS_CLASSES": "graviteeio,other",
          "TEMPLATE_404_CONFIG_MAP_NAME": "not-found",
          "TEMPLATE_404_CONFIG_MAP_NAMESPACE": "gateway",
          "INGRESS_GATEWAY_SERVICE": "gateway/gio-gateway"}),
        ({"ingress__controller__enabled": False}, {"ENABLE_INGRESS": "false"}),
        ({"gatewayAPI__controller__enabled": True}, {"ENABLE_GATEWAY_API": "true"}),
    ],
)
def test_each_value_sets_its_variable(sets: dict[str, Any], expected: dict[str, str]) -> None:
    default = _config(template())
    objects = template(**sets)
    config = _config(objects)
    changed = {key: value for key, value in config.items() if default.get(key) != value}
    assert changed == expected
    _settings(objects)  # every key is one the operator reads, with a value it accepts


def test_the_proxy_password_goes_to_a_secret_not_the_configmap() -> None:
    objects = template(manager__httpClient__proxy__enabled=True,
                       manager__httpClient__proxy__password="s3cr3t-pw")
    assert "s3cr3t-pw" not in str(_config(objects))
    secret = pick(objects, "Secret", "gko-config-proxy")
    assert secret["stringData"] == {"HTTP_CLIENT_PROXY_PASSWORD": "s3cr3t-pw"}
    env = {e["name"]: e for e in operator_container(objects)["env"]}
    assert env["HTTP_CLIENT_PROXY_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "gko-config-proxy", "key": "HTTP_CLIENT_PROXY_PASSWORD"}}
    assert not of_kind(template(), "Secret")


def test_a_config_change_rolls_the_pods() -> None:
    def checksum(objects: list[Manifest]) -> str:
        annotations = pick(objects, "Deployment", OPERATOR_NAME)["spec"]["template"]["metadata"][
            "annotations"]
        return str(annotations["checksum/config"])

    assert checksum(template()) == checksum(template())
    assert checksum(template()) != checksum(template(manager__logs__level="debug"))


def test_names_images_and_switches() -> None:
    objects = template(manager__configMap__name="my-config", manager__image__tag="1.2.3",
                       manager__image__repository="registry.example.com/gko",
                       **{"manager__image__pullSecret__name": "pull"})
    assert _config(objects, "my-config")
    container = operator_container(objects)
    assert container["envFrom"] == [{"configMapRef": {"name": "my-config"}}]
    assert container["image"] == "registry.example.com/gko:1.2.3"
    pod = pick(objects, "Deployment", OPERATOR_NAME)["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "pull"}]
    assert operator_container(template())["image"] == "gravitee-operator-py:0.1.0"

    no_rbac = template(rbac__create=False)
    assert not [o for o in no_rbac if o["apiVersion"].startswith("rbac.")]
    no_account = template(serviceAccount__create=False, serviceAccount__name="existing")
    assert not of_kind(no_account, "ServiceAccount")
    assert pick(no_account, "Deployment", OPERATOR_NAME)["spec"]["template"]["spec"][
        "serviceAccountName"] == "existing"
    no_cluster = template("namespaced.yaml", rbac__skipClusterRoles=True)
    assert not of_kind(no_cluster, "ClusterRole")
    assert not of_kind(no_cluster, "ClusterRoleBinding")
    assert pick(no_cluster, "Role", "gko-manager")
    no_metrics = template(manager__metrics__enabled=False)
    assert not of_kind(no_metrics, "Service")
    assert not [r for r in of_kind(no_metrics, "ClusterRole") if "metrics" in r["metadata"]["name"]]


def test_the_ingress_controller_is_on_with_its_rbac_and_off_without_it() -> None:
    ingress_calls = [_req(v, "networking.k8s.io", "ingresses")
                     for v in ("get", "list", "watch", "update", "patch")]
    ingress_calls += [_req("patch", "networking.k8s.io", "ingresses", "status"),
                      _req("create", "gravitee.io", "apidefinitions")]
    services = _req("list", "", "services")
    on = template()
    assert _settings(on).ingress.enabled
    assert _settings(on).ingress.classes == ("graviteeio",)
    grants = _grants(on)
    for call in ingress_calls:
        assert can(grants, call, namespace=None), call
    assert not can(grants, services, namespace=None)
    assert not can(grants, _req("delete", "networking.k8s.io", "ingresses"), namespace=None)
    assert not of_kind(on, "IngressClass")

    published = template(ingress__gatewayService="gateway/gio-gateway",
                         ingress__ingressClass__create=True)
    assert _settings(published).ingress.gateway_service == "gateway/gio-gateway"
    assert can(_grants(published), services, namespace=None)
    ingress_class = pick(published, "IngressClass", "graviteeio")
    assert ingress_class["spec"] == {"controller": "apim.gravitee.io/ingress"}

    off = template(ingress__controller__enabled=False, ingress__ingressClass__create=True)
    assert not _settings(off).ingress.enabled
    grants = _grants(off)
    for call in ingress_calls:
        assert not can(grants, call, namespace=None), call
    assert not of_kind(off, "IngressClass")

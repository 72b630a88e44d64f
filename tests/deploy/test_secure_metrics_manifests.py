"""components/secure-metrics: SECURE_METRICS=true, the review rights, the reader role, HTTPS."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import Settings
from tests.deploy.rbac_rules import ResourceRequest, can, granted_rules
from tests.deploy.rendering import (
    MANIFESTS,
    OPERATOR_NAMESPACE,
    SERVICE_ACCOUNT,
    Manifest,
    of_kind,
    pick,
    render,
    requires_kubectl,
    write_kustomization,
)

pytestmark = [pytest.mark.kubectl, requires_kubectl]

kubernetes_validate = pytest.importorskip("kubernetes_validate")

_REVIEWS = [
    ResourceRequest(verb="create", group="authentication.k8s.io", resource="tokenreviews"),
    ResourceRequest(verb="create", group="authorization.k8s.io", resource="subjectaccessreviews"),
]


def _render(tmp_path: Path, overlay: str, *components: str) -> list[Manifest]:
    return render(write_kustomization(
        tmp_path, resources=(MANIFESTS / "overlays" / overlay,),
        components=tuple(MANIFESTS / "components" / c for c in components),
        namespace=OPERATOR_NAMESPACE,
    ))


@pytest.mark.parametrize("overlay", ["cluster", "namespaced", "ha"])
def test_the_operator_may_make_both_reviews_and_nothing_more(tmp_path: Path,
                                                             overlay: str) -> None:
    secured = _render(tmp_path, overlay, "secure-metrics")
    grants = granted_rules(secured, namespace=OPERATOR_NAMESPACE, service_account=SERVICE_ACCOUNT)
    for call in _REVIEWS:
        assert can(grants, call, namespace=None), call
    for call in (ResourceRequest(verb="get", group="authentication.k8s.io",
                                 resource="tokenreviews"),
                 ResourceRequest(verb="create", group="authorization.k8s.io",
                                 resource="selfsubjectrulesreviews")):
        assert not can(grants, call, namespace=None), call
    # The operator is never bound to the reader role: /metrics is for the scraper.
    bound = {b["roleRef"]["name"] for b in of_kind(secured, "ClusterRoleBinding")}
    assert "gko-metrics-reader" not in bound
    assert not any("nonResourceURLs" in rule for scope in grants.values() for rule in scope)


def test_without_the_component_there_are_no_review_rights(tmp_path: Path) -> None:
    plain = _render(tmp_path, "cluster")
    grants = granted_rules(plain, namespace=OPERATOR_NAMESPACE, service_account=SERVICE_ACCOUNT)
    assert not any(can(grants, call, namespace=None) for call in _REVIEWS)


def test_the_reader_role_grants_get_on_metrics_only(tmp_path: Path) -> None:
    reader = pick(_render(tmp_path, "cluster", "secure-metrics"), "ClusterRole",
                  "gko-metrics-reader")
    assert reader["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]


def test_the_operator_serves_https_and_the_service_says_so(tmp_path: Path) -> None:
    objects = _render(tmp_path, "cluster", "secure-metrics")
    settings = Settings.from_env({**pick(objects, "ConfigMap", "gko-config")["data"],
                                  "POD_NAMESPACE": OPERATOR_NAMESPACE})
    assert settings.enable_metrics
    assert settings.secure_metrics
    service = pick(objects, "Service", "gko-controller-manager-metrics-service")
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 8443, "targetPort": "metrics", "protocol": "TCP"}]
    for obj in objects:
        kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)


def test_listed_after_servicemonitor_it_switches_the_monitor_to_https(tmp_path: Path) -> None:
    objects = _render(tmp_path, "cluster", "servicemonitor", "secure-metrics")
    (endpoint,) = pick(objects, "ServiceMonitor", "gko-metrics-monitor")["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["scheme"]) == ("https", "https")
    assert endpoint["bearerTokenFile"] == "/var/run/secrets/kubernetes.io/serviceaccount/token"

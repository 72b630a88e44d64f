"""The chart and the kustomize install render the same operator: RBAC, environment, probes.

Each kustomize overlay has a values file in deploy/helm/examples that reproduces it, and the
chart's defaults (upstream's) are the cluster overlay plus the apply-crds, leader-election,
secure-metrics and webhook components. Compared: the rules granted to the operator in each scope,
every ClusterRole/Role's rules, the whole gko-config, the container (env, ports, probes, resources,
security), the pod spec, the metrics Service and PodDisruptionBudget. Labels, Helm's bookkeeping
and the Namespace object (created by `helm install --create-namespace`) are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.helm import requires_helm, template
from tests.deploy.rbac_rules import granted_rules
from tests.deploy.rendering import (
    MANIFESTS,
    OPERATOR_NAME,
    OPERATOR_NAMESPACE,
    SERVICE_ACCOUNT,
    Manifest,
    of_kind,
    operator_container,
    pick,
    render,
    render_overlay,
    requires_kubectl,
    write_kustomization,
)

pytestmark = [pytest.mark.kubectl, requires_kubectl, requires_helm]

_METRICS_SERVICE = "gko-controller-manager-metrics-service"


def _canonical_rules(rules: list[Any]) -> list[str]:
    """Rules as order-free comparable strings (verbs, groups and resources sorted)."""
    return sorted(
        json.dumps({key: sorted(value) if isinstance(value, list) else value
                    for key, value in rule.items()}, sort_keys=True)
        for rule in rules
    )


def _grants(objects: list[Manifest]) -> dict[str | None, list[str]]:
    grants = granted_rules(objects, namespace=OPERATOR_NAMESPACE, service_account=SERVICE_ACCOUNT)
    return {scope: _canonical_rules(rules) for scope, rules in grants.items()}


def _roles(objects: list[Manifest]) -> list[tuple[str, list[str]]]:
    """Every Role/ClusterRole's kind and rules, whatever its name."""
    return sorted((obj["kind"], _canonical_rules(obj["rules"]))
                  for kind in ("Role", "ClusterRole") for obj in of_kind(objects, kind))


def _pod(objects: list[Manifest]) -> Manifest:
    spec = dict(pick(objects, "Deployment", OPERATOR_NAME)["spec"]["template"]["spec"])
    spec.pop("containers")
    return spec


def _container(objects: list[Manifest]) -> Manifest:
    return operator_container(objects)


def _compose(tmp_path: Path, overlay: str, *components: str) -> list[Manifest]:
    return render(write_kustomization(
        tmp_path, resources=(MANIFESTS / "overlays" / overlay,),
        components=tuple(MANIFESTS / "components" / c for c in components),
        namespace=OPERATOR_NAMESPACE,
    ))


def _assert_same_operator(chart: list[Manifest], kustomize: list[Manifest], *,
                          deployment: bool = True) -> None:
    assert _grants(chart) == _grants(kustomize)
    assert _roles(chart) == _roles(kustomize)
    assert pick(chart, "ConfigMap", "gko-config")["data"] == (
        pick(kustomize, "ConfigMap", "gko-config")["data"])
    assert _container(chart) == _container(kustomize)
    assert pick(chart, "Service", _METRICS_SERVICE)["spec"] == (
        pick(kustomize, "Service", _METRICS_SERVICE)["spec"])
    if deployment:
        chart_deployment = pick(chart, "Deployment", OPERATOR_NAME)["spec"]
        kustomize_deployment = pick(kustomize, "Deployment", OPERATOR_NAME)["spec"]
        for field in ("replicas", "strategy", "selector"):
            assert chart_deployment[field] == kustomize_deployment[field], field
        assert _pod(chart) == _pod(kustomize)
        assert [p["spec"] for p in of_kind(chart, "PodDisruptionBudget")] == (
            [p["spec"] for p in of_kind(kustomize, "PodDisruptionBudget")])


def _kinds_and_names(objects: list[Manifest]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] != "Namespace"}


@pytest.mark.parametrize("overlay", ["cluster", "namespaced", "ha"])
def test_each_overlay_has_a_values_file_rendering_the_same_operator(overlay: str) -> None:
    chart = template(f"kustomize-{overlay}.yaml")
    kustomize = render_overlay(overlay)
    _assert_same_operator(chart, kustomize)
    assert _kinds_and_names(chart) == _kinds_and_names(kustomize)


def test_the_chart_defaults_are_the_cluster_overlay_with_its_four_components(
    tmp_path: Path,
) -> None:
    chart = template()
    kustomize = _compose(tmp_path, "cluster", "apply-crds", "leader-election", "secure-metrics",
                         "webhook")
    # The strategy differs on purpose: with leader election the chart rolls (the standby takes
    # over at once), while the leader-election component alone leaves the base's Recreate.
    _assert_same_operator(chart, kustomize, deployment=False)
    assert _pod(chart) == _pod(kustomize)
    assert _kinds_and_names(chart) == _kinds_and_names(kustomize)


def test_namespaced_with_secured_metrics_matches_the_namespaced_overlay_and_component(
    tmp_path: Path,
) -> None:
    chart = template("kustomize-namespaced.yaml", manager__metrics__secured=True)
    kustomize = _compose(tmp_path, "namespaced", "secure-metrics")
    _assert_same_operator(chart, kustomize)


def test_the_servicemonitors_agree(tmp_path: Path) -> None:
    for secured, components in ((False, ("servicemonitor",)),
                                (True, ("servicemonitor", "secure-metrics"))):
        directory = tmp_path / str(secured)
        directory.mkdir()
        kustomize = _compose(directory, "cluster", *components)
        chart = template("kustomize-cluster.yaml", manager__metrics__secured=secured,
                         manager__metrics__monitor__create=True)
        assert pick(chart, "ServiceMonitor", "gko-metrics-monitor")["spec"] == (
            pick(kustomize, "ServiceMonitor", "gko-metrics-monitor")["spec"])

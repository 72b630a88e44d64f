"""Every rendered object is valid against the Kubernetes OpenAPI schemas, offline.

Validation uses kubernetes-validate's bundled JSON schemas in strict mode (unknown fields are
errors), for the kubectl version we target (1.32) and the newest schema it ships.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.deploy.rendering import (
    CRD_PLURALS,
    MANIFESTS,
    OPERATOR_NAMESPACE,
    OVERLAYS,
    crd_files,
    operator_container,
    pick,
    render,
    render_overlay,
    requires_kubectl,
    write_kustomization,
)

# A test dependency (offline JSON schemas of every Kubernetes version); until it is in
# setup.cfg's test extra, a venv without it skips this module instead of failing to collect.
kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="kubernetes-validate is not installed (pip install it)"
)

KUBERNETES_VERSIONS = ("1.32", kubernetes_validate.latest_version())

#: Kinds no bundled schema covers; each has its own structural test below.
_OUT_OF_TREE_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}

pytestmark = [pytest.mark.kubectl, requires_kubectl]


def _validate(obj: dict[str, object], version: str) -> None:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(part) for part in exc.path)
        kind, name = obj["kind"], obj["metadata"]["name"]  # type: ignore[index]
        pytest.fail(f"{kind}/{name} invalid against {version} at {path}: {exc.message}")


def _render_with_component(tmp_path: Path, component: str) -> list[dict[str, object]]:
    return render(
        write_kustomization(
            tmp_path,
            resources=(MANIFESTS / "overlays" / "cluster",),
            components=(MANIFESTS / "components" / component,),
            # Components are meant to be used from an overlay that sets the namespace.
            namespace=OPERATOR_NAMESPACE,
        )
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_of_an_overlay_is_schema_valid(overlay: str, version: str) -> None:
    objects = render_overlay(overlay)
    assert objects, f"overlay {overlay} renders nothing"
    for obj in objects:
        assert (obj["apiVersion"], obj["kind"]) not in _OUT_OF_TREE_KINDS
        _validate(obj, version)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_apply_crds_component_is_schema_valid(tmp_path: Path, version: str) -> None:
    objects = _render_with_component(tmp_path, "apply-crds")
    assert pick(objects, "ClusterRole", "gko-crd-apply")
    for obj in objects:
        _validate(obj, version)


def test_the_validator_is_strict_about_unknown_and_mistyped_fields() -> None:
    """Guards the tests above against a validator that accepts anything."""
    objects = render_overlay("cluster")
    deployment = pick(objects, "Deployment", "gko-controller-manager")
    _validate(deployment, "1.32")

    typo = copy.deepcopy(deployment)
    typo["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, "1.32", strict=True)

    mistyped = copy.deepcopy(deployment)
    mistyped["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(mistyped, "1.32", strict=True)


def test_the_servicemonitor_component_selects_the_metrics_service(tmp_path: Path) -> None:
    objects = _render_with_component(tmp_path, "servicemonitor")
    monitor = pick(objects, "ServiceMonitor", "gko-metrics-monitor")
    service = pick(objects, "Service", "gko-controller-manager-metrics-service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    port = next(p for p in service["spec"]["ports"] if p["name"] == endpoint["port"])
    container_port = next(
        p for p in operator_container(objects)["ports"] if p["name"] == port["targetPort"]
    )
    assert container_port["containerPort"] == 8080
    assert endpoint["path"] == "/metrics"
    assert endpoint["scheme"] == "http"
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) not in _OUT_OF_TREE_KINDS:
            _validate(obj, "1.32")


def test_the_generated_crds_are_schema_valid_and_cover_every_kind() -> None:
    files = crd_files()
    if not files:
        pytest.skip("manifests/crds/ is still empty: `make manifests` has not been run yet")
    plurals = set()
    for path in files:
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        for version in KUBERNETES_VERSIONS:
            _validate(crd, version)
        plurals.add(crd["spec"]["names"]["plural"])
        assert path.name == f"gravitee.io_{crd['spec']['names']['plural']}.yaml"
    assert plurals == set(CRD_PLURALS)

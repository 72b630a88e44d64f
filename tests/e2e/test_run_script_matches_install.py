"""What ``deploy/e2e/run.sh`` assumes about the install is what the e2e overlay renders.

The script builds images with fixed tags, waits for two Deployments, port-forwards two
Services and tells the tests the simulator's in-cluster URL. None of that can be exercised
without k3d here, so this checks, offline, that every such name, tag and port matches
``kubectl kustomize manifests/overlays/e2e`` and the Dockerfile's build targets: a rename on
either side fails here instead of on a laptop an hour into ``make e2e``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.rendering import KUBECTL, pick, render_overlay

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "deploy" / "e2e" / "run.sh").read_text()
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def script_value(name: str) -> str:
    match = re.search(rf"^{name}=(\S+)$", SCRIPT, re.MULTILINE)
    assert match is not None, f"run.sh sets no {name}"
    return match.group(1)


def script_expanded(name: str) -> str:
    value = script_value(name)
    return value.replace("$NAMESPACE", script_value("NAMESPACE"))


@pytest.fixture(scope="module")
def rendered():
    if KUBECTL is None:
        pytest.skip("kubectl is not on the PATH")
    return render_overlay("e2e")


def images_of(rendered, deployment: str) -> list[str]:
    return [c["image"] for c in
            pick(rendered, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]]


def test_built_images_are_the_deployed_images(rendered):
    assert images_of(rendered, "gko-controller-manager") == [script_value("OPERATOR_IMAGE")]
    assert images_of(rendered, "apim-simulator") == [script_value("SIMULATOR_IMAGE")]
    for deployment in ("gko-controller-manager", "apim-simulator"):
        spec = pick(rendered, "Deployment", deployment)["spec"]["template"]["spec"]
        # Imported into k3d, never pulled: a pull policy of Always would fail the rollout.
        assert {c.get("imagePullPolicy") for c in spec["containers"]} == {"IfNotPresent"}


def test_build_targets_exist():
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", DOCKERFILE, re.MULTILINE))
    built = set(re.findall(r"--target (\S+)", SCRIPT))
    assert built == {"operator", "apim-simulator"}
    assert built <= targets


def test_waited_and_forwarded_objects_exist(rendered):
    namespace = script_value("NAMESPACE")
    for deployment in re.findall(r"rollout status deployment/(\S+)", SCRIPT):
        assert pick(rendered, "Deployment", deployment)["metadata"]["namespace"] == namespace
    forwards = re.findall(r"^forward (\S+) (\d+) \w+$", SCRIPT, re.MULTILINE)
    assert {service for service, _ in forwards} == {
        "apim-simulator", "gko-controller-manager-metrics-service"}
    for service, port in forwards:
        found = pick(rendered, "Service", service)
        assert found["metadata"]["namespace"] == namespace
        assert int(port) in [p["port"] for p in found["spec"]["ports"]]


def test_in_cluster_apim_url_names_the_simulator_service(rendered):
    url = script_expanded("SIMULATOR_CLUSTER_URL")
    match = re.fullmatch(r"http://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)", url)
    assert match is not None, url
    service = pick(rendered, "Service", match.group(1))
    assert service["metadata"]["namespace"] == match.group(2)
    assert int(match.group(3)) in [p["port"] for p in service["spec"]["ports"]]
    # The simulator must listen on every interface of its pod for the Service to reach it.
    [container] = pick(rendered, "Deployment", "apim-simulator")["spec"]["template"]["spec"][
        "containers"]
    assert container["args"][:2] == ["--host", "0.0.0.0"]


def test_operator_watches_the_test_namespaces(rendered):
    """The tests create their own namespaces: the operator must watch them all."""
    config = pick(rendered, "ConfigMap", "gko-config")["data"]
    assert config.get("NAMESPACE", "") == ""
    assert config["ENABLE_METRICS"] == "true"
    assert pick(rendered, "ClusterRole", "gko-manager")

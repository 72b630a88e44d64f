"""The operator Deployment of every overlay: security, probes, resources, config plumbing."""

from __future__ import annotations

import pytest

from controller.config import LEADER_ELECTION_ID
from controller.manager import ManagerOptions
from tests.deploy.rendering import (
    OPERATOR_NAME,
    OPERATOR_NAMESPACE,
    OVERLAYS,
    SERVICE_ACCOUNT,
    Manifest,
    of_kind,
    operator_container,
    pick,
    render_overlay,
    requires_kubectl,
)

pytestmark = [pytest.mark.kubectl, requires_kubectl]

# Hardening shared by every container we ship (operator and APIM simulator).
_RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
}


def _pod_spec(objects: list[Manifest], name: str = OPERATOR_NAME) -> Manifest:
    spec: Manifest = pick(objects, "Deployment", name)["spec"]["template"]["spec"]
    return spec


# Volume types the "restricted" Pod Security Standard allows.
_RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}


def _assert_restricted(pod: Manifest) -> None:
    pod_context = pod["securityContext"]
    assert pod_context["runAsNonRoot"] is True
    assert pod_context["runAsUser"] == 65532
    assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        context = container["securityContext"]
        for key, value in _RESTRICTED_CONTAINER.items():
            assert context[key] == value, (container["name"], key)
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert "add" not in context["capabilities"]
        assert not context.get("privileged", False)
    for host_namespace in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(host_namespace)
    for volume in pod.get("volumes", []):
        assert set(volume) - {"name"} <= _RESTRICTED_VOLUME_TYPES, volume
    for container in pod["containers"]:
        for port in container.get("ports", []):
            assert "hostPort" not in port


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_restricted_as_65532_on_a_read_only_root(overlay: str) -> None:
    objects = render_overlay(overlay)
    deployments = of_kind(objects, "Deployment")
    assert deployments
    for deployment in deployments:
        _assert_restricted(deployment["spec"]["template"]["spec"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_operator_probes_and_ports_match_the_operator_defaults(overlay: str) -> None:
    container = operator_container(render_overlay(overlay))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8080, "probes": 8081}
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    assert liveness["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert readiness["httpGet"] == {"path": "/readyz", "port": "probes"}
    # Liveness must not kill a pod that is still syncing its caches at start.
    assert liveness["initialDelaySeconds"] >= readiness["initialDelaySeconds"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_operator_requests_and_limits(overlay: str) -> None:
    resources = operator_container(render_overlay(overlay))["resources"]
    assert resources == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_configuration_comes_from_gko_config_and_the_downward_api(overlay: str) -> None:
    objects = render_overlay(overlay)
    container = operator_container(objects)
    assert container["envFrom"] == [{"configMapRef": {"name": "gko-config"}}]
    pick(objects, "ConfigMap", "gko-config")
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.namespace"}
    }
    # The image's entrypoint runs unchanged.
    assert "args" not in container
    assert "command" not in container


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_only_writable_path_is_an_in_memory_tmp(overlay: str) -> None:
    objects = render_overlay(overlay)
    for deployment in of_kind(objects, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            mounts = container.get("volumeMounts", [])
            assert [m["mountPath"] for m in mounts] == ["/tmp"]
            volume = volumes[mounts[0]["name"]]
            assert volume["emptyDir"]["medium"] == "Memory"
            assert "sizeLimit" in volume["emptyDir"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_grace_period_outlasts_the_shutdown_deadline_by_a_few_seconds(overlay: str) -> None:
    pod = _pod_spec(render_overlay(overlay))
    grace = pod["terminationGracePeriodSeconds"]
    margin = grace - ManagerOptions().shutdown_timeout
    # Enough to release the Lease and flush logs after the last reconcile; not so much that a
    # stuck pod lingers.
    assert 3 <= margin <= 10, f"grace {grace}s vs shutdown deadline"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_operator_runs_as_its_own_service_account_in_its_namespace(overlay: str) -> None:
    objects = render_overlay(overlay)
    deployment = pick(objects, "Deployment", OPERATOR_NAME)
    assert deployment["metadata"]["namespace"] == OPERATOR_NAMESPACE
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == SERVICE_ACCOUNT
    account = pick(objects, "ServiceAccount", SERVICE_ACCOUNT)
    assert account["metadata"]["namespace"] == OPERATOR_NAMESPACE
    namespace = pick(objects, "Namespace", OPERATOR_NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_deployment_selects_its_own_pods(overlay: str) -> None:
    objects = render_overlay(overlay)
    for deployment in of_kind(objects, "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
    # No two Deployments may claim each other's pods.
    selectors = [
        d["spec"]["selector"]["matchLabels"] for d in of_kind(objects, "Deployment")
    ]
    for deployment in of_kind(objects, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert sum(s.items() <= labels.items() for s in selectors) == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_metrics_service_reaches_the_metrics_port(overlay: str) -> None:
    objects = render_overlay(overlay)
    service = pick(objects, "Service", "gko-controller-manager-metrics-service")
    labels = pick(objects, "Deployment", OPERATOR_NAME)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["port"] == 8080
    assert port["targetPort"] == "metrics"


@pytest.mark.parametrize("overlay", ["cluster", "namespaced", "e2e"])
def test_single_replica_installs_never_overlap_two_operators(overlay: str) -> None:
    objects = render_overlay(overlay)
    deployment = pick(objects, "Deployment", OPERATOR_NAME)
    config = pick(objects, "ConfigMap", "gko-config")["data"]
    assert deployment["spec"]["replicas"] == 1
    assert config["ENABLE_LEADER_ELECTION"] == "false"
    # Without an elected leader a rolling update would run old and new pod side by side.
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not of_kind(objects, "Lease")
    roles = [r["metadata"]["name"] for r in of_kind(objects, "Role")]
    assert "gko-leader-election" not in roles


def test_the_ha_overlay_runs_two_elected_replicas_spread_over_nodes() -> None:
    objects = render_overlay("ha")
    deployment = pick(objects, "Deployment", OPERATOR_NAME)
    config = pick(objects, "ConfigMap", "gko-config")["data"]
    assert deployment["spec"]["replicas"] == 2
    assert config["ENABLE_LEADER_ELECTION"] == "true"
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    affinity = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    (term,) = affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= labels.items()
    budget = pick(objects, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # The Lease the replicas compete for is upstream's; its rights live in the operator's
    # namespace only.
    assert LEADER_ELECTION_ID == "24d975d3.gravitee.io"
    role = pick(objects, "Role", "gko-leader-election")
    assert role["metadata"]["namespace"] == OPERATOR_NAMESPACE


def test_the_e2e_overlay_adds_the_apim_simulator_next_to_the_operator() -> None:
    objects = render_overlay("e2e")
    simulator = _pod_spec(objects, "apim-simulator")
    (container,) = simulator["containers"]
    assert container["image"] == "gravitee-operator-py-apim-simulator:e2e"
    assert container["args"] == ["--host", "0.0.0.0", "--port", "8083"]
    assert simulator["automountServiceAccountToken"] is False
    service = pick(objects, "Service", "apim-simulator")
    assert service["metadata"]["namespace"] == OPERATOR_NAMESPACE
    (port,) = service["spec"]["ports"]
    assert port["port"] == 8083
    assert {p["name"]: p["containerPort"] for p in container["ports"]}[port["targetPort"]] == 8083
    assert operator_container(objects)["image"] == "gravitee-operator-py:e2e"


@pytest.mark.parametrize("overlay", ["cluster", "namespaced", "ha"])
def test_real_installs_pin_the_operator_image_and_carry_no_simulator(overlay: str) -> None:
    objects = render_overlay(overlay)
    assert operator_container(objects)["image"] == "gravitee-operator-py:0.1.0"
    assert [d["metadata"]["name"] for d in of_kind(objects, "Deployment")] == [OPERATOR_NAME]
    for deployment in of_kind(objects, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert "simulator" not in container["image"]

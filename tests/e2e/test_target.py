"""Choosing the system under test from ``E2E_*`` variables (narrow unit tests, no I/O)."""

from __future__ import annotations

import pytest

from tests.e2e.target import TargetError, cluster_target, timeout_from, wanted, wanted_cluster

CLUSTER_ENV = {
    "E2E_TARGET": "cluster",
    "KUBECONFIG": "/tmp/k3d/kubeconfig",
    "E2E_APIM_URL": "http://127.0.0.1:41000/",
    "E2E_APIM_CLUSTER_URL": "http://apim-simulator.gravitee-operator.svc:8083",
    "E2E_METRICS_URL": "http://127.0.0.1:41001",
}


def test_local_unless_a_cluster_is_asked_for():
    assert wanted_cluster({}) is False
    # A KUBECONFIG alone never makes the suite write to someone's cluster.
    assert wanted_cluster({"KUBECONFIG": "/home/me/.kube/config"}) is False
    assert wanted_cluster({"E2E_TARGET": "cluster"}) is True
    with pytest.raises(TargetError, match="E2E_TARGET must be"):
        wanted_cluster({"E2E_TARGET": "k3d"})


def test_real_is_the_local_stack_around_the_test_api_server():
    assert wanted({}) == "local"
    assert wanted({"E2E_TARGET": " Real "}) == "real"
    assert wanted_cluster({"E2E_TARGET": "real"}) is False


def test_cluster_target_from_the_environment():
    target = cluster_target(CLUSTER_ENV)
    assert target.kubeconfig == "/tmp/k3d/kubeconfig"
    assert target.apim_url == "http://127.0.0.1:41000"
    assert target.apim_url_for_operator == "http://apim-simulator.gravitee-operator.svc:8083"
    assert target.metrics_url == "http://127.0.0.1:41001"
    assert target.external is True
    assert target.timeout == 90.0
    assert cluster_target({**CLUSTER_ENV, "E2E_TIMEOUT": "12.5"}).timeout == 12.5


def test_cluster_target_lists_every_missing_variable():
    env = {k: v for k, v in CLUSTER_ENV.items() if k not in ("E2E_APIM_URL", "E2E_METRICS_URL")}
    with pytest.raises(TargetError) as raised:
        cluster_target(env)
    assert "E2E_APIM_URL, E2E_METRICS_URL" in str(raised.value)


@pytest.mark.parametrize("raw", ["soon", "0", "-3"])
def test_bad_timeouts_are_refused(raw):
    with pytest.raises(TargetError, match="E2E_TIMEOUT"):
        timeout_from({"E2E_TIMEOUT": raw}, default=1.0)

"""Against the real kube-apiserver of `make testenv` (skipped without it, see real_server.py).

1. SECURE_METRICS: the operator, authenticated as its own identity with the shipped
   `gko-metrics-auth` rules, reviews scrapers' tokens with the real TokenReview and
   SubjectAccessReview: the operator user (bound here to the shipped `gko-metrics-reader`) gets
   200, the `nobody` user 403, no token 401. Without the review rights every scrape is 401.
2. The chart: `helm template` of the defaults and of every documented variant passes a
   server-side dry-run apply.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
import yaml
from kubernetes_asyncio.client import ApiClient

from controller.health import MetricsServer
from controller.kube.rest import KubeApiError, request_json
from controller.metrics_auth import MetricsAuth
from controller.servingcert import self_signed
from tests.controller.secure_metrics import scrape, serving
from tests.deploy.helm import CHART, EXAMPLES, example_files, requires_helm, run_helm
from tests.deploy.real_server import RealServer, real_server
from tests.deploy.rendering import KUBECTL, MANIFESTS, requires_kubectl

pytestmark = [pytest.mark.real_cluster]

__all__ = ["real_server"]  # the fixture

_COMPONENT = MANIFESTS / "components" / "secure-metrics"
_RBAC = "/apis/rbac.authorization.k8s.io/v1"


async def _username(admin: ApiClient, token: str) -> str:
    review = await request_json(admin, "POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                                body={"apiVersion": "authentication.k8s.io/v1",
                                      "kind": "TokenReview", "spec": {"token": token}})
    assert review["status"].get("authenticated"), "a test token is not authenticated"
    return str(review["status"]["user"]["username"])


async def _allowed(admin: ApiClient, user: str, attributes: dict[str, Any]) -> bool:
    kind = "nonResourceAttributes" if "path" in attributes else "resourceAttributes"
    review = await request_json(
        admin, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        body={"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": user, kind: attributes}})
    return bool(review["status"].get("allowed"))


async def _wait_allowed(admin: ApiClient, user: str, attributes: dict[str, Any],
                        timeout: float = 30.0) -> None:
    """RBAC changes reach the authorizer through its informers: wait until they have."""
    deadline = time.monotonic() + timeout
    while not await _allowed(admin, user, attributes):
        assert time.monotonic() < deadline, f"{user} still not allowed {attributes}"
        await asyncio.sleep(0.2)


class _Bindings:
    """ClusterRoles (the shipped rules, under test-unique names) bound to one user; deleted
    afterwards."""

    def __init__(self, admin: ApiClient, user: str) -> None:
        self.admin, self.user, self.suffix = admin, user, uuid.uuid4().hex[:8]
        self.names: list[str] = []

    async def bind(self, manifest: str) -> None:
        role = yaml.safe_load((_COMPONENT / manifest).read_text(encoding="utf-8"))
        name = f"{role['metadata']['name']}-test-{self.suffix}"
        await request_json(self.admin, "POST", f"{_RBAC}/clusterroles",
                           body={**role, "metadata": {"name": name}})
        self.names.append(name)
        await request_json(self.admin, "POST", f"{_RBAC}/clusterrolebindings", body={
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": self.user}],
        })

    async def delete(self) -> None:
        for name in self.names:
            for kind in ("clusterrolebindings", "clusterroles"):
                try:
                    await request_json(self.admin, "DELETE", f"{_RBAC}/{kind}/{name}")
                except KubeApiError as exc:
                    if not exc.not_found:
                        raise


@pytest_asyncio.fixture
async def clients(real_server: RealServer) -> AsyncIterator[tuple[ApiClient, ApiClient]]:
    async with real_server.client("admin") as admin, real_server.client("operator") as operator:
        yield admin, operator


def _secured(operator: ApiClient) -> MetricsServer:
    return MetricsServer(host="127.0.0.1", port=0, certificate=self_signed(),
                         auth=MetricsAuth(operator))


async def test_secured_metrics_with_the_real_reviews(
    real_server: RealServer, clients: tuple[ApiClient, ApiClient]
) -> None:
    admin, operator = clients
    user = await _username(admin, real_server.tokens["operator"])
    bindings = _Bindings(admin, user)
    try:
        await bindings.bind("auth-role.yaml")
        await bindings.bind("reader-role.yaml")
        for attributes in (
            {"verb": "create", "group": "authentication.k8s.io", "resource": "tokenreviews"},
            {"verb": "create", "group": "authorization.k8s.io",
             "resource": "subjectaccessreviews"},
            {"verb": "get", "path": "/metrics"},
        ):
            await _wait_allowed(admin, user, attributes)
        async with serving(_secured(operator)) as server:
            status, body = await scrape(server, real_server.tokens["operator"])
            assert status == 200, body
            assert "process_cpu_seconds_total" in body
            status, body = await scrape(server, real_server.tokens["nobody"])
            assert status == 403, body
            nobody = await _username(admin, real_server.tokens["nobody"])
            assert body.strip() == f"Authorization denied for user {nobody}"
            assert (await scrape(server, None))[0] == 401
            assert (await scrape(server, "not-a-token-" + uuid.uuid4().hex))[0] == 401
    finally:
        await bindings.delete()


async def test_without_the_review_rights_every_scrape_is_unauthorized(
    real_server: RealServer, clients: tuple[ApiClient, ApiClient]
) -> None:
    admin, operator = clients
    user = await _username(admin, real_server.tokens["operator"])
    if await _allowed(admin, user, {"verb": "create", "group": "authentication.k8s.io",
                                    "resource": "tokenreviews"}):
        pytest.skip(f"{user} may already create TokenReviews on this server")
    async with serving(_secured(operator)) as server:
        assert (await scrape(server, real_server.tokens["operator"]))[0] == 401


# ----------------------------------------------------------------------------- the chart


def _kubectl(real_server: RealServer, *args: str, stdin: str | None = None) -> (
    subprocess.CompletedProcess[str]
):
    assert KUBECTL is not None
    return subprocess.run([KUBECTL, "--kubeconfig", str(real_server.kubeconfig), *args],
                          input=stdin, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def dry_run_namespace(real_server: RealServer) -> Iterator[str]:
    """One namespace for every dry run (nothing is persisted in it). Without a
    controller-manager a deleted namespace stays Terminating, so one per module, not per test."""
    namespace = f"helm-dry-run-{uuid.uuid4().hex[:8]}"
    created = _kubectl(real_server, "create", "namespace", namespace)
    assert created.returncode == 0, created.stderr
    yield namespace
    _kubectl(real_server, "delete", "namespace", namespace, "--wait=false")


@requires_helm
@requires_kubectl
@pytest.mark.parametrize("values", [None, *example_files(), "webhook", "webhook-namespaced"])
def test_the_rendered_chart_passes_a_server_side_dry_run(real_server: RealServer,
                                                         dry_run_namespace: str,
                                                         values: str | None) -> None:
    webhook = {"webhook": ["--set", "manager.webhook.enabled=true"],
               "webhook-namespaced": ["--set", "manager.webhook.enabled=true",
                                      "--set", "manager.scope.cluster=false"]}
    args = webhook.get(values or "") or (["--values", str(EXAMPLES / values)] if values else [])
    rendered = run_helm("template", "gko", str(CHART), "--namespace", dry_run_namespace, *args)
    assert rendered.returncode == 0, rendered.stderr
    # The ServiceMonitor CRD (Prometheus Operator) is not installed on the test server.
    documents = [doc for doc in yaml.safe_load_all(rendered.stdout)
                 if doc and doc["kind"] != "ServiceMonitor"]
    # Cluster-scoped objects of the same names may already be installed by another manager
    # (the e2e suite's install on the same server): a dry run validates the objects, it does
    # not need to own their fields, hence --force-conflicts.
    applied = _kubectl(real_server, "apply", "--server-side", "--dry-run=server",
                       "--force-conflicts", "--field-manager=helm-dry-run", "-f", "-",
                       stdin=yaml.safe_dump_all(documents))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.count("serverside-applied (server dry run)") == len(documents), (
        applied.stdout)

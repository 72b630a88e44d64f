"""Contract-test fixtures: each test gets a target (the emulator, or the real cluster named by
KUBECONFIG when KUBEAPI_TARGET=real) with a fresh namespace and the test CRDs registered."""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import uuid
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import pytest_asyncio
import yaml
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.rest import ApiException

from sim.kubeapi.testing import RunningEmulator, start_emulator

DATA = pathlib.Path(__file__).parent / "data"
WIDGET_CRD = DATA / "widgets.yaml"
GROUP = "contract.kubeapi.test"
VERSION = "v1"
REAL = os.environ.get("KUBEAPI_TARGET") == "real"
KUBECTL = shutil.which("kubectl")
# Real clusters publish this ConfigMap in every namespace; the emulator does not.
ROOT_CA = "kube-root-ca.crt"
# `make test-real` runs a bare kube-apiserver (tools/testenv) and says so with this variable:
# no kube-controller-manager, so no garbage collector and no namespace controller.
NO_CONTROLLER_MANAGER = REAL and os.environ.get("KUBEAPI_CONTROLLER_MANAGER") == "absent"
needs_controller_manager = pytest.mark.skipif(
    NO_CONTROLLER_MANAGER,
    reason="needs kube-controller-manager (garbage collector / namespace controller), which the "
    "bare kube-apiserver of the test API server tier does not run",
)


@attrs.define
class KubectlResult:
    returncode: int
    stdout: str
    stderr: str


@attrs.define
class Target:
    """Where a contract test runs: kubeconfig, a client, and a namespace of its own."""

    kubeconfig: pathlib.Path
    api: k8s.ApiClient
    namespace: str
    cache_dir: pathlib.Path
    emulator: RunningEmulator | None = None

    # Typed as Any: kubernetes-asyncio's annotations reject plain-dict bodies and the
    # ``_content_type`` keyword that its runtime accepts and these tests rely on.
    @property
    def core(self) -> Any:
        return k8s.CoreV1Api(self.api)

    @property
    def custom(self) -> Any:
        return k8s.CustomObjectsApi(self.api)

    @property
    def emulated(self) -> bool:
        return self.emulator is not None

    async def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60
    ) -> KubectlResult:
        if KUBECTL is None:
            pytest.skip("kubectl is not installed")
        process = await asyncio.create_subprocess_exec(
            KUBECTL,
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache_dir),
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), timeout
        )
        result = KubectlResult(process.returncode or 0, out.decode(), err.decode())
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    async def configmap_names(self, namespace: str | None = None, **params: Any) -> list[str]:
        """ConfigMap names in a namespace, without the CA bundle real clusters add everywhere."""
        listed = await self.core.list_namespaced_config_map(namespace or self.namespace, **params)
        return [i.metadata.name for i in listed.items if i.metadata.name != ROOT_CA]

    def widget(self, name: str, **spec: Any) -> dict[str, Any]:
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Widget",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"color": "red", **spec},
        }

    async def create_widget(self, name: str, **spec: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "widgets", self.widget(name, **spec)
        )
        return result

    async def get_widget(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "widgets", name
        )
        return result


async def wait_for(predicate: Any, *, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll an async or sync predicate until it returns a truthy value, with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


WIDGET_CRD_DOCS = list(yaml.safe_load_all(WIDGET_CRD.read_text()))


async def register_crds(api: k8s.ApiClient, docs: list[dict[str, Any]]) -> None:
    ext: Any = k8s.ApiextensionsV1Api(api)
    for doc in docs:
        try:
            await ext.create_custom_resource_definition(doc)
        except ApiException as exc:
            if exc.status != 409:
                raise
        name = doc["metadata"]["name"]

        async def established(crd_name: str = name) -> bool:
            crd = await ext.read_custom_resource_definition(crd_name)
            conditions = (crd.status and crd.status.conditions) or []
            return any(c.type == "Established" and c.status == "True" for c in conditions)

        await wait_for(established, timeout=30)


@pytest_asyncio.fixture
async def target(tmp_path: pathlib.Path) -> AsyncIterator[Target]:
    namespace = f"contract-{uuid.uuid4().hex[:8]}"
    emulator: RunningEmulator | None = None
    if REAL:
        if not os.environ.get("KUBECONFIG"):
            pytest.fail("KUBEAPI_TARGET=real needs KUBECONFIG pointing at a real cluster")
        kubeconfig = pathlib.Path(os.environ["KUBECONFIG"].split(os.pathsep)[0])
        configuration = k8s.Configuration()
        await k8s_config.load_kube_config(
            config_file=str(kubeconfig), client_configuration=configuration
        )
    else:
        emulator = await start_emulator(kubeconfig_path=tmp_path / "kubeconfig")
        kubeconfig = emulator.kubeconfig
        configuration = k8s.Configuration(host=emulator.url)
    api = k8s.ApiClient(configuration=configuration)
    try:
        await register_crds(api, WIDGET_CRD_DOCS)
        core: Any = k8s.CoreV1Api(api)
        await core.create_namespace({"metadata": {"name": namespace}})
        yield Target(kubeconfig, api, namespace, tmp_path / "kubectl-cache", emulator)
    finally:
        if REAL:
            try:
                await k8s.CoreV1Api(api).delete_namespace(namespace)
            except ApiException:
                pass
        await api.close()
        if emulator is not None:
            await emulator.close()


@pytest.fixture
def emulator_only(target: Target) -> RunningEmulator:
    """The emulator behind ``target``; skips the test on a real cluster (fault injection etc.)."""
    if target.emulator is None:
        pytest.skip("emulator-only behaviour (fault injection / history size)")
    return target.emulator

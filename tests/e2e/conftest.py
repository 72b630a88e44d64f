"""Fixtures of the e2e suite: the system under test, and a namespace per test.

With ``E2E_TARGET=cluster`` the suite runs against the cluster and URLs the environment names
(``deploy/e2e/run.sh`` on k3d); otherwise it starts the emulator, the APIM simulator and the
operator as local subprocesses (``E2E_TARGET=real``: the test API server of ``make testenv`` in
place of the emulator, see ``testenv``), once for the whole package (and stops them after its last
test, so the rest of ``make test`` does not share the machine with them). Every test gets its
own namespace, emptied at the end through the operator (so deletions are part of what is
checked). When a test fails against the local stack, the tail of every process's log is
attached to its report.

Tests using these fixtures run on the package's event loop: their module sets
``pytestmark = pytest.mark.asyncio(loop_scope="package")``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Generator

import pytest
import pytest_asyncio

from tests.e2e import testenv
from tests.e2e.apim import Apim
from tests.e2e.kube import Cluster, wait_for
from tests.e2e.local_stack import LocalStack, local_stack
from tests.e2e.system import E2e
from tests.e2e.target import Target, cluster_target, wanted, wanted_cluster

# Dependants first: a context or resource deletion waits for the objects that use it.
CLEANUP_ORDER = (
    ("ApiDefinition", "ApiV4Definition", "Application"),
    ("ApiResource",),
    ("ManagementContext",),
)


_running: list[LocalStack] = []
"""The running local stack, if any, for failure reports."""


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def e2e(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[E2e]:
    if wanted_cluster():
        target = cluster_target()
        async for env in _connected(target, None):
            yield env
        return
    real: testenv.TestEnv | None = None
    if wanted() == "real":
        real = testenv.locate()
        await testenv.install(real)
    async with local_stack(tmp_path_factory.mktemp("e2e-stack"), real) as local:
        _running.append(local)
        try:
            async for env in _connected(local.target, local):
                yield env
        finally:
            _running.remove(local)


async def _connected(target: Target, local: LocalStack | None) -> AsyncIterator[E2e]:
    kube = await Cluster.connect(target.kubeconfig, timeout=target.timeout)
    apim = Apim.connect(target.apim_url)
    try:
        yield E2e(target=target, kube=kube, apim=apim, local=local)
    finally:
        await apim.close()
        await kube.close()


@pytest_asyncio.fixture(loop_scope="package")
async def ns(e2e: E2e) -> AsyncIterator[str]:
    """A fresh namespace; what the test left in it is deleted through the operator."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    await e2e.kube.create_namespace(name)
    yield name
    await _empty(e2e, name)
    await e2e.kube.delete_namespace(name)


async def _empty(e2e: E2e, namespace: str) -> None:
    for kinds in CLEANUP_ORDER:
        leftovers = [(kind, obj) for kind in kinds for obj in await e2e.kube.names(kind, namespace)]
        for kind, name in leftovers:
            await e2e.kube.delete(kind, name, namespace)
        for kind, name in leftovers:
            await e2e.kube.wait_gone(kind, name, namespace)

    async def no_custom_resources() -> bool:
        for group in CLEANUP_ORDER:
            for kind in group:
                if await e2e.kube.names(kind, namespace):
                    return False
        return True

    await wait_for(no_custom_resources, timeout=e2e.target.timeout,
                   what=f"namespace {namespace} to hold no custom resources")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and _running:
        report.sections.append(("local stack logs", _running[0].log_tails()))
    return report

"""Journey: the operator's ``/metrics``, scraped like Prometheus does, shows reconciles.

Self-contained: the test drives one object of each reconciled kind, then scrapes, and checks
that ``controller_runtime_reconcile_total{controller=...,result="success"}`` grew for every
controller it exercised, and that the work queues report their adds under the same names.
"""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e import manifests
from tests.e2e.kube import wait_for
from tests.e2e.system import E2e

pytestmark = pytest.mark.asyncio(loop_scope="package")

CONTROLLERS = ("managementcontext", "apidefinition", "apiv4definition", "apiresource",
               "application")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(metrics_url: str) -> Samples:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(f"{metrics_url}/metrics") as response,
    ):
        assert response.status == 200, await response.text()
        assert response.content_type == "text/plain"
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, metric: str, /, **labels: str) -> float:
    """The sum of the samples of ``metric`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (sample, found), value in samples.items()
               if sample == metric and wanted <= found)


def successes(samples: Samples, controller: str) -> float:
    return total(samples, "controller_runtime_reconcile_total",
                 controller=controller, result="success")


async def test_reconciles_per_controller_are_scraped(e2e: E2e, ns: str):
    kube = e2e.kube
    before = await scrape(e2e.target.metrics_url)

    await kube.create(manifests.management_context(
        "apim", base_url=e2e.target.apim_url_for_operator), ns)
    await kube.create(manifests.api_resource("cache", resource_name="cache"), ns)
    uses = [{"ref": {"name": "cache"}}]
    await kube.create(manifests.v2_api("metered-v2", context="apim", path=f"/{ns}/v2",
                                       resources=uses), ns)
    await kube.create(manifests.v4_api("metered-v4", context="apim", path=f"/{ns}/v4"), ns)
    await kube.create(manifests.application("metered-app", context="apim"), ns)
    for kind, name in (("ManagementContext", "apim"), ("ApiDefinition", "metered-v2"),
                       ("ApiV4Definition", "metered-v4"), ("Application", "metered-app")):
        await kube.wait_condition(kind, name, ns)
    await kube.wait_finalizer("ApiResource", "cache", ns, "finalizers.gravitee.io/apiresource")

    # The counter is incremented right after the status write the waits above observed.
    async def all_counted() -> Samples | None:
        after = await scrape(e2e.target.metrics_url)
        grown = all(successes(after, c) > successes(before, c) for c in CONTROLLERS)
        return after if grown else None

    after = await wait_for(all_counted, timeout=e2e.target.timeout,
                           what="a successful reconcile counted for every controller")
    for controller in CONTROLLERS:
        grown = successes(after, controller) - successes(before, controller)
        added = (total(after, "workqueue_adds_total", name=controller)
                 - total(before, "workqueue_adds_total", name=controller))
        assert added >= grown > 0, controller
        timed = (total(after, "controller_runtime_reconcile_time_seconds_count",
                       controller=controller)
                 - total(before, "controller_runtime_reconcile_time_seconds_count",
                         controller=controller))
        assert timed >= grown, controller

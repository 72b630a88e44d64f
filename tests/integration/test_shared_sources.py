"""Template sources shared by several objects: concurrent bookkeeping never fails a reconcile."""

import asyncio
import json

from controller.kube.kinds import API_V4_DEFINITIONS
from controller.kube.resources import CONFIG_MAPS
from tests.integration.harness import Env, configmap, context, v4_api


async def test_apis_sharing_a_template_configmap_all_converge_without_failures(env: Env):
    await env.create(context("apim", env.apim))
    await env.create(configmap("backends", {"target": "https://backend.team.svc/echo"}))
    names = [f"shared-{i}" for i in range(8)]
    apis = []
    for name in names:
        api = v4_api(name)
        endpoint = api["spec"]["endpointGroups"][0]["endpoints"][0]
        endpoint["configuration"]["target"] = "[[ configmap `backends/target` ]]"
        apis.append(api)
    await asyncio.gather(*(env.create(api) for api in apis))
    for name in names:
        await env.wait_condition(API_V4_DEFINITIONS, name, timeout=20)

    for name in names:
        reasons = await env.event_reasons(name)
        failed = [e["message"] for e in await env.events(name) if e["reason"] == "UpdateFailed"]
        assert "UpdateFailed" not in reasons, (name, reasons, failed)
        record = env.apim.state.api_by_hrid(f"team-{name}")
        assert record is not None
    source = await env.get(CONFIG_MAPS, "backends")
    annotations = source["metadata"]["annotations"]
    assert sorted(json.loads(annotations["gravitee.io/apiv4definitions"])) == sorted(
        f"team/{name}" for name in names
    )
    assert annotations["gravitee.io/references"] == str(len(names))
    assert "finalizers.gravitee.io/templating" in source["metadata"]["finalizers"]

"""Journey: a context and an API synced to APIM; stopped, started, moved, retargeted, deleted.

Run for both API kinds: ApiDefinition (v2, ``import-crd``, read back through the v1
Management API by id) and ApiV4Definition (Automation API, read back by HRID). After each
change the test waits for ``Accepted=True`` on the new generation, then checks APIM itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest

from tests.e2e import manifests
from tests.e2e.kube import wait_for
from tests.e2e.system import E2e

pytestmark = pytest.mark.asyncio(loop_scope="package")

Obj = dict[str, Any]


@attrs.frozen
class ApiKind:
    """How one API kind is written and how APIM shows it."""

    kind: str
    manifest: Callable[..., Obj]
    read: Callable[[E2e, Obj, str], Awaitable[Obj | None]]
    path_of: Callable[[Obj], str]
    target_of: Callable[[Obj], str]
    path_patch: Callable[[str, str], Obj]


async def _read_v2(e2e: E2e, api: Obj, namespace: str) -> Obj | None:
    return await e2e.apim.v2_api(api["status"]["id"])


async def _read_v4(e2e: E2e, api: Obj, namespace: str) -> Obj | None:
    return await e2e.apim.v4_api(f"{namespace}-{api['metadata']['name']}")


def _v2_patch(path: str, target: str) -> Obj:
    # A merge patch replaces lists whole: both lists are written out in full.
    return {"spec": {"proxy": {
        "virtual_hosts": [{"path": path}],
        "groups": [{"name": "default", "endpoints": [{"name": "default", "target": target}]}],
    }}}


def _v4_patch(path: str, target: str) -> Obj:
    return {"spec": {
        "listeners": [{"type": "HTTP", "paths": [{"path": path}],
                       "entrypoints": [{"type": "http-proxy"}]}],
        "endpointGroups": [{"name": "default", "type": "http-proxy", "endpoints": [{
            "name": "default", "type": "http-proxy", "inheritConfiguration": False,
            "configuration": {"target": target},
        }]}],
    }}


V2 = ApiKind(
    kind="ApiDefinition",
    manifest=manifests.v2_api,
    read=_read_v2,
    path_of=lambda remote: remote["proxy"]["virtual_hosts"][0]["path"],
    target_of=lambda remote: remote["proxy"]["groups"][0]["endpoints"][0]["target"],
    path_patch=_v2_patch,
)
V4 = ApiKind(
    kind="ApiV4Definition",
    manifest=manifests.v4_api,
    read=_read_v4,
    path_of=lambda remote: remote["listeners"][0]["paths"][0]["path"],
    target_of=lambda remote: remote["endpointGroups"][0]["endpoints"][0]["configuration"]["target"],
    path_patch=_v4_patch,
)


async def _remote(e2e: E2e, kind: ApiKind, api: Obj, ns: str, check: Callable[[Obj], bool],
                  what: str) -> Obj:
    """APIM's copy of ``api`` once ``check`` holds (APIM may lag the status by nothing, but a
    cluster's port-forward adds its own latency)."""

    async def probe() -> Obj | None:
        remote = await kind.read(e2e, api, ns)
        return remote if remote is not None and check(remote) else None

    return await wait_for(probe, timeout=e2e.target.timeout, what=what)


@pytest.mark.parametrize("kind", [V2, V4], ids=["v2", "v4"])
async def test_api_synced_stopped_started_moved_and_deleted(e2e: E2e, ns: str, kind: ApiKind):
    kube = e2e.kube
    await kube.create(manifests.management_context(
        "apim", base_url=e2e.target.apim_url_for_operator), ns)
    context = await kube.wait_condition("ManagementContext", "apim", ns)
    assert context["status"]["conditions"][0]["status"] == "True"

    # Paths are unique per namespace: every test of the session shares one APIM.
    path = f"/{ns}/petstore"
    await kube.create(kind.manifest("petstore", context="apim", path=path), ns)
    api = await kube.wait_condition(kind.kind, "petstore", ns)
    assert api["status"]["state"] == "STARTED"
    assert api["status"]["processingStatus"] == "Completed"
    remote = await _remote(e2e, kind, api, ns, lambda r: r["state"] == "STARTED", "API in APIM")
    assert remote["name"] == "petstore"
    assert kind.path_of(remote) == path
    assert kind.target_of(remote) == manifests.ECHO
    reasons = [e["reason"] for e in await kube.events("petstore", ns)]
    assert "UpdateSucceeded" in reasons

    # Stop, then start again: APIM follows the declared state.
    for state in ("STOPPED", "STARTED"):
        await kube.patch(kind.kind, "petstore", ns, {"spec": {"state": state}})
        api = await kube.wait_condition(kind.kind, "petstore", ns)
        assert api["status"]["state"] == state
        await _remote(e2e, kind, api, ns, lambda r, s=state: r["state"] == s,  # type: ignore[misc]
                      f"API {state} in APIM")

    # Move it and point it at another backend.
    new_path, new_target = f"/{ns}/petstore-v2", "https://backend.example.com/v2"
    await kube.patch(kind.kind, "petstore", ns, kind.path_patch(new_path, new_target))
    api = await kube.wait_condition(kind.kind, "petstore", ns)
    remote = await _remote(
        e2e, kind, api, ns,
        lambda r: kind.path_of(r) == new_path and kind.target_of(r) == new_target,
        "the new path and target in APIM")
    assert remote["state"] == "STARTED"

    # Delete it: gone from the cluster (finalizer released) and from APIM.
    await kube.delete(kind.kind, "petstore", ns)
    await kube.wait_gone(kind.kind, "petstore", ns)

    async def gone_from_apim() -> bool:
        return await kind.read(e2e, api, ns) is None

    await wait_for(gone_from_apim, timeout=e2e.target.timeout, what="API deleted in APIM")

    # Posted after the finalizer goes (as upstream does), so it may trail the object's removal.
    async def delete_succeeded() -> bool:
        return "DeleteSucceeded" in [e["reason"] for e in await kube.events("petstore", ns)]

    await wait_for(delete_succeeded, timeout=e2e.target.timeout, what="DeleteSucceeded Event")


async def test_api_re_created_after_deletion_is_synced_again(e2e: E2e, ns: str):
    """Upstream's recovery/re-apply scenario: the same manifest applied again after a delete
    reaches ``Accepted=True`` and one API is back in APIM under the same HRID and crossId."""
    kube, apim = e2e.kube, e2e.apim
    await kube.create(manifests.management_context(
        "apim", base_url=e2e.target.apim_url_for_operator), ns)
    manifest = manifests.v4_api("phoenix", context="apim", path=f"/{ns}/phoenix")
    await kube.create(manifest, ns)
    first = await kube.wait_condition("ApiV4Definition", "phoenix", ns)
    await kube.delete("ApiV4Definition", "phoenix", ns)
    await kube.wait_gone("ApiV4Definition", "phoenix", ns)
    assert await apim.v4_api(f"{ns}-phoenix") is None

    await kube.create(manifest, ns)
    second = await kube.wait_condition("ApiV4Definition", "phoenix", ns)
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    assert second["status"]["id"] == first["status"]["id"]
    assert second["status"]["crossId"] == first["status"]["crossId"]
    remote = await apim.v4_api(f"{ns}-phoenix")
    assert remote is not None
    assert (remote["id"], remote["state"]) == (first["status"]["id"], "STARTED")

"""The installs apply server-side, with kubectl, to the Kubernetes API emulator.

The emulator serves the kinds an operator touches (namespaces, ConfigMaps, Secrets, service
accounts, events, leases, CRDs) but not workloads, Services or RBAC; objects of kinds it does
not serve are left out and listed, so the test covers more as the emulator grows. A real
cluster (``make e2e``) applies everything.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import yaml

from sim.kubeapi.testing import RunningEmulator
from tests.deploy.rendering import (
    CRD_DIR,
    KUBECTL,
    OPERATOR_NAMESPACE,
    SERVICE_ACCOUNT,
    Manifest,
    crd_files,
    pick,
    render_overlay,
    requires_kubectl,
)

pytestmark = [pytest.mark.kubectl, requires_kubectl]

#: Kinds of our manifests the emulator does not serve (yet).
_KNOWN_UNSERVED = {
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("policy/v1", "PodDisruptionBudget"),
}


async def _kubectl(emulator: RunningEmulator, *args: str, stdin: str | None = None) -> str:
    assert KUBECTL is not None
    process = await asyncio.create_subprocess_exec(
        KUBECTL, "--kubeconfig", str(emulator.kubeconfig), *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), 60
    )
    assert process.returncode == 0, f"kubectl {' '.join(args)}: {err.decode()}"
    return out.decode()


async def _served(emulator: RunningEmulator) -> set[tuple[str, str]]:
    """(apiVersion, kind) of every resource the emulator's discovery lists."""
    served: set[tuple[str, str]] = set()
    async with aiohttp.ClientSession(emulator.url) as session:

        async def resources(path: str, api_version: str) -> None:
            async with session.get(path) as response:
                body = await response.json()
            for resource in body["resources"]:
                if "/" not in resource["name"]:
                    served.add((api_version, resource["kind"]))

        await resources("/api/v1", "v1")
        async with session.get("/apis") as response:
            groups = (await response.json())["groups"]
        for group in groups:
            for version in group["versions"]:
                await resources(f"/apis/{version['groupVersion']}", version["groupVersion"])
    return served


async def _apply(emulator: RunningEmulator, overlay: str) -> list[Manifest]:
    served = await _served(emulator)
    objects = render_overlay(overlay)
    applied = [o for o in objects if (o["apiVersion"], o["kind"]) in served]
    left_out = {(o["apiVersion"], o["kind"]) for o in objects} - served
    assert left_out <= _KNOWN_UNSERVED, f"unexpected kinds the emulator lacks: {left_out}"
    output = await _kubectl(
        emulator, "apply", "--server-side", "--field-manager=gravitee-install", "-f", "-",
        stdin=yaml.safe_dump_all(applied),
    )
    assert output.count("serverside-applied") == len(applied), output
    return applied


async def _get(emulator: RunningEmulator, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(await _kubectl(emulator, "get", *args, "-o", "json"))
    return result


@pytest.fixture
async def emulator_with_crds(kubeapi: RunningEmulator) -> RunningEmulator:
    if not crd_files():
        pytest.skip("manifests/crds/ is still empty: `make manifests` has not been run yet")
    output = await _kubectl(kubeapi, "apply", "--server-side", "-f", str(CRD_DIR))
    assert output.count("serverside-applied") == len(crd_files())
    return kubeapi


@pytest.mark.parametrize("overlay", ["cluster", "namespaced", "ha"])
async def test_an_install_applies_server_side(emulator_with_crds: RunningEmulator,
                                              overlay: str) -> None:
    applied = await _apply(emulator_with_crds, overlay)
    kinds = {obj["kind"] for obj in applied}
    assert {"Namespace", "ServiceAccount", "ConfigMap"} <= kinds
    expected = pick(render_overlay(overlay), "ConfigMap", "gko-config")["data"]
    config = await _get(emulator_with_crds, "-n", OPERATOR_NAMESPACE, "configmap", "gko-config")
    assert config["data"] == expected
    account = await _get(emulator_with_crds, "-n", OPERATOR_NAMESPACE, "serviceaccount",
                         SERVICE_ACCOUNT)
    assert account["metadata"]["name"] == SERVICE_ACCOUNT
    # Applying the same install again is a no-op that succeeds.
    await _apply(emulator_with_crds, overlay)


async def test_moving_from_cluster_to_ha_updates_the_config_in_place(
    emulator_with_crds: RunningEmulator,
) -> None:
    await _apply(emulator_with_crds, "cluster")
    await _apply(emulator_with_crds, "ha")
    config = await _get(emulator_with_crds, "-n", OPERATOR_NAMESPACE, "configmap", "gko-config")
    assert config["data"] == pick(render_overlay("ha"), "ConfigMap", "gko-config")["data"]
    assert config["data"]["ENABLE_LEADER_ELECTION"] == "true"


async def test_the_crds_are_served_after_the_install(
    emulator_with_crds: RunningEmulator,
) -> None:
    await _apply(emulator_with_crds, "cluster")
    names = await _kubectl(emulator_with_crds, "get", "crd", "-o", "name")
    for path in crd_files():
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert f"customresourcedefinition.apiextensions.k8s.io/{crd['metadata']['name']}" in names
    served = await _served(emulator_with_crds)
    assert ("gravitee.io/v1alpha1", "ApiV4Definition") in served

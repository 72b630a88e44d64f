"""Contract: kubectl drives the server (apply, server-side apply, get, get -w, wait, patch
--subresource=status, delete waiting on finalizers). Skipped where kubectl is absent."""

from __future__ import annotations

import asyncio
import json

import pytest
import yaml

from tests.sim.kubeapi.conftest import GROUP, KUBECTL, VERSION, Target, wait_for

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed"),
]
MERGE = "application/merge-patch+json"


def widget_yaml(target: Target, name: str, **spec: object) -> str:
    return yaml.safe_dump(target.widget(name, **spec))


async def spawn(target: Target, *args: str) -> asyncio.subprocess.Process:
    assert KUBECTL is not None
    return await asyncio.create_subprocess_exec(
        KUBECTL,
        "--kubeconfig",
        str(target.kubeconfig),
        "--cache-dir",
        str(target.cache_dir),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_apply_client_side_create_update_and_prune_field(target: Target):
    result = await target.kubectl(
        "apply", "-f", "-", stdin=widget_yaml(target, "w", size=2, tags=["a"])
    )
    assert "widget.contract.kubeapi.test/w created" in result.stdout
    result = await target.kubectl(
        "apply", "-f", "-", stdin=widget_yaml(target, "w", size=2, tags=["a"])
    )
    assert "unchanged" in result.stdout
    await target.kubectl("apply", "-f", "-", stdin=widget_yaml(target, "w", size=3))
    stored = await target.get_widget("w")
    assert stored["spec"]["size"] == 3
    assert "tags" not in stored["spec"]
    assert stored["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"]["annotations"]


async def test_apply_configmap_uses_strategic_merge(target: Target):
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": target.namespace},
        "data": {"a": "1", "b": "2"},
    }
    await target.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(cm))
    cm["data"] = {"a": "1", "c": "3"}
    await target.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(cm))
    stored = await target.core.read_namespaced_config_map("cm", target.namespace)
    assert stored.data == {"a": "1", "c": "3"}


async def test_apply_server_side(target: Target):
    result = await target.kubectl(
        "apply", "--server-side", "-f", "-", stdin=widget_yaml(target, "w", tags=["x"])
    )
    assert "serverside-applied" in result.stdout
    await target.kubectl(
        "apply", "--server-side", "-f", "-", stdin=widget_yaml(target, "w", size=7)
    )
    stored = await target.get_widget("w")
    assert stored["spec"]["size"] == 7
    assert "tags" not in stored["spec"]


async def test_get_prints_printer_columns(target: Target):
    await target.create_widget("w", size=4)
    await target.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        _content_type=MERGE,
    )
    result = await target.kubectl("get", "widgets", "-n", target.namespace)
    header, row = result.stdout.strip().splitlines()
    assert header.split() == ["NAME", "COLOR", "SIZE", "READY", "AGE"]
    assert row.split()[:4] == ["w", "red", "4", "True"]
    result = await target.kubectl("get", "wdg", "w", "-n", target.namespace, "-o", "json")
    assert json.loads(result.stdout)["spec"]["mode"] == "auto"
    result = await target.kubectl("get", "configmaps,secrets", "-n", target.namespace)
    assert result.returncode == 0


async def test_get_watch_streams_changes(target: Target):
    process = await spawn(target, "get", "widgets", "-n", target.namespace, "-w", "-o", "name")
    try:
        await target.create_widget("streamed")
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line.decode().strip() == "widget.contract.kubeapi.test/streamed"
    finally:
        process.kill()
        await process.wait()


async def test_get_watch_table_output(target: Target):
    await target.create_widget("first", size=2)
    process = await spawn(target, "get", "widgets", "-n", target.namespace, "-w")
    try:
        assert process.stdout is not None
        header = await asyncio.wait_for(process.stdout.readline(), 30)
        assert header.decode().split()[:3] == ["NAME", "COLOR", "SIZE"]
        first = await asyncio.wait_for(process.stdout.readline(), 30)
        assert first.decode().split()[:3] == ["first", "red", "2"]
        await target.create_widget("second", color="blue")
        second = await asyncio.wait_for(process.stdout.readline(), 30)
        assert second.decode().split()[:3] == ["second", "blue", "1"]
    finally:
        process.kill()
        await process.wait()


async def test_wait_for_condition(target: Target):
    await target.create_widget("w")
    process = await spawn(
        target,
        "wait",
        "--for=condition=Ready",
        "widget/w",
        "-n",
        target.namespace,
        "--timeout=60s",
    )
    await asyncio.sleep(0)  # let kubectl start; the assertion below does not depend on timing
    await target.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        _content_type=MERGE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "condition met" in out.decode()


async def test_patch_status_subresource(target: Target):
    await target.create_widget("w")
    await target.kubectl(
        "patch",
        "widget",
        "w",
        "-n",
        target.namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"phase": "Patched"}, "spec": {"color": "blue"}}),
    )
    stored = await target.get_widget("w")
    assert stored["status"]["phase"] == "Patched"
    assert stored["spec"]["color"] == "red"


async def test_delete_waits_on_finalizers(target: Target):
    body = target.widget("w")
    body["metadata"]["finalizers"] = ["contract.kubeapi.test/hold"]
    await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", body
    )
    process = await spawn(target, "delete", "widget", "w", "-n", target.namespace, "--timeout=60s")

    async def marked() -> bool:
        return bool((await target.get_widget("w"))["metadata"].get("deletionTimestamp"))

    await wait_for(marked, timeout=30)
    assert process.returncode is None  # still waiting on the finalizer
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w",
        {"metadata": {"finalizers": None}},
        _content_type=MERGE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "deleted" in out.decode()


async def test_invalid_object_reports_field_path(target: Target):
    result = await target.kubectl(
        "apply", "-f", "-", stdin=widget_yaml(target, "w", color="purple"), check=False
    )
    assert result.returncode != 0
    assert "spec.color" in result.stderr
    assert "Unsupported value" in result.stderr


async def test_imperative_create_of_builtin_kinds(target: Target):
    # kubectl sends these bodies as protobuf.
    ns = f"{target.namespace}-made"
    await target.kubectl("create", "namespace", ns)
    try:
        await target.kubectl(
            "create", "configmap", "lit", "-n", ns, "--from-literal=a=b", "--from-literal=c=d"
        )
        await target.kubectl(
            "create", "secret", "generic", "s1", "-n", ns, "--from-literal=password=hunter2"
        )
        await target.kubectl("create", "serviceaccount", "robot", "-n", ns)
        cm = await target.core.read_namespaced_config_map("lit", ns)
        assert cm.data == {"a": "b", "c": "d"}
        secret = await target.core.read_namespaced_secret("s1", ns)
        assert secret.data == {"password": "aHVudGVyMg=="}
        assert secret.type == "Opaque"
        assert (await target.core.read_namespaced_service_account("robot", ns)).metadata.name
        namespace = await target.core.read_namespace(ns)
        assert namespace.status.phase == "Active"
    finally:
        await target.kubectl("delete", "namespace", ns, "--wait=false")


async def test_strict_field_validation_rejects_unknown_fields(target: Target):
    result = await target.kubectl(
        "apply", "-f", "-", stdin=widget_yaml(target, "w", bogus="x"), check=False
    )
    assert result.returncode != 0
    assert 'strict decoding error: unknown field "spec.bogus"' in result.stderr
    # Without validation the server prunes the field instead.
    await target.kubectl(
        "apply", "--validate=false", "-f", "-", stdin=widget_yaml(target, "w", bogus="x")
    )
    assert "bogus" not in (await target.get_widget("w"))["spec"]


async def test_explain_reads_crd_schema(target: Target):
    result = await target.kubectl("explain", "widgets.spec.color")
    assert "KIND:       Widget" in result.stdout
    for value in ("red", "green", "blue"):
        assert value in result.stdout

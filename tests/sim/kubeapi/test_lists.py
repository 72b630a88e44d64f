"""Contract: list resourceVersion, label/field selectors, limit/continue, deletecollection."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio.client.rest import ApiException

from tests.sim.kubeapi.conftest import (
    GROUP,
    ROOT_CA,
    VERSION,
    Target,
    needs_controller_manager,
    wait_for,
)


async def _configmaps(target: Target, count: int) -> None:
    for i in range(count):
        await target.core.create_namespaced_config_map(
            target.namespace,
            {
                "metadata": {
                    "name": f"cm-{i:02d}",
                    "labels": {"parity": "even" if i % 2 == 0 else "odd", "n": str(i)},
                }
            },
        )


async def test_list_has_resource_version_and_items(target: Target):
    await _configmaps(target, 3)
    listed = await target.core.list_namespaced_config_map(target.namespace)
    assert int(listed.metadata.resource_version) > 0
    assert await target.configmap_names() == ["cm-00", "cm-01", "cm-02"]


async def test_label_selectors(target: Target):
    await _configmaps(target, 6)

    async def names(selector: str) -> list[str]:
        return await target.configmap_names(label_selector=selector)

    assert await names("parity=even") == ["cm-00", "cm-02", "cm-04"]
    assert await names("parity!=even") == ["cm-01", "cm-03", "cm-05"]
    assert await names("n in (1,4)") == ["cm-01", "cm-04"]
    assert await names("n notin (0,1,2,3),parity=odd") == ["cm-05"]
    assert await names("parity") == [f"cm-{i:02d}" for i in range(6)]
    assert await names("!parity") == []


async def test_field_selectors(target: Target):
    await _configmaps(target, 3)
    listed = await target.core.list_namespaced_config_map(
        target.namespace, field_selector="metadata.name=cm-01"
    )
    assert [i.metadata.name for i in listed.items] == ["cm-01"]
    listed = await target.core.list_config_map_for_all_namespaces(
        field_selector=f"metadata.namespace={target.namespace},metadata.name!=cm-01"
    )
    assert [i.metadata.name for i in listed.items if i.metadata.name != ROOT_CA] == [
        "cm-00",
        "cm-02",
    ]


async def test_limit_and_continue(target: Target):
    await _configmaps(target, 5)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = await target.core.list_namespaced_config_map(
            target.namespace, limit=2, _continue=token, label_selector="parity"
        )
        pages += 1
        seen.extend(i.metadata.name for i in page.items)
        token = page.metadata._continue
        if not token:
            break
    assert seen == [f"cm-{i:02d}" for i in range(5)]
    assert pages == 3


async def test_delete_collection(target: Target):
    await _configmaps(target, 4)
    await target.core.delete_collection_namespaced_config_map(
        target.namespace, label_selector="parity=even"
    )
    assert await target.configmap_names() == ["cm-01", "cm-03"]


async def test_custom_objects_across_namespaces(target: Target):
    await target.create_widget("w1")
    listed = await target.custom.list_cluster_custom_object(GROUP, VERSION, "widgets")
    assert (target.namespace, "w1") in [
        (i["metadata"]["namespace"], i["metadata"]["name"]) for i in listed["items"]
    ]
    assert listed["kind"] == "WidgetList"


@needs_controller_manager
async def test_owner_garbage_collection(target: Target):
    owner = await target.create_widget("owner")
    ref = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    await target.core.create_namespaced_config_map(
        target.namespace, {"metadata": {"name": "owned", "ownerReferences": [ref]}}
    )
    await target.core.create_namespaced_config_map(target.namespace, {"metadata": {"name": "free"}})
    await target.custom.delete_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "owner"
    )

    async def collected() -> bool:
        names = await target.configmap_names()
        return "owned" not in names and "free" in names

    await wait_for(collected, timeout=30)


@needs_controller_manager
async def test_orphan_propagation_keeps_dependents(target: Target):
    owner = await target.create_widget("owner")
    ref = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    await target.core.create_namespaced_config_map(
        target.namespace, {"metadata": {"name": "owned", "ownerReferences": [ref]}}
    )
    await target.custom.delete_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "owner", propagation_policy="Orphan"
    )

    async def orphaned() -> bool:
        cm = await target.core.read_namespaced_config_map("owned", target.namespace)
        return not cm.metadata.owner_references

    await wait_for(orphaned, timeout=30)


@needs_controller_manager
async def test_namespace_deletion_removes_contents(target: Target):
    ns = f"{target.namespace}-doomed"
    await target.core.create_namespace({"metadata": {"name": ns}})
    await target.core.create_namespaced_config_map(ns, {"metadata": {"name": "x"}})
    await target.custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        "widgets",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"color": "red"},
        },
    )
    await target.core.delete_namespace(ns)

    async def gone() -> bool:
        listed = await target.core.list_namespace(field_selector=f"metadata.name={ns}")
        return not listed.items

    await wait_for(gone, timeout=60)


@needs_controller_manager
async def test_dependent_of_missing_owner_is_collected(target: Target):
    ref = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "name": "ghost",
        "uid": "6a1f9c52-0000-4000-8000-000000000000",
    }
    await target.core.create_namespaced_config_map(
        target.namespace, {"metadata": {"name": "dangling", "ownerReferences": [ref]}}
    )

    async def collected() -> bool:
        return "dangling" not in await target.configmap_names()

    await wait_for(collected, timeout=60)


async def test_server_dry_run_stores_nothing(target: Target):
    created = await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", target.widget("dry"), dry_run="All"
    )
    assert created["spec"]["size"] == 1
    listed = await target.custom.list_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets"
    )
    assert listed["items"] == []


@needs_controller_manager
async def test_namespace_waits_for_finalized_contents(target: Target):
    ns = f"{target.namespace}-held"
    await target.core.create_namespace({"metadata": {"name": ns}})
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": "held", "finalizers": ["contract.kubeapi.test/hold"]},
        "spec": {"color": "red"},
    }
    await target.custom.create_namespaced_custom_object(GROUP, VERSION, ns, "widgets", body)
    await target.core.delete_namespace(ns)

    async def widget_marked() -> bool:
        obj = await target.custom.get_namespaced_custom_object(
            GROUP, VERSION, ns, "widgets", "held"
        )
        return bool(obj["metadata"].get("deletionTimestamp"))

    await wait_for(widget_marked, timeout=60)
    namespace = await target.core.read_namespace(ns)
    assert namespace.status.phase == "Terminating"
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        "widgets",
        "held",
        {"metadata": {"finalizers": None}},
        _content_type="application/merge-patch+json",
    )

    async def namespace_gone() -> bool:
        listed = await target.core.list_namespace(field_selector=f"metadata.name={ns}")
        return not listed.items

    await wait_for(namespace_gone, timeout=60)


@needs_controller_manager
async def test_foreground_deletion_removes_dependents_first(target: Target):
    owner = await target.create_widget("owner")
    ref = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": True,
    }
    await target.core.create_namespaced_config_map(
        target.namespace, {"metadata": {"name": "dep", "ownerReferences": [ref]}}
    )
    marked = await target.custom.delete_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "owner", propagation_policy="Foreground"
    )
    if marked.get("kind") == "Widget":
        assert "foregroundDeletion" in marked["metadata"]["finalizers"]

    async def all_gone() -> bool:
        cms = await target.configmap_names()
        widgets = await target.custom.list_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets"
        )
        return not cms and not widgets["items"]

    await wait_for(all_gone, timeout=60)


@pytest.mark.parametrize(("policy", "finalizer"), [("Orphan", "orphan"),
                                                   ("Foreground", "foregroundDeletion")])
async def test_propagation_policy_marks_the_owner(target: Target, policy: str, finalizer: str):
    # The API server's half of orphan/foreground deletion (the garbage collector does the rest):
    # the owner is not removed but marked, with the policy's finalizer, and the delete answers
    # the marked object.
    owner = await target.create_widget("owner")
    ref = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    await target.core.create_namespaced_config_map(
        target.namespace, {"metadata": {"name": "dep", "ownerReferences": [ref]}}
    )
    marked = await target.custom.delete_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "owner", propagation_policy=policy
    )
    assert marked["kind"] == "Widget"
    assert marked["metadata"]["deletionTimestamp"]
    assert finalizer in marked["metadata"]["finalizers"]


async def test_namespace_deletion_marks_it_terminating(target: Target):
    # The API server's half of namespace deletion (the namespace controller empties it): the
    # namespace is marked at once and refuses new objects; it is not removed while it holds one.
    ns = f"{target.namespace}-marked"
    await target.core.create_namespace({"metadata": {"name": ns}})
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": "held", "finalizers": ["contract.kubeapi.test/hold"]},
        "spec": {"color": "red"},
    }
    await target.custom.create_namespaced_custom_object(GROUP, VERSION, ns, "widgets", body)
    # Raw: the client would decode the answer as a Status, but it is the marked Namespace.
    response = await target.core.delete_namespace(ns, _preload_content=False)
    deleted = json.loads(await response.read())
    assert deleted["kind"] == "Namespace"
    assert deleted["metadata"]["deletionTimestamp"]
    assert deleted["status"]["phase"] == "Terminating"
    assert deleted["spec"]["finalizers"] == ["kubernetes"]
    with pytest.raises(ApiException) as info:
        await target.core.create_namespaced_config_map(ns, {"metadata": {"name": "late"}})
    assert info.value.status == 403
    assert "because it is being terminated" in json.loads(info.value.body or b"{}")["message"]
    assert (await target.core.read_namespace(ns)).status.phase == "Terminating"
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        "widgets",
        "held",
        {"metadata": {"finalizers": None}},
        _content_type="application/merge-patch+json",
    )

"""Reading and patching single objects: get, metadata (finalizers, annotations, labels), status.

This module owns the patch shapes the reconcilers use so that each reconcile writes at most one
metadata patch and one status patch: JSON merge patches (``application/merge-patch+json``;
kubernetes-asyncio would otherwise send a strategic merge patch, which custom resources reject),
optionally pinned to a ``resourceVersion`` so a concurrent change makes the write fail with 409
instead of being overwritten.

It must never decide *what* to write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubernetes_asyncio.client import ApiClient

from controller.kube.resources import ResourceKind
from controller.kube.rest import MERGE_PATCH, KubeApiError, request_json

KubeObject = dict[str, Any]


async def get_object(
    api_client: ApiClient, kind: ResourceKind, namespace: str | None, name: str
) -> KubeObject | None:
    """The object, or None when it does not exist (uncached read)."""
    try:
        obj: KubeObject = await request_json(
            api_client, "GET", kind.object_path(namespace, name)
        )
    except KubeApiError as exc:
        if exc.not_found:
            return None
        raise
    return obj


async def patch_metadata(
    api_client: ApiClient,
    kind: ResourceKind,
    namespace: str | None,
    name: str,
    *,
    finalizers: Sequence[str] | None = None,
    annotations: Mapping[str, str | None] | None = None,
    labels: Mapping[str, str | None] | None = None,
    resource_version: str | None = None,
) -> KubeObject:
    """Merge-patch metadata. ``finalizers`` replaces the whole list (pin ``resource_version``
    to avoid dropping someone else's); a ``None`` annotation/label value removes the key."""
    metadata: dict[str, Any] = {}
    if finalizers is not None:
        metadata["finalizers"] = list(finalizers)
    if annotations is not None:
        metadata["annotations"] = dict(annotations)
    if labels is not None:
        metadata["labels"] = dict(labels)
    if resource_version:
        metadata["resourceVersion"] = resource_version
    obj: KubeObject = await request_json(
        api_client, "PATCH", kind.object_path(namespace, name),
        body={"metadata": metadata}, content_type=MERGE_PATCH,
    )
    return obj


async def patch_status(
    api_client: ApiClient,
    kind: ResourceKind,
    namespace: str | None,
    name: str,
    status: Mapping[str, Any],
    *,
    resource_version: str | None = None,
) -> KubeObject:
    """Merge-patch the ``status`` subresource (keys set to None are removed)."""
    body: dict[str, Any] = {"status": dict(status)}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    obj: KubeObject = await request_json(
        api_client, "PATCH", kind.object_path(namespace, name, "status"),
        body=body, content_type=MERGE_PATCH,
    )
    return obj

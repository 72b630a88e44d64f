"""The one place where finalizers and the ``gravitee.io/last-spec-hash`` stamp are written.

Every finalizer change is pinned to the ``resourceVersion`` the decision was made on: a merge
patch replaces the whole finalizer list, so an unpinned write could drop a finalizer another
controller added meanwhile (the write fails with 409 instead and the reconcile is retried). A
write that only stamps a hash needs no pin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio.client import ApiClient

from controller.keys import ObjectKey
from controller.kube.objects import patch_metadata
from controller.kube.resources import ResourceKind
from controller.kube.rest import KubeApiError

KubeObject = dict[str, Any]


def finalizers_of(obj: Mapping[str, Any]) -> list[str]:
    return list((obj.get("metadata") or {}).get("finalizers") or [])


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def resource_version_of(obj: Mapping[str, Any]) -> str | None:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "") or None


async def write_metadata(
    api: ApiClient,
    kind: ResourceKind,
    obj: Mapping[str, Any],
    *,
    finalizers: list[str] | None = None,
    annotations: Mapping[str, str | None] | None = None,
) -> KubeObject:
    """Patch ``obj``'s finalizers (pinned) and/or annotations; returns the patched object."""
    key = ObjectKey.of(obj)
    return await patch_metadata(
        api,
        kind,
        key.namespace or None,
        key.name,
        finalizers=finalizers,
        annotations=annotations,
        resource_version=resource_version_of(obj) if finalizers is not None else None,
    )


async def stamp(
    api: ApiClient,
    kind: ResourceKind,
    obj: KubeObject,
    *,
    finalizer: str,
    annotations: Mapping[str, str],
) -> KubeObject:
    """Make sure ``obj`` carries ``finalizer`` and ``annotations`` (the spec hash among them);
    one write at most, none when everything is there already."""
    finalizers = finalizers_of(obj)
    add_finalizer = finalizer not in finalizers
    current = annotations_of(obj)
    changed = {k: value for k, value in annotations.items() if current.get(k) != value}
    if not add_finalizer and not changed:
        return obj
    return await write_metadata(
        api,
        kind,
        obj,
        finalizers=[*finalizers, finalizer] if add_finalizer else None,
        annotations=changed or None,
    )


async def write_changed_annotations(
    api: ApiClient, kind: ResourceKind, obj: KubeObject, annotations: Mapping[str, str]
) -> KubeObject:
    """Write the ``annotations`` that differ from ``obj``'s; no write when none does."""
    current = annotations_of(obj)
    changed = {k: value for k, value in annotations.items() if current.get(k) != value}
    if not changed:
        return obj
    return await write_metadata(api, kind, obj, annotations=changed)


async def remove_finalizer(
    api: ApiClient, kind: ResourceKind, obj: KubeObject, finalizer: str
) -> None:
    """Drop ``finalizer`` (pinned); an object already gone is fine, any other error is raised
    so the deletion is retried rather than left hanging."""
    finalizers = finalizers_of(obj)
    if finalizer not in finalizers:
        return
    try:
        await write_metadata(api, kind, obj, finalizers=[f for f in finalizers if f != finalizer])
    except KubeApiError as error:
        if not error.not_found:
            raise

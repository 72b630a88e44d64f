"""Helpers for the ManagementContext, Application and templating integration tests.

Owns what those tests share beyond ``harness.py``: waiting until the operator has seen a write
and gone idle (the positive signal before any "nothing happened" assertion), reading the
informer caches, seeding objects before the operator starts (legacy objects an older operator
left behind), generating client certificates, and scanning objects for leaked credentials.
It never edits the harness or talks to anything but the loopback emulator and simulator.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
from collections.abc import Iterable
from typing import Any

import trustme

from controller.keys import ObjectKey
from controller.kube.client import connect
from controller.kube.resources import ResourceKind
from controller.kube.rest import KubeApiError, request_json
from controller.reconcilers.framework import conditions as cond
from sim.apim.requestlog import LoggedRequest
from sim.kubeapi.testing import RunningEmulator
from tests.integration.harness import CRDS, NAMESPACE, Env, kind_of, wait_for, wait_idle

AUTOMATION = "/automation/organizations/DEFAULT/environments/DEFAULT"
APPLICATIONS_PATH = f"{AUTOMATION}/applications"
APIS_V4_PATH = f"{AUTOMATION}/apis"
IMPORT_CRD_PATH = "/management/organizations/DEFAULT/environments/DEFAULT/apis/import-crd"
V2_ENV_PATH = "/management/v2/organizations/DEFAULT/environments/DEFAULT"


# -- the operator's caches and queues --------------------------------------------------------


def cached(env: Env, kind: ResourceKind, name: str) -> dict[str, Any] | None:
    """The object as the operator's informer currently sees it."""
    store = env.manager.informers.informer_for(kind).store
    obj: dict[str, Any] | None = store.get(ObjectKey(env.namespace, name))
    return obj


async def wait_seen(env: Env, obj: dict[str, Any], *, timeout: float = 5.0) -> None:
    """Wait until the informer holds ``obj``'s resourceVersion (or a later write).

    Informers enqueue in the same step as they update their store, so once this returns every
    reconcile the write triggers has been queued.
    """
    kind = kind_of(obj)
    name = obj["metadata"]["name"]
    wanted = int(obj["metadata"]["resourceVersion"])

    async def probe() -> bool:
        current = cached(env, kind, name)
        return current is not None and int(current["metadata"]["resourceVersion"]) >= wanted

    await wait_for(probe, timeout=timeout, what=f"informer to see {kind.kind} {name}@{wanted}")


def _idle(env: Env) -> bool:
    return all(
        len(c.queue) == 0 and c.queue.processing == 0 and c.queue.waiting == 0
        for c in env.manager.controllers
    )


async def settle(env: Env, *writes: dict[str, Any], timeout: float = 5.0) -> None:
    """The positive signal before asserting an absence: the informers saw ``writes`` and
    every reconcile they triggered has finished."""
    for obj in writes:
        await wait_seen(env, obj, timeout=timeout)
    await wait_idle(env, timeout=timeout)


# -- objects -------------------------------------------------------------------------------


def finalizers(obj: dict[str, Any] | None) -> list[str]:
    return list(((obj or {}).get("metadata") or {}).get("finalizers") or [])


def annotations_of(obj: dict[str, Any] | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("annotations") or {})


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    found = cond.find(((obj.get("status") or {}).get("conditions")) or [], type_)
    return dict(found) if found is not None else None


async def wait_object(
    env: Env,
    kind: ResourceKind,
    name: str,
    predicate: Any,
    *,
    timeout: float = 10.0,
    what: str = "object state",
    namespace: str | None = None,
) -> dict[str, Any]:
    """Poll the API server until ``predicate(obj)`` holds; returns the object."""

    async def probe() -> dict[str, Any] | None:
        obj = await env.get(kind, name, namespace)
        return obj if obj is not None and predicate(obj) else None

    try:
        result: dict[str, Any] = await wait_for(probe, timeout=timeout, what=what)
    except AssertionError:
        last = await env.get(kind, name, namespace)
        raise AssertionError(
            f"{kind.kind} {name}: timed out waiting for {what}; last metadata/status: "
            f"{(last or {}).get('metadata')} {(last or {}).get('status')}"
        ) from None
    return result


async def create_namespace(env: Env, name: str) -> None:
    with contextlib.suppress(KubeApiError):
        await request_json(env.api, "POST", "/api/v1/namespaces", body={"metadata": {"name": name}})


async def patch_status(env: Env, kind: ResourceKind, name: str, status: dict[str, Any]) -> Any:
    return await request_json(
        env.api,
        "PATCH",
        kind.object_path(env.namespace, name, "status"),
        body={"status": status},
        content_type="application/merge-patch+json",
    )


async def wait_request(
    env: Env,
    *,
    method: str,
    path: str,
    since: int,
    body_field: tuple[str, Any] | None = None,
    timeout: float = 10.0,
) -> LoggedRequest:
    """The first APIM request after ``since`` matching method/path (and a top-level body field)."""

    def matches(entry: LoggedRequest) -> bool:
        if entry.method != method or entry.path != path:
            return False
        if body_field is None:
            return True
        body = entry.body
        return isinstance(body, dict) and body.get(body_field[0]) == body_field[1]

    return await env.apim.requests.wait_for(matches, timeout=timeout, since=since)


def app_puts(env: Env, *, since: int = 0, name: str | None = None) -> list[LoggedRequest]:
    return [
        e
        for e in env.apim.requests.find(method="PUT", path=APPLICATIONS_PATH, since=since)
        if name is None or (isinstance(e.body, dict) and e.body.get("name") == name)
    ]


# -- seeding objects before the operator starts ----------------------------------------------


async def seed(
    kube: RunningEmulator,
    objects: Iterable[dict[str, Any]],
    *,
    statuses: dict[str, dict[str, Any]] | None = None,
    namespace: str = NAMESPACE,
) -> None:
    """Create ``objects`` (and set the ``status`` of those named in ``statuses``) with no
    operator running: how an older operator's objects look at our first start."""
    await kube.apply_crd_files(CRDS)
    api = await connect(kubeconfig=str(kube.kubeconfig))
    try:
        with contextlib.suppress(KubeApiError):
            await request_json(
                api, "POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}}
            )
        for obj in objects:
            kind = kind_of(obj)
            body = json.loads(json.dumps(obj))
            body["metadata"].setdefault("namespace", namespace)
            await request_json(api, "POST", kind.collection_path(namespace), body=body)
            status = (statuses or {}).get(obj["metadata"]["name"])
            if status is not None:
                await request_json(
                    api,
                    "PATCH",
                    kind.object_path(namespace, obj["metadata"]["name"], "status"),
                    body={"status": status},
                    content_type="application/merge-patch+json",
                )
    finally:
        await api.close()


async def patch_offline(
    kube: RunningEmulator,
    kind: ResourceKind,
    name: str,
    body: dict[str, Any],
    *,
    namespace: str = NAMESPACE,
) -> None:
    """Merge-patch an object while no operator runs."""
    api = await connect(kubeconfig=str(kube.kubeconfig))
    try:
        await request_json(
            api,
            "PATCH",
            kind.object_path(namespace, name),
            body=body,
            content_type="application/merge-patch+json",
        )
    finally:
        await api.close()


# -- credentials and certificates --------------------------------------------------------------


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens (the port was bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def leaks(value: Any, secret: str) -> list[str]:
    """Paths inside ``value`` (status, events...) whose text contains ``secret``, also when
    base64-encoded."""
    encoded = base64.b64encode(secret.encode()).decode()
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, item in node.items():
                walk(item, f"{path}.{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}[{index}]")
        elif isinstance(node, str) and (secret in node or encoded in node):
            found.append(path)

    walk(value, "")
    return found


def client_certificate_pem(common_name: str) -> str:
    """A fresh (non-CA) client certificate issued by a throw-away test CA, PEM-encoded."""
    authority = trustme.CA(key_type=trustme.KeyType.ECDSA)
    issued = authority.issue_cert(common_name, key_type=trustme.KeyType.ECDSA)
    pem: str = issued.cert_chain_pems[0].bytes().decode()
    return pem

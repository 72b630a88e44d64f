"""The operator in-process against the Kubernetes API emulator and the APIM simulator.

Everything goes over loopback HTTP exactly as in a cluster: the operator's informers watch the
emulator, its reconcilers call the simulator. Tests drive it by writing objects to the emulator
and wait on conditions with deadlines (``wait_for``), never on sleeps.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
from kubernetes_asyncio.client import ApiClient

from controller.config import DriftSettings, LogSettings, Settings
from controller.kube.client import connect
from controller.kube.kinds import (
    API_DEFINITIONS,
    API_RESOURCES,
    API_V4_DEFINITIONS,
    APPLICATIONS,
    DICTIONARIES,
    DOCUMENTATIONS,
    GROUPS,
    INGRESSES,
    MANAGEMENT_CONTEXTS,
    NOTIFICATIONS,
    PORTAL_LINKS,
    PORTAL_LISTINGS,
    PORTALS,
    SERVICES,
    SHARED_POLICY_GROUPS,
    SUBSCRIPTIONS,
)
from controller.kube.resources import CONFIG_MAPS, EVENTS, SECRETS, ResourceKind
from controller.kube.rest import MERGE_PATCH, KubeApiError, request_json
from controller.logging import ensure_logging_configured
from controller.manager import Manager, ManagerOptions
from controller.reconcilers.framework import conditions as cond
from controller.wiring import WiringContext, build_controllers
from sim.apim.testing import RunningSimulator
from sim.kubeapi.testing import RunningEmulator

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "manifests" / "crds"
NAMESPACE = "team"

KINDS: dict[str, ResourceKind] = {
    "ManagementContext": MANAGEMENT_CONTEXTS,
    "ApiDefinition": API_DEFINITIONS,
    "ApiV4Definition": API_V4_DEFINITIONS,
    "ApiResource": API_RESOURCES,
    "Application": APPLICATIONS,
    "Group": GROUPS,
    "Notification": NOTIFICATIONS,
    "Dictionary": DICTIONARIES,
    "Portal": PORTALS,
    "PortalListing": PORTAL_LISTINGS,
    "PortalLink": PORTAL_LINKS,
    "Documentation": DOCUMENTATIONS,
    "SharedPolicyGroup": SHARED_POLICY_GROUPS,
    "Subscription": SUBSCRIPTIONS,
    "Secret": SECRETS,
    "ConfigMap": CONFIG_MAPS,
    "Ingress": INGRESSES,
    "Service": SERVICES,
}

T = TypeVar("T")
OPTIONS = ManagerOptions(bind_host="127.0.0.1", handle_signals=False, shutdown_timeout=5.0)


async def wait_for(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def wait_idle(env: Env, *names: str, timeout: float = 10.0, settle_polls: int = 5) -> None:
    """Wait until the named controllers (default: all) have nothing queued, in progress or
    parked for a retry, for ``settle_polls`` consecutive polls: a watch event caused by the last
    write may still be on its way to a predicate when the queues first look empty. Only
    meaningful after a positive signal that the operator saw the change.
    """
    wanted = set(names)
    controllers = [c for c in env.manager.controllers if not wanted or c.name in wanted]
    calm = 0

    async def probe() -> bool:
        nonlocal calm
        busy = any(len(c.queue) or c.queue.processing or c.queue.waiting for c in controllers)
        calm = 0 if busy else calm + 1
        return calm >= settle_polls

    await wait_for(probe, timeout=timeout, what=f"controllers {sorted(wanted) or 'all'} idle")


def kind_of(obj: dict[str, Any]) -> ResourceKind:
    return KINDS[obj["kind"]]


@attrs.define
class Env:
    """What a test talks to: the emulator (``api``), the simulator (``apim``), the operator."""

    kube: RunningEmulator
    apim: RunningSimulator
    api: ApiClient
    manager: Manager
    namespace: str = NAMESPACE

    # -- objects -----------------------------------------------------------------------

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {}).setdefault("namespace", self.namespace)
        kind = kind_of(obj)
        created: dict[str, Any] = await request_json(
            self.api, "POST", kind.collection_path(obj["metadata"]["namespace"]), body=obj
        )
        return created

    async def get(self, kind: ResourceKind, name: str, namespace: str | None = None) -> Any:
        try:
            return await request_json(
                self.api, "GET", kind.object_path(namespace or self.namespace, name)
            )
        except KubeApiError as error:
            if error.not_found:
                return None
            raise

    async def get_kind(self, obj: dict[str, Any]) -> Any:
        """The live object named like ``obj`` (its kind, name and namespace), or None."""
        metadata = obj.get("metadata") or {}
        return await self.get(kind_of(obj), metadata["name"], metadata.get("namespace"))

    async def patch(
        self, kind: ResourceKind, name: str, body: dict[str, Any], namespace: str | None = None
    ) -> Any:
        return await request_json(
            self.api,
            "PATCH",
            kind.object_path(namespace or self.namespace, name),
            body=body,
            content_type=MERGE_PATCH,
        )

    async def delete(self, kind: ResourceKind, name: str, namespace: str | None = None) -> None:
        with contextlib.suppress(KubeApiError):
            await request_json(
                self.api, "DELETE", kind.object_path(namespace or self.namespace, name)
            )

    # -- waiting -----------------------------------------------------------------------

    async def condition(
        self,
        kind: ResourceKind,
        name: str,
        type_: str = cond.ACCEPTED,
        namespace: str | None = None,
    ) -> dict[str, Any] | None:
        obj = await self.get(kind, name, namespace)
        if obj is None:
            return None
        found = cond.find((obj.get("status") or {}).get("conditions") or [], type_)
        if found is None:
            return None
        generation = obj["metadata"].get("generation")
        if found.get("observedGeneration") not in (None, generation):
            return None
        return dict(found)

    async def wait_condition(
        self,
        kind: ResourceKind,
        name: str,
        status: str = "True",
        *,
        type_: str = cond.ACCEPTED,
        timeout: float = 10.0,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            found = await self.condition(kind, name, type_, namespace)
            return found if found is not None and found["status"] == status else None

        try:
            return await wait_for(
                probe, timeout=timeout, what=f"{kind.kind} {name} {type_}={status}"
            )
        except AssertionError:
            obj = await self.get(kind, name, namespace)
            raise AssertionError(
                f"{kind.kind} {name} never reached {type_}={status}; last status: "
                f"{(obj or {}).get('status')}"
            ) from None

    async def wait_message(
        self, kind: ResourceKind, name: str, type_: str, message: str, *, timeout: float = 15.0
    ) -> dict[str, Any]:
        """The condition once it says ``message``: a dependency the operator has not seen yet
        (e.g. the context) may fail an earlier attempt with another message."""

        async def probe() -> dict[str, Any] | None:
            found = await self.condition(kind, name, type_)
            return found if found is not None and found["message"] == message else None

        return await wait_for(probe, timeout=timeout, what=f"{kind.kind} {name} {type_}: {message}")

    async def wait_gone(
        self, kind: ResourceKind, name: str, *, timeout: float = 10.0, namespace: str | None = None
    ) -> None:
        async def probe() -> bool:
            return await self.get(kind, name, namespace) is None

        await wait_for(probe, timeout=timeout, what=f"{kind.kind} {name} to be gone")

    async def events(self, name: str, namespace: str | None = None) -> list[dict[str, Any]]:
        listing = await request_json(
            self.api, "GET", EVENTS.collection_path(namespace or self.namespace)
        )
        return [e for e in listing["items"] if e["involvedObject"]["name"] == name]

    async def event_reasons(self, name: str, namespace: str | None = None) -> list[str]:
        return [e["reason"] for e in await self.events(name, namespace)]

    async def deletion_events(self, name: str, namespace: str | None = None
                              ) -> list[dict[str, Any]]:
        """Events of a deleted object once its ``DeleteSucceeded`` is recorded. The operator
        posts that Event after removing its finalizer (as upstream does), so it can land just
        after the object is gone: reading the Events at once would race with it."""

        async def probe() -> list[dict[str, Any]] | None:
            events = await self.events(name, namespace)
            return events if any(e["reason"] == "DeleteSucceeded" for e in events) else None

        return await wait_for(probe, what=f"the DeleteSucceeded Event of {name}")

    async def deletion_reasons(self, name: str, namespace: str | None = None) -> list[str]:
        return [e["reason"] for e in await self.deletion_events(name, namespace)]


# -- manifests ---------------------------------------------------------------------------


def secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {k: base64.b64encode(value.encode()).decode() for k, value in data.items()},
    }


def configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def context(
    name: str, apim: RunningSimulator, *, auth: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "ManagementContext",
        "metadata": {"name": name},
        "spec": {
            "baseUrl": apim.url,
            "environmentId": "DEFAULT",
            "organizationId": "DEFAULT",
            "auth": auth
            if auth is not None
            else {"credentials": {"username": "admin", "password": "admin"}},
            **spec,
        },
    }


def v4_api(
    name: str, *, context_ref: str | None = "apim", path: str | None = None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "version": "1.0",
        "type": "PROXY",
        "listeners": [
            {
                "type": "HTTP",
                "paths": [{"path": path or f"/{name}"}],
                "entrypoints": [{"type": "http-proxy"}],
            }
        ],
        "endpointGroups": [
            {
                "name": "default",
                "type": "http-proxy",
                "endpoints": [
                    {
                        "name": "default",
                        "type": "http-proxy",
                        "inheritConfiguration": False,
                        "configuration": {"target": "https://api.gravitee.io/echo"},
                    }
                ],
            }
        ],
        "plans": {"key-less": {"name": "Free", "security": {"type": "KEY_LESS"}}},
    }
    if context_ref:
        body["contextRef"] = {"name": context_ref}
    body.update(spec)
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "ApiV4Definition",
        "metadata": {"name": name},
        "spec": body,
    }


def v2_api(
    name: str, *, context_ref: str | None = "apim", path: str | None = None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "version": "1.0",
        "description": f"{name} API",
        "proxy": {
            "virtual_hosts": [{"path": path or f"/{name}"}],
            "groups": [
                {
                    "name": "default",
                    "endpoints": [{"name": "default", "target": "https://api.gravitee.io/echo"}],
                }
            ],
        },
        "plans": [{"name": "free", "description": "free plan", "security": "KEY_LESS"}],
    }
    if context_ref:
        body["contextRef"] = {"name": context_ref}
    body.update(spec)
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "ApiDefinition",
        "metadata": {"name": name},
        "spec": body,
    }


def application(name: str, *, context_ref: str = "apim", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contextRef": {"name": context_ref},
        "name": name,
        "description": f"{name} app",
        "settings": {"app": {"type": "web"}},
    }
    body.update(spec)
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": body,
    }


def api_resource(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "type": "cache",
        "enabled": True,
        "configuration": {"timeToIdleSeconds": 0, "maxEntriesLocalHeap": 1000},
    }
    body.update(spec)
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "ApiResource",
        "metadata": {"name": name},
        "spec": body,
    }


def group(
    name: str, group_name: str | None = None, *, context_ref: str | None = "apim", **spec: Any
) -> dict[str, Any]:
    """A Group object ``name`` for the APIM group ``group_name`` (default: the same)."""
    body: dict[str, Any] = {"name": group_name or name, "members": []}
    if context_ref:
        body["contextRef"] = {"name": context_ref}
    body.update(spec)
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": name},
        "spec": body,
    }


def notification(name: str, **console: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "Notification",
        "metadata": {"name": name},
        "spec": {"target": "console", "eventType": "api", "console": console},
    }


def shared_policy_group(
    name: str, *, context_ref: str = "apim", **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contextRef": {"name": context_ref},
        "name": name,
        "apiType": "PROXY",
        "phase": "REQUEST",
        "steps": [
            {
                "name": "Rate Limit",
                "enabled": True,
                "policy": "rate-limit",
                "configuration": {"rate": {"limit": 10, "periodTime": 1,
                                           "periodTimeUnit": "MINUTES"}},
            }
        ],
    }
    body.update(spec)
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "SharedPolicyGroup",
        "metadata": {"name": name},
        "spec": body,
    }


def subscription(
    name: str, *, api: str, application: str, plan: str, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": name},
        "spec": {"api": {"name": api}, "application": {"name": application}, "plan": plan,
                 **spec},
    }


@contextlib.asynccontextmanager
async def operator_env(
    kube: RunningEmulator,
    apim: RunningSimulator,
    *,
    settings: Settings | None = None,
    namespace: str = NAMESPACE,
) -> AsyncIterator[Env]:
    await kube.apply_crd_files(CRDS)
    # Console lines in test output unless a test captures logs itself; never structlog's
    # default renderer (it prints traceback locals).
    ensure_logging_configured(LogSettings(format="console", level="info"))
    api = await connect(kubeconfig=str(kube.kubeconfig))
    try:
        with contextlib.suppress(KubeApiError):
            await request_json(
                api, "POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}}
            )
        settings = settings or Settings(
            probes_port=0, metrics_port=0, enable_metrics=True, max_concurrent_reconciles=4,
            # No read-back unless a test asks for it (test_drift.py): tests that count APIM
            # calls must not see a periodic GET land in a long-lived module's environment.
            drift=DriftSettings(policy="off"),
        )
        manager = Manager(settings, api, options=OPTIONS)
        wiring = WiringContext(settings=settings, api_client=api, informers=manager.informers,
                               bind_host=OPTIONS.bind_host)
        for controller in build_controllers(wiring):
            manager.register(controller)
        for server in wiring.servers:
            manager.add_server(server)
        task = asyncio.create_task(manager.run())
        try:
            await asyncio.wait_for(manager.wait_controllers_started(), 15)
            yield Env(kube, apim, api, manager, namespace)
        finally:
            manager.request_stop()
            await asyncio.wait_for(task, 20)
            for close in wiring.closers:
                await close()
    finally:
        await api.close()


def missing_ref(message: str) -> str:
    """``Accepted``'s message (and the Warning Event's) for a missing reference: the reference
    error and what to do about it (issue 17, item 7)."""
    return (
        f"{message}. Create it, or correct the reference: the object is reconciled again as "
        "soon as it exists"
    )

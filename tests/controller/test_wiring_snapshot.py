"""Every propagation edge of the operator's wiring, compared with a checked-in snapshot.

The snapshot is empirical, so it does not depend on how the wiring is written: a small world of
objects referencing each other (a context with its Secret and a templated ConfigMap, v2 and v4
APIs, an Application, an ApiResource, a Group, a Notification, a Dictionary reading a Secret,
a Portal with a listing of the v4 API, a link and a page on each, a gateway ConfigMap) is put in
the informer caches, then every kind of event each object can produce (created, spec or data
changed, status-only change, being deleted, deleted, and the start-up list in its converged and
unconverged forms) is delivered to the handlers the wiring registered. Each line says which
controller queue received which key.

Regenerate with ``UPDATE_WIRING_SNAPSHOT=1 pytest tests/controller/test_wiring_snapshot.py``
and review the diff: it shows exactly which edges a change added or dropped.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiClient

from controller import vocabulary as v
from controller.config import IngressSettings, Settings
from controller.informers.events import Event, EventType
from controller.informers.factory import SharedInformers
from controller.informers.informer import Informer
from controller.informers.predicates import source_data_hash
from controller.keys import ObjectKey
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
from controller.kube.resources import CONFIG_MAPS, SECRETS, ResourceKind
from controller.queue.workqueue import WorkQueue
from controller.wiring import WiringContext, build_controllers

SNAPSHOT = Path(__file__).with_name("wiring_snapshot.txt")
NS = "ns"


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NS, "uid": f"uid-{name}", "resourceVersion": "1", **extra}


def _custom(kind: ResourceKind, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A converged custom resource: hash annotation and Accepted=True at its generation."""
    return {
        "apiVersion": f"{kind.group}/{kind.version}",
        "kind": kind.kind,
        "metadata": _meta(
            name,
            generation=1,
            annotations={v.ANNOTATION_LAST_SPEC_HASH: v.spec_hash(spec)},
        ),
        "spec": spec,
        "status": {
            "processingStatus": v.PROCESSING_COMPLETED,
            "conditions": [
                {"type": "Accepted", "status": "True", "reason": "Accepted",
                 "observedGeneration": 1, "message": "", "lastTransitionTime": "x"},
            ],
        },
    }


def _source(kind: ResourceKind, name: str, data: dict[str, str], *, read: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind.kind, "metadata": _meta(name),
                           "data": data}
    if read:
        # A source the operator read: it carries the hash of what its users were given.
        obj["metadata"]["annotations"] = {v.ANNOTATION_LAST_SPEC_HASH: source_data_hash(obj)}
    return obj


def _world() -> list[tuple[ResourceKind, dict[str, Any]]]:
    context = {"baseUrl": "[[ configmap `ctx-cm/url` ]]", "environmentId": "DEFAULT",
               "organizationId": "DEFAULT", "auth": {"secretRef": {"name": "ctx-secret"}}}
    resource = {"name": "cache", "type": "cache", "configuration": {
        "timeToLive": "[[ configmap `res-cm/ttl` ]]"}}
    api_v2 = {"name": "v2", "version": "1", "contextRef": {"name": "ctx"},
              "description": "[[ secret `api-secret/desc` ]]",
              "resources": [{"ref": {"name": "res"}}], "groupRefs": [{"name": "group"}],
              "notificationsRefs": [{"name": "notif"}], "local": True}
    api_v4 = {"name": "v4", "version": "1", "type": "PROXY", "contextRef": {"name": "ctx"},
              "resources": [{"ref": {"name": "res"}}], "groupRefs": [{"name": "group"}],
              "notificationsRefs": [{"name": "notif"}],
              "flows": [{"request": [{"sharedPolicyGroupRef": {"name": "spg"}}]}]}
    subscription = {"api": {"name": "v4"}, "application": {"name": "app"}, "plan": "jwt"}
    spg = {"name": "spg", "contextRef": {"name": "ctx"}, "apiType": "PROXY", "phase": "REQUEST"}
    application = {"name": "app", "contextRef": {"name": "ctx"}, "settings": {"tls": {
        "clientCertificates": [{"ref": {"kind": "secrets", "name": "app-cert", "key": "crt"}}]}}}
    group = {"name": "group", "members": []}
    dictionary = {"name": "dict", "contextRef": {"name": "ctx"}, "type": "MANUAL",
                  "deployed": True,
                  "manual": {"properties": {"token": "[[ secret `dict-secret/token` ]]"}}}
    portal = {"name": "portal", "contextRef": {"name": "ctx"},
              "structure": {"topNavbar": [{"path": "/a"}]}}
    listing = {"portalRef": {"name": "portal"},
               "apis": [{"ref": {"name": "v4"}, "location": "/a"}]}
    link = {"portalRef": {"name": "portal"}, "name": "l", "href": "https://x"}
    portal_page = {"portalRef": {"name": "portal"}, "name": "p", "type": "GRAVITEE_MARKDOWN",
                   "content": "x"}
    api_page = {"apiRef": {"name": "v4"}, "name": "p", "type": "OPENAPI", "content": "x"}
    notification = {"target": "console", "eventType": "api",
                    "console": {"apiEvents": ["APIKEY_EXPIRED"], "groupRefs": [{"name": "group"}]}}
    # As the operator writes it: stamped with the hash of its data.
    gateway_cm = _source(CONFIG_MAPS, "v2", {"definition": "{}"}, read=True)
    gateway_cm["metadata"]["labels"] = {v.LABEL_MANAGED_BY: v.LABEL_MANAGED_BY_VALUE,
                                        v.LABEL_GIO_TYPE: v.LABEL_GIO_TYPE_API}
    gateway_cm["metadata"]["ownerReferences"] = [{
        "apiVersion": v.API_VERSION, "kind": "ApiDefinition", "name": "v2", "uid": "uid-v2",
        "controller": True, "blockOwnerDeletion": True}]
    # Converged: the derived Subscription counts already say what the indexes say.
    counted = {name: _custom(kind, name, spec) for kind, name, spec in (
        (API_DEFINITIONS, "v2", api_v2), (API_V4_DEFINITIONS, "v4", api_v4),
        (APPLICATIONS, "app", application))}
    for name, count in (("v2", 0), ("v4", 1), ("app", 1)):
        counted[name]["status"]["subscriptions"] = count
    return [
        (SECRETS, _source(SECRETS, "ctx-secret", {"username": "YQ==", "password": "Yg=="},
                          read=True)),
        (SECRETS, _source(SECRETS, "api-secret", {"desc": "ZA=="}, read=True)),
        (SECRETS, _source(SECRETS, "app-cert", {"crt": "Yw=="}, read=True)),
        (SECRETS, _source(SECRETS, "dict-secret", {"token": "dA=="}, read=True)),
        (SECRETS, _source(SECRETS, "unrelated-secret", {"x": "eA=="}, read=False)),
        (CONFIG_MAPS, _source(CONFIG_MAPS, "ctx-cm", {"url": "http://apim"}, read=True)),
        (CONFIG_MAPS, _source(CONFIG_MAPS, "res-cm", {"ttl": "60"}, read=True)),
        (CONFIG_MAPS, gateway_cm),
        (MANAGEMENT_CONTEXTS, _custom(MANAGEMENT_CONTEXTS, "ctx", context)),
        (API_RESOURCES, _custom(API_RESOURCES, "res", resource)),
        (API_DEFINITIONS, counted["v2"]),
        (API_V4_DEFINITIONS, counted["v4"]),
        (APPLICATIONS, counted["app"]),
        (GROUPS, _custom(GROUPS, "group", group)),
        (NOTIFICATIONS, _custom(NOTIFICATIONS, "notif", notification)),
        (SHARED_POLICY_GROUPS, _custom(SHARED_POLICY_GROUPS, "spg", spg)),
        (SUBSCRIPTIONS, _custom(SUBSCRIPTIONS, "sub", subscription)),
        (DICTIONARIES, _custom(DICTIONARIES, "dict", dictionary)),
        (PORTALS, _custom(PORTALS, "portal", portal)),
        (PORTAL_LISTINGS, _custom(PORTAL_LISTINGS, "listing", listing)),
        (PORTAL_LINKS, _custom(PORTAL_LINKS, "link", link)),
        (DOCUMENTATIONS, _custom(DOCUMENTATIONS, "portal-page", portal_page)),
        (DOCUMENTATIONS, _custom(DOCUMENTATIONS, "api-page", api_page)),
    ]


def _changed(obj: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    edit(new)
    new["metadata"]["resourceVersion"] = "2"
    return new


def _events(kind: ResourceKind, obj: dict[str, Any]) -> Iterator[tuple[str, Event]]:
    key = ObjectKey(NS, obj["metadata"]["name"])

    def event(type_: EventType, old: Any, new: Any, *, initial: bool = False) -> Event:
        return Event(type=type_, key=key, old=old, new=new, initial=initial)

    yield "created", event(EventType.ADDED, None, obj)
    yield "deleted", event(EventType.DELETED, obj, None)
    yield "listed at start-up", event(EventType.ADDED, None, obj, initial=True)
    if kind in (SECRETS, CONFIG_MAPS):

        def new_data(o: dict[str, Any]) -> None:
            o["data"] = {k: value + "x" for k, value in o["data"].items()}

        def relabel(o: dict[str, Any]) -> None:
            o["metadata"]["labels"] = {**(o["metadata"].get("labels") or {}), "extra": "1"}

        yield "data changed", event(EventType.MODIFIED, obj, _changed(obj, new_data))
        yield "metadata changed", event(EventType.MODIFIED, obj, _changed(obj, relabel))
        yield "listed at start-up, edited while down", event(
            EventType.ADDED, None, _changed(obj, new_data), initial=True
        )
        return

    def new_spec(o: dict[str, Any]) -> None:
        o["spec"] = {**o["spec"], "edited": True}
        o["metadata"]["generation"] = 2

    def new_status(o: dict[str, Any]) -> None:
        o["status"] = {**o["status"], "observed": "x"}

    def synced(o: dict[str, Any]) -> None:
        o["status"] = {**o["status"], "id": "apim-id", "crossId": "apim-cross-id"}

    def deleting(o: dict[str, Any]) -> None:
        o["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"

    def unconverged(o: dict[str, Any]) -> None:
        o["metadata"]["annotations"] = {}

    yield "spec changed", event(EventType.MODIFIED, obj, _changed(obj, new_spec))
    yield "status changed", event(EventType.MODIFIED, obj, _changed(obj, new_status))
    yield "status ids changed", event(EventType.MODIFIED, obj, _changed(obj, synced))
    yield "being deleted", event(EventType.MODIFIED, obj, _changed(obj, deleting))
    yield "listed at start-up, unconverged", event(
        EventType.ADDED, None, _changed(obj, unconverged), initial=True
    )


def _ingress_world() -> list[tuple[ResourceKind, dict[str, Any]]]:
    """An Ingress (template, TLS Secret), its template and generated ApiDefinitions, the 404
    ConfigMap and the gateway Service (wired only with ENABLE_INGRESS=true)."""
    ingress = _custom(INGRESSES, "ing", {
        "ingressClassName": "graviteeio", "tls": [{"secretName": "tls-secret"}],
        "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "svc", "port": {"number": 80}}}}]}}]})
    ingress["apiVersion"] = "networking.k8s.io/v1"
    ingress["metadata"]["annotations"][v.ANNOTATION_TEMPLATE] = "tpl"
    template = _custom(API_DEFINITIONS, "tpl", {"name": "tpl", "version": "1",
                                                "description": "t", "local": True})
    template["metadata"]["annotations"][v.ANNOTATION_TEMPLATE] = "true"
    generated = _custom(API_DEFINITIONS, "ing", {"name": "ing", "version": "v1alpha1",
                                                 "description": "gravitee.io/ingress"})
    generated["metadata"]["ownerReferences"] = [{
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "ing",
        "uid": "uid-ing"}]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": _meta("gateway"),
               "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1",
                        "ports": [{"port": 80}]}, "status": {"loadBalancer": {}}}
    return [
        (SECRETS, _source(SECRETS, "tls-secret", {"tls.key": "aw==", "tls.crt": "Yw=="},
                          read=True)),
        (CONFIG_MAPS, _source(CONFIG_MAPS, "not-found", {"content": "x"}, read=False)),
        (SERVICES, service),
        (API_DEFINITIONS, template),
        (API_DEFINITIONS, generated),
        (INGRESSES, ingress),
    ]


INGRESS_SETTINGS = Settings(ingress=IngressSettings(
    enabled=True, template_404_config_map_name="not-found",
    template_404_config_map_namespace=NS, gateway_service=f"{NS}/gateway"))


async def _snapshot(monkeypatch: pytest.MonkeyPatch, settings: Settings | None = None,
                    extra: list[tuple[ResourceKind, dict[str, Any]]] | None = None
                    ) -> list[str]:
    received: list[tuple[str, str]] = []

    def record(self: WorkQueue[Any], key: Any, *, priority: int = 0) -> None:
        received.append((self.name, str(key)))

    monkeypatch.setattr(WorkQueue, "add", record)
    api_client = ApiClient()
    informers = SharedInformers(api_client)
    context = WiringContext(settings=settings or Settings(), api_client=api_client,
                            informers=informers)
    build_controllers(context)
    try:
        return _propagate(informers, received, _world() + (extra or []))
    finally:
        for close in context.closers:
            await close()
        await api_client.close()


def _propagate(informers: SharedInformers, received: list[tuple[str, str]],
               world: list[tuple[ResourceKind, dict[str, Any]]]) -> list[str]:
    informer_of: dict[ResourceKind, Informer] = {}
    for kind, obj in world:
        informer_of[kind] = informers.informer_for(kind)
        informer_of[kind].store.upsert(copy.deepcopy(obj))
    lines: list[str] = []
    for kind, obj in world:
        informer = informer_of[kind]
        for what, event in _events(kind, obj):
            received.clear()
            informer._dispatch(event)
            targets = sorted(set(received))
            subject = f"{kind.kind} {obj['metadata']['name']} {what}"
            if not targets:
                lines.append(f"{subject}: nothing")
            for queue, key in targets:
                lines.append(f"{subject} -> {queue} {key}")
    return lines


async def test_wiring_matches_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = await _snapshot(monkeypatch)
    text = "\n".join(lines) + "\n"
    if os.environ.get("UPDATE_WIRING_SNAPSHOT"):
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text(), (
        "the wiring changed: review the diff, then regenerate with UPDATE_WIRING_SNAPSHOT=1"
    )


INGRESS_SNAPSHOT = Path(__file__).with_name("wiring_snapshot_ingress.txt")


async def test_ingress_wiring_matches_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same world plus the Ingress controller's objects, with ENABLE_INGRESS=true (a file
    of its own: the default wiring above runs without it)."""
    lines = await _snapshot(monkeypatch, INGRESS_SETTINGS, _ingress_world())
    text = "\n".join(lines) + "\n"
    if os.environ.get("UPDATE_WIRING_SNAPSHOT"):
        INGRESS_SNAPSHOT.write_text(text)
    assert text == INGRESS_SNAPSHOT.read_text(), (
        "the wiring changed: review the diff, then regenerate with UPDATE_WIRING_SNAPSHOT=1"
    )

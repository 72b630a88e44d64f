"""Ingress: Gravitee as an Ingress controller (docs/behavior/ingress.md).

Runs only with ``ENABLE_INGRESS=true``. Each ``networking.k8s.io/v1`` Ingress whose class
(``spec.ingressClassName``, else the ``kubernetes.io/ingress.class`` annotation) is one of
``INGRESS_CLASSES`` becomes a v2 ApiDefinition of the same name, owned by the Ingress, built from
a template ApiDefinition (annotation ``gravitee.io/template``) or the default one; the
ApiDefinition kind then turns it into a gateway ConfigMap (or an APIM import, per the template).
The generated object is written only when it differs from what the cluster holds.

TLS Secrets are validated and listed in the PEM-registry ConfigMaps of the Ingress's class;
their ``finalizers.gravitee.io/keypair`` finalizer is kept by the reference keeper while any
handled Ingress names them (derived from the index, never counted). With
``INGRESS_GATEWAY_SERVICE`` set, the gateway Service's address is published in
``status.loadBalancer``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

import structlog
from cryptography import x509

from controller import vocabulary as v
from controller.config import IngressSettings
from controller.informers.events import Event, EventType
from controller.informers.predicates import data_changed, spec_changed
from controller.informers.store import KubeObject, Store
from controller.keys import ObjectKey
from controller.kube.kinds import API_DEFINITIONS, CONFIG_MAPS, INGRESSES, SECRETS, SERVICES
from controller.kube.rest import MERGE_PATCH, KubeApiError, request_json
from controller.reconcilers.framework.builder import Builder
from controller.reconcilers.framework.errors import (
    IllegalStateError,
    ReconcileError,
    ResolveRefError,
)
from controller.reconcilers.framework.runtime import (
    Attempt,
    Cleanup,
    KindLogic,
    Outcome,
    RuntimeDeps,
)
from controller.reconcilers.support.templating import SourceRef

log = structlog.get_logger(__name__)

INGRESS_API_VERSION: Final = "v1alpha1"
"""The ``version`` of every generated API (the ApiDefinition CRD version, as upstream)."""
ENDPOINT_GROUP: Final = "default"
ROOT_PATH: Final = "/"
ROUTING_POLICY: Final = "dynamic-routing"
ROUTING_STEP: Final = "Ingress Routing"
NOT_FOUND: Final = "No Route Found"
NOT_FOUND_CONTENT: Final = "No context-path matches the request URI."
NOT_FOUND_CONTENT_TYPE: Final = "text/plain"
HOST_IS: Final = "#request.headers['Host'][0] == '{}'"
HOST_IS_NOT: Final = "#request.headers['Host'][0] != '{}'"
PATH_STARTS: Final = "#request.contextPath.startsWith('{}')"

LABEL_COMPONENT: Final = "gravitee.io/component"
PEM_REGISTRY: Final = "kubernetes-pem-registry"
ANNOTATION_UPDATE_TIMESTAMP: Final = "updateTimestamp"
ANNOTATION_GENERATED_HASH: Final = "gravitee.io/ingress-spec-hash"
"""On the generated ApiDefinition: the hash of the spec last generated (a template field that
went away is noticed, although the API server's defaults make the live spec a superset)."""
ANNOTATION_PEM_HASH: Final = "gravitee.io/pem-registry-hash"
"""On the Ingress: the hash of the registry entry and of the TLS Secrets' data last published,
so the registries are touched (and the gateways reload) only when a certificate changed."""
NO_PEM_REGISTRY: Final = "unable to find any pem-registry configmap in the cluster"

DEFAULT_TEMPLATE: Final[Mapping[str, Any]] = {
    "local": True,
    "version": "1.0.0",
    "description": "This API was generated on behalf of an Kubernetes ingress resource",
    "plans": [
        {
            "name": "Key Less",
            "description": "Default ingress keyless plan",
            "security": "KEY_LESS",
            "status": "PUBLISHED",
        }
    ],
}


# --- which Ingresses, and what they reference ---------------------------------------------------


def ingress_class(obj: Mapping[str, Any]) -> str:
    """``spec.ingressClassName``, else the legacy ``kubernetes.io/ingress.class`` annotation."""
    name = (obj.get("spec") or {}).get("ingressClassName")
    if name:
        return str(name)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(v.ANNOTATION_INGRESS_CLASS) or "")


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


class Selection:
    """What the settings say about one Ingress: handled or not, and what it references."""

    def __init__(self, settings: IngressSettings, pod_namespace: str) -> None:
        self.classes = frozenset(settings.classes)
        self.not_found = (
            ObjectKey(settings.template_404_config_map_namespace or pod_namespace,
                      settings.template_404_config_map_name)
            if settings.template_404_config_map_name else None
        )
        self.gateway = ObjectKey.parse(settings.gateway_service) if settings.gateway_service \
            else None

    def handled(self, obj: Mapping[str, Any]) -> bool:
        return ingress_class(obj) in self.classes

    def template(self, obj: KubeObject) -> Iterable[ObjectKey]:
        name = _annotations(obj).get(v.ANNOTATION_TEMPLATE)
        if name and self.handled(obj):
            return [ObjectKey(ObjectKey.of(obj).namespace, name)]
        return []

    def tls_secrets(self, obj: KubeObject) -> Iterable[SourceRef]:
        if not self.handled(obj):
            return []
        namespace = ObjectKey.of(obj).namespace
        return [SourceRef("secret", namespace, str(tls["secretName"]))
                for tls in (obj.get("spec") or {}).get("tls") or [] if tls.get("secretName")]

    def generated(self, obj: KubeObject) -> Iterable[ObjectKey]:
        return [ObjectKey.of(obj)] if self.handled(obj) else []

    def not_found_template(self, obj: KubeObject) -> Iterable[ObjectKey]:
        return [self.not_found] if self.not_found is not None and self.handled(obj) else []

    def gateway_service(self, obj: KubeObject) -> Iterable[ObjectKey]:
        return [self.gateway] if self.gateway is not None and self.handled(obj) else []


def _generated_api_changed(event: Event) -> bool:
    """A generated ApiDefinition deleted, or its spec changed (by someone else, or by the
    Ingress itself, which then finds nothing to write)."""
    if event.type is EventType.DELETED:
        return True
    return event.type is EventType.MODIFIED and spec_changed(event.old, event.new)


def _configmap_data_changed(event: Event) -> bool:
    if event.type is EventType.DELETED:
        return True
    if event.type is EventType.ADDED:
        return not event.initial
    return data_changed(event.old, event.new)


def _service_changed(event: Event) -> bool:
    if event.type is EventType.ADDED:
        return not event.initial
    old, new = event.old or {}, event.new or {}
    return bool(old.get("spec") != new.get("spec") or old.get("status") != new.get("status"))


def _selecting(obj: KubeObject) -> object:
    """What decides whether an Ingress is handled and what it references: its spec, and the
    class and template annotations (an annotation edit does not bump the generation)."""
    annotations = _annotations(obj)
    return (obj.get("spec"), annotations.get(v.ANNOTATION_INGRESS_CLASS),
            annotations.get(v.ANNOTATION_TEMPLATE))


def _annotations_selecting(obj: KubeObject) -> object:
    annotations = _annotations(obj)
    return (annotations.get(v.ANNOTATION_INGRESS_CLASS), annotations.get(v.ANNOTATION_TEMPLATE))


def setup(builder: Builder) -> None:
    settings = builder.settings.ingress
    selection = Selection(settings, builder.settings.pod_namespace)
    builder.enabled(settings.enabled).reconciles(
        INGRESSES, finalizer=v.FINALIZER_INGRESS, processing_status=False, conditions=False,
        also_on=_annotations_selecting,
    ).owns(
        API_DEFINITIONS, expected=selection.generated, changed=_generated_api_changed,
        stale=lambda obj: False,
    ).references(
        API_DEFINITIONS, refs=selection.template, reads=_selecting
    ).reads_sources(
        selection.tls_secrets, finalizer=v.FINALIZER_KEYPAIR, reads=_selecting
    )
    if selection.not_found is not None:
        builder.references(CONFIG_MAPS, refs=selection.not_found_template,
                           when=_configmap_data_changed, reads=_selecting)
    if selection.gateway is not None:
        builder.references(SERVICES, refs=selection.gateway_service, when=_service_changed,
                           reads=_selecting)

    def make(deps: RuntimeDeps) -> Ingress:
        return Ingress(deps, selection)

    builder.complete(make)


# --- the generated ApiDefinition ------------------------------------------------------------------


def _closed(expression: str) -> str:
    return "{" + expression + "}"


def _and(*terms: str) -> str:
    return " and ".join(terms)


def routing_condition(host: str, path: str, hosts: list[str]) -> str:
    """The EL condition (without braces) of one rule path: its host (or, for a host-less
    rule, none of the Ingress's hosts) and its context path without a trailing slash."""
    context_path = path[:-1] if path.endswith(ROOT_PATH) else path
    if host:
        return _and(HOST_IS.format(host), PATH_STARTS.format(context_path))
    return _and(*(HOST_IS_NOT.format(known) for known in hosts),
                PATH_STARTS.format(context_path))


def endpoint_name(rule_index: int, path_index: int) -> str:
    return f"rule{rule_index + 1:02d}-path{path_index + 1:02d}"


def _backend_target(namespace: str, path: Mapping[str, Any], where: str) -> str:
    service = (path.get("backend") or {}).get("service")
    if not service:
        raise IllegalStateError(f"{where}: only service backends are supported")
    number = (service.get("port") or {}).get("number")
    if not number:
        # Upstream wrote port 0 here; a target that can never answer helps nobody.
        raise IllegalStateError(
            f"{where}: the backend service port must be given by number (port names are not "
            "resolved)"
        )
    return f"http://{service['name']}.{namespace}.svc.cluster.local:{int(number)}"


def _rule_paths(spec: Mapping[str, Any]) -> list[tuple[int, int, str, Mapping[str, Any]]]:
    """(rule index, path index, host, path) for every path of every rule with ``http``."""
    found = []
    for r, rule in enumerate(spec.get("rules") or []):
        for p, path in enumerate(((rule or {}).get("http") or {}).get("paths") or []):
            found.append((r, p, str(rule.get("host") or ""), path))
    return found


def not_found_flow(conditions: list[str], content: str, content_type: str) -> dict[str, Any]:
    """The last flow: a 404 mock for requests no routing flow matched."""
    matched = " or ".join(f"({condition})" for condition in conditions)
    return {
        "name": NOT_FOUND,
        "path-operator": {"path": ROOT_PATH, "operator": "STARTS_WITH"},
        "condition": _closed(f"(({matched}) eq false)"),
        "enabled": True,
        "pre": [{
            "name": NOT_FOUND,
            "policy": "mock",
            "enabled": True,
            "configuration": {
                "content": content,
                "status": "404",
                "headers": [{"name": "Content-Type", "value": content_type}],
            },
        }],
    }


def generate_spec(
    template: Mapping[str, Any],
    ingress: Mapping[str, Any],
    *,
    not_found: tuple[str, str] = (NOT_FOUND_CONTENT, NOT_FOUND_CONTENT_TYPE),
) -> dict[str, Any]:
    """The spec of the ApiDefinition generated for ``ingress`` from ``template``'s spec
    (docs/behavior/ingress.md#the-generated-api)."""
    key = ObjectKey.of(ingress)
    spec = ingress.get("spec") or {}
    paths = _rule_paths(spec)
    hosts = list(dict.fromkeys(host for _r, _p, host, _path in paths if host))
    generated: dict[str, Any] = copy.deepcopy(dict(template))
    generated["name"] = key.name
    generated["description"] = v.INGRESS_LABEL
    generated["version"] = INGRESS_API_VERSION
    virtual_hosts = []
    endpoints = []
    flows = []
    conditions = []
    for r, p, host, path in paths:
        value = str(path.get("path") or "")
        virtual_host = {"host": host, "path": value} if host else {"path": value}
        virtual_hosts.append(virtual_host)
        name = endpoint_name(r, p)
        endpoints.append({
            "name": name,
            "target": _backend_target(key.namespace, path, f"spec.rules[{r}].http.paths[{p}]"),
        })
        condition = routing_condition(host, value, hosts)
        conditions.append(condition)
        flows.append({
            "name": host + value,
            "path-operator": {
                "path": ROOT_PATH,
                "operator": "EQUALS" if path.get("pathType") == "Exact" else "STARTS_WITH",
            },
            "condition": _closed(condition),
            "enabled": True,
            "pre": [{
                "name": ROUTING_STEP,
                "policy": ROUTING_POLICY,
                "enabled": True,
                "configuration": {"rules": [{"pattern": "(.*)", "url": f"{name}:{{#group[0]}}"}]},
            }],
        })
    flows.append(not_found_flow(conditions, *not_found))
    generated["proxy"] = {
        "virtual_hosts": virtual_hosts,
        "groups": [{"name": ENDPOINT_GROUP, "endpoints": endpoints}],
    }
    if template.get("flows") is not None:
        generated["flow_mode"] = "DEFAULT"
        flows += copy.deepcopy(list(template["flows"]))
    generated["flows"] = flows
    return generated


def covers(live: Any, desired: Any) -> bool:
    """Whether ``live`` says everything ``desired`` says (the API server adds defaults)."""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(
            key in live and covers(live[key], value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return isinstance(live, list) and len(live) == len(desired) and all(
            covers(a, b) for a, b in zip(live, desired, strict=True)
        )
    return bool(live == desired)


def _owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    uid = (owner.get("metadata") or {}).get("uid")
    return any(ref.get("uid") == uid and ref.get("kind") == "Ingress"
               for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


# --- TLS ------------------------------------------------------------------------------------------

_PEM: Final = re.compile(
    r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL
)


def _pem_block(data: bytes) -> tuple[str, bytes] | None:
    """The first PEM block: its type and its decoded bytes (headers are skipped)."""
    match = _PEM.search(data.decode("ascii", errors="replace"))
    if match is None:
        return None
    body = "\n".join(line for line in match.group(2).splitlines() if ":" not in line)
    try:
        return match.group(1), base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _secret_bytes(data: Mapping[str, str], key: str) -> bytes | None:
    value = data.get(key)
    return None if value is None else value.encode("utf-8")


def validate_tls_secret(data: Mapping[str, str]) -> None:
    """``tls.key`` must be a PEM private key and ``tls.crt`` a PEM x509 certificate
    (docs/behavior/ingress.md#tls); ``data`` is the Secret's data, decoded (as
    ``CachedSources.load`` reads it). The messages never quote the Secret's content."""
    key = _secret_bytes(data, "tls.key")
    if key is None:
        raise IllegalStateError("tls key not found in secret")
    block = _pem_block(key)
    if block is None:
        raise IllegalStateError("can not decode the tls key")
    if "PRIVATE KEY" not in block[0]:
        raise IllegalStateError("wrong tls key type")
    certificate = _secret_bytes(data, "tls.crt")
    if certificate is None:
        raise IllegalStateError("tls cert not found in secret")
    block = _pem_block(certificate)
    if block is None:
        raise IllegalStateError("can not decode the tls certificate")
    try:
        x509.load_der_x509_certificate(block[1])
    except ValueError as error:
        raise IllegalStateError(f"x509: {error}") from None
    if block[0] != "CERTIFICATE":
        raise IllegalStateError("wrong tls certification type")


def _registry_refs(registries: Iterable[KubeObject]) -> list[SourceRef]:
    return [SourceRef("configmap", key.namespace, key.name)
            for key in map(ObjectKey.of, registries)]


def registry_key(ingress: Mapping[str, Any]) -> str:
    key = ObjectKey.of(ingress)
    return f"{key.namespace}-{key.name}"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the kind -------------------------------------------------------------------------------------


class Ingress(KindLogic):
    def __init__(self, deps: RuntimeDeps, selection: Selection) -> None:
        self.deps = deps
        self.selection = selection
        self.apis: Store = deps.stores[API_DEFINITIONS.plural]
        self.secrets: Store = deps.stores[SECRETS.plural]
        self.configmaps: Store = deps.stores[CONFIG_MAPS.plural]
        self.services: Store | None = deps.stores.get(SERVICES.plural)

    def skip_update(self, obj: Mapping[str, Any]) -> bool:
        # Ingresses of other classes belong to other controllers.
        return not self.selection.handled(obj)

    async def apply(self, attempt: Attempt) -> Outcome:
        ingress = {**attempt.obj, "spec": attempt.spec}
        template = self._template(attempt)
        desired = generate_spec(template, ingress, not_found=await self._not_found())
        await self._write_api(attempt, desired)
        annotations = await self._publish_tls(attempt, ingress)
        status: dict[str, Any] = {}
        if self.selection.gateway is not None:
            status["loadBalancer"] = self._load_balancer()
        return Outcome(status=status, annotations=annotations)

    async def cleanup(self, attempt: Attempt) -> Cleanup:
        # The generated ApiDefinition goes with its owner (garbage collection), as upstream;
        # the keypair finalizers are released by the reference keeper once the Ingress is gone.
        await self._remove_registry_entries(attempt.obj, self._registries(attempt.obj))
        return Cleanup()

    # -- the API -------------------------------------------------------------------------

    def _template(self, attempt: Attempt) -> Mapping[str, Any]:
        name = _annotations(attempt.obj).get(v.ANNOTATION_TEMPLATE)
        if not name:
            return DEFAULT_TEMPLATE
        template = self.apis.get(ObjectKey(attempt.namespace, name))
        if template is None:
            raise ResolveRefError(f'apidefinitions.gravitee.io "{name}" not found')
        return dict(template.get("spec") or {})

    async def _not_found(self) -> tuple[str, str]:
        default = (NOT_FOUND_CONTENT, NOT_FOUND_CONTENT_TYPE)
        key = self.selection.not_found
        if key is None:
            return default
        # The cached ConfigMaps carry no data: it is loaded on demand.
        loaded = await self.deps.sources.load([SourceRef("configmap", key.namespace, key.name)])
        data = loaded.configmap_data(key.namespace, key.name) or {}
        if "content" not in data or "contentType" not in data:
            log.warning("404 template ConfigMap missing or incomplete, using the default",
                        configmap=str(key))
            return default
        return str(data["content"]), str(data["contentType"])

    async def _write_api(self, attempt: Attempt, desired: dict[str, Any]) -> None:
        live = self.apis.get(attempt.key)
        digest = v.spec_hash(desired)
        path = API_DEFINITIONS.object_path(attempt.namespace, attempt.name)
        metadata = attempt.obj["metadata"]
        owner = {"apiVersion": INGRESSES.api_version, "kind": INGRESSES.kind,
                 "name": attempt.name, "uid": metadata.get("uid")}
        annotations = {v.ANNOTATION_EXTENDS: v.INGRESS_LABEL, ANNOTATION_GENERATED_HASH: digest}
        if live is None:
            body = {
                "apiVersion": API_DEFINITIONS.api_version,
                "kind": API_DEFINITIONS.kind,
                "metadata": {"name": attempt.name, "namespace": attempt.namespace,
                             "annotations": annotations, "ownerReferences": [owner]},
                "spec": desired,
            }
            try:
                await request_json(self.deps.api_client, "POST",
                                   API_DEFINITIONS.collection_path(attempt.namespace), body=body)
            except KubeApiError as error:
                if error.status == 409:
                    # Not in the cache yet: look again once the informer has it.
                    raise ReconcileError(f"apidefinition [{attempt.key}] already exists; "
                                         "retrying once the cache has it") from error
                raise
            return
        if not _owned_by(live, attempt.obj):
            raise IllegalStateError(
                f"apidefinition [{attempt.key}] exists and was not generated from this Ingress"
            )
        live_annotations = _annotations(live)
        if live_annotations.get(ANNOTATION_GENERATED_HASH) == digest and \
                live_annotations.get(v.ANNOTATION_EXTENDS) == v.INGRESS_LABEL and \
                covers(live.get("spec"), desired):
            return
        live_metadata = live["metadata"]
        body = {
            "apiVersion": API_DEFINITIONS.api_version,
            "kind": API_DEFINITIONS.kind,
            "metadata": {**live_metadata, "annotations": {**live_annotations, **annotations}},
            "spec": desired,
        }
        # Pinned by the cached resourceVersion: a concurrent change fails (409) and retries.
        await request_json(self.deps.api_client, "PUT", path, body=body)

    # -- TLS -----------------------------------------------------------------------------

    def _registries(self, ingress: Mapping[str, Any]) -> list[KubeObject]:
        """The PEM-registry ConfigMaps of the Ingress's class."""
        wanted = ingress_class(ingress)
        return [
            configmap for configmap in self.configmaps.objects()
            if ((configmap.get("metadata") or {}).get("labels") or {}).get(LABEL_COMPONENT)
            == PEM_REGISTRY
            and (configmap["metadata"].get("labels") or {}).get(v.ANNOTATION_INGRESS_CLASS)
            == wanted
        ]

    def _any_registry(self) -> bool:
        return any(((c.get("metadata") or {}).get("labels") or {}).get(LABEL_COMPONENT)
                   == PEM_REGISTRY for c in self.configmaps.objects())

    async def _publish_tls(self, attempt: Attempt, ingress: Mapping[str, Any]) -> dict[str, str]:
        refs = list(self.selection.tls_secrets(dict(ingress)))
        registries = self._registries(ingress)
        if not refs:
            # TLS removed from the Ingress: its entry goes (upstream left it behind).
            await self._remove_registry_entries(ingress, registries)
            return {ANNOTATION_PEM_HASH: ""} if _annotations(attempt.obj).get(
                ANNOTATION_PEM_HASH) else {}
        # The cached Secrets and ConfigMaps carry metadata and a data hash only: the TLS
        # Secrets and the registries' entries are loaded on demand.
        loaded = await self.deps.sources.load([*refs, *_registry_refs(registries)])
        data_hashes = []
        for ref in refs:
            secret = self.secrets.get(ref.key)
            data = loaded.secret_data(ref.namespace, ref.name)
            if secret is None or data is None:
                raise ResolveRefError(f'secrets "{ref.name}" not found')
            if (secret.get("metadata") or {}).get("deletionTimestamp"):
                raise IllegalStateError("secret can't be deleted because it has reference to "
                                        f"an existing ingress [{attempt.name}]")
            validate_tls_secret(data)
            data_hashes.append(v.spec_hash(dict(data)))
        if not self._any_registry():
            raise ReconcileError(NO_PEM_REGISTRY)
        entry = json.dumps([f"{ref.namespace}/{ref.name}" for ref in refs],
                           separators=(",", ":"))
        key = registry_key(ingress)
        digest = v.spec_hash({"entry": entry, "secrets": data_hashes,
                              "registries": sorted(str(ObjectKey.of(r)) for r in registries)})
        changed_secrets = _annotations(attempt.obj).get(ANNOTATION_PEM_HASH) != digest
        for registry in registries:
            target = ObjectKey.of(registry)
            published = loaded.configmap_data(target.namespace, target.name) or {}
            if published.get(key) == entry and not changed_secrets:
                continue
            await self._patch_registry(registry, {key: entry}, digest)
        return {ANNOTATION_PEM_HASH: digest}

    async def _remove_registry_entries(
        self, ingress: Mapping[str, Any], registries: list[KubeObject]
    ) -> None:
        key = registry_key(ingress)
        loaded = await self.deps.sources.load(_registry_refs(registries))
        for registry in registries:
            target = ObjectKey.of(registry)
            if key in (loaded.configmap_data(target.namespace, target.name) or {}):
                await self._patch_registry(registry, {key: None}, "")

    async def _patch_registry(
        self, registry: KubeObject, data: Mapping[str, str | None], digest: str
    ) -> None:
        target = ObjectKey.of(registry)
        # The timestamp makes the gateways reload the certificates they serve; it only has
        # seconds, so the digest of what was published makes two updates in one second differ.
        annotations = {ANNOTATION_UPDATE_TIMESTAMP: _now(), ANNOTATION_PEM_HASH: digest or None}
        await request_json(
            self.deps.api_client, "PATCH",
            CONFIG_MAPS.object_path(target.namespace, target.name),
            body={"metadata": {"annotations": annotations}, "data": dict(data)},
            content_type=MERGE_PATCH,
        )

    # -- status --------------------------------------------------------------------------

    def _load_balancer(self) -> dict[str, Any]:
        """Where the gateway Service can be reached: its load balancer's addresses, else its
        external IPs, else its cluster IP (docs/behavior/ingress.md#statusloadbalancer)."""
        if self.selection.gateway is None or self.services is None:
            return {}
        service = self.services.get(self.selection.gateway)
        if service is None:
            return {}
        spec = service.get("spec") or {}
        found = [
            {k: entry[k] for k in ("ip", "hostname") if entry.get(k)}
            for entry in ((service.get("status") or {}).get("loadBalancer") or {}).get(
                "ingress") or []
        ]
        found = [entry for entry in found if entry]
        if not found:
            found = [{"ip": ip} for ip in spec.get("externalIPs") or []]
        if not found and spec.get("clusterIP") not in (None, "", "None"):
            found = [{"ip": spec["clusterIP"]}]
        return {"ingress": found} if found else {}

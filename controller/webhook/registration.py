"""The Validating and Mutating webhook configurations (docs/behavior/admission.md#registration).

Two modes:

* ``WEBHOOK_SELF_REGISTER_URL`` set (out of a cluster): the operator creates or replaces both
  configurations itself, each webhook with ``clientConfig.url`` = that address + its path and
  the operator's CA bundle;
* otherwise the manifests created them with a Service reference, and the operator only writes
  its CA bundle into every webhook of both (when it manages its certificate).

What every webhook says, in both modes: CREATE and UPDATE only (a DELETE is never sent to the
operator, so an operator that is down never blocks one), ``failurePolicy`` from
``WEBHOOK_FAILURE_POLICY``, ``sideEffects: None``, ``admissionReviewVersions: [v1]``, the timeout
of ``WEBHOOK_TIMEOUT_SECONDS``, and, when the operator watches some namespaces only
(``NAMESPACE``), a ``namespaceSelector`` naming them: two installs watching different namespaces
never review each other's objects. Configuration names default to upstream's names suffixed
with the install's namespace, so two installs never overwrite each other's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs
from kubernetes_asyncio.client import ApiClient

from controller import vocabulary as v
from controller.config import Settings
from controller.kube.resources import ResourceKind
from controller.kube.rest import KubeApiError, request_json
from controller.logging import get_logger

_log = get_logger("webhook-registration")

API_PREFIX: Final = "/apis/admissionregistration.k8s.io/v1"
VALIDATING: Final = "validatingwebhookconfigurations"
MUTATING: Final = "mutatingwebhookconfigurations"
SERVICE_PORT: Final = 443
"""The Service port the manifests expose (targetPort ``WEBHOOK_SERVICE_PORT``)."""
NAMESPACE_LABEL: Final = "kubernetes.io/metadata.name"
MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "gravitee-operator"}


def path(kind: ResourceKind, mutating: bool) -> str:
    """controller-runtime's path convention: ``/validate-gravitee-io-v1alpha1-<kind>``."""
    verb = "mutate" if mutating else "validate"
    group = kind.group.replace(".", "-")
    return f"/{verb}-{group}-{kind.version}-{kind.kind.lower()}"


def webhook_name(kind: ResourceKind, mutating: bool) -> str:
    return f"{'m' if mutating else 'v'}{kind.kind.lower()}.{kind.group}"


@attrs.frozen(kw_only=True)
class Target:
    """Where the API server reaches the webhook server."""

    url: str = ""
    """A base URL (self-registration), or empty for the Service."""
    service_name: str = ""
    service_namespace: str = ""

    def client_config(self, webhook_path: str, ca_pem: bytes | None) -> dict[str, Any]:
        config: dict[str, Any] = (
            {"url": self.url + webhook_path}
            if self.url
            else {"service": {"name": self.service_name, "namespace": self.service_namespace,
                              "path": webhook_path, "port": SERVICE_PORT}}
        )
        if ca_pem:
            config["caBundle"] = base64.b64encode(ca_pem).decode("ascii")
        return config


def webhooks(
    kinds: Iterable[ResourceKind],
    *,
    mutating: bool,
    settings: Settings,
    target: Target,
    ca_pem: bytes | None,
) -> list[dict[str, Any]]:
    """The webhook entries of one configuration (one per kind, in the given order)."""
    webhook = settings.webhook
    out = []
    for kind in kinds:
        entry: dict[str, Any] = {
            "name": webhook_name(kind, mutating),
            "admissionReviewVersions": ["v1"],
            "clientConfig": target.client_config(path(kind, mutating), ca_pem),
            "failurePolicy": webhook.failure_policy,
            "matchPolicy": "Equivalent",
            "sideEffects": "None",
            "timeoutSeconds": webhook.timeout_seconds,
            "rules": [{
                "apiGroups": [kind.group],
                "apiVersions": [kind.version],
                "operations": ["CREATE", "UPDATE"],
                "resources": [kind.plural],
                "scope": "Namespaced",
            }],
        }
        if settings.namespaces:
            entry["namespaceSelector"] = {"matchExpressions": [{
                "key": NAMESPACE_LABEL, "operator": "In", "values": list(settings.namespaces),
            }]}
        if mutating:
            entry["reinvocationPolicy"] = "Never"
        out.append(entry)
    return out


def configuration(
    name: str, entries: list[dict[str, Any]], *, mutating: bool, namespace: str
) -> dict[str, Any]:
    kind = "MutatingWebhookConfiguration" if mutating else "ValidatingWebhookConfiguration"
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {
            "name": name,
            "labels": {**MANAGED_BY, v.GROUP + "/operator-namespace": namespace},
        },
        "webhooks": entries,
    }


async def put_configuration(api: ApiClient, body: Mapping[str, Any], *, mutating: bool) -> None:
    """Create the configuration, or replace it (at its resourceVersion, retried on conflict)."""
    collection = f"{API_PREFIX}/{MUTATING if mutating else VALIDATING}"
    name = body["metadata"]["name"]
    for _ in range(5):
        try:
            current = await request_json(api, "GET", f"{collection}/{name}")
        except KubeApiError as error:
            if not error.not_found:
                raise
            current = None
        try:
            if current is None:
                await request_json(api, "POST", collection, body=dict(body))
            else:
                metadata = {**(current.get("metadata") or {}), **body["metadata"]}
                await request_json(api, "PUT", f"{collection}/{name}",
                                   body={**body, "metadata": metadata})
            return
        except KubeApiError as error:
            if error.conflict or error.status == 409:
                continue
            raise
    raise RuntimeError(f"could not write webhook configuration {name}: conflicts persisted")


async def patch_ca_bundle(api: ApiClient, name: str, ca_pem: bytes, *, mutating: bool) -> bool:
    """Write ``ca_pem`` into every webhook of configuration ``name``; False when it does not
    exist (nothing to patch: e.g. ``ENABLE_WEBHOOK`` on without the manifests' configuration)."""
    bundle = base64.b64encode(ca_pem).decode("ascii")
    collection = f"{API_PREFIX}/{MUTATING if mutating else VALIDATING}"
    for _ in range(5):
        try:
            current = await request_json(api, "GET", f"{collection}/{name}")
        except KubeApiError as error:
            if error.not_found:
                return False
            raise
        hooks = current.get("webhooks") or []
        if all((h.get("clientConfig") or {}).get("caBundle") == bundle for h in hooks):
            return True
        for hook in hooks:
            hook.setdefault("clientConfig", {})["caBundle"] = bundle
        try:
            await request_json(api, "PUT", f"{collection}/{name}", body=current)
            return True
        except KubeApiError as error:
            if error.conflict or error.status == 409:
                continue
            raise
    raise RuntimeError(f"could not patch the CA bundle of {name}: conflicts persisted")


async def register(
    api: ApiClient,
    *,
    settings: Settings,
    namespace: str,
    validating: list[ResourceKind],
    mutating: list[ResourceKind],
    ca_pem: bytes,
) -> None:
    """Self-registration (``WEBHOOK_SELF_REGISTER_URL``) or the CA bundle patch."""
    webhook = settings.webhook
    names = (webhook.validating_name(namespace), webhook.mutating_name(namespace))
    if webhook.self_register_url:
        target = Target(url=webhook.self_register_url)
        for name, kinds, is_mutating in ((names[0], validating, False),
                                         (names[1], mutating, True)):
            entries = webhooks(kinds, mutating=is_mutating, settings=settings, target=target,
                               ca_pem=ca_pem)
            await put_configuration(api, configuration(name, entries, mutating=is_mutating,
                                                       namespace=namespace),
                                    mutating=is_mutating)
        _log.info("webhook configurations registered", url=webhook.self_register_url,
                  validating=names[0], mutating=names[1])
        return
    for name, is_mutating in ((names[0], False), (names[1], True)):
        if not await patch_ca_bundle(api, name, ca_pem, mutating=is_mutating):
            _log.warning("webhook configuration not found, its CA bundle was not written",
                         configuration=name)
    _log.info("webhook CA bundle written", validating=names[0], mutating=names[1])

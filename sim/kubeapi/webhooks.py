"""Calling admission webhooks as kube-apiserver does: which webhooks a write matches, the
``AdmissionReview`` v1 sent to each over HTTPS, and what their answers do to the write.

A write of :mod:`sim.kubeapi.operations` stops at its admission points
(:mod:`sim.kubeapi.admission`); :meth:`Webhooks.run` drives it, answering each mutating point
with the MutatingWebhookConfigurations' webhooks (one after another, in configuration-name order,
applying their JSON patches) and each validating point with the ValidatingWebhookConfigurations'
webhooks (concurrently). Matching: rules (group, version, resource and subresource, operation,
scope), ``namespaceSelector`` and ``objectSelector``; ``matchPolicy: Equivalent`` is treated as
``Exact`` and ``matchConditions`` are not evaluated (see ``sim/kubeapi/README.md``). The
connection is verified with the webhook's ``caBundle`` (the system roots without one) and
bounded by ``timeoutSeconds``; failures and denials produce kube-apiserver's Status errors and
messages; the answers' warnings reach the client.

Owns the HTTP client to webhooks and the service-to-URL table tests may fill in. Must never log
an object (it may be a Secret) nor call a webhook for a webhook configuration (kube-apiserver
exempts them, so a broken webhook can always be removed).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
import urllib.parse
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import aiohttp
import attrs
import jsonpatch

from sim import jsonwire
from sim.kubeapi.admission import MUTATE, AdmissionStep, StaleRead
from sim.kubeapi.errors import ApiError
from sim.kubeapi.operations import MUTATING_WEBHOOKS, NAMESPACES, VALIDATING_WEBHOOKS, new_uid
from sim.kubeapi.resources import ResourceType
from sim.kubeapi.store import Store

JsonObj = dict[str, Any]
T = TypeVar("T")
_log = logging.getLogger(__name__)

REVIEW_API_VERSION = "admission.k8s.io/v1"
_EXEMPT = {
    ("admissionregistration.k8s.io", plural)
    for plural in (
        "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations",
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
        "mutatingadmissionpolicies",
        "mutatingadmissionpolicybindings",
    )
}
# Writes restarted because the object changed while they awaited webhooks, before giving up.
_ATTEMPTS = 5
#: Who the emulator says made a request whose bearer token it does not know (it has no
#: authentication): an administrator, like the admin kubeconfig of a real cluster.
DEFAULT_USER: JsonObj = {
    "username": "system:admin",
    "groups": ["system:masters", "system:authenticated"],
}


@attrs.frozen
class RequestContext:
    """What the webhooks hear about the request besides the object."""

    user: JsonObj
    dry_run: bool = False
    field_manager: str | None = None
    field_validation: str | None = None
    # What a DELETE's client sent of propagationPolicy and preconditions.
    delete_options: JsonObj = attrs.field(factory=dict)

    def options(self, operation: str) -> JsonObj:
        """The ``options`` of the review: Create/Update/DeleteOptions as the request set them."""
        kind = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions"}.get(
            operation, "DeleteOptions"
        )
        options: JsonObj = {"kind": kind, "apiVersion": "meta.k8s.io/v1"}
        if self.dry_run:
            options["dryRun"] = ["All"]
        if kind == "DeleteOptions":
            options.update(self.delete_options)
        else:
            if self.field_manager:
                options["fieldManager"] = self.field_manager
            if self.field_validation:
                options["fieldValidation"] = self.field_validation
        return options


class _CallFailed(Exception):
    """The webhook could not be called or answered nonsense: ``failurePolicy`` decides."""


def label_selector_matches(selector: JsonObj | None, labels: dict[str, str]) -> bool:
    """``metav1.LabelSelector`` semantics: an empty selector matches everything."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key = expression.get("key", "")
        operator = expression.get("operator")
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _labels(obj: JsonObj | None) -> dict[str, str] | None:
    if obj is None:
        return None
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _rule_names(rule: JsonObj, rt: ResourceType, operation: str, subresource: str) -> bool:
    """A rule's operations, groups, versions and resources (``res/sub``, wildcards) match."""
    operations = rule.get("operations") or []
    if "*" not in operations and operation not in operations:
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and rt.group not in groups:
        return False
    versions = rule.get("apiVersions") or []
    if "*" not in versions and rt.version not in versions:
        return False
    for resource in rule.get("resources") or []:
        res, _, sub = resource.partition("/")
        if (res in ("*", rt.plural)) and (sub == "*" or sub == subresource):
            return True
    return False


def _rule_matches(rule: JsonObj, step: AdmissionStep, namespace: str) -> bool:
    rt = step.rt
    scope = rule.get("scope", "*")
    is_namespace = rt.key == NAMESPACES
    if scope == "Namespaced" and (is_namespace or not namespace):
        return False
    if scope == "Cluster" and not (is_namespace or not namespace):
        return False
    return _rule_names(rule, rt, step.operation, step.subresource)


class Webhooks:
    """The emulator's admission webhook caller."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._session: aiohttp.ClientSession | None = None
        self._contexts: dict[str, ssl.SSLContext] = {}
        self.services: dict[tuple[str, str, int], str] = {}
        """Test hook: ``(namespace, name, port)`` of a Service to the ``https://host:port`` that
        stands for it. A Service reference not listed here fails like a missing Service."""
        self.calls = 0
        """Webhook calls attempted so far (for tests)."""

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def may_call(self, phase: str, rt: ResourceType, operation: str, subresource: str) -> bool:
        """Whether any webhook's rules name this write, selectors and scope aside: a cheap
        test that spares writes no rule names the work of an admission point."""
        if rt.key in _EXEMPT:
            return False
        key = MUTATING_WEBHOOKS if phase == MUTATE else VALIDATING_WEBHOOKS
        for config in self._store.items(key):
            for hook in config.get("webhooks") or []:
                for rule in hook.get("rules") or []:
                    if _rule_names(rule, rt, operation, subresource):
                        return True
        return False

    # -- driving a write -------------------------------------------------------------------

    async def run(
        self,
        make: Callable[[], Generator[AdmissionStep, JsonObj | None, T]],
        context: RequestContext,
    ) -> tuple[T, tuple[str, ...]]:
        """Run a write (``make`` builds it afresh), answering its admission points with the
        webhooks; returns its result and the webhooks' warnings. A write whose object changed
        while it awaited webhooks starts again, as kube-apiserver retries its update loop."""
        for _attempt in range(_ATTEMPTS):
            warnings: list[str] = []
            steps = make()
            try:
                step = next(steps)
                while True:
                    reply = await self.admit(step, context, warnings)
                    step = steps.send(reply)
            except StopIteration as done:
                return done.value, tuple(warnings)
            except StaleRead:
                continue
            except ApiError as exc:
                exc.warnings = tuple(warnings) + exc.warnings
                raise
        raise ApiError(
            409,
            "Conflict",
            "the object kept changing while admission webhooks were called; try again",
        )

    async def admit(
        self, step: AdmissionStep, context: RequestContext, warnings: list[str]
    ) -> JsonObj | None:
        """Answer one admission point: the (possibly patched) object for a mutating one."""
        if step.rt.key in _EXEMPT:
            return step.obj
        if step.phase == MUTATE:
            return await self._mutate(step, context, warnings)
        await self._validate(step, context, warnings)
        return None

    def _matching(self, key: tuple[str, str], step: AdmissionStep) -> list[JsonObj]:
        hooks: list[JsonObj] = []
        for config in self._store.items(key):  # sorted by name, as kube-apiserver orders them
            for hook in config.get("webhooks") or []:
                if not self._selects_namespace(hook, step):
                    continue
                selector = hook.get("objectSelector")
                if selector and not any(
                    labels is not None and label_selector_matches(selector, labels)
                    for labels in (_labels(step.obj), _labels(step.old))
                ):
                    continue
                namespace = step.name if step.rt.key == NAMESPACES else step.namespace
                if any(_rule_matches(rule, step, namespace) for rule in hook.get("rules") or []):
                    hooks.append(hook)
        return hooks

    def _selects_namespace(self, hook: JsonObj, step: AdmissionStep) -> bool:
        selector = hook.get("namespaceSelector")
        if not selector:
            return True
        if step.rt.key == NAMESPACES:
            if step.operation in ("CREATE", "UPDATE") and not step.subresource and step.obj:
                labels = _labels(step.obj) or {}
            else:
                ns = self._store.get(NAMESPACES, "", step.name)
                labels = _labels(ns) or {}
        elif not step.namespace:
            # Cluster-scoped resources other than namespaces are never exempted.
            return True
        else:
            ns = self._store.get(NAMESPACES, "", step.namespace)
            labels = _labels(ns) or {}
        return label_selector_matches(selector, labels)

    async def _mutate(
        self, step: AdmissionStep, context: RequestContext, warnings: list[str]
    ) -> JsonObj | None:
        """The mutating webhooks in order, each seeing the previous one's patch. A webhook with
        ``reinvocationPolicy: IfNeeded`` is called once more, after the others, when a webhook
        called after it changed the object (as kube-apiserver reinvokes, at most once)."""
        hooks = self._matching(MUTATING_WEBHOOKS, step)
        obj = step.obj
        reinvocable: list[int] = []  # ids of IfNeeded webhooks called so far
        again: set[int] = set()
        for hook in hooks:
            before = obj
            obj = await self._call_mutating(hook, step, obj, context, warnings)
            if obj is not before and obj != before:
                again.update(reinvocable)
            if hook.get("reinvocationPolicy") == "IfNeeded":
                reinvocable.append(id(hook))
        for hook in hooks:
            if id(hook) in again:
                obj = await self._call_mutating(hook, step, obj, context, warnings)
        return obj

    async def _call_mutating(
        self,
        hook: JsonObj,
        step: AdmissionStep,
        obj: JsonObj | None,
        context: RequestContext,
        warnings: list[str],
    ) -> JsonObj | None:
        answer = await self._call_hook(hook, attrs.evolve(step, obj=obj), context, mutating=True)
        if answer is None:
            return obj
        warnings.extend(answer.get("warnings") or [])
        if not answer.get("allowed"):
            raise _denied(hook["name"], answer.get("status"))
        patch = answer.get("patch")
        if patch and obj is not None:
            return _apply_patch(obj, patch)
        return obj

    async def _validate(
        self, step: AdmissionStep, context: RequestContext, warnings: list[str]
    ) -> None:
        hooks = self._matching(VALIDATING_WEBHOOKS, step)
        if not hooks:
            return
        answers = await asyncio.gather(
            *(self._call_hook(h, step, context, mutating=False) for h in hooks),
            return_exceptions=True,
        )
        first_error: BaseException | None = None
        for hook, answer in zip(hooks, answers, strict=True):
            if isinstance(answer, BaseException):
                first_error = first_error or answer
                continue
            if answer is None:
                continue
            warnings.extend(answer.get("warnings") or [])
            if not answer.get("allowed") and first_error is None:
                first_error = _denied(hook["name"], answer.get("status"))
        if first_error is not None:
            raise first_error

    # -- one call --------------------------------------------------------------------------

    async def _call_hook(
        self, hook: JsonObj, step: AdmissionStep, context: RequestContext, *, mutating: bool
    ) -> JsonObj | None:
        """The webhook's ``response``; ``None`` when the call failed under ``failurePolicy:
        Ignore``. A failure under ``Fail`` raises kube-apiserver's InternalError."""
        name = hook.get("name", "")
        try:
            return await self._call(hook, step, context, mutating=mutating)
        except _CallFailed as exc:
            if hook.get("failurePolicy", "Fail") == "Ignore":
                _log.info("webhook %s failed and is ignored: %s", name, exc)
                return None
            reason = f'failed calling webhook "{name}": {exc}'
            raise ApiError(
                500,
                "InternalError",
                f"Internal error occurred: {reason}",
                details={"causes": [{"message": reason}]},
            ) from None

    def _endpoint(self, hook: JsonObj, timeout: int) -> tuple[str, str, str | None]:
        """(URL shown in errors, URL to connect to, TLS server name override)."""
        config = hook.get("clientConfig") or {}
        query = f"?timeout={timeout}s"
        if config.get("url"):
            url = str(config["url"]) + query
            return url, url, None
        service = config.get("service") or {}
        namespace, svc = service.get("namespace", ""), service.get("name", "")
        port = int(service.get("port", 443))
        path = service.get("path") or ""
        server_name = f"{svc}.{namespace}.svc"
        shown = f"https://{server_name}:{port}{path}{query}"
        base = self.services.get((namespace, svc, port))
        if base is None:
            raise _CallFailed(f'failed to call webhook: Post "{shown}": service "{svc}" not found')
        return shown, base.rstrip("/") + path + query, server_name

    def _ssl_context(self, ca_bundle: str) -> ssl.SSLContext:
        context = self._contexts.get(ca_bundle)
        if context is None:
            if ca_bundle:
                pem = base64.b64decode(ca_bundle).decode()
                context = ssl.create_default_context(cadata=pem)
            else:
                context = ssl.create_default_context()
            self._contexts[ca_bundle] = context
        return context

    async def _call(
        self, hook: JsonObj, step: AdmissionStep, context: RequestContext, *, mutating: bool
    ) -> JsonObj:
        timeout = int(hook.get("timeoutSeconds") or 10)
        shown, url, server_name = self._endpoint(hook, timeout)
        uid = new_uid()
        body = jsonwire.dumps(_review(uid, step, context))
        try:
            ssl_context = self._ssl_context((hook.get("clientConfig") or {}).get("caBundle") or "")
        except (ValueError, ssl.SSLError) as exc:
            raise _CallFailed(f"failed to call webhook: bad caBundle: {exc}") from None
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self.calls += 1
        try:
            async with asyncio.timeout(timeout):
                async with self._session.post(
                    url,
                    data=body,
                    headers={"Content-Type": "application/json", "Accept": "application/json, */*"},
                    ssl=ssl_context,
                    server_hostname=server_name,
                ) as response:
                    raw = await response.read()
                    status = response.status
        except TimeoutError:
            raise _CallFailed(
                f'failed to call webhook: Post "{shown}": context deadline exceeded'
            ) from None
        except aiohttp.ClientConnectorCertificateError:
            raise _CallFailed(
                f'failed to call webhook: Post "{shown}": tls: failed to verify certificate: '
                "x509: certificate signed by unknown authority"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise _CallFailed(
                f'failed to call webhook: Post "{shown}": {_dial_error(url, exc)}'
            ) from None
        except aiohttp.ClientError as exc:
            raise _CallFailed(f'failed to call webhook: Post "{shown}": {exc}') from None
        if not 200 <= status < 300:
            text = raw.decode(errors="replace")[:1024]
            raise _CallFailed(
                f'failed to call webhook: an error on the server ("{text}") has prevented the '
                "request from succeeding"
            )
        try:
            review = jsonwire.loads(raw)
        except ValueError as exc:
            raise _CallFailed(f"failed to call webhook: {exc}") from None
        return _verified(review, uid, mutating=mutating)


def _review(uid: str, step: AdmissionStep, context: RequestContext) -> JsonObj:
    rt = step.rt
    kind = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    resource = {"group": rt.group, "version": rt.version, "resource": rt.plural}
    request: JsonObj = {"uid": uid, "kind": kind, "resource": resource}
    if step.subresource:
        request["subResource"] = step.subresource
    request["requestKind"] = kind
    request["requestResource"] = resource
    if step.subresource:
        request["requestSubResource"] = step.subresource
    if step.name:
        request["name"] = step.name
    namespace = step.name if rt.key == NAMESPACES else step.namespace
    if namespace:
        request["namespace"] = namespace
    request["operation"] = step.operation
    request["userInfo"] = context.user
    request["object"] = step.obj
    request["oldObject"] = step.old
    request["dryRun"] = context.dry_run
    options = context.options(step.operation)
    if rt.key == NAMESPACES and step.operation == "DELETE" and step.old is not None:
        # The namespace store deletes with a uid precondition of its own, which shows here.
        preconditions = dict(options.get("preconditions") or {})
        preconditions.setdefault("uid", step.old["metadata"].get("uid", ""))
        options["preconditions"] = preconditions
    request["options"] = options
    return {"kind": "AdmissionReview", "apiVersion": REVIEW_API_VERSION, "request": request}


def _verified(review: Any, uid: str, *, mutating: bool) -> JsonObj:
    """The ``response`` of a webhook's review, checked as kube-apiserver checks it."""

    def invalid(why: str) -> _CallFailed:
        return _CallFailed(f"received invalid webhook response: {why}")

    if not isinstance(review, dict):
        raise invalid("webhook response was absent")
    response = review.get("response")
    if not isinstance(response, dict):
        raise invalid("webhook response was absent")
    if response.get("uid") != uid:
        raise invalid(f'expected response.uid="{uid}", got "{response.get("uid", "")}"')
    if review.get("apiVersion") != REVIEW_API_VERSION or review.get("kind") != "AdmissionReview":
        raise invalid(
            f"expected webhook response of {REVIEW_API_VERSION}, Kind=AdmissionReview, got "
            f"{review.get('apiVersion', '')}, Kind={review.get('kind', '')}"
        )
    patch = response.get("patch") or ""
    patch_type = response.get("patchType") or ""
    if patch and not patch_type:
        raise invalid("webhook returned response.patch but not response.patchType")
    if patch_type and not patch:
        raise invalid("webhook returned response.patchType but not response.patch")
    if patch_type and patch_type != "JSONPatch":
        raise invalid(f'webhook returned invalid response.patchType of "{patch_type}"')
    if patch and not mutating:
        raise invalid("validating webhook may not return response.patch")
    if patch:
        try:
            operations = jsonwire.loads(base64.b64decode(patch))
        except ValueError as exc:
            raise _CallFailed(f"received undecodable patch in webhook response: {exc}") from None
        if not isinstance(operations, list):
            raise _CallFailed(
                "received undecodable patch in webhook response: the patch is not a list"
            )
        response = {**response, "patch": operations}
    return response


def _denied(name: str, status: Any) -> ApiError:
    """kube-apiserver's error for a webhook that said no (its ``ToStatusErr``)."""
    result: JsonObj = status if isinstance(status, dict) else {}
    prefix = f'admission webhook "{name}" denied the request'
    if result.get("message"):
        message = f"{prefix}: {result['message']}"
    elif result.get("reason"):
        message = f"{prefix}: {result['reason']}"
    else:
        message = f"{prefix} without explanation"
    code = result.get("code")
    code = code if isinstance(code, int) and code >= 400 else 400
    details = result.get("details")
    return ApiError(
        code,
        str(result.get("reason") or ""),
        message,
        details=details if isinstance(details, dict) else None,
    )


def _apply_patch(obj: JsonObj, operations: list[Any]) -> JsonObj:
    """Apply a webhook's JSON patch; a failure is an InternalError naming the operation,
    as kube-apiserver reports it (not a call failure: ``failurePolicy`` does not apply)."""
    patched: Any = obj
    for operation in operations:
        op = operation.get("op", "") if isinstance(operation, dict) else ""
        path = operation.get("path", "") if isinstance(operation, dict) else ""
        try:
            patched = jsonpatch.JsonPatch([operation]).apply(patched, in_place=False)
        except (
            jsonpatch.JsonPatchException,
            jsonpatch.JsonPointerException,
            TypeError,
            KeyError,
            IndexError,
            ValueError,
        ) as exc:
            why = str(exc)
            if op == "remove" and "non-existent" in why:
                key = path.rsplit("/", 1)[-1]
                why = f"Unable to remove nonexistent key: {key}: missing value"
            reason = f"error in {op} for path: '{path}': {why}"
            raise ApiError(
                500,
                "InternalError",
                f"Internal error occurred: {reason}",
                details={"causes": [{"message": reason}]},
            ) from None
    if not isinstance(patched, dict):
        raise ApiError(
            500, "InternalError", "Internal error occurred: the patched object is not an object"
        )
    return patched


def _dial_error(url: str, exc: aiohttp.ClientConnectorError) -> str:
    """Go's wording of a failed dial (``dial tcp host:port: connect: connection refused``)."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or 443
    address = f"{parts.hostname}:{port}"
    os_error = exc.os_error
    if isinstance(os_error, ConnectionRefusedError):
        return f"dial tcp {address}: connect: connection refused"
    with contextlib.suppress(AttributeError):
        if os_error.strerror:
            return f"dial tcp {address}: connect: {os_error.strerror.lower()}"
    return f"dial tcp {address}: {os_error}"

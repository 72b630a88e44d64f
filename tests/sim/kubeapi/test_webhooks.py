"""Contract: admission webhooks are called as kube-apiserver calls them (rules, selectors,
AdmissionReview v1 over HTTPS with caBundle, failurePolicy, timeoutSeconds, mutating before
validating with JSON patches, dryRun, warnings), against a small HTTPS webhook server of the
test on 127.0.0.1 that a real kube-apiserver on loopback can reach too.

A real server applies a new configuration after a short delay (its informer): each
configuration carries an observer webhook, called only for probe objects, and a test starts once
a dry-run probe reached it."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import yaml
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.rest import ApiException

from sim.kubeapi.testing import RunningEmulator
from tests.sim.kubeapi.conftest import GROUP, KUBECTL, VERSION, Target, wait_for
from tests.sim.kubeapi.webhook_server import WebhookServer, allow, certificates, deny

JsonObj = dict[str, Any]
PROBE_LABEL = "contract-probe"
SERVICE_NAME = "hooks"
SERVICE_NAMESPACE = "contract-webhooks"
MERGE = "application/merge-patch+json"
_probes = itertools.count()


def widget_rule(*operations: str, resources: tuple[str, ...] = ("widgets",)) -> JsonObj:
    return {
        "apiGroups": [GROUP],
        "apiVersions": [VERSION],
        "resources": list(resources),
        "operations": list(operations),
    }


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Hooks:
    """Creates webhook configurations for one test (deleted afterwards) and waits until the
    server applies them."""

    def __init__(self, target: Target, server: WebhookServer) -> None:
        self.target = target
        self.server = server
        self.created: list[tuple[str, str]] = []
        self._api: Any = k8s.AdmissionregistrationV1Api(target.api)

    def hook(
        self,
        name: str,
        url: str | None = None,
        *,
        rules: list[JsonObj] | None = None,
        failure_policy: str | None = None,
        timeout: int | None = None,
        object_selector: JsonObj | None = None,
        namespace_selector: JsonObj | None = None,
        service: JsonObj | None = None,
        side_effects: str = "None",
    ) -> JsonObj:
        hook: JsonObj = {
            "name": f"{name}.contract.kubeapi.test",
            "clientConfig": {"url": url} if service is None else {"service": service},
            "rules": rules if rules is not None else [widget_rule("CREATE", "UPDATE")],
            "sideEffects": side_effects,
            "admissionReviewVersions": ["v1"],
            "namespaceSelector": namespace_selector
            if namespace_selector is not None
            else {"matchLabels": {"kubernetes.io/metadata.name": self.target.namespace}},
        }
        hook["clientConfig"]["caBundle"] = self.server.certs.ca_bundle
        if failure_policy is not None:
            hook["failurePolicy"] = failure_policy
        if timeout is not None:
            hook["timeoutSeconds"] = timeout
        if object_selector is not None:
            hook["objectSelector"] = object_selector
        return hook

    def _observer(self, config: str) -> JsonObj:
        path = f"observe-{config}"
        return self.hook(
            f"observe-{config}",
            self.server.on(path, allow()),
            rules=[widget_rule("CREATE")],
            object_selector={"matchLabels": {PROBE_LABEL: "yes"}},
        )

    async def validating(self, purpose: str, *hooks: JsonObj) -> str:
        name = f"{self.target.namespace}-{purpose}"
        body = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [*hooks, self._observer(name)],
        }
        await self._api.create_validating_webhook_configuration(body)
        self.created.append(("validating", name))
        await self._until_active(name)
        return name

    async def mutating(self, purpose: str, *hooks: JsonObj) -> str:
        name = f"{self.target.namespace}-{purpose}"
        body = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name},
            # The observer first: a failing webhook stops the ones after it.
            "webhooks": [self._observer(name), *hooks],
        }
        await self._api.create_mutating_webhook_configuration(body)
        self.created.append(("mutating", name))
        await self._until_active(name)
        return name

    async def _until_active(self, config: str) -> None:
        path = f"observe-{config}"

        async def probed() -> bool:
            probe = self.target.widget(f"probe-{next(_probes)}")
            probe["metadata"]["labels"] = {PROBE_LABEL: "yes"}
            try:
                await self.target.custom.create_namespaced_custom_object(
                    GROUP, VERSION, self.target.namespace, "widgets", probe, dry_run="All"
                )
            except ApiException:
                pass  # another webhook of the configuration may refuse it
            return bool(self.server.received(path))

        await wait_for(probed, timeout=30, interval=0.1)

    def calls(self, path: str) -> list[JsonObj]:
        """What ``path`` received, without the probes."""
        return [r for r in self.server.received(path) if not _is_probe(r)]

    async def cleanup(self) -> None:
        for kind, name in self.created:
            try:
                if kind == "validating":
                    await self._api.delete_validating_webhook_configuration(name)
                else:
                    await self._api.delete_mutating_webhook_configuration(name)
            except ApiException:
                pass


def _is_probe(review: JsonObj) -> bool:
    for key in ("object", "oldObject"):
        obj = review.get(key) or {}
        if ((obj.get("metadata") or {}).get("labels") or {}).get(PROBE_LABEL) == "yes":
            return True
    return False


@pytest_asyncio.fixture
async def hooks(target: Target) -> AsyncIterator[Hooks]:
    server = WebhookServer(certificates(f"{SERVICE_NAME}.{SERVICE_NAMESPACE}.svc"))
    await server.start()
    helper = Hooks(target, server)
    try:
        yield helper
    finally:
        await helper.cleanup()
        await server.close()


def status_of(exc: ApiException) -> JsonObj:
    body: JsonObj = json.loads(exc.body or b"{}")
    return body


async def create_refused(target: Target, body: JsonObj) -> ApiException:
    with pytest.raises(ApiException) as caught:
        await target.custom.create_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", body
        )
    return caught.value


# -- validating ------------------------------------------------------------------------------


async def test_denied_with_message_and_the_review_the_webhook_received(
    target: Target, hooks: Hooks
):
    url = hooks.server.on("deny", deny("red widgets are not allowed here"))
    await hooks.validating("deny", hooks.hook("deny", url))

    exc = await create_refused(target, target.widget("w1"))
    status = status_of(exc)
    assert exc.status == 403
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        'admission webhook "deny.contract.kubeapi.test" denied the request: '
        "red widgets are not allowed here"
    )
    [review] = hooks.calls("deny")
    assert review["uid"]
    assert review["kind"] == {"group": GROUP, "version": VERSION, "kind": "Widget"}
    assert review["resource"] == {"group": GROUP, "version": VERSION, "resource": "widgets"}
    assert review["requestKind"] == review["kind"]
    assert review["requestResource"] == review["resource"]
    assert "subResource" not in review
    assert review["name"] == "w1"
    assert review["namespace"] == target.namespace
    assert review["operation"] == "CREATE"
    assert review["userInfo"]["username"]
    assert review["object"]["spec"]["color"] == "red"
    # Schema defaults are applied before admission.
    assert review["object"]["spec"]["size"] == 1
    assert review["oldObject"] is None
    assert review["dryRun"] is False
    assert review["options"]["kind"] == "CreateOptions"
    assert review["options"]["apiVersion"] == "meta.k8s.io/v1"
    # Nothing was stored.
    with pytest.raises(ApiException) as missing:
        await target.get_widget("w1")
    assert missing.value.status == 404


async def test_update_sees_old_object_and_can_be_denied(target: Target, hooks: Hooks):
    await target.create_widget("w1", size=2)

    def only_small(request: JsonObj) -> JsonObj:
        if request["object"]["spec"].get("size", 0) > 5:
            return {"allowed": False, "status": {"message": "too big", "code": 422}}
        return {"allowed": True}

    url = hooks.server.on("small", only_small)
    await hooks.validating("small", hooks.hook("small", url, rules=[widget_rule("UPDATE")]))
    with pytest.raises(ApiException) as caught:
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "w1",
            {"spec": {"size": 9}},
            _content_type=MERGE,
        )
    status = status_of(caught.value)
    assert caught.value.status == 422, json.dumps(status)
    assert status["message"] == (
        'admission webhook "small.contract.kubeapi.test" denied the request: too big'
    )
    assert "reason" not in status or status["reason"] == ""
    [review] = hooks.calls("small")
    assert review["operation"] == "UPDATE"
    assert review["oldObject"]["spec"]["size"] == 2
    assert review["object"]["spec"]["size"] == 9
    assert review["options"]["kind"] == "UpdateOptions"
    assert (await target.get_widget("w1"))["spec"]["size"] == 2
    await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w1",
        {"spec": {"size": 4}},
        _content_type=MERGE,
    )
    assert (await target.get_widget("w1"))["spec"]["size"] == 4


async def test_denied_without_message_or_reason(target: Target, hooks: Hooks):
    url = hooks.server.on("mute", lambda _r: {"allowed": False})
    await hooks.validating("mute", hooks.hook("mute", url))
    exc = await create_refused(target, target.widget("w1"))
    assert exc.status == 400
    assert status_of(exc)["message"] == (
        'admission webhook "mute.contract.kubeapi.test" denied the request without explanation'
    )


@pytest.mark.kubectl
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
async def test_allowed_with_warnings_printed_by_kubectl(target: Target, hooks: Hooks):
    url = hooks.server.on("warn", allow(warnings=["widgets are deprecated", "use gadgets"]))
    await hooks.validating("warn", hooks.hook("warn", url))
    manifest = yaml.safe_dump(target.widget("w1"))
    result = await target.kubectl("apply", "-f", "-", stdin=manifest)
    assert "widget.contract.kubeapi.test/w1 created" in result.stdout
    assert "Warning: widgets are deprecated" in result.stderr
    assert "Warning: use gadgets" in result.stderr
    # Also on a denial: the warnings come with the error.
    hooks.server.on("warn", deny("no more", warnings=["last warning"]))
    result = await target.kubectl(
        "apply", "-f", "-", stdin=yaml.safe_dump(target.widget("w1", size=3)), check=False
    )
    assert result.returncode != 0
    assert "Warning: last warning" in result.stderr
    assert 'admission webhook "warn.contract.kubeapi.test" denied the request: no more' in (
        result.stderr
    )


# -- mutating --------------------------------------------------------------------------------


async def test_mutation_by_json_patch_runs_before_validation(target: Target, hooks: Hooks):
    def label_and_resize(request: JsonObj) -> JsonObj:
        labels = request["object"]["metadata"].get("labels")
        add_label = (
            {"op": "add", "path": "/metadata/labels/mutated", "value": "yes"}
            if labels
            else {"op": "add", "path": "/metadata/labels", "value": {"mutated": "yes"}}
        )
        patch = [add_label, {"op": "replace", "path": "/spec/size", "value": 7}]
        answer = allow(patch=patch)(request)
        assert isinstance(answer, dict)
        return answer

    mutate_url = hooks.server.on("mutate", label_and_resize)
    check_url = hooks.server.on("check", allow())
    await hooks.validating("check", hooks.hook("check", check_url))
    await hooks.mutating("mutate", hooks.hook("mutate", mutate_url))

    created = await target.create_widget("w1")
    assert created["metadata"]["labels"] == {"mutated": "yes"}
    assert created["spec"]["size"] == 7
    stored = await target.get_widget("w1")
    assert stored["metadata"]["labels"] == {"mutated": "yes"}
    assert stored["spec"]["size"] == 7
    [mutated] = hooks.calls("mutate")
    assert mutated["object"]["spec"]["size"] == 1
    [validated] = hooks.calls("check")
    assert validated["object"]["spec"]["size"] == 7
    assert validated["object"]["metadata"]["labels"] == {"mutated": "yes"}
    assert validated["object"]["metadata"]["uid"] == stored["metadata"]["uid"]


async def test_reinvocation_if_needed(target: Target, hooks: Hooks):
    def count_calls(request: JsonObj) -> JsonObj:
        labels = request["object"]["metadata"].get("labels") or {}
        calls = int(labels.get("a-calls", "0")) + 1
        value = {**labels, "a-calls": str(calls)}
        answer = allow(patch=[{"op": "add", "path": "/metadata/labels", "value": value}])(request)
        assert isinstance(answer, dict)
        return answer

    def add_b(request: JsonObj) -> JsonObj:
        labels = request["object"]["metadata"].get("labels") or {}
        if labels.get("b") == "yes":
            return {"allowed": True}
        value = {**labels, "b": "yes"}
        answer = allow(patch=[{"op": "add", "path": "/metadata/labels", "value": value}])(request)
        assert isinstance(answer, dict)
        return answer

    first = hooks.hook("again", hooks.server.on("again", count_calls))
    first["reinvocationPolicy"] = "IfNeeded"
    second = hooks.hook("once", hooks.server.on("once", add_b))
    await hooks.mutating("reinvoke", first, second)
    created = await target.create_widget("w1")
    assert created["metadata"]["labels"] == {"a-calls": "2", "b": "yes"}
    calls = hooks.calls("again")
    assert [r["name"] for r in calls] == ["w1", "w1"]
    assert calls[1]["object"]["metadata"]["labels"] == {"a-calls": "1", "b": "yes"}
    assert [r["name"] for r in hooks.calls("once")] == ["w1"]


async def test_mutating_webhook_denies(target: Target, hooks: Hooks):
    url = hooks.server.on(
        "mdeny", deny("nope", code=409, reason="Conflict", warnings=["before the no"])
    )
    await hooks.mutating("mdeny", hooks.hook("mdeny", url))
    exc = await create_refused(target, target.widget("w1"))
    assert exc.status == 409
    status = status_of(exc)
    assert status["reason"] == "Conflict"
    assert (
        status["message"]
        == 'admission webhook "mdeny.contract.kubeapi.test" denied the request: nope'
    )
    assert exc.headers is not None
    assert exc.headers.getall("Warning") == ['299 - "before the no"']


async def test_mutated_object_is_pruned_and_validated_again(target: Target, hooks: Hooks):
    def patch_for(request: JsonObj) -> JsonObj:
        name = request["object"]["metadata"].get("name", "")
        if name == "purple":
            ops = [{"op": "replace", "path": "/spec/color", "value": "purple"}]
        else:
            ops = [{"op": "add", "path": "/spec/bogus", "value": "x"}]
        answer = allow(patch=ops)(request)
        assert isinstance(answer, dict)
        return answer

    url = hooks.server.on("patcher", patch_for)
    await hooks.mutating("patcher", hooks.hook("patcher", url))
    exc = await create_refused(target, target.widget("purple"))
    assert exc.status == 422
    assert status_of(exc)["message"] == (
        'Widget.contract.kubeapi.test "purple" is invalid: spec.color: Unsupported value: '
        '"purple": supported values: "red", "green", "blue"'
    )
    # A field the webhook adds that the schema does not know is dropped without a word, even
    # under strict field validation (kubectl create's default).
    result = await target.kubectl("create", "-f", "-", stdin=yaml.safe_dump(target.widget("bogus")))
    assert "created" in result.stdout
    assert result.stderr == ""
    assert "bogus" not in (await target.get_widget("bogus"))["spec"]


def _patch_answer(operations: Any, **fields: Any) -> Any:
    def answer(_request: JsonObj) -> JsonObj:
        encoded = base64.b64encode(json.dumps(operations).encode()).decode()
        return {"allowed": True, "patch": encoded, **fields}

    return answer


BAD_ANSWERS = {
    "remove of a missing key": (
        "mutating",
        _patch_answer([{"op": "remove", "path": "/spec/nothere"}], patchType="JSONPatch"),
        "Internal error occurred: error in remove for path: '/spec/nothere': Unable to remove "
        "nonexistent key: nothere: missing value",
    ),
    "patch without patchType": (
        "mutating",
        _patch_answer([{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}]),
        'Internal error occurred: failed calling webhook "bad.contract.kubeapi.test": received '
        "invalid webhook response: webhook returned response.patch but not response.patchType",
    ),
    "patch from a validating webhook": (
        "validating",
        _patch_answer(
            [{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}], patchType="JSONPatch"
        ),
        'Internal error occurred: failed calling webhook "bad.contract.kubeapi.test": received '
        "invalid webhook response: validating webhook may not return response.patch",
    ),
    "another uid": (
        "validating",
        lambda _r: {"allowed": True, "uid": "not-the-request"},
        'Internal error occurred: failed calling webhook "bad.contract.kubeapi.test": received '
        'invalid webhook response: expected response.uid="',
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
async def test_invalid_webhook_answers(target: Target, hooks: Hooks, case: str):
    kind, answer, expected = BAD_ANSWERS[case]
    url = hooks.server.on("bad", answer)
    if kind == "mutating":
        await hooks.mutating("bad", hooks.hook("bad", url))
    else:
        await hooks.validating("bad", hooks.hook("bad", url))
    exc = await create_refused(target, target.widget("w1"))
    assert exc.status == 500
    status = status_of(exc)
    assert status["reason"] == "InternalError"
    assert status["message"].startswith(expected)
    assert status["details"]["causes"][0]["message"] == status["message"].removeprefix(
        "Internal error occurred: "
    )


@pytest.mark.parametrize(
    ("status", "code", "reason", "message"),
    [
        ({"reason": "SomeReason"}, 400, "SomeReason", "denied the request: SomeReason"),
        ({"code": 200, "message": "m", "status": "Success"}, 400, None, "denied the request: m"),
        (
            {"code": 422, "reason": "Invalid", "message": "m"},
            422,
            "Invalid",
            "denied the request: m",
        ),
    ],
)
async def test_denial_status_codes(
    target: Target, hooks: Hooks, status: JsonObj, code: int, reason: str | None, message: str
):
    url = hooks.server.on("deny", lambda _r: {"allowed": False, "status": status})
    await hooks.validating("deny", hooks.hook("deny", url))
    exc = await create_refused(target, target.widget("w1"))
    assert exc.status == code
    body = status_of(exc)
    assert body.get("reason") == reason
    assert body["message"] == f'admission webhook "deny.contract.kubeapi.test" {message}'


@pytest.mark.kubectl
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
async def test_warnings_are_sanitised_like_kube_apiserver(target: Target, hooks: Hooks):
    warnings = ['say "hi", there', "caf\u00e9 \u2603", "tab\there", "", "dup", "dup", "back\\slash"]
    url = hooks.server.on("warn", allow(warnings=warnings))
    await hooks.validating("warn", hooks.hook("warn", url))
    result = await target.kubectl("create", "-f", "-", stdin=yaml.safe_dump(target.widget("w1")))
    printed = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert printed == [
        'Warning: say "hi", there',
        "Warning: caf\u00e9 \u2603",
        "Warning: dup",
        "Warning: back\\slash",
    ]


# -- failures --------------------------------------------------------------------------------


async def test_failure_policy_fail_with_the_webhook_down(target: Target, hooks: Hooks):
    port = closed_port()
    down = f"https://127.0.0.1:{port}/down"
    await hooks.validating("down", hooks.hook("down", down))
    exc = await create_refused(target, target.widget("w1"))
    assert exc.status == 500
    status = status_of(exc)
    assert status["reason"] == "InternalError"
    assert status["message"] == (
        'Internal error occurred: failed calling webhook "down.contract.kubeapi.test": '
        f'failed to call webhook: Post "https://127.0.0.1:{port}/down?timeout=10s": '
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    )


async def test_failure_policy_ignore_with_the_webhook_down(target: Target, hooks: Hooks):
    down = f"https://127.0.0.1:{closed_port()}/down"
    await hooks.validating("ignore", hooks.hook("ignored", down, failure_policy="Ignore"))
    await hooks.mutating("ignore", hooks.hook("ignored", down, failure_policy="Ignore"))
    created = await target.create_widget("w1")
    assert created["metadata"]["name"] == "w1"


async def test_unknown_certificate_authority_is_a_call_failure(target: Target, hooks: Hooks):
    url = hooks.server.on("untrusted", allow())
    other_ca = certificates("other.example")
    hook = hooks.hook("untrusted", url)
    hook["clientConfig"]["caBundle"] = other_ca.ca_bundle
    await hooks.validating("untrusted", hook)
    exc = await create_refused(target, target.widget("w1"))
    message = status_of(exc)["message"]
    assert message.startswith(
        'Internal error occurred: failed calling webhook "untrusted.contract.kubeapi.test": '
        f'failed to call webhook: Post "{url}?timeout=10s": tls: failed to verify certificate: '
        "x509: certificate signed by unknown authority"
    )
    assert hooks.calls("untrusted") == []


async def test_timeout(target: Target, hooks: Hooks):
    release = asyncio.Event()

    async def slow(_request: JsonObj) -> JsonObj:
        await release.wait()
        return {"allowed": True}

    url = hooks.server.on("slow", slow)
    await hooks.validating("slow", hooks.hook("slow", url, timeout=1))
    try:
        exc = await create_refused(target, target.widget("w1"))
    finally:
        release.set()
    assert exc.status == 500
    message = status_of(exc)["message"]
    assert message.startswith(
        'Internal error occurred: failed calling webhook "slow.contract.kubeapi.test": '
        f'failed to call webhook: Post "{url}?timeout=1s": context deadline exceeded'
    )


async def test_timeout_under_failure_policy_ignore_admits(target: Target, hooks: Hooks):
    release = asyncio.Event()

    async def slow(_request: JsonObj) -> JsonObj:
        await release.wait()
        return {"allowed": False, "status": {"message": "too late to matter"}}

    url = hooks.server.on("slow", slow)
    await hooks.validating("slow", hooks.hook("slow", url, timeout=1, failure_policy="Ignore"))
    try:
        created = await target.create_widget("w1")
    finally:
        release.set()
    assert created["metadata"]["name"] == "w1"
    assert [r["name"] for r in hooks.calls("slow")] == ["w1"]


async def test_service_reference_that_cannot_be_resolved(target: Target, hooks: Hooks):
    service = {"namespace": target.namespace, "name": "nowhere", "path": "/validate"}
    await hooks.validating("svc", hooks.hook("svc", service=service))
    exc = await create_refused(target, target.widget("w1"))
    assert status_of(exc)["message"] == (
        'Internal error occurred: failed calling webhook "svc.contract.kubeapi.test": '
        f'failed to call webhook: Post "https://nowhere.{target.namespace}.svc:443/validate'
        f'?timeout=10s": service "nowhere" not found'
    )


async def test_service_reference_mapped_by_the_test_hook(
    target: Target, hooks: Hooks, emulator_only: RunningEmulator
):
    """Emulator only: ``/_sim/webhooks/services`` stands a URL in for a Service; the TLS server
    name is still the Service's DNS name, which the webhook's certificate must carry."""
    url = hooks.server.on("svc", deny("refused through the service"))
    async with aiohttp.ClientSession() as session:
        mapping = {
            "namespace": SERVICE_NAMESPACE,
            "name": SERVICE_NAME,
            "port": 8443,
            "url": f"https://127.0.0.1:{hooks.server.port}",
        }
        async with session.post(f"{emulator_only.url}/_sim/webhooks/services", json=mapping) as r:
            assert r.status == 200
    service = {"namespace": SERVICE_NAMESPACE, "name": SERVICE_NAME, "port": 8443, "path": "/svc"}
    await hooks.validating("svc", hooks.hook("svc", service=service))
    exc = await create_refused(target, target.widget("w1"))
    assert status_of(exc)["message"] == (
        'admission webhook "svc.contract.kubeapi.test" denied the request: refused through the '
        "service"
    )
    assert url.endswith("/svc")
    assert [r["name"] for r in hooks.calls("svc")] == ["w1"]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emulator_only.url}/_sim/stats") as r,
    ):
        stats = await r.json()
    # The observer's probe and the create.
    assert stats["webhookCalls"] == len(hooks.server.received("svc")) + len(
        hooks.server.received(f"observe-{target.namespace}-svc")
    )


# -- matching --------------------------------------------------------------------------------


async def test_object_selector(target: Target, hooks: Hooks):
    url = hooks.server.on("labelled", deny("labelled widgets are refused"))
    selector = {"matchLabels": {"refuse": "yes"}}
    await hooks.validating("labelled", hooks.hook("labelled", url, object_selector=selector))
    await target.create_widget("plain")
    labelled = target.widget("labelled")
    labelled["metadata"]["labels"] = {"refuse": "yes"}
    exc = await create_refused(target, labelled)
    assert "labelled widgets are refused" in status_of(exc)["message"]
    assert [r["name"] for r in hooks.calls("labelled")] == ["labelled"]
    # An update is matched on the new object (or the old one): adding the label is refused.
    with pytest.raises(ApiException) as caught:
        await target.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            target.namespace,
            "widgets",
            "plain",
            {"metadata": {"labels": {"refuse": "yes"}}},
            _content_type=MERGE,
        )
    assert "labelled widgets are refused" in status_of(caught.value)["message"]
    assert [(r["operation"], r["name"]) for r in hooks.calls("labelled")] == [
        ("CREATE", "labelled"),
        ("UPDATE", "plain"),
    ]


async def test_namespace_selector(target: Target, hooks: Hooks):
    label = f"webhooks-{target.namespace}"
    url = hooks.server.on("ns", deny("this namespace is closed"))
    selector = {"matchLabels": {label: "on"}}
    await hooks.validating("ns", hooks.hook("ns", url, namespace_selector=selector))
    await target.create_widget("before")
    assert hooks.calls("ns") == []
    await target.core.patch_namespace(target.namespace, {"metadata": {"labels": {label: "on"}}})

    async def refused() -> bool:
        body = target.widget(f"after-{next(_probes)}")
        try:
            await target.custom.create_namespaced_custom_object(
                GROUP, VERSION, target.namespace, "widgets", body, dry_run="All"
            )
        except ApiException as exc:
            return "this namespace is closed" in status_of(exc)["message"]
        return False

    await wait_for(refused, timeout=30, interval=0.1)
    assert all(r["namespace"] == target.namespace for r in hooks.calls("ns"))


async def test_scope_and_built_in_resources(target: Target, hooks: Hooks):
    def core_rule(scope: str) -> JsonObj:
        return {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["namespaces", "configmaps"],
            "operations": ["CREATE"],
            "scope": scope,
        }

    selector = {"matchLabels": {"scoped": target.namespace}}
    namespaced = hooks.server.on("namespaced", allow())
    cluster = hooks.server.on("cluster", allow())
    await hooks.validating(
        "scope",
        hooks.hook("namespaced", namespaced, rules=[core_rule("Namespaced")]),
        hooks.hook("cluster", cluster, rules=[core_rule("Cluster")], namespace_selector=selector),
    )
    await target.core.create_namespaced_config_map(target.namespace, {"metadata": {"name": "cm"}})
    other = f"{target.namespace}-scoped"
    await target.core.create_namespace(
        {"metadata": {"name": other, "labels": {"scoped": target.namespace}}}
    )
    try:
        [configmap] = hooks.calls("namespaced")
        assert configmap["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
        assert configmap["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
        assert configmap["namespace"] == target.namespace
        [namespace] = hooks.calls("cluster")
        assert namespace["kind"] == {"group": "", "version": "v1", "kind": "Namespace"}
        assert namespace["name"] == other
        # A Namespace's review names it as its own namespace, and its labels are those of
        # the new object (kubernetes.io/metadata.name included).
        assert namespace["namespace"] == other
        labels = namespace["object"]["metadata"]["labels"]
        assert labels == {"scoped": target.namespace, "kubernetes.io/metadata.name": other}
    finally:
        await target.core.delete_namespace(other)


async def test_operations_filter_and_delete(target: Target, hooks: Hooks):
    await target.create_widget("kept")
    await target.create_widget("gone")
    create_url = hooks.server.on("create-only", allow())
    delete_url = hooks.server.on(
        "delete-guard",
        lambda r: {"allowed": r["name"] != "kept", "status": {"message": "keep it"}},
    )
    await hooks.validating(
        "ops",
        hooks.hook("create-only", create_url, rules=[widget_rule("CREATE")]),
        hooks.hook("delete-guard", delete_url, rules=[widget_rule("DELETE")]),
    )
    await target.custom.delete_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", "gone"
    )
    with pytest.raises(ApiException) as caught:
        await target.custom.delete_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", "kept"
        )
    assert status_of(caught.value)["message"] == (
        'admission webhook "delete-guard.contract.kubeapi.test" denied the request: keep it'
    )
    assert hooks.calls("create-only") == []
    deletes = hooks.calls("delete-guard")
    assert [(r["operation"], r["name"]) for r in deletes] == [
        ("DELETE", "gone"),
        ("DELETE", "kept"),
    ]
    assert deletes[0]["object"] is None
    assert deletes[0]["oldObject"]["metadata"]["name"] == "gone"
    assert deletes[0]["options"]["kind"] == "DeleteOptions"
    assert (await target.get_widget("kept"))["metadata"]["name"] == "kept"


async def test_status_subresource_only_when_a_rule_names_it(target: Target, hooks: Hooks):
    await target.create_widget("w1")
    main_url = hooks.server.on("main", allow())
    status_url = hooks.server.on("status", allow())
    await hooks.validating(
        "sub",
        hooks.hook("main", main_url, rules=[widget_rule("UPDATE")]),
        hooks.hook(
            "status", status_url, rules=[widget_rule("UPDATE", resources=("widgets/status",))]
        ),
    )
    await target.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w1",
        {"status": {"phase": "Ready"}},
        _content_type=MERGE,
    )
    assert hooks.calls("main") == []
    [review] = hooks.calls("status")
    assert review["subResource"] == "status"
    assert review["requestSubResource"] == "status"
    assert review["object"]["status"] == {"phase": "Ready"}


async def test_write_racing_another_while_webhook_answers(target: Target, hooks: Hooks):
    """A patch whose object changes while its webhook answers is applied again to the new
    object (and its webhooks called again); an update naming the old resourceVersion conflicts."""
    await target.create_widget("w1")
    raced: list[str] = []
    race_with = ["yes"]

    async def race_once(request: JsonObj) -> JsonObj:
        if not raced and request["name"] == "w1":
            raced.append(race_with[0])
            await target.custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                target.namespace,
                "widgets",
                "w1",
                {"metadata": {"labels": {"raced": race_with[0]}}},
                _content_type=MERGE,
            )
        return {"allowed": True}

    url = hooks.server.on("race", race_once)
    await hooks.validating("race", hooks.hook("race", url, rules=[widget_rule("UPDATE")]))
    patched = await target.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        target.namespace,
        "widgets",
        "w1",
        {"spec": {"size": 5}},
        _content_type=MERGE,
    )
    assert patched["spec"]["size"] == 5
    assert patched["metadata"]["labels"] == {"raced": "yes"}
    seen = [
        (
            r["object"]["spec"].get("size"),
            (r["object"]["metadata"].get("labels") or {}).get("raced"),
        )
        for r in hooks.calls("race")
    ]
    # The patch, the racing patch (called while the first waits), the patch again on top of it.
    assert seen == [(5, None), (1, "yes"), (5, "yes")]
    stale = await target.get_widget("w1")
    raced.clear()
    race_with[0] = "again"
    stale["spec"]["size"] = 6
    with pytest.raises(ApiException) as caught:
        await target.custom.replace_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "widgets", "w1", stale
        )
    assert caught.value.status == 409
    assert status_of(caught.value)["message"] == (
        f'Operation cannot be fulfilled on widgets.{GROUP} "w1": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


# -- dry run ---------------------------------------------------------------------------------


async def test_dry_run_reaches_the_webhook(target: Target, hooks: Hooks):
    url = hooks.server.on("dry", allow())
    await hooks.validating("dry", hooks.hook("dry", url, side_effects="NoneOnDryRun"))
    await target.custom.create_namespaced_custom_object(
        GROUP, VERSION, target.namespace, "widgets", target.widget("w1"), dry_run="All"
    )
    [review] = hooks.calls("dry")
    assert review["dryRun"] is True
    assert review["options"]["dryRun"] == ["All"]
    with pytest.raises(ApiException) as missing:
        await target.get_widget("w1")
    assert missing.value.status == 404


# -- the configurations ----------------------------------------------------------------------


async def test_configuration_defaults(target: Target, hooks: Hooks):
    url = hooks.server.on("defaults", allow())
    name = await hooks.validating("defaults", hooks.hook("defaults", url))
    api: Any = k8s.AdmissionregistrationV1Api(target.api)
    stored = await api.read_validating_webhook_configuration(name)
    hook = stored.webhooks[0]
    assert hook.failure_policy == "Fail"
    assert hook.match_policy == "Equivalent"
    assert hook.timeout_seconds == 10
    assert hook.object_selector.to_dict() == {"match_expressions": None, "match_labels": None}
    assert hook.rules[0].scope == "*"
    assert stored.metadata.generation == 1
    mname = await hooks.mutating("defaults", hooks.hook("mdefaults", url))
    mutating = await api.read_mutating_webhook_configuration(mname)
    assert mutating.webhooks[1].reinvocation_policy == "Never"


def _set(path: str, value: Any) -> Any:
    def change(hook: JsonObj) -> None:
        *parents, last = path.split(".")
        node: Any = hook
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return change


_DELETE = object()
_FORM = "; desired format: https://host[/path]"
INVALID_CONFIGURATIONS = {
    "side effects Some and an http URL": (
        [_set("sideEffects", "Some"), _set("clientConfig.url", "http://127.0.0.1:1/x")],
        '[webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", '
        '"NoneOnDryRun", webhooks[0].clientConfig.url: Invalid value: "http": '
        f"'https' is the only allowed URL scheme{_FORM}]",
    ),
    "no side effects": (
        [_set("sideEffects", _DELETE)],
        "webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun",
    ),
    "timeout": (
        [_set("timeoutSeconds", 31)],
        "webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 "
        "and 30 seconds",
    ),
    "short name": (
        [_set("name", "a.b")],
        'webhooks[0].name: Invalid value: "a.b": should be a domain with at least three '
        "segments separated by dots",
    ),
    "no client config": (
        [_set("clientConfig", {})],
        "webhooks[0].clientConfig: Required value: exactly one of url or service is required",
    ),
    "operations": (
        [_set("rules.0.operations", ["*", "CREATE"])],
        'webhooks[0].rules[0].operations: Invalid value: ["*","CREATE"]: if \'*\' is present, '
        "must not specify other operations",
    ),
    "resources": (
        [_set("rules.0.resources", ["*", "*/*"])],
        'webhooks[0].rules[0].resources: Invalid value: ["*","*/*"]: if \'*/*\' is present, '
        "must not specify other resources",
    ),
    "scope": (
        [_set("rules.0.scope", "Foo")],
        'webhooks[0].rules[0].scope: Unsupported value: "Foo": supported values: "*", '
        '"Cluster", "Namespaced"',
    ),
    "review versions": (
        [_set("admissionReviewVersions", ["v2"])],
        'webhooks[0].admissionReviewVersions: Invalid value: ["v2"]: must include at least one '
        "of v1, v1beta1",
    ),
    "service without name (reported on namespace, as kube-apiserver does)": (
        [_set("clientConfig", {"service": {"namespace": "n"}})],
        "webhooks[0].clientConfig.service.namespace: Required value",
    ),
    "service path": (
        [_set("clientConfig", {"service": {"namespace": "n", "name": "s", "path": "x"}})],
        "[webhooks[0].clientConfig.service.path: Invalid value: \"x\": must start with a '/', "
        'webhooks[0].clientConfig.service.path: Invalid value: "x": segment[0] may not be empty]',
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_CONFIGURATIONS))
async def test_configuration_validation(target: Target, case: str):
    changes, expected = INVALID_CONFIGURATIONS[case]
    hook: JsonObj = {
        "name": "bad.contract.kubeapi.test",
        "clientConfig": {"url": "https://127.0.0.1:1/x"},
        "rules": [widget_rule("CREATE")],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    }
    for change in changes:
        change(hook)
    api: Any = k8s.AdmissionregistrationV1Api(target.api)
    name = f"{target.namespace}-bad"
    body = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [hook],
    }
    with pytest.raises(ApiException) as caught:
        await api.create_validating_webhook_configuration(body)
    assert caught.value.status == 422
    assert status_of(caught.value)["message"] == (
        f'ValidatingWebhookConfiguration.admissionregistration.k8s.io "{name}" is invalid: '
        f"{expected}"
    )


@pytest.mark.kubectl
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
async def test_webhook_configurations_are_served_and_discovered(target: Target, hooks: Hooks):
    result = await target.kubectl("api-resources", "--api-group=admissionregistration.k8s.io")
    assert "mutatingwebhookconfigurations" in result.stdout
    assert "validatingwebhookconfigurations" in result.stdout
    name = await hooks.validating("listed", hooks.hook("listed", hooks.server.on("l", allow())))
    result = await target.kubectl("get", "validatingwebhookconfigurations", name)
    header, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "WEBHOOKS", "AGE"]
    assert row.split()[:2] == [name, "2"]

"""Ingress controller end to end (ENABLE_INGRESS=true): the generated ApiDefinition and its
gateway ConfigMap, class selection, templates, the 404 template, TLS Secrets and the
PEM registries, edits, deletion, status.loadBalancer (docs/behavior/ingress.md).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from controller.config import IngressSettings, Settings
from controller.kube.kinds import API_DEFINITIONS, INGRESSES, SERVICES
from controller.kube.resources import CONFIG_MAPS, SECRETS
from controller.kube.rest import MERGE_PATCH, request_json
from controller.metrics import render_metrics
from sim.apim.testing import RunningSimulator
from sim.kubeapi.testing import RunningEmulator
from tests.integration.harness import (
    Env,
    configmap,
    operator_env,
    secret,
    v2_api,
    wait_for,
    wait_idle,
)

KEYPAIR = "finalizers.gravitee.io/keypair"
INGRESS_FINALIZER = "finalizers.gravitee.io/ingress"
TEMPLATE_FINALIZER = "finalizers.gravitee.io/apidefinitiontemplate"
HOST = "#request.headers['Host'][0]"


def _settings(**ingress: Any) -> Settings:
    return Settings(
        probes_port=0, metrics_port=0, enable_metrics=True, max_concurrent_reconciles=4,
        ingress=attrs.evolve(IngressSettings(enabled=True), **ingress),
    )


@pytest_asyncio.fixture
async def env(kubeapi: RunningEmulator, apim: RunningSimulator) -> AsyncIterator[Env]:
    async with operator_env(kubeapi, apim, settings=_settings()) as running:
        yield running


def ingress(name: str, rules: list[dict[str, Any]], *, class_name: str | None = "graviteeio",
            annotations: dict[str, str] | None = None, tls: list[dict[str, Any]] | None = None,
            ) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": rules}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    if tls is not None:
        spec["tls"] = tls
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": spec,
    }


def path(value: str, service: str, port: int, path_type: str = "Prefix") -> dict[str, Any]:
    return {"path": value, "pathType": path_type,
            "backend": {"service": {"name": service, "port": {"number": port}}}}


def rule(*paths: dict[str, Any], host: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"http": {"paths": list(paths)}}
    if host is not None:
        found["host"] = host
    return found


def tls_secret(name: str, *, key_type: str = "PRIVATE KEY") -> dict[str, Any]:
    """A Secret with a fresh self-signed certificate and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "httpbin.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    key_pem = key_pem.replace("PRIVATE KEY", key_type)
    crt_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return {**secret(name, {"tls.key": key_pem, "tls.crt": crt_pem}), "type": "kubernetes.io/tls"}


def pem_registry(name: str, ingress_class: str = "graviteeio") -> dict[str, Any]:
    found = configmap(name, {})
    found["metadata"]["labels"] = {"gravitee.io/component": "kubernetes-pem-registry",
                                   "kubernetes.io/ingress.class": ingress_class}
    return found


async def generated(env: Env, name: str, *, where: Any = None) -> dict[str, Any]:
    """The generated ApiDefinition once it exists (and satisfies ``where``)."""

    async def probe() -> dict[str, Any] | None:
        found = await env.get(API_DEFINITIONS, name)
        if found is None or (where is not None and not where(found)):
            return None
        return dict(found)

    return await wait_for(probe, what=f"generated ApiDefinition {name}")


async def gateway_definition(env: Env, name: str, *, where: Any = None) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await env.get(CONFIG_MAPS, name)
        if found is None:
            return None
        definition: dict[str, Any] = json.loads(found["data"]["definition"])
        return definition if where is None or where(definition) else None

    return await wait_for(probe, what=f"gateway ConfigMap {name}")


async def has_finalizer(env: Env, kind: Any, name: str, finalizer: str, present: bool = True
                        ) -> None:
    async def probe() -> bool:
        found = await env.get(kind, name)
        finalizers = ((found or {}).get("metadata") or {}).get("finalizers") or []
        return (finalizer in finalizers) == present

    await wait_for(probe, what=f"{name} {'with' if present else 'without'} {finalizer}")


def flows_of(spec: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(name, operator, condition, routing url or mock status) for every flow."""
    found = []
    for flow in spec["flows"]:
        step = flow["pre"][0]
        configuration = step["configuration"]
        target = (configuration["rules"][0]["url"] if step["policy"] == "dynamic-routing"
                  else configuration["status"])
        found.append((flow["name"], flow["path-operator"]["operator"], flow["condition"], target))
    return found


# -- the generated API ------------------------------------------------------------------------


async def test_ingress_becomes_an_owned_api_definition_and_a_gateway_configmap(env: Env):
    created = await env.create(ingress("web", [
        rule(path("/api", "httpbin", 8080), path("/exact", "echo", 9000, "Exact"),
             host="httpbin.example.com"),
        rule(path("/", "fallback", 80, "ImplementationSpecific")),
    ]))
    api = await generated(env, "web")
    metadata = api["metadata"]
    assert metadata["annotations"]["gravitee.io/extends"] == "gravitee.io/ingress"
    assert metadata["ownerReferences"] == [{
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "web",
        "uid": created["metadata"]["uid"],
    }]
    spec = api["spec"]
    assert spec["name"] == "web"
    assert spec["description"] == "gravitee.io/ingress"
    assert spec["version"] == "v1alpha1"
    assert spec["local"] is True
    assert [(p["name"], p["description"], p["security"], p["status"]) for p in spec["plans"]] == [
        ("Key Less", "Default ingress keyless plan", "KEY_LESS", "PUBLISHED")]
    assert spec["proxy"]["virtual_hosts"] == [
        {"host": "httpbin.example.com", "path": "/api"},
        {"host": "httpbin.example.com", "path": "/exact"},
        {"path": "/"},
    ]
    assert [(g["name"], [(e["name"], e["target"]) for e in g["endpoints"]])
            for g in spec["proxy"]["groups"]] == [("default", [
                ("rule01-path01", "http://httpbin.team.svc.cluster.local:8080"),
                ("rule01-path02", "http://echo.team.svc.cluster.local:9000"),
                ("rule02-path01", "http://fallback.team.svc.cluster.local:80"),
            ])]
    assert "flow_mode" not in api["metadata"].get("annotations", {})
    operators = [flow["path-operator"] for flow in spec["flows"]]
    assert operators == [{"path": "/", "operator": "STARTS_WITH"},
                         {"path": "/", "operator": "EQUALS"},
                         {"path": "/", "operator": "STARTS_WITH"},
                         {"path": "/", "operator": "STARTS_WITH"}]
    assert all(flow["enabled"] for flow in spec["flows"])
    # The ApiDefinition kind turned it into the gateway's ConfigMap.
    definition = await gateway_definition(env, "web")
    assert definition["name"] == "web"
    assert [vh["path"] for vh in definition["proxy"]["virtual_hosts"]] == ["/api", "/exact", "/"]
    assert len(definition["flows"]) == 4
    live = await env.get(INGRESSES, "web")
    assert INGRESS_FINALIZER in live["metadata"]["finalizers"]
    assert {"UpdateStarted", "UpdateSucceeded"} <= set(await env.event_reasons("web"))
    # Ingresses have no conditions: they are not counted as objects waiting to be accepted.
    scraped = render_metrics().decode()
    assert 'gravitee_operator_not_accepted_objects{kind="Ingress"' not in scraped


async def test_the_flows_of_a_two_rule_ingress(env: Env):
    await env.create(ingress("two", [
        rule(path("/a/", "svc-a", 8080), path("/b", "svc-b", 8081, "Exact"), host="a.example.com"),
        rule(path("/c", "svc-c", 8082, "ImplementationSpecific")),
    ]))
    spec = (await generated(env, "two"))["spec"]
    first = f"{HOST} == 'a.example.com' and #request.contextPath.startsWith('/a')"
    second = f"{HOST} == 'a.example.com' and #request.contextPath.startsWith('/b')"
    third = f"{HOST} != 'a.example.com' and #request.contextPath.startsWith('/c')"
    assert flows_of(spec) == [
        ("a.example.com/a/", "STARTS_WITH", "{" + first + "}", "rule01-path01:{#group[0]}"),
        ("a.example.com/b", "EQUALS", "{" + second + "}", "rule01-path02:{#group[0]}"),
        ("/c", "STARTS_WITH", "{" + third + "}", "rule02-path01:{#group[0]}"),
        ("No Route Found", "STARTS_WITH",
         "{(((" + first + ") or (" + second + ") or (" + third + ")) eq false)}", "404"),
    ]
    routing = spec["flows"][0]["pre"][0]
    assert (routing["name"], routing["policy"], routing["enabled"]) == (
        "Ingress Routing", "dynamic-routing", True)
    assert routing["configuration"] == {
        "rules": [{"pattern": "(.*)", "url": "rule01-path01:{#group[0]}"}]}
    mock = spec["flows"][-1]["pre"][0]
    assert (mock["name"], mock["policy"]) == ("No Route Found", "mock")
    assert mock["configuration"] == {
        "content": "No context-path matches the request URI.", "status": "404",
        "headers": [{"name": "Content-Type", "value": "text/plain"}]}


async def test_only_the_configured_classes_are_handled(env: Env):
    await env.create(ingress("nginx", [rule(path("/n", "svc", 80))], class_name="nginx"))
    await env.create(ingress("legacy", [rule(path("/l", "svc", 80))], class_name=None,
                             annotations={"kubernetes.io/ingress.class": "graviteeio"}))
    await generated(env, "legacy")
    await wait_idle(env, "ingress")
    assert await env.get(API_DEFINITIONS, "nginx") is None
    other = await env.get(INGRESSES, "nginx")
    assert INGRESS_FINALIZER not in (other["metadata"].get("finalizers") or [])


async def test_an_edit_regenerates_and_an_unchanged_spec_is_not_rewritten(env: Env):
    await env.create(ingress("edit", [rule(path("/old", "svc", 80), host="e.example.com")]))
    before = await generated(env, "edit")
    await env.patch(INGRESSES, "edit", {"spec": {"rules": [
        rule(path("/new", "svc", 81), host="e.example.com")]}})
    after = await generated(
        env, "edit", where=lambda api: api["spec"]["proxy"]["virtual_hosts"][0]["path"] == "/new")
    assert after["spec"]["proxy"]["groups"][0]["endpoints"][0]["target"] == \
        "http://svc.team.svc.cluster.local:81"
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    await gateway_definition(
        env, "edit", where=lambda d: d["proxy"]["virtual_hosts"][0]["path"] == "/new")
    # A label on the Ingress changes nothing in the generated API.
    await env.patch(INGRESSES, "edit", {"metadata": {"labels": {"team": "a"}}})
    await wait_idle(env)
    again = await env.get(API_DEFINITIONS, "edit")
    assert again["metadata"]["generation"] == after["metadata"]["generation"]
    assert again["metadata"]["annotations"]["gravitee.io/ingress-spec-hash"] == \
        after["metadata"]["annotations"]["gravitee.io/ingress-spec-hash"]
    # A hand edit of the generated API is reverted.
    await env.patch(API_DEFINITIONS, "edit", {"spec": {"name": "hijacked"}})
    restored = await generated(env, "edit", where=lambda api: api["spec"]["name"] == "edit")
    assert restored["spec"]["proxy"]["virtual_hosts"][0]["path"] == "/new"


async def test_a_deleted_generated_api_is_recreated(env: Env):
    await env.create(ingress("again", [rule(path("/x", "svc", 80))]))
    first = await generated(env, "again")
    await env.delete(API_DEFINITIONS, "again")
    second = await generated(
        env, "again", where=lambda api: api["metadata"]["uid"] != first["metadata"]["uid"])
    assert second["spec"]["proxy"]["virtual_hosts"] == [{"path": "/x"}]


async def test_delete_removes_the_generated_api_and_its_configmap(env: Env):
    await env.create(ingress("gone", [rule(path("/g", "svc", 80))]))
    await gateway_definition(env, "gone")
    await env.delete(INGRESSES, "gone")
    await env.wait_gone(INGRESSES, "gone")
    await env.wait_gone(API_DEFINITIONS, "gone")
    await env.wait_gone(CONFIG_MAPS, "gone")
    reasons = await env.deletion_reasons("gone")
    assert "DeleteStarted" in reasons
    assert "DeleteSucceeded" in reasons


async def test_service_port_names_are_refused(env: Env):
    body = ingress("named", [rule(path("/n", "svc", 80))])
    body["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] = {"name": "http"}
    await env.create(body)

    async def failed() -> list[dict[str, Any]]:
        return [e for e in await env.events("named") if e["reason"] == "UpdateFailed"]

    events = await wait_for(failed, what="UpdateFailed on the Ingress")
    assert "port must be given by number" in events[0]["message"]
    assert await env.get(API_DEFINITIONS, "named") is None


# -- templates ----------------------------------------------------------------------------------


def template(name: str, **spec: Any) -> dict[str, Any]:
    body = v2_api(name, context_ref=None, local=True, **spec)
    body["metadata"]["annotations"] = {"gravitee.io/template": "true"}
    return body


async def test_a_template_gives_its_plans_and_flows_and_its_edits_regenerate(env: Env):
    policy_flow = {"name": "tpl-flow", "enabled": True,
                   "path-operator": {"path": "/", "operator": "STARTS_WITH"},
                   "pre": [{"name": "h", "policy": "transform-headers", "enabled": True,
                            "configuration": {"addHeaders": [{"name": "x", "value": "y"}]}}]}
    await env.create(template(
        "tpl", plans=[{"name": "keys", "description": "api key", "security": "API_KEY"}],
        flows=[policy_flow]))
    await has_finalizer(env, API_DEFINITIONS, "tpl", TEMPLATE_FINALIZER)
    # A template is never deployed itself.
    assert await env.get(CONFIG_MAPS, "tpl") is None
    await env.create(ingress("templated", [rule(path("/t", "svc", 80))],
                             annotations={"gravitee.io/template": "tpl"}))
    spec = (await generated(env, "templated"))["spec"]
    assert [(p["name"], p["security"]) for p in spec["plans"]] == [("keys", "API_KEY")]
    assert spec["flow_mode"] == "DEFAULT"
    assert [flow["name"] for flow in spec["flows"]] == ["/t", "No Route Found", "tpl-flow"]
    assert spec["name"] == "templated"
    assert spec["description"] == "gravitee.io/ingress"
    # Editing the template regenerates every Ingress using it.
    await env.patch(API_DEFINITIONS, "tpl", {"spec": {"plans": [
        {"name": "open", "description": "open", "security": "KEY_LESS"}]}})
    regenerated = await generated(
        env, "templated", where=lambda api: api["spec"]["plans"][0]["name"] == "open")
    assert regenerated["spec"]["plans"][0]["security"] == "KEY_LESS"
    await gateway_definition(
        env, "templated", where=lambda d: d["plans"][0]["security"] == "KEY_LESS")


async def test_switching_templates_by_annotation_regenerates_and_follows_the_new_one(env: Env):
    await env.create(template("tpl-a", plans=[{"name": "a", "description": "a",
                                                "security": "KEY_LESS"}]))
    await env.create(template("tpl-b", plans=[{"name": "b", "description": "b",
                                                "security": "KEY_LESS"}]))
    await env.create(ingress("switch", [rule(path("/s", "svc", 80))],
                             annotations={"gravitee.io/template": "tpl-a"}))
    await generated(env, "switch", where=lambda api: api["spec"]["plans"][0]["name"] == "a")
    # An annotation edit does not change the Ingress's generation: it is still noticed.
    await env.patch(INGRESSES, "switch", {"metadata": {"annotations": {
        "gravitee.io/template": "tpl-b"}}})
    await generated(env, "switch", where=lambda api: api["spec"]["plans"][0]["name"] == "b")
    # The index follows: editing the new template regenerates, and the old one is free to go.
    await env.patch(API_DEFINITIONS, "tpl-b", {"spec": {"plans": [
        {"name": "b2", "description": "b2", "security": "KEY_LESS"}]}})
    await generated(env, "switch", where=lambda api: api["spec"]["plans"][0]["name"] == "b2")
    await env.delete(API_DEFINITIONS, "tpl-a")
    await env.wait_gone(API_DEFINITIONS, "tpl-a")


async def test_a_template_in_use_cannot_be_deleted(env: Env):
    await env.create(template("tpl2"))
    await has_finalizer(env, API_DEFINITIONS, "tpl2", TEMPLATE_FINALIZER)
    await env.create(ingress("user", [rule(path("/u", "svc", 80))],
                             annotations={"gravitee.io/template": "tpl2"}))
    await generated(env, "user")
    await env.delete(API_DEFINITIONS, "tpl2")

    async def blocked() -> list[str]:
        return [e["message"] for e in await env.events("tpl2") if e["reason"] == "DeleteFailed"]

    messages = await wait_for(blocked, what="DeleteFailed on the template")
    assert messages[0] == "can not delete tpl2 [user] depends on it"
    assert await env.get(API_DEFINITIONS, "tpl2") is not None
    await env.delete(INGRESSES, "user")
    await env.wait_gone(API_DEFINITIONS, "tpl2")


async def test_a_missing_template_fails_until_it_exists(env: Env):
    await env.create(ingress("early", [rule(path("/e", "svc", 80))],
                             annotations={"gravitee.io/template": "later"}))

    async def failed() -> list[str]:
        return [e["message"] for e in await env.events("early") if e["reason"] == "UpdateFailed"]

    messages = await wait_for(failed, what="UpdateFailed on the Ingress")
    assert 'apidefinitions.gravitee.io "later" not found' in messages[0]
    await env.create(template("later"))
    await generated(env, "early")


# -- TLS ------------------------------------------------------------------------------------------


async def test_tls_secret_gets_the_keypair_finalizer_and_the_pem_registry_entry(env: Env):
    await env.create(pem_registry("pem-registry"))
    await env.create(pem_registry("other-class", "nginx"))
    await env.create(tls_secret("httpbin.example.com"))
    tls = [{"hosts": ["httpbin.example.com"], "secretName": "httpbin.example.com"}]
    await env.create(ingress("secure", [rule(path("/s", "svc", 80), host="httpbin.example.com")],
                             tls=tls))
    await env.create(ingress("secure2", [rule(path("/s2", "svc", 80), host="h2.example.com")],
                             tls=tls))
    await has_finalizer(env, SECRETS, "httpbin.example.com", KEYPAIR)

    async def entries() -> dict[str, str] | None:
        found = await env.get(CONFIG_MAPS, "pem-registry")
        data = found.get("data") or {}
        return data if {"team-secure", "team-secure2"} <= set(data) else None

    data = await wait_for(entries, what="the PEM registry entries")
    assert data["team-secure"] == '["team/httpbin.example.com"]'
    registry = await env.get(CONFIG_MAPS, "pem-registry")
    assert registry["metadata"]["annotations"]["updateTimestamp"].endswith("Z")
    assert not (await env.get(CONFIG_MAPS, "other-class")).get("data")
    secret_obj = await env.get(SECRETS, "httpbin.example.com")
    assert secret_obj["metadata"]["annotations"]["gravitee.io/last-spec-hash"]
    # Deleting one Ingress removes its entry; the Secret stays pinned by the other one.
    await env.delete(INGRESSES, "secure")
    await env.wait_gone(INGRESSES, "secure")

    async def entry_gone() -> bool:
        return "team-secure" not in ((await env.get(CONFIG_MAPS, "pem-registry")).get("data")
                                     or {})

    await wait_for(entry_gone, what="the PEM registry entry of the deleted Ingress to go")
    await has_finalizer(env, SECRETS, "httpbin.example.com", KEYPAIR)
    await env.delete(INGRESSES, "secure2")
    await env.wait_gone(INGRESSES, "secure2")
    await has_finalizer(env, SECRETS, "httpbin.example.com", KEYPAIR, present=False)
    assert (await env.get(CONFIG_MAPS, "pem-registry")).get("data") in (None, {})


async def test_tls_without_a_pem_registry_fails_with_upstreams_message(env: Env):
    await env.create(tls_secret("cert"))
    await env.create(ingress("no-registry", [rule(path("/n", "svc", 80))],
                             tls=[{"secretName": "cert"}]))

    async def failed() -> list[str]:
        return [e["message"] for e in await env.events("no-registry")
                if e["reason"] == "UpdateFailed"]

    messages = await wait_for(failed, what="UpdateFailed on the Ingress")
    assert "unable to find any pem-registry configmap in the cluster" in messages[0]
    # A registry created later is filled on a retry.
    await env.create(pem_registry("late-registry"))

    async def filled() -> bool:
        data = (await env.get(CONFIG_MAPS, "late-registry")).get("data") or {}
        return data.get("team-no-registry") == '["team/cert"]'

    await wait_for(filled, timeout=20, what="the late registry to get the entry")


async def test_invalid_tls_secrets_are_refused_without_quoting_them(env: Env):
    await env.create(pem_registry("pem"))
    await env.create(tls_secret("wrong-type", key_type="CERTIFICATE"))
    await env.create(secret("no-key", {"tls.crt": "x"}))
    await env.create(ingress("bad-tls", [rule(path("/b", "svc", 80))],
                             tls=[{"secretName": "wrong-type"}]))
    await env.create(ingress("no-key-tls", [rule(path("/k", "svc", 80))],
                             tls=[{"secretName": "no-key"}]))

    async def failed(name: str) -> list[str]:
        async def probe() -> list[str]:
            return [e["message"] for e in await env.events(name) if e["reason"] == "UpdateFailed"]

        return await wait_for(probe, what=f"UpdateFailed on {name}")

    assert (await failed("bad-tls"))[0] == "wrong tls key type"
    assert (await failed("no-key-tls"))[0] == "tls key not found in secret"
    registry = await env.get(CONFIG_MAPS, "pem")
    assert not registry.get("data")


async def test_a_renewed_certificate_touches_the_registry(env: Env):
    await env.create(pem_registry("pem"))
    await env.create(tls_secret("renewed"))
    await env.create(ingress("renew", [rule(path("/r", "svc", 80))],
                             tls=[{"secretName": "renewed"}]))

    async def stamped() -> str | None:
        found = await env.get(CONFIG_MAPS, "pem")
        if "team-renew" not in (found.get("data") or {}):
            return None
        return str(found["metadata"]["annotations"]["updateTimestamp"])

    await wait_for(stamped, what="the registry entry")
    before = (await env.get(CONFIG_MAPS, "pem"))["metadata"]["resourceVersion"]
    fresh = tls_secret("renewed")
    await env.patch(SECRETS, "renewed", {"data": fresh["data"]})

    async def touched() -> bool:
        return bool((await env.get(CONFIG_MAPS, "pem"))["metadata"]["resourceVersion"] != before)

    await wait_for(touched, what="the registry to be touched after the certificate changed")


# -- the 404 template and status.loadBalancer ------------------------------------------------


async def test_the_404_template_comes_from_its_configmap(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    settings = _settings(template_404_config_map_name="not-found",
                         template_404_config_map_namespace="team")
    async with operator_env(kubeapi, apim, settings=settings) as env:
        await env.create(configmap("not-found", {"content": "nothing here",
                                                 "contentType": "application/json"}))
        await env.create(ingress("custom404", [rule(path("/c", "svc", 80))]))

        def mock(api: dict[str, Any]) -> dict[str, Any]:
            configuration: dict[str, Any] = api["spec"]["flows"][-1]["pre"][0]["configuration"]
            return configuration

        found = await generated(env, "custom404",
                                where=lambda api: mock(api)["content"] == "nothing here")
        assert mock(found)["headers"] == [{"name": "Content-Type", "value": "application/json"}]
        # Editing the ConfigMap regenerates the Ingresses.
        await env.patch(CONFIG_MAPS, "not-found", {"data": {"content": "gone"}})
        await generated(env, "custom404", where=lambda api: mock(api)["content"] == "gone")


async def test_the_gateway_service_address_is_published(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    settings = _settings(gateway_service="team/gateway")
    async with operator_env(kubeapi, apim, settings=settings) as env:
        service = await env.create({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "gateway"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        })
        await env.create(ingress("published", [rule(path("/p", "svc", 80))]))
        cluster_ip = service["spec"]["clusterIP"]

        async def address(expected: list[dict[str, Any]]) -> None:
            async def probe() -> bool:
                found = await env.get(INGRESSES, "published")
                lb = ((found or {}).get("status") or {}).get("loadBalancer") or {}
                return bool(lb.get("ingress") == expected)

            await wait_for(probe, what=f"status.loadBalancer.ingress == {expected}")

        await address([{"ip": cluster_ip}])
        # The cloud's load balancer reports its address: the Ingress follows.
        await request_json(
            env.api, "PATCH", SERVICES.object_path("team", "gateway", "status"),
            body={"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}},
            content_type=MERGE_PATCH,
        )
        await address([{"ip": "203.0.113.7"}])


async def test_without_enable_ingress_nothing_is_watched(
    kubeapi: RunningEmulator, apim: RunningSimulator
):
    settings = _settings(enabled=False)
    async with operator_env(kubeapi, apim, settings=settings) as env:
        assert "ingress" not in [c.name for c in env.manager.controllers]
        assert all(informer.kind.plural != "ingresses"
                   for informer in env.manager.informers.informers())

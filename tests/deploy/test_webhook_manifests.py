"""The admission webhooks in the kustomize component and the Helm chart: generated from the
kinds' declarations, the same in both, CREATE/UPDATE only, names unique per namespace, RBAC by
name, and nothing of it when ENABLE_WEBHOOK is off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller.config import Settings
from controller.webhook import manifests as generated
from tests.deploy.helm import requires_helm, template
from tests.deploy.rbac_rules import granted_rules
from tests.deploy.rendering import (
    MANIFESTS,
    OPERATOR_NAMESPACE,
    SERVICE_ACCOUNT,
    Manifest,
    of_kind,
    operator_container,
    pick,
    render,
    render_overlay,
    requires_kubectl,
    write_kustomization,
)

COMPONENT = MANIFESTS / "components" / "webhook"
CONFIG_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")


def _webhooks(objects: list[Manifest]) -> dict[str, list[dict[str, Any]]]:
    return {obj["kind"]: obj["webhooks"] for kind in CONFIG_KINDS for obj in of_kind(objects, kind)}


def _settings(objects: list[Manifest]) -> Settings:
    return Settings.from_env({k: str(v) for k, v in
                              pick(objects, "ConfigMap", "gko-config")["data"].items()})


def test_the_committed_configurations_are_generated_from_the_kinds() -> None:
    assert (COMPONENT / "webhooks.yaml").read_text(encoding="utf-8") == generated.render()
    validated, mutated = generated.declared_kinds()
    assert [kind.kind for kind in validated] == [
        "ManagementContext", "ApiDefinition", "ApiV4Definition", "ApiResource", "Application",
        "Group", "Notification", "SharedPolicyGroup", "Subscription", "Dictionary", "Portal",
        "PortalListing", "PortalLink", "Documentation"]
    assert [kind.kind for kind in mutated] == ["ManagementContext"]


@pytest.fixture(scope="module")
def component(tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    directory = Path(tmp_path_factory.mktemp("webhook-overlay"))
    write_kustomization(directory, namespace=OPERATOR_NAMESPACE,
                        resources=(MANIFESTS / "overlays" / "cluster",), components=(COMPONENT,))
    return render(directory)


@requires_kubectl
def test_the_component_serves_every_kind_never_on_delete(component: list[Manifest]) -> None:
    hooks = _webhooks(component)
    assert len(hooks["ValidatingWebhookConfiguration"]) == 14
    for entries in hooks.values():
        for hook in entries:
            assert hook["rules"][0]["operations"] == ["CREATE", "UPDATE"]
            assert hook["failurePolicy"] == "Fail"
            assert hook["sideEffects"] == "None"
            service = hook["clientConfig"]["service"]
            assert (service["name"], service["namespace"], service["port"]) == (
                "gko-webhook", OPERATOR_NAMESPACE, 443)


@requires_kubectl
def test_the_component_wires_config_service_port_and_rbac(component: list[Manifest]) -> None:
    settings = _settings(component)
    webhook = settings.webhook
    assert webhook.enabled
    assert webhook.cert_secret_name == "gko-webhook-cert"
    names = {obj["kind"]: obj["metadata"]["name"] for kind in CONFIG_KINDS
             for obj in of_kind(component, kind)}
    assert names == {
        "ValidatingWebhookConfiguration": webhook.validating_name(OPERATOR_NAMESPACE),
        "MutatingWebhookConfiguration": webhook.mutating_name(OPERATOR_NAMESPACE),
    }
    ports = {p["name"]: p["containerPort"] for p in operator_container(component)["ports"]}
    assert ports["webhook-server"] == webhook.service_port
    service = pick(component, "Service", "gko-webhook")
    assert service["spec"]["ports"][0]["targetPort"] == "webhook-server"
    assert pick(component, "Secret", "gko-webhook-cert")["type"] == "Opaque"
    _assert_webhook_rbac(component, names, OPERATOR_NAMESPACE)


def _assert_webhook_rbac(objects: list[Manifest], names: dict[str, str], namespace: str) -> None:
    grants = granted_rules(objects, namespace=namespace, service_account=SERVICE_ACCOUNT)
    everywhere = grants.get(None, [])
    for kind, name in names.items():
        plural = kind.lower() + "s"
        assert any(plural in rule.get("resources", []) and name in rule.get("resourceNames", [])
                   and "update" in rule["verbs"] for rule in everywhere), (kind, everywhere)
    local = grants.get(namespace, [])
    assert any("secrets" in rule.get("resources", [])
               and "gko-webhook-cert" in rule.get("resourceNames", [])
               and {"get", "update"} <= set(rule["verbs"]) for rule in local)


@requires_kubectl
def test_without_the_component_nothing_of_it_is_installed() -> None:
    objects = render_overlay("cluster")
    assert not _webhooks(objects)
    assert not _settings(objects).webhook.enabled
    assert all(obj["metadata"]["name"] != "gko-webhook" for obj in of_kind(objects, "Service"))


@requires_helm
@requires_kubectl
def test_the_chart_renders_the_same_webhooks_as_the_component(
    component: list[Manifest],
) -> None:
    chart = template(manager__webhook__enabled=True)
    assert _webhooks(chart) == _webhooks(component)
    settings = _settings(chart)
    names = {obj["kind"]: obj["metadata"]["name"] for kind in CONFIG_KINDS
             for obj in of_kind(chart, kind)}
    assert names["ValidatingWebhookConfiguration"] == settings.webhook.validating_name(
        OPERATOR_NAMESPACE)
    assert settings.webhook.failure_policy == "Fail"
    assert settings.webhook.timeout_seconds == 10
    _assert_webhook_rbac(chart, names, OPERATOR_NAMESPACE)


@requires_helm
def test_the_chart_names_and_scopes_per_release_namespace() -> None:
    chart = template(namespace="team-a", manager__webhook__enabled=True,
                     manager__scope__cluster=False, manager__webhook__failurePolicy="Ignore")
    names = {obj["metadata"]["name"] for kind in CONFIG_KINDS for obj in of_kind(chart, kind)}
    assert names == {"gko-validating-webhook-configurations-team-a",
                     "gko-mutating-webhook-configurations-team-a"}
    for entries in _webhooks(chart).values():
        for hook in entries:
            assert hook["failurePolicy"] == "Ignore"
            assert hook["namespaceSelector"]["matchExpressions"][0]["values"] == ["team-a"]


@requires_helm
def test_the_chart_without_webhooks_renders_none() -> None:
    chart = template()
    assert not _webhooks(chart)
    assert not _settings(chart).webhook.enabled
    assert all(obj["metadata"]["name"] != "gko-webhook" for obj in of_kind(chart, "Service"))

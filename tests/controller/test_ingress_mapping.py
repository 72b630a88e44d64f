"""The ApiDefinition spec generated for an Ingress, as one exact document (pure function; the
integration tests check the same through the API server) (docs/behavior/ingress.md)."""

from __future__ import annotations

from typing import Any

import pytest

from controller.reconcilers.framework.errors import IllegalStateError
from controller.reconcilers.ingress import DEFAULT_TEMPLATE, covers, generate_spec, ingress_class

HOST = "#request.headers['Host'][0]"


def _ingress(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "shop", "namespace": "team", "uid": "u"}, "spec": spec}


def _path(path: str, service: str, port: int, path_type: str) -> dict[str, Any]:
    return {"path": path, "pathType": path_type,
            "backend": {"service": {"name": service, "port": {"number": port}}}}


def test_the_whole_generated_spec_of_a_two_rule_ingress():
    ingress = _ingress(rules=[
        {"host": "a.example.com", "http": {"paths": [_path("/", "front", 80, "Prefix")]}},
        {"http": {"paths": [_path("/api/", "api", 8080, "Exact")]}},
    ])
    first = f"{HOST} == 'a.example.com' and #request.contextPath.startsWith('')"
    second = f"{HOST} != 'a.example.com' and #request.contextPath.startsWith('/api')"
    assert generate_spec(DEFAULT_TEMPLATE, ingress) == {
        "local": True,
        "name": "shop",
        "version": "v1alpha1",
        "description": "gravitee.io/ingress",
        "plans": [{"name": "Key Less", "description": "Default ingress keyless plan",
                   "security": "KEY_LESS", "status": "PUBLISHED"}],
        "proxy": {
            "virtual_hosts": [{"host": "a.example.com", "path": "/"}, {"path": "/api/"}],
            "groups": [{"name": "default", "endpoints": [
                {"name": "rule01-path01", "target": "http://front.team.svc.cluster.local:80"},
                {"name": "rule02-path01", "target": "http://api.team.svc.cluster.local:8080"},
            ]}],
        },
        "flows": [
            {"name": "a.example.com/", "path-operator": {"path": "/", "operator": "STARTS_WITH"},
             "condition": "{" + first + "}", "enabled": True,
             "pre": [{"name": "Ingress Routing", "policy": "dynamic-routing", "enabled": True,
                      "configuration": {"rules": [
                          {"pattern": "(.*)", "url": "rule01-path01:{#group[0]}"}]}}]},
            {"name": "/api/", "path-operator": {"path": "/", "operator": "EQUALS"},
             "condition": "{" + second + "}", "enabled": True,
             "pre": [{"name": "Ingress Routing", "policy": "dynamic-routing", "enabled": True,
                      "configuration": {"rules": [
                          {"pattern": "(.*)", "url": "rule02-path01:{#group[0]}"}]}}]},
            {"name": "No Route Found", "path-operator": {"path": "/", "operator": "STARTS_WITH"},
             "condition": "{(((" + first + ") or (" + second + ")) eq false)}", "enabled": True,
             "pre": [{"name": "No Route Found", "policy": "mock", "enabled": True,
                      "configuration": {
                          "content": "No context-path matches the request URI.",
                          "status": "404",
                          "headers": [{"name": "Content-Type", "value": "text/plain"}]}}]},
        ],
    }


def test_a_template_keeps_its_fields_and_appends_its_flows_in_default_mode():
    template = {"contextRef": {"name": "apim"}, "local": False, "name": "tpl",
                "version": "9", "description": "d", "flows": [{"name": "mine"}],
                "proxy": {"strip_context_path": True}, "resources": [{"name": "cache"}]}
    ingress = _ingress(rules=[{"http": {"paths": [_path("/x", "x", 1, "Prefix")]}}])
    spec = generate_spec(template, ingress, not_found=("gone", "application/json"))
    assert spec["contextRef"] == {"name": "apim"}
    assert spec["local"] is False
    assert spec["resources"] == [{"name": "cache"}]
    assert spec["flow_mode"] == "DEFAULT"
    assert [flow["name"] for flow in spec["flows"]] == ["/x", "No Route Found", "mine"]
    assert "strip_context_path" not in spec["proxy"]
    mock = spec["flows"][1]["pre"][0]["configuration"]
    assert (mock["content"], mock["headers"]) == (
        "gone", [{"name": "Content-Type", "value": "application/json"}])
    assert template["flows"] == [{"name": "mine"}]  # the template itself is not modified


def test_host_less_rules_name_each_host_once_in_rule_order():
    ingress = _ingress(rules=[
        {"host": "b.example", "http": {"paths": [_path("/b", "b", 1, "Prefix")]}},
        {"host": "a.example", "http": {"paths": [_path("/a", "a", 1, "Prefix")]}},
        {"host": "b.example", "http": {"paths": [_path("/b2", "b", 1, "Prefix")]}},
        {"http": {"paths": [_path("/", "any", 1, "ImplementationSpecific")]}},
    ])
    condition = generate_spec(DEFAULT_TEMPLATE, ingress)["flows"][3]["condition"]
    assert condition == ("{" + f"{HOST} != 'b.example' and {HOST} != 'a.example' and "
                         "#request.contextPath.startsWith('')}")


@pytest.mark.parametrize("backend", [
    {"service": {"name": "s", "port": {"name": "http"}}},
    {"resource": {"kind": "Bucket", "name": "b"}},
])
def test_unusable_backends_are_refused(backend: dict[str, Any]):
    ingress = _ingress(rules=[{"http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": backend}]}}])
    with pytest.raises(IllegalStateError, match=r"spec.rules\[0\].http.paths\[0\]"):
        generate_spec(DEFAULT_TEMPLATE, ingress)


def test_class_from_the_field_else_the_annotation():
    assert ingress_class({"spec": {"ingressClassName": "a"},
                          "metadata": {"annotations": {"kubernetes.io/ingress.class": "b"}}}) == "a"
    assert ingress_class({"spec": {},
                          "metadata": {"annotations": {"kubernetes.io/ingress.class": "b"}}}) == "b"
    assert ingress_class({"spec": {}, "metadata": {}}) == ""


def test_covers_ignores_server_defaults_but_not_differences():
    desired = {"a": 1, "l": [{"x": 1}]}
    assert covers({"a": 1, "extra": 2, "l": [{"x": 1, "default": True}]}, desired)
    assert not covers({"a": 2, "l": [{"x": 1}]}, desired)
    assert not covers({"a": 1, "l": [{"x": 1}, {"x": 2}]}, desired)
    assert not covers({"l": [{"x": 1}]}, desired)

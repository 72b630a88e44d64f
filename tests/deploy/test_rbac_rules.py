"""The RBAC matcher the manifest tests rely on follows the authorizer's rules."""

from __future__ import annotations

import pytest

from tests.deploy.rbac_rules import (
    ResourceRequest,
    allows,
    can,
    granted_rules,
    is_discovery,
    request_from_http,
)

_STATUS_RULE = {"apiGroups": ["gravitee.io"], "resources": ["apidefinitions/status"],
                "verbs": ["patch"]}


def test_a_subresource_needs_its_own_grant() -> None:
    main = {"apiGroups": ["gravitee.io"], "resources": ["apidefinitions"], "verbs": ["patch"]}
    status = ResourceRequest(verb="patch", group="gravitee.io", resource="apidefinitions",
                             subresource="status")
    assert not allows([main], status)
    assert allows([_STATUS_RULE], status)
    wildcard = {"apiGroups": ["gravitee.io"], "resources": ["*/status"], "verbs": ["patch"]}
    assert allows([wildcard], status)
    assert not allows([_STATUS_RULE], ResourceRequest(verb="patch", group="gravitee.io",
                                                      resource="apidefinitions"))


def test_group_and_verb_must_both_match() -> None:
    request = ResourceRequest(verb="patch", group="gravitee.io", resource="apidefinitions",
                              subresource="status")
    assert not allows([{**_STATUS_RULE, "apiGroups": [""]}], request)
    assert not allows([{**_STATUS_RULE, "verbs": ["update"]}], request)
    assert allows([{**_STATUS_RULE, "verbs": ["*"]}], request)


def test_resource_names_never_grant_nameless_requests() -> None:
    rule = {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
            "resourceNames": ["a.gravitee.io"], "verbs": ["get", "list", "create"]}
    named = ResourceRequest(verb="get", group="apiextensions.k8s.io",
                            resource="customresourcedefinitions", name="a.gravitee.io")
    assert allows([rule], named)
    assert not allows([rule], ResourceRequest(verb="get", group="apiextensions.k8s.io",
                                              resource="customresourcedefinitions",
                                              name="b.gravitee.io"))
    for verb in ("list", "create"):
        assert not allows([rule], ResourceRequest(verb=verb, group="apiextensions.k8s.io",
                                                  resource="customresourcedefinitions"))


def test_role_bindings_grant_in_their_namespace_only() -> None:
    objects = [
        {"kind": "Role", "metadata": {"name": "r", "namespace": "a"},
         "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]},
        {"kind": "RoleBinding", "metadata": {"name": "b", "namespace": "a"},
         "roleRef": {"kind": "Role", "name": "r"},
         "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "sys"}]},
        {"kind": "RoleBinding", "metadata": {"name": "other", "namespace": "c"},
         "roleRef": {"kind": "Role", "name": "r"},
         "subjects": [{"kind": "ServiceAccount", "name": "someone-else", "namespace": "sys"}]},
    ]
    grants = granted_rules(objects, namespace="sys", service_account="op")
    get = ResourceRequest(verb="get", group="", resource="configmaps")
    assert can(grants, get, namespace="a")
    assert not can(grants, get, namespace="c")
    assert not can(grants, get, namespace=None)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected", "namespace"),
    [
        ("GET", "/apis/gravitee.io/v1alpha1/apiv4definitions", {}, ("list", "gravitee.io",
         "apiv4definitions", "", ""), None),
        ("GET", "/apis/gravitee.io/v1alpha1/apiv4definitions", {"watch": "true"},
         ("watch", "gravitee.io", "apiv4definitions", "", ""), None),
        ("GET", "/apis/gravitee.io/v1alpha1/namespaces/a/apiv4definitions", {"watch": "1"},
         ("watch", "gravitee.io", "apiv4definitions", "", ""), "a"),
        ("PATCH", "/apis/gravitee.io/v1alpha1/namespaces/a/apiv4definitions/x/status", {},
         ("patch", "gravitee.io", "apiv4definitions", "status", "x"), "a"),
        ("PUT", "/api/v1/namespaces/a/secrets/s", {}, ("update", "", "secrets", "", "s"), "a"),
        ("POST", "/api/v1/namespaces/a/events", {}, ("create", "", "events", "", ""), "a"),
        ("DELETE", "/api/v1/namespaces/a/configmaps/c", {},
         ("delete", "", "configmaps", "", "c"), "a"),
        ("DELETE", "/api/v1/namespaces/a/configmaps", {},
         ("deletecollection", "", "configmaps", "", ""), "a"),
        ("GET", "/api/v1/namespaces/a", {}, ("get", "", "namespaces", "", "a"), None),
        ("GET", "/apis/coordination.k8s.io/v1/namespaces/o/leases/l", {},
         ("get", "coordination.k8s.io", "leases", "", "l"), "o"),
        ("PATCH", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/a.gravitee.io", {},
         ("patch", "apiextensions.k8s.io", "customresourcedefinitions", "", "a.gravitee.io"),
         None),
    ],
)
def test_http_calls_map_to_authorizer_attributes(method, path, query, expected, namespace):
    request, found_namespace = request_from_http(method, path, query)
    assert (request.verb, request.group, request.resource, request.subresource,
            request.name) == expected
    assert found_namespace == namespace


def test_discovery_paths_are_recognised() -> None:
    for path in ("/api", "/api/v1", "/apis", "/apis/gravitee.io", "/apis/gravitee.io/v1alpha1",
                 "/version", "/openapi/v2"):
        assert is_discovery("GET", path), path
    for path in ("/api/v1/secrets", "/apis/gravitee.io/v1alpha1/apidefinitions"):
        assert not is_discovery("GET", path), path
    assert not is_discovery("POST", "/apis")

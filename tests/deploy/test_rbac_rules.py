"""The RBAC matcher the manifest tests rely on follows the authorizer's rules."""

from __future__ import annotations

from tests.deploy.rbac_rules import ResourceRequest, allows, can, granted_rules

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

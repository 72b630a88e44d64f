"""RBAC rule matching, as the Kubernetes RBAC authorizer does it, for checking our manifests.

Owns: deciding whether a list of PolicyRules grants one resource request (verb, API group,
resource, optional subresource and object name). Must never talk to a cluster.

Semantics kept from the authorizer: a rule matches when its apiGroups, resources and verbs
each contain the request's value or ``*``; a subresource request is named ``resource/sub`` and
is matched only by that exact name, ``*`` or ``*/sub``; ``resourceNames``, when set,
restricts the rule to requests that carry one of those names (so never ``list``, ``watch``,
``create`` or ``deletecollection``, which carry none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class ResourceRequest:
    """One API call, in authorizer terms."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    name: str = ""

    @property
    def qualified_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def _matches(values: Iterable[str], wanted: str) -> bool:
    listed = list(values)
    return "*" in listed or wanted in listed


def _resource_matches(resources: Iterable[str], request: ResourceRequest) -> bool:
    listed = list(resources)
    if "*" in listed or request.qualified_resource in listed:
        return True
    return bool(request.subresource) and f"*/{request.subresource}" in listed


def rule_allows(rule: Mapping[str, Any], request: ResourceRequest) -> bool:
    if not _matches(rule.get("verbs", []), request.verb):
        return False
    if not _matches(rule.get("apiGroups", []), request.group):
        return False
    if not _resource_matches(rule.get("resources", []), request):
        return False
    names = rule.get("resourceNames") or []
    return not names or (bool(request.name) and request.name in names)


def allows(rules: Iterable[Mapping[str, Any]], request: ResourceRequest) -> bool:
    """Whether any of ``rules`` grants ``request``."""
    return any(rule_allows(rule, request) for rule in rules)


def _binds(binding: Mapping[str, Any], namespace: str, name: str) -> bool:
    return any(
        subject.get("kind") == "ServiceAccount"
        and subject.get("name") == name
        and subject.get("namespace") == namespace
        for subject in binding.get("subjects", [])
    )


def _role_rules(objects: Iterable[Mapping[str, Any]], kind: str, name: str,
                namespace: str | None) -> list[Mapping[str, Any]]:
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] == kind and meta["name"] == name and (
            kind == "ClusterRole" or meta.get("namespace") == namespace
        ):
            return list(obj.get("rules", []))
    raise AssertionError(f"binding refers to a missing {kind} {name} (namespace {namespace})")


def granted_rules(
    objects: Iterable[Mapping[str, Any]], *, namespace: str, service_account: str
) -> dict[str | None, list[Mapping[str, Any]]]:
    """The rules bound to a ServiceAccount, by the namespace they apply in (None: everywhere).

    Fails when a binding refers to a role the manifests do not contain.
    """
    objects = list(objects)
    grants: dict[str | None, list[Mapping[str, Any]]] = {}
    for obj in objects:
        if obj["kind"] not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        if not _binds(obj, namespace, service_account):
            continue
        scope = None if obj["kind"] == "ClusterRoleBinding" else obj["metadata"]["namespace"]
        ref = obj["roleRef"]
        rules = _role_rules(objects, ref["kind"], ref["name"], scope)
        grants.setdefault(scope, []).extend(rules)
    return grants


def can(
    grants: Mapping[str | None, list[Mapping[str, Any]]],
    request: ResourceRequest,
    *,
    namespace: str | None,
) -> bool:
    """Whether ``request`` in ``namespace`` (None: a cluster-scoped or all-namespaces call)
    is granted."""
    if allows(grants.get(None, []), request):
        return True
    return namespace is not None and allows(grants.get(namespace, []), request)


#: Paths every authenticated client may GET (the default system:discovery and
#: system:public-info-viewer ClusterRoles): API discovery, version and OpenAPI documents.
_DISCOVERY_PREFIXES = ("/openapi/",)
_DISCOVERY_EXACT = {"/api", "/apis", "/version", "/version/"}


def is_discovery(method: str, path: str) -> bool:
    if method != "GET":
        return False
    if path in _DISCOVERY_EXACT or path.startswith(_DISCOVERY_PREFIXES):
        return True
    parts = [p for p in path.split("/") if p]
    # /api/v1, /apis/{group}, /apis/{group}/{version}
    return (parts[:1] == ["api"] and len(parts) == 2) or (
        parts[:1] == ["apis"] and len(parts) in (2, 3)
    )


def request_from_http(method: str, path: str, query: Mapping[str, str]) -> tuple[
    ResourceRequest, str | None
]:
    """The authorizer's view of one REST call: (resource request, namespace or None).

    Raises ValueError for a path that is not a resource path.
    """
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        raise ValueError(f"not a resource path: {path}")
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    elif len(rest) in (1, 2) and rest[0] == "namespaces":
        # The Namespace object itself: cluster-scoped.
        pass
    if not rest:
        raise ValueError(f"not a resource path: {path}")
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    watching = query.get("watch", "").lower() in ("1", "true")
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch"}
    if method == "GET":
        verb = "watch" if watching else ("get" if name else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    elif method in verbs:
        verb = verbs[method]
    else:
        raise ValueError(f"unexpected method {method} on {path}")
    return (
        ResourceRequest(verb=verb, group=group, resource=resource, subresource=subresource,
                        name=name),
        namespace,
    )

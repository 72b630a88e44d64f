"""The RBAC of every install flavour: exactly what the operator uses, nothing more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.models.kinds import KINDS
from tests.deploy.rbac_rules import ResourceRequest, can, granted_rules
from tests.deploy.rendering import (
    CRD_PLURALS,
    MANIFESTS,
    OPERATOR_NAMESPACE,
    OVERLAYS,
    SERVICE_ACCOUNT,
    Manifest,
    crd_files,
    of_kind,
    pick,
    render,
    render_overlay,
    requires_kubectl,
    write_kustomization,
)

pytestmark = [pytest.mark.kubectl, requires_kubectl]

_RULE_KINDS = ("Role", "ClusterRole")
_BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")
_WATCHED = "team-a"


def _req(verb: str, group: str, resource: str, subresource: str = "", name: str = "") -> (
    ResourceRequest
):
    return ResourceRequest(verb=verb, group=group, resource=resource, subresource=subresource,
                           name=name)


def _operator_calls() -> list[ResourceRequest]:
    """Every kind of call the reconcilers make in a watched namespace."""
    calls = []
    for plural in CRD_PLURALS:
        calls += [_req(v, "gravitee.io", plural) for v in ("get", "list", "watch")]
        calls += [_req(v, "gravitee.io", plural) for v in ("update", "patch")]
        calls += [_req(v, "gravitee.io", plural, "status") for v in ("get", "update", "patch")]
        calls.append(_req("update", "gravitee.io", plural, "finalizers"))
    for verb in ("get", "list", "watch", "create", "update", "patch", "delete"):
        calls.append(_req(verb, "", "configmaps"))
    for verb in ("get", "list", "watch", "update", "patch"):
        calls.append(_req(verb, "", "secrets"))
    calls += [_req("create", "", "events"), _req("patch", "", "events")]
    # The Ingress controller (ENABLE_INGRESS=true in the base configuration).
    calls += [_req(v, "networking.k8s.io", "ingresses")
              for v in ("get", "list", "watch", "update", "patch")]
    calls += [_req(v, "networking.k8s.io", "ingresses", "status") for v in ("update", "patch")]
    calls.append(_req("create", "gravitee.io", "apidefinitions"))
    return calls


#: Calls the operator never makes; granting any of them would break least privilege.
_NEVER = [
    _req("create", "", "secrets"),
    _req("delete", "", "secrets"),
    _req("deletecollection", "", "configmaps"),
    _req("create", "gravitee.io", "apiv4definitions"),
    _req("delete", "gravitee.io", "apidefinitions"),
    _req("delete", "gravitee.io", "managementcontexts"),
    _req("list", "", "pods"),
    _req("get", "", "namespaces"),
    _req("create", "", "serviceaccounts", "token"),
    _req("escalate", "rbac.authorization.k8s.io", "clusterroles"),
    _req("list", "apiextensions.k8s.io", "customresourcedefinitions"),
    _req("get", "gravitee.io", "kafkaroutes"),
    _req("create", "networking.k8s.io", "ingresses"),
    _req("delete", "networking.k8s.io", "ingresses"),
    _req("list", "", "services"),
]


def _grants(objects: list[Manifest]) -> dict[str | None, list[Any]]:
    return granted_rules(objects, namespace=OPERATOR_NAMESPACE, service_account=SERVICE_ACCOUNT)


def _compose(tmp_path: Path, *, components: tuple[str, ...] = (), overlay: str = "cluster") -> (
    list[Manifest]
):
    return render(
        write_kustomization(
            tmp_path,
            resources=(MANIFESTS / "overlays" / overlay,),
            components=tuple(MANIFESTS / "components" / c for c in components),
            namespace=OPERATOR_NAMESPACE,
        )
    )


def _all_renders(tmp_path: Path) -> dict[str, list[Manifest]]:
    renders = {overlay: render_overlay(overlay) for overlay in OVERLAYS}
    for component in ("apply-crds", "leader-election", "servicemonitor"):
        directory = tmp_path / component
        directory.mkdir()
        renders[f"cluster+{component}"] = _compose(directory, components=(component,))
    return renders


def test_no_rule_anywhere_uses_a_wildcard_or_non_resource_urls(tmp_path: Path) -> None:
    for label, objects in _all_renders(tmp_path).items():
        for role in (r for kind in _RULE_KINDS for r in of_kind(objects, kind)):
            for rule in role["rules"]:
                for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                    values = rule.get(field, [])
                    assert not any("*" in value for value in values), (label, role, field)
                assert "nonResourceURLs" not in rule, (label, role)
            assert "aggregationRule" not in role


def test_every_binding_names_the_operator_account_and_an_existing_role(tmp_path: Path) -> None:
    for label, objects in _all_renders(tmp_path).items():
        bindings = [b for kind in _BINDING_KINDS for b in of_kind(objects, kind)]
        assert bindings, label
        account = pick(objects, "ServiceAccount", SERVICE_ACCOUNT)
        for binding in bindings:
            assert binding["subjects"] == [
                {
                    "kind": "ServiceAccount",
                    "name": SERVICE_ACCOUNT,
                    "namespace": account["metadata"]["namespace"],
                }
            ], label
        # Resolves every roleRef, or fails naming the missing role.
        assert _grants(objects), label


def test_cluster_and_namespaced_flavours_grant_the_same_rules() -> None:
    cluster_role = pick(render_overlay("cluster"), "ClusterRole", "gko-manager")
    role = pick(render_overlay("namespaced"), "Role", "gko-manager")
    assert cluster_role["rules"] == role["rules"]


def test_the_rules_cover_exactly_the_kinds_the_operator_reconciles() -> None:
    assert {info.plural for info in KINDS} == set(CRD_PLURALS)
    rules = pick(render_overlay("cluster"), "ClusterRole", "gko-manager")["rules"]
    granted = {
        resource.split("/")[0]
        for rule in rules
        if rule["apiGroups"] == ["gravitee.io"]
        for resource in rule["resources"]
    }
    assert granted == set(CRD_PLURALS)


@pytest.mark.parametrize("overlay", ["cluster", "ha", "e2e"])
def test_the_cluster_flavour_grants_every_call_in_every_namespace(overlay: str) -> None:
    grants = _grants(render_overlay(overlay))
    for call in _operator_calls():
        # Watching all namespaces lists and watches at cluster scope.
        assert can(grants, call, namespace=None), call
        assert can(grants, call, namespace=_WATCHED), call


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_flavour_grants_what_the_operator_never_does(overlay: str) -> None:
    grants = _grants(render_overlay(overlay))
    for call in _NEVER:
        for namespace in (None, OPERATOR_NAMESPACE, _WATCHED):
            assert not can(grants, call, namespace=namespace), (call, namespace)


def test_the_namespaced_flavour_is_confined_to_its_watched_namespace() -> None:
    objects = render_overlay("namespaced")
    assert not of_kind(objects, "ClusterRole")
    assert not of_kind(objects, "ClusterRoleBinding")
    config = pick(objects, "ConfigMap", "gko-config")["data"]
    assert config["NAMESPACE"] == OPERATOR_NAMESPACE
    grants = _grants(objects)
    assert set(grants) == {OPERATOR_NAMESPACE}
    for call in _operator_calls():
        assert can(grants, call, namespace=OPERATOR_NAMESPACE), call
        assert not can(grants, call, namespace=_WATCHED), call
        assert not can(grants, call, namespace=None), call


def test_rbac_namespaced_grants_one_more_watched_namespace(tmp_path: Path) -> None:
    """The documented recipe: render rbac/namespaced once more with `namespace: <watched>`."""
    extra = write_kustomization(
        tmp_path, resources=(MANIFESTS / "rbac" / "namespaced",), namespace=_WATCHED
    )
    objects = render_overlay("namespaced") + render(extra)
    grants = _grants(objects)
    assert set(grants) == {OPERATOR_NAMESPACE, _WATCHED}
    for call in _operator_calls():
        assert can(grants, call, namespace=_WATCHED), call
        assert not can(grants, call, namespace="team-b"), call


def test_leases_only_with_leader_election_and_only_in_the_operator_namespace() -> None:
    lease_calls = [_req(v, "coordination.k8s.io", "leases") for v in
                   ("get", "create", "update", "patch")]
    ha = _grants(render_overlay("ha"))
    for call in lease_calls:
        assert can(ha, call, namespace=OPERATOR_NAMESPACE), call
        assert not can(ha, call, namespace=_WATCHED), call
        assert not can(ha, call, namespace=None), call
    for call in (_req("delete", "coordination.k8s.io", "leases"),
                 _req("list", "coordination.k8s.io", "leases")):
        assert not can(ha, call, namespace=OPERATOR_NAMESPACE), call
    for overlay in ("cluster", "namespaced", "e2e"):
        grants = _grants(render_overlay(overlay))
        for call in lease_calls:
            assert not can(grants, call, namespace=OPERATOR_NAMESPACE), (overlay, call)


def test_apply_crds_grants_only_our_crds_by_name(tmp_path: Path) -> None:
    objects = _compose(tmp_path, components=("apply-crds",))
    assert pick(objects, "ConfigMap", "gko-config")["data"]["APPLY_CRDS"] == "true"
    grants = _grants(objects)
    for info in KINDS:
        for verb in ("get", "patch", "update"):
            call = _req(verb, "apiextensions.k8s.io", "customresourcedefinitions",
                        name=info.crd_name)
            assert can(grants, call, namespace=None), call
    for call in (
        _req("patch", "apiextensions.k8s.io", "customresourcedefinitions",
             name="gateways.gateway.networking.k8s.io"),
        _req("delete", "apiextensions.k8s.io", "customresourcedefinitions",
             name="apidefinitions.gravitee.io"),
        _req("list", "apiextensions.k8s.io", "customresourcedefinitions"),
        _req("create", "apiextensions.k8s.io", "customresourcedefinitions"),
    ):
        assert not can(grants, call, namespace=None), call
    without = _grants(render_overlay("cluster"))
    call = _req("patch", "apiextensions.k8s.io", "customresourcedefinitions",
                name="apidefinitions.gravitee.io")
    assert not can(without, call, namespace=None)
    assert pick(render_overlay("cluster"), "ConfigMap", "gko-config")["data"]["APPLY_CRDS"] == (
        "false"
    )


def test_apply_crds_names_match_the_generated_crds(tmp_path: Path) -> None:
    files = crd_files()
    if not files:
        pytest.skip("manifests/crds/ is still empty: `make manifests` has not been run yet")
    names = {yaml.safe_load(path.read_text(encoding="utf-8"))["metadata"]["name"]
             for path in files}
    role = pick(_compose(tmp_path, components=("apply-crds",)), "ClusterRole", "gko-crd-apply")
    (rule,) = role["rules"]
    assert set(rule["resourceNames"]) == names

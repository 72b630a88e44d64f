"""The e2e suite's real-API-server target (``E2E_TARGET=real``): the test API server of
``make testenv``, prepared the way an administrator installs the operator.

Owns finding the server's state directory (``tools/testenv/README.md``: ``kubeconfig`` for the
admin, ``operator.kubeconfig`` for the operator's own identity) and installing, as the admin and
with server-side apply, what the operator needs before it starts: the CRDs of ``manifests/crds``,
its namespace, and the shipped cluster-wide RBAC (``manifests/rbac/cluster``) bound to its
ServiceAccount. The operator then runs with nothing but that ClusterRole, so the suite proves the
shipped RBAC sufficient. It must never start or stop the server (``make testenv`` does).
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import time
from typing import Any, Final

import attrs
import yaml
from kubernetes_asyncio import client, config

from tests.e2e.target import TargetError

ROOT: Final = pathlib.Path(__file__).resolve().parents[2]
CRDS_DIR: Final = ROOT / "manifests" / "crds"
RBAC_DIR: Final = ROOT / "manifests" / "rbac" / "cluster"
OPERATOR_NAMESPACE: Final = "gravitee-operator"
"""Where the shipped overlays install the operator; its token's user is this namespace's
``gko-controller-manager`` ServiceAccount."""
FIELD_MANAGER: Final = "gko-e2e-install"
APPLY: Final = "application/apply-patch+yaml"


@attrs.frozen
class TestEnv:
    """The files of a running test API server."""

    admin_kubeconfig: pathlib.Path
    operator_kubeconfig: pathlib.Path


def locate(environ: dict[str, str] | None = None) -> TestEnv:
    """The test API server of ``E2E_TESTENV_DIR`` (default ``build/testenv``); fails naming
    ``make testenv`` when it is not there."""
    env = dict(os.environ) if environ is None else environ
    directory = pathlib.Path(env.get("E2E_TESTENV_DIR") or ROOT / "build" / "testenv")
    found = TestEnv(directory / "kubeconfig", directory / "operator.kubeconfig")
    missing = [str(p) for p in (directory / "server", *attrs.astuple(found)) if not p.is_file()]
    if missing:
        raise TargetError(
            "E2E_TARGET=real needs a running test API server (make testenv); missing: "
            + ", ".join(missing)
        )
    return found


def _docs(path: pathlib.Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def rbac_objects(namespace: str = OPERATOR_NAMESPACE) -> list[dict[str, Any]]:
    """The shipped ClusterRole and ClusterRoleBinding, with the subject's namespace filled in
    as kustomize does for the overlays."""
    objects = []
    for name in ("role.yaml", "binding.yaml"):
        for doc in _docs(RBAC_DIR / name):
            for subject in doc.get("subjects") or []:
                if subject.get("kind") == "ServiceAccount":
                    subject.setdefault("namespace", namespace)
            objects.append(doc)
    return objects


async def install(env: TestEnv, *, timeout: float = 60.0) -> None:
    """Apply (server-side, as the admin) the CRDs, the namespace and the RBAC; return once
    every CRD is Established."""
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(env.admin_kubeconfig),
                                  client_configuration=configuration)
    async with client.ApiClient(configuration) as api:
        ext: Any = client.ApiextensionsV1Api(api)
        core: Any = client.CoreV1Api(api)
        rbac: Any = client.RbacAuthorizationV1Api(api)
        options = {"field_manager": FIELD_MANAGER, "force": True, "_content_type": APPLY}
        names = []
        for path in sorted(CRDS_DIR.glob("*.yaml")):
            for crd in _docs(path):
                await ext.patch_custom_resource_definition(crd["metadata"]["name"], crd,
                                                           **options)
                names.append(crd["metadata"]["name"])
        await core.patch_namespace(
            OPERATOR_NAMESPACE,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}},
            **options)
        for obj in rbac_objects():
            if obj["kind"] == "ClusterRole":
                await rbac.patch_cluster_role(obj["metadata"]["name"], obj, **options)
            elif obj["kind"] == "ClusterRoleBinding":
                await rbac.patch_cluster_role_binding(obj["metadata"]["name"], obj, **options)
            else:
                raise AssertionError(f"unexpected {obj['kind']} in {RBAC_DIR}")
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                crd = await ext.read_custom_resource_definition(name)
                conditions = (crd.status and crd.status.conditions) or []
                if any(c.type == "Established" and c.status == "True" for c in conditions):
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"CRD {name} not Established within {timeout:.0f} s")
                await asyncio.sleep(0.1)

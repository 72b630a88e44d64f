"""Helpers of the deployment tests: where the manifests are, and rendering them with kubectl.

Owns: rendering a kustomize directory through the real ``kubectl kustomize`` (offline) and
picking objects out of the result. Must never talk to a cluster.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests"
CRD_DIR = MANIFESTS / "crds"
DEPLOY = REPO / "deploy"

OVERLAYS = ("cluster", "namespaced", "ha", "e2e")
OPERATOR_NAMESPACE = "gravitee-operator"
OPERATOR_NAME = "gko-controller-manager"
SERVICE_ACCOUNT = "gko-controller-manager"

#: The kinds the operator reconciles, by CRD plural (docs/behavior/kinds.md).
CRD_PLURALS = (
    "managementcontexts",
    "apidefinitions",
    "apiv4definitions",
    "apiresources",
    "applications",
    "subscriptions",
    "sharedpolicygroups",
    "groups",
    "notifications",
    "dictionaries",
    "portals",
    "portallistings",
    "portallinks",
    "documentations",
)

KUBECTL = shutil.which("kubectl")

requires_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on the PATH")

Manifest = dict[str, Any]


def render(directory: Path) -> list[Manifest]:
    """The objects ``kubectl kustomize DIRECTORY`` renders (fresh every call)."""
    assert KUBECTL is not None
    completed = subprocess.run(
        [KUBECTL, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return [doc for doc in yaml.safe_load_all(completed.stdout) if doc]


@functools.cache
def _rendered_overlay_text(overlay: str) -> str:
    return yaml.safe_dump_all(render(MANIFESTS / "overlays" / overlay))


def render_overlay(overlay: str) -> list[Manifest]:
    """A private copy of the objects of ``manifests/overlays/OVERLAY`` (rendered once)."""
    return [doc for doc in yaml.safe_load_all(_rendered_overlay_text(overlay)) if doc]


def pick(objects: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The single object of ``kind`` (and ``name``); fails when there is none or several."""
    found = [
        obj
        for obj in objects
        if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def of_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [obj for obj in objects if obj["kind"] == kind]


def crd_files() -> list[Path]:
    return sorted(CRD_DIR.glob("gravitee.io_*.yaml"))


def operator_container(objects: list[Manifest]) -> Manifest:
    deployment = pick(objects, "Deployment", OPERATOR_NAME)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "manager")


def write_kustomization(
    directory: Path,
    *,
    resources: tuple[Path, ...] = (),
    components: tuple[Path, ...] = (),
    **fields: Any,
) -> Path:
    """Write a kustomization in ``directory`` that builds on the given manifest directories.

    kustomize refuses absolute paths, so they are made relative to ``directory``.
    """
    body: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        **fields,
    }
    if resources:
        body["resources"] = [os.path.relpath(path, directory) for path in resources]
    if components:
        body["components"] = [os.path.relpath(path, directory) for path in components]
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    return directory

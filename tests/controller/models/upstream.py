"""Upstream GKO reference data (CRDs and example manifests), read-only, for comparison tests."""

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from controller.models.kinds import KINDS, KindInfo

REFERENCE = Path(__file__).resolve().parents[4] / "shared" / "reference" / "gko"
if not REFERENCE.exists():  # the tree may be checked out elsewhere; the sandbox path is canonical
    REFERENCE = Path("/work/shared/reference/gko")

KINDS_IN_SCOPE = {info.kind for info in KINDS}

# Upstream ships this example without the required spec.plan: its own CRD rejects it too.
INVALID_UPSTREAM_EXAMPLES = {"apim/subscription/subscription-with-metadata.yml"}


@functools.cache
def _load_crd(plural: str) -> dict[str, Any]:
    path = REFERENCE / "crds" / f"gravitee.io_{plural}.yaml"
    crd: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return crd


def upstream_crd(info: KindInfo) -> dict[str, Any]:
    """A fresh copy of the upstream CRD of a kind (parsed once)."""
    return copy.deepcopy(_load_crd(info.plural))


def upstream_schema(info: KindInfo) -> dict[str, Any]:
    schema: dict[str, Any] = upstream_crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def example_documents() -> list[tuple[str, dict[str, Any]]]:
    """(relative path#index, document) of every upstream example of a kind in scope."""
    out = []
    root = REFERENCE / "examples"
    for path in sorted([*root.rglob("*.yml"), *root.rglob("*.yaml")]):
        rel = path.relative_to(root).as_posix()
        for index, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if isinstance(doc, dict) and doc.get("kind") in KINDS_IN_SCOPE:
                out.append((f"{rel}#{index}", doc))
    return out


def is_valid_upstream(example_id: str) -> bool:
    return example_id.split("#", 1)[0] not in INVALID_UPSTREAM_EXAMPLES

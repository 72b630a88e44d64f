"""Server-side apply of the CRDs embedded in the operator package (``APPLY_CRDS=true``).

This module owns reading the generated CRD files shipped in ``controller/crds`` and applying
them with field manager ``gravitee.io/operator`` and ``force=true`` (the upstream behaviour, so
the operator's version of a CRD wins over whatever an older Helm chart installed).

It must never generate CRDs (``controller.models.crdgen`` does) or delete any.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import yaml
from kubernetes_asyncio.client import ApiClient

from controller.kube.resources import ResourceKind
from controller.kube.rest import APPLY_PATCH, request_json
from controller.logging import get_logger

EMBEDDED_CRD_DIR: Final = Path(__file__).resolve().parent.parent / "crds"
FIELD_MANAGER: Final = "gravitee.io/operator"
CUSTOM_RESOURCE_DEFINITIONS: Final = ResourceKind(
    group="apiextensions.k8s.io", version="v1", plural="customresourcedefinitions",
    kind="CustomResourceDefinition", namespaced=False,
)

_log = get_logger("crds")


def load_crds(directory: Path = EMBEDDED_CRD_DIR) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition document in the YAML files of ``directory``."""
    documents: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                documents.append(document)
    return documents


async def apply_crds(
    api_client: ApiClient, crds: Iterable[dict[str, Any]], *, field_manager: str = FIELD_MANAGER
) -> list[str]:
    """Server-side apply each CRD (forcing conflicts); returns the applied names."""
    applied = []
    for crd in crds:
        name = crd["metadata"]["name"]
        await request_json(
            api_client, "PATCH", CUSTOM_RESOURCE_DEFINITIONS.object_path(None, name),
            query=[("fieldManager", field_manager), ("force", "true")],
            body=crd, content_type=APPLY_PATCH,
        )
        applied.append(name)
    _log.info("CRDs applied", count=len(applied))
    return applied

"""kubernetes-asyncio is loaded lazily (controller/lean_imports.py): the operator's imports
leave the generated APIs and models unloaded, and every name still resolves on demand."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


def _run(code: str) -> str:
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True, timeout=120)
    return completed.stdout.strip()


def test_the_operator_imports_load_no_generated_api_or_model_module() -> None:
    out = _run(
        "import sys, controller.manager, controller.wiring\n"
        "loaded = [m for m in sys.modules if m.startswith('kubernetes_asyncio.client.')]\n"
        "print(sorted(m for m in loaded if m.startswith(('kubernetes_asyncio.client.api.',"
        " 'kubernetes_asyncio.client.models.'))))"
    )
    assert out == "[]"


def test_every_name_still_resolves_on_first_use() -> None:
    out = _run(
        "import controller\n"
        "from kubernetes_asyncio import client, config\n"
        "from kubernetes_asyncio.client import CoreV1Api, V1ObjectMeta, ApiClient\n"
        "from kubernetes_asyncio.client.rest import ApiException\n"
        "print(CoreV1Api.__module__, V1ObjectMeta.__module__, client.models.V1Pod.__name__,"
        " config.ConfigException.__name__, client.__version__)"
    )
    assert out.split() == ["kubernetes_asyncio.client.api.core_v1_api",
                           "kubernetes_asyncio.client.models.v1_object_meta", "V1Pod",
                           "ConfigException", version("kubernetes_asyncio")]

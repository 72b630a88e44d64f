"""Kubeconfig files pointing kubectl and kubernetes-asyncio at an emulator.

Owns the kubeconfig layout only. Must never contain credentials: the emulator needs none.
"""

from __future__ import annotations

import pathlib

import yaml

CONTEXT = "kubeapi-emulator"


def render(url: str, *, namespace: str = "default") -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write(path: pathlib.Path, url: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(url))
    return path

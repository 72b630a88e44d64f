"""The real kube-apiserver of `make testenv`, for tests marked ``real_cluster``.

Owns: finding its state (``TESTENV_DIR``: ``server``, ``ca.crt``, ``kubeconfig`` (admin) and
``<role>.token`` for admin, operator and nobody; or ``KUBECONFIG`` naming an admin kubeconfig with
those token files and ``ca.crt`` next to it) and building clients for each identity. Tests skip
with the reason when neither is given. Must never print a token.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import pytest
import yaml
from kubernetes_asyncio.client import ApiClient, Configuration

ROLES = ("admin", "operator", "nobody")


@attrs.frozen
class RealServer:
    server: str
    ca: Path
    kubeconfig: Path
    tokens: dict[str, str] = attrs.field(repr=False)

    def client(self, role: str) -> ApiClient:
        """An ApiClient authenticating with ``role``'s bearer token, verifying the CA."""
        configuration = Configuration(host=self.server)
        configuration.ssl_ca_cert = str(self.ca)
        configuration.api_key = {"BearerToken": self.tokens[role]}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        return ApiClient(configuration)


def _server_of(kubeconfig: Path) -> str:
    doc = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
    contexts = {c["name"]: c["context"] for c in doc.get("contexts", [])}
    clusters = {c["name"]: c["cluster"] for c in doc.get("clusters", [])}
    return str(clusters[contexts[doc["current-context"]]["cluster"]]["server"])


def find() -> tuple[RealServer | None, str]:
    """The real server, or None and why not."""
    if os.environ.get("TESTENV_DIR"):
        directory = Path(os.environ["TESTENV_DIR"])
        kubeconfig = directory / "kubeconfig"
        server_file = directory / "server"
        if not server_file.is_file():
            return None, f"TESTENV_DIR={directory} has no `server` file: is `make testenv` up?"
        server = server_file.read_text(encoding="utf-8").strip()
    elif os.environ.get("KUBECONFIG"):
        kubeconfig = Path(os.environ["KUBECONFIG"])
        directory = kubeconfig.parent
        server = _server_of(kubeconfig)
    else:
        return None, ("no real API server: set TESTENV_DIR (make testenv's build/testenv) or "
                      "KUBECONFIG with admin/operator/nobody .token files and ca.crt beside it")
    missing = [name for name in (*(f"{r}.token" for r in ROLES), "ca.crt")
               if not (directory / name).is_file()]
    if missing or not kubeconfig.is_file():
        return None, f"{directory} lacks {', '.join(missing) or 'kubeconfig'}"
    tokens = {role: (directory / f"{role}.token").read_text(encoding="utf-8").strip()
              for role in ROLES}
    return RealServer(server=server, ca=directory / "ca.crt", kubeconfig=kubeconfig,
                      tokens=tokens), ""


@pytest.fixture(scope="module")
def real_server() -> RealServer:
    found, reason = find()
    if found is None:
        pytest.skip(reason)
    return found

"""Where the webhook server's certificate comes from (docs/behavior/admission.md#certificates).

Three sources, in this order:

* ``WEBHOOK_CERT_SECRET_NAME`` set: the operator keeps a CA and a serving certificate in that
  Secret (keys ``ca``, ``cert``, ``key``, as upstream), generated when the Secret is missing, empty,
  unreadable as a pair, does not cover the webhook's names or expires within 30 days, and reused
  otherwise (so every replica, and every restart, presents the same CA);
* else a mounted directory (``WEBHOOK_CERT_DIR``, e.g. a cert-manager Secret): ``tls.crt`` /
  ``tls.key`` (or upstream's ``cert`` / ``key``), reloaded when they change; the CA bundle is
  ``ca.crt`` when present;
* else, when self-registering (out of a cluster), a CA and certificate generated in memory.

The names a certificate covers: the Service's (``<svc>``, ``<svc>.<ns>``, ``<svc>.<ns>.svc``,
``<svc>.<ns>.svc.cluster.local``) and the host of ``WEBHOOK_SELF_REGISTER_URL``.

It must never log or return a private key outside the Secret it writes.
"""

from __future__ import annotations

import base64
import datetime
import ssl
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs
from cryptography import x509
from kubernetes_asyncio.client import ApiClient

from controller.config import WebhookSettings
from controller.kube.rest import KubeApiError, request_json
from controller.logging import get_logger
from controller.servingcert import (
    CertificateError,
    KeyPair,
    ServingCertificate,
    from_directory,
    from_pem,
    issue,
    load_pem,
)

_log = get_logger("webhook-certs")

CA_KEY, CERT_KEY, KEY_KEY = "ca", "cert", "key"
VALIDITY = datetime.timedelta(days=365 * 99)
"""Upstream's certificates live about a century; rotation happens by deleting the Secret."""
RENEW_BEFORE = datetime.timedelta(days=30)


@attrs.frozen
class Bundle:
    """A CA and the serving pair it signed."""

    ca_pem: bytes
    serving: KeyPair

    def secret_data(self) -> dict[str, str]:
        return {
            CA_KEY: _b64(self.ca_pem),
            CERT_KEY: _b64(self.serving.cert_pem),
            KEY_KEY: _b64(self.serving.key_pem),
        }


def hosts(settings: WebhookSettings, namespace: str) -> tuple[str, ...]:
    """The names the serving certificate covers."""
    service = settings.service_name
    names = [service, f"{service}.{namespace}", f"{service}.{namespace}.svc",
             f"{service}.{namespace}.svc.cluster.local"]
    if settings.self_register_url:
        host = urlsplit(settings.self_register_url).hostname
        if host:
            names.append(host)
    return tuple(dict.fromkeys(names))


def generate(names: tuple[str, ...]) -> Bundle:
    """A fresh CA (organization ``gravitee.io``) and a serving certificate (``gko``)."""
    ca = issue(common_name="gko-webhook-ca", organization="gravitee.io", valid_for=VALIDITY,
               ca=True)
    serving = issue(common_name=names[0], organization="gko", hosts=names, valid_for=VALIDITY,
                    issuer=ca)
    return Bundle(ca.cert_pem, serving)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _usable(data: Mapping[str, str], names: tuple[str, ...]) -> Bundle | None:
    """The bundle stored in a Secret's data when it can be reused for ``names``."""
    try:
        ca, cert, key = (base64.b64decode(data[k]) for k in (CA_KEY, CERT_KEY, KEY_KEY))
        certificate = x509.load_pem_x509_certificate(cert)
        x509.load_pem_x509_certificate(ca)
        from_pem(cert, key)  # the pair matches
    except (KeyError, ValueError, CertificateError, OSError, ssl.SSLError):
        return None
    if certificate.not_valid_after_utc - RENEW_BEFORE < datetime.datetime.now(datetime.UTC):
        return None
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    covered = {str(v) for v in san.get_values_for_type(x509.DNSName)}
    covered |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    if not set(names) <= covered:
        return None
    return Bundle(ca, KeyPair(cert, key))


async def ensure_secret(
    api: ApiClient, namespace: str, name: str, names: tuple[str, ...]
) -> Bundle:
    """The bundle kept in Secret ``namespace/name``: reused when usable, else generated and
    written (created, or the existing Secret replaced at its resourceVersion; a replica that
    lost that race reads the winner's)."""
    path = f"/api/v1/namespaces/{namespace}/secrets/{name}"
    for _ in range(3):
        try:
            secret = await request_json(api, "GET", path)
        except KubeApiError as error:
            if not error.not_found:
                raise
            secret = None
        if secret is not None:
            found = _usable(secret.get("data") or {}, names)
            if found is not None:
                return found
        bundle = generate(names)
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque",
            "data": bundle.secret_data(),
        }
        try:
            if secret is None:
                await request_json(api, "POST", f"/api/v1/namespaces/{namespace}/secrets",
                                   body=body)
            else:
                metadata = secret.get("metadata") or {}
                body["metadata"] = {**metadata, "name": name, "namespace": namespace}
                body["type"] = secret.get("type") or "Opaque"
                await request_json(api, "PUT", path, body=body)
        except KubeApiError as error:
            if error.conflict or error.status == 409:
                continue  # another replica wrote it first: use theirs
            raise
        _log.info("webhook certificate generated", secret=f"{namespace}/{name}")
        return bundle
    raise RuntimeError(f"could not store the webhook certificate in Secret {namespace}/{name}")


@attrs.define
class CertificateSource:
    """The serving certificate and the CA bundle the API server must trust."""

    serving: ServingCertificate
    ca_pem: bytes

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> CertificateSource:
        chain = bundle.serving.cert_pem
        return cls(from_pem(chain, bundle.serving.key_pem), bundle.ca_pem)

    def replace(self, bundle: Bundle) -> None:
        """Serve ``bundle`` from now on (new connections; the listening socket keeps its
        context object)."""
        load_pem(self.serving.context, bundle.serving.cert_pem, bundle.serving.key_pem)
        self.serving.certificate_pem = bundle.serving.cert_pem
        self.ca_pem = bundle.ca_pem

    def reload_mounted(self) -> bool:
        """A mounted pair that changed is served from now on; True when it did (the CA bundle
        is read again with it)."""
        if not self.serving.reload_if_changed():
            return False
        directory = self.serving.directory
        assert directory is not None
        self.ca_pem = _mounted_ca(directory) or self.serving.certificate_pem
        return True


def mounted(directory: str) -> CertificateSource:
    """The pair mounted in ``directory`` (``tls.crt``/``tls.key`` or ``cert``/``key``)."""
    path = Path(directory)
    files = ("tls.crt", "tls.key") if (path / "tls.crt").exists() else ("cert", "key")
    serving = from_directory(path, files=files, setting="WEBHOOK_CERT_DIR")
    return CertificateSource(serving, _mounted_ca(path) or serving.certificate_pem)


def _mounted_ca(directory: Path) -> bytes | None:
    ca = next((directory / n for n in ("ca.crt", "ca") if (directory / n).is_file()), None)
    return ca.read_bytes() if ca is not None else None

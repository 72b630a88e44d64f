"""A small HTTPS admission webhook server for the contract tests, on 127.0.0.1.

Its certificate is signed by a throwaway CA (both made with ``cryptography``), so a test can put
the CA in a configuration's ``caBundle``; a real kube-apiserver on loopback can call it as the
emulator does. Each path answers with the function a test registered for it and records the
``request`` of every review it received.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import functools
import ipaddress
import json
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

JsonObj = dict[str, Any]
Answer = Callable[[JsonObj], Awaitable[JsonObj] | JsonObj]


@attrs.frozen
class Certificates:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode(self.ca_pem).decode()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@functools.cache
def certificates(*dns_names: str) -> Certificates:
    """A CA and a serving certificate for 127.0.0.1, localhost and ``dns_names``."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("contract-webhook-ca"))
        .issuer_name(_name("contract-webhook-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
        *(x509.DNSName(n) for n in dns_names),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("contract-webhook"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Certificates(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def allow(**extra: Any) -> Answer:
    """An answer allowing the request (``warnings=[...]``, ``patch=[...]`` as JSON patch ops)."""

    def answer(_request: JsonObj) -> JsonObj:
        response: JsonObj = {"allowed": True}
        if "warnings" in extra:
            response["warnings"] = extra["warnings"]
        if "patch" in extra:
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(json.dumps(extra["patch"]).encode()).decode()
        return response

    return answer


def deny(message: str, code: int = 403, reason: str = "Forbidden", **extra: Any) -> Answer:
    def answer(_request: JsonObj) -> JsonObj:
        response: JsonObj = {
            "allowed": False,
            "status": {"code": code, "reason": reason, "message": message},
        }
        response.update(extra)
        return response

    return answer


class WebhookServer:
    """Serves ``POST /<path>`` with the registered answers; records what it received."""

    def __init__(self, certs: Certificates) -> None:
        self.certs = certs
        self.answers: dict[str, Answer] = {}
        self.reviews: dict[str, list[JsonObj]] = {}
        self.port = 0
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}/{path}"

    def on(self, path: str, answer: Answer) -> str:
        """Answer ``path`` with ``answer``; returns its URL."""
        self.answers[path] = answer
        self.reviews.setdefault(path, [])
        return self.url(path)

    def received(self, path: str) -> list[JsonObj]:
        return self.reviews.get(path, [])

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        review = await request.json()
        admission = review["request"]
        self.reviews.setdefault(path, []).append(admission)
        answer = self.answers.get(path)
        if answer is None:
            return web.Response(status=404, text="no such webhook")
        response = answer(admission)
        if asyncio.iscoroutine(response):
            response = await response
        assert isinstance(response, dict)
        body = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": admission["uid"], **response},
        }
        return web.json_response(body)

    async def start(self) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.NamedTemporaryFile() as cert, tempfile.NamedTemporaryFile() as key:
            cert.write(self.certs.cert_pem)
            cert.flush()
            key.write(self.certs.key_pem)
            key.flush()
            context.load_cert_chain(cert.name, key.name)
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

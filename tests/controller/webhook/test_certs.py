"""The webhook certificate kept in a Secret: generated once, reused, regenerated when unusable
(against the emulator's Secrets API)."""

from __future__ import annotations

import base64
import ssl

from cryptography import x509

from controller.config import WebhookSettings
from controller.kube.rest import request_json
from controller.webhook import certs

NAMES = certs.hosts(WebhookSettings(self_register_url="https://127.0.0.1:9443"), "gko")


def test_names_cover_the_service_and_the_self_registration_host():
    assert NAMES == ("gko-webhook", "gko-webhook.gko", "gko-webhook.gko.svc",
                     "gko-webhook.gko.svc.cluster.local", "127.0.0.1")


def test_the_generated_certificate_is_signed_by_its_ca_for_every_name():
    bundle = certs.generate(NAMES)
    ca = x509.load_pem_x509_certificate(bundle.ca_pem)
    leaf = bundle.serving.certificate
    leaf.verify_directly_issued_by(ca)
    assert ca.subject.rfc4514_string().endswith("O=gravitee.io")
    assert "O=gko" in leaf.subject.rfc4514_string()
    context = ssl.create_default_context(cadata=bundle.ca_pem.decode())
    assert context.cert_store_stats()["x509_ca"] == 1
    assert certs._usable(bundle.secret_data(), NAMES) is not None
    assert certs._usable(bundle.secret_data(), (*NAMES, "other.example")) is None
    assert certs._usable({"ca": "", "cert": "", "key": ""}, NAMES) is None


async def test_the_secret_is_created_then_reused_then_regenerated_when_emptied(kube_client):
    await request_json(kube_client, "POST", "/api/v1/namespaces",
                       body={"metadata": {"name": "gko"}})
    first = await certs.ensure_secret(kube_client, "gko", "gko-webhook-cert", NAMES)
    stored = await request_json(kube_client, "GET",
                                "/api/v1/namespaces/gko/secrets/gko-webhook-cert")
    assert set(stored["data"]) == {"ca", "cert", "key"}
    assert base64.b64decode(stored["data"]["ca"]) == first.ca_pem

    again = await certs.ensure_secret(kube_client, "gko", "gko-webhook-cert", NAMES)
    assert again.serving.cert_pem == first.serving.cert_pem

    stored["data"] = {}
    await request_json(kube_client, "PUT", "/api/v1/namespaces/gko/secrets/gko-webhook-cert",
                       body=stored)
    fresh = await certs.ensure_secret(kube_client, "gko", "gko-webhook-cert", NAMES)
    assert fresh.ca_pem != first.ca_pem
    stored = await request_json(kube_client, "GET",
                                "/api/v1/namespaces/gko/secrets/gko-webhook-cert")
    assert base64.b64decode(stored["data"]["cert"]) == fresh.serving.cert_pem

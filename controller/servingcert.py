"""The TLS server context of the secured metrics endpoint: a mounted certificate or a generated one.

This module owns where the metrics server's certificate comes from. With ``METRICS_CERT_DIR``
set, ``tls.crt`` and ``tls.key`` are read from it (controller-runtime's file names, e.g. a
``kubernetes.io/tls`` Secret mounted there), and read again when they change (as
controller-runtime's certwatcher does: a renewed Secret reaches new connections without a
restart; a pair that fails to load keeps the previous one). Without it, a self-signed ECDSA
P-256 certificate for ``localhost``, ``127.0.0.1``, ``::1`` and the pod's host name is generated
at start, as controller-runtime does; it lives in memory (the files the ssl module needs to load
it are written to a private temporary directory and removed at once).

It must never write a key anywhere but a 0700 temporary directory, or log one.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import tempfile
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from controller.config import SettingsError

CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"


class CertificateError(SettingsError):
    """The mounted certificate or key is missing or unusable (a configuration error: the
    operator exits with its bad-configuration code)."""


@attrs.define(kw_only=True)
class ServingCertificate:
    """An SSL server context and the PEM certificate it presents."""

    context: ssl.SSLContext
    certificate_pem: bytes
    self_signed: bool
    directory: Path | None = None
    """Where a mounted pair was read from (None: generated)."""
    files: tuple[str, str] = (CERT_FILE, KEY_FILE)
    """The certificate and key file names in ``directory``."""
    setting: str = "METRICS_CERT_DIR"
    """The setting that named ``directory`` (for error messages)."""
    reloads: int = 0
    """Times a changed pair was loaded since start."""
    _fingerprint: tuple[int, ...] = attrs.field(default=(), alias="fingerprint")

    def reload_if_changed(self) -> bool:
        """Load the mounted pair again when its files changed; True when it did.

        Raises ``CertificateError`` when the changed pair cannot be loaded (the context keeps
        presenting the previous certificate then).
        """
        if self.directory is None:
            return False
        fingerprint = _fingerprint(self.directory, self.files)
        if fingerprint == self._fingerprint:
            return False
        pem = _load_into(self.context, self.directory, self.files, self.setting)
        self.certificate_pem, self._fingerprint = pem, fingerprint
        self.reloads += 1
        return True


def _server_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def from_directory(
    directory: str | os.PathLike[str],
    *,
    files: tuple[str, str] = (CERT_FILE, KEY_FILE),
    setting: str = "METRICS_CERT_DIR",
) -> ServingCertificate:
    """Load the certificate and key ``files`` (``tls.crt``, ``tls.key``) from ``directory``."""
    path = Path(directory)
    fingerprint = _fingerprint(path, files)
    context = _server_context()
    pem = _load_into(context, path, files, setting)
    return ServingCertificate(context=context, certificate_pem=pem, self_signed=False,
                              directory=path, files=files, setting=setting,
                              fingerprint=fingerprint)


def from_pem(cert_pem: bytes, key_pem: bytes) -> ServingCertificate:
    """A server context presenting ``cert_pem`` (a chain is allowed) with ``key_pem``."""
    context = _server_context()
    load_pem(context, cert_pem, key_pem)
    return ServingCertificate(context=context, certificate_pem=cert_pem, self_signed=False)


def load_pem(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """Load a PEM pair into ``context`` (the ssl module reads files only: they live in a
    private temporary directory for the duration of the call)."""
    with tempfile.TemporaryDirectory(prefix="gko-cert-") as directory:
        cert_path, key_path = Path(directory) / CERT_FILE, Path(directory) / KEY_FILE
        cert_path.write_bytes(cert_pem)
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key_pem)
        context.load_cert_chain(cert_path, key_path)


def _fingerprint(directory: Path, files: tuple[str, str]) -> tuple[int, ...]:
    """Modification times and sizes of the pair (stat follows a Secret volume's symlinks)."""
    values: list[int] = []
    for name in files:
        try:
            stat = (directory / name).stat()
        except OSError:
            values += [-1, -1]
        else:
            values += [stat.st_mtime_ns, stat.st_size]
    return tuple(values)


def _load_into(
    context: ssl.SSLContext, directory: Path, files: tuple[str, str], setting: str
) -> bytes:
    cert, key = directory / files[0], directory / files[1]
    try:
        pem = cert.read_bytes()
        # A scratch context first: a pair that fails half-way must not leave the live context
        # with a new certificate and the old key.
        _server_context().load_cert_chain(cert, key)
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise CertificateError(
            f"{setting}={directory}: cannot load {files[0]} and {files[1]}: {exc}"
        ) from None
    return pem


def self_signed(
    *,
    hosts: tuple[str, ...] = (),
    valid_for: datetime.timedelta = datetime.timedelta(days=365),
) -> ServingCertificate:
    """A fresh self-signed certificate for localhost, the loopback addresses, the host name and
    ``hosts``."""
    names = ("localhost", socket.gethostname(), "127.0.0.1", "::1", *hosts)
    pair = issue(common_name="gko-metrics@localhost", hosts=names, valid_for=valid_for,
                 ca=True)
    certificate = from_pem(pair.cert_pem, pair.key_pem)
    certificate.self_signed = True
    return certificate


@attrs.frozen
class KeyPair:
    """A certificate and its private key, in PEM."""

    cert_pem: bytes
    key_pem: bytes = attrs.field(repr=False)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


def issue(
    *,
    common_name: str,
    hosts: tuple[str, ...] = (),
    organization: str = "",
    valid_for: datetime.timedelta = datetime.timedelta(days=365),
    ca: bool = False,
    issuer: KeyPair | None = None,
) -> KeyPair:
    """A new ECDSA P-256 key and its certificate for ``hosts`` (DNS names or IP addresses),
    signed by ``issuer`` (self-signed when None). ``ca``: may sign other certificates."""
    key = ec.generate_private_key(ec.SECP256R1())
    dns = [x509.DNSName(n) for n in dict.fromkeys(hosts) if n and not _is_ip(n)]
    ips = [x509.IPAddress(ipaddress.ip_address(n)) for n in dict.fromkeys(hosts) if _is_ip(n)]
    now = datetime.datetime.now(datetime.UTC)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    subject = x509.Name(attributes)
    if issuer is not None:
        signer = serialization.load_pem_private_key(issuer.key_pem, password=None)
        assert isinstance(signer, ec.EllipticCurvePrivateKey)
        issuer_name = issuer.certificate.subject
    else:
        signer, issuer_name = key, subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + valid_for)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=ca, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    if dns or ips:
        builder = builder.add_extension(x509.SubjectAlternativeName([*dns, *ips]),
                                        critical=False)
    if not ca or issuer is None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    certificate = builder.sign(signer, hashes.SHA256())
    return KeyPair(
        cert_pem=certificate.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def serving_certificate(cert_dir: str) -> ServingCertificate:
    """The certificate of ``cert_dir`` when given, else a generated self-signed one."""
    return from_directory(cert_dir) if cert_dir else self_signed()


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True

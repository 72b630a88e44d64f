"""A throwaway certificate authority and server certificate for the simulator's HTTPS mode.

Owns creating the test CA (with ``trustme``), the server SSL context for 127.0.0.1/localhost, and
writing the CA bundle to a file clients can be pointed at. Never used outside tests and demos.
"""

from __future__ import annotations

import pathlib
import ssl

import attrs
import trustme


@attrs.frozen
class ServerTls:
    server_context: ssl.SSLContext
    ca_path: pathlib.Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA (and only it)."""
        return ssl.create_default_context(cafile=str(self.ca_path))


def make_server_tls(
    directory: pathlib.Path, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> ServerTls:
    ca = trustme.CA(organization_name="APIM simulator test CA")
    cert = ca.issue_cert(*hosts)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    ca_path = directory / "apim-sim-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return ServerTls(server_context=server_context, ca_path=ca_path)

"""Credentials for the APIM Management API and the ``Authorization`` header they produce.

This module owns the upstream precedence rules: a non-empty bearer token wins over Basic
credentials, and no credentials means no header at all. It must never let a secret out: the
repr/str of ``Credentials`` is redacted, and nothing here logs.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Literal

import attrs

Scheme = Literal["bearer", "basic", "none"]

# Keys of the Secret a ManagementContext points at (auth.secretRef / cloud.secretRef).
SECRET_KEY_BEARER_TOKEN = "bearerToken"
SECRET_KEY_CLOUD_TOKEN = "cloudToken"
SECRET_KEY_USERNAME = "username"
SECRET_KEY_PASSWORD = "password"


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else value


@attrs.frozen(repr=False)
class Credentials:
    """What the client authenticates with. ``username is None`` means "no Basic credentials".

    Basic is used with empty strings too when ``username``/``password`` are given as ``""``:
    upstream does the same for a Secret that lacks the keys, and APIM then answers 401.
    """

    bearer_token: str = attrs.field(default="", kw_only=True)
    username: str | None = attrs.field(default=None, kw_only=True)
    password: str | None = attrs.field(default=None, kw_only=True)

    @classmethod
    def none(cls) -> Credentials:
        return cls()

    @classmethod
    def bearer(cls, token: str) -> Credentials:
        return cls(bearer_token=token)

    @classmethod
    def basic(cls, username: str, password: str) -> Credentials:
        return cls(username=username, password=password)

    @classmethod
    def from_secret(cls, data: Mapping[str, str | bytes], *, cloud: bool = False) -> Credentials:
        """Credentials from a Secret's (already base64-decoded) data.

        Like upstream, the Secret replaces any inline auth wholesale: the token comes from
        ``cloudToken`` for cloud contexts, else ``bearerToken``; ``username``/``password`` are
        always taken (empty when absent).
        """
        token_key = SECRET_KEY_CLOUD_TOKEN if cloud else SECRET_KEY_BEARER_TOKEN
        return cls(
            bearer_token=_text(data.get(token_key)),
            username=_text(data.get(SECRET_KEY_USERNAME)),
            password=_text(data.get(SECRET_KEY_PASSWORD)),
        )

    @property
    def scheme(self) -> Scheme:
        if self.bearer_token:
            return "bearer"
        if self.username is not None:
            return "basic"
        return "none"

    def authorization_header(self) -> str | None:
        """The ``Authorization`` header value, or None when nothing must be sent."""
        scheme = self.scheme
        if scheme == "bearer":
            return f"Bearer {self.bearer_token}"
        if scheme == "basic":
            raw = f"{self.username or ''}:{self.password or ''}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        return None

    def secret_values(self) -> tuple[str, ...]:
        """Every sensitive string (and derived header), for scrubbing texts before they escape."""
        values = [self.bearer_token, self.password or ""]
        header = self.authorization_header()
        if header is not None and self.scheme == "basic":
            values.append(header.removeprefix("Basic "))
        return tuple(v for v in values if v)

    def __repr__(self) -> str:
        return f"Credentials(scheme={self.scheme!r})"

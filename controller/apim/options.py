"""Transport options of the APIM client: timeout, proxy, trust and identification.

This module owns the knobs upstream exposes as ``HTTP_CLIENT_*`` environment variables and their
defaults. It performs no I/O and must never hold a proxy password in a printable form: ``Proxy``
keeps credentials out of its URL and out of its repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

import attrs

DEFAULT_TIMEOUT_SECONDS: Final = 5.0
DEFAULT_USER_AGENT: Final = "gravitee-operator-py/0.1"
DEFAULT_CONNECTION_LIMIT: Final = 16


def _no_userinfo(_instance: object, _attribute: object, value: str) -> None:
    if urlsplit(value).username is not None:
        raise ValueError("proxy url must not embed credentials; use Proxy.from_url()")


@attrs.frozen(repr=False)
class Proxy:
    """An HTTP(S) proxy the client goes through.

    ``url`` never carries credentials (they would leak into logs and error texts through the URL);
    ``username``/``password`` travel separately as ``Proxy-Authorization``.
    """

    url: str = attrs.field(validator=_no_userinfo)
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(
        cls, url: str, *, username: str | None = None, password: str | None = None
    ) -> Proxy:
        """Build from a URL that may embed ``user:password@``; explicit values win."""
        parts = urlsplit(url)
        if parts.username is not None:
            username = username if username is not None else unquote(parts.username)
            if password is None and parts.password is not None:
                password = unquote(parts.password)
            host = parts.hostname or ""
            if ":" in host:  # IPv6 literal
                host = f"[{host}]"
            netloc = f"{host}:{parts.port}" if parts.port is not None else host
            url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        return cls(url=url, username=username or None, password=password)

    def __repr__(self) -> str:
        auth = ", auth=<redacted>" if self.username is not None else ""
        return f"Proxy(url={self.url!r}{auth})"


class HttpClientSettingsLike(Protocol):
    """The shape of ``controller.config.HttpClientSettings`` (structural, so no import)."""

    @property
    def timeout_seconds(self) -> float: ...
    @property
    def insecure_skip_cert_verify(self) -> bool: ...
    @property
    def truststore_path(self) -> str: ...
    @property
    def proxy_enabled(self) -> bool: ...
    @property
    def proxy_use_system_proxy(self) -> bool: ...
    @property
    def proxy_url(self) -> str: ...
    @property
    def proxy_username(self) -> str: ...
    @property
    def proxy_password(self) -> str: ...


@attrs.frozen
class ClientOptions:
    """How the client talks HTTP. Defaults match upstream GKO.

    * ``timeout_seconds`` (5): total time for one request, connect to last byte
      (``HTTP_CLIENT_TIMEOUT_SECONDS``).
    * ``proxy`` (None): explicit proxy (``HTTP_CLIENT_PROXY_URL`` + ``_USERNAME``/``_PASSWORD``).
    * ``use_system_proxy`` (False): honour ``HTTP(S)_PROXY``/``NO_PROXY`` from the environment
      (``HTTP_CLIENT_PROXY_USE_SYSTEM_PROXY``).
    * ``ca_bundle`` (None): PEM file trusted in addition to the system roots
      (``HTTP_CLIENT_TRUSTSTORE_PATH``); unreadable or invalid fails client creation.
    * ``insecure_skip_verify`` (False): accept any server certificate
      (``HTTP_CLIENT_INSECURE_SKIP_CERT_VERIFY``). Off unless asked for explicitly.
    * ``user_agent``: sent on every request.
    * ``connection_limit`` (16): open connections per client, reused across requests.
    """

    timeout_seconds: float = attrs.field(default=DEFAULT_TIMEOUT_SECONDS, kw_only=True)
    proxy: Proxy | None = attrs.field(default=None, kw_only=True)
    use_system_proxy: bool = attrs.field(default=False, kw_only=True)
    ca_bundle: str | None = attrs.field(default=None, kw_only=True)
    insecure_skip_verify: bool = attrs.field(default=False, kw_only=True)
    user_agent: str = attrs.field(default=DEFAULT_USER_AGENT, kw_only=True)
    connection_limit: int = attrs.field(default=DEFAULT_CONNECTION_LIMIT, kw_only=True)

    @timeout_seconds.validator
    def _positive_timeout(self, _attribute: object, value: float) -> None:
        if value <= 0:
            raise ValueError(f"timeout_seconds must be > 0, got {value}")

    @classmethod
    def from_settings(
        cls, settings: HttpClientSettingsLike, *, user_agent: str = DEFAULT_USER_AGENT
    ) -> ClientOptions:
        """Options from the operator's parsed ``HTTP_CLIENT_*`` settings."""
        proxy: Proxy | None = None
        use_system_proxy = False
        if settings.proxy_enabled:
            if settings.proxy_use_system_proxy:
                use_system_proxy = True
            elif settings.proxy_url:
                proxy = Proxy.from_url(
                    settings.proxy_url,
                    username=settings.proxy_username or None,
                    password=settings.proxy_password or None,
                )
        return cls(
            timeout_seconds=settings.timeout_seconds,
            proxy=proxy,
            use_system_proxy=use_system_proxy,
            ca_bundle=settings.truststore_path or None,
            insecure_skip_verify=settings.insecure_skip_cert_verify,
            user_agent=user_agent,
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ClientOptions:
        """Read upstream's ``HTTP_CLIENT_*`` variables (booleans are true only when ``"true"``)."""
        raw_timeout = environ.get("HTTP_CLIENT_TIMEOUT_SECONDS", "").strip()
        try:
            timeout = float(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT_SECONDS
        except ValueError:
            raise ValueError(
                f"HTTP_CLIENT_TIMEOUT_SECONDS must be a number of seconds, got {raw_timeout!r}"
            ) from None
        return cls.from_settings(
            _EnvironSettings(
                timeout_seconds=timeout,
                insecure_skip_cert_verify=environ.get("HTTP_CLIENT_INSECURE_SKIP_CERT_VERIFY")
                == "true",
                truststore_path=environ.get("HTTP_CLIENT_TRUSTSTORE_PATH", ""),
                proxy_enabled=environ.get("HTTP_CLIENT_PROXY_ENABLED") == "true",
                proxy_use_system_proxy=environ.get("HTTP_CLIENT_PROXY_USE_SYSTEM_PROXY") == "true",
                proxy_url=environ.get("HTTP_CLIENT_PROXY_URL", ""),
                proxy_username=environ.get("HTTP_CLIENT_PROXY_USERNAME", ""),
                proxy_password=environ.get("HTTP_CLIENT_PROXY_PASSWORD", ""),
            )
        )


@attrs.frozen(kw_only=True)
class _EnvironSettings:
    timeout_seconds: float
    insecure_skip_cert_verify: bool
    truststore_path: str
    proxy_enabled: bool
    proxy_use_system_proxy: bool
    proxy_url: str
    proxy_username: str
    proxy_password: str = attrs.field(repr=False)

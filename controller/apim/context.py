"""A ManagementContext reduced to plain values, and its resolution into URLs plus credentials.

This module owns the rules of ``docs/behavior/management-context.md`` (URLs, credentials) that
turn what a user wrote (base URL, optional path, org/env ids, inline or Secret credentials,
optional cloud token) into where and how the client talks. It takes plain values, never
Kubernetes objects: the reconciler reads the context and its Secret and fills ``ContextSpec``. It
performs no I/O.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import attrs

from controller.apim.auth import Credentials
from controller.apim.cloud import CloudClaims, parse_cloud_token
from controller.apim.urls import ApimUrls, strip_userinfo


@attrs.frozen(repr=False)
class ContextSpec:
    """What a ManagementContext says, with any Secret already read.

    ``credentials`` is the effective auth (inline, or ``Credentials.from_secret`` when the context
    has a ``secretRef``). ``cloud_token`` is set when ``spec.cloud`` carries a token (inline or
    from the Secret key ``cloudToken``); it then forces Bearer auth and may fill the base URL and
    the org/env ids.
    """

    base_url: str | None = attrs.field(kw_only=True)
    organization_id: str | None = attrs.field(default=None, kw_only=True)
    environment_id: str | None = attrs.field(default=None, kw_only=True)
    path: str | None = attrs.field(default=None, kw_only=True)
    credentials: Credentials = attrs.field(factory=Credentials, kw_only=True)
    cloud_token: str | None = attrs.field(default=None, kw_only=True)

    def __repr__(self) -> str:
        cloud = ", cloud=True" if self.cloud_token else ""
        return (
            f"ContextSpec(base_url={_safe_url(self.base_url)!r}, "
            f"organization_id={self.organization_id!r}, environment_id={self.environment_id!r}, "
            f"path={self.path!r}, credentials={self.credentials!r}{cloud})"
        )


@attrs.frozen(repr=False)
class ResolvedContext:
    """Where to send requests and how to authenticate them."""

    urls: ApimUrls
    credentials: Credentials
    organization_id: str
    environment_id: str
    base_url: str

    def __repr__(self) -> str:
        return (
            f"ResolvedContext(base_url={self.base_url!r}, organization_id="
            f"{self.organization_id!r}, environment_id={self.environment_id!r}, "
            f"credentials={self.credentials!r})"
        )


def _safe_url(url: str | None) -> str | None:
    return None if url is None else strip_userinfo(url)


def _userinfo_credentials(base_url: str) -> Credentials | None:
    try:
        parts = urlsplit(base_url)
    except ValueError:
        return None
    if parts.username is None:
        return None
    return Credentials.basic(unquote(parts.username), unquote(parts.password or ""))


def resolve_context(spec: ContextSpec) -> ResolvedContext:
    """Apply upstream's rules; raises ``ValueError`` (``CloudTokenError`` for cloud problems).

    Cloud: the token's ``org`` claim always wins, the environment must be allowed by ``envs``
    (or be the only one), the base URL defaults to the token's cloud gate, and auth is Bearer
    with the cloud token. Otherwise a ``user:password@`` in the base URL is used as Basic auth
    when no other credentials are given (what Go's HTTP client does) and is removed from URLs.
    """
    credentials = spec.credentials
    organization_id = spec.organization_id or ""
    environment_id = spec.environment_id or ""
    base_url = spec.base_url or ""
    cloud = bool(spec.cloud_token)
    if spec.cloud_token:
        claims: CloudClaims = parse_cloud_token(spec.cloud_token)
        organization_id = claims.organization_id
        environment_id = claims.pick_environment(spec.environment_id)
        base_url = base_url or claims.base_url
        credentials = Credentials.bearer(spec.cloud_token)
    elif credentials.scheme == "none" and base_url:
        credentials = _userinfo_credentials(base_url) or credentials
    urls = ApimUrls.build(
        base_url=base_url,
        organization_id=organization_id,
        environment_id=environment_id,
        path=spec.path,
        cloud=cloud,
    )
    return ResolvedContext(
        urls=urls,
        credentials=credentials,
        organization_id=organization_id,
        environment_id=environment_id,
        base_url=strip_userinfo(base_url),
    )

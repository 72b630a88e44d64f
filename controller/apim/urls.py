"""The base URLs of APIM's three management APIs for one organization and environment.

This module owns the path layout ``{ORG}``, ``{V1}``, ``{V2}``, ``{AUTO}``
(``docs/behavior/management-context.md#urls``) and URL joining. It performs no I/O. URLs built
here never carry userinfo: credentials travel in headers only, so a URL can always be logged or
put in an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import attrs

from controller.apim.cloud import CLOUD_AUTOMATION_PATH, CLOUD_MANAGEMENT_PATH

DEFAULT_MANAGEMENT_PATH = "/management"
DEFAULT_AUTOMATION_PATH = "/automation"

_HTTP_URL = re.compile(r"^https?://.+$")


def _check_host(base_url: str) -> None:
    """Refuse a host no HTTP client can connect to, with a message saying why, rather than let
    the client fail deep inside its connector on every request."""
    try:
        host = urlsplit(base_url).hostname or ""
    except ValueError as error:
        raise ValueError(f"[baseUrl] is not a valid URL: {error}") from None
    if any(len(label) > 63 for label in host.split(".")):
        raise ValueError(
            f"[baseUrl] host [{host}] has a DNS label longer than 63 characters"
        )
    try:
        host.encode("idna")
    except UnicodeError as error:
        raise ValueError(f"[baseUrl] host [{host}] is not a valid host name: {error}") from None


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@``; anything unparsable is returned unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def join_path(base_url: str, *segments: str) -> str:
    """Append path fragments to ``base_url``, collapsing duplicate slashes like Go's JoinPath.

    Each fragment may contain ``/``; ``.`` and ``..`` are resolved. Query and fragment of the base
    are dropped (a management root has none).
    """
    parts = urlsplit(base_url)
    stack: list[str] = []
    for piece in (parts.path, *segments):
        for name in piece.split("/"):
            if name in ("", "."):
                continue
            if name == "..":
                if stack:
                    stack.pop()
                continue
            stack.append(name)
    return urlunsplit((parts.scheme, parts.netloc, "/" + "/".join(stack), "", ""))


def segment(value: str) -> str:
    """One path segment (an id or HRID), percent-encoded so it can never add a path level."""
    return quote(value, safe="-_.~")


def with_query(url: str, params: Mapping[str, str | bool | int] | None) -> str:
    """``url`` plus query parameters sorted by key (Go ``url.Values.Encode`` order)."""
    if not params:
        return url
    encoded = urlencode(
        [(k, _query_value(params[k])) for k in sorted(params)],
    )
    return f"{url}?{encoded}"


def _query_value(value: str | bool | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@attrs.frozen
class ApimUrls:
    """Base URLs for one organization/environment.

    * ``organization`` = ``{ORG}`` (v1, organization level)
    * ``v1`` = ``{V1}`` (v1, environment level: import-crd, v2 API delete, v1 read-backs)
    * ``v2`` = ``{V2}`` (mAPI v2; ``GET {V2}`` is the environment probe)
    * ``automation`` = ``{AUTO}`` (Automation API)
    """

    organization: str
    v1: str
    v2: str
    automation: str

    @classmethod
    def build(
        cls,
        *,
        base_url: str,
        organization_id: str,
        environment_id: str,
        path: str | None = None,
        cloud: bool = False,
    ) -> ApimUrls:
        """Build the four base URLs exactly as upstream does.

        ``path`` replaces *both* the management and the automation prefixes (so ``{AUTO}`` equals
        ``{V1}``): a reverse proxy in front of APIM must route by method and path. This upstream
        behaviour is kept for parity; users rely on it with path-rewriting proxies.
        """
        if not _HTTP_URL.match(base_url):
            raise ValueError("[baseUrl] is not a valid URL")
        _check_host(base_url)
        if not organization_id:
            raise ValueError("organization id is required")
        if not environment_id:
            raise ValueError("environment id is required")
        base = strip_userinfo(base_url)
        if not path and not cloud:
            _check_not_management(base)
        if path:
            management_path = automation_path = path
        elif cloud:
            management_path, automation_path = CLOUD_MANAGEMENT_PATH, CLOUD_AUTOMATION_PATH
        else:
            management_path, automation_path = DEFAULT_MANAGEMENT_PATH, DEFAULT_AUTOMATION_PATH
        org, env = segment(organization_id), segment(environment_id)
        organization = join_path(base, management_path, "organizations", org)
        return cls(
            organization=organization,
            v1=join_path(organization, "environments", env),
            v2=join_path(base, management_path, "v2/organizations", org, "environments", env),
            automation=join_path(base, automation_path, "organizations", org, "environments", env),
        )


def _check_not_management(base: str) -> None:
    """A base URL copied from the console (``.../management``) would make every call
    ``.../management/management/...`` and 404: say what to change instead."""
    trimmed = base.rstrip("/")
    if trimmed.endswith("/management"):
        root = trimmed[: -len("/management")]
        raise ValueError(
            f"[baseUrl] {base} ends with /management, so every APIM call would go to "
            f"/management/management/... and fail: set baseUrl to {root} (the operator adds "
            "/management itself), or set spec.path if APIM is really served under another prefix"
        )

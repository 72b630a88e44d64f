"""The one exception type of the APIM client and how it is classified.

This module owns the upstream error text format (``docs/behavior/apim-calls.md#error-texts``)
and the retry decision:
400 and 401 are terminal (retrying cannot fix a bad request or bad credentials), everything else
(transport failures, timeouts, 403, 404, 409, 5xx, malformed responses) is recoverable. It must
never carry a credential: URLs are stored without userinfo and texts are scrubbed by the caller
(``scrub``) before an error is built.
"""

from __future__ import annotations

import enum
import http
import json
from collections.abc import Iterable
from typing import Any, Final

from controller.apim.urls import strip_userinfo

UNRECOVERABLE_STATUSES: Final = frozenset({400, 401})
# Keep error texts (conditions, events) bounded; APIM bodies can be whole HTML pages.
MAX_BODY_CHARS: Final = 1024
# Shorter values would mangle unrelated text and protect nothing.
_MIN_SCRUB_LENGTH: Final = 3
REDACTED: Final = "<redacted>"


class ErrorKind(enum.Enum):
    HTTP = "http"  # APIM answered with a status >= 400
    TRANSPORT = "transport"  # connection refused/reset, DNS, TLS, proxy
    TIMEOUT = "timeout"  # no complete answer within the client timeout
    RESPONSE = "response"  # a 2xx whose body is not what the contract promises


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by a marker."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= _MIN_SCRUB_LENGTH:
            text = text.replace(secret, REDACTED)
    return text


def _status_text(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status"


def _message_from_body(body: str) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, dict):
        message = parsed.get("message")
        if isinstance(message, str) and message:
            return message
    return None


class ApimError(Exception):
    """An APIM call that did not succeed.

    ``status`` is the HTTP status, or None when no response arrived (transport, timeout).
    ``message`` is APIM's ``message`` field when the body has one, else the HTTP status text, or
    the cause for transport failures. ``url`` never contains credentials.
    """

    def __init__(
        self,
        *,
        kind: ErrorKind,
        method: str,
        url: str,
        status: int | None = None,
        message: str = "",
        body: str = "",
    ) -> None:
        self.kind = kind
        self.method = method.upper()
        self.url = strip_userinfo(url)
        self.status = status
        self.body = body
        self.message = message
        super().__init__(self._text())

    @classmethod
    def from_response(cls, *, method: str, url: str, status: int, body: str) -> ApimError:
        message = _message_from_body(body) or _status_text(status)
        return cls(
            kind=ErrorKind.HTTP, method=method, url=url, status=status, message=message, body=body
        )

    @property
    def recoverable(self) -> bool:
        """False only for 400 and 401; everything else is worth retrying with backoff."""
        return self.status not in UNRECOVERABLE_STATUSES

    @property
    def is_not_found(self) -> bool:
        return self.kind is ErrorKind.HTTP and self.status == 404

    @property
    def json_body(self) -> Any:
        """The body parsed as JSON, or None."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def severe_errors(self) -> tuple[str, ...]:
        """Validation errors of a rejected import (v1 ``{"severe": [...]}`` bodies)."""
        parsed = self.json_body
        if isinstance(parsed, dict):
            severe = parsed.get("severe")
            if isinstance(severe, list):
                return tuple(str(item) for item in severe)
        return ()

    def _text(self) -> str:
        target = f"[{self.method}] {self.url}"
        if self.kind is ErrorKind.HTTP:
            body = self.body
            if len(body) > MAX_BODY_CHARS:
                body = body[:MAX_BODY_CHARS] + "...(truncated)"
            return f"request {target} failed with status {self.status} ({self.message}): {body}"
        if self.kind is ErrorKind.RESPONSE:
            return f"unexpected response to request {target}: ({self.message})"
        return f"unable to perform request {target}: ({self.message})"

    def __repr__(self) -> str:
        return (
            f"ApimError(kind={self.kind.value}, method={self.method!r}, url={self.url!r}, "
            f"status={self.status!r}, message={self.message!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions with keyword-only constructors need help to survive pickling/copying.
        return (_rebuild, (self.kind, self.method, self.url, self.status, self.message, self.body))


def _rebuild(
    kind: ErrorKind, method: str, url: str, status: int | None, message: str, body: str
) -> ApimError:
    return ApimError(kind=kind, method=method, url=url, status=status, message=message, body=body)


class ClientConfigError(ValueError):
    """The client cannot be built (unreadable CA bundle, invalid URL...). Safe to display."""

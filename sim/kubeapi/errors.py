"""API errors of the emulator and their ``Status`` wire form.

Owns the mapping from failure kinds to the HTTP code, ``reason`` and message shapes that
kube-apiserver uses, so clients (kubectl, kubernetes-asyncio, informers) react the same way.
Must never carry object contents in messages beyond names and field paths: secrets data
must not leak through errors.
"""

from __future__ import annotations

from typing import Any

JsonObj = dict[str, Any]


class ApiError(Exception):
    """A request failure rendered as a ``v1.Status`` with ``status: Failure``."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: JsonObj | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        # ``Warning`` headers sent with the error (an admission webhook may warn and deny).
        self.warnings: tuple[str, ...] = ()

    def to_status(self) -> JsonObj:
        status: JsonObj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        # Go omits an empty reason (a webhook may deny without one).
        if self.reason:
            status["reason"] = self.reason
        status["code"] = self.code
        if self.details is not None:
            status["details"] = self.details
        return status

    def __repr__(self) -> str:
        return f"ApiError({self.code}, {self.reason!r}, {self.message!r})"


def _details(group: str, plural: str, name: str) -> JsonObj:
    details: JsonObj = {"kind": plural}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return details


def qualified(group: str, plural: str) -> str:
    """``configmaps`` or ``apidefinitions.gravitee.io``, as kube-apiserver names resources."""
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{qualified(group, plural)} "{name}" not found',
        details=_details(group, plural, name),
    )


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(group, plural)} "{name}" already exists',
        details=_details(group, plural, name),
    )


def conflict(group: str, plural: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(group, plural)} "{name}": {why}',
        details=_details(group, plural, name),
    )


STALE_OBJECT = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(group: str, plural: str, name: str, why: str) -> ApiError:
    return ApiError(
        403,
        "Forbidden",
        f'{qualified(group, plural)} "{name}" is forbidden: {why}',
        details=_details(group, plural, name),
    )


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message, details={})


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"application/json-patch+json, application/merge-patch+json, "
        f"application/apply-patch+yaml (got {content_type!r})",
    )


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Gone", message)


def internal(message: str, code: int = 500) -> ApiError:
    reasons = {
        429: "TooManyRequests",
        500: "InternalError",
        503: "ServiceUnavailable",
        504: "Timeout",
        409: "Conflict",
        404: "NotFound",
        403: "Forbidden",
        401: "Unauthorized",
    }
    return ApiError(code, reasons.get(code, "InternalError"), message)


class FieldError:
    """One ``details.causes`` entry of an ``Invalid`` error (``field`` is a dotted path)."""

    __slots__ = ("field", "message", "reason")

    def __init__(self, field: str, reason: str, message: str) -> None:
        self.field = field
        self.reason = reason
        self.message = message

    def render(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def invalid(kind: str, group: str, name: str, causes: list[FieldError]) -> ApiError:
    """422 ``Invalid``: ``Kind.group "name" is invalid: field: message`` like kube-apiserver."""
    qualified_kind = f"{kind}.{group}" if group else kind
    rendered = [c.render() for c in causes]
    summary = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    details: JsonObj = {
        "name": name,
        "kind": kind,
        "causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes],
    }
    if group:
        details["group"] = group
    return ApiError(
        422, "Invalid", f'{qualified_kind} "{name}" is invalid: {summary}', details=details
    )

"""Error responses shaped as APIM shapes them, per API family.

Owns :class:`ApiFamily` (which of v1, v2, Automation a path belongs to), :class:`SimHttpError`
(raised by handlers, rendered by the middleware) and the body builders. v1 bodies carry
``http_status``; v2 and Automation bodies carry ``httpStatus``. No body ever carries a ``status``
key: GKO's client would mistake it for the HTTP status.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from aiohttp import web


class ApiFamily(enum.Enum):
    V1 = "v1"
    V2 = "v2"
    AUTOMATION = "automation"
    CONTROL = "control"
    UNKNOWN = "unknown"


def family_of(path: str) -> ApiFamily:
    if path.startswith("/management/v2/") or path == "/management/v2":
        return ApiFamily.V2
    if path.startswith("/management/"):
        return ApiFamily.V1
    if path.startswith("/automation/") or path == "/automation":
        return ApiFamily.AUTOMATION
    if path.startswith("/_sim/"):
        return ApiFamily.CONTROL
    return ApiFamily.UNKNOWN


class SimHttpError(Exception):
    """An APIM error answer: status, message, optional technical code and parameters."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        technical_code: str | None = None,
        parameters: dict[str, str] | None = None,
        details: list[dict[str, str]] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.technical_code = technical_code
        self.parameters = parameters
        self.details = details  # v2 and Automation only: [{message, location}]
        self.body = body  # when set, sent verbatim instead of the family's error shape


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(obj), status=status, content_type="application/json")


def error_body(family: ApiFamily, error: SimHttpError) -> dict[str, Any]:
    if family is ApiFamily.V1:
        body: dict[str, Any] = {"message": error.message, "http_status": error.status}
    else:
        body = {"httpStatus": error.status, "message": error.message}
    if error.technical_code:
        body["technicalCode"] = error.technical_code
    if error.parameters:
        body["parameters"] = error.parameters
    if error.details and family is not ApiFamily.V1:
        body["details"] = error.details
    return body


def error_response(family: ApiFamily, error: SimHttpError) -> web.Response:
    body = error.body if error.body is not None else error_body(family, error)
    return json_response(body, status=error.status)


def hrid_not_found(hrid: str) -> SimHttpError:
    return SimHttpError(
        404,
        f"HRID [{hrid}] cannot be found.",
        technical_code="hrid.notFound",
        parameters={"hrid": hrid},
    )


def invalid_import(severe: list[str]) -> SimHttpError:
    return SimHttpError(
        400,
        "Unable to import because of errors [" + ", ".join(severe) + "]",
        technical_code="invalid",
    )


INVALID_ORG_OR_ENV = "Invalid organization or environment"

"""APIM's OpenAPI files, loaded for validating what the simulator accepted and answered.

Used by ``test_openapi_contract.py`` (targeted exchanges, with the upstream gaps documented there)
and by this package's ``apim`` fixture, which validates every exchange of every test against the
file documenting its path. Files come from ``/work/shared/reference/apim-openapi`` (override with
``APIM_OPENAPI_DIR``); without them nothing is validated and the contract tests skip.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
from typing import Any

import yaml

from sim.apim.requestlog import DROPPED, LoggedRequest

# ``shared/`` sits beside the checkout (here and in CI); APIM_OPENAPI_DIR overrides it.
REFERENCE = pathlib.Path(
    os.environ.get(
        "APIM_OPENAPI_DIR",
        str(
            pathlib.Path(__file__).resolve().parents[3].parent
            / "shared"
            / "reference"
            / "apim-openapi"
        ),
    )
)
FILES = (
    "open-api.yaml",
    "openapi-installation.yaml",
    "openapi-apis.yaml",
    "openapi-environments.yaml",
)
HOST = "http://127.0.0.1"


def available() -> bool:
    if not all((REFERENCE / name).is_file() for name in FILES):
        return False
    try:
        import openapi_core  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def automation_spec() -> Any:
    import openapi_core

    data = yaml.safe_load((REFERENCE / "open-api.yaml").read_text())
    # The file's only server is the SaaS cloud gate; serve it where the simulator does.
    data["servers"] = [{"url": "/automation"}]
    return openapi_core.OpenAPI.from_dict(data, base_uri=(REFERENCE / "open-api.yaml").as_uri())


@functools.cache
def installation_spec() -> Any:
    import openapi_core

    return openapi_core.OpenAPI.from_file_path(str(REFERENCE / "openapi-installation.yaml"))


@functools.cache
def v2_apis_spec() -> Any:
    import openapi_core

    data = yaml.safe_load((REFERENCE / "openapi-apis.yaml").read_text())
    # Inner discriminators make openapi-core recurse forever (ApiV4 -> allOf GenericApi ->
    # discriminator -> ApiV4); the outer oneOf + discriminator still selects the right schema.
    for name in ("GenericApi", "GenericPlan"):
        data["components"]["schemas"][name].pop("discriminator", None)
    return openapi_core.OpenAPI.from_dict(
        data,
        base_uri=(REFERENCE / "openapi-apis.yaml").as_uri(),
        # Strict validation of the whole file fails upstream (see the reference README).
        config=openapi_core.Config(spec_validator_cls=None),
    )


def spec_for(path: str) -> Any | None:
    """The file documenting ``path``, or None when no static file does (v1, exports)."""
    if path.startswith("/automation/"):
        return automation_spec()
    if path.startswith("/management/v2/"):
        parts = path.strip("/").split("/")
        tail = parts[parts.index("environments") + 2 :] if "environments" in parts else None
        if tail == []:
            return installation_spec()
        if tail is not None and tail[0] == "apis" and "_export" not in tail:
            return v2_apis_spec()
    return None


def _api_tail(path: str) -> list[str]:
    """Segments after ``/environments/{env}``, the last one generalised to ``*`` if variable."""
    parts = path.strip("/").split("/")
    if "environments" not in parts:
        return []
    tail = parts[parts.index("environments") + 2 :]
    return tail[:1] + ["*" for _ in tail[1:2]] + tail[2:]


def _has_empty_date(body: Any) -> bool:
    return isinstance(body, dict) and any(body.get(key) == "" for key in ("endingAt", "startingAt"))


def check_entry(entry: LoggedRequest) -> str | None:
    """Validate one logged exchange; returns why it was not (fully) checked, or None.

    Responses are always checked; requests only when the simulator accepted them (2xx).
    Exceptions, each an upstream gap rather than a simulator choice:

    * a dropped connection has no response;
    * APIM answers a bad bearer token with an empty 401 body, the file declares ``HttpError``;
    * UUID mode (``hridContainsUUID=true``) clears the API ``hrid`` that ``ApiV4State``
      requires, and the flag itself is undeclared;
    * GKO's subscription body carries ``endingAt: ""``, accepted by APIM's lenient mapper but
      not a ``date-time`` for the file;
    * the file's own default for ``statuses`` on ``GET /apis/{id}/plans`` fails its enum;
    * the v2 files declare Basic and cookie auth only, while APIM also takes bearer tokens.
    """
    from openapi_core.templating.paths.exceptions import PathNotFound
    from openapi_core.testing import MockRequest, MockResponse

    spec = spec_for(entry.path)
    if spec is None:
        return "undocumented"
    if entry.status == DROPPED:
        return "dropped"
    if entry.status == 401 and entry.auth_scheme == "bearer":
        return "bearer 401 has no body"
    headers = {"Authorization": "Basic c2ltOnNpbQ=="} if entry.auth_scheme else {}
    if entry.auth_scheme == "bearer":
        headers = {"Authorization": "Bearer token"}
    request = MockRequest(
        HOST,
        entry.method,
        entry.path,
        args=entry.query,
        headers=headers,
        data=entry.raw_body or None,
    )
    response = MockResponse(
        entry.response_body or b"",
        status_code=entry.status,
        content_type=entry.response_content_type or "application/json",
    )
    legacy = entry.query.get("hridContainsUUID", "").lower() == "true"
    if legacy and 200 <= entry.status < 300 and _api_tail(entry.path) in (["apis"], ["apis", "*"]):
        return "UUID mode clears the hrid"
    try:
        spec.validate_response(request, response)
    except PathNotFound:
        return "undocumented"  # e.g. a test probing an unknown route
    if not 200 <= entry.status < 300:
        return None
    if entry.auth_scheme == "bearer" and entry.path.startswith("/management/v2/"):
        return "bearer on v2 undeclared"
    body = _parse(entry.raw_body)
    if _has_empty_date(body):
        return "empty date accepted leniently"
    if entry.path.endswith("/plans") and "statuses" not in entry.query:
        return "file default for statuses fails its enum"
    spec.validate_request(request)
    return None


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def check_log(entries: list[LoggedRequest]) -> dict[str, int]:
    """Validate every entry; returns how many were checked or skipped, by reason."""
    outcome: dict[str, int] = {}
    for entry in entries:
        reason = check_entry(entry) or "validated"
        outcome[reason] = outcome.get(reason, 0) + 1
    return outcome

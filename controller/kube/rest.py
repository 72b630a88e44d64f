"""Raw JSON requests to the Kubernetes API through a kubernetes-asyncio ``ApiClient``.

This module owns one way to call any path of the API server and get decoded JSON back (or the
open response, for watch streams), and the ``KubeApiError`` raised for HTTP errors. It goes
through ``ApiClient.call_api`` so authentication (tokens, client certs, refresh) and the
request metrics installed by ``controller.kube.client`` apply to every call.

It must never retry, cache or interpret objects; callers decide what an error means.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp
from kubernetes_asyncio.client import ApiClient

from controller import jsonfast

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


class KubeApiError(Exception):
    """The API server answered with an HTTP error status."""

    def __init__(self, *, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def gone(self) -> bool:
        return self.status == 410


async def open_request(
    api_client: ApiClient,
    method: str,
    path: str,
    *,
    query: Sequence[tuple[str, str]] = (),
    body: Any = None,
    content_type: str = JSON,
    timeout: aiohttp.ClientTimeout | float | None = None,
) -> aiohttp.ClientResponse:
    """Send a request and return the response unread; the caller must release it.

    HTTP error statuses are *not* raised here (watch streams need to look at them).
    """
    # Straight to the client's REST layer: ``ApiClient.call_api`` would first walk every body,
    # header and query value to "sanitize" them for its OpenAPI models, and ours are plain JSON
    # already. Authentication (bearer tokens, with their refresh hook) is applied as it would.
    headers = {"Accept": JSON, "Content-Type": content_type, **api_client.default_headers}
    if api_client.cookie:
        headers["Cookie"] = api_client.cookie
    params = list(query)
    await api_client.update_params_for_auth(headers, params, ["BearerToken"])
    url = (api_client.configuration.host or "") + path
    if params:
        url += "?" + urlencode(params)
    response: aiohttp.ClientResponse = await api_client.rest_client.request(
        method,
        url,
        headers=headers,
        body=body,
        _preload_content=False,
        _request_timeout=timeout,
    )
    return response


async def request_json(
    api_client: ApiClient,
    method: str,
    path: str,
    *,
    query: Sequence[tuple[str, str]] = (),
    body: Any = None,
    content_type: str = JSON,
    timeout: aiohttp.ClientTimeout | float | None = 30.0,
) -> Any:
    """Send a request and return the decoded JSON body; raises ``KubeApiError`` on >= 400."""
    response = await open_request(
        api_client, method, path, query=query, body=body, content_type=content_type,
        timeout=timeout,
    )
    async with response:
        payload = await response.read()
        if response.status >= 400:
            raise error_from_response(response.status, response.reason or "", payload)
    return jsonfast.loads(payload) if payload else None


def error_from_response(status: int, reason: str, payload: bytes) -> KubeApiError:
    """Build a ``KubeApiError`` from a ``Status`` body when there is one."""
    message = ""
    try:
        decoded = json.loads(payload)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        message = str(decoded.get("message") or "")
        reason = str(decoded.get("reason") or reason)
    return KubeApiError(status=status, reason=reason, message=message)

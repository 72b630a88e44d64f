"""Acceptance tests of issue 13, "Exceptions that leave no trace".

Whatever exception a reconcile raises, of whatever type, the object gets ``Accepted=False`` with
a message naming the cause and a Warning Event. Today an exception type the reconcilers do not
expect (``UnicodeError`` from the URL encoder, ``ValueError`` from the header check of the HTTP
client) escapes: no condition, no Event, retries forever.
"""

from __future__ import annotations

from typing import Any

from controller.kube.kinds import API_V4_DEFINITIONS, MANAGEMENT_CONTEXTS
from tests.integration.harness import Env, context, secret, v4_api, wait_for

# A DNS label may not exceed 63 characters: the IDNA encoder refuses this host.
LONG_LABEL_HOST = "a" * 64 + ".example.com"


async def _warning_event(env: Env, name: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        for event in await env.events(name):
            if event["type"] == "Warning":
                return dict(event)
        return None

    found: dict[str, Any] = await wait_for(probe, what=f"a Warning Event on {name}")
    return found


async def _assert_rejected(env: Env, kind: Any, name: str, *words: str) -> None:
    """``Accepted=False`` (current generation) within 10 s, a readable message, a Warning."""
    condition = await env.wait_condition(kind, name, "False", timeout=10)
    message = str(condition.get("message") or "")
    assert message, f"{kind.kind} {name}: Accepted=False without a message: {condition}"
    for word in words:
        assert word in message, f"{kind.kind} {name}: {word!r} not in message {message!r}"
    assert condition.get("reason"), condition
    await _warning_event(env, name)


async def test_base_url_with_a_label_over_63_characters_gives_a_condition(env: Env):
    """Issue 13, "Exceptions that leave no trace": a ``baseUrl`` host with a DNS label over 63
    characters made the HTTP client raise ``UnicodeError``, which escaped every handler."""
    bad = context("long-label", env.apim)
    bad["spec"]["baseUrl"] = f"http://{LONG_LABEL_HOST}:8083"
    await env.create(bad)
    await env.create(v4_api("uses-long-label", context_ref="long-label"))

    # The message must name the cause: the unusable URL (its host) or the encoding failure.
    await _assert_rejected(env, MANAGEMENT_CONTEXTS, "long-label")
    await _assert_rejected(env, API_V4_DEFINITIONS, "uses-long-label")
    both = ((MANAGEMENT_CONTEXTS, "long-label"), (API_V4_DEFINITIONS, "uses-long-label"))
    for kind, name in both:
        condition = await env.condition(kind, name)
        assert condition is not None
        message = str(condition["message"]).lower()
        assert "a" * 64 in message or "label" in message or "url" in message, message


async def test_bearer_token_with_a_control_character_gives_a_condition(env: Env):
    """Issue 13, "Exceptions that leave no trace", any other unexpected exception type: a
    bearer token pasted with a line break (a Secret made with ``echo``) makes the HTTP client
    raise a bare ``ValueError`` ("Forbidden control character detected in headers") before
    anything is sent; nothing catches it today."""
    await env.create(secret("broken-token", {"bearerToken": "first-line\nsecond-line"}))
    by_secret = {"secretRef": {"name": "broken-token"}}
    await env.create(context("broken-token", env.apim, auth=by_secret))
    await env.create(v4_api("uses-broken-token", context_ref="broken-token"))

    await _assert_rejected(env, MANAGEMENT_CONTEXTS, "broken-token")
    await _assert_rejected(env, API_V4_DEFINITIONS, "uses-broken-token")
    # Nothing reached APIM: the request could not even be built.
    assert env.apim.requests.find(method="GET") == []

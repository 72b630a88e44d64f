"""TokenReview and SubjectAccessReview: the shapes every API server answers with.

On a real cluster (KUBEAPI_TARGET=real) only what needs no particular identity runs: an unknown
token, a user without rights, invalid reviews. The emulator answers from test-configured tokens
and grants (``Emulator.reviews``), checked by the emulator-only tests below.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from controller.kube.rest import open_request
from sim.kubeapi.reviews import ACCESS_REVIEWS_PATH, TOKEN_REVIEWS_PATH, User
from sim.kubeapi.testing import RunningEmulator
from tests.sim.kubeapi.conftest import Target


async def _post(target: Target, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = await open_request(target.api, "POST", path, body=body, timeout=30)
    async with response:
        return response.status, json.loads(await response.read())


def _token_review(token: str) -> dict[str, Any]:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token}}


def _metrics_review(user: str, groups: list[str] | None = None, verb: str = "get",
                    path: str = "/metrics") -> dict[str, Any]:
    spec: dict[str, Any] = {"nonResourceAttributes": {"path": path, "verb": verb}, "user": user}
    if groups is not None:
        spec["groups"] = groups
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": spec}


async def test_an_unknown_token_is_not_authenticated(target: Target):
    status, review = await _post(target, TOKEN_REVIEWS_PATH,
                                 _token_review(f"not-a-token-{uuid.uuid4().hex}"))
    assert status == 201
    assert review["kind"] == "TokenReview"
    assert not review["status"].get("authenticated")
    assert review["status"]["user"] == {}
    assert review["status"]["error"]


async def test_a_user_without_rights_is_not_allowed(target: Target):
    status, review = await _post(target, ACCESS_REVIEWS_PATH,
                                 _metrics_review(f"nobody-{uuid.uuid4().hex[:8]}"))
    assert status == 201
    assert review["kind"] == "SubjectAccessReview"
    assert review["status"]["allowed"] is False
    assert not review["status"].get("denied")


async def test_a_review_names_a_user_or_a_group(target: Target):
    body = _metrics_review("")
    del body["spec"]["user"]
    status, answer = await _post(target, ACCESS_REVIEWS_PATH, body)
    assert status == 422, answer
    assert answer["reason"] == "Invalid"


async def test_a_review_asks_about_a_resource_or_a_url_not_both(target: Target):
    body = _metrics_review("someone")
    body["spec"]["resourceAttributes"] = {"verb": "get", "resource": "pods"}
    status, answer = await _post(target, ACCESS_REVIEWS_PATH, body)
    assert status == 422, answer
    assert answer["reason"] == "Invalid"


async def test_configured_tokens_and_grants_answer_the_reviews(
    target: Target, emulator_only: RunningEmulator
):
    reviews = emulator_only.emulator.reviews
    reviews.add_token("t-reader", User(username="reader", uid="u1",
                                       groups=("system:authenticated", "scrapers")))
    reviews.add_token("t-other", User(username="other"))
    reviews.allow_non_resource(verbs=("get",), url="/metrics", group="scrapers")
    reviews.allow_non_resource(verbs=("get",), url="/debug/*", user="other")

    status, review = await _post(target, TOKEN_REVIEWS_PATH, _token_review("t-reader"))
    assert status == 201
    assert review["status"] == {
        "authenticated": True,
        "user": {"username": "reader", "uid": "u1",
                 "groups": ["system:authenticated", "scrapers"]},
        "audiences": ["https://kubernetes.default.svc.cluster.local"],
    }
    assert review["spec"] == {"token": "t-reader"}

    async def allowed(body: dict[str, Any]) -> bool:
        status, answer = await _post(target, ACCESS_REVIEWS_PATH, body)
        assert status == 201
        return bool(answer["status"]["allowed"])

    assert await allowed(_metrics_review("reader", ["scrapers"]))
    assert not await allowed(_metrics_review("reader", ["scrapers"], verb="post"))
    assert not await allowed(_metrics_review("reader", ["scrapers"], path="/metrics/x"))
    assert not await allowed(_metrics_review("other"))
    assert await allowed(_metrics_review("other", path="/debug/pprof"))
    assert reviews.token_reviews == 1
    assert reviews.access_reviews == 5


@pytest.mark.parametrize("body", [[], {"apiVersion": "v1", "kind": "Pod"}])
async def test_a_malformed_review_is_a_bad_request(emulator_only: RunningEmulator, target: Target,
                                                   body: Any):
    status, _ = await _post(target, TOKEN_REVIEWS_PATH, body)
    assert status == 400

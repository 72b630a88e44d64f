"""AdmissionReview v1 in and out (narrow: the HTTP path is covered by tests/webhooks)."""

import base64
import json

import pytest

from controller.webhook import review


def test_parse_reads_the_request_and_fills_the_namespace():
    body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": {"uid": "u1", "operation": "UPDATE", "namespace": "team",
                                   "object": {"metadata": {"name": "a"}},
                                   "oldObject": {"metadata": {"name": "a"}}, "dryRun": True}})
    parsed = review.parse(body.encode())
    assert parsed.uid == "u1"
    assert parsed.operation == "UPDATE"
    assert parsed.dry_run
    assert parsed.obj["metadata"]["namespace"] == "team"
    assert parsed.old == {"metadata": {"name": "a"}}


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"kind": "AdmissionReview"}'])
def test_parse_refuses_what_is_not_a_review(body):
    with pytest.raises(review.BadReview):
        review.parse(body)


def test_a_refusal_carries_the_message_with_403_and_the_warnings():
    answer = review.response("u1", allowed=False, message="no plans", warnings=["careful"])
    assert answer["response"] == {
        "uid": "u1", "allowed": False, "warnings": ["careful"],
        "status": {"code": 403, "reason": "Forbidden", "message": "no plans"},
    }


def test_a_mutation_is_a_json_patch_of_the_changed_fields():
    original = {"spec": {"a": 1}, "metadata": {"name": "x"}, "gone": True}
    patched = {"spec": {"a": 2}, "metadata": {"name": "x"}, "new/field": 1}
    ops = review.json_patch(original, patched)
    assert ops == [
        {"op": "remove", "path": "/gone"},
        {"op": "replace", "path": "/spec", "value": {"a": 2}},
        {"op": "add", "path": "/new~1field", "value": 1},
    ]
    answer = review.response("u2", allowed=True, patch=ops)["response"]
    assert answer["patchType"] == "JSONPatch"
    assert json.loads(base64.b64decode(answer["patch"])) == ops

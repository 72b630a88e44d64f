"""``admission.k8s.io/v1`` AdmissionReview: reading a request, writing a response.

A refusal is answered like controller-runtime's ``Denied``: ``allowed: false`` with status code
403 and the message, which the API server and kubectl show as
``admission webhook "<name>" denied the request: <message>``. Warnings travel in
``response.warnings`` (kubectl prints each as ``Warning: <text>``). A mutation is a JSON patch of
the top-level fields that changed.

Pure: no I/O.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from controller import jsonfast
from controller.informers.store import KubeObject

API_VERSION = "admission.k8s.io/v1"


class BadReview(ValueError):
    """The body is not an AdmissionReview v1 request."""


@attrs.frozen(kw_only=True)
class Request:
    uid: str
    operation: str
    namespace: str
    obj: KubeObject
    old: KubeObject | None
    dry_run: bool


def parse(body: bytes) -> Request:
    try:
        review = jsonfast.loads(body)
    except ValueError as error:
        raise BadReview(f"not JSON: {error}") from None
    if not isinstance(review, Mapping) or not isinstance(review.get("request"), Mapping):
        raise BadReview("not an AdmissionReview with a request")
    request = review["request"]
    obj = request.get("object")
    old = request.get("oldObject")
    namespace = str(request.get("namespace") or "")
    if isinstance(obj, dict) and namespace:
        # The API server fills it before admission; the request field is authoritative.
        obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    return Request(
        uid=str(request.get("uid") or ""),
        operation=str(request.get("operation") or ""),
        namespace=namespace,
        obj=obj if isinstance(obj, dict) else {},
        old=old if isinstance(old, dict) else None,
        dry_run=bool(request.get("dryRun")),
    )


def json_patch(original: Mapping[str, Any], patched: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Operations turning ``original`` into ``patched``, one per top-level field changed."""
    ops: list[dict[str, Any]] = []
    for key in original:
        if key not in patched:
            ops.append({"op": "remove", "path": f"/{_escape(key)}"})
    for key, value in patched.items():
        if key not in original:
            ops.append({"op": "add", "path": f"/{_escape(key)}", "value": value})
        elif original[key] != value:
            ops.append({"op": "replace", "path": f"/{_escape(key)}", "value": value})
    return ops


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def response(
    uid: str,
    *,
    allowed: bool,
    message: str = "",
    warnings: Sequence[str] = (),
    patch: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    answer: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        answer["status"] = {"code": 403, "reason": "Forbidden", "message": message}
    if warnings:
        answer["warnings"] = list(warnings)
    if patch:
        answer["patchType"] = "JSONPatch"
        answer["patch"] = base64.b64encode(jsonfast.dumps(patch)).decode("ascii")
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": answer}

"""TokenReview and SubjectAccessReview, answered from test-configured identities and grants.

The emulator has no authentication or RBAC of its own (every caller may do everything), so these
two reviews are answered from tables a test fills in: bearer tokens and the users they stand for
(``add_token``), and non-resource URL rights (``allow_non_resource``) or resource rights
(``allow_resource``) of users and groups. Unknown tokens are not authenticated; a review matching
no grant is not allowed (``allowed: false`` without a reason, as the RBAC authorizer answers).
The bodies are those of ``authentication.k8s.io/v1`` and ``authorization.k8s.io/v1``: the request
object echoed back with its ``status`` filled in; nothing is stored.

Owns: the two ``create`` endpoints and their tables. Must never log a token (the answer echoes
it back, as kube-apiserver's does).
"""

from __future__ import annotations

from typing import Any

import attrs

from sim.kubeapi.errors import ApiError

TOKEN_REVIEWS_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
#: The audience kube-apiserver's tokens are for when a review names none (its default issuer).
DEFAULT_AUDIENCES = ("https://kubernetes.default.svc.cluster.local",)
ACCESS_REVIEWS_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


@attrs.frozen(kw_only=True)
class User:
    """An identity a token stands for."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ("system:authenticated",)


@attrs.frozen(kw_only=True)
class _Grant:
    subject: str  # "user:<name>" or "group:<name>"
    verbs: frozenset[str]
    non_resource_url: str = ""  # a path, or a prefix ending in "*" (as RBAC matches them)
    group: str = ""
    resource: str = ""
    namespace: str = ""  # "" = every namespace


def _invalid(message: str) -> ApiError:
    return ApiError(422, "Invalid", message)


@attrs.define
class AccessReviews:
    """The emulator's identities and grants; empty by default (nothing authenticates)."""

    _tokens: dict[str, User] = attrs.field(factory=dict, alias="tokens")
    _grants: list[_Grant] = attrs.field(factory=list, alias="grants")
    token_reviews: int = 0
    """TokenReviews answered so far."""
    access_reviews: int = 0
    """SubjectAccessReviews answered so far."""

    def add_token(self, token: str, user: User) -> None:
        self._tokens[token] = user

    def allow_non_resource(
        self, *, verbs: tuple[str, ...], url: str, user: str = "", group: str = ""
    ) -> None:
        """Let ``user`` (or members of ``group``) use ``verbs`` on the non-resource ``url``."""
        self._grants.append(_Grant(subject=self._subject(user, group), verbs=frozenset(verbs),
                                   non_resource_url=url))

    def allow_resource(
        self, *, verbs: tuple[str, ...], group: str, resource: str, namespace: str = "",
        user: str = "", subject_group: str = "",
    ) -> None:
        """Let ``user`` (or members of ``subject_group``) use ``verbs`` on a resource."""
        self._grants.append(_Grant(subject=self._subject(user, subject_group),
                                   verbs=frozenset(verbs), group=group, resource=resource,
                                   namespace=namespace))

    def user_for(self, token: str) -> User | None:
        """The identity a bearer token stands for, if a test registered it."""
        return self._tokens.get(token)

    def reset(self) -> None:
        self._tokens.clear()
        self._grants.clear()

    @staticmethod
    def _subject(user: str, group: str) -> str:
        if bool(user) == bool(group):
            raise ValueError("give exactly one of user or group")
        return f"user:{user}" if user else f"group:{group}"

    # -- the endpoints -----------------------------------------------------------------------

    def token_review(self, body: Any) -> dict[str, Any]:
        review = self._review(body, "authentication.k8s.io/v1", "TokenReview")
        token = (review.get("spec") or {}).get("token")
        if not isinstance(token, str) or not token:
            raise _invalid("TokenReview.authentication.k8s.io \"\" is invalid: spec.token: "
                           "Required value")
        self.token_reviews += 1
        user = self._tokens.get(token)
        status: dict[str, Any]
        if user is None:
            status = {"user": {}, "error": "invalid bearer token"}
        else:
            info: dict[str, Any] = {"username": user.username, "groups": list(user.groups)}
            if user.uid:
                info["uid"] = user.uid
            audiences = (review.get("spec") or {}).get("audiences") or list(DEFAULT_AUDIENCES)
            status = {"authenticated": True, "user": info, "audiences": audiences}
        # As kube-apiserver does, the spec (token included) is echoed back.
        return {**review, "status": status}

    def subject_access_review(self, body: Any) -> dict[str, Any]:
        review = self._review(body, "authorization.k8s.io/v1", "SubjectAccessReview")
        spec = review.get("spec") or {}
        resource = spec.get("resourceAttributes")
        non_resource = spec.get("nonResourceAttributes")
        if (resource is None) == (non_resource is None):
            raise _invalid("SubjectAccessReview.authorization.k8s.io \"\" is invalid: "
                           "spec.resourceAttributes: Invalid value: exactly one of "
                           "nonResourceAttributes or resourceAttributes must be specified")
        user = spec.get("user") or ""
        groups = list(spec.get("groups") or [])
        if not user and not groups:
            raise _invalid("SubjectAccessReview.authorization.k8s.io \"\" is invalid: "
                           "spec.user: Invalid value: \"\": at least one of user or group "
                           "must be specified")
        self.access_reviews += 1
        subjects = {f"user:{user}"} | {f"group:{g}" for g in groups}
        allowed = any(
            grant.subject in subjects and self._grant_matches(grant, resource, non_resource)
            for grant in self._grants
        )
        status: dict[str, Any] = {"allowed": allowed}
        if allowed:
            status["reason"] = "allowed by the emulator's test grants"
        return {**review, "status": status}

    @staticmethod
    def _grant_matches(grant: _Grant, resource: Any, non_resource: Any) -> bool:
        if non_resource is not None:
            path, verb = non_resource.get("path", ""), non_resource.get("verb", "")
            if not grant.non_resource_url or (verb not in grant.verbs and "*" not in grant.verbs):
                return False
            pattern = grant.non_resource_url
            # RBAC's nonResourceURLs: an exact path, or a prefix followed by a final "*".
            return path == pattern or (pattern.endswith("*") and path.startswith(pattern[:-1]))
        verb = resource.get("verb", "")
        return (
            not grant.non_resource_url
            and (verb in grant.verbs or "*" in grant.verbs)
            and grant.group in (resource.get("group", ""), "*")
            and grant.resource in (resource.get("resource", ""), "*")
            and (not grant.namespace or grant.namespace == resource.get("namespace", ""))
        )

    @staticmethod
    def _review(body: Any, api_version: str, kind: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", f"the body of a {kind} must be a JSON object")
        if body.get("apiVersion", api_version) != api_version or body.get("kind", kind) != kind:
            raise ApiError(400, "BadRequest",
                           f"expected {api_version} {kind}, got {body.get('apiVersion')} "
                           f"{body.get('kind')}")
        metadata = dict(body.get("metadata") or {})
        metadata.setdefault("creationTimestamp", None)
        return {**body, "apiVersion": api_version, "kind": kind, "metadata": metadata}

"""Who may read ``/metrics``: tokens checked by TokenReview, rights by SubjectAccessReview.

This module owns the decision controller-runtime's ``filters.WithAuthenticationAndAuthorization``
makes for a secured metrics endpoint (``SECURE_METRICS=true``): the bearer token of a request is
authenticated by the API server (``authentication.k8s.io/v1`` TokenReview, no audiences: the API
server's own), and the user it names must be allowed the request's lower-cased HTTP method on its
path as a non-resource URL (``authorization.k8s.io/v1`` SubjectAccessReview, e.g. ``get`` on
``/metrics``). Answers are cached like controller-runtime's delegating authenticator and
authorizer do: authentications 1 minute, allowed 5 minutes, denied 30 seconds, in bounded LRU
caches, so a Prometheus scraping every 30 s costs the API server about one review per scraper
and minute instead of two per scrape.

It must never log, store or return a token: cache keys are SHA-256 digests of tokens, and log
lines carry user names only.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs
from kubernetes_asyncio.client import ApiClient

from controller.kube.rest import KubeApiError, request_json
from controller.logging import get_logger

_log = get_logger("metrics-auth")

TOKEN_REVIEWS_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
ACCESS_REVIEWS_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"

_K = TypeVar("_K")
_V = TypeVar("_V")


@attrs.frozen(kw_only=True)
class UserInfo:
    """The identity a TokenReview vouches for."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class AuthOptions:
    """Cache lifetimes and sizes (controller-runtime's values by default)."""

    authn_ttl: float = 60.0
    """Seconds a TokenReview answer (authenticated or not) is reused."""
    allow_ttl: float = 300.0
    """Seconds an allowing SubjectAccessReview answer is reused."""
    deny_ttl: float = 30.0
    """Seconds a denying SubjectAccessReview answer is reused."""
    max_entries: int = 1024
    """Entries per cache; the least recently used one goes first."""
    request_timeout: float = 10.0
    """Seconds one review request may take."""


class TtlCache(Generic[_K, _V]):
    """A bounded LRU cache whose entries expire; ``clock`` is monotonic seconds."""

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[_K, tuple[float, _V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: _K) -> _V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: _K, value: _V, ttl: float) -> None:
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


class AuthError(Exception):
    """A review could not be made (API server unreachable or refusing): not a denial."""


class MetricsAuth:
    """Authenticates bearer tokens and authorizes non-resource requests through the API server."""

    def __init__(
        self,
        api_client: ApiClient,
        options: AuthOptions | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api_client
        self.options = options or AuthOptions()
        # Values are 1-tuples so that a cached "not authenticated" (None) differs from a miss.
        self._users: TtlCache[bytes, tuple[UserInfo | None]] = TtlCache(
            self.options.max_entries, clock
        )
        self._decisions: TtlCache[tuple[Any, ...], bool] = TtlCache(
            self.options.max_entries, clock
        )
        self.token_reviews = 0
        """TokenReviews sent so far (the cache's effect is visible in tests)."""
        self.access_reviews = 0
        """SubjectAccessReviews sent so far."""

    async def authenticate(self, token: str) -> UserInfo | None:
        """The user ``token`` belongs to, or None when the API server does not recognise it.

        Raises ``AuthError`` when the TokenReview itself fails.
        """
        key = hashlib.sha256(token.encode()).digest()
        cached = self._users.get(key)
        if cached is not None:
            return cached[0]
        self.token_reviews += 1
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        }
        try:
            answer = await request_json(
                self._api, "POST", TOKEN_REVIEWS_PATH, body=body,
                timeout=self.options.request_timeout,
            )
        except (TimeoutError, KubeApiError, OSError) as exc:
            # The exception text is built from the API server's answer, never from our body.
            raise AuthError(f"TokenReview failed: {type(exc).__name__}: {exc}") from None
        status = (answer or {}).get("status") or {}
        user: UserInfo | None = None
        if status.get("authenticated") is True:
            info = status.get("user") or {}
            user = UserInfo(
                username=str(info.get("username") or ""),
                uid=str(info.get("uid") or ""),
                groups=tuple(str(g) for g in info.get("groups") or ()),
                extra={str(k): tuple(str(x) for x in v or ())
                       for k, v in (info.get("extra") or {}).items()},
            )
        self._users.put(key, (user,), self.options.authn_ttl)
        return user

    async def authorize(self, user: UserInfo, verb: str, path: str) -> bool:
        """Whether ``user`` may ``verb`` the non-resource URL ``path``.

        Raises ``AuthError`` when the SubjectAccessReview itself fails.
        """
        key = (user.username, user.uid, user.groups, tuple(sorted(user.extra.items())), verb,
               path)
        cached = self._decisions.get(key)
        if cached is not None:
            return cached
        self.access_reviews += 1
        spec: dict[str, Any] = {
            "nonResourceAttributes": {"path": path, "verb": verb},
            "user": user.username,
            "groups": list(user.groups),
        }
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = {k: list(v) for k, v in user.extra.items()}
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec,
        }
        try:
            answer = await request_json(
                self._api, "POST", ACCESS_REVIEWS_PATH, body=body,
                timeout=self.options.request_timeout,
            )
        except (TimeoutError, KubeApiError, OSError) as exc:
            raise AuthError(f"SubjectAccessReview failed: {type(exc).__name__}: {exc}") from None
        status = (answer or {}).get("status") or {}
        allowed = status.get("allowed") is True and status.get("denied") is not True
        self._decisions.put(
            key, allowed, self.options.allow_ttl if allowed else self.options.deny_ttl
        )
        return allowed


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token

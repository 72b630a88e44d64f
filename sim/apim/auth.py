"""Who may call the simulator: Basic users and bearer tokens, checked the way APIM answers.

Owns :class:`Credentials` (mutable at run time, so tests can flip them) and the parsing of the
``Authorization`` header. Never logs, stores elsewhere or echoes a password or token: the result
of a check carries only the scheme and, for Basic, the user name.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping

import attrs

BASIC_REALM = 'Basic realm="Gravitee.io Management API"'


@attrs.frozen
class AuthResult:
    """Outcome of checking one ``Authorization`` header."""

    ok: bool
    scheme: str | None  # "basic", "bearer" or None when no (usable) header was sent
    user: str | None = None


class Credentials:
    """The accepted users (name -> password) and bearer tokens."""

    def __init__(self, *, users: Mapping[str, str], tokens: Iterable[str]) -> None:
        self._users = dict(users)
        self._tokens = frozenset(tokens)
        self._original = (dict(self._users), self._tokens)
        # Clients repeat the same header on every call; checks are cached until credentials
        # change. Bounded so that a flood of distinct bad headers cannot grow it.
        self._verdicts: dict[str, AuthResult] = {}

    def __repr__(self) -> str:
        return f"Credentials(users={sorted(self._users)}, tokens=<{len(self._tokens)} hidden>)"

    def replace(
        self, *, users: Mapping[str, str] | None = None, tokens: Iterable[str] | None = None
    ) -> None:
        """Swap the accepted users and/or tokens; the ones not given are kept."""
        if users is not None:
            self._users = dict(users)
        if tokens is not None:
            self._tokens = frozenset(tokens)
        self._verdicts.clear()

    def restore(self) -> None:
        """Back to the credentials the simulator was started with."""
        self._users = dict(self._original[0])
        self._tokens = self._original[1]
        self._verdicts.clear()

    def check(self, header: str | None) -> AuthResult:
        if not header:
            return AuthResult(ok=False, scheme=None)
        verdict = self._verdicts.get(header)
        if verdict is None:
            verdict = self._check(header)
            if len(self._verdicts) < 1024:
                self._verdicts[header] = verdict
        return verdict

    def _check(self, header: str) -> AuthResult:
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer":
            ok = any(hmac.compare_digest(value, token) for token in self._tokens)
            return AuthResult(ok=ok, scheme="bearer")
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return AuthResult(ok=False, scheme="basic")
            user, sep, password = decoded.partition(":")
            expected = self._users.get(user)
            ok = bool(sep) and expected is not None and hmac.compare_digest(expected, password)
            return AuthResult(ok=ok, scheme="basic", user=user)
        return AuthResult(ok=False, scheme=None)

"""Gravitee Cloud tokens: the claims that pick the organization, environments and gateway.

This module owns reading a cloud JWT's claims (``org``, ``envs``, ``cpg``) *without* verifying
its signature (APIM verifies it; upstream does the same) and the rules that derive the base URL
and environment from them. It must never put the token itself in an error message.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import attrs

CLOUD_MANAGEMENT_PATH = "/apim/rest"
CLOUD_AUTOMATION_PATH = "/apim/automation"

MISSING_CLAIMS_MESSAGE = (
    "cloud token does not contains all required claims, are you sure this is a Gravitee cloud "
    "token ?"
)


class CloudTokenError(ValueError):
    """The cloud token cannot be used; the message is safe to show (it never holds the token)."""


@attrs.frozen
class CloudClaims:
    organization_id: str
    environment_ids: tuple[str, ...]
    geography: str

    @property
    def base_url(self) -> str:
        """The cloud gate of the token's geography (``cpg`` claim)."""
        return f"https://{self.geography}.cloudgate.gravitee.io"

    def pick_environment(self, environment_id: str | None) -> str:
        """The environment to use: the requested one if the token allows it, else the only one."""
        if not environment_id:
            if len(self.environment_ids) != 1:
                raise CloudTokenError(
                    f"cloud token contains more than one environment "
                    f"({len(self.environment_ids)}), environmentId is then required"
                )
            return self.environment_ids[0]
        if environment_id not in self.environment_ids:
            allowed = ", ".join(self.environment_ids)
            raise CloudTokenError(
                f"cloud token does not contain environment [{environment_id}], "
                f"it must be one of: [{allowed}]"
            )
        return environment_id


def _decode_segment(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def parse_cloud_token(token: str) -> CloudClaims:
    """Claims of a cloud JWT. Raises ``CloudTokenError`` when unparsable or incomplete."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise CloudTokenError(
            "cannot parse cloud token: token is not a JWT (3 dot-separated parts)"
        )
    try:
        claims = _decode_segment(parts[1])
    except (ValueError, binascii.Error, UnicodeError) as exc:
        # The decoder's message may quote the input; keep only the exception type.
        raise CloudTokenError(
            f"cannot parse cloud token: invalid payload ({type(exc).__name__})"
        ) from None
    if not isinstance(claims, dict):
        raise CloudTokenError("cannot parse cloud token: payload is not a JSON object")
    org = claims.get("org")
    envs = claims.get("envs")
    cpg = claims.get("cpg")
    if (
        not isinstance(org, str)
        or not org
        or not isinstance(cpg, str)
        or not cpg
        or not isinstance(envs, list)
        or not envs
        or not all(isinstance(e, str) and e for e in envs)
    ):
        raise CloudTokenError(MISSING_CLAIMS_MESSAGE)
    return CloudClaims(organization_id=org, environment_ids=tuple(envs), geography=cpg)

"""Identifiers as APIM derives them in HRID mode (Automation API).

Owns the name-based UUID function APIM uses (Java ``UUID.nameUUIDFromBytes``: MD5 with the
version-3 and IETF-variant bits set) and the derivation rules per kind of object. Arguments are
concatenated with no separator, and ``org``/``env`` must be the *resolved* ids, never hrids.

Never generates random ids here: random ids (plans or APIs created without one in UUID mode) are
the caller's business.
"""

from __future__ import annotations

import functools
import hashlib


def java_name_uuid(*parts: str) -> str:
    """Java's ``UUID.nameUUIDFromBytes`` over the UTF-8 bytes of the concatenated parts."""
    return _name_uuid("".join(parts))


# Upserts recompute the same few ids over and over: caching keeps them off the hot path.
@functools.lru_cache(maxsize=65_536)
def _name_uuid(name: str) -> str:
    digest = bytearray(hashlib.md5(name.encode("utf-8"), usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x30  # version 3 (name based, MD5)
    digest[8] = (digest[8] & 0x3F) | 0x80  # IETF variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def cross_id(org: str, hrid: str) -> str:
    """crossId of a top-level object (API, application, group, SPG, dictionary, portal)."""
    return java_name_uuid(org, hrid)


def top_level_id(org: str, env: str, hrid: str) -> str:
    """id of a top-level object: derived from its crossId and the environment."""
    return java_name_uuid(cross_id(org, hrid), env)


def child_cross_id(org: str, parent_hrid: str, hrid: str) -> str:
    """crossId of a plan, page or subscription belonging to the API ``parent_hrid``."""
    return java_name_uuid(cross_id(org, parent_hrid), hrid)


def child_id(org: str, env: str, parent_hrid: str, hrid: str) -> str:
    """id of a plan, page or subscription belonging to the API ``parent_hrid``."""
    return java_name_uuid(cross_id(org, parent_hrid), env, hrid)


def portal_child_id(org: str, env: str, portal_hrid: str, hrid: str) -> str:
    """id of a portal listing, portal documentation or portal link."""
    return java_name_uuid(java_name_uuid(org, "portal", portal_hrid), env, hrid)


def api_documentation_id(org: str, env: str, api_hrid: str, hrid: str) -> str:
    """id of an API documentation page of the next-gen portal."""
    return java_name_uuid(java_name_uuid(org, "api", api_hrid), env, hrid)

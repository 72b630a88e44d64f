"""Deterministic identifiers shared with upstream GKO and with APIM.

This module owns two families of pure functions (``docs/behavior/ids.md``):

* what the operator computes itself: ``uuid_from_strings`` (XXH3-128, canonical big-endian
  digest laid out as a UUID with version/variant bits untouched), ``hrid`` = ``namespace-name``,
  ``sanitize_key`` for plan/page map keys, and the v2/v4-legacy id formulas built on them;
* what APIM derives from HRIDs (Java ``UUID.nameUUIDFromBytes``, MD5 based), so callers and tests
  can predict APIM ids without asking.

Upstream compatibility is the point: the same object must get the same ids here and in GKO. Never
change a formula without a test vector that proves parity.
"""

from __future__ import annotations

import hashlib
import uuid

import xxhash


def uuid_from_strings(*parts: str) -> str:
    """Upstream ``uuid.FromStrings``: XXH3-128 of the concatenation, formatted as a UUID."""
    digest = xxhash.xxh3_128_digest("".join(parts).encode("utf-8"))
    return str(uuid.UUID(bytes=digest))


def hrid(namespace: str, name: str) -> str:
    """HRID of a namespaced object: ``<namespace>-<name>``."""
    return f"{namespace}-{name}"


def sanitize_key(key: str) -> str:
    """Make a plan/page map key HRID-safe: spaces and dots become ``-``; nothing else changes."""
    return key.replace(" ", "-").replace(".", "-")


def namespaced_name(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def default_cross_id(namespace: str, name: str) -> str:
    """crossId of an API CR without one: ``uuid("<ns>/<name>")`` (v2 and v4 legacy)."""
    return uuid_from_strings(namespaced_name(namespace, name))


def v2_plan_cross_id(api_id: str, plan_name: str) -> str:
    return uuid_from_strings(api_id, "/", plan_name)


def v2_plan_id(plan_cross_id: str, plan_name: str) -> str:
    return uuid_from_strings(plan_cross_id, "/", plan_name)


def page_cross_id(namespace: str, name: str, page_key: str) -> str:
    """crossId of page ``page_key`` of API CR ``namespace/name`` (v2 and v4 legacy)."""
    return uuid_from_strings(namespaced_name(namespace, name), "/", page_key)


def page_id(api_id: str, page_key: str) -> str:
    """id of a page (also used for ``parentId`` with the parent's key)."""
    return uuid_from_strings(api_id, "/", page_key)


def v4_legacy_plan_id(api_id: str, plan_key: str) -> str:
    """Plan id of a legacy (UUID mode) or local v4 API: no separator between the parts."""
    return uuid_from_strings(api_id, plan_key)


def v4_local_api_id(api_hrid: str) -> str:
    """id of a v4 API managed without a context (ConfigMap only): ``uuid(hrid)``."""
    return uuid_from_strings(api_hrid)


def legacy_group_id(name: str, organization_id: str, environment_id: str) -> str:
    return uuid_from_strings(name, organization_id, environment_id)


# --- what APIM derives in HRID mode -------------------------------------------------------------


def java_name_uuid(*parts: str) -> str:
    """Java ``UUID.nameUUIDFromBytes`` of the concatenation (MD5, version 3, IETF variant)."""
    digest = bytearray(hashlib.md5("".join(parts).encode("utf-8"), usedforsecurity=False).digest())
    digest[6] = (digest[6] & 0x0F) | 0x30
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


def apim_cross_id(organization_id: str, object_hrid: str) -> str:
    """crossId APIM gives a top-level object (API, application, group, SPG...) from its HRID."""
    return java_name_uuid(organization_id, object_hrid)


def apim_id(organization_id: str, environment_id: str, object_hrid: str) -> str:
    """id APIM gives a top-level object from its HRID."""
    return java_name_uuid(apim_cross_id(organization_id, object_hrid), environment_id)


def apim_child_cross_id(organization_id: str, parent_hrid: str, child_hrid: str) -> str:
    """crossId of a plan/page/subscription ``child_hrid`` of API ``parent_hrid``."""
    return java_name_uuid(java_name_uuid(organization_id, parent_hrid), child_hrid)


def apim_child_id(
    organization_id: str, environment_id: str, parent_hrid: str, child_hrid: str
) -> str:
    """id of a plan/page/subscription ``child_hrid`` of API ``parent_hrid``."""
    return java_name_uuid(java_name_uuid(organization_id, parent_hrid), environment_id, child_hrid)

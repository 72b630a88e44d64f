"""HRID-mode ids: Java nameUUIDFromBytes over concatenated strings (docs/behavior/ids.md)."""

import hashlib
import uuid

from sim.apim import ids


def test_name_uuid_matches_python_uuid3_bit_layout():
    # uuid3 = MD5(namespace bytes + name) with the same version/variant bits; with an empty
    # namespace it is exactly Java's nameUUIDFromBytes.
    raw = hashlib.md5(b"hello", usedforsecurity=False).digest()
    expected = uuid.UUID(bytes=raw[:6] + bytes([(raw[6] & 0x0F) | 0x30]) + raw[7:8]
                         + bytes([(raw[8] & 0x3F) | 0x80]) + raw[9:])
    assert ids.java_name_uuid("hel", "lo") == str(expected)
    assert uuid.UUID(ids.java_name_uuid("x")).version == 3


def test_spec_vectors_for_default_org_and_env():
    assert ids.cross_id("DEFAULT", "default-my-api") == "b54c45d2-1e4f-3330-aa2d-9c931c795b92"
    assert (ids.top_level_id("DEFAULT", "DEFAULT", "default-my-api")
            == "cd9b2bb0-fc3e-34cc-ba08-62ac149e3434")
    assert (ids.child_id("DEFAULT", "DEFAULT", "default-my-api", "key-less")
            == "92dc3efa-4f70-33bb-a3f7-bd79e35922d0")
    assert (ids.top_level_id("DEFAULT", "DEFAULT", "default-my-app")
            == "dae6b635-631a-3989-8315-1b4fc8c060d8")
    assert (ids.child_id("DEFAULT", "DEFAULT", "default-my-api", "default-my-sub")
            == "e253d0bc-58f2-34f7-8939-bcebd620f793")


def test_ids_depend_on_org_and_env():
    a = ids.top_level_id("DEFAULT", "DEFAULT", "default-my-api")
    assert ids.top_level_id("OTHER", "DEFAULT", "default-my-api") != a
    assert ids.top_level_id("DEFAULT", "PROD", "default-my-api") != a
    # crossId is env independent: that is what makes promotion across environments work.
    assert ids.cross_id("DEFAULT", "default-my-api") == ids.cross_id("DEFAULT", "default-my-api")


def test_portal_and_api_documentation_ids_use_their_own_prefixes():
    portal = ids.portal_child_id("DEFAULT", "DEFAULT", "p", "doc")
    api_doc = ids.api_documentation_id("DEFAULT", "DEFAULT", "p", "doc")
    assert portal == ids.java_name_uuid(ids.java_name_uuid("DEFAULTportalp"), "DEFAULT", "doc")
    assert api_doc == ids.java_name_uuid(ids.java_name_uuid("DEFAULTapip"), "DEFAULTdoc")
    assert portal != api_doc

import hashlib
import uuid

import pytest
import xxhash

from controller.apim import ids

# XXH3-128 of the empty input (seed 0) is a published xxHash reference value:
# high64 = 0x99aa06d3014798d8, low64 = 0x6001c324468d497f.
EMPTY_INPUT_UUID = "99aa06d3-0147-98d8-6001-c324468d497f"


def test_empty_input_matches_the_xxh3_reference_value():
    assert ids.uuid_from_strings() == EMPTY_INPUT_UUID
    assert ids.uuid_from_strings("") == EMPTY_INPUT_UUID


def test_uuid_layout_is_high_then_low_64_bits_with_version_bits_untouched():
    for text in ("default/my-api", "x", "ns/name/plan"):
        value = xxhash.xxh3_128_intdigest(text.encode())
        expected_hex = f"{value >> 64:016x}{value & (2**64 - 1):016x}"
        assert ids.uuid_from_strings(text).replace("-", "") == expected_hex
    # Not a RFC 4122 version: the version nibble is whatever the hash says.
    assert ids.uuid_from_strings("default/my-api")[14] == "9"


def test_arguments_are_concatenated_without_separator():
    assert ids.uuid_from_strings("foo", "bar") == ids.uuid_from_strings("foobar")
    assert ids.uuid_from_strings("a", "/", "b") == ids.uuid_from_strings("a/b")
    assert ids.uuid_from_strings("foo", "bar") != ids.uuid_from_strings("foo/bar")


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("default/my-api",), "3d7306da-8a12-9e6b-9749-deaab5bcf711"),
        (("foo", "bar"), "3c9e1026-2899-7f44-ac87-b0b131c6992d"),
        (("\u0100",), "a2fcd832-b613-e34c-70c8-4ebfcc0b110b"),  # UTF-8 encoded input
    ],
)
def test_frozen_vectors(parts, expected):
    assert ids.uuid_from_strings(*parts) == expected


def test_v2_and_legacy_formulas():
    api_id = "0b7a2d8e-0c5b-4a47-9c66-3b3c0a1e2f44"
    assert ids.default_cross_id("default", "my-api") == "3d7306da-8a12-9e6b-9749-deaab5bcf711"
    cross = ids.v2_plan_cross_id(api_id, "free plan")
    assert cross == "99c460bd-8f94-252e-72f3-7cc50a2efdd7"
    assert cross == ids.uuid_from_strings(f"{api_id}/free plan")
    assert ids.v2_plan_id(cross, "free plan") == ids.uuid_from_strings(cross + "/free plan")
    assert ids.page_cross_id("default", "my-api", "docs") == ids.uuid_from_strings(
        "default/my-api/docs"
    )
    assert ids.page_id(api_id, "docs") == ids.uuid_from_strings(api_id + "/docs")
    # v4 legacy plan ids have no "/" between the API id and the plan key.
    assert ids.v4_legacy_plan_id(api_id, "key-less") == "f4a757b7-d740-516f-f02d-39cd9d6df990"
    assert ids.v4_legacy_plan_id(api_id, "key-less") == ids.uuid_from_strings(api_id + "key-less")
    assert ids.v4_local_api_id("default-my-api") == ids.uuid_from_strings("default-my-api")
    assert ids.legacy_group_id("devs", "DEFAULT", "DEFAULT") == ids.uuid_from_strings(
        "devsDEFAULTDEFAULT"
    )


def test_hrid_and_key_sanitising():
    assert ids.hrid("default", "my-api") == "default-my-api"
    assert ids.sanitize_key("Free plan v1.2") == "Free-plan-v1-2"
    assert ids.sanitize_key("a_b-C") == "a_b-C"  # case and other characters are kept
    assert ids.sanitize_key("x/y") == "x/y"


# APIM side (docs/behavior/ids.md#what-apim-derives-in-hrid-mode, org DEFAULT, env DEFAULT).
def test_apim_derived_ids_match_the_contract_vectors():
    assert ids.apim_cross_id("DEFAULT", "default-my-api") == "b54c45d2-1e4f-3330-aa2d-9c931c795b92"
    assert ids.apim_id("DEFAULT", "DEFAULT", "default-my-api") == (
        "cd9b2bb0-fc3e-34cc-ba08-62ac149e3434"
    )
    assert ids.apim_child_id("DEFAULT", "DEFAULT", "default-my-api", "key-less") == (
        "92dc3efa-4f70-33bb-a3f7-bd79e35922d0"
    )
    assert ids.apim_id("DEFAULT", "DEFAULT", "default-my-app") == (
        "dae6b635-631a-3989-8315-1b4fc8c060d8"
    )
    assert ids.apim_child_id("DEFAULT", "DEFAULT", "default-my-api", "default-my-sub") == (
        "e253d0bc-58f2-34f7-8939-bcebd620f793"
    )


def test_java_name_uuid_is_md5_version_3():
    value = uuid.UUID(ids.java_name_uuid("abc"))
    assert value.version == 3
    assert value.variant == uuid.RFC_4122
    # Same as Python's uuid3 construction over raw bytes (no namespace prefix).
    md5 = bytearray(hashlib.md5(b"abc").digest())
    assert value.bytes[:6] == bytes(md5[:6])
    assert ids.apim_child_cross_id("DEFAULT", "a", "p") == ids.java_name_uuid(
        ids.java_name_uuid("DEFAULTa"), "p"
    )

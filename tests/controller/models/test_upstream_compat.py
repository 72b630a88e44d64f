import copy

import pytest

from controller.models.crdgen import build_crd
from controller.models.kinds import KINDS
from tests.controller.models.schema_diff import crd_differences, schema_differences
from tests.controller.models.upstream import upstream_crd


@pytest.mark.parametrize("info", KINDS, ids=lambda info: info.kind)
def test_our_crd_is_compatible_with_upstream(info):
    assert crd_differences(upstream_crd(info), build_crd(info)) == []


def _v4_schemas():
    info = next(i for i in KINDS if i.kind == "ApiV4Definition")
    up = upstream_crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    ours = build_crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return up, ours


def test_differ_reports_a_missing_property():
    up, ours = _v4_schemas()
    broken = copy.deepcopy(ours)
    del broken["properties"]["spec"]["properties"]["plans"]["additionalProperties"]["properties"][
        "validation"
    ]
    assert schema_differences(up, broken) == [".spec.plans{}.validation: missing in ours"]


def test_differ_reports_enum_default_type_and_required_changes():
    up, ours = _v4_schemas()
    broken = copy.deepcopy(ours)
    spec = broken["properties"]["spec"]
    spec["properties"]["state"]["enum"] = ["STARTED"]
    spec["properties"]["lifecycleState"]["default"] = "PUBLISHED"
    spec["properties"]["version"]["type"] = "integer"
    spec["required"].remove("type")
    found = "\n".join(schema_differences(up, broken))
    assert ".spec.state: enum" in found
    assert ".spec.lifecycleState: default" in found
    assert ".spec.version: type" in found
    assert ".spec: required" in found


def test_differ_reports_extra_defaults_and_lost_preserve_unknown_fields():
    up, ours = _v4_schemas()
    broken = copy.deepcopy(ours)
    spec = broken["properties"]["spec"]["properties"]
    spec["extraThing"] = {"type": "string", "default": "x"}
    del spec["listeners"]["items"]["x-kubernetes-preserve-unknown-fields"]
    found = "\n".join(schema_differences(up, broken))
    assert ".spec.extraThing: only in ours but carries a default" in found
    assert ".spec.listeners[]: x-kubernetes-preserve-unknown-fields" in found


def test_differ_reports_printer_column_and_short_name_changes():
    info = KINDS[0]
    ours = build_crd(info)
    ours["spec"]["names"]["shortNames"] = ["other"]
    ours["spec"]["versions"][0]["additionalPrinterColumns"][0]["jsonPath"] = ".spec.x"
    found = "\n".join(crd_differences(upstream_crd(info), ours))
    assert "names.shortNames" in found
    assert "printer columns" in found

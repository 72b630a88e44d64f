"""API identity: which upstream formula applies in which mode (docs/behavior/ids.md).

Expected ids are restated from the spec with the raw XXH3 helper, so a change of formula in
``identity.py`` (wrong argument, missing separator) fails here.
"""

import copy

from controller.apim.ids import uuid_from_strings as u
from controller.reconcilers.support.identity import (
    automation_body,
    populate_v2_ids,
    populate_v4_ids,
    v2_definition_context,
    v4_definition_context,
)


def test_v2_ids_default_to_uid_and_namespaced_cross_id():
    spec = {
        "name": "petstore",
        "plans": [{"name": "free"}, {"name": "gold", "crossId": "user-cross"}],
        "pages": {"home": {"name": "Home"}, "child": {"name": "Child", "parent": "home"}},
    }
    original = copy.deepcopy(spec)
    out = populate_v2_ids(spec, namespace="team", name="petstore", uid="uid-1", status={})
    assert spec == original
    assert out["id"] == "uid-1"
    assert out["crossId"] == u("team/petstore")
    free, gold = out["plans"]
    assert free["crossId"] == u("uid-1/free")
    assert free["id"] == u(u("uid-1/free") + "/free")
    assert gold["crossId"] == "user-cross"
    assert gold["id"] == u("user-cross/gold")
    home, child = out["pages"]["home"], out["pages"]["child"]
    assert home == {
        "name": "Home",
        "api": "uid-1",
        "crossId": u("team/petstore/home"),
        "id": u("uid-1/home"),
    }
    assert child["parentId"] == u("uid-1/home")


def test_v2_status_wins_over_spec_and_plan_ids_come_from_status():
    spec = {"id": "spec-id", "crossId": "spec-cross", "plans": [{"name": "free", "crossId": "c1"}]}
    status = {"id": "status-id", "crossId": "status-cross", "plans": {"c1": "known-plan-id"}}
    out = populate_v2_ids(spec, namespace="n", name="a", uid="uid", status=status)
    assert (out["id"], out["crossId"]) == ("status-id", "status-cross")
    assert out["plans"][0]["id"] == "known-plan-id"
    out = populate_v2_ids(spec, namespace="n", name="a", uid="uid", status={})
    assert (out["id"], out["crossId"]) == ("spec-id", "spec-cross")


def test_v2_definition_context():
    assert v2_definition_context({}) == {
        "mode": "fully_managed",
        "origin": "kubernetes",
        "syncFrom": "MANAGEMENT",
    }
    assert v2_definition_context({"local": True})["syncFrom"] == "KUBERNETES"
    assert (
        v2_definition_context(
            {
                "local": True,
                "definition_context": {"origin": "kubernetes", "syncFrom": "Management"},
            }
        )["syncFrom"]
        == "MANAGEMENT"
    )
    assert v2_definition_context({"local": False})["syncFrom"] == "MANAGEMENT"
    assert v2_definition_context({"local": True})["syncFrom"] == "KUBERNETES"


def test_v4_definition_context_and_sync_mode():
    assert v4_definition_context({}) == {"origin": "KUBERNETES", "syncFrom": "MANAGEMENT"}
    assert v4_definition_context({"definitionContext": {"syncFrom": "", "origin": None}}) == {
        "origin": "KUBERNETES",
        "syncFrom": "MANAGEMENT",
    }
    kubernetes = {"definitionContext": {"syncFrom": "KUBERNETES"}}
    assert v4_definition_context(kubernetes)["syncFrom"] == "KUBERNETES"
    assert v4_definition_context({"definitionContext": {"origin": "KUBERNETES"}})["syncFrom"] == (
        "MANAGEMENT"
    )


V4_SPEC = {
    "name": "api",
    "contextRef": {"name": "ctx"},
    "plans": {"key less": {"name": "Free", "generalConditions": "terms.md"}},
    "pages": {"terms.md": {"name": "Terms"}, "sub page": {"name": "Sub", "parent": "terms.md"}},
}


def test_v4_new_object_uses_hrid_mode_and_sends_no_uuids():
    identity = populate_v4_ids(
        V4_SPEC, namespace="team", name="api", status={}, automation_managed=False, has_context=True
    )
    assert identity.mode == "hrid"
    assert identity.api_ref == "team-api"
    assert not identity.hrid_contains_uuid
    spec = identity.spec
    assert spec["hrid"] == "team-api"
    assert "id" not in spec
    assert "crossId" not in spec
    assert spec["plans"]["key less"] == {
        "name": "Free",
        "hrid": "key-less",
        "generalConditionsHrid": "terms-md",
    }
    assert spec["pages"] == {
        "terms-md": {"name": "Terms", "hrid": "terms-md", "api": "team-api"},
        "sub-page": {
            "name": "Sub",
            "parent": "terms.md",
            "parentHrid": "terms-md",
            "hrid": "sub-page",
            "api": "team-api",
        },
    }


def test_v4_without_context_gets_local_ids():
    identity = populate_v4_ids(
        V4_SPEC,
        namespace="team",
        name="api",
        status={},
        automation_managed=False,
        has_context=False,
    )
    api_id = u("team-api")
    assert identity.spec["id"] == api_id
    assert identity.spec["plans"]["key less"]["id"] == u(api_id + "key less")


def test_v4_object_with_uuid_and_no_automation_condition_stays_in_uuid_mode():
    status = {"id": "old-uuid", "crossId": "old-cross", "plans": {"key less": "old-plan"}}
    identity = populate_v4_ids(
        V4_SPEC,
        namespace="team",
        name="api",
        status=status,
        automation_managed=False,
        has_context=True,
    )
    assert identity.mode == "uuid"
    assert identity.hrid_contains_uuid
    assert identity.api_ref == "old-uuid"
    spec = identity.spec
    assert (spec["id"], spec["hrid"], spec["crossId"]) == ("old-uuid", "old-uuid", "old-cross")
    assert spec["plans"]["key less"]["id"] == "old-plan"
    assert spec["pages"]["terms.md"]["id"] == u("old-uuid/terms.md")
    assert spec["pages"]["terms.md"]["crossId"] == u("team/api/terms.md")
    assert spec["pages"]["sub page"]["parentId"] == u("old-uuid/terms.md")


def test_v4_automation_managed_condition_keeps_hrid_mode_despite_status_id():
    identity = populate_v4_ids(
        V4_SPEC,
        namespace="team",
        name="api",
        status={"id": "x"},
        automation_managed=True,
        has_context=True,
    )
    assert identity.mode == "hrid"
    assert identity.api_ref == "team-api"


def test_automation_body_lists_plans_and_pages_and_drops_context_ref():
    body = automation_body(
        {
            "name": "a",
            "contextRef": {"name": "c"},
            "plans": {"p": {"hrid": "p"}},
            "pages": {"x": {"hrid": "x"}},
        }
    )
    assert body == {"name": "a", "plans": [{"hrid": "p"}], "pages": [{"hrid": "x"}]}

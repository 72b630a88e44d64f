import pytest

from controller.models.api_v4 import ApiV4DefinitionSpec, Endpoint, Flow, FlowStep
from controller.models.base import UNSET, given, or_default
from controller.models.common import Member
from controller.models.convert import ModelError, structure, unstructure
from controller.models.management_context import ManagementContextSpec
from controller.models.resources import ApiResource, ApiV4Definition, parse_resource
from controller.models.subscription import ApiKey


def minimal_v4(**extra):
    spec = {
        "name": "n",
        "version": "1",
        "type": "PROXY",
        "listeners": [{"type": "HTTP", "paths": [{"path": "/a"}]}],
        "endpointGroups": [
            {"name": "g", "endpoints": [{"type": "http-proxy", "inheritConfiguration": False}]}
        ],
    }
    spec.update(extra)
    return spec


def test_absent_null_and_empty_stay_distinct():
    absent = structure({"source": "s", "sourceId": "i"}, Member)
    null = structure({"source": "s", "sourceId": "i", "role": None}, Member)
    empty = structure({"source": "s", "sourceId": "i", "role": ""}, Member)
    assert (absent.role, null.role, empty.role) == (UNSET, None, "")
    assert unstructure(absent) == {"source": "s", "sourceId": "i"}
    assert unstructure(null) == {"source": "s", "sourceId": "i", "role": None}
    assert unstructure(empty) == {"source": "s", "sourceId": "i", "role": ""}
    spec = structure(minimal_v4(tags=[], plans={}), ApiV4DefinitionSpec)
    assert spec.tags == []
    assert spec.plans == {}
    assert spec.categories is UNSET
    assert unstructure(spec)["tags"] == []
    assert unstructure(spec)["plans"] == {}


def test_preserve_unknown_subtrees_are_kept_verbatim():
    configuration = {"target": "http://x", "nested": {"list": [1, "two", None, {"deep": True}]}}
    listener = {"type": "HTTP", "paths": [{"path": "/a"}], "futureField": {"x": 1}}
    spec = structure(
        minimal_v4(
            listeners=[listener],
            endpointGroups=[
                {
                    "name": "g",
                    "endpoints": [
                        {
                            "type": "http-proxy",
                            "inheritConfiguration": True,
                            "configuration": configuration,
                        }
                    ],
                }
            ],
        ),
        ApiV4DefinitionSpec,
    )
    out = unstructure(spec)
    assert out["listeners"] == [listener]
    assert out["endpointGroups"][0]["endpoints"][0]["configuration"] == configuration
    configuration["target"] = "mutated"
    endpoints = spec.endpoint_groups[0].endpoints
    assert given(endpoints)
    stored = endpoints[0].configuration
    assert given(stored)
    assert stored["target"] == "http://x"


def test_fields_unknown_to_the_schema_are_pruned():
    spec = structure(minimal_v4(somethingNew=1), ApiV4DefinitionSpec)
    assert "somethingNew" not in unstructure(spec)


def test_scalars_are_checked_not_coerced():
    with pytest.raises(ModelError) as caught:
        structure(minimal_v4(version=1), ApiV4DefinitionSpec)
    assert caught.value.path == "version"
    with pytest.raises(ModelError) as caught:
        structure({"enabled": "true"}, FlowStep)
    assert caught.value.path == "enabled"
    with pytest.raises(ModelError) as caught:
        structure({"weight": True, "type": "t", "inheritConfiguration": True}, Endpoint)
    assert caught.value.path == "weight"


def test_errors_name_the_json_path():
    doc = minimal_v4(flows=[{"request": [{"policy": 3}]}])
    with pytest.raises(ModelError) as caught:
        structure(doc, ApiV4DefinitionSpec)
    assert caught.value.path == "flows[0].request[0].policy"
    doc = minimal_v4(plans={"free": {"security": {"type": "KEY_LESS"}}})
    with pytest.raises(ModelError) as caught:
        structure(doc, ApiV4DefinitionSpec)
    assert caught.value.path == "plans.free.name"
    with pytest.raises(ModelError) as caught:
        parse_resource({"kind": "ApiV4Definition", "spec": minimal_v4(name=None)})
    assert caught.value.path == "spec.name"


def test_required_fields_are_mandatory_but_defaulted_required_fields_are_not():
    step = structure({}, FlowStep)
    assert step.enabled is UNSET
    with pytest.raises(ModelError):
        structure({"sourceId": "i"}, Member)


def test_parse_resource_dispatches_on_kind_and_rejects_others():
    obj = {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "ApiV4Definition",
        "metadata": {"name": "a", "namespace": "ns"},
        "spec": minimal_v4(),
    }
    model = parse_resource(obj)
    assert isinstance(model, ApiV4Definition)
    assert unstructure(model) == obj
    with pytest.raises(ModelError):
        parse_resource({"kind": "Dictionary", "spec": {}})


def test_secrets_never_appear_in_repr():
    ctx = structure(
        {
            "baseUrl": "http://apim",
            "auth": {
                "bearerToken": "tok-123",
                "credentials": {"username": "u", "password": "pw-456"},
            },
            "cloud": {"token": "cloud-789"},
        },
        ManagementContextSpec,
    )
    text = repr(ctx)
    for secret in ("tok-123", "pw-456", "cloud-789"):
        assert secret not in text
    assert "http://apim" in text
    assert "k" * 40 not in repr(ApiKey(key="k" * 40))


def test_raw_configurations_never_show_their_content():
    obj = {
        "apiVersion": "gravitee.io/v1alpha1",
        "kind": "ApiResource",
        "metadata": {"name": "ldap", "annotations": {"last-applied": "password=hunter2"}},
        "spec": {"type": "auth-provider-ldap", "configuration": {"password": "hunter2"}},
    }
    model = parse_resource(obj)
    assert isinstance(model, ApiResource)
    assert "hunter2" not in repr(model)
    assert "hunter2" not in str(model)
    assert "hunter2" not in f"{model.spec.configuration}"
    assert model.spec.configuration == {"password": "hunter2"}
    assert type(unstructure(model)["spec"]["configuration"]) is dict


def test_flow_steps_by_phase_and_given_helpers():
    flow = structure({"request": [{"policy": "p"}], "response": []}, Flow)
    assert set(flow.steps()) == {"request", "response"}
    assert given(flow.request)
    assert not given(flow.publish)
    assert or_default(flow.publish, ["x"]) == ["x"]
    assert not given(None)

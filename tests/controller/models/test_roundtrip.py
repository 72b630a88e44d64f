"""Every upstream example goes through our schema (pruning + defaulting) exactly as through
upstream's, and through our models without losing or changing anything."""

import pytest

from controller.models.convert import ModelError, unstructure
from controller.models.crdgen import build_crd
from controller.models.defaulting import apply_defaults, prune
from controller.models.kinds import KINDS, kind_info
from controller.models.resources import parse_resource
from tests.controller.models.upstream import example_documents, is_valid_upstream, upstream_schema

EXAMPLES = example_documents()
VALID = [(i, d) for i, d in EXAMPLES if is_valid_upstream(i)]
OUR_SCHEMAS = {
    info.kind: build_crd(info)["spec"]["versions"][0]["schema"]["openAPIV3Schema"] for info in KINDS
}


def stored_form(doc, schema):
    return apply_defaults(prune(doc, schema), schema)


def test_examples_cover_every_kind_in_scope():
    kinds = {doc["kind"] for _, doc in EXAMPLES}
    assert kinds == {
        "ManagementContext",
        "ApiDefinition",
        "ApiV4Definition",
        "ApiResource",
        "Application",
        "Subscription",
        "SharedPolicyGroup",
        "Group",
        "Notification",
        "Dictionary",
        "Portal",
        "PortalListing",
        "PortalLink",
        "Documentation",
    }
    assert len(EXAMPLES) > 80


@pytest.mark.parametrize(("example", "doc"), VALID, ids=[i for i, _ in VALID])
def test_example_is_stored_like_upstream_and_round_trips(example, doc):
    info = kind_info(doc["kind"])
    ours = stored_form(doc, OUR_SCHEMAS[info.kind])
    theirs = stored_form(doc, upstream_schema(info))
    assert ours == theirs
    model = parse_resource(ours)
    assert isinstance(model, info.resource_type)
    assert unstructure(model) == ours
    raw = prune(doc, OUR_SCHEMAS[info.kind])
    assert unstructure(parse_resource(raw)) == raw


def test_upstream_defaults_are_filled_in():
    docs = {i.split("#")[0]: d for i, d in VALID}
    v4 = stored_form(docs["apim/api_definition/v4/api-v4.yml"], OUR_SCHEMAS["ApiV4Definition"])
    assert v4["spec"]["state"] == "STARTED"
    assert v4["spec"]["lifecycleState"] == "UNPUBLISHED"
    assert v4["spec"]["visibility"] == "PRIVATE"
    assert v4["spec"]["plans"]["KeyLess"]["status"] == "PUBLISHED"
    assert v4["spec"]["plans"]["KeyLess"]["validation"] == "AUTO"
    v2 = stored_form(
        docs["apim/api_definition/v2/api-with-jwt-plan.yml"], OUR_SCHEMAS["ApiDefinition"]
    )
    assert v2["spec"]["local"] is False
    assert v2["spec"]["plans"][0]["type"] == "API"
    assert v2["spec"]["execution_mode"] == "v4-emulation-engine"
    synced = stored_form(
        docs["apim/api_definition/v4/api-v4-with-sync-from-apim.yml"],
        OUR_SCHEMAS["ApiV4Definition"],
    )
    assert synced["spec"]["definitionContext"]["origin"] == "KUBERNETES"


def test_upstream_example_missing_a_required_field_is_refused_by_the_model():
    invalid = [(i, d) for i, d in EXAMPLES if not is_valid_upstream(i)]
    assert invalid
    for _, doc in invalid:
        with pytest.raises(ModelError) as caught:
            parse_resource(stored_form(doc, OUR_SCHEMAS[doc["kind"]]))
        assert caught.value.path == "spec.plan"

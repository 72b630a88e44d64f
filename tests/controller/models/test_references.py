from controller.models.api_v2 import ApiDefinitionSpec
from controller.models.api_v4 import ApiV4DefinitionSpec
from controller.models.convert import structure
from controller.models.management_context import ManagementContextSpec
from controller.models.references import (
    context_key,
    group_keys,
    notification_keys,
    resource_keys,
    secret_ref_key,
    shared_policy_group_keys,
    subscription_api_key,
    subscription_application_key,
)
from controller.models.subscription import SubscriptionSpec


def v4_spec():
    spg = {"sharedPolicyGroupRef": {"name": "spg"}}
    other = {"sharedPolicyGroupRef": {"name": "spg2", "namespace": "shared"}}
    return structure(
        {
            "name": "a",
            "version": "1",
            "type": "PROXY",
            "contextRef": {"name": "ctx"},
            "listeners": [{"type": "HTTP"}],
            "endpointGroups": [{"name": "g"}],
            "resources": [{"name": "inline"}, {"ref": {"name": "r", "namespace": "other"}}],
            "notificationsRefs": [{"name": "n"}],
            "groupRefs": [{"name": "g1"}, {"name": "g2", "namespace": "x"}],
            "flows": [{"request": [spg, {"policy": "p"}], "response": [spg]}],
            "plans": {"p": {"name": "p", "flows": [{"publish": [other]}]}},
        },
        ApiV4DefinitionSpec,
    )


def test_api_reference_keys_default_to_the_referrer_namespace():
    spec = v4_spec()
    assert context_key(spec.context_ref, "ns") == "ns/ctx"
    assert resource_keys(spec, "ns") == ["other/r"]
    assert notification_keys(spec, "ns") == ["ns/n"]
    assert group_keys(spec, "ns") == ["ns/g1", "x/g2"]
    assert shared_policy_group_keys(spec, "ns") == ["ns/spg", "shared/spg2"]


def test_absent_references_give_nothing():
    spec = structure({"name": "a", "version": "1", "description": "d"}, ApiDefinitionSpec)
    assert context_key(spec.context_ref, "ns") is None
    assert resource_keys(spec, "ns") == []
    assert group_keys(spec, "ns") == []


def test_context_secret_and_subscription_keys():
    ctx = structure({"auth": {"secretRef": {"name": "s"}}}, ManagementContextSpec)
    assert secret_ref_key(ctx, "ns") == "ns/s"
    assert secret_ref_key(ManagementContextSpec(), "ns") is None
    sub = structure(
        {
            "api": {"name": "a", "kind": "ApiDefinition"},
            "application": {"name": "b", "namespace": "o"},
            "plan": "p",
        },
        SubscriptionSpec,
    )
    assert subscription_api_key(sub, "ns") == ("v2", "ns/a")
    assert subscription_application_key(sub, "ns") == "o/b"
    v4_sub = structure(
        {"api": {"name": "a"}, "application": {"name": "b"}, "plan": "p"}, SubscriptionSpec
    )
    assert subscription_api_key(v4_sub, "ns") == ("v4", "ns/a")

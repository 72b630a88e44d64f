from controller.models.api_v4 import ApiV4DefinitionSpec
from controller.models.convert import structure
from controller.models.notification import NotificationSpec
from controller.models.shared_policy_group import SharedPolicyGroupSpec
from controller.models.validation import (
    validate_context_path_conflicts,
    validate_notification_refs,
    validate_shared_policy_group_phases,
    validate_subscribed_plans_kept,
    warnings,
)


def messages(errors):
    return [e.message for e in errors]


def test_context_path_conflicts_with_other_apis():
    ours = [("spec.listeners[0]", "/a/"), ("spec.listeners[0]", "/b")]
    others = [("ns/one", ["/x"]), ("ns/two", ["//a"])]
    assert messages(validate_context_path_conflicts(ours, others)) == [
        "invalid API context path [/a]. API [ns/two] is already defined with the same path"
    ]
    assert validate_context_path_conflicts(ours, [("ns/one", ["/c"])]) == []


def spg(name, phase):
    return structure(
        {"name": name, "apiType": "PROXY", "phase": phase, "contextRef": {"name": "c"}},
        SharedPolicyGroupSpec,
    )


def test_shared_policy_groups_must_exist_and_match_the_phase():
    ref = {"sharedPolicyGroupRef": {"name": "g"}}
    api = structure(
        {
            "name": "a",
            "version": "1",
            "type": "PROXY",
            "listeners": [{"type": "HTTP"}],
            "endpointGroups": [{"name": "e"}],
            "flows": [{"request": [{"policy": "p"}, ref], "response": [ref]}],
            "plans": {
                "k": {
                    "name": "k",
                    "flows": [{"request": [{"sharedPolicyGroupRef": {"name": "missing"}}]}],
                }
            },
        },
        ApiV4DefinitionSpec,
    )
    errors = validate_shared_policy_group_phases(
        api, namespace="ns", groups={"ns/g": spg("g", "REQUEST"), "ns/missing": None}
    )
    assert messages(errors) == [
        "Incompatible Shared Policy Group [g] with phase [REQUEST] for FlowStep [RESPONSE]",
        "unable to get Shared Policy Group [missing] in namespace [ns]",
    ]
    assert [e.path for e in errors] == [
        "spec.flows[0].response[0].sharedPolicyGroupRef",
        "spec.plans.k.flows[0].request[0].sharedPolicyGroupRef",
    ]


def notification(event_type="api", events=("API_STARTED",), group_refs=()):
    return structure(
        {
            "eventType": event_type,
            "target": "console",
            "console": {"apiEvents": list(events), "groupRefs": [{"name": g} for g in group_refs]},
        },
        NotificationSpec,
    )


def test_notification_references():
    refs = [{"name": "n1"}, {"name": "n2"}]
    spec = structure(
        {
            "name": "a",
            "version": "1",
            "type": "PROXY",
            "listeners": [{}],
            "endpointGroups": [{"name": "e"}],
            "notificationsRefs": refs,
        },
        ApiV4DefinitionSpec,
    )
    found = validate_notification_refs(
        spec.notifications_refs,
        namespace="ns",
        notifications={
            "ns/n1": notification(events=(), group_refs=("gone", "here")),
            "ns/n2": notification(),
        },
        existing_groups={"ns/here"},
    )
    assert messages(warnings(found)) == [
        "api references notification [ns/n1] configured without any API events",
        "api references notification [ns/n1] configured with group [ns/gone] that does not "
        "exist in the cluster",
    ]
    assert [e.message for e in found if e.severity == "severe"] == [
        "api references notification [ns/n2] but there is already another console notification "
        "referenced"
    ]
    missing = validate_notification_refs(
        spec.notifications_refs, namespace="ns", notifications={}, existing_groups=set()
    )
    assert messages(missing) == [
        "api references notification [ns/n1] that does not exist in the cluster"
    ]


def test_plans_used_by_subscriptions_must_remain():
    errors = validate_subscribed_plans_kept(
        {"free"}, ["free", "gold", "gold"], api_key="ns/api", api_name="api"
    )
    assert len(errors) == 1
    assert errors[0].message.startswith(
        "Plan [gold] could not be found in API [ns/api] but there is a subscription referencing it."
    )
    assert '@.spec.api.name=="api"' in errors[0].message

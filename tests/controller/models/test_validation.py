from datetime import UTC, datetime

from controller.models.api_resource import ApiResourceSpec
from controller.models.api_v2 import ApiDefinitionSpec
from controller.models.api_v4 import ApiV4DefinitionSpec
from controller.models.application import ApplicationSpec
from controller.models.convert import structure
from controller.models.management_context import ManagementContextSpec
from controller.models.shared_policy_group import SharedPolicyGroupSpec
from controller.models.subscription import SubscriptionSpec
from controller.models.validation import (
    clean_path,
    severe,
    validate_api_resource,
    validate_api_v2,
    validate_api_v4,
    validate_api_v4_update,
    validate_application,
    validate_application_update,
    validate_context_ref,
    validate_management_context,
    validate_shared_policy_group_update,
    validate_subscription,
    validate_subscription_update,
    warnings,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PLAN = {"name": "free", "security": {"type": "KEY_LESS"}}


def v4(**changes):
    spec = {
        "name": "api",
        "version": "1",
        "type": "PROXY",
        "contextRef": {"name": "ctx"},
        "listeners": [{"type": "HTTP", "paths": [{"path": "/a"}]}],
        "endpointGroups": [
            {"name": "g", "endpoints": [{"type": "http-proxy", "inheritConfiguration": False}]}
        ],
        "plans": {"free": PLAN},
    }
    spec.update(changes)
    return structure({k: v for k, v in spec.items() if v is not None}, ApiV4DefinitionSpec)


def v2(**changes):
    spec = {
        "name": "api",
        "version": "1",
        "description": "d",
        "proxy": {"virtual_hosts": [{"path": "/a"}]},
        "plans": [{"name": "free", "description": "d", "security": "KEY_LESS"}],
    }
    spec.update(changes)
    return structure({k: v for k, v in spec.items() if v is not None}, ApiDefinitionSpec)


def messages(errors):
    return [e.message for e in errors]


def test_valid_apis_have_no_errors():
    assert validate_api_v4(v4(), api_name="api") == []
    assert validate_api_v2(v2(), api_name="api") == []


def test_started_api_without_plan_is_refused_but_stopped_is_fine():
    expected = (
        "cannot apply API [api]. Its state is set to STARTED, but the API has no plans. "
        "APIs must have at least one plan in order to be deployed."
    )
    assert messages(validate_api_v4(v4(plans=None), api_name="api")) == [expected]
    assert messages(validate_api_v4(v4(plans={}, state="STARTED"), api_name="api")) == [expected]
    assert validate_api_v4(v4(plans=None, state="STOPPED"), api_name="api") == []
    assert messages(validate_api_v2(v2(plans=[]), api_name="api")) == [expected]
    assert validate_api_v2(v2(plans=[], state="STOPPED"), api_name="api") == []


def test_duplicated_context_paths_within_one_api():
    listeners = [
        {"type": "HTTP", "paths": [{"path": "/a"}, {"path": "/b/"}]},
        {"type": "HTTP", "paths": [{"path": "/b"}, {"host": "h", "path": "/a"}]},
        {"type": "TCP", "hosts": ["t", "t"]},
    ]
    errors = validate_api_v4(v4(listeners=listeners), api_name="api")
    assert [e.path for e in errors] == ["spec.listeners[1]", "spec.listeners[2]"]
    assert "[/b]" in errors[0].message
    assert "[t]" in errors[1].message
    hosts = {"virtual_hosts": [{"path": "/x"}, {"path": "//x/./"}, {"host": "h", "path": "/x"}]}
    errors = validate_api_v2(v2(proxy=hosts), api_name="api")
    assert [e.path for e in errors] == ["spec.proxy.virtual_hosts[1].path"]


def test_clean_path_follows_go_semantics():
    assert clean_path("") == "."
    assert clean_path("/a//b/./c/..") == "/a/b"
    assert clean_path("/../x/") == "/x"
    assert clean_path("a/../../b") == "../b"


def test_context_ref_without_name():
    errors = validate_api_v4(v4(contextRef={"name": " "}), api_name="api")
    assert [e.path for e in errors] == ["spec.contextRef.name"]
    assert validate_context_ref(v4(contextRef=None).context_ref) == []
    assert messages(validate_context_ref(v4(contextRef=None).context_ref, required=True))


def test_flow_phases_per_api_type():
    flows = [{"request": [{"policy": "p"}], "connect": [{"policy": "c"}], "interact": []}]
    assert messages(validate_api_v4(v4(flows=flows), api_name="api")) == [
        "Connect Flow is not supported in V4 API [api]"
    ]
    native_plan = {**PLAN, "flows": [{"response": [{"policy": "p"}]}]}
    errors = validate_api_v4(
        v4(type="NATIVE", flows=flows, plans={"free": native_plan}), api_name="api"
    )
    assert messages(errors) == [
        "Request Flow is not supported in Native API [api]",
        "Response Flow is not supported in Native API [api]",
    ]
    assert errors[1].path == "spec.plans.free.flows[0].response"


def test_native_only_rules():
    groups = [
        {
            "name": "g",
            "endpoints": [{"type": "native-kafka", "inheritConfiguration": True}],
            "services": {},
        }
    ]
    errors = validate_api_v4(
        v4(
            type="NATIVE",
            endpointGroups=groups,
            flowExecution={"matchRequired": False},
            responseTemplates={"DEFAULT": {}},
        ),
        api_name="n",
    )
    assert messages(errors) == [
        "EndpointGroup services is not supported in Native API [n]",
        "FlowExecution is not supported in Native API [n]",
        "ResponseTemplates is not supported in Native API [n]",
    ]
    assert (
        validate_api_v4(
            v4(endpointGroups=groups, flowExecution={"matchRequired": False}), api_name="n"
        )
        == []
    )


def test_http_client_bounds():
    groups = [
        {
            "name": "g",
            "endpoints": [],
            "http": {"maxWaitQueueSize": -2, "maxConnectionLifetime": -1},
        }
    ]
    assert messages(validate_api_v4(v4(endpointGroups=groups), api_name="a")) == [
        "EndpointGroup [g] in API [a]: maxWaitQueueSize must be >= -1",
        "EndpointGroup [g] in API [a]: maxConnectionLifetime must be >= 0",
    ]


def test_native_kafka_plan_ports():
    def check(**ports):
        plan = {**PLAN, **ports}
        return messages(validate_api_v4(v4(type="NATIVE", plans={"k": plan}), api_name="n"))

    assert check(bootstrapPort=9092) == [
        "plan [k] has bootstrapPort set but brokerRangeStart/brokerRangeEnd are missing in "
        "Native API [n]"
    ]
    assert check(bootstrapPort=9092, brokerRangeStart=9100, brokerRangeEnd=9100) == [
        "plan [k] has invalid broker port range (brokerRangeStart must be < brokerRangeEnd) in "
        "Native API [n]"
    ]
    assert check(bootstrapPort=9095, brokerRangeStart=9093, brokerRangeEnd=9100) == [
        "plan [k] has bootstrapPort within broker port range [9093,9100] in Native API [n]"
    ]
    assert check(bootstrapPort=9092, brokerRangeStart=9093, brokerRangeEnd=9100) == []
    assert check() == []


def test_type_is_immutable():
    assert messages(validate_api_v4_update(v4(), v4(type="MESSAGE"))) == [
        "it is not possible to change API Type. Old type 'PROXY', new type 'MESSAGE'"
    ]
    assert validate_api_v4_update(v4(), v4(name="renamed")) == []


def test_page_parents_must_exist():
    pages = {
        "child": {"name": "c", "type": "MARKDOWN", "parent": "missing"},
        "folder": {"name": "f", "type": "FOLDER"},
        "ok": {"name": "o", "type": "MARKDOWN", "parent": "folder"},
    }
    expected = ["can not apply API [api]. Parent page [missing] can not be found for page [child]"]
    assert messages(validate_api_v4(v4(pages=pages), api_name="api")) == expected
    assert messages(validate_api_v2(v2(pages=pages), api_name="api")) == expected


def test_inline_resources_need_type_name_and_configuration():
    resources = [
        {"name": "cache"},
        {"ref": {"name": "shared"}},
        {"name": "c", "type": "cache", "configuration": {}},
    ]
    errors = validate_api_v4(v4(resources=resources), api_name="api")
    assert messages(errors) == [
        "missing required value in property [type]",
        "missing required value in property [configuration]",
    ]
    assert [e.path for e in errors] == ["spec.resources[0].type", "spec.resources[0].configuration"]
    assert messages(validate_api_resource(ApiResourceSpec(name="x", type="t"))) == [
        "missing required value in property [configuration]"
    ]


def test_management_context_mandatory_fields():
    empty = ManagementContextSpec()
    assert messages(validate_management_context(empty)) == [
        "[baseUrl] is mandatory when cloud is not enabled",
        "[orgId] is mandatory when cloud is not enabled",
        "[envId] is mandatory when cloud is not enabled",
        "[auth] is mandatory when cloud is not enabled",
    ]
    bad_url = structure(
        {
            "baseUrl": "ftp://x",
            "organizationId": "o",
            "environmentId": "e",
            "auth": {"bearerToken": "t"},
        },
        ManagementContextSpec,
    )
    assert messages(validate_management_context(bad_url)) == ["[baseUrl] is not a valid URL"]
    cloud = structure({"cloud": {"token": "jwt"}}, ManagementContextSpec)
    assert validate_management_context(cloud) == []


def app(**settings):
    return structure(
        {"name": "a", "description": "d", "contextRef": {"name": "ctx"}, "settings": settings},
        ApplicationSpec,
    )


PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"


def test_application_settings_rules():
    assert validate_application(app(app={"type": "web"})) == []
    both = app(
        app={"type": "web"}, oauth={"applicationType": "WEB", "grantTypes": ["authorization_code"]}
    )
    assert messages(validate_application(both)) == [
        "configuring both OAuth and simple settings is not allowed"
    ]
    mixed = app(tls={"clientCertificate": PEM, "clientCertificates": [{"content": PEM}]})
    assert messages(validate_application(mixed)) == [
        "clientCertificate and clientCertificates cannot be used at the same time"
    ]
    deprecated = validate_application(app(tls={"clientCertificate": PEM}))
    assert severe(deprecated) == []
    assert messages(warnings(deprecated)) == [
        "clientCertificate is deprecated, use clientCertificates instead"
    ]
    assert messages(validate_application(app(tls={"clientCertificate": "junk"}))) == [
        "failed to parse TLS client certificate"
    ]
    entries = app(
        tls={
            "clientCertificates": [
                {"content": PEM, "ref": {"name": "s"}},
                {"name": "empty"},
                {"ref": {"name": "s"}},
            ]
        }
    )
    assert messages(validate_application(entries)) == [
        "clientCertificates[0]: content and ref cannot both be set",
        "clientCertificates[1]: either content or ref must be set",
    ]


def test_application_update_rules():
    simple = app(app={"type": "web"})
    oauth = app(oauth={"applicationType": "WEB", "grantTypes": ["authorization_code"]})
    native = app(oauth={"applicationType": "NATIVE", "grantTypes": ["authorization_code"]})
    assert messages(validate_application_update(oauth, simple)) == [
        "moving from OAuth to simple settings is not allowed"
    ]
    assert messages(validate_application_update(simple, oauth)) == [
        "moving from simple to Oauth settings is not allowed"
    ]
    assert messages(validate_application_update(oauth, native)) == [
        "updating OAuth application type is not allowed"
    ]
    assert validate_application_update(simple, simple) == []


def subscription(**changes):
    spec = {"api": {"name": "api"}, "application": {"name": "app"}, "plan": "free"}
    spec.update(changes)
    return structure(spec, SubscriptionSpec)


def test_subscription_rules():
    assert validate_subscription(subscription(), now=NOW) == []
    wrong_kind = subscription(api={"name": "api", "kind": "Application"})
    assert messages(validate_subscription(wrong_kind, now=NOW)) == [
        "API kind is required and should be either ApiDefinition or ApiV4Definition, "
        "got [Application]"
    ]
    key = "k" * 32
    keys = subscription(apiKeys=[{"key": key}, {"key": key, "expireAt": "tomorrow"}])
    found = validate_subscription(keys, now=NOW)
    assert [e.path for e in found] == ["spec.apiKeys[1].key", "spec.apiKeys[1].expireAt"]
    assert all(key not in e.message for e in found)
    assert messages(validate_subscription(subscription(endingAt="2026-13-01"), now=NOW)) == [
        "ending date [2026-13-01] is not in RFC3339 format"
    ]
    soon = subscription(endingAt="2026-01-01T12:00:30Z")
    assert messages(validate_subscription(soon, now=NOW)) == [
        "ending date [2026-01-01T12:00:30Z] should be at least one minute from now"
    ]
    nanos = subscription(endingAt="2026-01-01T14:00:00.123456789+01:00")
    assert validate_subscription(nanos, now=NOW) == []
    assert validate_subscription(subscription(endingAt="2026-01-02T00:00:00Z"), now=NOW) == []


def test_subscription_references_are_immutable():
    old = subscription()
    assert validate_subscription_update(old, subscription(), namespace="ns") == []
    same = subscription(api={"name": "api", "namespace": "ns"})
    assert validate_subscription_update(old, same, namespace="ns") == []
    changed = subscription(api={"name": "other"}, plan="gold", application={"name": "b"})
    assert messages(validate_subscription_update(old, changed, namespace="ns")) == [
        "API reference is immutable. Detected change from [ns/api] to [ns/other]",
        "Plan is immutable. Detected change from [free] to [gold]",
        "Application reference is immutable. Detected change from [ns/app] to [ns/b]",
    ]


def test_shared_policy_group_immutable_fields():
    def spg(**changes):
        spec = {
            "name": "g",
            "apiType": "PROXY",
            "phase": "REQUEST",
            "contextRef": {"name": "ctx"},
            "crossId": "x",
        }
        spec.update(changes)
        return structure(spec, SharedPolicyGroupSpec)

    assert validate_shared_policy_group_update(spg(), spg(description="d")) == []
    assert messages(
        validate_shared_policy_group_update(
            spg(), spg(crossId="y", apiType="MESSAGE", phase="PUBLISH")
        )
    ) == [
        "can not change Shared Policy Group [x] CrossID, once it is created",
        "can not change Shared Policy Group [x] ApiType [PROXY], once it is created",
        "can not change Shared Policy Group [x] Phase [REQUEST], once it is created",
    ]

"""Local-mode ConfigMaps: the exact layout gateways read, and write-free convergence."""

import json
from typing import Any

from controller.informers.predicates import source_data_hash
from controller.reconcilers.support.local_configmap import (
    api_configmap,
    gateway_definition,
    needs_write,
)
from controller.vocabulary import canonical_json, spec_hash


def v2_configmap(**overrides):
    args: dict[str, Any] = dict(
        kind="ApiDefinition",
        name="petstore",
        namespace="team",
        uid="u-1",
        definition={"name": "petstore", "id": "i"},
        organization_id=None,
        environment_id=None,
    )
    args.update(overrides)
    return api_configmap(**args)


def test_v2_layout_with_default_org_and_env():
    cm = v2_configmap()
    assert cm["metadata"] == {
        "name": "petstore",
        "namespace": "team",
        "labels": {"managed-by": "gravitee.io", "gio-type": "apidefinitions.gravitee.io"},
        # The hash of the data as written, so a hand edit is told apart from our own write.
        "annotations": {"gravitee.io/last-spec-hash": source_data_hash({"data": cm["data"]})},
        "ownerReferences": [
            {
                "apiVersion": "gravitee.io/v1alpha1",
                "kind": "ApiDefinition",
                "name": "petstore",
                "uid": "u-1",
            }
        ],
    }
    assert cm["data"] == {
        "definition": '{"name":"petstore","id":"i"}',
        "organizationId": "DEFAULT",
        "environmentId": "DEFAULT",
    }


def test_v4_adds_definition_version_and_keeps_context_org_env():
    cm = v2_configmap(kind="ApiV4Definition", organization_id="org1", environment_id="env1")
    assert cm["metadata"]["labels"]["gio-type"] == "apidefinitions.gravitee.io"
    assert cm["metadata"]["ownerReferences"][0]["kind"] == "ApiV4Definition"
    assert cm["data"]["apiDefinitionVersion"] == "4.0.0"
    assert (cm["data"]["organizationId"], cm["data"]["environmentId"]) == ("org1", "env1")


def test_needs_write_only_when_owned_parts_differ():
    desired = v2_configmap()
    assert needs_write(None, desired)
    live = json.loads(json.dumps(desired))
    live["metadata"]["labels"]["extra"] = "someone else's"
    live["metadata"]["resourceVersion"] = "12"
    assert not needs_write(live, desired)
    live["data"]["definition"] = "{}"
    assert needs_write(live, desired)
    live = json.loads(json.dumps(desired))
    live["metadata"]["labels"]["gio-type"] = "other"
    assert needs_write(live, desired)
    live = json.loads(json.dumps(desired))
    live["metadata"]["ownerReferences"] = []
    assert needs_write(live, desired)


def test_gateway_definition_converts_enums_and_turns_plans_into_a_list():
    spec = {
        "name": "api",
        "version": "1.0",
        "type": "LLM_PROXY",
        "listeners": [
            {"type": "HTTP", "entrypoints": [{"type": "http-proxy", "qos": "AT_LEAST_ONCE"}]}
        ],
        "flows": [{"selectors": [{"type": "HTTP", "path": "/"}]}],
        "flowExecution": {"mode": "BEST_MATCH", "matchRequired": False},
        "endpointGroups": [
            {"name": "default", "type": "http-proxy", "loadBalancer": {"type": "ROUND_ROBIN"}},
            {"type": "mock"},
        ],
        "plans": {
            "key-less": {
                "name": "Free plan",
                "security": {"type": "KEY_LESS"},
                "mode": "STANDARD",
                "status": "PUBLISHED",
                "flows": [{"selectors": [{"type": "CHANNEL"}]}],
            },
        },
    }
    before = json.loads(json.dumps(spec))
    gw = gateway_definition(spec, api_id="abc")
    assert spec == before  # input untouched
    assert gw["definitionVersion"] == "4.0.0"
    assert gw["apiVersion"] == "1.0"
    assert gw["version"] == "1.0"
    assert gw["type"] == "llm-proxy"
    assert gw["listeners"][0]["type"] == "http"
    assert gw["listeners"][0]["entrypoints"][0] == {"type": "http-proxy", "qos": "at-least-once"}
    assert gw["flows"][0]["selectors"][0]["type"] == "http"
    assert gw["flowExecution"] == {"mode": "best-match", "matchRequired": False}
    assert gw["endpointGroups"][0]["loadBalancer"]["type"] == "round-robin"
    assert gw["endpointGroups"][1]["name"] == "abc-endpoint-group-1"
    assert gw["plans"] == [
        {
            "name": "key-less",
            "security": {"type": "key-less"},
            "mode": "standard",
            "status": "published",
            "flows": [{"selectors": [{"type": "channel"}]}],
        }
    ]
    # Deterministic: the same spec gives the same definition, so the ConfigMap converges.
    assert gateway_definition(spec, api_id="abc") == gw


def test_spec_hash_is_canonical():
    assert spec_hash({"b": 1, "a": [1, {"y": 2, "x": 1}]}) == spec_hash(
        {"a": [1, {"x": 1, "y": 2}], "b": 1}
    )
    assert spec_hash({"a": 1}) != spec_hash({"a": 2})
    assert spec_hash({"a": None}) != spec_hash({})
    assert spec_hash({"a": []}) != spec_hash({"a": None})
    assert canonical_json({"é": 1}) == '{"é":1}'
    assert len(spec_hash({})) == 64

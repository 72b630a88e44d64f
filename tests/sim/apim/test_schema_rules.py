"""The simulator refuses what APIM refuses (issue 17, item 18): unknown enum values, plugins
and plan security types, with APIM's error shapes, so that a typo fails the tests too.

The enum values and where they sit are checked against the Automation OpenAPI file itself, and
the file is shown to reject the same bodies; every exchange is validated against the file by
this package's ``apim`` fixture.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from sim.apim.schema_rules import ENUMS, V4_ENUM_FIELDS, enum_violations

from . import bodies
from .contract import HOST, REFERENCE, automation_spec, available

AUTO = "/automation/organizations/DEFAULT/environments/DEFAULT"
needs_files = pytest.mark.skipif(not available(), reason=f"no OpenAPI files in {REFERENCE}")


def _schemas() -> dict[str, Any]:
    document = yaml.safe_load((REFERENCE / "open-api.yaml").read_text())
    return dict(document["components"]["schemas"])


def _expand(schema: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and every schema it stands for ($ref, allOf, oneOf, anyOf)."""
    if "$ref" in schema:
        return _expand(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    out = [schema]
    for key in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(key) or []:
            out.extend(_expand(part, schemas))
    return out


def _enums_at(path: str, schemas: dict[str, Any]) -> set[tuple[str, ...]]:
    """The enum value lists the file declares at ``path`` of ``ApiV4Spec``."""
    current = _expand(schemas["ApiV4Spec"], schemas)
    for step in path.split("."):
        many = step.endswith("[]")
        name = step[:-2] if many else step
        found = []
        for schema in current:
            prop = (schema.get("properties") or {}).get(name)
            if prop is not None:
                found.extend(_expand(prop, schemas))
        if many:
            found = [item for schema in found if "items" in schema
                     for item in _expand(schema["items"], schemas)]
        current = found
    return {tuple(schema["enum"]) for schema in current if "enum" in schema}


@needs_files
def test_every_enum_and_its_place_are_the_openapi_files() -> None:
    schemas = _schemas()
    for name, values in ENUMS.items():
        declared = schemas.get(name, {}).get("enum")
        if declared is not None:
            assert tuple(declared) == values, name
    assert tuple(schemas["LoadBalancer"]["properties"]["type"]["enum"]) == ENUMS["LoadBalancerType"]
    for path, name in V4_ENUM_FIELDS:
        assert _enums_at(path, schemas) == {ENUMS[name]}, path


@needs_files
@pytest.mark.parametrize(("path", "bad"), [
    ("plans.0.security.type", "KEYLESS"),
    ("listeners.0.type", "HTTPS"),
    ("type", "PROXI"),
])
def test_the_openapi_file_itself_rejects_the_typos(path: str, bad: str) -> None:
    import json

    from openapi_core.testing import MockRequest

    body = bodies.v4_api()
    _set(body, path, bad)
    request = MockRequest(HOST, "put", AUTO + "/apis",
                          headers={"Authorization": "Basic c2ltOnNpbQ=="},
                          data=json.dumps(body).encode())
    with pytest.raises(Exception):  # noqa: B017 - openapi-core's validation error types vary
        automation_spec().validate_request(request)
    assert enum_violations(body)


def _set(body: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        body = body[int(part)] if part.isdigit() else body[part]
    body[last] = value


async def _put(http, apim, body, **query):
    params = {k: str(v).lower() for k, v in query.items()}
    async with http.put(apim.automation_url() + "/apis", json=body, params=params) as r:
        return r.status, await r.json()


@pytest.mark.parametrize("dry_run", [False, True])
async def test_unknown_plan_security_type_is_refused_with_apim_error_shape(apim, http, dry_run):
    body = bodies.v4_api()
    body["plans"][0]["security"]["type"] = "KEYLESS"
    status, answer = await _put(http, apim, body, dryRun=dry_run)
    assert status == 400
    assert answer["httpStatus"] == 400
    assert answer["technicalCode"] == "invalid"
    assert "KEYLESS" in answer["message"]
    assert "KEY_LESS" in answer["message"]
    assert answer["details"] == [{
        "message": "Invalid value [KEYLESS]: expected one of [KEY_LESS, OAUTH2, JWT, MTLS, "
                   "API_KEY]",
        "location": "plans[0].security.type",
    }]
    assert "status" not in answer
    assert apim.state.api_by_hrid("default-my-api") is None


# The file's enums are case-sensitive where APIM's reader is not
# (docs/behavior/apim-calls.md#what-apim-does-with-what-it-receives): this accepted request
# cannot validate against it, by design.
@pytest.mark.no_contract_check
async def test_enums_stay_case_insensitive(apim, http):
    body = bodies.v4_api(type="proxy", visibility="private")
    body["plans"][0]["security"]["type"] = "key_less"
    status, answer = await _put(http, apim, body)
    assert status == 200, answer
    # Written back as APIM writes enums: upper case.
    assert (answer["type"], answer["visibility"]) == ("PROXY", "PRIVATE")
    assert answer["plans"][0]["security"]["type"] == "KEY_LESS"


async def test_unknown_endpoint_type_is_a_severe_import_error(apim, http):
    body = bodies.v4_api()
    body["endpointGroups"][0]["endpoints"][0]["type"] = "http-proxyy"
    status, answer = await _put(http, apim, body, dryRun=True)
    assert status == 200
    assert answer["errors"]["severe"] == [
        "Endpoint type [http-proxyy] of endpointGroups[0].endpoints[0] does not match the type "
        "[http-proxy] of its endpoint group"]
    status, answer = await _put(http, apim, body)
    assert status == 400
    assert answer["technicalCode"] == "invalid"
    assert "http-proxyy" in answer["message"]
    assert apim.state.api_by_hrid("default-my-api") is None


async def test_unknown_endpoint_group_and_entrypoint_plugins_are_refused(apim, http):
    body = bodies.v4_api()
    body["endpointGroups"][0]["type"] = "http-proxyy"
    body["endpointGroups"][0]["endpoints"][0]["type"] = "http-proxyy"
    body["listeners"][0]["entrypoints"][0]["type"] = "http-proxi"
    status, answer = await _put(http, apim, body)
    assert status == 400
    assert answer["message"] == (
        "Unable to import because of errors [Plugin [http-proxi] cannot be found (entrypoint "
        "listeners[0].entrypoints[0].type), Plugin [http-proxyy] cannot be found (endpoint "
        "group endpointGroups[0].type)]")


async def test_v2_plan_with_unknown_security_is_refused_by_import_crd(apim, http):
    body = bodies.v2_api()
    body["plans"][0]["security"] = "KEYLESS"
    async with http.put(apim.v1_url() + "/apis/import-crd", json=body) as r:
        assert r.status == 400
        answer = await r.json()
    assert answer == {"severe": [
        "Plan security type [KEYLESS] of plans[0].security is not valid: expected one of "
        "[KEY_LESS, OAUTH2, JWT, MTLS, API_KEY]"], "warning": []}

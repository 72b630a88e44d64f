"""Request/response pairs exchanged with the simulator, validated against APIM's OpenAPI files.

Every exchange below is a real HTTP call to the simulator; the request it sent and the response
it got are then checked with openapi-core against the official files in
``/work/shared/reference/apim-openapi`` (override with ``APIM_OPENAPI_DIR``), loaded at test time.

What the files cannot check, and what we do about it (see that folder's README):

* Management API **v1** (``import-crd``, ``/apis?crossId=``, ``/apis/{id}``, ``/apis/{id}/crd``,
  ``DELETE /apis/{id}``): no static OpenAPI document exists (v1's is generated at runtime), so
  those endpoints are covered by behavioural tests only (``test_v1_import.py``).
* v2 ``GET /apis/{id}/_export/crd``: undocumented upstream; behavioural test only.
* ``gko-selected-endpoints.yml`` is not valid YAML upstream and only documents the legacy v2
  ``_import/crd`` endpoints, which the simulator does not serve: not used.
* ``open-api.yaml`` (Automation) declares no ``hridContainsUUID`` on ``/apis``,
  ``/applications``, ``/shared-policy-groups`` and subscriptions, nor ``hridContainsApiUUID`` /
  ``hridContainsAppUUID``: the server reads them anyway; openapi-core ignores undeclared query
  parameters, so those exchanges still validate the rest.
* The Automation file declares an ``HttpError`` JSON body for 401, but APIM's bearer-token
  filter answers 401 with an empty body (docs/behavior/apim-calls.md); the simulator follows the
  server, so that one response is checked for its status only.
* GKO sends subscription fields APIM ignores, with ``endingAt: ""`` when unset; the schema's
  ``date-time`` format rejects the empty string. The simulator accepts it like APIM does; the
  test shows the file rejecting that body, and validates a well-formed body separately.
* ``openapi-apis.yaml`` fails strict validation upstream (unresolved ``apiId`` parameter on
  ``/primaryowner``, dangling ``clusterIdParam``), so it is loaded without spec validation; and
  its ``GenericApi`` discriminator makes openapi-core recurse forever through
  ``ApiV4 -> allOf GenericApi -> discriminator -> ApiV4`` (same for ``GenericPlan``). The
  in-memory copy drops those inner discriminators; the outer ``Api`` / ``Plan`` ``oneOf`` +
  discriminator still selects and checks ``ApiV4`` / ``PlanV4``.
* ``GET /apis/{apiId}/plans`` in ``openapi-apis.yaml`` defaults ``statuses`` to
  ``["published"]``, which its own upper-case ``PlanStatus`` enum rejects: requests without
  ``statuses`` cannot validate, so the exchanges checked here always send it (APIM matches
  enums case-insensitively, and so does the simulator).
* The Automation file's only server is the SaaS cloud gate; the in-memory copy serves it under
  ``/automation`` instead so paths match the simulator's.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from sim.apim import ids

from . import bodies
from .contract import (
    HOST,
    REFERENCE,
    automation_spec,
    available,
    check_log,
    installation_spec,
    v2_apis_spec,
)

pytestmark = pytest.mark.skipif(
    not available(), reason=f"APIM OpenAPI reference files (or openapi-core) missing: {REFERENCE}"
)

openapi_core = pytest.importorskip("openapi_core")

ADMIN = aiohttp.encode_basic_auth("admin", "admin")
AUTO = "/automation/organizations/DEFAULT/environments/DEFAULT"
V2 = "/management/v2/organizations/DEFAULT/environments/DEFAULT"


class Exchange:
    """One real call to the simulator, kept for validation against a spec."""

    def __init__(self, method: str, path: str, query: dict[str, str] | None,
                 headers: dict[str, str], data: bytes | None, status: int,
                 content_type: str, raw: bytes) -> None:
        from openapi_core.testing import MockRequest, MockResponse

        self.status = status
        self.raw = raw
        self.request = MockRequest(HOST, method, path, args=query, headers=headers, data=data)
        self.response = MockResponse(raw, status_code=status, content_type=content_type)

    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None


async def call(http, apim, method: str, path: str, *, body: Any = None,
               query: dict[str, str] | None = None, authorization: str = ADMIN) -> Exchange:
    headers = {"Authorization": authorization}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    async with http.request(method, apim.url + path, data=data, params=query,
                            headers=headers) as r:
        raw = await r.read()
        return Exchange(method, path, query, headers, data, r.status, r.content_type, raw)


def conforms(spec: Any, exchange: Exchange, *, request: bool = True) -> None:
    if request:
        spec.validate_request(exchange.request)
    spec.validate_response(exchange.request, exchange.response)


async def test_v4_api_upsert_read_delete_conform(apim, http):
    spec = automation_spec()
    body = bodies.v4_api(pages=[{"hrid": "readme", "name": "Readme", "type": "MARKDOWN",
                                 "content": "# hello", "published": True,
                                 "visibility": "PUBLIC"}])
    dry = await call(http, apim, "PUT", AUTO + "/apis", body=body, query={"dryRun": "true"})
    assert dry.status == 200
    conforms(spec, dry)
    real = await call(http, apim, "PUT", AUTO + "/apis", body=body, query={"dryRun": "false"})
    assert real.status == 200
    assert real.json()["id"] == ids.top_level_id("DEFAULT", "DEFAULT", "default-my-api")
    conforms(spec, real)
    got = await call(http, apim, "GET", AUTO + "/apis/default-my-api")
    assert got.status == 200
    conforms(spec, got)
    deleted = await call(http, apim, "DELETE", AUTO + "/apis/default-my-api")
    assert deleted.status == 204
    conforms(spec, deleted)
    for method in ("GET", "DELETE"):
        missing = await call(http, apim, method, AUTO + "/apis/default-my-api")
        assert missing.status == 404
        conforms(spec, missing)


async def test_v4_api_legacy_uuid_mode_conforms_apart_from_the_undeclared_flag(apim, http):
    spec = automation_spec()
    body = bodies.v4_api(hrid="0b5a3c1e-9d7f-4e2a-8b6c-1d3e5f7a9b0c")
    exchange = await call(http, apim, "PUT", AUTO + "/apis", body=body,
                          query={"hridContainsUUID": "true"})
    assert exchange.status == 200
    assert exchange.json()["id"] == "0b5a3c1e-9d7f-4e2a-8b6c-1d3e5f7a9b0c"
    spec.validate_request(exchange.request)
    # APIM clears the hrid in UUID mode, and ApiV4State (allOf ApiV4Spec) requires one: the
    # file is silent on this mode, so only the request is checked here.
    with pytest.raises(openapi_core.exceptions.OpenAPIError):
        spec.validate_response(exchange.request, exchange.response)


async def test_v4_api_errors_conform(apim, http):
    spec = automation_spec()
    plan = bodies.v4_api()["plans"][0]
    duplicate = await call(http, apim, "PUT", AUTO + "/apis",
                           body=bodies.v4_api(plans=[plan, plan]))
    assert duplicate.status == 400
    conforms(spec, duplicate)
    severe = await call(http, apim, "PUT", AUTO + "/apis", body=bodies.v4_api(
        resources=[{"name": "r", "type": "cache", "configuration": {}, "enabled": True},
                   {"name": "bad", "type": "", "configuration": {}}]))
    assert severe.status == 400
    assert severe.json()["technicalCode"] == "invalid"
    conforms(spec, severe)
    wrong_env = await call(http, apim, "PUT",
                           "/automation/organizations/DEFAULT/environments/NOPE/apis",
                           body=bodies.v4_api())
    assert wrong_env.status == 400
    conforms(spec, wrong_env)


async def test_authentication_failures_conform(apim, http):
    spec = automation_spec()
    basic = await call(http, apim, "GET", AUTO + "/apis/x",
                       authorization=aiohttp.encode_basic_auth("admin", "nope"))
    assert basic.status == 401
    spec.validate_response(basic.request, basic.response)
    bearer = await call(http, apim, "GET", AUTO + "/apis/x", authorization="Bearer xxxx-yyyy")
    assert bearer.status == 401
    assert bearer.raw == b""  # server behaviour; the file's HttpError body does not apply


async def test_application_exchanges_conform(apim, http):
    spec = automation_spec()
    body = bodies.application()
    del body["contextRef"]  # GKO sends it; APIM ignores it (lenient mapper)
    for query in ({"dryRun": "true"}, {"dryRun": "false"}):
        exchange = await call(http, apim, "PUT", AUTO + "/applications", body=body, query=query)
        assert exchange.status == 200
        conforms(spec, exchange)
    got = await call(http, apim, "GET", AUTO + "/applications/default-my-app")
    assert got.status == 200
    conforms(spec, got)
    deleted = await call(http, apim, "DELETE", AUTO + "/applications/default-my-app")
    assert deleted.status == 204
    conforms(spec, deleted)
    missing = await call(http, apim, "GET", AUTO + "/applications/default-my-app")
    assert missing.status == 404
    conforms(spec, missing)


async def test_subscription_exchanges_conform(apim, http):
    spec = automation_spec()
    api = bodies.v4_api(plans=[bodies.v4_api()["plans"][0], bodies.api_key_plan()])
    assert (await call(http, apim, "PUT", AUTO + "/apis", body=api)).status == 200
    app = bodies.application()
    assert (await call(http, apim, "PUT", AUTO + "/applications", body=app)).status == 200
    path = AUTO + "/apis/default-my-api/subscriptions"
    well_formed = {"hrid": "default-my-sub", "applicationHrid": "default-my-app",
                   "planHrid": "api-key", "endingAt": "2040-12-25T09:12:28Z",
                   "metadata": {"team": "a"}, "apiKeys": [{"key": "k" * 32}]}
    put = await call(http, apim, "PUT", path, body=well_formed,
                     query={"hridContainsUUID": "false", "hridContainsApiUUID": "false",
                            "hridContainsAppUUID": "false"})
    assert put.status == 200
    conforms(spec, put)
    got = await call(http, apim, "GET", path + "/default-my-sub")
    assert got.status == 200
    conforms(spec, got)
    deleted = await call(http, apim, "DELETE", path + "/default-my-sub")
    assert deleted.status == 204
    conforms(spec, deleted)
    missing = await call(http, apim, "DELETE", path + "/default-my-sub")
    assert missing.status == 404
    conforms(spec, missing)


async def test_gko_subscription_body_is_accepted_though_the_file_rejects_it(apim, http):
    spec = automation_spec()
    api = bodies.v4_api(plans=[bodies.v4_api()["plans"][0], bodies.api_key_plan()])
    await call(http, apim, "PUT", AUTO + "/apis", body=api)
    await call(http, apim, "PUT", AUTO + "/applications", body=bodies.application())
    exchange = await call(http, apim, "PUT", AUTO + "/apis/default-my-api/subscriptions",
                          body=bodies.subscription())
    assert exchange.status == 200
    spec.validate_response(exchange.request, exchange.response)
    with pytest.raises(openapi_core.exceptions.OpenAPIError):
        spec.validate_request(exchange.request)  # endingAt: "" is not a date-time


async def test_group_spg_and_dictionary_exchanges_conform(apim, http):
    spec = automation_spec()
    cases = [
        ("/groups", "default-devs",
         {"hrid": "default-devs", "name": "developers", "notifyMembers": True,
          "members": [{"source": "memory", "sourceId": "admin", "roles": {"API": "USER"}}]}),
        ("/shared-policy-groups", "default-spg",
         {"hrid": "default-spg", "name": "spg", "apiType": "PROXY", "phase": "REQUEST",
          "steps": [{"name": "rate", "policy": "rate-limit", "enabled": True,
                     "configuration": {}}]}),
        ("/dictionaries", "default-dict",
         {"hrid": "default-dict", "name": "dict", "type": "MANUAL", "deployed": True,
          "manual": {"properties": {"k": "v"}}}),
    ]
    for path, hrid, body in cases:
        for query in ({"dryRun": "true"}, {"dryRun": "false"}):
            put = await call(http, apim, "PUT", AUTO + path, body=body, query=query)
            assert put.status == 200, path
            conforms(spec, put)
        got = await call(http, apim, "GET", f"{AUTO}{path}/{hrid}")
        assert got.status == 200, path
        conforms(spec, got)
        deleted = await call(http, apim, "DELETE", f"{AUTO}{path}/{hrid}")
        assert deleted.status == 204, path
        conforms(spec, deleted)
        missing = await call(http, apim, "GET", f"{AUTO}{path}/{hrid}")
        assert missing.status == 404, path
        conforms(spec, missing)


async def test_management_context_check_conforms(apim, http):
    spec = installation_spec()
    for path in (V2, "/management/v2/environments/DEFAULT"):
        exchange = await call(http, apim, "GET", path)
        assert exchange.status == 200
        conforms(spec, exchange)
    wrong = await call(http, apim, "GET", "/management/v2/organizations/DEFAULT/environments/X")
    assert wrong.status == 400
    conforms(spec, wrong)


async def test_v2_api_read_back_conforms(apim, http):
    spec = v2_apis_spec()
    await call(http, apim, "PUT", AUTO + "/apis", body=bodies.v4_api())
    api_id = ids.top_level_id("DEFAULT", "DEFAULT", "default-my-api")
    for path in (f"{V2}/apis/{api_id}", f"/management/v2/environments/DEFAULT/apis/{api_id}"):
        exchange = await call(http, apim, "GET", path)
        assert exchange.status == 200
        assert exchange.json()["definitionVersion"] == "V4"
        conforms(spec, exchange)
    missing = await call(http, apim, "GET", f"{V2}/apis/nope")
    assert missing.status == 404
    conforms(spec, missing)


# -- every exchange of a full tour ----------------------------------------------------------------


async def _tour(http, sim) -> None:
    """Drive every documented operation, success and error paths, as GKO and its tests do."""
    a = sim.automation_url()
    basic_bad = {"Authorization": aiohttp.encode_basic_auth("admin", "bad")}
    await http.get(sim.v2_url())
    await http.get(sim.url + "/management/v2/environments/DEFAULT")
    await http.get(sim.v2_url(env="NOPE"))
    await http.get(sim.v2_url(), headers=basic_bad)
    two_plans = bodies.v4_api(plans=[bodies.v4_api()["plans"][0], bodies.api_key_plan()])
    for query in ({"dryRun": "true"}, {"dryRun": "false"}):
        await http.put(a + "/apis", json=two_plans, params=query)
    await http.put(a + "/apis", json=bodies.v4_api(categories=["unknown"]))
    await http.put(a + "/apis", json=two_plans)
    await http.get(a + "/apis/default-my-api")
    api_id = ids.top_level_id("DEFAULT", "DEFAULT", "default-my-api")
    await http.get(sim.v2_url() + f"/apis/{api_id}")
    await http.get(sim.v2_url() + "/apis/unknown")
    # Always explicit: the file's own default for ``statuses`` (["published"]) fails its enum.
    await http.get(sim.v2_url() + f"/apis/{api_id}/plans", params={"statuses": "PUBLISHED"})
    await http.get(sim.v2_url() + f"/apis/{api_id}/plans", params={"statuses": "PUBLISHED,CLOSED"})
    plan_id = ids.child_id("DEFAULT", "DEFAULT", "default-my-api", "key-less")
    await http.get(sim.v2_url() + f"/apis/{api_id}/plans/{plan_id}")
    await http.get(sim.v2_url() + f"/apis/{api_id}/plans/unknown")
    await http.put(a + "/applications", json=bodies.application(), params={"dryRun": "false"})
    await http.get(a + "/applications/default-my-app")
    sub = {"hrid": "default-my-sub", "applicationHrid": "default-my-app", "planHrid": "api-key"}
    await http.put(a + "/apis/default-my-api/subscriptions", json=sub)
    await http.get(a + "/apis/default-my-api/subscriptions/default-my-sub")
    await http.put(a + "/apis/default-my-api/subscriptions", json=dict(sub, planHrid="nope"))
    await http.delete(a + "/apis/default-my-api/subscriptions/default-my-sub")
    await http.put(a + "/groups", json={"hrid": "default-g", "name": "g"})
    await http.get(a + "/groups/default-g")
    await http.put(a + "/shared-policy-groups", json={"hrid": "default-spg", "name": "s",
                                                      "apiType": "PROXY", "phase": "REQUEST"})
    await http.get(a + "/shared-policy-groups/default-spg")
    await http.put(a + "/dictionaries", json={"hrid": "default-d", "name": "d", "type": "MANUAL",
                                              "deployed": False,
                                              "manual": {"properties": {"a": "b"}}})
    await http.get(a + "/dictionaries/default-d")
    await http.put(a + "/portals", json={"hrid": "default-portal", "name": "Portal"})
    await http.put(a + "/portals/default-portal/listings",
                   json={"hrid": "lst", "apis": [{"apiHrid": "default-my-api", "location": "/"}]})
    await http.put(a + "/portals/default-portal/documentations",
                   json={"hrid": "doc", "name": "D", "type": "GRAVITEE_MARKDOWN", "content": "x"})
    await http.put(a + "/portals/default-portal/links",
                   json={"hrid": "lnk", "name": "K", "href": "https://example.com"})
    await http.put(a + "/apis/default-my-api/documentations",
                   json={"hrid": "doc", "name": "D", "type": "OPENAPI", "content": "{}"})
    for path in ("/portals/default-portal/listings/lst",
                 "/portals/default-portal/documentations/doc",
                 "/portals/default-portal/links/lnk", "/apis/default-my-api/documentations/doc",
                 "/portals/default-portal"):
        await http.get(a + path)
        await http.delete(a + path)
        await http.delete(a + path)  # the second one is a 404
    sim.faults.fail_next(1, method="PUT", status=503)
    await http.put(a + "/apis", json=bodies.v4_api())
    plan = bodies.v4_api()["plans"][0]
    await http.put(a + "/apis", json=bodies.v4_api(plans=[plan, plan]))
    for path in ("/apis/default-my-api", "/applications/default-my-app", "/groups/default-g",
                 "/shared-policy-groups/default-spg", "/dictionaries/default-d"):
        await http.delete(a + path)
        await http.delete(a + path)  # the second one is a 404
    # Undocumented in any static file: v1 traffic is exercised but cannot be validated.
    await http.put(sim.v1_url() + "/apis/import-crd", json=bodies.v2_api())


async def test_every_documented_exchange_of_a_tour_conforms(http):
    from sim.apim.testing import start_simulator

    sim = await start_simulator(record_responses=True)
    try:
        await _tour(http, sim)
        entries = sim.requests.entries
    finally:
        await sim.close()

    outcome = check_log(entries)
    assert outcome == {"validated": len(entries) - 1, "undocumented": 1}
    assert outcome["validated"] >= 30

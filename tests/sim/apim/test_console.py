"""``/_sim/console``: a console user's edits and deletions, outside the operator's calls
(what the drift tests use to make drift happen)."""

from __future__ import annotations

from typing import Any

from . import bodies


async def put(http: Any, url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with http.put(url, json=body, params={"dryRun": "false"}) as r:
        assert r.status == 200
        return dict(await r.json())


async def get(http: Any, url: str) -> tuple[int, dict[str, Any]]:
    async with http.get(url) as r:
        return r.status, dict(await r.json())


async def test_a_console_edit_of_an_api_is_what_apim_answers_next(apim, http):
    auto = apim.automation_url()
    await put(http, auto + "/apis", bodies.v4_api(description="from the cluster"))
    assert await apim.console("PATCH", "apis", "default-my-api",
                              {"description": "console", "name": "Renamed",
                               "visibility": None}) == 204
    status, state = await get(http, auto + "/apis/default-my-api")
    assert status == 200
    assert (state["description"], state["name"]) == ("console", "Renamed")
    assert "visibility" not in state  # null removes, as a merge patch does
    assert apim.requests.find(path_contains="/_sim/") == []  # never in APIM's request log


async def test_apis_are_found_by_id_hrid_or_cross_id(apim, http):
    state = await put(http, apim.automation_url() + "/apis", bodies.v4_api())
    for ref in (state["id"], "default-my-api", state["crossId"]):
        assert await apim.console("PATCH", "apis", ref, {"description": ref}) == 204
    assert await apim.console("PATCH", "apis", "nope", {"description": "x"}) == 404


async def test_a_console_delete_of_an_api_removes_it(apim, http):
    auto = apim.automation_url()
    await put(http, auto + "/apis", bodies.v4_api())
    assert await apim.console("DELETE", "apis", "default-my-api") == 204
    status, _ = await get(http, auto + "/apis/default-my-api")
    assert status == 404
    assert apim.state.api_by_hrid("default-my-api") is None
    assert await apim.console("DELETE", "apis", "default-my-api") == 404


async def test_a_console_edit_and_delete_of_an_application(apim, http):
    auto = apim.automation_url()
    await put(http, auto + "/applications", bodies.application(description="cluster"))
    assert await apim.console("PATCH", "applications", "default-my-app",
                              {"settings": {"app": {"type": "native"}}}) == 204
    status, state = await get(http, auto + "/applications/default-my-app")
    assert status == 200
    assert state["settings"]["app"]["type"] == "native"
    assert state["description"] == "cluster"  # a merge patch keeps what it does not name
    assert await apim.console("DELETE", "applications", "default-my-app") == 204
    status, _ = await get(http, auto + "/applications/default-my-app")
    assert status == 404  # archived, as APIM does

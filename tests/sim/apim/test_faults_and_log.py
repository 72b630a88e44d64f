"""Fault injection (latency, failures, dropped connections) and the request log."""

import asyncio

import aiohttp
import pytest

from . import bodies


async def test_fail_next_n_matching_calls_then_recover(apim, http):
    apim.faults.fail_next(2, method="PUT", path_prefix="/automation/", status=503)
    url = apim.automation_url() + "/apis"
    # A non-matching call is not consumed by the rule.
    async with http.get(apim.v2_url()) as r:
        assert r.status == 200
    for _ in range(2):
        async with http.put(url, json=bodies.v4_api()) as r:
            assert r.status == 503
            body = await r.json()
            assert body["httpStatus"] == 503
    assert apim.state.apis == {}  # failed calls have no side effect
    async with http.put(url, json=bodies.v4_api()) as r:
        assert r.status == 200
    assert len(apim.state.apis) == 1


async def test_failures_use_the_family_error_shape(apim, http):
    apim.faults.fail_next(1, status=500)
    async with http.get(apim.v1_url() + "/apis") as r:
        assert r.status == 500
        assert (await r.json())["http_status"] == 500


async def test_dropped_connection_surfaces_as_disconnect(apim, http):
    # aiohttp's client retries an idempotent request (GET, PUT, DELETE) once after a
    # disconnect, so two drops are needed for the caller to see the error.
    apim.faults.fail_next(2, path_prefix="/management/v2/", status="drop")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await http.get(apim.v2_url())
    async with http.get(apim.v2_url()) as r:
        assert r.status == 200
    assert [e.status for e in apim.requests] == [0, 0, 200]


async def test_a_single_drop_is_absorbed_by_the_client_retry(apim, http):
    apim.faults.fail_next(1, method="PUT", status="drop")
    async with http.put(apim.automation_url() + "/apis", json=bodies.v4_api()) as r:
        assert r.status == 200
    assert [e.status for e in apim.requests] == [0, 200]
    assert apim.state.api(apim.state.apis_in()[0].id).imports == 1


async def test_fail_fraction_fails_some_but_not_all(apim, http):
    apim.faults.fail_fraction(0.5, status=502)
    statuses = []
    for _ in range(60):
        async with http.get(apim.v2_url()) as r:
            statuses.append(r.status)
    assert 502 in statuses
    assert 200 in statuses
    apim.faults.clear()
    async with http.get(apim.v2_url()) as r:
        assert r.status == 200


async def test_latency_delays_answers(apim, http):
    apim.faults.set_latency(5.0)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(http.get(apim.v2_url()), timeout=0.2)
    apim.faults.set_latency(0)
    async with http.get(apim.v2_url()) as r:
        assert r.status == 200


def test_fault_arguments_are_checked(apim):
    with pytest.raises(ValueError):
        apim.faults.fail_next(0)
    with pytest.raises(ValueError):
        apim.faults.fail_next(1, status=200)
    with pytest.raises(ValueError):
        apim.faults.fail_fraction(1.5)
    with pytest.raises(ValueError):
        apim.faults.set_latency(-1)


async def test_request_log_records_method_path_query_body_status(apim, http):
    mark = apim.requests.mark()
    async with http.put(apim.automation_url() + "/apis", json=bodies.v4_api(),
                        params={"dryRun": "true"}) as r:
        assert r.status == 200
    entries = apim.requests.since(mark)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.method == "PUT"
    assert entry.path == "/automation/organizations/DEFAULT/environments/DEFAULT/apis"
    assert entry.query == {"dryRun": "true"}
    assert entry.body["hrid"] == "default-my-api"
    assert entry.status == 200
    assert entry.is_write
    assert apim.requests.writes(since=mark) == [entry]


async def test_no_write_happened_is_assertable(apim, http):
    async with http.get(apim.v2_url()) as r:
        assert r.status == 200
    assert apim.requests.writes() == []
    assert len(apim.requests.find(method="get", path_prefix="/management/v2/")) == 1


async def test_wait_for_a_request(apim, http):
    waiter = asyncio.create_task(
        apim.requests.wait_for(lambda e: e.method == "DELETE", timeout=5)
    )
    await asyncio.sleep(0)  # let the waiter start before the request arrives
    async with http.delete(apim.automation_url() + "/apis/nope") as r:
        assert r.status == 404
    entry = await waiter
    assert entry.status == 404
    with pytest.raises(asyncio.TimeoutError):
        await apim.requests.wait_for(lambda e: e.method == "PATCH", timeout=0.05)


async def test_control_plane_over_http_is_not_logged_nor_faulted(apim, http):
    async with http.post(apim.url + "/_sim/faults",
                         json={"failNext": {"count": 1, "status": 418}}) as r:
        assert r.status == 204
    async with http.get(apim.url + "/_sim/health") as r:
        assert r.status == 200  # not consumed by the fault
    async with http.get(apim.v2_url()) as r:
        assert r.status == 418
    async with http.get(apim.url + "/_sim/requests") as r:
        log = await r.json()
    assert [e["status"] for e in log["requests"]] == [418]
    assert log["mark"] == 1
    async with http.put(apim.url + "/_sim/credentials", json={"users": {"admin": "x"}}) as r:
        assert r.status == 204
    async with http.get(apim.v2_url()) as r:
        assert r.status == 401
    async with http.delete(apim.url + "/_sim/credentials") as r:
        assert r.status == 204
    async with http.put(apim.automation_url() + "/apis", json=bodies.v4_api()) as r:
        assert r.status == 200
    async with http.get(apim.url + "/_sim/state") as r:
        state = await r.json()
    assert state["counts"]["apis"] == 1
    assert state["apis"][0]["hrid"] == "default-my-api"
    async with http.post(apim.url + "/_sim/reset") as r:
        assert r.status == 204
    assert apim.state.apis == {}
    assert len(apim.requests) == 0


async def test_control_plane_latency_fraction_and_setup_helpers(apim, http):
    fraction = {"fraction": 1.0, "status": 502, "pathPrefix": "/automation/"}
    async with http.post(apim.url + "/_sim/faults",
                         json={"latency": 0.01, "failFraction": fraction}) as r:
        assert r.status == 204
    assert apim.faults.latency_s == 0.01
    async with http.get(apim.automation_url() + "/apis/x") as r:
        assert r.status == 502
    async with http.delete(apim.url + "/_sim/faults") as r:
        assert r.status == 204
    assert not apim.faults.active
    async with http.post(apim.url + "/_sim/faults", json={"failNext": {"status": "teapot"}}) as r:
        assert r.status == 400
    async with http.post(apim.url + "/_sim/categories", json={"name": "Cats"}) as r:
        assert r.status == 204
    async with http.post(apim.url + "/_sim/users", json={"sourceId": "bob"}) as r:
        assert r.status == 204
    assert apim.state.category_exists("DEFAULT", "DEFAULT", "Cats")
    assert apim.state.user_exists("DEFAULT", "bob")


async def test_a_handler_bug_is_a_logged_500_not_a_lost_request(apim, http, monkeypatch, caplog):
    import sim.apim.automation_apis as apis

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(apis, "validate_api", boom)
    async with http.put(apim.automation_url() + "/apis", json=bodies.v4_api()) as r:
        assert r.status == 500
        assert (await r.json())["httpStatus"] == 500
    assert apim.requests.entries[-1].status == 500
    assert "simulator handler failed" in caplog.text


async def test_stop_listening_refuses_connections_and_resume_listening_resumes(apim):
    # A pooled (keep-alive) session: an outage must also cut connections already open.
    async with aiohttp.ClientSession(
        headers={"Authorization": aiohttp.encode_basic_auth("admin", "admin")}
    ) as session:
        async with session.put(apim.automation_url() + "/apis", json=bodies.v4_api()) as r:
            assert r.status == 200
        await apim.stop_listening()
        assert not apim.listening
        for _ in range(2):
            with pytest.raises(aiohttp.ClientConnectionError):
                async with session.get(apim.v2_url()) as r:
                    await r.read()
        await apim.resume_listening()
        assert apim.listening
        async with session.get(apim.v2_url()) as r:
            assert r.status == 200
    # Same port, same state: the API stored before the outage is still there.
    assert len(apim.state.apis) == 1
    assert apim.url.endswith(f":{apim.port}")

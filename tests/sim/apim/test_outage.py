"""Outages: the simulator stops listening (connections refused, open ones cut), then listens
again on the same port with everything it stored."""

import asyncio

import aiohttp
import pytest

from . import bodies


async def _refused(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url):
            return False
    except aiohttp.ClientConnectorError:
        return True


async def test_stop_listening_refuses_and_cuts_then_resumes_with_state(apim, http):
    async with http.put(apim.automation_url() + "/apis", json=bodies.v4_api()) as r:
        assert r.status == 200
    # A connection in the middle of a request when the outage starts.
    reader, writer = await asyncio.open_connection("127.0.0.1", apim.port)
    writer.write(b"GET /_sim/health HTTP/1.1\r\nHost: x\r\n")  # headers not finished
    await writer.drain()
    url = apim.url

    await apim.stop_listening()
    assert not apim.listening
    assert await _refused(http, apim.v2_url())
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await reader.readexactly(1)
    writer.close()

    await apim.resume_listening()
    assert apim.listening
    assert apim.url == url
    async with http.get(apim.v2_url()) as r:
        assert r.status == 200
    assert len(apim.state.apis) == 1
    [outage] = apim.simulator.outages
    assert outage.up_at is not None
    assert outage.up_at > outage.down_at


async def test_stop_and_resume_are_idempotent(apim, http):
    await apim.stop_listening()
    await apim.stop_listening()
    await apim.resume_listening()
    await apim.resume_listening()
    assert len(apim.simulator.outages) == 1
    async with http.get(apim.url + "/_sim/health") as r:
        assert r.status == 200


async def test_outage_over_http_control_plane(apim, http):
    async with http.put(apim.automation_url() + "/apis", json=bodies.v4_api()) as r:
        assert r.status == 200
    async with http.post(apim.url + "/_sim/outage", json={"seconds": 0.5}) as r:
        assert r.status == 202
        assert await r.json() == {"seconds": 0.5}
    refused = False
    for _ in range(400):  # bounded wait for the outage to start, then to end
        if await _refused(http, apim.url + "/_sim/health"):
            refused = True
        elif refused:
            break
        await asyncio.sleep(0.01)
    assert refused
    async with http.get(apim.url + "/_sim/outage") as r:
        [outage] = (await r.json())["outages"]
    assert outage["upAt"] - outage["downAt"] >= 0.5
    assert len(apim.state.apis) == 1
    assert apim.requests.entries[-1].status == 200  # the log is kept too


@pytest.mark.parametrize("body", [{}, {"seconds": "x"}, {"seconds": 0}, {"seconds": 7200}])
async def test_outage_rejects_bad_durations(apim, http, body):
    async with http.post(apim.url + "/_sim/outage", json=body) as r:
        assert r.status == 400
    assert apim.listening

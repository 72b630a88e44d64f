"""``python -m sim.apim``: prints its URL, serves, stops cleanly on SIGTERM."""

import asyncio
import signal
import sys

import aiohttp

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "admin")}


async def _start(*args):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sim.apim", "--port", "0", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    return proc, line.decode().strip()


async def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), timeout=30)


async def test_cli_serves_http_and_stops_on_sigterm():
    proc, url = await _start("--token", "tok")
    try:
        assert url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as s:
            async with s.get(url + "/management/v2/organizations/DEFAULT/environments/DEFAULT",
                             headers=ADMIN) as r:
                assert r.status == 200
            async with s.get(url + "/_sim/requests") as r:
                assert len((await r.json())["requests"]) == 1
    finally:
        code = await _stop(proc)
    assert code == 0


async def test_cli_tls_prints_the_ca_path():
    proc, url = await _start("--tls", "--env", "ACME:DEV")
    try:
        assert url.startswith("https://127.0.0.1:")
        ca_line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode().strip()
        assert ca_line.startswith("CA ")
        import ssl

        context = ssl.create_default_context(cafile=ca_line[3:])
        async with aiohttp.ClientSession() as s, s.get(
            url + "/management/v2/organizations/ACME/environments/DEV", headers=ADMIN,
            ssl=context,
        ) as r:
            assert r.status == 200
    finally:
        code = await _stop(proc)
    assert code == 0

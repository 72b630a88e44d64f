"""The command line: ``python -m sim.kubeapi`` prints its URL, writes a kubeconfig, loads CRDs
and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp
import pytest
import yaml

from tests.sim.kubeapi.conftest import DATA, REAL

pytestmark = pytest.mark.skipif(REAL, reason="exercises the emulator's own command line")


async def test_cli_serves_until_sigterm(tmp_path):
    kubeconfig = tmp_path / "kc" / "config"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sim.kubeapi",
        "--port",
        "0",
        "--kubeconfig",
        str(kubeconfig),
        "--crds",
        str(DATA),
        "--history",
        "50",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        assert url.startswith("http://127.0.0.1:")
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["clusters"][0]["cluster"]["server"] == url
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/apis/contract.kubeapi.test/v1") as response:
                body = await response.json()
            assert {r["name"] for r in body["resources"]} >= {"widgets", "gadgets"}
            async with session.get(f"{url}/api/v1/namespaces/default") as response:
                assert response.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.wait_for(process.wait(), 30)
    assert returncode == 0

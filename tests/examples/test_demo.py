"""``make demo`` end to end: the three processes, the example manifests, the table, the exit.

These are the integration proof that the demo works on a machine with nothing but Python: each
test runs ``python -m examples.demo`` as a subprocess, like ``make demo`` does.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _server_of(kubeconfig: Path) -> str:
    return str(yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"])


async def _read_until(stream: asyncio.StreamReader, marker: str, timeout: float) -> list[str]:
    lines: list[str] = []

    async def read() -> None:
        while True:
            raw = await stream.readline()
            if not raw:
                raise AssertionError("demo output ended before " + repr(marker) + ":\n"
                                     + "\n".join(lines))
            lines.append(raw.decode().rstrip())
            if marker in lines[-1]:
                return

    await asyncio.wait_for(read(), timeout)
    return lines


@pytest.mark.timeout(240)
async def test_demo_reconciles_every_example_and_exits_zero():
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "examples.demo", cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 200)
    text = out.decode()
    assert process.returncode == 0, text
    rows = {
        (m.group("kind"), m.group("key")): m
        for m in re.finditer(
            r"^(?P<ok>ok|!!)\s+(?P<kind>\w+)\s+(?P<key>\S+)\s+(?P<status>\S+)\s+(?P<reason>\S+)"
            r"(?P<rest>.*)$", text, re.MULTILINE)
    }
    expected_accepted = [
        ("ManagementContext", "default/apim-demo"),
        ("ApiDefinition", "default/echo-v2"),
        ("ApiV4Definition", "default/echo-v4"),
        ("ApiDefinition", "default/echo-local"),
        ("Application", "default/demo-app"),
        ("SharedPolicyGroup", "default/request-limits"),
        ("ApiV4Definition", "default/orders-v4"),
        ("Subscription", "default/demo-app-orders"),
        ("Portal", "default/developer-portal"),
        ("PortalListing", "default/developer-portal-apis"),
        ("Documentation", "default/getting-started"),
        ("Ingress", "default/httpbin-ingress"),
    ]
    for kind, key in expected_accepted:
        row = rows[(kind, key)]
        assert (row["ok"], row["status"], row["reason"]) == ("ok", "True", "Accepted"), row[0]
    broken = rows[("ApiV4Definition", "default/broken-template")]
    assert (broken["ok"], broken["status"], broken["reason"]) == (
        "ok", "Refused", "AdmissionWebhook")
    assert "missing-target" in broken["rest"]
    # refused by the admission webhook at apply time, with the webhook's message
    assert ('kubectl apply ApiV4Definition default/broken-template refused: admission webhook '
            '"vapiv4definition.gravitee.io" denied the request: key [missing-target] not found '
            'in configmap [default/demo-backends]') in text
    assert rows[("ApiResource", "default/shared-cache")]["ok"] == "ok"
    assert "used by echo-v2, echo-v4" in rows[("ApiResource", "default/shared-cache")]["rest"]
    # Where things landed: APIM ids for pushed objects, a ConfigMap for the local API.
    assert re.search(r"APIM id [0-9a-f-]{36}", rows[("ApiV4Definition", "default/echo-v4")][0])
    assert "ConfigMap default/echo-local" in rows[("ApiDefinition", "default/echo-local")][0]
    assert re.search(r"API 'Echo \(v4\)'\s+V4\s+state=STARTED\s+hrid=default-echo-v4", text)
    assert re.search(r"API 'Echo \(v2\)'\s+V2\s+state=STARTED", text)
    assert "application 'Demo application' hrid=default-demo-app" in text
    assert "Broken template" not in text.split("APIM (simulator) now holds")[1]
    # The shared policy group: where it is in APIM and which API runs it.
    assert re.search(r"APIM crossId [0-9a-f-]{36}; used by orders-v4$",
                     rows[("SharedPolicyGroup", "default/request-limits")][0])
    # The subscription: its APIM id, plan and API, how many keys, never a key's value.
    assert re.search(r"APIM id [0-9a-f-]{36}; plan keyed of orders-v4; "
                     r"1 API key \(value not shown\)$",
                     rows[("Subscription", "default/demo-app-orders")][0])
    assert re.search(r"API 'Orders \(v4\)'\s+V4\s+state=STARTED\s+hrid=default-orders-v4", text)
    assert re.search(r"subscription hrid=default-demo-app-orders\s+api=default-orders-v4\s+"
                     r"plan=keyed\s+application=default-demo-app", text)
    assert "1 subscriptions, 1 sharedPolicyGroups, 3 portalObjects" in text
    # The portal with its navbar, the listing of both v4 APIs and one documentation page.
    assert re.search(r"APIM id [0-9a-f-]{36}; navbar /apis, /guides$",
                     rows[("Portal", "default/developer-portal")][0])
    assert re.search(r"APIM id [0-9a-f-]{36}; on portal developer-portal: echo-v4 at /apis, "
                     r"orders-v4 at /apis$",
                     rows[("PortalListing", "default/developer-portal-apis")][0])
    assert re.search(r"APIM id [0-9a-f-]{36}; page of portal developer-portal at /guides$",
                     rows[("Documentation", "default/getting-started")][0])
    assert re.search(r"portal hrid=default-developer-portal: 'Developer portal' id=", text)
    assert ("listing hrid=default-developer-portal-apis on default-developer-portal: "
            "apis=default-echo-v4@/apis, default-orders-v4@/apis") in text
    assert ("page hrid=default-getting-started on default-developer-portal: 'Getting started' "
            "GRAVITEE_MARKDOWN at /guides") in text
    assert "demo OK: 13 objects accepted, 1 rejected as expected" in text
    # The Ingress and the API it produced.
    assert ("ApiDefinition default/httpbin-ingress (generated); ConfigMap "
            "default/httpbin-ingress") in rows[("Ingress", "default/httpbin-ingress")]["rest"]
    assert "entrypoint  httpbin.example.com/httpbin" in text
    assert ("endpoint    rule02-path01 -> http://status.default.svc.cluster.local:8080"
            in text)
    # The console user's edit of orders-v4 in APIM is read back and reported (issue 20).
    assert "DriftDetected" in rows[("ApiV4Definition", "default/orders-v4")]["rest"]
    assert "DriftDetected" not in rows[("ApiV4Definition", "default/echo-v4")]["rest"]
    assert ("drift: a console user edited API default-orders-v4 in APIM; the read-back "
            "reported ApiV4Definition default/orders-v4 Drifted=True: 1 field differs in APIM: "
            "description; not repaired (drift policy report)") in text
    assert "password" not in text.lower()  # the credentials Secret never reaches the output
    api_key = yaml.safe_load_all((ROOT / "examples" / "manifests" / "00-sources.yaml").read_text())
    [key_secret] = [d for d in api_key if d["metadata"]["name"] == "demo-consumer-key"]
    assert key_secret["stringData"]["apiKey"] not in text  # nor does the API key
    assert not _children(process.pid)


@pytest.mark.timeout(240)
async def test_demo_serve_is_usable_then_ctrl_c_stops_every_process():
    """``--serve`` prints every address (probes included), Ctrl-C ends it with exit status 0,
    stops every child and keeps the logs where it said they are."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "examples.demo", "--serve", cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    logs_dir: Path | None = None
    try:
        assert process.stdout is not None
        lines = await _read_until(process.stdout, "Press Ctrl-C", 200)
        text = "\n".join(lines)
        assert "demo OK" in text
        exported = re.search(r"export KUBECONFIG=(\S+)", text)
        assert exported is not None, text
        kubeconfig = Path(exported.group(1))
        server = _server_of(kubeconfig)
        assert server.startswith("http://127.0.0.1:")
        assert f"Kubernetes API:    {server}" in text
        probes = re.search(r"Operator probes:\s+(http://127\.0\.0\.1:\d+)/healthz\s+"
                           r"(http://127\.0\.0\.1:\d+)/readyz", text)
        metrics = re.search(r"Operator metrics:\s+(http://127\.0\.0\.1:\d+/metrics)", text)
        logs = re.search(r"Logs:\s+(\S+)/\*\.log", text)
        assert probes is not None, text
        assert metrics is not None, text
        assert logs is not None, text
        logs_dir = Path(logs.group(1))
        # While serving, the cluster answers what the table said, e.g. through kubectl's paths,
        # and every printed address answers.
        async with aiohttp.ClientSession() as session:
            url = f"{server}/apis/gravitee.io/v1alpha1/namespaces/default/apiv4definitions/echo-v4"
            async with session.get(url) as response:
                api = await response.json()
            for address in (f"{probes.group(1)}/healthz", f"{probes.group(2)}/readyz",
                            metrics.group(1)):
                async with session.get(address) as response:
                    assert response.status == 200, address
        accepted = [c for c in api["status"]["conditions"] if c["type"] == "Accepted"]
        assert accepted[0]["status"] == "True"
        children = _children(process.pid)
        assert len(children) == 3, children  # emulator, simulator, operator
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, rest.decode()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not [pid for pid in children if _alive(pid)]
        # The logs are where the demo said, and it says so again on the way out.
        assert f"logs kept in {logs_dir}" in rest.decode()
        operator_log = logs_dir / "operator.log"
        assert "controllers started" in operator_log.read_text()
        assert {p.name for p in logs_dir.glob("*.log")} >= {"operator.log", "apim.log",
                                                            "kubeapi.log"}
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if logs_dir is not None:
            shutil.rmtree(logs_dir, ignore_errors=True)


@pytest.mark.timeout(120)
async def test_children_die_with_a_killed_driver(tmp_path):
    """Even SIGKILL of the driver leaves no emulator or simulator behind."""
    script = (
        "import asyncio, pathlib, sys\n"
        "from examples.stack import Stack, StackOptions\n"
        "async def main():\n"
        f"    async with Stack(StackOptions(work_dir=pathlib.Path({str(tmp_path)!r}))) as s:\n"
        "        print(' '.join(str(p.pid) for p in s.processes()), flush=True)\n"
        "        await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    driver = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert driver.stdout is not None
        line = await asyncio.wait_for(driver.stdout.readline(), 90)
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2
        assert all(_alive(p) for p in pids)
        os.kill(driver.pid, signal.SIGKILL)
        await driver.wait()
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not [p for p in pids if _alive(p)]
    finally:
        if driver.returncode is None:
            driver.kill()
            await driver.wait()


@pytest.mark.timeout(240)
async def test_demo_exits_non_zero_and_says_why_when_an_object_is_not_accepted(tmp_path):
    """The broken API without its "expected to fail" annotation must fail the demo."""
    manifests = ROOT / "examples" / "manifests"
    for source in manifests.glob("*.yaml"):
        text = source.read_text()
        if source.name == "90-broken.yaml":
            text = text.replace("demo.gravitee.io/expect: Refused",
                                "demo.gravitee.io/note: no expectation")
        (tmp_path / source.name).write_text(text)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "examples.demo", "--manifests", str(tmp_path), "--settle", "1",
        cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 200)
    text = out.decode()
    kept = re.search(r"^logs kept in (\S+)$", text, re.MULTILINE)
    assert kept is not None, text  # a failed demo keeps its logs, and says where
    shutil.rmtree(kept.group(1), ignore_errors=True)
    assert process.returncode == 1, text
    assert re.search(r"^!!\s+ApiV4Definition\s+default/broken-template\s+Refused\s+"
                     r"AdmissionWebhook", text, re.MULTILINE)
    assert ("FAILED: ApiV4Definition default/broken-template should be Accepted=True, is "
            "Refused/AdmissionWebhook: key [missing-target] not found in configmap") in text
    assert "operator log (last lines):" in text
    assert "demo OK" not in text
    assert re.search(r"^ok\s+ApiV4Definition\s+default/echo-v4\s+True", text, re.MULTILINE)
